//! Opening and loading objects: [`OpenObject`] (parsed, globals settable) and [`Object`]
//! (loaded: maps and programs in the kernel).

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use corebpf_btf::{Btf, Kind};
use corebpf_obj::Endian;
use corebpf_sys::bpf;
use corebpf_sys::probe::BtfFeatures;

use crate::btf_fixup;
use crate::map::Map;
use crate::pin::{self, PinGuard};
use crate::plan::{self, MapPlan, ProgPlan, SlotTarget};
use crate::program::Program;
use crate::{verifier, LoadError};

/// Options of [`OpenObject::load_with`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Relocate against this BTF file (raw, or gzip-compressed) instead of the running
    /// kernel's. Attach targets are still looked up in the running kernel's BTF.
    pub target_btf: Option<PathBuf>,
    /// Read Kconfig values from this file instead of `/proc/config.gz` or
    /// `/boot/config-$(uname -r)`.
    pub kconfig: Option<PathBuf>,
    /// Verifier log level for every program (0: a log only when a load fails; 1 or 2: keep
    /// the log of each program, see [`Program::verifier_log`]).
    pub log_level: u32,
    /// Directory on bpffs for maps declared with `pinning = LIBBPF_PIN_BY_NAME`
    /// (default `/sys/fs/bpf`).
    pub pin_root: Option<PathBuf>,
    /// Use these BTF features instead of probing the kernel (to exercise sanitization).
    pub btf_features: Option<BtfFeatures>,
}

/// A program as declared in an object (before load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSpec {
    pub name: String,
    pub section: String,
    /// Program type number, when the section name is one libbpf knows.
    pub prog_type: Option<u32>,
}

/// A map as declared in an object (before load); global data sections are listed too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpecInfo {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// A global variable of a data section, settable before load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalVar {
    pub name: String,
    /// `.rodata`, `.data`, `.bss`, `.data.custom`, ...
    pub section: String,
    pub offset: u64,
    pub size: u64,
    /// BTF type id in the object's BTF, when known.
    pub type_id: Option<u32>,
}

/// A parsed object whose global variables can be set before it is loaded.
#[derive(Debug)]
pub struct OpenObject {
    name: String,
    bytes: Vec<u8>,
    programs: Vec<ProgramSpec>,
    maps: Vec<MapSpecInfo>,
    globals: Vec<GlobalVar>,
    /// (section, offset, bytes) written over the initial contents at load.
    overrides: Vec<(String, u64, Vec<u8>)>,
    /// Target programs of freplace and fentry/fexit-on-BPF programs.
    pub(crate) attach_targets: crate::attach_target::AttachTargets,
}

/// Kernel objects of a loaded BPF object. Dropping it closes every map and program fd (pinned
/// ones stay in bpffs).
#[derive(Debug)]
pub struct Object {
    name: String,
    btf_fd: Option<OwnedFd>,
    maps: Vec<Map>,
    programs: Vec<Program>,
    warnings: Vec<String>,
    /// `.struct_ops` / `.struct_ops.link` maps, ready to register.
    pub(crate) struct_ops: Vec<crate::struct_ops::StructOps>,
}

/// The object name used for internal map names.
fn object_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "object".into());
    // As libbpf: the file name up to its first dot (`core_fields.bpf.o` gives `core_fields`).
    file.split('.').next().unwrap_or_default().to_string()
}

impl OpenObject {
    /// Reads and parses the object at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<OpenObject, LoadError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        OpenObject::open_bytes(&object_name(path), bytes)
    }

    /// Parses object bytes; `name` names the object in messages and internal map names.
    pub fn open_bytes(name: &str, bytes: impl Into<Vec<u8>>) -> Result<OpenObject, LoadError> {
        let bytes = bytes.into();
        let obj = corebpf_obj::Object::parse(&bytes).map_err(|source| LoadError::Parse {
            object: name.to_string(),
            source,
        })?;
        let programs = obj
            .programs()
            .map(|p| ProgramSpec {
                name: p.name.to_string(),
                section: p.section_name.to_string(),
                prog_type: p.kind.map(|k| k.prog_type.as_raw()),
            })
            .collect();
        let maps = obj
            .maps
            .iter()
            .map(|m| MapSpecInfo {
                name: m.name.to_string(),
                map_type: m.map_type_raw,
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
            })
            .collect();
        let globals = obj
            .data
            .iter()
            .flat_map(|d| {
                d.variables.iter().map(|v| GlobalVar {
                    name: v.name.to_string(),
                    section: d.name.to_string(),
                    offset: v.offset,
                    size: v.size,
                    type_id: v.type_id,
                })
            })
            .collect();
        drop(obj);
        Ok(OpenObject {
            name: name.to_string(),
            bytes,
            programs,
            maps,
            globals,
            overrides: Vec::new(),
            attach_targets: Default::default(),
        })
    }

    /// The object's name (file name without `.bpf.o`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn programs(&self) -> &[ProgramSpec] {
        &self.programs
    }

    pub fn maps(&self) -> &[MapSpecInfo] {
        &self.maps
    }

    /// Global variables of the data sections.
    pub fn globals(&self) -> &[GlobalVar] {
        &self.globals
    }

    fn global(&self, name: &str) -> Result<&GlobalVar, LoadError> {
        self.globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| LoadError::Global {
                name: name.to_string(),
                problem: "no such global variable in .data, .rodata or .bss sections".into(),
            })
    }

    /// Sets the initial value of global `name` (`.rodata`, `.data`, `.bss` and their named
    /// variants); `value` must have exactly the variable's size.
    pub fn set_global(&mut self, name: &str, value: &[u8]) -> Result<(), LoadError> {
        let g = self.global(name)?;
        if value.len() as u64 != g.size {
            return Err(LoadError::Global {
                name: name.to_string(),
                problem: format!(
                    "value is {} bytes, the variable is {} bytes",
                    value.len(),
                    g.size
                ),
            });
        }
        let (section, offset) = (g.section.clone(), g.offset);
        self.overrides
            .retain(|(s, o, _)| !(s == &section && *o == offset));
        self.overrides.push((section, offset, value.to_vec()));
        Ok(())
    }

    /// Sets global `name` from text, interpreted by its BTF type: integers (decimal or `0x`
    /// hex, range-checked), `true`/`false` for bool, enumerator names or numbers for enums,
    /// and strings for `char` arrays (NUL-padded).
    pub fn set_global_str(&mut self, name: &str, text: &str) -> Result<(), LoadError> {
        let g = self.global(name)?.clone();
        let obj = corebpf_obj::Object::parse(&self.bytes).map_err(|source| LoadError::Parse {
            object: self.name.clone(),
            source,
        })?;
        let bytes = {
            let btf = obj.btf.as_ref().ok_or_else(|| LoadError::Global {
                name: name.to_string(),
                problem: "the object has no BTF to say the variable's type".into(),
            })?;
            let ty = g.type_id.ok_or_else(|| LoadError::Global {
                name: name.to_string(),
                problem: "BTF does not describe this variable".into(),
            })?;
            crate::value::encode(btf, ty, text).map_err(|problem| LoadError::Global {
                name: name.to_string(),
                problem,
            })?
        };
        drop(obj);
        self.set_global(name, &bytes)
    }

    /// Loads with default options: relocated against the running kernel.
    pub fn load(self) -> Result<Object, LoadError> {
        self.load_with(&LoadOptions::default())
    }

    /// Loads: BTF, then maps, then programs; on any error every kernel object created so far is
    /// closed and every pin made by this load removed.
    pub fn load_with(self, opts: &LoadOptions) -> Result<Object, LoadError> {
        let obj = corebpf_obj::Object::parse(&self.bytes).map_err(|source| LoadError::Parse {
            object: self.name.clone(),
            source,
        })?;
        if obj.endian == Endian::Big && cfg!(target_endian = "little") {
            return Err(LoadError::BigEndian {
                object: self.name.clone(),
            });
        }
        let features = opts
            .btf_features
            .unwrap_or_else(corebpf_sys::probe::btf_features);

        let target_bytes = opts
            .target_btf
            .as_deref()
            .map(crate::target::read_btf_file)
            .transpose()?;
        let target_btf = match (&target_bytes, &opts.target_btf) {
            (Some(b), Some(p)) => Some(Btf::parse(b).map_err(|e| LoadError::TargetBtf {
                path: p.clone(),
                problem: e.to_string(),
            })?),
            _ => None,
        };
        let (mut maps_plan, mut progs_plan) =
            plan::link(&self.name, &obj, target_btf.as_ref(), opts)?;
        // struct_ops maps, matched against the running kernel (even with a target BTF: they
        // register with this kernel).
        let struct_ops_plan = crate::struct_ops::plan_object(&self.name, &obj)?;
        crate::struct_ops::assign_programs(&struct_ops_plan, &mut progs_plan)?;

        for (section, offset, value) in &self.overrides {
            if let Some(m) = maps_plan
                .iter_mut()
                .find(|m| m.section.as_deref() == Some(section.as_str()))
            {
                let init = m.initial.get_or_insert_with(Vec::new);
                let end = (*offset as usize) + value.len();
                if init.len() < end {
                    init.resize(end.max(m.value_size as usize), 0);
                }
                init[*offset as usize..end].copy_from_slice(value);
            }
        }

        // BTF. As libbpf does, an object whose BTF the kernel refuses still loads without it,
        // unless something needs it (kfuncs, typed ksyms); the refusal is kept as a warning.
        let mut warnings = Vec::new();
        let btf_fd = match &obj.btf {
            Some(btf) if features.btf => {
                match load_btf(&self.name, &obj, btf, &maps_plan, features) {
                    Ok(fd) => Some(fd),
                    Err(e @ LoadError::Btf { .. }) if !requires_btf(&obj) => {
                        warnings.push(format!("{e}\n(loading without BTF)"));
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => None,
        };

        // Maps.
        let mut pins = PinGuard::default();
        let pin_root = opts
            .pin_root
            .clone()
            .unwrap_or_else(|| PathBuf::from(pin::BPFFS));
        let mut maps = Vec::with_capacity(maps_plan.len());
        for m in &maps_plan {
            maps.push(create_map(m, btf_fd.as_ref(), &pin_root, &mut pins)?);
        }
        let struct_ops_first = maps.len();
        for s in &struct_ops_plan {
            maps.push(crate::struct_ops::create_map(s, btf_fd.as_ref())?);
        }
        for (mi, m) in maps_plan.iter().enumerate() {
            for (index, target) in &m.slots {
                if let SlotTarget::Map(t) = target {
                    let inner = maps.get(*t).ok_or_else(|| LoadError::Map {
                        map: m.name.clone(),
                        problem: format!("slot {index} names map #{t}, which does not exist"),
                    })?;
                    let fd = std::os::fd::AsRawFd::as_raw_fd(&inner.fd) as u32;
                    fill_slot(&maps[mi], *index, fd)?;
                }
            }
        }

        // Programs.
        let mut programs = Vec::with_capacity(progs_plan.len());
        for p in &progs_plan {
            let target = self.attach_targets.resolve(p)?;
            programs.push(load_program(
                p,
                &maps,
                btf_fd.as_ref(),
                features,
                opts,
                target,
            )?);
        }
        for (mi, m) in maps_plan.iter().enumerate() {
            for (index, target) in &m.slots {
                if let SlotTarget::Program(name) = target {
                    let prog = programs.iter().find(|p| &p.name == name).ok_or_else(|| {
                        LoadError::Map {
                            map: m.name.clone(),
                            problem: format!(
                                "slot {index} names program `{name}`, which was not loaded"
                            ),
                        }
                    })?;
                    let fd = std::os::fd::AsRawFd::as_raw_fd(&prog.fd) as u32;
                    fill_slot(&maps[mi], *index, fd)?;
                }
            }
        }
        let struct_ops = crate::struct_ops::prepare(struct_ops_plan, struct_ops_first, &programs)?;
        pins.keep();
        Ok(Object {
            name: self.name,
            btf_fd,
            maps,
            programs,
            warnings,
            struct_ops,
        })
    }
}

/// Whether the programs cannot load without the object's BTF.
fn requires_btf(obj: &corebpf_obj::Object<'_>) -> bool {
    obj.externs.iter().any(|e| {
        matches!(
            e.kind,
            corebpf_obj::ExternKind::Kfunc | corebpf_obj::ExternKind::Ksym { typed: true }
        )
    })
}

fn fill_slot(map: &Map, index: u32, fd: u32) -> Result<(), LoadError> {
    bpf::map_update_elem(map.fd.as_fd(), &index.to_ne_bytes(), &fd.to_ne_bytes(), 0).map_err(|e| {
        LoadError::Map {
            map: map.name.clone(),
            problem: format!("initial slot {index}: {e}"),
        }
    })
}

fn load_btf(
    name: &str,
    obj: &corebpf_obj::Object<'_>,
    btf: &Btf<'_>,
    maps: &[MapPlan],
    features: BtfFeatures,
) -> Result<OwnedFd, LoadError> {
    let section_size = |sec: &str| obj.sections.iter().find(|s| s.name == sec).map(|s| s.size);
    let var_offset = |sec: &str, var: &str| {
        let idx = obj.sections.iter().position(|s| s.name == sec)?;
        obj.symbols
            .iter()
            .find(|s| s.section == Some(idx) && s.name == var)
            .map(|s| s.value)
    };
    let kconfig = maps
        .iter()
        .find(|m| m.section.as_deref() == Some(".kconfig"));
    let kconfig_offset = |var: &str| {
        kconfig.and_then(|k| k.layout.iter().find(|(n, _)| n == var).map(|&(_, off)| off))
    };
    let layout = btf_fixup::Layout {
        section_size: &section_size,
        var_offset: &var_offset,
        kconfig_offset: &kconfig_offset,
        kconfig_size: kconfig.map_or(0, |k| u64::from(k.value_size)),
    };
    let blob = btf_fixup::prepare(btf, &layout, features).map_err(|e| LoadError::Btf {
        object: name.to_string(),
        problem: e.to_string(),
        log: String::new(),
    })?;
    bpf::btf_load(&blob).map_err(|e| LoadError::Btf {
        object: name.to_string(),
        problem: format!("the kernel refused the object's BTF: {e}"),
        log: e.log().unwrap_or_default().to_string(),
    })
}

/// Flags that must agree between a pinned map and the definition reusing it.
fn map_mismatch(info: &bpf::attr::MapInfo, m: &MapPlan) -> Option<String> {
    let mut diffs = Vec::new();
    let mut cmp = |what: &str, have: u32, want: u32| {
        if have != want {
            diffs.push(format!("{what} {have} (object wants {want})"));
        }
    };
    cmp("type", info.map_type, m.map_type);
    cmp("key_size", info.key_size, m.key_size);
    cmp("value_size", info.value_size, m.value_size);
    cmp("max_entries", info.max_entries, effective_max_entries(m));
    cmp("map_flags", info.map_flags, m.flags);
    (!diffs.is_empty()).then(|| diffs.join(", "))
}

/// Map types the kernel refuses BTF key/value descriptions for (libbpf leaves them out too).
fn takes_btf(map_type: u32) -> bool {
    use corebpf_obj::MapType as T;
    !matches!(
        T::from_raw(map_type),
        Some(
            T::PerfEventArray
                | T::CgroupArray
                | T::StackTrace
                | T::ArrayOfMaps
                | T::HashOfMaps
                | T::Devmap
                | T::DevmapHash
                | T::Cpumap
                | T::Xskmap
                | T::Sockmap
                | T::Sockhash
                | T::Queue
                | T::Stack
        )
    )
}

/// `max_entries` as the kernel needs it: perf event arrays default to one slot per possible
/// CPU, ring buffers are rounded up to a power-of-two number of pages.
fn effective_max_entries(m: &MapPlan) -> u32 {
    use corebpf_obj::MapType as T;
    match T::from_raw(m.map_type) {
        Some(T::PerfEventArray) if m.max_entries == 0 => crate::map::possible_cpus() as u32,
        Some(T::Ringbuf | T::UserRingbuf) => {
            let page = 4096u32;
            let pages = m.max_entries.div_ceil(page).max(1);
            pages
                .checked_next_power_of_two()
                .map_or(m.max_entries, |p| p * page)
        }
        _ => m.max_entries,
    }
}

fn create_raw(
    m: &MapPlan,
    btf_fd: Option<&OwnedFd>,
    inner: Option<&OwnedFd>,
) -> Result<OwnedFd, LoadError> {
    let raw = |fd: Option<&OwnedFd>| fd.map_or(0, |f| std::os::fd::AsRawFd::as_raw_fd(f) as u32);
    let mut attr = bpf::attr::MapCreateAttr {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: effective_max_entries(m),
        map_flags: m.flags,
        inner_map_fd: raw(inner),
        numa_node: m.numa_node.unwrap_or(0),
        map_name: bpf::attr::obj_name(&m.name),
        map_extra: m.map_extra,
        ..Default::default()
    };
    if let (Some(fd), true) = (
        btf_fd,
        (m.btf_value != 0 || m.btf_key != 0) && takes_btf(m.map_type),
    ) {
        attr.btf_fd = raw(Some(fd));
        attr.btf_key_type_id = m.btf_key;
        attr.btf_value_type_id = m.btf_value;
    }
    match bpf::map_create(&attr) {
        Ok(fd) => Ok(fd),
        Err(first) if attr.btf_fd != 0 => {
            // Retry without BTF, as libbpf does; report the first error if that fails too.
            attr.btf_fd = 0;
            attr.btf_key_type_id = 0;
            attr.btf_value_type_id = 0;
            bpf::map_create(&attr).map_err(|_| map_err(m, first))
        }
        Err(e) => Err(map_err(m, e)),
    }
}

fn map_err(m: &MapPlan, e: corebpf_sys::Error) -> LoadError {
    LoadError::Map {
        map: m.name.clone(),
        problem: format!(
            "create ({} key {} value {} max_entries {} flags {:#x}): {e}",
            corebpf_obj::MapType::from_raw(m.map_type)
                .map_or_else(|| m.map_type.to_string(), |t| t.name().to_string()),
            m.key_size,
            m.value_size,
            effective_max_entries(m),
            m.flags
        ),
    }
}

fn create_map(
    m: &MapPlan,
    btf_fd: Option<&OwnedFd>,
    pin_root: &Path,
    pins: &mut PinGuard,
) -> Result<Map, LoadError> {
    let pin_path = m.pin_by_name.then(|| pin_root.join(pin::pin_name(&m.name)));
    if let Some(path) = &pin_path {
        pin::ensure_bpffs_dir(pin_root)?;
        if path.exists() {
            let fd = bpf::obj_get(&path.to_string_lossy()).map_err(|e| LoadError::Map {
                map: m.name.clone(),
                problem: format!("open pinned map {}: {e}", path.display()),
            })?;
            let info = bpf::map_info(fd.as_fd())?;
            if let Some(diff) = map_mismatch(&info, m) {
                return Err(LoadError::Map {
                    map: m.name.clone(),
                    problem: format!(
                        "the map pinned at {} is incompatible: {diff}",
                        path.display()
                    ),
                });
            }
            return Ok(Map {
                name: m.name.clone(),
                fd,
                map_type: m.map_type,
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: effective_max_entries(m),
                flags: m.flags,
                pinned: pin_path,
                section: m.section.clone(),
                object_name: m.object_name.clone(),
            });
        }
    }
    let inner = match &m.inner {
        Some(inner) => Some(create_raw(inner, btf_fd, None)?),
        None => None,
    };
    let fd = create_raw(m, btf_fd, inner.as_ref())?;
    drop(inner);
    if let Some(init) = &m.initial {
        let mut value = init.clone();
        value.resize(m.value_size as usize, 0);
        bpf::map_update_elem(fd.as_fd(), &0u32.to_ne_bytes(), &value, 0).map_err(|e| {
            LoadError::Map {
                map: m.name.clone(),
                problem: format!("initial contents: {e}"),
            }
        })?;
    }
    if m.freeze {
        bpf::map_freeze(fd.as_fd()).map_err(|e| LoadError::Map {
            map: m.name.clone(),
            problem: format!("freeze: {e}"),
        })?;
    }
    if let Some(path) = &pin_path {
        pin::pin_fd(fd.as_fd(), path)?;
        pins.push(path.clone());
    }
    Ok(Map {
        name: m.name.clone(),
        fd,
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: effective_max_entries(m),
        flags: m.flags,
        pinned: pin_path,
        section: m.section.clone(),
        object_name: m.object_name.clone(),
    })
}

const BPF_PSEUDO_MAP_FD: u8 = 1;
const BPF_PSEUDO_MAP_VALUE: u8 = 2;
const BPF_F_SLEEPABLE: u32 = 1 << 4;
const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// Finds the kernel BTF id a tracing program attaches to.
fn attach_btf_id(p: &ProgPlan) -> Result<Option<u32>, LoadError> {
    if p.struct_ops_btf_id.is_some() {
        return Ok(p.struct_ops_btf_id);
    }
    let Some(attach) = p.expected_attach_type else {
        return Ok(None);
    };
    let target = p.attach_target.as_deref().unwrap_or("");
    use corebpf_obj::AttachType as A;
    let (name, kind) = match A::from_raw(attach) {
        Some(A::TraceRawTp) if p.btf_target => (format!("btf_trace_{target}"), Kind::Typedef),
        Some(A::TraceIter) => (format!("bpf_iter_{target}"), Kind::Func),
        Some(A::LsmMac | A::LsmCgroup) => (format!("bpf_lsm_{target}"), Kind::Func),
        Some(A::TraceFentry | A::TraceFexit | A::ModifyReturn) => (target.to_string(), Kind::Func),
        _ => return Ok(None),
    };
    if target.is_empty() {
        return Err(LoadError::Program {
            program: p.name.clone(),
            section: p.section.clone(),
            problem:
                "the section names no attach target (expected e.g. SEC(\"fentry/do_unlinkat\"))"
                    .into(),
        });
    }
    let vmlinux = crate::target::vmlinux()?;
    match vmlinux.find_by_name_kind(&name, kind) {
        Some(id) => Ok(Some(id)),
        None => Err(LoadError::Program {
            program: p.name.clone(),
            section: p.section.clone(),
            problem: format!(
                "attach target `{target}` not found: the kernel's BTF has no {} `{name}`{}",
                kind.name(),
                if matches!(
                    A::from_raw(attach),
                    Some(A::TraceFentry | A::TraceFexit | A::ModifyReturn)
                ) {
                    " (for a function of a loaded BPF program, name that program with OpenObject::set_attach_target or `--attach-target`)"
                } else {
                    ""
                }
            ),
        }),
    }
}

fn load_program(
    p: &ProgPlan,
    maps: &[Map],
    btf_fd: Option<&OwnedFd>,
    features: BtfFeatures,
    opts: &LoadOptions,
    target: Option<crate::attach_target::Resolved>,
) -> Result<Program, LoadError> {
    let mut insns = p.insns.clone();
    for r in &p.map_refs {
        let map = maps.get(r.map).ok_or_else(|| LoadError::Program {
            program: p.name.clone(),
            section: p.section.clone(),
            problem: format!(
                "insn {} refers to map #{}, which does not exist",
                r.insn, r.map
            ),
        })?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&map.fd);
        let at = r.insn * 8;
        let (Some(first), Some(_)) = (insns.get(at..at + 8), insns.get(at + 8..at + 16)) else {
            return Err(LoadError::Program {
                program: p.name.clone(),
                section: p.section.clone(),
                problem: format!("map reference at insn {} lies past the end", r.insn),
            });
        };
        let regs = first[1];
        let (pseudo, off) = match r.value_offset {
            None => (BPF_PSEUDO_MAP_FD, 0u32),
            Some(off) => (BPF_PSEUDO_MAP_VALUE, off),
        };
        insns[at + 1] = (regs & 0x0f) | (pseudo << 4);
        insns[at + 4..at + 8].copy_from_slice(&fd.to_ne_bytes());
        insns[at + 12..at + 16].copy_from_slice(&off.to_ne_bytes());
    }
    // Module BTFs: LD imm64 of a typed ksym carries the BTF fd in its second immediate; kfunc
    // calls carry an index into the fd array.
    let mut module_fds: Vec<OwnedFd> = Vec::new();
    for m in &p.fd_modules {
        module_fds.push(module_btf_fd(m).map_err(|problem| LoadError::Program {
            program: p.name.clone(),
            section: p.section.clone(),
            problem,
        })?);
    }
    let fd_array: Vec<i32> = if module_fds.is_empty() {
        Vec::new()
    } else {
        std::iter::once(0)
            .chain(module_fds.iter().map(std::os::fd::AsRawFd::as_raw_fd))
            .collect()
    };
    for (insn, call, module) in &p.module_refs {
        if *call {
            continue;
        }
        let idx = p.fd_modules.iter().position(|m| m == module);
        if let Some(fd) = idx.and_then(|i| module_fds.get(i)) {
            let at = insn * 8 + 12;
            if let Some(b) = insns.get_mut(at..at + 4) {
                b.copy_from_slice(&std::os::fd::AsRawFd::as_raw_fd(fd).to_ne_bytes());
            }
        }
    }
    let attach_btf_id = match &target {
        Some(t) => Some(t.btf_id),
        None => attach_btf_id(p)?,
    };
    let use_btf = btf_fd.is_some() && features.func;
    let func_info: Vec<u8> = if use_btf {
        p.func_info
            .iter()
            .flat_map(|&(off, ty)| off.to_ne_bytes().into_iter().chain(ty.to_ne_bytes()))
            .collect()
    } else {
        Vec::new()
    };
    let line_info: Vec<u8> = if use_btf {
        p.line_info
            .iter()
            .flat_map(|l| {
                [l.insn_off, l.file_name_off, l.line_off, l.line_col]
                    .into_iter()
                    .flat_map(u32::to_ne_bytes)
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut flags = 0;
    if p.sleepable {
        flags |= BPF_F_SLEEPABLE;
    }
    if p.frags {
        flags |= BPF_F_XDP_HAS_FRAGS;
    }
    let load = bpf::ProgLoad {
        prog_type: p.prog_type,
        expected_attach_type: p.expected_attach_type.unwrap_or(0),
        name: &p.name,
        license: &p.license,
        kern_version: p.kern_version,
        prog_flags: flags,
        btf_fd: if use_btf {
            btf_fd.map(|f| f.as_fd())
        } else {
            None
        },
        func_info: &func_info,
        func_info_rec_size: 8,
        line_info: &line_info,
        line_info_rec_size: 16,
        attach_btf_id: attach_btf_id.unwrap_or(0),
        attach_fd: target.as_ref().map(|t| t.fd.as_fd()),
        fd_array: &fd_array,
        log_level: opts.log_level,
        ..Default::default()
    };
    match bpf::prog_load_logged(&insns, &load) {
        Ok((fd, log)) => Ok(Program {
            name: p.name.clone(),
            section: p.section.clone(),
            prog_type: p.prog_type,
            expected_attach_type: p.expected_attach_type,
            attach_target: p.attach_target.clone(),
            attach_btf_id,
            target_prog: target.map(crate::attach_target::Resolved::into_target),
            fd,
            insn_count: insns.len() / 8,
            log: (!log.is_empty()).then_some(log),
            core_relos: p.core_report.clone(),
        }),
        Err(e) => Err(explain(p, e)),
    }
}

/// Opens the kernel BTF object of module `name`.
fn module_btf_fd(name: &str) -> Result<OwnedFd, String> {
    let ids = bpf::ids(bpf::ObjKind::Btf).map_err(|e| e.to_string())?;
    for id in ids {
        let Ok(fd) = bpf::fd_by_id(bpf::ObjKind::Btf, id) else {
            continue;
        };
        if let Ok((_, n)) = bpf::btf_info(fd.as_fd()) {
            if n == name {
                return Ok(fd);
            }
        }
    }
    Err(format!("the BTF of kernel module {name} is not loaded"))
}

/// Turns a refused load into an explained error.
fn explain(p: &ProgPlan, e: corebpf_sys::Error) -> LoadError {
    let errno = e.errno();
    match e.log() {
        Some(log) if !log.is_empty() => {
            let insn = verifier::failing_insn(log);
            let source_line = insn.and_then(|i| p.source_line(i));
            let core_access = insn.and_then(|i| p.core_access_near(i));
            LoadError::Verifier {
                program: p.name.clone(),
                section: p.section.clone(),
                log: log.to_string(),
                insn,
                source_line,
                core_access,
                hint: verifier::hint(log).or_else(|| verifier::cpu_v4_hint(log, &p.insns)),
            }
        }
        _ => {
            let mut problem = format!("the kernel refused to load it: {e}");
            if errno == Some(1) {
                use corebpf_obj::ProgType as T;
                if matches!(
                    corebpf_obj::ProgType::from_raw(p.prog_type),
                    Some(T::Tracing | T::Lsm | T::Ext | T::StructOps)
                ) {
                    problem.push_str(
                        " (tracing programs — fentry, fexit, fmod_ret, lsm, freplace — attach through BPF trampolines, which this kernel's configuration or security policy does not allow)",
                    );
                } else {
                    problem.push_str(" (loading BPF programs needs CAP_BPF/CAP_SYS_ADMIN)");
                }
            }
            LoadError::ProgramRefused {
                program: p.name.clone(),
                section: p.section.clone(),
                problem,
                errno,
            }
        }
    }
}

impl Object {
    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn maps(&self) -> &[Map] {
        &self.maps
    }

    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// The map named `name` (internal maps also answer to their section name, `.rodata`).
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.name == name).or_else(|| {
            self.maps
                .iter()
                .find(|m| m.section.as_deref() == Some(name))
        })
    }

    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// What the load worked around (e.g. BTF the kernel refused, loaded without).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The loaded object BTF, if the object had BTF.
    pub fn btf_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.btf_fd.as_ref().map(|f| f.as_fd())
    }

    /// Pins every program and map under `dir` (on bpffs) by name: `dir/<program>`,
    /// `dir/<map>` (dots become underscores: bpffs refuses them). Returns the paths. On error, pins made by this call are removed.
    pub fn pin_all(&self, dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
        pin::ensure_bpffs_dir(dir)?;
        let mut guard = PinGuard::default();
        for m in &self.maps {
            let path = dir.join(pin::pin_name(&m.name));
            pin::pin_fd(m.fd.as_fd(), &path)?;
            guard.push(path);
        }
        for p in &self.programs {
            let path = dir.join(pin::pin_name(&p.name));
            pin::pin_fd(p.fd.as_fd(), &path)?;
            guard.push(path);
        }
        Ok(guard.keep())
    }
}
