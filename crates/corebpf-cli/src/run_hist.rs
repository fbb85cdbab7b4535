//! Histograms of `corebpf run`: which maps are histograms (from the markers of
//! `corebpf/corebpf.h` in the object's BTF), their buckets, and bcc-style text.

use std::fmt::Write as _;

use corebpf_btf::{Btf, Kind, TypeId, TypeKind};
use serde_json::{json, Value};

/// How a histogram map's slots map to value ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistKind {
    /// Slot 0 counts 0, slot i counts [2^(i-1), 2^i); the last slot also counts larger values.
    Log2,
    /// Slot i counts [min + i*step, min + (i+1)*step); the first slot also counts smaller
    /// values and the last slot larger ones.
    Linear { min: u64, step: u64 },
}

/// One bucket: `[lo, hi)`, `hi` `None` when the bucket is open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub lo: u64,
    pub hi: Option<u64>,
    pub count: u64,
}

/// The type a global variable `name` of `btf` has.
pub fn var_type(btf: &Btf<'_>, name: &str) -> Option<TypeId> {
    let id = btf.find_by_name_kind(name, Kind::Var)?;
    match btf.type_by_id(id).ok()?.kind {
        TypeKind::Var { ty, .. } => Some(ty),
        _ => None,
    }
}

/// The type member `member` of record `id` has.
fn member_type(btf: &Btf<'_>, id: TypeId, member: &str) -> Option<TypeId> {
    match btf.resolve(id).ok()?.kind {
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
            members.iter().find(|m| m.name == member).map(|m| m.ty)
        }
        _ => None,
    }
}

/// What pointer type `ptr` points to.
fn pointee(btf: &Btf<'_>, ptr: TypeId) -> Option<TypeId> {
    match btf.type_by_id(ptr).ok()?.kind {
        TypeKind::Ptr { target } => Some(target),
        _ => None,
    }
}

/// `int (*member)[N]` of record `id` → N (how BTF-defined maps spell numbers).
fn uint_member(btf: &Btf<'_>, id: TypeId, member: &str) -> Option<u64> {
    let target = pointee(btf, member_type(btf, id, member)?)?;
    match btf.type_by_id(target).ok()?.kind {
        TypeKind::Array { len, .. } => Some(u64::from(len)),
        _ => None,
    }
}

/// The histogram kind of map `name`, when its value type is one of the histogram slot typedefs.
pub fn hist_kind(btf: &Btf<'_>, name: &str) -> Option<HistKind> {
    let map = var_type(btf, name)?;
    let value = pointee(btf, member_type(btf, map, "value")?)?;
    match btf.type_by_id(value).ok()?.name {
        "corebpf_hist_log2_slot" => Some(HistKind::Log2),
        "corebpf_hist_linear_slot" => {
            let marker = var_type(btf, &format!("__corebpf_hist__{name}"))?;
            let min = uint_member(btf, marker, "min")?;
            let step = uint_member(btf, marker, "step")?;
            (step > 0).then_some(HistKind::Linear { min, step })
        }
        _ => None,
    }
}

/// The event type named by `COREBPF_EVENT(map, type)`, if the object has that marker.
pub fn event_type(btf: &Btf<'_>, map: &str) -> Option<TypeId> {
    pointee(btf, var_type(btf, &format!("__corebpf_event__{map}"))?)
}

/// Buckets of `counts` (slot i at index i) up to the last non-empty one (none when all are
/// empty).
pub fn buckets(kind: HistKind, counts: &[u64]) -> Vec<Bucket> {
    let Some(last) = counts.iter().rposition(|&c| c != 0) else {
        return Vec::new();
    };
    let n = counts.len();
    counts
        .iter()
        .take(last + 1)
        .enumerate()
        .map(|(i, &count)| {
            let open = i + 1 == n;
            let (lo, hi) = match kind {
                HistKind::Log2 => {
                    let lo = if i == 0 {
                        0
                    } else {
                        1u64.checked_shl(i as u32 - 1).unwrap_or(u64::MAX)
                    };
                    let hi = if i == 0 {
                        Some(1)
                    } else {
                        1u64.checked_shl(i as u32)
                    };
                    (lo, hi)
                }
                HistKind::Linear { min, step } => {
                    let lo = min.saturating_add(step.saturating_mul(i as u64));
                    (lo, Some(lo.saturating_add(step)))
                }
            };
            Bucket {
                lo,
                hi: if open { None } else { hi },
                count,
            }
        })
        .collect()
}

/// The histogram as bcc prints it: a header, then one `[lo, hi)` row per bucket with its count
/// and a bar of up to 40 `*`.
pub fn text(name: &str, buckets: &[Bucket]) -> String {
    const WIDTH: u64 = 40;
    let mut out = format!("{name}:\n");
    if buckets.is_empty() {
        out.push_str("  (empty)\n");
        return out;
    }
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let labels: Vec<String> = buckets
        .iter()
        .map(|b| match b.hi {
            Some(hi) => format!("[{}, {hi})", b.lo),
            None => format!("[{}, ...)", b.lo),
        })
        .collect();
    let w = labels.iter().map(String::len).max().unwrap_or(0).max(16);
    let _ = writeln!(out, "{:^w$} : count    distribution", "value");
    for (b, label) in buckets.iter().zip(&labels) {
        let stars = (b.count.saturating_mul(WIDTH) / max) as usize;
        let _ = writeln!(
            out,
            "{label:>w$} : {:<8} |{:<40}|",
            b.count,
            "*".repeat(stars)
        );
    }
    out
}

/// The histogram as JSON: `{"hist": NAME, "buckets": [{"lo", "hi", "count"}...]}`.
pub fn json(name: &str, buckets: &[Bucket]) -> Value {
    json!({
        "hist": name,
        "buckets": buckets
            .iter()
            .map(|b| json!({"lo": b.lo, "hi": b.hi, "count": b.count}))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_buckets_follow_the_slot_rule() {
        // Slot 0 is value 0, slot i is [2^(i-1), 2^i), the last slot is open.
        let b = buckets(HistKind::Log2, &[1, 2, 0, 3, 0]);
        assert_eq!(
            b,
            vec![
                Bucket {
                    lo: 0,
                    hi: Some(1),
                    count: 1
                },
                Bucket {
                    lo: 1,
                    hi: Some(2),
                    count: 2
                },
                Bucket {
                    lo: 2,
                    hi: Some(4),
                    count: 0
                },
                Bucket {
                    lo: 4,
                    hi: Some(8),
                    count: 3
                },
            ]
        );
        let b = buckets(HistKind::Log2, &[0, 0, 5]);
        assert_eq!(
            b.last(),
            Some(&Bucket {
                lo: 2,
                hi: None,
                count: 5
            })
        );
        assert!(buckets(HistKind::Log2, &[0, 0]).is_empty());
    }

    #[test]
    fn linear_buckets_and_bars() {
        let b = buckets(HistKind::Linear { min: 10, step: 5 }, &[4, 2]);
        assert_eq!(
            b[0],
            Bucket {
                lo: 10,
                hi: Some(15),
                count: 4
            }
        );
        assert_eq!(
            b[1],
            Bucket {
                lo: 15,
                hi: None,
                count: 2
            }
        );
        let t = text("h", &b);
        let rows: Vec<&str> = t.lines().collect();
        assert_eq!(rows[0], "h:");
        assert!(rows[1].contains(": count    distribution"));
        assert!(rows[2].ends_with(&format!("|{}|", "*".repeat(40))));
        assert!(rows[3].ends_with(&format!("|{}{}|", "*".repeat(20), " ".repeat(20))));
        assert!(rows[3].trim_start().starts_with("[15, ...)"));
    }
}
