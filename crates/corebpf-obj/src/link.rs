//! Linking: from the object model to load-ready programs and map specifications.
//!
//! [`Object::link`] resolves, for a target kernel described by [`Target`], every relocation an
//! object carries, without touching the kernel:
//!
//! - CO-RE relocations ([`crate::core_relo`]) are applied once per executable section;
//! - each program gets its own instruction stream: its entry function followed by every
//!   subprogram it reaches (depth first, in the order calls are met, as other BPF loaders do),
//!   with BPF-to-BPF call and callback offsets fixed, and `func_info`/`line_info` re-based to
//!   instruction offsets of that stream;
//! - map and global-data references become [`MapRef`]s into [`Linked::maps`] (the loader writes
//!   the map fds): user maps first, in object order, then one internal array map per global-data
//!   section, then the `.kconfig` map;
//! - `.kconfig` externs are laid out and filled from [`KernelConfig`], `.ksyms` externs are
//!   resolved against the target BTF (typed variables and kfuncs, as [`BtfRef`]s) or the
//!   caller's symbol table (untyped variables); a weak kfunc the kernel lacks becomes a kfunc
//!   call with BTF id 0 (which the verifier accepts only in dead code) and a null address;
//! - map definitions whose key or value sizes the kernel refuses for their type are named.
//!
//! The result is what libbpf hands to the kernel for the same object and target, instruction
//! by instruction (map fds aside): `tests/libbpf_link.rs` checks it against libbpf for every
//! test object. Instructions stay in the object's byte order.

use std::collections::HashMap;

use corebpf_btf::{Btf, BtfExt, CoreReloKind, Endian, Kind, TypeId, TypeKind, VarLinkage};

use crate::core_relo::{self, Candidate, CoreError};
use crate::{
    DataKind, ExternKind, MapDef, ObjError, Object, ProgramKind, ProgramSection, RelocKind,
    INSN_SIZE,
};

const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_F_RDONLY_PROG: u32 = 1 << 7;
const BPF_F_MMAPABLE: u32 = 1 << 10;
const OPC_CALL: u8 = 0x85;
const OPC_LD_IMM64: u8 = 0x18;
const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;
const PSEUDO_BTF_ID: u8 = 3;
const PSEUDO_FUNC: u8 = 4;
const PSEUDO_CALL: u8 = 1;
const PSEUDO_KFUNC_CALL: u8 = 2;

/// An error linking a program or laying out maps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    #[error(transparent)]
    Object(#[from] ObjError),
    #[error("section {section}: CO-RE relocation #{index} at insn {insn} ({kind}, access {access:?} on type [{type_id}]): {source}")]
    Core {
        section: String,
        index: usize,
        insn: usize,
        kind: &'static str,
        access: String,
        type_id: TypeId,
        #[source]
        source: Box<CoreError>,
    },
    #[error("section {section}: CO-RE relocations need the object's BTF and a target kernel BTF; {problem}")]
    NoBtf { section: String, problem: String },
    #[error("program {program} ({section}) insn {insn}: {problem}")]
    Insn {
        program: String,
        section: String,
        insn: usize,
        problem: String,
    },
    #[error("extern {name} ({kind}): {problem}")]
    Extern {
        name: String,
        kind: &'static str,
        problem: String,
    },
    #[error("map {name}: {problem}")]
    Map { name: String, problem: String },
}

/// Kconfig values of the target kernel: `CONFIG_*` lines of its `.config` plus the kernel
/// facts the `LINUX_*` externs ask for.
#[derive(Debug, Clone, Default)]
pub struct KernelConfig {
    values: HashMap<String, String>,
    /// `LINUX_KERNEL_VERSION` (`KERNEL_VERSION(a, b, c)` encoding).
    pub kernel_version: u32,
    /// `LINUX_HAS_BPF_COOKIE`.
    pub has_bpf_cookie: bool,
    /// `LINUX_HAS_SYSCALL_WRAPPER`.
    pub has_syscall_wrapper: bool,
}

impl KernelConfig {
    /// Parses `.config` text (`CONFIG_X=y`, `CONFIG_N=123`, `CONFIG_S="text"`; comments and
    /// `# CONFIG_X is not set` lines are skipped).
    pub fn parse(text: &str) -> KernelConfig {
        let mut values = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                if k.starts_with("CONFIG_") {
                    values.insert(k.to_string(), v.to_string());
                }
            }
        }
        KernelConfig {
            values,
            ..Default::default()
        }
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Sets or replaces a value (`"y"`, `"42"`, `"\"text\""`).
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
    }
}

/// Looks up a kernel symbol's address by name.
pub type KsymLookup = dyn Fn(&str) -> Option<u64>;

/// What an object is linked against.
pub struct Target<'t, 'a> {
    /// The kernel's BTF first, then module BTFs (split on it). Empty: no CO-RE, no typed ksyms.
    pub btfs: Vec<&'t Btf<'a>>,
    pub config: KernelConfig,
    /// Address of a kernel symbol, for untyped `__ksym` variables (from `/proc/kallsyms`).
    pub ksym_addr: Option<&'t KsymLookup>,
}

impl std::fmt::Debug for Target<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("btfs", &self.btfs.len())
            .field("config", &self.config)
            .finish()
    }
}

/// Where a linked map comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapOrigin {
    /// `Object::maps[i]`.
    Defined(usize),
    /// `Object::data[i]`: a global-data section.
    Data(usize),
    /// The `.kconfig` extern values.
    Kconfig,
}

/// What fills an initial slot of a map-in-map or program array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotTarget {
    /// Index into [`Linked::maps`].
    Map(usize),
    /// A program by name.
    Program(String),
}

/// A map to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedMap {
    /// The kernel name (at most 15 bytes).
    pub name: String,
    /// The name in the object (`results`, `.rodata`, `.kconfig`).
    pub object_name: String,
    pub origin: MapOrigin,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub numa_node: Option<u32>,
    pub map_extra: u64,
    pub pinning: u32,
    /// BTF type ids (in the object's BTF) of key and value; 0 when absent.
    pub btf_key_type_id: TypeId,
    pub btf_value_type_id: TypeId,
    pub inner: Option<Box<LinkedMap>>,
    /// Initial value of key 0 (global data and `.kconfig`).
    pub initial: Option<Vec<u8>>,
    /// Make the map read-only for user space once filled (`.rodata`, `.kconfig`).
    pub freeze: bool,
    pub slots: Vec<(u32, SlotTarget)>,
}

/// A map reference at an LD imm64 instruction: the loader writes the map's fd into the first
/// slot's immediate (`src_reg` is already `BPF_PSEUDO_MAP_FD` or `BPF_PSEUDO_MAP_VALUE`, and for
/// the latter the second slot's immediate holds `value_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapRef {
    pub insn: usize,
    /// Index into [`Linked::maps`].
    pub map: usize,
    pub value_offset: Option<u32>,
}

/// A reference to a kernel BTF object: typed ksym (LD imm64 `BPF_PSEUDO_BTF_ID`, second
/// immediate = the BTF object's fd) or kfunc call (`off` = index into the program's fd array).
/// For the kernel's own BTF (`btf == 0`) the fd/index stays 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfRef {
    pub insn: usize,
    /// Index into [`Target::btfs`].
    pub btf: usize,
    pub type_id: TypeId,
    pub call: bool,
}

/// A `bpf_line_info` record with an instruction offset of the linked program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRec {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    pub line_col: u32,
}

/// One applied CO-RE relocation, for reports and error explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloReport {
    /// Instruction index in the linked program.
    pub insn: usize,
    pub kind: CoreReloKind,
    /// The local access, e.g. `[24] struct task_struct.tgid (0:93 @ offset 1268)`.
    pub local: String,
    /// The matched target access, if any.
    pub target: Option<String>,
    pub poisoned: bool,
    pub orig_val: u64,
    pub new_val: u64,
}

/// A program ready to load once map fds are filled in.
#[derive(Debug, Clone)]
pub struct LinkedProgram<'a> {
    pub name: &'a str,
    pub section: &'a str,
    pub kind: Option<ProgramKind<'a>>,
    /// Instruction bytes in the object's byte order.
    pub insns: Vec<u8>,
    pub map_refs: Vec<MapRef>,
    pub btf_refs: Vec<BtfRef>,
    /// `(insn_off, FUNC type id)` in the object's BTF.
    pub func_info: Vec<(u32, TypeId)>,
    pub line_info: Vec<LineRec>,
    pub core: Vec<ReloReport>,
    /// The functions the stream holds, `(start insn, name)`, entry first.
    pub functions: Vec<(usize, &'a str)>,
    pub license: &'a str,
    pub kern_version: u32,
}

impl LinkedProgram<'_> {
    /// Number of instructions (8-byte slots).
    pub fn insn_count(&self) -> usize {
        self.insns.len() / INSN_SIZE
    }
}

/// The result of linking.
#[derive(Debug, Clone)]
pub struct Linked<'a> {
    pub maps: Vec<LinkedMap>,
    pub programs: Vec<LinkedProgram<'a>>,
    /// `.kconfig` externs: (name, byte offset in the `.kconfig` map value).
    pub kconfig_layout: Vec<(String, u32)>,
}

/// Field access to 8-byte instruction slots in a given byte order.
#[derive(Clone, Copy)]
struct Order(Endian);

impl Order {
    fn regs(self, b: &[u8]) -> (u8, u8) {
        match self.0 {
            Endian::Little => (b[1] & 0xf, b[1] >> 4),
            Endian::Big => (b[1] >> 4, b[1] & 0xf),
        }
    }
    fn set_src(self, b: &mut [u8], src: u8) {
        b[1] = match self.0 {
            Endian::Little => (b[1] & 0x0f) | (src << 4),
            Endian::Big => (b[1] & 0xf0) | (src & 0xf),
        };
    }
    fn imm(self, b: &[u8]) -> i32 {
        let v = [b[4], b[5], b[6], b[7]];
        match self.0 {
            Endian::Little => i32::from_le_bytes(v),
            Endian::Big => i32::from_be_bytes(v),
        }
    }
    fn set_imm(self, b: &mut [u8], v: i32) {
        let bytes = match self.0 {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        b[4..8].copy_from_slice(&bytes);
    }
    fn set_off(self, b: &mut [u8], v: i16) {
        let bytes = match self.0 {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        b[2..4].copy_from_slice(&bytes);
    }
}

fn slot(insns: &mut [u8], i: usize) -> Option<&mut [u8]> {
    insns.get_mut(i * INSN_SIZE..(i + 1) * INSN_SIZE)
}

/// The libbpf-compatible kernel name of an internal map: a prefix of the object name plus the
/// section name, 15 bytes at most, characters outside `[A-Za-z0-9_.]` replaced by `_`.
pub fn internal_map_name(object_name: &str, section: &str) -> String {
    const NAME_LEN: usize = 16;
    let sfx_len = section.len().max(7);
    let pfx_len = if section.get(1..).is_some_and(|r| r.contains('.')) {
        0
    } else if sfx_len < NAME_LEN {
        (NAME_LEN - sfx_len - 1).min(object_name.len())
    } else {
        object_name.len()
    };
    object_name
        .chars()
        .take(pfx_len)
        .chain(section.chars())
        .take(NAME_LEN - 1)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Rejects key and value sizes the kernel refuses for the map's type, naming the map, before
/// any map is created. Sizes left at 0 are not judged here: the loader fills the defaults
/// some types have.
fn check_map_sizes(m: &MapDef<'_>) -> Result<(), LinkError> {
    // Map types (uapi numbering).
    const PROG_ARRAY: u32 = 3;
    const PERF_EVENT_ARRAY: u32 = 4;
    const PERCPU_ARRAY: u32 = 6;
    const STACK_TRACE: u32 = 7;
    const CGROUP_ARRAY: u32 = 8;
    const ARRAY_OF_MAPS: u32 = 12;
    const HASH_OF_MAPS: u32 = 13;
    const DEVMAP: u32 = 14;
    const CPUMAP: u32 = 16;
    const XSKMAP: u32 = 17;
    const QUEUE: u32 = 22;
    const STACK: u32 = 23;
    const RINGBUF: u32 = 27;
    const BLOOM_FILTER: u32 = 30;
    const USER_RINGBUF: u32 = 31;
    let t = m.map_type_raw;
    let (k, v) = (m.key_size, m.value_size);
    let err = |problem: String| {
        Err(LinkError::Map {
            name: m.name.to_string(),
            problem,
        })
    };
    let array_like = matches!(
        t,
        BPF_MAP_TYPE_ARRAY
            | PERCPU_ARRAY
            | PROG_ARRAY
            | PERF_EVENT_ARRAY
            | CGROUP_ARRAY
            | ARRAY_OF_MAPS
            | DEVMAP
            | CPUMAP
            | XSKMAP
            | STACK_TRACE
    );
    if array_like && k != 0 && k != 4 {
        return err(format!(
            "key_size {k}: maps of type {t} are indexed by a 4-byte key"
        ));
    }
    let fd_values = matches!(
        t,
        PROG_ARRAY | PERF_EVENT_ARRAY | CGROUP_ARRAY | ARRAY_OF_MAPS | HASH_OF_MAPS
    );
    if fd_values && v != 0 && v != 4 {
        return err(format!(
            "value_size {v}: maps of type {t} hold 4-byte file descriptors"
        ));
    }
    if matches!(t, RINGBUF | USER_RINGBUF) && (k != 0 || v != 0) {
        return err(format!(
            "key_size {k}, value_size {v}: ring buffers have neither keys nor values (both must be 0; size them with max_entries)"
        ));
    }
    if matches!(t, QUEUE | STACK | BLOOM_FILTER) && k != 0 {
        return err(format!(
            "key_size {k}: maps of type {t} have no keys (key_size must be 0)"
        ));
    }
    if t == STACK_TRACE && v % 8 != 0 {
        return err(format!(
            "value_size {v}: stack trace values are arrays of 8-byte addresses"
        ));
    }
    Ok(())
}

/// Kinds of `.kconfig` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KcfgType {
    Bool,
    Char,
    Tristate,
    Int { signed: bool },
    CharArray { len: u32 },
}

fn kcfg_type(btf: &Btf<'_>, id: TypeId) -> Option<KcfgType> {
    let t = btf.resolve(id).ok()?;
    match t.kind {
        TypeKind::Int { size, encoding, .. } => {
            if encoding.is_bool() {
                return (size == 1).then_some(KcfgType::Bool);
            }
            if size == 1 {
                return Some(KcfgType::Char);
            }
            (size.is_power_of_two() && size <= 8).then_some(KcfgType::Int {
                signed: encoding.is_signed(),
            })
        }
        TypeKind::Enum { size, .. } => {
            (size == 4 && t.name == "libbpf_tristate").then_some(KcfgType::Tristate)
        }
        TypeKind::Enum64 { .. } => (t.name == "libbpf_tristate").then_some(KcfgType::Tristate),
        TypeKind::Array { elem, len, .. } => (len > 0
            && kcfg_type(btf, elem) == Some(KcfgType::Char))
        .then_some(KcfgType::CharArray { len }),
        _ => None,
    }
}

struct KcfgExt<'a> {
    ext: usize,
    name: &'a str,
    weak: bool,
    ty: KcfgType,
    size: u32,
    align: u32,
    off: u32,
}

/// The low `out.len()` bytes of `v` in the object's byte order `big`.
fn put_uint(out: &mut [u8], v: u64, big: bool) {
    let n = out.len().min(8);
    if big {
        out[..n].copy_from_slice(&v.to_be_bytes()[8 - n..]);
    } else {
        out[..n].copy_from_slice(&v.to_le_bytes()[..n]);
    }
}

/// Writes `value` (a `.config` value) into `out` as `ty` says, in the object's byte order
/// (`big`), not the host's.
fn kcfg_value(
    name: &str,
    ty: KcfgType,
    value: &str,
    out: &mut [u8],
    big: bool,
) -> Result<(), LinkError> {
    let err = |problem: String| LinkError::Extern {
        name: name.to_string(),
        kind: "kconfig",
        problem,
    };
    let tri = matches!(value, "y" | "n" | "m");
    if tri {
        let c = value.as_bytes()[0];
        match ty {
            KcfgType::Bool if c == b'm' => {
                return Err(err(
                    "value 'm' needs a tristate or char variable, not bool".into()
                ))
            }
            KcfgType::Bool => out[0] = u8::from(c == b'y'),
            KcfgType::Tristate => {
                let v: u32 = match c {
                    b'y' => 1,
                    b'm' => 2,
                    _ => 0,
                };
                put_uint(out, u64::from(v), big);
            }
            KcfgType::Char => out[0] = c,
            _ => {
                return Err(err(format!(
                    "value '{value}' needs a bool, tristate or char variable"
                )))
            }
        }
        return Ok(());
    }
    if let Some(s) = value.strip_prefix('"') {
        let s = s
            .strip_suffix('"')
            .ok_or_else(|| err(format!("string value {value} has no closing quote")))?;
        let KcfgType::CharArray { len } = ty else {
            return Err(err(format!(
                "string value {value} needs a char array variable"
            )));
        };
        let n = s.len().min(len as usize - 1);
        out[..n].copy_from_slice(&s.as_bytes()[..n]);
        out[n] = 0;
        return Ok(());
    }
    let parsed = if let Some(h) = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(neg) = value.strip_prefix('-') {
        neg.parse::<u64>().ok().map(|v| v.wrapping_neg())
    } else if value.len() > 1 && value.starts_with('0') {
        u64::from_str_radix(&value[1..], 8).ok()
    } else {
        value.parse::<u64>().ok()
    };
    let v = parsed.ok_or_else(|| {
        err(format!(
            "value {value:?} is not y/n/m, a number or a string"
        ))
    })?;
    match ty {
        KcfgType::Bool => out[0] = u8::from(v != 0),
        KcfgType::Char | KcfgType::Int { .. } => {
            let size = out.len();
            let fits = match ty {
                KcfgType::Int { signed: true } if size < 8 => {
                    let bits = size * 8;
                    let s = v as i64;
                    s >= -(1i64 << (bits - 1)) && s < (1i64 << (bits - 1))
                }
                _ if size < 8 => v < (1u64 << (size * 8)),
                _ => true,
            };
            if !fits {
                return Err(err(format!("value {value} does not fit in {size} bytes")));
            }
            put_uint(out, v, big);
        }
        _ => {
            return Err(err(format!(
                "numeric value {value} needs an integer variable"
            )))
        }
    }
    Ok(())
}

struct SectionState<'a> {
    /// CO-RE-relocated instruction bytes.
    insns: Vec<u8>,
    /// Relocation reports by section instruction index.
    core: Vec<(usize, ReloReport)>,
    func_info: Vec<(u32, TypeId)>,
    line_info: Vec<LineRec>,
    _name: &'a str,
}

/// Resolved externs.
enum ExtValue {
    /// `.kconfig`: byte offset in the `.kconfig` value.
    Kconfig(u32),
    /// Typed ksym / kfunc in target BTF `btf`.
    Btf { btf: usize, id: TypeId },
    /// Untyped ksym address (0 when a weak one is missing).
    Addr(u64),
    /// A weak kfunc the kernel lacks.
    MissingKfunc,
}

impl<'a> Object<'a> {
    /// Links every program of the object for `target`; `object_name` is used for internal map
    /// names (`core_fields` gives `core_fie.rodata`).
    pub fn link<'o>(
        &'o self,
        object_name: &str,
        target: &Target<'_, '_>,
    ) -> Result<Linked<'a>, LinkError> {
        self.link_with_core_btfs(object_name, target, &target.btfs)
    }

    /// [`link`](Self::link), with CO-RE relocations computed against `core_btfs` (a custom or
    /// minimal BTF of the kernel, first, then split module BTFs) while typed ksyms and kfuncs
    /// are still resolved against `target.btfs` (the running kernel's own BTF).
    pub fn link_with_core_btfs<'t, 'b>(
        &self,
        object_name: &str,
        target: &Target<'_, '_>,
        core_btfs: &[&'t Btf<'b>],
    ) -> Result<Linked<'a>, LinkError> {
        let order = Order(self.endian);
        let ext = self.btf_ext()?;
        // Maps: user maps, then data sections, then .kconfig.
        let mut maps = Vec::new();
        for (i, m) in self.maps.iter().enumerate() {
            maps.push(self.linked_user_map(i, m)?);
        }
        // Initial slots name maps (by index) or programs (by name, filled after loading).
        for (lm, def) in maps.iter_mut().zip(&self.maps) {
            lm.slots = def
                .initial_slots
                .iter()
                .map(|s| {
                    let t = match self.maps.iter().position(|m| m.name == s.target) {
                        Some(m) => SlotTarget::Map(m),
                        None => SlotTarget::Program(s.target.to_string()),
                    };
                    (s.index, t)
                })
                .collect();
        }
        let data_base = maps.len();
        for (i, d) in self.data.iter().enumerate() {
            maps.push(self.linked_data_map(object_name, i, d)?);
        }
        let (values, kconfig_layout, kconfig_map) =
            self.resolve_externs(object_name, target, &mut maps)?;

        // CO-RE per executable section, once.
        let mut sections: HashMap<usize, SectionState<'_>> = HashMap::new();
        let mut cand_cache: HashMap<TypeId, Vec<Candidate<'_, '_>>> = HashMap::new();
        // Targets with a name index answer each local type with hash probes; otherwise the
        // candidates of every local type are found at once, in one pass over each target.
        let indexed = core_btfs.iter().all(|b| b.has_name_index());
        if let (Some(ext), Some(local), false) = (&ext, &self.btf, core_btfs.is_empty() || indexed)
        {
            let ids: Vec<TypeId> = ext
                .core_relos()
                .flat_map(|(_, relos)| relos.map(|r| r.type_id))
                .collect();
            // A bad local type id fails here; the per-relocation search below then names the
            // relocation.
            if let Ok(c) = core_relo::find_candidates_batch(local, &ids, core_btfs) {
                cand_cache = c;
            }
        }
        for ps in &self.program_sections {
            let mut st = SectionState {
                insns: ps.insns.to_vec(),
                core: Vec::new(),
                func_info: Vec::new(),
                line_info: Vec::new(),
                _name: ps.name,
            };
            if let Some(ext) = &ext {
                for (sec, recs) in ext.func_info() {
                    if sec == ps.name {
                        st.func_info
                            .extend(recs.map(|r| (r.insn_off / INSN_SIZE as u32, r.type_id)));
                    }
                }
                for (sec, recs) in ext.line_info() {
                    if sec == ps.name {
                        st.line_info.extend(recs.map(|r| LineRec {
                            insn_off: r.insn_off / INSN_SIZE as u32,
                            file_name_off: r.file_name_off,
                            line_off: r.line_off,
                            line_col: (r.line_num << 10) | (r.col & 0x3ff),
                        }));
                    }
                }
                self.apply_core(ps, ext, core_btfs, &mut st, &mut cand_cache)?;
            }
            sections.insert(ps.section, st);
        }

        let mut programs = Vec::new();
        for prog in self.programs() {
            let ps = self.program_section(prog.section).ok_or_else(|| {
                ObjError::Elf(format!("program section {} vanished", prog.section))
            })?;
            let mut b = Builder {
                obj: self,
                order,
                sections: &sections,
                program: prog.name,
                section_name: ps.name,
                out: Vec::new(),
                placed: HashMap::new(),
                map_refs: Vec::new(),
                btf_refs: Vec::new(),
                func_info: Vec::new(),
                line_info: Vec::new(),
                core: Vec::new(),
                functions: Vec::new(),
                data_base,
                kconfig_map,
                values: &values,
            };
            let start = prog.function.insns().start;
            b.place(ps.section, start)?;
            programs.push(LinkedProgram {
                name: prog.name,
                section: ps.name,
                kind: prog.kind,
                insns: b.out,
                map_refs: b.map_refs,
                btf_refs: b.btf_refs,
                func_info: b.func_info,
                line_info: b.line_info,
                core: b.core,
                functions: b.functions,
                license: self.license.unwrap_or(""),
                kern_version: self.kernel_version.unwrap_or(0),
            });
        }
        Ok(Linked {
            maps,
            programs,
            kconfig_layout,
        })
    }

    fn linked_user_map(&self, index: usize, m: &MapDef<'_>) -> Result<LinkedMap, LinkError> {
        check_map_sizes(m)?;
        let inner = match &m.inner {
            Some(inner) => Some(Box::new(self.linked_user_map(index, inner)?)),
            None => None,
        };
        Ok(LinkedMap {
            name: m.name.chars().take(15).collect(),
            object_name: m.name.to_string(),
            origin: MapOrigin::Defined(index),
            map_type: m.map_type_raw,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            map_flags: m.map_flags,
            numa_node: m.numa_node,
            map_extra: m.map_extra,
            pinning: m.pinning,
            btf_key_type_id: m.key_type.unwrap_or(0),
            btf_value_type_id: m.value_type.unwrap_or(0),
            inner,
            initial: None,
            freeze: false,
            slots: Vec::new(),
        })
    }

    fn linked_data_map(
        &self,
        object_name: &str,
        index: usize,
        d: &crate::DataSection<'_>,
    ) -> Result<LinkedMap, LinkError> {
        // The section becomes the value of a one-element array map, whose size is a u32.
        let value_size = u32::try_from(d.size).map_err(|_| LinkError::Map {
            name: d.name.to_string(),
            problem: format!(
                "section of {} bytes is larger than a map value can be (4 GiB)",
                d.size
            ),
        })?;
        let mut initial = vec![0u8; value_size as usize];
        if d.kind != DataKind::Bss {
            let n = d.data.len().min(initial.len());
            initial[..n].copy_from_slice(&d.data[..n]);
        }
        let datasec = self
            .btf
            .as_ref()
            .and_then(|b| b.find_by_name_kind(d.name, Kind::Datasec))
            .unwrap_or(0);
        let mut flags = if d.kind == DataKind::Rodata {
            BPF_F_RDONLY_PROG
        } else {
            0
        };
        if self.datasec_is_mmapable(datasec) {
            flags |= BPF_F_MMAPABLE;
        }
        Ok(LinkedMap {
            name: internal_map_name(object_name, d.name),
            object_name: d.name.to_string(),
            origin: MapOrigin::Data(index),
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size,
            max_entries: 1,
            map_flags: flags,
            numa_node: None,
            map_extra: 0,
            pinning: 0,
            btf_key_type_id: 0,
            btf_value_type_id: datasec,
            inner: None,
            initial: Some(initial),
            freeze: d.kind == DataKind::Rodata,
            slots: Vec::new(),
        })
    }

    /// Whether the object's BTF lists function `name` in its `.ksyms` DATASEC (declared
    /// `__ksym`). Without BTF every extern function counts as declared.
    fn in_ksyms_datasec(&self, name: &str) -> bool {
        let Some(btf) = self.btf.as_ref() else {
            return true;
        };
        let Some(sec) = btf.find_by_name_kind(".ksyms", Kind::Datasec) else {
            return false;
        };
        let Ok(t) = btf.type_by_id(sec) else {
            return false;
        };
        let TypeKind::Datasec { vars, .. } = t.kind else {
            return false;
        };
        vars.iter()
            .any(|v| btf.type_by_id(v.ty).is_ok_and(|f| f.name == name))
    }

    /// Whether a global-data map is created `BPF_F_MMAPABLE`: it has a DATASEC with at least
    /// one variable that is not `static` (a section of static variables only is not part of
    /// the object's user-space view, so it is not mapped).
    fn datasec_is_mmapable(&self, datasec: TypeId) -> bool {
        let Some(btf) = self.btf.as_ref() else {
            return false;
        };
        if datasec == 0 {
            return false;
        }
        let Ok(t) = btf.type_by_id(datasec) else {
            return false;
        };
        let TypeKind::Datasec { vars, .. } = t.kind else {
            return false;
        };
        vars.iter().any(|v| {
            btf.type_by_id(v.ty).is_ok_and(|var| {
                matches!(var.kind, TypeKind::Var { linkage, .. } if linkage != VarLinkage::Static)
            })
        })
    }

    /// Resolves every extern; adds the `.kconfig` map when there are kconfig externs.
    #[allow(clippy::type_complexity)]
    fn resolve_externs(
        &self,
        object_name: &str,
        target: &Target<'_, '_>,
        maps: &mut Vec<LinkedMap>,
    ) -> Result<(Vec<Option<ExtValue>>, Vec<(String, u32)>, Option<usize>), LinkError> {
        let mut values: Vec<Option<ExtValue>> = (0..self.externs.len()).map(|_| None).collect();
        let btf = self.btf.as_ref();
        let mut kcfg = Vec::new();
        for (i, e) in self.externs.iter().enumerate() {
            let kind_name = match e.kind {
                ExternKind::Kconfig => "kconfig",
                ExternKind::Ksym { .. } => "ksym",
                ExternKind::Kfunc => "kfunc",
                ExternKind::Unknown => "unknown",
            };
            let err = |problem: String| LinkError::Extern {
                name: e.name.to_string(),
                kind: kind_name,
                problem,
            };
            match e.kind {
                ExternKind::Kconfig => {
                    let btf = btf.ok_or_else(|| err("the object has no BTF to type it".into()))?;
                    let ty = e.type_id.ok_or_else(|| err("no BTF type".into()))?;
                    let kt = kcfg_type(btf, ty).ok_or_else(|| {
                        err("type must be bool, char, tristate, an integer or a char array".into())
                    })?;
                    let size = btf.size_of(ty).map_err(|x| err(x.to_string()))? as u32;
                    let align = btf.align_of(ty).map_err(|x| err(x.to_string()))? as u32;
                    kcfg.push(KcfgExt {
                        ext: i,
                        name: e.name,
                        weak: e.weak,
                        ty: kt,
                        size,
                        align: align.max(1),
                        off: 0,
                    });
                }
                ExternKind::Ksym { typed } => {
                    let found = if typed {
                        let local_ty = e.type_id.unwrap_or(0);
                        self.find_kernel_btf(target, e.name, Kind::Var, local_ty)?
                    } else {
                        None
                    };
                    values[i] = Some(match found {
                        Some((b, id)) => ExtValue::Btf { btf: b, id },
                        None if typed && !e.weak && !target.btfs.is_empty() => {
                            return Err(err("not found in the kernel's BTF".into()))
                        }
                        None => {
                            let addr = target.ksym_addr.and_then(|f| f(e.name));
                            match addr {
                                Some(a) => ExtValue::Addr(a),
                                None if e.weak => ExtValue::Addr(0),
                                None if typed => ExtValue::Addr(0),
                                None => {
                                    return Err(err(
                                        "not found in the kernel's symbols (/proc/kallsyms)".into(),
                                    ))
                                }
                            }
                        }
                    });
                }
                ExternKind::Kfunc if !self.in_ksyms_datasec(e.name) => {
                    // A plain `extern` function: no kernel function, no definition here. An
                    // instruction calling it gets the error, naming program and instruction.
                }
                ExternKind::Kfunc => {
                    let local_proto = e.type_id.unwrap_or(0);
                    match self.find_kernel_btf(target, e.name, Kind::Func, local_proto)? {
                        Some((b, id)) => values[i] = Some(ExtValue::Btf { btf: b, id }),
                        None if e.weak => values[i] = Some(ExtValue::MissingKfunc),
                        None => {
                            return Err(err(match crate::since::kfunc(e.name) {
                                Some(v) => format!(
                                    "kernel function not found in the kernel's BTF (added in Linux {v})"
                                ),
                                None => "kernel function not found in the kernel's BTF".into(),
                            }))
                        }
                    }
                }
                ExternKind::Unknown => {
                    // Resolved lazily: only an error if an instruction refers to it.
                }
            }
        }
        if kcfg.is_empty() {
            return Ok((values, Vec::new(), None));
        }
        // Layout: by alignment (largest first), then size (smallest first), then name.
        kcfg.sort_by(|a, b| {
            b.align
                .cmp(&a.align)
                .then(a.size.cmp(&b.size))
                .then(a.name.cmp(b.name))
        });
        let mut off = 0u32;
        for k in &mut kcfg {
            off = off.div_ceil(k.align) * k.align;
            k.off = off;
            off += k.size;
        }
        let mut value = vec![0u8; off as usize];
        let big = self.endian == Endian::Big;
        for k in &kcfg {
            let out = &mut value[k.off as usize..(k.off + k.size) as usize];
            let c = &target.config;
            if let Some(rest) = k.name.strip_prefix("LINUX_") {
                let v = match rest {
                    "KERNEL_VERSION" => c.kernel_version.to_string(),
                    "HAS_BPF_COOKIE" => u8::from(c.has_bpf_cookie).to_string(),
                    "HAS_SYSCALL_WRAPPER" => u8::from(c.has_syscall_wrapper).to_string(),
                    _ => {
                        return Err(LinkError::Extern {
                            name: k.name.to_string(),
                            kind: "kconfig",
                            problem: "unknown LINUX_ extern".into(),
                        })
                    }
                };
                kcfg_value(k.name, k.ty, &v, out, big)?;
            } else if !k.name.starts_with("CONFIG_") {
                return Err(LinkError::Extern {
                    name: k.name.to_string(),
                    kind: "kconfig",
                    problem: "kconfig externs are named CONFIG_* or LINUX_*".into(),
                });
            } else {
                match c.get(k.name) {
                    Some(v) => kcfg_value(k.name, k.ty, v, out, big)?,
                    None if k.weak => {}
                    None => {
                        return Err(LinkError::Extern {
                            name: k.name.to_string(),
                            kind: "kconfig",
                            problem: "not set in the kernel's configuration (declare it __weak to default to 0)".into(),
                        })
                    }
                }
            }
        }
        for k in &kcfg {
            values[k.ext] = Some(ExtValue::Kconfig(k.off));
        }
        let datasec = self
            .btf
            .as_ref()
            .and_then(|b| b.find_by_name_kind(".kconfig", Kind::Datasec))
            .unwrap_or(0);
        let idx = maps.len();
        maps.push(LinkedMap {
            name: internal_map_name(object_name, ".kconfig"),
            object_name: ".kconfig".into(),
            origin: MapOrigin::Kconfig,
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size: off.max(1),
            max_entries: 1,
            map_flags: BPF_F_RDONLY_PROG | if datasec != 0 { BPF_F_MMAPABLE } else { 0 },
            numa_node: None,
            map_extra: 0,
            pinning: 0,
            btf_key_type_id: 0,
            btf_value_type_id: datasec,
            inner: None,
            initial: Some(if value.is_empty() { vec![0] } else { value }),
            freeze: true,
            slots: Vec::new(),
        });
        let layout = kcfg.iter().map(|k| (k.name.to_string(), k.off)).collect();
        Ok((values, layout, Some(idx)))
    }

    /// Finds `name` of `kind` in the target BTFs (kernel first, then modules), checking the
    /// type against the local one; returns (btf index, type id).
    fn find_kernel_btf(
        &self,
        target: &Target<'_, '_>,
        name: &str,
        kind: Kind,
        local_ty: TypeId,
    ) -> Result<Option<(usize, TypeId)>, LinkError> {
        for (i, btf) in target.btfs.iter().enumerate() {
            let Some(id) = btf.find_by_name_kind(name, kind) else {
                continue;
            };
            if i > 0 && id < btf.first_id() {
                continue;
            }
            if let (Some(local), true) = (self.btf.as_ref(), local_ty != 0) {
                let t = btf.type_by_id(id).map_err(|e| LinkError::Extern {
                    name: name.to_string(),
                    kind: "ksym",
                    problem: e.to_string(),
                })?;
                let target_ty = match t.kind {
                    TypeKind::Var { ty, .. } => ty,
                    TypeKind::Func { proto, .. } => proto,
                    _ => 0,
                };
                let ok = match (
                    local.skip_mods_and_typedefs(local_ty),
                    btf.skip_mods_and_typedefs(target_ty),
                ) {
                    (Ok(l), Ok(t)) => {
                        core_relo::types_are_compat(local, l, btf, t).unwrap_or(false)
                    }
                    _ => false,
                };
                if !ok {
                    return Err(LinkError::Extern {
                        name: name.to_string(),
                        kind: if kind == Kind::Func { "kfunc" } else { "ksym" },
                        problem: format!(
                            "the object's type does not match the kernel's [{id}] in {}",
                            if i == 0 {
                                "vmlinux".to_string()
                            } else {
                                format!("module BTF #{i}")
                            }
                        ),
                    });
                }
            }
            return Ok(Some((i, id)));
        }
        Ok(None)
    }

    fn apply_core<'t, 'b>(
        &self,
        ps: &ProgramSection<'a>,
        ext: &BtfExt<'a>,
        core_btfs: &[&'t Btf<'b>],
        st: &mut SectionState<'_>,
        cache: &mut HashMap<TypeId, Vec<Candidate<'t, 'b>>>,
    ) -> Result<(), LinkError> {
        let Some((_, relos)) = ext.core_relos().find(|(s, _)| *s == ps.name) else {
            return Ok(());
        };
        if relos.is_empty() {
            return Ok(());
        }
        let local = self.btf.as_ref().ok_or_else(|| LinkError::NoBtf {
            section: ps.name.to_string(),
            problem: "the object has no .BTF".into(),
        })?;
        if core_btfs.is_empty() {
            return Err(LinkError::NoBtf {
                section: ps.name.to_string(),
                problem: "no target BTF was given".into(),
            });
        }
        let big = self.endian == Endian::Big;
        for (index, r) in relos.enumerate() {
            let insn = r.insn_off as usize / INSN_SIZE;
            let wrap = |source: CoreError| LinkError::Core {
                section: ps.name.to_string(),
                index,
                insn,
                kind: r.kind.name(),
                access: r.access_str.to_string(),
                type_id: r.type_id,
                source: Box::new(source),
            };
            let cands = match cache.entry(r.type_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(core_relo::find_candidates(local, r.type_id, core_btfs).map_err(wrap)?)
                }
            };
            let res = core_relo::relocate(local, r.type_id, r.access_str, r.kind, cands, big)
                .map_err(wrap)?;
            core_relo::patch_insn(&mut st.insns, insn, &res, big).map_err(wrap)?;
            let local_desc = core_relo::Spec::parse(local, r.type_id, r.access_str, r.kind)
                .map(|s| s.describe())
                .unwrap_or_else(|_| r.access_str.to_string());
            st.core.push((
                insn,
                ReloReport {
                    insn,
                    kind: r.kind,
                    local: local_desc,
                    target: res.target.clone(),
                    poisoned: res.poison,
                    orig_val: res.orig_val,
                    new_val: res.new_val,
                },
            ));
        }
        Ok(())
    }
}

/// Assembles one program's instruction stream.
struct Builder<'o, 'a, 's> {
    obj: &'o Object<'a>,
    order: Order,
    sections: &'s HashMap<usize, SectionState<'s>>,
    program: &'a str,
    section_name: &'a str,
    out: Vec<u8>,
    /// (section, function start insn) → start insn in `out`.
    placed: HashMap<(usize, usize), usize>,
    map_refs: Vec<MapRef>,
    btf_refs: Vec<BtfRef>,
    func_info: Vec<(u32, TypeId)>,
    line_info: Vec<LineRec>,
    core: Vec<ReloReport>,
    functions: Vec<(usize, &'a str)>,
    data_base: usize,
    kconfig_map: Option<usize>,
    values: &'s [Option<ExtValue>],
}

impl<'a> Builder<'_, 'a, '_> {
    fn err(&self, insn: usize, problem: String) -> LinkError {
        LinkError::Insn {
            program: self.program.to_string(),
            section: self.section_name.to_string(),
            insn,
            problem,
        }
    }

    /// Appends the function starting at `start` of `section` (and, depth first, everything it
    /// calls); returns its position in the stream.
    fn place(&mut self, section: usize, start: usize) -> Result<usize, LinkError> {
        if let Some(&at) = self.placed.get(&(section, start)) {
            return Ok(at);
        }
        let ps = self.obj.program_section(section).ok_or_else(|| {
            self.err(
                self.out.len() / INSN_SIZE,
                format!("call into section {section}, which holds no code"),
            )
        })?;
        let func = ps
            .functions
            .iter()
            .find(|f| f.insns().start == start)
            .copied()
            .ok_or_else(|| {
                self.err(
                    self.out.len() / INSN_SIZE,
                    format!(
                        "call to instruction {start} of {}, which starts no function",
                        ps.name
                    ),
                )
            })?;
        let st = self
            .sections
            .get(&section)
            .ok_or_else(|| self.err(0, format!("section {} was not prepared", ps.name)))?;
        let range = func.insns();
        let base = self.out.len() / INSN_SIZE;
        let bytes = st
            .insns
            .get(range.start * INSN_SIZE..range.end * INSN_SIZE)
            .ok_or_else(|| {
                self.err(
                    base,
                    format!("function {} lies outside section {}", func.name, ps.name),
                )
            })?;
        self.out.extend_from_slice(bytes);
        self.placed.insert((section, start), base);
        self.functions.push((base, func.name));
        let rebase = |i: u32| i as usize >= range.start && (i as usize) < range.end;
        for &(off, ty) in st.func_info.iter().filter(|(o, _)| rebase(*o)) {
            self.func_info
                .push(((off as usize - range.start + base) as u32, ty));
        }
        for l in st.line_info.iter().filter(|l| rebase(l.insn_off)) {
            self.line_info.push(LineRec {
                insn_off: (l.insn_off as usize - range.start + base) as u32,
                ..*l
            });
        }
        for (i, rep) in st.core.iter().filter(|(i, _)| range.contains(i)) {
            self.core.push(ReloReport {
                insn: i - range.start + base,
                ..rep.clone()
            });
        }
        let mut i = range.start;
        while i < range.end {
            let at = base + (i - range.start);
            let raw = st.insns[i * INSN_SIZE..(i + 1) * INSN_SIZE].to_vec();
            let code = raw[0];
            let (_, src) = self.order.regs(&raw);
            if code == OPC_LD_IMM64 && i + 1 >= range.end {
                return Err(self.err(
                    at,
                    "64-bit immediate load in the last slot of the function: its second half is missing".into(),
                ));
            }
            let reloc = ps.reloc_at(i).copied();
            match reloc.map(|r| r.kind) {
                Some(RelocKind::Call {
                    section: ts,
                    insn: ti,
                }) => {
                    let dest = self.place(ts, ti)?;
                    self.set_rel(at, dest)?;
                }
                Some(RelocKind::FuncAddr {
                    section: ts,
                    insn: ti,
                }) => {
                    if code != OPC_LD_IMM64 {
                        return Err(self.err(at, "function address relocation on an instruction that is not a 64-bit load".into()));
                    }
                    let dest = self.place(ts, ti)?;
                    let order = self.order;
                    let s = self.slot_mut(at, "instruction past the end")?;
                    order.set_src(s, PSEUDO_FUNC);
                    self.set_rel(at, dest)?;
                }
                Some(RelocKind::Map { map }) => {
                    self.map_ref(at, map, None, PSEUDO_MAP_FD)?;
                }
                Some(RelocKind::Data { data, offset }) => {
                    let size = self.obj.data.get(data).map_or(0, |d| d.size as i64);
                    if offset < 0 || offset > size {
                        return Err(self.err(
                            at,
                            format!("global data offset {offset} outside its {size}-byte section"),
                        ));
                    }
                    self.map_ref(
                        at,
                        self.data_base + data,
                        Some(offset as u32),
                        PSEUDO_MAP_VALUE,
                    )?;
                }
                Some(RelocKind::Extern { ext, call }) => self.extern_ref(at, ext, call)?,
                None if code == OPC_CALL && src == PSEUDO_CALL => {
                    // A static function of the same section, called without a relocation.
                    let rel = i64::from(self.order.imm(&raw));
                    let ti = i as i64 + rel + 1;
                    if ti < 0 || ti as usize >= ps.insn_count() {
                        return Err(self.err(
                            at,
                            format!("call pc{rel:+} lands outside section {}", ps.name),
                        ));
                    }
                    let dest = self.place(section, ti as usize)?;
                    self.set_rel(at, dest)?;
                }
                None if code == OPC_LD_IMM64 && src == PSEUDO_FUNC => {
                    return Err(self.err(at, "callback address without a relocation".into()));
                }
                None => {}
            }
            i += if code == OPC_LD_IMM64 { 2 } else { 1 };
        }
        Ok(base)
    }

    fn slot_mut(&mut self, at: usize, problem: &str) -> Result<&mut [u8], LinkError> {
        let (program, section) = (self.program, self.section_name);
        self.out
            .get_mut(at * INSN_SIZE..(at + 1) * INSN_SIZE)
            .ok_or_else(|| LinkError::Insn {
                program: program.to_string(),
                section: section.to_string(),
                insn: at,
                problem: problem.to_string(),
            })
    }

    fn set_rel(&mut self, at: usize, dest: usize) -> Result<(), LinkError> {
        let rel = dest as i64 - at as i64 - 1;
        let rel = i32::try_from(rel)
            .map_err(|_| self.err(at, "call distance does not fit 32 bits".into()))?;
        let order = self.order;
        let s = self.slot_mut(at, "instruction past the end")?;
        order.set_imm(s, rel);
        Ok(())
    }

    fn map_ref(
        &mut self,
        at: usize,
        map: usize,
        value_offset: Option<u32>,
        src: u8,
    ) -> Result<(), LinkError> {
        let order = self.order;
        if self.out.len() < (at + 2) * INSN_SIZE {
            return Err(self.err(at, "64-bit load is missing its second half".into()));
        }
        let code = self.out.get(at * INSN_SIZE).copied().unwrap_or(0);
        if code != OPC_LD_IMM64 {
            return Err(self.err(
                at,
                format!("map reference on opcode {code:#04x}, expected a 64-bit load (0x18)"),
            ));
        }
        let s = self.slot_mut(at, "instruction past the end")?;
        order.set_src(s, src);
        order.set_imm(s, 0);
        if let Some(s) = slot(&mut self.out, at + 1) {
            order.set_imm(s, value_offset.unwrap_or(0) as i32);
        }
        self.map_refs.push(MapRef {
            insn: at,
            map,
            value_offset,
        });
        Ok(())
    }

    fn extern_ref(&mut self, at: usize, ext: usize, call: bool) -> Result<(), LinkError> {
        let e = self
            .obj
            .externs
            .get(ext)
            .ok_or_else(|| self.err(at, format!("extern #{ext} does not exist")))?;
        let order = self.order;
        match (self.values.get(ext).and_then(Option::as_ref), call) {
            (Some(ExtValue::Kconfig(off)), false) => {
                let map = self
                    .kconfig_map
                    .ok_or_else(|| self.err(at, "kconfig extern without a .kconfig map".into()))?;
                self.map_ref(at, map, Some(*off), PSEUDO_MAP_VALUE)
            }
            (Some(ExtValue::MissingKfunc), false) => {
                // The address of a weak kfunc the kernel lacks (`if (kfunc)`): null.
                let s = self.slot_mut(at, "instruction past the end")?;
                order.set_imm(s, 0);
                let s = self.slot_mut(at + 1, "64-bit load is missing its second half")?;
                order.set_imm(s, 0);
                Ok(())
            }
            (Some(ExtValue::Btf { btf, id }), false) => {
                let s = self.slot_mut(at, "instruction past the end")?;
                order.set_src(s, PSEUDO_BTF_ID);
                order.set_imm(s, *id as i32);
                if let Some(s) = slot(&mut self.out, at + 1) {
                    order.set_imm(s, 0);
                }
                self.btf_refs.push(BtfRef {
                    insn: at,
                    btf: *btf,
                    type_id: *id,
                    call: false,
                });
                Ok(())
            }
            (Some(ExtValue::Addr(a)), false) => {
                let s = self.slot_mut(at, "instruction past the end")?;
                order.set_imm(s, *a as u32 as i32);
                let s = self.slot_mut(at + 1, "64-bit load is missing its second half")?;
                order.set_imm(s, (*a >> 32) as u32 as i32);
                Ok(())
            }
            (Some(ExtValue::Btf { btf, id }), true) => {
                let s = self.slot_mut(at, "instruction past the end")?;
                order.set_src(s, PSEUDO_KFUNC_CALL);
                order.set_imm(s, *id as i32);
                order.set_off(s, 0);
                self.btf_refs.push(BtfRef {
                    insn: at,
                    btf: *btf,
                    type_id: *id,
                    call: true,
                });
                Ok(())
            }
            (Some(ExtValue::MissingKfunc), true) => {
                // A kfunc call with BTF id 0: the verifier accepts it only in code it proves
                // dead (behind `if (kfunc)`), and names it otherwise.
                let s = self.slot_mut(at, "instruction past the end")?;
                order.set_src(s, PSEUDO_KFUNC_CALL);
                order.set_imm(s, 0);
                order.set_off(s, 0);
                Ok(())
            }
            (None, true) => Err(self.err(
                at,
                format!(
                    "call to undefined subprogram '{}' (not defined in this object, not a __ksym kfunc)",
                    e.name
                ),
            )),
            (None, false) => Err(self.err(
                at,
                format!(
                    "reference to undefined symbol '{}' (not defined in this object, not a __ksym or __kconfig extern)",
                    e.name
                ),
            )),
            _ => Err(self.err(
                at,
                format!(
                    "extern {} is used as a {}, which it is not",
                    e.name,
                    if call { "function" } else { "variable" }
                ),
            )),
        }
    }
}
