//! Map definitions: BTF-defined maps in `.maps` and legacy `struct bpf_map_def` records in
//! `maps`.

use corebpf_btf::{Btf, TypeId, TypeKind};

use crate::ObjError;

kernel_enum! {
    /// `enum bpf_map_type`.
    MapType {
        Unspec = 0 => "unspec",
        Hash = 1 => "hash",
        Array = 2 => "array",
        ProgArray = 3 => "prog_array",
        PerfEventArray = 4 => "perf_event_array",
        PercpuHash = 5 => "percpu_hash",
        PercpuArray = 6 => "percpu_array",
        StackTrace = 7 => "stack_trace",
        CgroupArray = 8 => "cgroup_array",
        LruHash = 9 => "lru_hash",
        LruPercpuHash = 10 => "lru_percpu_hash",
        LpmTrie = 11 => "lpm_trie",
        ArrayOfMaps = 12 => "array_of_maps",
        HashOfMaps = 13 => "hash_of_maps",
        Devmap = 14 => "devmap",
        Sockmap = 15 => "sockmap",
        Cpumap = 16 => "cpumap",
        Xskmap = 17 => "xskmap",
        Sockhash = 18 => "sockhash",
        CgroupStorage = 19 => "cgroup_storage",
        ReuseportSockarray = 20 => "reuseport_sockarray",
        PercpuCgroupStorage = 21 => "percpu_cgroup_storage",
        Queue = 22 => "queue",
        Stack = 23 => "stack",
        SkStorage = 24 => "sk_storage",
        DevmapHash = 25 => "devmap_hash",
        StructOps = 26 => "struct_ops",
        Ringbuf = 27 => "ringbuf",
        InodeStorage = 28 => "inode_storage",
        TaskStorage = 29 => "task_storage",
        BloomFilter = 30 => "bloom_filter",
        UserRingbuf = 31 => "user_ringbuf",
        CgrpStorage = 32 => "cgrp_storage",
        Arena = 33 => "arena",
    }
}

impl MapType {
    /// Maps whose values are other maps.
    pub fn is_map_in_map(self) -> bool {
        matches!(self, MapType::ArrayOfMaps | MapType::HashOfMaps)
    }
}

kernel_enum! {
    /// `enum libbpf_pin_type`: how a map is pinned in bpffs.
    PinningType {
        None = 0 => "none",
        ByName = 1 => "by_name",
    }
}

/// One initial slot of a map-in-map or program array (`.values = { [2] = &inner }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSlot<'a> {
    pub index: u32,
    /// The map or program the slot refers to.
    pub target: &'a str,
}

/// A map definition as the object declares it (before any loader defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef<'a> {
    pub name: &'a str,
    /// ELF section index of `.maps` or `maps` (0 for an inner map template).
    pub section: usize,
    /// Byte offset of the definition in its section.
    pub offset: u64,
    /// Byte size of the definition in its section.
    pub size: u64,
    /// Declared in a legacy `maps` section rather than through BTF.
    pub legacy: bool,
    /// The raw `type` value; see [`MapDef::map_type`].
    pub map_type_raw: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub numa_node: Option<u32>,
    pub pinning: u32,
    pub map_extra: u64,
    /// BTF types of key and value when declared with `__type(key, ...)`.
    pub key_type: Option<TypeId>,
    pub value_type: Option<TypeId>,
    /// The BTF VAR of the definition.
    pub btf_var: Option<TypeId>,
    /// The inner map template of a map-in-map (`__array(values, struct inner)`).
    pub inner: Option<Box<MapDef<'a>>>,
    /// Initial slots of a map-in-map or program array.
    pub initial_slots: Vec<MapSlot<'a>>,
    /// Byte offset of the `values` member inside the definition, if it has one.
    pub(crate) values_offset: Option<u64>,
}

impl<'a> MapDef<'a> {
    fn empty(name: &'a str, section: usize, offset: u64, size: u64, legacy: bool) -> MapDef<'a> {
        MapDef {
            name,
            section,
            offset,
            size,
            legacy,
            map_type_raw: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            map_flags: 0,
            numa_node: None,
            pinning: 0,
            map_extra: 0,
            key_type: None,
            value_type: None,
            btf_var: None,
            inner: None,
            initial_slots: Vec::new(),
            values_offset: None,
        }
    }

    /// The map type, if this crate knows the number.
    pub fn map_type(&self) -> Option<MapType> {
        MapType::from_raw(self.map_type_raw)
    }

    /// The pinning mode, if known.
    pub fn pinning_type(&self) -> Option<PinningType> {
        PinningType::from_raw(self.pinning)
    }
}

/// Where a map definition lies: ELF section index, byte offset and size.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MapPlace {
    pub section: usize,
    pub offset: u64,
    pub size: u64,
}

/// Context for error messages while parsing one BTF map definition.
struct Ctx<'s> {
    section: &'s str,
    name: &'s str,
}

impl Ctx<'_> {
    fn err(&self, problem: impl Into<String>) -> ObjError {
        ObjError::Map {
            section: self.section.to_string(),
            name: self.name.to_string(),
            problem: problem.into(),
        }
    }
    fn btf(&self, e: corebpf_btf::BtfError) -> ObjError {
        self.err(format!("BTF: {e}"))
    }
}

/// Parses the definition struct `def_type` (a STRUCT after modifiers) of the map `name`.
pub(crate) fn parse_btf_map<'a>(
    btf: &Btf<'a>,
    section_name: &str,
    name: &'a str,
    def_type: TypeId,
    place: MapPlace,
    inner_allowed: bool,
) -> Result<MapDef<'a>, ObjError> {
    let MapPlace {
        section,
        offset,
        size,
    } = place;
    let cx = Ctx {
        section: section_name,
        name,
    };
    let id = btf
        .skip_mods_and_typedefs(def_type)
        .map_err(|e| cx.btf(e))?;
    let ty = btf.type_by_id(id).map_err(|e| cx.btf(e))?;
    let TypeKind::Struct { members, .. } = ty.kind else {
        return Err(cx.err(format!(
            "definition type [{id}] is {}, not a struct",
            ty.kind_id()
        )));
    };
    let mut def = MapDef::empty(name, section, offset, size, false);
    for m in members.iter() {
        match m.name {
            "type" => def.map_type_raw = int_field(btf, &cx, m.name, m.ty)? as u32,
            "max_entries" => def.max_entries = int_field(btf, &cx, m.name, m.ty)? as u32,
            "map_flags" => def.map_flags = int_field(btf, &cx, m.name, m.ty)? as u32,
            "numa_node" => def.numa_node = Some(int_field(btf, &cx, m.name, m.ty)? as u32),
            "pinning" => {
                let v = int_field(btf, &cx, m.name, m.ty)? as u32;
                if PinningType::from_raw(v).is_none() {
                    return Err(cx.err(format!("unknown pinning value {v}")));
                }
                def.pinning = v;
            }
            "map_extra" => def.map_extra = int_field(btf, &cx, m.name, m.ty)?,
            "key_size" | "value_size" => {
                let v = int_field(btf, &cx, m.name, m.ty)? as u32;
                let slot = if m.name == "key_size" {
                    &mut def.key_size
                } else {
                    &mut def.value_size
                };
                if *slot != 0 && *slot != v {
                    return Err(cx.err(format!(
                        "{} {v} conflicts with the size of its type ({})",
                        m.name, *slot
                    )));
                }
                *slot = v;
            }
            "key" | "value" => {
                let pointee = pointee(btf, &cx, m.name, m.ty)?;
                let sz = btf.size_of(pointee).map_err(|e| cx.btf(e))?;
                let sz = u32::try_from(sz)
                    .map_err(|_| cx.err(format!("{} type is {sz} bytes", m.name)))?;
                let (slot, ty_slot) = if m.name == "key" {
                    (&mut def.key_size, &mut def.key_type)
                } else {
                    (&mut def.value_size, &mut def.value_type)
                };
                if *slot != 0 && *slot != sz {
                    return Err(cx.err(format!(
                        "{}_size {} conflicts with its type's size {sz}",
                        m.name, *slot
                    )));
                }
                *slot = sz;
                *ty_slot = Some(pointee);
            }
            "values" => {
                def.values_offset = Some(u64::from(m.bit_offset / 8));
                let arr = btf.type_by_id(m.ty).map_err(|e| cx.btf(e))?;
                let TypeKind::Array { elem, .. } = arr.kind else {
                    return Err(cx.err(format!(
                        "`values` is {}, expected an array of pointers",
                        arr.kind_id()
                    )));
                };
                let ptr = btf.skip_mods_and_typedefs(elem).map_err(|e| cx.btf(e))?;
                let target = match btf.type_by_id(ptr).map_err(|e| cx.btf(e))?.kind {
                    TypeKind::Ptr { target } => {
                        btf.skip_mods_and_typedefs(target).map_err(|e| cx.btf(e))?
                    }
                    _ => return Err(cx.err("`values` elements are not pointers")),
                };
                let target_ty = btf.type_by_id(target).map_err(|e| cx.btf(e))?;
                match target_ty.kind {
                    TypeKind::Struct { .. } => {
                        if !inner_allowed {
                            return Err(cx.err("an inner map definition has its own `values`"));
                        }
                        let inner_name = if target_ty.name.is_empty() { name } else { target_ty.name };
                        let inner = parse_btf_map(btf, section_name, inner_name, target, MapPlace::default(), false)?;
                        if def.value_size == 0 {
                            def.value_size = 4;
                        }
                        def.inner = Some(Box::new(inner));
                    }
                    TypeKind::FuncProto { .. } => {
                        if def.value_size == 0 {
                            def.value_size = 4;
                        }
                    }
                    _ => {
                        return Err(cx.err(format!(
                            "`values` points at {}, expected a map definition struct or a function prototype",
                            target_ty.kind_id()
                        )))
                    }
                }
            }
            other => return Err(cx.err(format!("unknown field `{other}`"))),
        }
    }
    Ok(def)
}

/// `__uint(name, N)` is `int (*name)[N]`: the value is the array length. `__ulong(name, N)` is
/// an anonymous enum whose single value is N.
fn int_field(btf: &Btf<'_>, cx: &Ctx<'_>, field: &str, ty: TypeId) -> Result<u64, ObjError> {
    let t = btf.type_by_id(ty).map_err(|e| cx.btf(e))?;
    match t.kind {
        TypeKind::Ptr { target } => {
            let arr = btf.type_by_id(target).map_err(|e| cx.btf(e))?;
            match arr.kind {
                TypeKind::Array { len, .. } => Ok(u64::from(len)),
                _ => Err(cx.err(format!(
                    "`{field}` points at {}, expected an array",
                    arr.kind_id()
                ))),
            }
        }
        TypeKind::Enum { values, .. } => values
            .get(0)
            .map(|v| v.value as u64)
            .ok_or_else(|| cx.err(format!("`{field}` enum has no value"))),
        TypeKind::Enum64 { values, .. } => values
            .get(0)
            .map(|v| v.value as u64)
            .ok_or_else(|| cx.err(format!("`{field}` enum has no value"))),
        _ => Err(cx.err(format!(
            "`{field}` is {}, expected a pointer to an array",
            t.kind_id()
        ))),
    }
}

fn pointee(btf: &Btf<'_>, cx: &Ctx<'_>, field: &str, ty: TypeId) -> Result<TypeId, ObjError> {
    let t = btf.type_by_id(ty).map_err(|e| cx.btf(e))?;
    match t.kind {
        TypeKind::Ptr { target } => Ok(target),
        _ => Err(cx.err(format!("`{field}` is {}, expected a pointer", t.kind_id()))),
    }
}

/// Parses one legacy `struct bpf_map_def` record (type, key_size, value_size, max_entries,
/// map_flags, then optionally inner_map_idx and numa_node).
pub(crate) fn parse_legacy_map<'a>(
    section_name: &str,
    name: &'a str,
    section: usize,
    offset: u64,
    rec: &[u8],
    endian: corebpf_btf::Endian,
) -> Result<MapDef<'a>, ObjError> {
    let word = |i: usize| -> Option<u32> {
        let b: [u8; 4] = rec.get(i * 4..i * 4 + 4)?.try_into().ok()?;
        Some(match endian {
            corebpf_btf::Endian::Little => u32::from_le_bytes(b),
            corebpf_btf::Endian::Big => u32::from_be_bytes(b),
        })
    };
    let cx = Ctx {
        section: section_name,
        name,
    };
    let mut def = MapDef::empty(name, section, offset, rec.len() as u64, true);
    let need = |i: usize| {
        word(i).ok_or_else(|| {
            cx.err(format!(
                "record of {} bytes is too short (need at least 16)",
                rec.len()
            ))
        })
    };
    def.map_type_raw = need(0)?;
    def.key_size = need(1)?;
    def.value_size = need(2)?;
    def.max_entries = need(3)?;
    def.map_flags = word(4).unwrap_or(0);
    // Fields 5 (inner_map_idx) and 6 (numa_node) exist only in the larger record layouts.
    if let (Some(numa), Some(_)) = (word(6), word(5)) {
        if def.map_flags & 0x4 != 0 {
            // BPF_F_NUMA_NODE
            def.numa_node = Some(numa);
        }
    }
    Ok(def)
}
