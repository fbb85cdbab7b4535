//! Minimal target BTF for a set of objects: the types (and only the struct members and
//! enumerators) of a full kernel BTF that the objects' CO-RE relocations look at.
//!
//! A kernel built without `CONFIG_DEBUG_INFO_BTF` needs its BTF shipped next to the program;
//! the whole BTF of a kernel is several megabytes, while the few structs a program reads fit in
//! a few hundred bytes. [`MinBtfBuilder`] runs the CO-RE engine ([`crate::core_relo`]) for
//! every relocation of every object against the full BTF, and records what the engine
//! inspected on each candidate that matched:
//!
//! - field relocations: the candidate's access path, i.e. every struct/union member on it (at
//!   its original bit offset) and the member types;
//! - type-based relocations (exists, size, target id): the type;
//! - `TYPE_MATCHES`: the members (by name) and enumerators the match compared, recursively;
//! - enumerator relocations: the enum with the matched enumerator.
//!
//! A kept type keeps everything it refers to through typedefs, modifiers, pointers, arrays and
//! function prototypes; structs, unions and enums reached that way have no members (only the
//! members and enumerators above are kept).
//!
//! Candidates that do not match are left out, so the minimal BTF gives every relocation the
//! same outcome as the full one: the same value, the same poisoned instructions and the same
//! failures. Type ids are renumbered (in the full BTF's order), so only `TYPE_ID_TARGET`
//! values differ; [`MinBtf::full_ids`] maps them back.

use std::collections::HashMap;

use corebpf_btf::{Btf, BtfBuilder, BtfError, CoreReloKind, Kind, Member, TypeId, TypeKind};

use crate::core_relo::{self, Candidate, CoreError, MatchStep, Spec};
use crate::{ObjError, Object, INSN_SIZE};

/// An error building a minimal BTF.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MinBtfError {
    #[error(transparent)]
    Object(#[from] ObjError),
    #[error("section {section}: the object has CO-RE relocations but no .BTF section")]
    NoLocalBtf { section: String },
    #[error("the full BTF is split BTF (types continue a base); give a stand-alone kernel BTF")]
    SplitTarget,
    #[error("full BTF: {0}")]
    Target(#[source] BtfError),
    /// An error in the object at `index` of the slice given to
    /// [`MinBtfBuilder::add_objects`].
    #[error("object #{index}: {source}")]
    InObject {
        index: usize,
        #[source]
        source: Box<MinBtfError>,
    },
    #[error("writing the minimal BTF: {0}")]
    Writer(#[source] BtfError),
}

/// A relocation that cannot be computed against the full BTF (the loader would refuse the
/// object for that kernel). The minimal BTF keeps what it takes to fail the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloFailure {
    pub section: String,
    /// Index of the relocation within its section's CO-RE records.
    pub index: usize,
    /// Instruction index within the section.
    pub insn: usize,
    pub kind: CoreReloKind,
    /// The engine's error, as text.
    pub problem: String,
}

/// What one object's relocations gave against the full BTF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectSummary {
    /// CO-RE relocation records.
    pub relocations: usize,
    /// Relocations that found their target (including "exists" answers of 1).
    pub resolved: usize,
    /// Relocations with no matching target: poisoned instructions, or "exists" answers of 0.
    pub unresolved: usize,
    /// `LOCAL_TYPE_ID` relocations (they need nothing from the target).
    pub local: usize,
    pub failures: Vec<ReloFailure>,
}

/// The result: BTF bytes and where each of its types came from.
#[derive(Debug, Clone)]
pub struct MinBtf {
    /// A little-endian BTF blob (header, types, strings).
    pub bytes: Vec<u8>,
    /// `full_ids[new_id]` is the id of the same type in the full BTF (`full_ids[0] == 0`).
    pub full_ids: Vec<TypeId>,
}

impl MinBtf {
    /// Number of types (void not counted).
    pub fn type_count(&self) -> usize {
        self.full_ids.len().saturating_sub(1)
    }

    /// The minimal BTF's id of full-BTF type `full_id`, if it was kept.
    pub fn new_id(&self, full_id: TypeId) -> Option<TypeId> {
        if full_id == 0 {
            return Some(0);
        }
        // Kept types are in the full BTF's order.
        self.full_ids
            .binary_search(&full_id)
            .ok()
            .map(|i| i as TypeId)
    }
}

/// Collects, object by object, what a full BTF must keep; [`finish`](Self::finish) writes it.
#[derive(Debug)]
pub struct MinBtfBuilder<'t, 'a> {
    full: &'t Btf<'a>,
    /// Kept types, by full type id.
    kept: Vec<bool>,
    /// Kept members of structs/unions, by full type id.
    members: HashMap<TypeId, Vec<bool>>,
    /// Kept enumerators of enums, by full type id.
    enumerators: HashMap<TypeId, Vec<bool>>,
    stack: Vec<TypeId>,
}

impl<'t, 'a> MinBtfBuilder<'t, 'a> {
    /// Starts from `full`, a stand-alone (not split) kernel BTF.
    pub fn new(full: &'t Btf<'a>) -> Result<Self, MinBtfError> {
        if full.base().is_some() {
            return Err(MinBtfError::SplitTarget);
        }
        full.validate().map_err(MinBtfError::Target)?;
        let n = full.len() as usize + 1;
        Ok(MinBtfBuilder {
            full,
            kept: vec![false; n],
            members: HashMap::new(),
            enumerators: HashMap::new(),
            stack: Vec::new(),
        })
    }

    /// Records everything `obj`'s CO-RE relocations need from the full BTF.
    ///
    /// Relocations that fail against the full BTF are reported in the summary, not as errors
    /// (what they inspected is kept, so they fail the same way against the result); an error
    /// is a broken object or a broken full BTF.
    pub fn add_object(&mut self, obj: &Object<'_>) -> Result<ObjectSummary, MinBtfError> {
        match self.add_objects(&[obj]) {
            Ok(mut sums) => Ok(sums.pop().unwrap_or_default()),
            Err(MinBtfError::InObject { source, .. }) => Err(*source),
            Err(e) => Err(e),
        }
    }

    /// [`add_object`](Self::add_object) for several objects, with one pass over the full BTF
    /// for the candidates of all of them. Summaries are in the order of `objs`.
    pub fn add_objects(&mut self, objs: &[&Object<'_>]) -> Result<Vec<ObjectSummary>, MinBtfError> {
        let mut exts = Vec::with_capacity(objs.len());
        // (essential name, kind class) of every local type a relocation names.
        let mut wanted: Wanted<'_> = HashMap::new();
        for (i, obj) in objs.iter().enumerate() {
            let in_object = |e: MinBtfError| MinBtfError::InObject {
                index: i,
                source: Box::new(e),
            };
            let ext = obj.btf_ext().map_err(|e| in_object(e.into()))?;
            if let Some(ext) = &ext {
                for (section, relos) in ext.core_relos() {
                    let local = match (&obj.btf, relos.len()) {
                        (_, 0) => continue,
                        (Some(l), _) => l,
                        (None, _) => {
                            return Err(in_object(MinBtfError::NoLocalBtf {
                                section: section.to_string(),
                            }))
                        }
                    };
                    for r in relos {
                        // A bad local id is reported by the relocation itself.
                        if let Ok(t) = local.type_by_id(r.type_id) {
                            let name = corebpf_btf::essential_name(t.name);
                            if name.is_empty() {
                                continue;
                            }
                            let class = kind_class(t.kind_id());
                            let e = wanted.entry(name).or_default();
                            if !e.iter().any(|(c, _)| *c == class) {
                                e.push((class, Vec::new()));
                            }
                        }
                    }
                }
            }
            exts.push(ext);
        }
        self.scan_candidates(&mut wanted);
        let mut sums = Vec::with_capacity(objs.len());
        for (obj, ext) in objs.iter().zip(&exts) {
            let mut sum = ObjectSummary::default();
            if let (Some(ext), Some(local)) = (ext, &obj.btf) {
                let big = obj.endian == corebpf_btf::Endian::Big;
                for (section, relos) in ext.core_relos() {
                    for (index, r) in relos.enumerate() {
                        self.record(local, section, index, &r, big, &wanted, &mut sum);
                    }
                }
            }
            sums.push(sum);
        }
        Ok(sums)
    }

    /// Fills `wanted` with the ids of the full BTF's types of each essential name and kind
    /// class, in id order (the engine's candidate order), in one pass over the type records.
    fn scan_candidates(&self, wanted: &mut Wanted<'_>) {
        if wanted.is_empty() {
            return;
        }
        let full = self.full;
        // The first two name bytes worth looking at (a one-byte name pairs with its NUL).
        let pair = |b: &[u8]| -> usize {
            usize::from(b.first().copied().unwrap_or(0)) << 8
                | usize::from(b.get(1).copied().unwrap_or(0))
        };
        let mut first = vec![false; 1 << 16];
        for name in wanted.keys() {
            first[pair(name.as_bytes())] = true;
        }
        let big = full.endian() == corebpf_btf::Endian::Big;
        let word = |b: &[u8]| -> u32 {
            let v = [b[0], b[1], b[2], b[3]];
            if big {
                u32::from_be_bytes(v)
            } else {
                u32::from_le_bytes(v)
            }
        };
        let strs = full.string_section();
        for id in 1..full.len() {
            let Some(rec) = full.raw_type_bytes(id) else {
                continue;
            };
            if rec.len() < 8 {
                continue;
            }
            let name_off = word(&rec[0..4]) as usize;
            if name_off == 0 {
                continue;
            }
            let Some(tail) = strs.get(name_off..) else {
                continue;
            };
            if !first[pair(tail)] {
                continue;
            }
            let Ok(name) = full.str_at(name_off as u32) else {
                continue;
            };
            let Some(kind) = Kind::from_u8(((word(&rec[4..8]) >> 24) & 0x1f) as u8) else {
                continue;
            };
            let class = kind_class(kind);
            if let Some(classes) = wanted.get_mut(corebpf_btf::essential_name(name)) {
                if let Some((_, ids)) = classes.iter_mut().find(|(c, _)| *c == class) {
                    ids.push(id);
                }
            }
        }
    }

    /// Runs one relocation against the full BTF and marks what it needs.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        local: &Btf<'_>,
        section: &str,
        index: usize,
        r: &corebpf_btf::CoreRelo<'_>,
        big: bool,
        wanted: &Wanted<'_>,
        sum: &mut ObjectSummary,
    ) {
        sum.relocations += 1;
        if r.kind == CoreReloKind::LocalTypeId {
            sum.local += 1;
            return;
        }
        let mut fail = |problem: String| {
            sum.failures.push(ReloFailure {
                section: section.to_string(),
                index,
                insn: r.insn_off as usize / INSN_SIZE,
                kind: r.kind,
                problem,
            })
        };
        let local_spec = match Spec::parse(local, r.type_id, r.access_str, r.kind) {
            Ok(s) => s,
            Err(e) => return fail(e.to_string()),
        };
        let cands: Vec<Candidate<'t, 'a>> = match local.type_by_id(r.type_id) {
            Ok(t) => wanted
                .get(corebpf_btf::essential_name(t.name))
                .and_then(|classes| {
                    let class = kind_class(t.kind_id());
                    classes.iter().find(|(c, _)| *c == class)
                })
                .map(|(_, ids)| {
                    ids.iter()
                        .map(|&id| Candidate { btf: self.full, id })
                        .collect()
                })
                .unwrap_or_default(),
            Err(e) => return fail(e.to_string()),
        };
        if let Err(e) = self.mark_candidates(&local_spec, &cands) {
            return fail(e.to_string());
        }
        match core_relo::relocate(local, r.type_id, r.access_str, r.kind, &cands, big) {
            Ok(res) if res.poison || res.target.is_none() => sum.unresolved += 1,
            Ok(_) => sum.resolved += 1,
            Err(e) => sum.failures.push(ReloFailure {
                section: section.to_string(),
                index,
                insn: r.insn_off as usize / INSN_SIZE,
                kind: r.kind,
                problem: e.to_string(),
            }),
        }
    }

    /// Marks what every matching candidate needs for `local`'s relocation.
    fn mark_candidates(
        &mut self,
        local: &Spec<'_, '_>,
        cands: &[Candidate<'t, 'a>],
    ) -> Result<(), CoreError> {
        for cand in cands {
            if local.kind == CoreReloKind::TypeMatches {
                let mut steps = Vec::new();
                if core_relo::types_match_traced(
                    local.btf,
                    local.root_type_id,
                    self.full,
                    cand.id,
                    &mut steps,
                )? {
                    self.apply(&steps)?;
                }
                continue;
            }
            let Some(spec) = core_relo::match_spec(local, self.full, cand.id)? else {
                continue;
            };
            if local.kind.is_type() {
                self.mark_type(cand.id)?;
            } else if local.kind.is_enumval() {
                self.mark_type(cand.id)?;
                if let Some(acc) = spec.accessors.first() {
                    self.keep_enumerator(acc.type_id, acc.idx as usize)?;
                }
            } else {
                self.mark_field_path(&spec)?;
            }
        }
        Ok(())
    }

    /// Keeps the type `id` and what it refers to through typedefs, modifiers, pointers, arrays
    /// and function prototypes; structs, unions and enums reached this way are kept without
    /// members (their members are kept one by one, by the relocations that look at them).
    ///
    /// Pointers keep their targets: a pointer turned into `void *` would compare differently
    /// (a local `void *` matches it, a pointer to a struct no longer does) wherever type
    /// compatibility looks through it.
    fn mark_type(&mut self, id: TypeId) -> Result<(), CoreError> {
        self.stack.clear();
        self.stack.push(id);
        while let Some(id) = self.stack.pop() {
            if id == 0 {
                continue;
            }
            let slot =
                self.kept
                    .get_mut(id as usize)
                    .ok_or(CoreError::Btf(BtfError::IdOutOfRange {
                        id,
                        len: self.full.len(),
                    }))?;
            if *slot {
                continue;
            }
            *slot = true;
            let t = self.full.type_by_id(id)?;
            match t.kind {
                TypeKind::Ptr { target } => self.stack.push(target),
                TypeKind::Typedef { target }
                | TypeKind::Const { target }
                | TypeKind::Volatile { target }
                | TypeKind::Restrict { target }
                | TypeKind::TypeTag { target }
                | TypeKind::DeclTag { target, .. } => self.stack.push(target),
                TypeKind::Func { proto, .. } => self.stack.push(proto),
                TypeKind::Var { ty, .. } => self.stack.push(ty),
                TypeKind::Array { elem, index, .. } => {
                    self.stack.push(index);
                    self.stack.push(elem);
                }
                TypeKind::FuncProto { ret, params } => {
                    self.stack.push(ret);
                    self.stack.extend(params.iter().map(|p| p.ty));
                }
                TypeKind::Datasec { vars, .. } => {
                    self.stack.extend(vars.iter().map(|v| v.ty));
                }
                TypeKind::Void
                | TypeKind::Int { .. }
                | TypeKind::Struct { .. }
                | TypeKind::Union { .. }
                | TypeKind::Enum { .. }
                | TypeKind::Enum64 { .. }
                | TypeKind::Fwd { .. }
                | TypeKind::Float { .. } => {}
            }
        }
        Ok(())
    }

    /// Keeps member `idx` of struct/union `id` and its type.
    fn keep_member(&mut self, id: TypeId, idx: usize) -> Result<(), CoreError> {
        let t = self.full.type_by_id(id)?;
        let members = t
            .members()
            .ok_or_else(|| bad_target(id, "is not a struct or union"))?;
        let m = members
            .get(idx)
            .ok_or_else(|| bad_target(id, &format!("has no member {idx}")))?;
        self.mark_type(id)?;
        let kept = self
            .members
            .entry(id)
            .or_insert_with(|| vec![false; members.len()]);
        if let Some(k) = kept.get_mut(idx) {
            if *k {
                return Ok(());
            }
            *k = true;
        }
        self.mark_type(m.ty)?;
        // A zero-length array is a flexible array only as the last member: keep the real
        // last member too, so that this one does not become last.
        let last = members.len() - 1;
        if idx < last {
            let mt = self.full.resolve(m.ty)?;
            if matches!(mt.kind, TypeKind::Array { len: 0, .. }) {
                self.keep_member(id, last)?;
            }
        }
        Ok(())
    }

    fn keep_enumerator(&mut self, id: TypeId, idx: usize) -> Result<(), CoreError> {
        let t = self.full.type_by_id(id)?;
        let n = enum_len(&t.kind).ok_or_else(|| bad_target(id, "is not an enum"))?;
        if idx >= n {
            return Err(bad_target(id, &format!("has no enumerator {idx}")));
        }
        self.mark_type(id)?;
        let kept = self.enumerators.entry(id).or_insert_with(|| vec![false; n]);
        if let Some(k) = kept.get_mut(idx) {
            *k = true;
        }
        Ok(())
    }

    /// Keeps the access path of a matched field relocation.
    fn mark_field_path(&mut self, spec: &Spec<'_, '_>) -> Result<(), CoreError> {
        let mut id = spec.root_type_id;
        self.mark_type(id)?;
        for &idx in spec.raw.iter().skip(1) {
            let cur = self.full.skip_mods_and_typedefs(id)?;
            let t = self.full.type_by_id(cur)?;
            if let Some(members) = t.members() {
                let m = members
                    .get(idx as usize)
                    .ok_or_else(|| bad_target(cur, &format!("has no member {idx}")))?;
                self.keep_member(cur, idx as usize)?;
                id = m.ty;
            } else if let TypeKind::Array { elem, .. } = t.kind {
                // Kept with its element by the member (or root) that holds it.
                id = elem;
            } else {
                return Err(bad_target(cur, "has no members or elements"));
            }
        }
        Ok(())
    }

    /// Keeps what a successful `TYPE_MATCHES` comparison used.
    fn apply(&mut self, steps: &[MatchStep]) -> Result<(), CoreError> {
        for step in steps {
            match *step {
                MatchStep::Type(id) => self.mark_type(id)?,
                MatchStep::Member(id, i) => self.keep_member(id, i)?,
                MatchStep::Enum(id) => {
                    let t = self.full.type_by_id(id)?;
                    for i in 0..enum_len(&t.kind).unwrap_or(0) {
                        self.keep_enumerator(id, i)?;
                    }
                }
                MatchStep::MemberCount(..) => {}
            }
        }
        // Member counts are compared: pad with the first members not kept yet.
        for step in steps {
            if let MatchStep::MemberCount(id, want) = *step {
                let mut i = 0;
                while self.kept_members(id) < want {
                    self.keep_member(id, i)?;
                    i += 1;
                }
            }
        }
        Ok(())
    }

    fn kept_members(&self, id: TypeId) -> usize {
        self.members
            .get(&id)
            .map_or(0, |k| k.iter().filter(|&&b| b).count())
    }

    /// Number of types kept so far.
    pub fn kept_types(&self) -> usize {
        self.kept.iter().filter(|&&k| k).count()
    }

    /// Writes the kept types, in the full BTF's order, with new ids.
    pub fn finish(&self) -> Result<MinBtf, MinBtfError> {
        let mut full_ids = vec![0];
        let mut new_id = vec![0 as TypeId; self.kept.len()];
        for (id, k) in self.kept.iter().enumerate() {
            if *k {
                new_id[id] = full_ids.len() as TypeId;
                full_ids.push(id as TypeId);
            }
        }
        let map = |id: TypeId| new_id.get(id as usize).copied().unwrap_or(0);
        let mut b = BtfBuilder::new();
        let mut members = Vec::new();
        let mut values = Vec::new();
        let mut params = Vec::new();
        for &id in full_ids.iter().skip(1) {
            let t = self.full.type_by_id(id).map_err(MinBtfError::Target)?;
            let w = MinBtfError::Writer;
            match t.kind {
                TypeKind::Void => {}
                TypeKind::Struct { size, members: ms } | TypeKind::Union { size, members: ms } => {
                    let kept = self.members.get(&id);
                    members.clear();
                    members.extend(
                        ms.iter()
                            .enumerate()
                            .filter(|(i, _)| kept.is_some_and(|k| k.get(*i) == Some(&true)))
                            .map(|(_, m)| Member { ty: map(m.ty), ..m }),
                    );
                    let union = matches!(t.kind, TypeKind::Union { .. });
                    b.add_struct(union, t.name, size, &members).map_err(w)?;
                }
                TypeKind::Enum {
                    size,
                    signed,
                    values: vs,
                } => {
                    values.clear();
                    let kept = self.enumerators.get(&id);
                    values.extend(
                        vs.iter()
                            .enumerate()
                            .filter(|(i, _)| kept.is_some_and(|k| k.get(*i) == Some(&true)))
                            .map(|(_, v)| (v.name, v.value)),
                    );
                    b.add_enum(t.name, size, signed, &values).map_err(w)?;
                }
                TypeKind::Enum64 {
                    size,
                    signed,
                    values: vs,
                } => {
                    values.clear();
                    let kept = self.enumerators.get(&id);
                    values.extend(
                        vs.iter()
                            .enumerate()
                            .filter(|(i, _)| kept.is_some_and(|k| k.get(*i) == Some(&true)))
                            .map(|(_, v)| (v.name, v.value)),
                    );
                    b.add_enum64(t.name, size, signed, &values).map_err(w)?;
                }
                TypeKind::Ptr { target } => {
                    b.add_ref(Kind::Ptr, t.name, map(target)).map_err(w)?;
                }
                TypeKind::Typedef { target }
                | TypeKind::Const { target }
                | TypeKind::Volatile { target }
                | TypeKind::Restrict { target }
                | TypeKind::TypeTag { target } => {
                    b.add_ref(t.kind_id(), t.name, map(target)).map_err(w)?;
                }
                TypeKind::Array { elem, index, len } => {
                    b.add_array(map(elem), map(index), len).map_err(w)?;
                }
                TypeKind::FuncProto { ret, params: ps } => {
                    params.clear();
                    params.extend(ps.iter().map(|p| (p.name, map(p.ty))));
                    b.add_func_proto(map(ret), &params).map_err(w)?;
                }
                TypeKind::Func { proto, linkage } => {
                    b.add_func(t.name, map(proto), linkage).map_err(w)?;
                }
                TypeKind::Var { ty, linkage } => {
                    b.add_var(t.name, map(ty), linkage).map_err(w)?;
                }
                TypeKind::Datasec { size, vars } => {
                    let v: Vec<_> = vars.iter().map(|v| (map(v.ty), v.offset, v.size)).collect();
                    b.add_datasec(t.name, size, &v).map_err(w)?;
                }
                TypeKind::DeclTag {
                    target,
                    component_idx,
                } => {
                    b.add_decl_tag(t.name, map(target), component_idx, t.kind_flag())
                        .map_err(w)?;
                }
                TypeKind::Int { .. } | TypeKind::Fwd { .. } | TypeKind::Float { .. } => {
                    b.add_type(&t).map_err(w)?;
                }
            }
        }
        let bytes = b.finish().map_err(MinBtfError::Writer)?;
        Ok(MinBtf { bytes, full_ids })
    }
}

/// Builds the minimal BTF of `full` for `objects` in one call.
pub fn min_core_btf(full: &Btf<'_>, objects: &[&Object<'_>]) -> Result<MinBtf, MinBtfError> {
    let mut b = MinBtfBuilder::new(full)?;
    b.add_objects(objects)?;
    b.finish()
}

/// Candidate ids in the full BTF by essential name and kind class.
type Wanted<'n> = HashMap<&'n str, Vec<(u8, Vec<TypeId>)>>;

/// Kinds that can be candidates for each other (enums of either width) share a class.
fn kind_class(k: Kind) -> u8 {
    match k {
        Kind::Enum64 => Kind::Enum as u8,
        k => k as u8,
    }
}

fn enum_len(k: &TypeKind<'_>) -> Option<usize> {
    match k {
        TypeKind::Enum { values, .. } => Some(values.len()),
        TypeKind::Enum64 { values, .. } => Some(values.len()),
        _ => None,
    }
}

fn bad_target(id: TypeId, problem: &str) -> CoreError {
    CoreError::BadSpec {
        type_id: id,
        access: String::new(),
        problem: format!("target type [{id}] {problem}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corebpf_testdata::Cpu;

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora/btf/");

    fn corpus(name: &str) -> Vec<u8> {
        let path = format!("{CORPUS}{name}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Another kernel's whole BTF, from the shared corpus.
    fn foreign() -> Vec<u8> {
        use std::io::Read as _;
        let gz = corpus("vmlinux.btf.gz");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    }

    #[test]
    fn keeps_only_the_path_members_at_their_offsets() {
        let full_bytes = std::fs::read("/sys/kernel/btf/vmlinux").expect("this kernel's BTF");
        let full = Btf::parse(&full_bytes).expect("vmlinux");
        let bytes = corebpf_testdata::bytes("execsnoop", Cpu::V3);
        let obj = Object::parse(&bytes).expect("execsnoop");
        let mut b = MinBtfBuilder::new(&full).expect("builder");
        let sum = b.add_object(&obj).expect("relocations");
        assert!(sum.relocations > 0 && sum.failures.is_empty(), "{sum:?}");
        assert_eq!(sum.resolved + sum.unresolved + sum.local, sum.relocations);
        let min = b.finish().expect("finish");
        assert_eq!(min.type_count(), b.kept_types());
        let btf = Btf::parse(&min.bytes).expect("the output parses");
        let task = btf
            .find_by_name_kind("task_struct", Kind::Struct)
            .expect("task_struct kept");
        let full_task = full
            .find_by_name_kind("task_struct", Kind::Struct)
            .expect("task_struct");
        assert_eq!(min.full_ids[task as usize], full_task);
        assert_eq!(min.new_id(full_task), Some(task));
        let t = btf.type_by_id(task).expect("task");
        let ft = full.type_by_id(full_task).expect("full task");
        let (TypeKind::Struct { size, members }, TypeKind::Struct { size: fsize, .. }) =
            (t.kind, ft.kind)
        else {
            panic!("structs");
        };
        assert_eq!(size, fsize);
        let full_members = ft.members().expect("members");
        let names: Vec<&str> = members.iter().map(|m| m.name).collect();
        assert!(
            names.contains(&"tgid") && names.contains(&"real_parent"),
            "{names:?}"
        );
        assert!(members.len() < 10, "only the accessed members: {names:?}");
        for m in members.iter() {
            let f = full_members
                .iter()
                .find(|f| f.name == m.name)
                .expect("member of the full struct");
            assert_eq!(
                (m.bit_offset, m.bitfield_size),
                (f.bit_offset, f.bitfield_size)
            );
            assert_eq!(
                min.full_ids[m.ty as usize], f.ty,
                "member {} keeps its type",
                m.name
            );
        }
    }

    #[test]
    fn split_btf_is_refused_and_an_object_without_relocations_needs_nothing() {
        let base_bytes = corpus("btf_testmod.btf.base");
        let base = Btf::parse(&base_bytes).expect("base");
        let split_bytes = corpus("btf_testmod.btf");
        let split = Btf::parse_split(&split_bytes, &base).expect("split");
        assert!(matches!(
            MinBtfBuilder::new(&split),
            Err(MinBtfError::SplitTarget)
        ));
        let bytes = corebpf_testdata::bytes("globals", Cpu::V3);
        let obj = Object::parse(&bytes).expect("globals");
        let min = min_core_btf(&base, &[&obj]).expect("min");
        assert_eq!(min.type_count(), 0);
        let btf = Btf::parse(&min.bytes).expect("an empty BTF parses");
        assert_eq!(btf.len(), 1);
    }

    #[test]
    fn several_objects_keep_the_union_of_what_each_needs() {
        let full_bytes = foreign();
        let full = Btf::parse(&full_bytes).expect("foreign kernel BTF");
        let names = ["execsnoop", "core_fields", "runqlat", "tc_cgroup"];
        let files: Vec<Vec<u8>> = names
            .iter()
            .map(|n| corebpf_testdata::bytes(n, Cpu::V3))
            .collect();
        let objs: Vec<Object<'_>> = files
            .iter()
            .map(|b| Object::parse(b).expect("object"))
            .collect();
        let refs: Vec<&Object<'_>> = objs.iter().collect();
        let all = min_core_btf(&full, &refs).expect("all");
        assert!(all.type_count() > 20, "{} types", all.type_count());
        let kept: std::collections::BTreeSet<TypeId> = all.full_ids.iter().copied().collect();
        for obj in &refs {
            let one = min_core_btf(&full, &[obj]).expect("one");
            assert!(
                one.full_ids.iter().all(|id| kept.contains(id)),
                "every type one object needs is in the combined BTF"
            );
        }
        // Ids stay in the full BTF's order.
        assert!(all.full_ids.windows(2).all(|w| w[0] < w[1]));
    }

    /// Corrupted objects and corrupted full BTFs give errors or results, never panics or hangs.
    #[test]
    fn corrupted_inputs_never_panic() {
        let full_bytes = foreign();
        let full = Btf::parse(&full_bytes).expect("foreign kernel BTF");
        let obj_bytes = corebpf_testdata::bytes("core_fields", Cpu::V3);
        let obj = Object::parse(&obj_bytes).expect("core_fields");
        let small = min_core_btf(&full, &[&obj]).expect("min");
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut outcomes = [0usize; 2];
        for round in 0..600 {
            // Flip a few bytes of the object's BTF/BTF.ext area or anywhere in the BTF.
            let mut o = obj_bytes.clone();
            let mut b = small.bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % o.len();
                o[i] ^= (next() as u8) | 1;
                let j = (next() as usize) % b.len();
                b[j] ^= (next() as u8) | 1;
            }
            let target = if round % 2 == 0 { &b } else { &small.bytes };
            let Ok(btf) = Btf::parse(target) else {
                continue;
            };
            let Ok(mut builder) = MinBtfBuilder::new(&btf) else {
                continue;
            };
            let object = if round % 3 == 0 { &obj_bytes } else { &o };
            let Ok(parsed) = Object::parse(object) else {
                continue;
            };
            let ok = builder.add_object(&parsed).is_ok() && builder.finish().is_ok();
            outcomes[usize::from(ok)] += 1;
        }
        assert!(
            outcomes[1] > 0,
            "some corrupted inputs still give a BTF: {outcomes:?}"
        );
    }
}
