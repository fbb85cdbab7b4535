//! The CO-RE relocation engine (see [`relocate`] and [`patch_insn`]): a pure function from (local BTF, CO-RE record, target
//! candidates) to the value an instruction must carry on the target kernel.
//!
//! Semantics follow the compiler's contract for `preserve_access_index` relocations as
//! implemented by the kernel's loaders: a relocation's access string is parsed against the
//! object's BTF into a *spec* (a path of member and array accesses from a root type), every
//! target type with the same essential name is tried as a candidate, all matching candidates
//! must agree, and an unresolvable relocation poisons its instruction so the verifier reports
//! it at that instruction (unless it only asked whether something exists).

use std::fmt::{self, Write as _};

use std::collections::HashMap;

use corebpf_btf::{Btf, BtfError, CoreReloKind, Kind, Type, TypeId, TypeKind};

/// Deepest access path a spec may have (the same limit the kernel's loaders use).
pub const SPEC_MAX_LEN: usize = 64;

/// Helper id written into poisoned instructions: `call 0xbad2310` fails verification with
/// "invalid func unknown#195896080" at exactly the relocated instruction.
pub const POISON_HELPER: i32 = 0x0bad_2310;

/// Why a relocation could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("access string {access:?} on type [{type_id}]: {problem}")]
    BadSpec {
        type_id: TypeId,
        access: String,
        problem: String,
    },
    #[error("{kind} relocation on anonymous type [{type_id}] is not supported (no name to find candidates by)")]
    Anonymous { kind: &'static str, type_id: TypeId },
    #[error("{spec}: candidates disagree: {detail}")]
    Ambiguous { spec: String, detail: String },
    #[error("{spec}: bitfield cannot be read with a single load of at most 8 bytes")]
    BitfieldTooWide { spec: String },
    #[error("{spec}: {kind} cannot be applied to an array element access")]
    ArrayAccess { spec: String, kind: &'static str },
    #[error("instruction #{insn}: {problem}")]
    Insn { insn: usize, problem: String },
    #[error("type comparison recursed too deeply between local [{local}] and target [{target}]")]
    TooDeep { local: TypeId, target: TypeId },
    #[error(transparent)]
    Btf(#[from] BtfError),
}

/// One step of a spec: a member of a struct/union (`name` set) or an array element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accessor<'a> {
    /// The struct/union (for members) or element type (for array accesses) this step is in.
    pub type_id: TypeId,
    pub idx: u32,
    pub name: Option<&'a str>,
}

/// A parsed access path against one BTF.
#[derive(Debug, Clone)]
pub struct Spec<'t, 'a> {
    pub btf: &'t Btf<'a>,
    pub root_type_id: TypeId,
    pub kind: CoreReloKind,
    /// The indices of the access string, anonymous members included.
    pub raw: Vec<u32>,
    /// The named (user-visible) accesses; the first is always the root array index.
    pub accessors: Vec<Accessor<'a>>,
    /// Offset in bits of the accessed field from the start of the root object.
    pub bit_offset: u64,
}

/// A target type that may satisfy a relocation: a type id in one of the target BTFs.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'t, 'a> {
    pub btf: &'t Btf<'a>,
    pub id: TypeId,
}

/// The outcome of a relocation: what the instruction holds now and what it must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloResult {
    /// The value computed against the object's own BTF (what the compiler put in).
    pub orig_val: u64,
    /// The value for the target.
    pub new_val: u64,
    /// No target satisfies the relocation: the instruction must be poisoned.
    pub poison: bool,
    /// Whether the instruction's current value must equal `orig_val`.
    pub validate: bool,
    /// Field sizes before/after, for adjusting load/store widths.
    pub orig_sz: u32,
    pub new_sz: u32,
    pub orig_type_id: TypeId,
    pub new_type_id: TypeId,
    /// The field changed size in a way a load/store cannot be adjusted for.
    pub fail_memsz_adjust: bool,
    /// The matched target spec, described (`struct task_struct.tgid (0:57 @ offset 2420)`).
    pub target: Option<String>,
}

fn kind_str(k: CoreReloKind) -> &'static str {
    k.name()
}

fn is_field_based(k: CoreReloKind) -> bool {
    k.is_field()
}

fn is_type_based(k: CoreReloKind) -> bool {
    k.is_type()
}

fn is_enumval_based(k: CoreReloKind) -> bool {
    k.is_enumval()
}

fn is_composite(t: &Type<'_>) -> bool {
    matches!(t.kind, TypeKind::Struct { .. } | TypeKind::Union { .. })
}

fn is_any_enum(t: &Type<'_>) -> bool {
    matches!(t.kind, TypeKind::Enum { .. } | TypeKind::Enum64 { .. })
}

/// Same kind, or both enums of either width.
fn kinds_compat(a: &Type<'_>, b: &Type<'_>) -> bool {
    a.kind_id() == b.kind_id() || (is_any_enum(a) && is_any_enum(b))
}

fn essential_name(name: &str) -> &str {
    corebpf_btf::essential_name(name)
}

fn skip<'a>(btf: &Btf<'a>, id: TypeId) -> Result<(TypeId, Type<'a>), CoreError> {
    let id = btf.skip_mods_and_typedefs(id)?;
    Ok((id, btf.type_by_id(id)?))
}

fn resolve_size(btf: &Btf<'_>, id: TypeId) -> Result<u64, CoreError> {
    Ok(btf.size_of(id)?)
}

fn enum_len(t: &Type<'_>) -> usize {
    match t.kind {
        TypeKind::Enum { values, .. } => values.len(),
        TypeKind::Enum64 { values, .. } => values.len(),
        _ => 0,
    }
}

fn enum_value<'a>(t: &Type<'a>, i: usize) -> Option<(&'a str, i128)> {
    match t.kind {
        TypeKind::Enum { values, .. } => values.get(i).map(|v| (v.name, v.value)),
        TypeKind::Enum64 { values, .. } => values.get(i).map(|v| (v.name, v.value)),
        _ => None,
    }
}

/// A flexible array: the last member of a struct, with zero elements.
fn is_flex_array(btf: &Btf<'_>, parent: Option<&Accessor<'_>>, len: u32) -> bool {
    let Some(acc) = parent else { return false };
    if acc.name.is_none() || len > 0 {
        return false;
    }
    btf.type_by_id(acc.type_id)
        .map(|t| acc.idx + 1 == u32::from(t.vlen()))
        .unwrap_or(false)
}

impl<'t, 'a> Spec<'t, 'a> {
    /// Parses `access` (`0:1:2`) for a relocation of `kind` rooted at `type_id` of `btf`.
    pub fn parse(
        btf: &'t Btf<'a>,
        type_id: TypeId,
        access: &str,
        kind: CoreReloKind,
    ) -> Result<Self, CoreError> {
        let bad = |problem: String| CoreError::BadSpec {
            type_id,
            access: access.to_string(),
            problem,
        };
        let mut spec = Spec {
            btf,
            root_type_id: type_id,
            kind,
            raw: Vec::new(),
            accessors: Vec::new(),
            bit_offset: 0,
        };
        if access.is_empty() || access.starts_with(':') {
            return Err(bad("empty access string".into()));
        }
        if is_type_based(kind) {
            if access != "0" {
                return Err(bad(format!(
                    "a {} relocation takes access string \"0\"",
                    kind_str(kind)
                )));
            }
            return Ok(spec);
        }
        for part in access.split(':') {
            let v: u32 = part
                .parse()
                .map_err(|_| bad(format!("{part:?} is not an index")))?;
            if spec.raw.len() == SPEC_MAX_LEN {
                return Err(bad(format!("more than {SPEC_MAX_LEN} accesses")));
            }
            spec.raw.push(v);
        }
        let (mut id, t) = skip(btf, type_id)?;
        let first = spec.raw[0];
        spec.accessors.push(Accessor {
            type_id: id,
            idx: first,
            name: None,
        });
        if is_enumval_based(kind) {
            if !is_any_enum(&t) || spec.raw.len() > 1 || first as usize >= enum_len(&t) {
                return Err(bad(format!(
                    "{} relocations need an enum root and one enumerator index",
                    kind_str(kind)
                )));
            }
            spec.accessors[0].name = enum_value(&t, first as usize).map(|(n, _)| n);
            return Ok(spec);
        }
        if !is_field_based(kind) {
            return Err(bad(format!("unknown relocation kind {}", kind_str(kind))));
        }
        let sz = resolve_size(btf, id)?;
        spec.bit_offset = u64::from(first) * sz * 8;
        for i in 1..spec.raw.len() {
            let (cur, t) = skip(btf, id)?;
            id = cur;
            let idx = spec.raw[i];
            if let Some(members) = t.members() {
                let m = members.get(idx as usize).ok_or_else(|| {
                    bad(format!("member {idx} of [{id}] {} does not exist", t.name))
                })?;
                spec.bit_offset += u64::from(m.bit_offset);
                if !m.name.is_empty() {
                    spec.accessors.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(m.name),
                    });
                }
                id = m.ty;
            } else if let TypeKind::Array { elem, len, .. } = t.kind {
                let (elem_id, _) = skip(btf, elem)?;
                if !is_flex_array(btf, spec.accessors.last(), len) && idx >= len {
                    return Err(bad(format!(
                        "index {idx} out of bounds of array [{id}] of {len}"
                    )));
                }
                spec.accessors.push(Accessor {
                    type_id: elem_id,
                    idx,
                    name: None,
                });
                id = elem_id;
                spec.bit_offset += u64::from(idx) * resolve_size(btf, elem_id)? * 8;
            } else {
                return Err(bad(format!(
                    "access {i} reaches [{id}] {} of kind {}, which has no members or elements",
                    t.name,
                    t.kind_id().name()
                )));
            }
        }
        Ok(spec)
    }

    /// `struct task_struct.real_parent (0:57 @ offset 1432)`-style description.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let root = self.btf.type_by_id(self.root_type_id);
        let (kw, name) = match &root {
            Ok(t) => (
                c_keyword(t),
                if t.name.is_empty() { "(anon)" } else { t.name },
            ),
            Err(_) => ("", "?"),
        };
        let _ = write!(s, "[{}] {kw}{name}", self.root_type_id);
        if is_type_based(self.kind) {
            return s;
        }
        if is_enumval_based(self.kind) {
            if let Some(acc) = self.accessors.first() {
                let _ = write!(s, "::{} = {}", acc.name.unwrap_or("?"), acc.idx);
            }
            return s;
        }
        for (i, acc) in self.accessors.iter().enumerate() {
            match acc.name {
                Some(n) => {
                    let _ = write!(s, ".{n}");
                }
                None if i == 0 && acc.idx == 0 => {}
                None => {
                    let _ = write!(s, "[{}]", acc.idx);
                }
            }
        }
        let raw: Vec<String> = self.raw.iter().map(u32::to_string).collect();
        let _ = write!(s, " ({}", raw.join(":"));
        if self.bit_offset % 8 == 0 {
            let _ = write!(s, " @ offset {})", self.bit_offset / 8);
        } else {
            let _ = write!(
                s,
                " @ offset {}.{})",
                self.bit_offset / 8,
                self.bit_offset % 8
            );
        }
        s
    }
}

fn c_keyword(t: &Type<'_>) -> &'static str {
    match t.kind {
        TypeKind::Struct { .. } => "struct ",
        TypeKind::Union { .. } => "union ",
        TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => "enum ",
        TypeKind::Typedef { .. } => "typedef ",
        _ => "",
    }
}

impl fmt::Display for Spec<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Every type in `targets` whose kind is compatible with local type `local_id` and whose
/// essential name equals its essential name. Targets are tried in order and the search stops at
/// the first that has any: the kernel's own BTF first, module BTFs (split on it) only when it
/// has none, and then only their own types.
pub fn find_candidates<'t, 'a>(
    local: &Btf<'_>,
    local_id: TypeId,
    targets: &[&'t Btf<'a>],
) -> Result<Vec<Candidate<'t, 'a>>, CoreError> {
    let local_t = local.type_by_id(local_id)?;
    let mut out = Vec::new();
    if essential_name(local_t.name).is_empty() {
        return Ok(out);
    }
    for (i, btf) in targets.iter().enumerate() {
        for id in btf.core_candidates(local_t.name, local_t.kind_id()) {
            if i == 0 || id >= btf.first_id() {
                out.push(Candidate { btf, id });
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    Ok(out)
}

/// [`find_candidates`] for many local types at once, with one pass over each target's type
/// records instead of a name index: cheaper when a target BTF is parsed for one object. Gives
/// the same candidates, in the same order, for every id of `local_ids`.
pub fn find_candidates_batch<'t, 'a>(
    local: &Btf<'_>,
    local_ids: &[TypeId],
    targets: &[&'t Btf<'a>],
) -> Result<HashMap<TypeId, Vec<Candidate<'t, 'a>>>, CoreError> {
    struct Want<'l> {
        id: TypeId,
        name: &'l str,
        kind: u8,
    }
    let mut out: HashMap<TypeId, Vec<Candidate<'t, 'a>>> = HashMap::new();
    let mut wants = Vec::new();
    for &id in local_ids {
        if out.contains_key(&id) {
            continue;
        }
        let t = local.type_by_id(id)?;
        out.insert(id, Vec::new());
        let name = essential_name(t.name);
        if !name.is_empty() {
            wants.push(Want {
                id,
                name,
                kind: t.kind_id() as u8,
            });
        }
    }
    // The first two name bytes worth looking at (a one-byte name pairs with its NUL).
    let pair = |b: &[u8]| -> usize {
        usize::from(b.first().copied().unwrap_or(0)) << 8
            | usize::from(b.get(1).copied().unwrap_or(0))
    };
    let mut first = vec![false; 1 << 16];
    for w in &wants {
        first[pair(w.name.as_bytes())] = true;
    }
    let same_kind = |want: u8, kind: u8| {
        let (e, e64) = (Kind::Enum as u8, Kind::Enum64 as u8);
        kind == want || ((want == e || want == e64) && (kind == e || kind == e64))
    };
    for (i, btf) in targets.iter().enumerate() {
        if wants.is_empty() {
            break;
        }
        if i == 0 && btf.base().is_some() {
            // A split first target: the general search walks its base chain.
            for w in &wants {
                let found = find_candidates(local, w.id, &targets[..1])?;
                out.insert(w.id, found);
            }
            wants.retain(|w| out.get(&w.id).is_some_and(Vec::is_empty));
            continue;
        }
        let big = btf.endian() == corebpf_btf::Endian::Big;
        let word = |b: &[u8]| {
            let v = [b[0], b[1], b[2], b[3]];
            if big {
                u32::from_be_bytes(v)
            } else {
                u32::from_le_bytes(v)
            }
        };
        let own_strs = btf.string_section();
        let str_start = btf.string_start();
        let base_strs = btf.base().map(|b| b.string_section());
        let name_bytes = |off: u32| -> &[u8] {
            let tail = if off >= str_start {
                own_strs.get((off - str_start) as usize..)
            } else {
                base_strs.and_then(|s| s.get(off as usize..))
            };
            tail.unwrap_or(&[])
        };
        let mut found_here: Vec<(TypeId, TypeId)> = Vec::new();
        for id in btf.first_id()..btf.first_id() + btf.len() {
            let Some(rec) = btf.raw_type_bytes(id) else {
                continue;
            };
            if rec.len() < 8 {
                continue;
            }
            let name_off = word(&rec[0..4]);
            if name_off == 0 {
                continue;
            }
            let name = name_bytes(name_off);
            if !first[pair(name)] {
                continue;
            }
            let kind = ((word(&rec[4..8]) >> 24) & 0x1f) as u8;
            for w in &wants {
                let wb = w.name.as_bytes();
                if !same_kind(w.kind, kind) || !name.starts_with(wb) {
                    continue;
                }
                let hit = match name.get(wb.len()) {
                    Some(0) => true,
                    // `name___flavor`: the essential name decides.
                    Some(b'_') => btf
                        .str_at(name_off)
                        .is_ok_and(|n| essential_name(n) == w.name),
                    _ => false,
                };
                if hit {
                    found_here.push((w.id, id));
                }
            }
        }
        for (local_id, id) in found_here {
            if let Some(v) = out.get_mut(&local_id) {
                v.push(Candidate { btf, id });
            }
        }
        // Module BTFs are searched only for types the kernel's own BTF lacks.
        wants.retain(|w| out.get(&w.id).is_some_and(Vec::is_empty));
    }
    Ok(out)
}

/// Recursion budget for type comparisons (function prototypes nest).
const COMPAT_LEVELS: u32 = 32;

/// Whether local and target names agree once flavors are stripped (an anonymous target only
/// matches an anonymous local).
fn names_match(local: &str, target: &str) -> bool {
    if target.is_empty() {
        return local.is_empty();
    }
    essential_name(local) == essential_name(target)
}

/// Compatibility of two types for TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET: same kinds through
/// pointers, arrays and function prototypes; names were matched by the candidate search.
pub fn types_are_compat(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
) -> Result<bool, CoreError> {
    compat_rec(local, local_id, target, target_id, COMPAT_LEVELS)
}

fn compat_rec(
    local: &Btf<'_>,
    lid: TypeId,
    target: &Btf<'_>,
    tid: TypeId,
    level: u32,
) -> Result<bool, CoreError> {
    if !kinds_compat(&local.type_by_id(lid)?, &target.type_by_id(tid)?) {
        return Ok(false);
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..COMPAT_LEVELS {
        let (l_id, lt) = skip(local, lid)?;
        let (t_id, tt) = skip(target, tid)?;
        if !kinds_compat(&lt, &tt) {
            return Ok(false);
        }
        match (lt.kind, tt.kind) {
            (TypeKind::Void, _)
            | (TypeKind::Struct { .. }, _)
            | (TypeKind::Union { .. }, _)
            | (TypeKind::Enum { .. }, _)
            | (TypeKind::Enum64 { .. }, _)
            | (TypeKind::Fwd { .. }, _) => return Ok(true),
            (TypeKind::Int { offset: lo, .. }, TypeKind::Int { offset: to, .. }) => {
                return Ok(lo == 0 && to == 0)
            }
            (TypeKind::Ptr { target: l }, TypeKind::Ptr { target: t }) => {
                lid = l;
                tid = t;
            }
            (TypeKind::Array { elem: l, .. }, TypeKind::Array { elem: t, .. }) => {
                lid = l;
                tid = t;
            }
            (
                TypeKind::FuncProto {
                    ret: lr,
                    params: lp,
                },
                TypeKind::FuncProto {
                    ret: tr,
                    params: tp,
                },
            ) => {
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                if level == 0 {
                    return Err(CoreError::TooDeep {
                        local: l_id,
                        target: t_id,
                    });
                }
                for (a, b) in lp.iter().zip(tp.iter()) {
                    let a = local.skip_mods_and_typedefs(a.ty)?;
                    let b = target.skip_mods_and_typedefs(b.ty)?;
                    if !compat_rec(local, a, target, b, level - 1)? {
                        return Ok(false);
                    }
                }
                lid = local.skip_mods_and_typedefs(lr)?;
                tid = target.skip_mods_and_typedefs(tr)?;
            }
            _ => return Ok(false),
        }
    }
    Err(CoreError::TooDeep {
        local: lid,
        target: tid,
    })
}

/// Compatibility of a local field's type with a target field's type.
fn fields_are_compat(
    local: &Btf<'_>,
    lid: TypeId,
    target: &Btf<'_>,
    tid: TypeId,
) -> Result<bool, CoreError> {
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..COMPAT_LEVELS {
        let (_, lt) = skip(local, lid)?;
        let (_, tt) = skip(target, tid)?;
        if is_composite(&lt) && is_composite(&tt) {
            return Ok(true);
        }
        if !kinds_compat(&lt, &tt) {
            return Ok(false);
        }
        match (lt.kind, tt.kind) {
            (TypeKind::Ptr { .. }, _) | (TypeKind::Float { .. }, _) => return Ok(true),
            (TypeKind::Fwd { .. }, _)
            | (TypeKind::Enum { .. }, _)
            | (TypeKind::Enum64 { .. }, _) => {
                let l = essential_name(lt.name);
                let t = essential_name(tt.name);
                return Ok(l.is_empty() || t.is_empty() || l == t);
            }
            (TypeKind::Int { offset: lo, .. }, TypeKind::Int { offset: to, .. }) => {
                return Ok(lo == 0 && to == 0)
            }
            (TypeKind::Array { elem: l, .. }, TypeKind::Array { elem: t, .. }) => {
                lid = l;
                tid = t;
            }
            _ => return Ok(false),
        }
    }
    Err(CoreError::TooDeep {
        local: lid,
        target: tid,
    })
}

/// TYPE_MATCHES: a stricter, layout-level equivalence (member names present in the target with
/// matching types, enumerators present, integer sizes and signedness equal).
pub fn types_match(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
) -> Result<bool, CoreError> {
    match_rec(
        local,
        local_id,
        target,
        target_id,
        false,
        COMPAT_LEVELS,
        &mut None,
    )
}

/// What a [`types_match`] comparison looked at in the target BTF, for [`types_match_traced`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchStep {
    /// A target type compared, as referenced (modifiers and typedefs not skipped).
    Type(TypeId),
    /// Member `index` of target struct/union `id` matched a local member.
    Member(TypeId, usize),
    /// Target enum `id` compared as a whole (size, count, every enumerator name).
    Enum(TypeId),
    /// Target struct/union `id` needs at least this many members (member counts are compared).
    MemberCount(TypeId, usize),
}

/// [`types_match`], also recording in `steps` what the comparison used in the target BTF (only
/// steps of the successful path: a member candidate that did not match leaves nothing).
pub fn types_match_traced(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
    steps: &mut Vec<MatchStep>,
) -> Result<bool, CoreError> {
    let mut trace = Some(std::mem::take(steps));
    let r = match_rec(
        local,
        local_id,
        target,
        target_id,
        false,
        COMPAT_LEVELS,
        &mut trace,
    );
    *steps = trace.unwrap_or_default();
    r
}

fn match_rec(
    local: &Btf<'_>,
    lid: TypeId,
    target: &Btf<'_>,
    tid: TypeId,
    mut behind_ptr: bool,
    level: u32,
    trace: &mut Option<Vec<MatchStep>>,
) -> Result<bool, CoreError> {
    if level == 0 {
        return Err(CoreError::TooDeep {
            local: lid,
            target: tid,
        });
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..COMPAT_LEVELS {
        if let Some(t) = trace {
            t.push(MatchStep::Type(tid));
        }
        let (l_id, lt) = skip(local, lid)?;
        let (t_id, tt) = skip(target, tid)?;
        if !names_match(lt.name, tt.name) {
            return Ok(false);
        }
        match lt.kind {
            TypeKind::Void => return Ok(matches!(tt.kind, TypeKind::Void)),
            TypeKind::Fwd { union: lu } => {
                return Ok(match tt.kind {
                    TypeKind::Fwd { union: tu } => lu == tu,
                    TypeKind::Struct { .. } if behind_ptr => !lu,
                    TypeKind::Union { .. } if behind_ptr => lu,
                    _ => false,
                });
            }
            TypeKind::Enum { size, .. } | TypeKind::Enum64 { size, .. } => {
                let tsize = match tt.kind {
                    TypeKind::Enum { size, .. } | TypeKind::Enum64 { size, .. } => size,
                    _ => return Ok(false),
                };
                if let Some(t) = trace {
                    t.push(MatchStep::Enum(t_id));
                }
                if size != tsize || enum_len(&lt) > enum_len(&tt) {
                    return Ok(false);
                }
                for i in 0..enum_len(&lt) {
                    let Some((ln, _)) = enum_value(&lt, i) else {
                        continue;
                    };
                    let found = (0..enum_len(&tt))
                        .any(|j| enum_value(&tt, j).is_some_and(|(tn, _)| names_match(ln, tn)));
                    if !found {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            TypeKind::Struct { members: lm, .. } | TypeKind::Union { members: lm, .. } => {
                let same_kind = lt.kind_id() == tt.kind_id();
                if behind_ptr {
                    return Ok(same_kind
                        || matches!(tt.kind, TypeKind::Fwd { union } if union == matches!(lt.kind, TypeKind::Union { .. })));
                }
                if !same_kind {
                    return Ok(false);
                }
                let Some(tm) = tt.members() else {
                    return Ok(false);
                };
                if lm.len() > tm.len() {
                    return Ok(false);
                }
                if let Some(t) = trace {
                    t.push(MatchStep::MemberCount(t_id, lm.len()));
                }
                // Every local member needs a same-named target member of a matching type
                // (anonymous members match any anonymous member that matches).
                for l in lm.iter() {
                    let mut matched = false;
                    for (i, t) in tm.iter().enumerate() {
                        if !names_match(l.name, t.name) {
                            continue;
                        }
                        let mark = trace.as_ref().map_or(0, Vec::len);
                        if match_rec(local, l.ty, target, t.ty, behind_ptr, level - 1, trace)? {
                            if let Some(tr) = trace {
                                tr.push(MatchStep::Member(t_id, i));
                            }
                            matched = true;
                            break;
                        }
                        if let Some(tr) = trace {
                            tr.truncate(mark);
                        }
                    }
                    if !matched {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            TypeKind::Int { bits, encoding, .. } => {
                return Ok(match tt.kind {
                    TypeKind::Int {
                        bits: tb,
                        encoding: te,
                        ..
                    } => bits == tb && encoding.is_signed() == te.is_signed(),
                    _ => false,
                });
            }
            TypeKind::Ptr { target: l } => {
                let TypeKind::Ptr { target: t } = tt.kind else {
                    return Ok(false);
                };
                behind_ptr = true;
                lid = l;
                tid = t;
            }
            TypeKind::Array {
                elem: l, len: ll, ..
            } => {
                let TypeKind::Array {
                    elem: t, len: tl, ..
                } = tt.kind
                else {
                    return Ok(false);
                };
                if ll != tl {
                    return Ok(false);
                }
                lid = l;
                tid = t;
            }
            TypeKind::FuncProto {
                ret: lr,
                params: lp,
            } => {
                let TypeKind::FuncProto {
                    ret: tr,
                    params: tp,
                } = tt.kind
                else {
                    return Ok(false);
                };
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.iter().zip(tp.iter()) {
                    if !match_rec(local, a.ty, target, b.ty, behind_ptr, level - 1, trace)? {
                        return Ok(false);
                    }
                }
                lid = lr;
                tid = tr;
            }
            _ => {
                let _ = (l_id, t_id);
                return Ok(false);
            }
        }
    }
    Err(CoreError::TooDeep {
        local: lid,
        target: tid,
    })
}

/// Finds member `local_acc` (by exact name, descending into anonymous members) in target
/// composite `tid`, extending `spec`; returns the member's type id when it matches.
fn match_member<'t, 'a>(
    local: &Btf<'_>,
    local_acc: &Accessor<'_>,
    local_member_ty: TypeId,
    target: &'t Btf<'a>,
    tid: TypeId,
    spec: &mut Spec<'t, 'a>,
    depth: u32,
) -> Result<Option<TypeId>, CoreError> {
    let (tid, tt) = skip(target, tid)?;
    let Some(members) = tt.members() else {
        return Ok(None);
    };
    let want = local_acc.name.unwrap_or("");
    if depth as usize > SPEC_MAX_LEN {
        return Err(CoreError::TooDeep {
            local: local_acc.type_id,
            target: tid,
        });
    }
    for (i, m) in members.iter().enumerate() {
        if spec.raw.len() == SPEC_MAX_LEN {
            return Err(CoreError::BadSpec {
                type_id: spec.root_type_id,
                access: String::new(),
                problem: format!("target access path longer than {SPEC_MAX_LEN}"),
            });
        }
        spec.bit_offset += u64::from(m.bit_offset);
        spec.raw.push(i as u32);
        if m.name.is_empty() {
            if let Some(found) = match_member(
                local,
                local_acc,
                local_member_ty,
                target,
                m.ty,
                spec,
                depth + 1,
            )? {
                return Ok(Some(found));
            }
        } else if m.name == want {
            if fields_are_compat(local, local_member_ty, target, m.ty)? {
                spec.accessors.push(Accessor {
                    type_id: tid,
                    idx: i as u32,
                    name: Some(m.name),
                });
                return Ok(Some(m.ty));
            }
            spec.bit_offset -= u64::from(m.bit_offset);
            spec.raw.pop();
            return Ok(None);
        }
        spec.bit_offset -= u64::from(m.bit_offset);
        spec.raw.pop();
    }
    Ok(None)
}

/// Tries to match `local` spec against candidate `target_id`; `Some(spec)` on a match.
pub fn match_spec<'t, 'a>(
    local: &Spec<'_, '_>,
    target: &'t Btf<'a>,
    target_id: TypeId,
) -> Result<Option<Spec<'t, 'a>>, CoreError> {
    let mut spec = Spec {
        btf: target,
        root_type_id: target_id,
        kind: local.kind,
        raw: Vec::new(),
        accessors: Vec::new(),
        bit_offset: 0,
    };
    if is_type_based(local.kind) {
        let ok = if local.kind == CoreReloKind::TypeMatches {
            types_match(local.btf, local.root_type_id, target, target_id)?
        } else {
            types_are_compat(local.btf, local.root_type_id, target, target_id)?
        };
        return Ok(ok.then_some(spec));
    }
    let Some(first) = local.accessors.first() else {
        return Ok(None);
    };
    if is_enumval_based(local.kind) {
        let (tid, tt) = skip(target, target_id)?;
        if !is_any_enum(&tt) {
            return Ok(None);
        }
        let want = essential_name(first.name.unwrap_or(""));
        for i in 0..enum_len(&tt) {
            let Some((name, _)) = enum_value(&tt, i) else {
                continue;
            };
            if essential_name(name) == want {
                spec.accessors.push(Accessor {
                    type_id: tid,
                    idx: i as u32,
                    name: Some(name),
                });
                spec.raw.push(i as u32);
                return Ok(Some(spec));
            }
        }
        return Ok(None);
    }
    let mut tid = target_id;
    for (i, acc) in local.accessors.iter().enumerate() {
        let (cur, tt) = skip(target, tid)?;
        tid = cur;
        if acc.name.is_some() {
            // The local member's type, for the compatibility check.
            let lt = local.btf.type_by_id(acc.type_id)?;
            let lm = lt
                .members()
                .and_then(|m| m.get(acc.idx as usize))
                .ok_or_else(|| CoreError::BadSpec {
                    type_id: local.root_type_id,
                    access: String::new(),
                    problem: format!("member {} of [{}] vanished", acc.idx, acc.type_id),
                })?;
            match match_member(local.btf, acc, lm.ty, target, tid, &mut spec, 0)? {
                Some(next) => tid = next,
                None => return Ok(None),
            }
        } else {
            if i > 0 {
                let TypeKind::Array { elem, len, .. } = tt.kind else {
                    return Ok(None);
                };
                if !is_flex_array(target, spec.accessors.last(), len) && acc.idx >= len {
                    return Ok(None);
                }
                tid = target.skip_mods_and_typedefs(elem)?;
            }
            if spec.raw.len() == SPEC_MAX_LEN {
                return Ok(None);
            }
            spec.accessors.push(Accessor {
                type_id: tid,
                idx: acc.idx,
                name: None,
            });
            spec.raw.push(acc.idx);
            spec.bit_offset += u64::from(acc.idx) * resolve_size(target, tid)? * 8;
        }
    }
    Ok(Some(spec))
}

/// The value of a field relocation against one spec (`None`: no spec, i.e. no target).
struct FieldVal {
    val: u64,
    field_sz: u32,
    type_id: TypeId,
    validate: bool,
}

enum Calc<T> {
    Value(T),
    Poison,
}

fn calc_field(
    spec: Option<&Spec<'_, '_>>,
    kind: CoreReloKind,
    big_endian: bool,
) -> Result<Calc<FieldVal>, CoreError> {
    let mut out = FieldVal {
        val: 0,
        field_sz: 0,
        type_id: 0,
        validate: true,
    };
    if kind == CoreReloKind::FieldExists {
        out.val = u64::from(spec.is_some());
        return Ok(Calc::Value(out));
    }
    let Some(spec) = spec else {
        return Ok(Calc::Poison);
    };
    let btf = spec.btf;
    let Some(acc) = spec.accessors.last() else {
        return Ok(Calc::Poison);
    };
    if acc.name.is_none() {
        // An array element (or the root object itself).
        let sz = resolve_size(btf, acc.type_id)?;
        match kind {
            CoreReloKind::FieldByteOffset => {
                out.val = spec.bit_offset / 8;
                out.field_sz = sz as u32;
                out.type_id = acc.type_id;
            }
            CoreReloKind::FieldByteSize => out.val = sz,
            _ => {
                return Err(CoreError::ArrayAccess {
                    spec: spec.describe(),
                    kind: kind_str(kind),
                })
            }
        }
        return Ok(Calc::Value(out));
    }
    let parent = btf.type_by_id(acc.type_id)?;
    let m = parent
        .members()
        .and_then(|ms| ms.get(acc.idx as usize))
        .ok_or_else(|| CoreError::BadSpec {
            type_id: spec.root_type_id,
            access: String::new(),
            problem: format!("member {} of [{}] does not exist", acc.idx, acc.type_id),
        })?;
    let (field_type_id, mt) = skip(btf, m.ty)?;
    let bit_off = spec.bit_offset;
    let mut bit_sz = u64::from(m.bitfield_size);
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz);
    if bitfield {
        let mut sz = match mt.kind {
            TypeKind::Int { size, .. }
            | TypeKind::Enum { size, .. }
            | TypeKind::Enum64 { size, .. } => u64::from(size),
            _ => resolve_size(btf, field_type_id)?,
        }
        .max(1);
        let mut off = bit_off / 8 / sz * sz;
        while bit_off + bit_sz - off * 8 > sz * 8 {
            if sz >= 8 {
                return Err(CoreError::BitfieldTooWide {
                    spec: spec.describe(),
                });
            }
            sz *= 2;
            off = bit_off / 8 / sz * sz;
        }
        byte_sz = sz;
        byte_off = off;
    } else {
        byte_sz = resolve_size(btf, field_type_id)?;
        byte_off = bit_off / 8;
        bit_sz = byte_sz * 8;
    }
    // Bitfield offsets and sizes are the loader's choice, not necessarily the compiler's.
    out.validate = !bitfield;
    match kind {
        CoreReloKind::FieldByteOffset => {
            out.val = byte_off;
            if !bitfield {
                // Loads of arrays are sized by their element.
                let mut elem = field_type_id;
                while let TypeKind::Array { elem: e, .. } = btf.type_by_id(elem)?.kind {
                    elem = btf.skip_mods_and_typedefs(e)?;
                }
                out.field_sz = resolve_size(btf, elem)? as u32;
                out.type_id = field_type_id;
            }
        }
        CoreReloKind::FieldByteSize => out.val = byte_sz,
        CoreReloKind::FieldSigned => {
            out.val = u64::from(match mt.kind {
                TypeKind::Enum { signed, .. } | TypeKind::Enum64 { signed, .. } => signed,
                TypeKind::Int { encoding, .. } => encoding.is_signed(),
                _ => false,
            });
            out.validate = true;
        }
        // Unsigned arithmetic that wraps, as the kernel's loaders compute it: a field wider
        // than 8 bytes (not a sensible shift target) gives a wrapped value, not a failure.
        CoreReloKind::FieldLshiftU64 => {
            out.val = if big_endian {
                (8u64.wrapping_sub(byte_sz))
                    .wrapping_mul(8)
                    .wrapping_add(bit_off.wrapping_sub(byte_off.wrapping_mul(8)))
            } else {
                64u64.wrapping_sub(
                    bit_off
                        .wrapping_add(bit_sz)
                        .wrapping_sub(byte_off.wrapping_mul(8)),
                )
            };
        }
        CoreReloKind::FieldRshiftU64 => {
            out.val = 64u64.wrapping_sub(bit_sz);
            out.validate = true;
        }
        other => {
            return Err(CoreError::BadSpec {
                type_id: spec.root_type_id,
                access: String::new(),
                problem: format!("{} is not a field relocation", kind_str(other)),
            })
        }
    }
    Ok(Calc::Value(out))
}

fn calc_type(spec: Option<&Spec<'_, '_>>, kind: CoreReloKind) -> Result<(u64, bool), CoreError> {
    let Some(spec) = spec else {
        return Ok((0, true));
    };
    Ok(match kind {
        // Type ids shift when objects are linked; the instruction's value is not checked.
        CoreReloKind::TargetTypeId => (u64::from(spec.root_type_id), false),
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => (1, true),
        CoreReloKind::TypeSize => (resolve_size(spec.btf, spec.root_type_id)?, true),
        _ => (u64::from(spec.root_type_id), false),
    })
}

fn calc_enumval(spec: Option<&Spec<'_, '_>>, kind: CoreReloKind) -> Result<Calc<u64>, CoreError> {
    if kind == CoreReloKind::EnumvalExists {
        return Ok(Calc::Value(u64::from(spec.is_some())));
    }
    let Some(spec) = spec else {
        return Ok(Calc::Poison);
    };
    let Some(acc) = spec.accessors.first() else {
        return Ok(Calc::Poison);
    };
    let t = spec.btf.type_by_id(acc.type_id)?;
    let (_, v) = enum_value(&t, acc.idx as usize).ok_or_else(|| CoreError::BadSpec {
        type_id: spec.root_type_id,
        access: String::new(),
        problem: format!("enumerator {} of [{}] does not exist", acc.idx, acc.type_id),
    })?;
    // 32-bit enumerators are sign-extended, as the instruction's immediate is.
    let v = match t.kind {
        TypeKind::Enum { .. } => i64::from(v as i32) as u64,
        _ => v as u64,
    };
    Ok(Calc::Value(v))
}

/// Computes the relocation for `local` against one target spec (or none).
fn calc_relo(
    local: &Spec<'_, '_>,
    target: Option<&Spec<'_, '_>>,
    big_endian: bool,
) -> Result<ReloResult, CoreError> {
    let kind = local.kind;
    let mut res = ReloResult {
        validate: true,
        target: target.map(Spec::describe),
        ..Default::default()
    };
    if is_field_based(kind) {
        let orig = match calc_field(Some(local), kind, big_endian)? {
            Calc::Value(v) => v,
            Calc::Poison => {
                res.poison = true;
                return Ok(res);
            }
        };
        res.orig_val = orig.val;
        res.orig_sz = orig.field_sz;
        res.orig_type_id = orig.type_id;
        res.validate = orig.validate;
        match calc_field(target, kind, big_endian)? {
            Calc::Value(new) => {
                res.new_val = new.val;
                res.new_sz = new.field_sz;
                res.new_type_id = new.type_id;
            }
            Calc::Poison => {
                res.poison = true;
                return Ok(res);
            }
        }
        if res.orig_sz != res.new_sz {
            let (Some(t), true) = (target, res.new_type_id != 0 || res.orig_type_id != 0) else {
                return Ok(res);
            };
            let ot = local.btf.type_by_id(res.orig_type_id)?;
            let nt = t.btf.type_by_id(res.new_type_id)?;
            let ptrs =
                matches!(ot.kind, TypeKind::Ptr { .. }) && matches!(nt.kind, TypeKind::Ptr { .. });
            let unsigned_ints = match (ot.kind, nt.kind) {
                (TypeKind::Int { encoding: a, .. }, TypeKind::Int { encoding: b, .. }) => {
                    !a.is_signed() && !b.is_signed()
                }
                _ => false,
            };
            // Only pointers and unsigned integers read correctly at another width.
            res.fail_memsz_adjust = !(ptrs || unsigned_ints);
        }
    } else if is_type_based(kind) {
        let (o, validate) = calc_type(Some(local), kind)?;
        res.orig_val = o;
        res.validate = validate;
        res.new_val = calc_type(target, kind)?.0;
    } else if is_enumval_based(kind) {
        match (
            calc_enumval(Some(local), kind)?,
            calc_enumval(target, kind)?,
        ) {
            (Calc::Value(o), Calc::Value(n)) => {
                res.orig_val = o;
                res.new_val = n;
            }
            _ => res.poison = true,
        }
    }
    Ok(res)
}

/// The whole relocation: parse the local spec, try every candidate, check they agree.
///
/// `candidates` come from [`find_candidates`] (the caller caches them per local type).
/// `big_endian` is the object's byte order (it decides bitfield shifts).
pub fn relocate<'t, 'a>(
    local_btf: &Btf<'_>,
    type_id: TypeId,
    access: &str,
    kind: CoreReloKind,
    candidates: &[Candidate<'t, 'a>],
    big_endian: bool,
) -> Result<ReloResult, CoreError> {
    let local = Spec::parse(local_btf, type_id, access, kind)?;
    if kind == CoreReloKind::LocalTypeId {
        return Ok(ReloResult {
            orig_val: u64::from(type_id),
            new_val: u64::from(type_id),
            validate: false,
            ..Default::default()
        });
    }
    let local_t = local_btf.type_by_id(type_id)?;
    if local_t.name.is_empty() {
        return Err(CoreError::Anonymous {
            kind: kind_str(kind),
            type_id,
        });
    }
    let mut chosen: Option<(ReloResult, Spec<'t, 'a>)> = None;
    for cand in candidates {
        let Some(cand_spec) = match_spec(&local, cand.btf, cand.id)? else {
            continue;
        };
        let res = calc_relo(&local, Some(&cand_spec), big_endian)?;
        match &chosen {
            None => chosen = Some((res, cand_spec)),
            Some((first, first_spec)) => {
                if cand_spec.bit_offset != first_spec.bit_offset && is_field_based(kind) {
                    return Err(CoreError::Ambiguous {
                        spec: local.describe(),
                        detail: format!(
                            "{} gives bit offset {}, {} gives bit offset {}",
                            first_spec.describe(),
                            first_spec.bit_offset,
                            cand_spec.describe(),
                            cand_spec.bit_offset
                        ),
                    });
                }
                if res.poison != first.poison || res.new_val != first.new_val {
                    let show = |r: &ReloResult| {
                        if r.poison {
                            "no value".to_string()
                        } else {
                            r.new_val.to_string()
                        }
                    };
                    return Err(CoreError::Ambiguous {
                        spec: local.describe(),
                        detail: format!(
                            "{} gives {}, {} gives {}",
                            first_spec.describe(),
                            show(first),
                            cand_spec.describe(),
                            show(&res)
                        ),
                    });
                }
            }
        }
    }
    match chosen {
        Some((res, _)) => Ok(res),
        None => calc_relo(&local, None, big_endian),
    }
}

/// Reads and writes the fields of one 8-byte instruction slot in the object's byte order.
struct Slot<'b> {
    b: &'b mut [u8],
    big: bool,
}

impl Slot<'_> {
    fn code(&self) -> u8 {
        self.b[0]
    }
    fn regs(&self) -> (u8, u8) {
        let r = self.b[1];
        if self.big {
            (r >> 4, r & 0xf)
        } else {
            (r & 0xf, r >> 4)
        }
    }
    fn off(&self) -> i16 {
        let v = [self.b[2], self.b[3]];
        if self.big {
            i16::from_be_bytes(v)
        } else {
            i16::from_le_bytes(v)
        }
    }
    fn set_off(&mut self, v: i16) {
        let bytes = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b[2..4].copy_from_slice(&bytes);
    }
    fn imm(&self) -> i32 {
        let v = [self.b[4], self.b[5], self.b[6], self.b[7]];
        if self.big {
            i32::from_be_bytes(v)
        } else {
            i32::from_le_bytes(v)
        }
    }
    fn set_imm(&mut self, v: i32) {
        let bytes = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b[4..8].copy_from_slice(&bytes);
    }
    fn poison(&mut self) {
        self.b.fill(0);
        self.b[0] = 0x85; // BPF_JMP | BPF_CALL
        self.set_imm(POISON_HELPER);
    }
}

fn slot(insns: &mut [u8], idx: usize, big: bool) -> Result<Slot<'_>, CoreError> {
    let start = idx
        .checked_mul(8)
        .filter(|s| s + 8 <= insns.len())
        .ok_or_else(|| CoreError::Insn {
            insn: idx,
            problem: format!(
                "past the end of the program ({} instructions)",
                insns.len() / 8
            ),
        })?;
    Ok(Slot {
        b: &mut insns[start..start + 8],
        big,
    })
}

fn size_bytes(code: u8) -> u32 {
    match code & 0x18 {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

fn size_bits(bytes: u32) -> Option<u8> {
    match bytes {
        4 => Some(0x00),
        2 => Some(0x08),
        1 => Some(0x10),
        8 => Some(0x18),
        _ => None,
    }
}

/// Writes `res` into instruction `idx` of `insns` (an 8-byte-slot program in the object's byte
/// order): the immediate of an ALU instruction, the offset (and, if the field changed width,
/// the size) of a load/store, or both halves of a 64-bit immediate load. Poisoned results turn
/// the instruction into a call of a helper that does not exist.
pub fn patch_insn(
    insns: &mut [u8],
    idx: usize,
    res: &ReloResult,
    big_endian: bool,
) -> Result<(), CoreError> {
    let err = |problem: String| CoreError::Insn { insn: idx, problem };
    let code = slot(insns, idx, big_endian)?.code();
    let is_ldimm64 = code == 0x18;
    let poison = |insns: &mut [u8]| -> Result<(), CoreError> {
        if is_ldimm64 {
            slot(insns, idx + 1, big_endian)?.poison();
        }
        slot(insns, idx, big_endian)?.poison();
        Ok(())
    };
    if res.poison {
        return poison(insns);
    }
    let (orig, new) = (res.orig_val, res.new_val);
    match code & 0x07 {
        0x04 | 0x07 => {
            let mut s = slot(insns, idx, big_endian)?;
            if code & 0x08 != 0 {
                return Err(err("ALU instruction with a register source cannot carry a relocated value".into()));
            }
            if res.validate && i64::from(s.imm()) as u64 != orig {
                return Err(err(format!(
                    "immediate is {}, expected {orig} (relocating to {new})",
                    s.imm()
                )));
            }
            s.set_imm(new as i32);
        }
        0x01..=0x03 => {
            let mut s = slot(insns, idx, big_endian)?;
            if res.validate && i64::from(s.off()) as u64 != orig {
                return Err(err(format!("offset is {}, expected {orig} (relocating to {new})", s.off())));
            }
            if new > i16::MAX as u64 {
                return Err(err(format!("offset {new} does not fit a load/store's 16-bit offset")));
            }
            if res.fail_memsz_adjust {
                // Reading a field whose width changed, and that is neither a pointer nor an
                // unsigned integer, would give a wrong value: make the verifier say so here.
                return poison(insns);
            }
            s.set_off(new as i16);
            if res.new_sz != res.orig_sz {
                let have = size_bytes(code);
                if have != res.orig_sz {
                    return Err(err(format!("accesses {have} bytes, the field has {}", res.orig_sz)));
                }
                let bits = size_bits(res.new_sz)
                    .ok_or_else(|| err(format!("no load/store width for a {}-byte field", res.new_sz)))?;
                s.b[0] = (code & !0x18) | bits;
            }
        }
        0x00 if is_ldimm64 => {
            let (src, off) = {
                let s = slot(insns, idx, big_endian)?;
                (s.regs().1, s.off())
            };
            let hi = slot(insns, idx + 1, big_endian).map_err(|_| err("64-bit immediate load is missing its second half".into()))?;
            let (hdst, hsrc) = hi.regs();
            if src != 0 || off != 0 || hi.code() != 0 || hdst != 0 || hsrc != 0 || hi.off() != 0 {
                return Err(err("64-bit immediate load has an unexpected form for a CO-RE value".into()));
            }
            let hi_imm = hi.imm();
            let lo_imm = slot(insns, idx, big_endian)?.imm();
            let imm = u64::from(lo_imm as u32) | (u64::from(hi_imm as u32) << 32);
            if res.validate && imm != orig {
                return Err(err(format!("immediate is {imm}, expected {orig} (relocating to {new})")));
            }
            slot(insns, idx, big_endian)?.set_imm(new as u32 as i32);
            slot(insns, idx + 1, big_endian)?.set_imm((new >> 32) as u32 as i32);
        }
        _ => {
            return Err(err(format!(
                "opcode 0x{code:02x} cannot carry a CO-RE relocation (expected ALU immediate, load/store or 64-bit immediate load)"
            )))
        }
    }
    Ok(())
}
