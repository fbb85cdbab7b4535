//! USDT (statically defined user tracepoints): the `.note.stapsdt` notes of a binary, their
//! argument specifications, and the file offsets uprobes attach at.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

use crate::link::AttachError;
use crate::uprobe::vaddr_to_offset;

/// Where a USDT argument lives when the probe fires (x86-64 `stapsdt` syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsdtArgLoc {
    /// `$5`: a constant.
    Const(i64),
    /// `%rax`: a register.
    Reg(String),
    /// `-8(%rbp)`: memory at register + offset.
    Mem { reg: String, offset: i64 },
}

/// One argument of a USDT probe: its size in bytes, signedness and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtArg {
    pub size: u8,
    pub signed: bool,
    pub loc: UsdtArgLoc,
}

/// One USDT probe site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtProbe {
    pub provider: String,
    pub name: String,
    /// The probe's address as recorded in the note (before prelink adjustment).
    pub pc: u64,
    /// The `.stapsdt.base` address recorded in the note.
    pub base: u64,
    /// The semaphore's address, 0 when the probe has none.
    pub semaphore: u64,
    /// The argument specification as written in the note.
    pub args_spec: String,
    /// The parsed arguments.
    pub args: Vec<UsdtArg>,
    /// Where the probe's instruction is in the file (what the uprobe attaches at).
    pub file_offset: u64,
    /// Where the semaphore is in the file (the uprobe's reference counter), 0 without one.
    pub semaphore_offset: u64,
}

/// Parses one argument specification (`-4@-4(%rbp)`, `8@%rax`, `4@$5`, `%rdi` without a size).
pub fn parse_arg(spec: &str) -> Result<UsdtArg, String> {
    let (size, signed, loc) = match spec.split_once('@') {
        Some((sz, loc)) => {
            let n: i32 = sz
                .parse()
                .map_err(|_| format!("bad size {sz:?} in {spec:?}"))?;
            if !matches!(n.unsigned_abs(), 1 | 2 | 4 | 8) {
                return Err(format!("size {n} in {spec:?} is not 1, 2, 4 or 8"));
            }
            (n.unsigned_abs() as u8, n < 0, loc)
        }
        None => (8, false, spec),
    };
    let loc = if let Some(c) = loc.strip_prefix('$') {
        UsdtArgLoc::Const(parse_int(c).ok_or_else(|| format!("bad constant in {spec:?}"))?)
    } else if let Some(r) = loc.strip_prefix('%') {
        UsdtArgLoc::Reg(r.to_string())
    } else if let Some((off, rest)) = loc.split_once('(') {
        let reg = rest
            .strip_suffix(')')
            .and_then(|r| r.strip_prefix('%'))
            .ok_or_else(|| format!("bad memory operand in {spec:?}"))?;
        let offset = if off.is_empty() {
            0
        } else {
            parse_int(off).ok_or_else(|| format!("bad offset in {spec:?}"))?
        };
        UsdtArgLoc::Mem {
            reg: reg.to_string(),
            offset,
        }
    } else {
        return Err(format!("unknown argument form {spec:?}"));
    };
    Ok(UsdtArg { size, signed, loc })
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => s.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// Splits an argument string on whitespace into parsed arguments.
pub fn parse_args(spec: &str) -> Result<Vec<UsdtArg>, String> {
    spec.split_whitespace().map(parse_arg).collect()
}

fn file_err(path: &Path, problem: impl Into<String>) -> AttachError {
    AttachError::File {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Every USDT probe in the ELF file at `path`.
pub fn probes(path: &Path) -> Result<Vec<UsdtProbe>, AttachError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, format!("read: {e}")))?;
    probes_in(&data).map_err(|p| file_err(path, p))
}

/// Every USDT probe in the ELF image `data`.
pub fn probes_in(data: &[u8]) -> Result<Vec<UsdtProbe>, String> {
    let file = object::File::parse(data).map_err(|e| format!("not ELF: {e}"))?;
    let Some(notes) = file.section_by_name(".note.stapsdt") else {
        return Ok(Vec::new());
    };
    let base_addr = file.section_by_name(".stapsdt.base").map(|s| s.address());
    let bytes = notes.data().map_err(|e| format!(".note.stapsdt: {e}"))?;
    let mut out = Vec::new();
    let mut pos = 0usize;
    let word = |at: usize| -> Option<u32> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let quad = |at: usize| -> Option<u64> {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    };
    while pos + 12 <= bytes.len() {
        let bad = |what: &str| format!(".note.stapsdt: {what} in the note at offset {pos}");
        let namesz = word(pos).ok_or_else(|| bad("truncated header"))? as usize;
        let descsz = word(pos + 4).ok_or_else(|| bad("truncated header"))? as usize;
        let ntype = word(pos + 8).ok_or_else(|| bad("truncated header"))?;
        let name_at = pos + 12;
        let desc_at = name_at + namesz.next_multiple_of(4);
        let next = desc_at
            .checked_add(descsz.next_multiple_of(4))
            .filter(|&n| n <= bytes.len().next_multiple_of(4))
            .ok_or_else(|| bad("a size past the section end"))?;
        let owner = bytes.get(name_at..name_at + namesz).unwrap_or_default();
        if ntype == 3 && owner.strip_suffix(b"\0").unwrap_or(owner) == b"stapsdt" {
            let desc = bytes
                .get(desc_at..desc_at + descsz)
                .ok_or_else(|| bad("a truncated description"))?;
            let pc = quad(desc_at).ok_or_else(|| bad("a truncated description"))?;
            let base = quad(desc_at + 8).ok_or_else(|| bad("a truncated description"))?;
            let semaphore = quad(desc_at + 16).ok_or_else(|| bad("a truncated description"))?;
            let mut strings = desc.get(24..).unwrap_or_default().split(|&b| b == 0);
            let mut next_str = |what: &str| {
                strings
                    .next()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .ok_or_else(|| bad(&format!("a missing {what}")))
            };
            let provider = next_str("provider")?;
            let name = next_str("probe name")?;
            let args_spec = next_str("argument string").unwrap_or_default();
            let args = parse_args(&args_spec).map_err(|e| format!("{provider}:{name}: {e}"))?;
            // Prelinked binaries moved: shift by how far .stapsdt.base moved.
            let adjust = |a: u64| match base_addr {
                Some(actual) if base != 0 => a.wrapping_add(actual).wrapping_sub(base),
                _ => a,
            };
            let addr = adjust(pc);
            let file_offset = vaddr_to_offset(data, addr).ok_or_else(|| {
                format!("{provider}:{name}: address {addr:#x} is in no loadable segment")
            })?;
            let semaphore_offset = if semaphore == 0 {
                0
            } else {
                vaddr_to_offset(data, semaphore).ok_or_else(|| {
                    format!("{provider}:{name}: semaphore {semaphore:#x} is in no loadable segment")
                })?
            };
            out.push(UsdtProbe {
                provider,
                name,
                pc,
                base,
                semaphore,
                args_spec,
                args,
                file_offset,
                semaphore_offset,
            });
        }
        pos = next;
    }
    Ok(out)
}

/// The probes of `path` named `provider:name`.
pub fn find(
    path: &Path,
    provider: &str,
    name: &str,
) -> Result<(PathBuf, Vec<UsdtProbe>), AttachError> {
    let all = probes(path)?;
    let hits: Vec<_> = all
        .into_iter()
        .filter(|p| p.provider == provider && p.name == name)
        .collect();
    if hits.is_empty() {
        return Err(file_err(path, format!("no USDT probe {provider}:{name}")));
    }
    Ok((path.to_path_buf(), hits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_forms() {
        assert_eq!(
            parse_arg("-4@-4(%rbp)").unwrap(),
            UsdtArg {
                size: 4,
                signed: true,
                loc: UsdtArgLoc::Mem {
                    reg: "rbp".into(),
                    offset: -4
                }
            }
        );
        assert_eq!(
            parse_arg("8@%rax").unwrap().loc,
            UsdtArgLoc::Reg("rax".into())
        );
        assert_eq!(parse_arg("4@$-5").unwrap().loc, UsdtArgLoc::Const(-5));
        assert_eq!(
            parse_arg("2@(%rdi)").unwrap().loc,
            UsdtArgLoc::Mem {
                reg: "rdi".into(),
                offset: 0
            }
        );
        assert!(parse_arg("3@%rax").is_err());
        assert!(parse_arg("4@foo").is_err());
        assert!(probes_in(b"not an elf").is_err());
    }
}
