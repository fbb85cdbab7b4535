//! Programs whose attach target is a function of another, already loaded BPF program:
//! extension programs (`SEC("freplace/FUNC")`, `BPF_PROG_TYPE_EXT`), which replace a global
//! function of the target, and `fentry`/`fexit`/`fmod_ret` programs that trace one.
//!
//! ```no_run
//! use corebpf::{AttachTarget, OpenObject};
//! let target = OpenObject::open("freplace_target.bpf.o")?.load()?;
//! let mut open = OpenObject::open("freplace.bpf.o")?;
//! // The function defaults to the name after `freplace/` in the section name.
//! open.set_attach_target("decide_two", AttachTarget::program(target.program("count_sync").unwrap())?)?;
//! let ext = open.load()?;
//! let link = ext.program("decide_two").unwrap().attach()?; // replaces `decide` until dropped
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! At load the target program's BTF is read from the kernel (`BPF_OBJ_GET_INFO_BY_FD` gives its
//! BTF id and its `func_info`, `BPF_BTF_GET_FD_BY_ID` the BTF itself), the function is looked up
//! among the target program's own functions, and the program is loaded with that function's
//! BTF id as `attach_btf_id` and the target program as `attach_prog_fd`. The target stays with
//! the loaded [`Program`], so [`Program::attach`] can link an extension program again after
//! an earlier link was dropped.

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use corebpf_btf::{Btf, FuncLinkage, TypeKind};
use corebpf_obj::{AttachType, ProgType, ProgramKind};
use corebpf_sys::bpf::{self, attr::ProgInfo};

use crate::link::{AttachError, Link};
use crate::object::OpenObject;
use crate::plan::ProgPlan;
use crate::{LoadError, Program};

const EINVAL: i32 = 22;
const EOPNOTSUPP: i32 = 95;
const ENOTSUPP: i32 = 524;

/// Which loaded program an extension or tracing program attaches to, and optionally which of
/// its functions (by default the name the section gives: `freplace/decide` gives `decide`).
#[derive(Debug)]
pub struct AttachTarget {
    prog: TargetProg,
    function: Option<String>,
}

#[derive(Debug)]
enum TargetProg {
    /// A duplicate of a caller's program fd.
    Fd(OwnedFd),
    Id(u32),
    Pinned(PathBuf),
}

impl AttachTarget {
    /// A program of a loaded [`crate::Object`] (its fd is duplicated: the target may be
    /// dropped afterwards).
    pub fn program(prog: &Program) -> Result<AttachTarget, LoadError> {
        AttachTarget::fd(prog.fd())
    }

    /// A program fd (duplicated).
    pub fn fd(fd: BorrowedFd<'_>) -> Result<AttachTarget, LoadError> {
        let owned = fd
            .try_clone_to_owned()
            .map_err(|e| LoadError::AttachTarget {
                target: format!("program fd {}", fd.as_raw_fd()),
                problem: format!("cannot duplicate the fd: {e}"),
            })?;
        Ok(AttachTarget {
            prog: TargetProg::Fd(owned),
            function: None,
        })
    }

    /// The program with kernel id `id` (as `corebpf prog list` and `bpftool prog` show).
    pub fn id(id: u32) -> AttachTarget {
        AttachTarget {
            prog: TargetProg::Id(id),
            function: None,
        }
    }

    /// The program pinned at `path` on a bpf filesystem.
    pub fn pinned(path: impl Into<PathBuf>) -> AttachTarget {
        AttachTarget {
            prog: TargetProg::Pinned(path.into()),
            function: None,
        }
    }

    /// Attach to function `name` of the target instead of the one the section names.
    pub fn function(mut self, name: impl Into<String>) -> AttachTarget {
        self.function = Some(name.into());
        self
    }

    /// The function given with [`AttachTarget::function`].
    pub fn function_name(&self) -> Option<&str> {
        self.function.as_deref()
    }

    /// Parses `id:N`, `pinned:PATH`, or an absolute `PATH` (a program pinned on bpffs).
    pub fn parse(text: &str) -> Result<AttachTarget, LoadError> {
        let err = |problem: String| LoadError::AttachTarget {
            target: text.to_string(),
            problem,
        };
        if let Some(n) = text.strip_prefix("id:") {
            let id = n.trim().parse::<u32>().map_err(|_| {
                err(format!(
                    "`{n}` is not a program id (expected id:N with N a positive integer)"
                ))
            })?;
            if id == 0 {
                return Err(err("program ids start at 1".into()));
            }
            return Ok(AttachTarget::id(id));
        }
        let path = text.strip_prefix("pinned:").unwrap_or(text);
        if path.is_empty() {
            return Err(err(
                "expected id:N, pinned:PATH or the path of a program pinned on bpffs".into(),
            ));
        }
        if !path.starts_with('/') {
            return Err(err(format!(
                "expected id:N, pinned:PATH or an absolute path on bpffs (e.g. /sys/fs/bpf/NAME), not `{path}`"
            )));
        }
        Ok(AttachTarget::pinned(path))
    }

    /// Opens the target program.
    pub(crate) fn open(&self) -> Result<OwnedFd, LoadError> {
        let err = |problem: String| LoadError::AttachTarget {
            target: self.to_string(),
            problem,
        };
        let fd = match &self.prog {
            TargetProg::Fd(fd) => fd
                .try_clone()
                .map_err(|e| err(format!("cannot duplicate the fd: {e}")))?,
            TargetProg::Id(id) => bpf::fd_by_id(bpf::ObjKind::Prog, *id).map_err(|e| {
                err(match e.errno() {
                    Some(2) => "no loaded program has this id (see `corebpf prog list`)".into(),
                    _ => format!("cannot open it: {e}"),
                })
            })?,
            TargetProg::Pinned(path) => open_pinned(path).map_err(err)?,
        };
        if let TargetProg::Fd(_) | TargetProg::Pinned(_) = &self.prog {
            check_is_program(fd.as_fd()).map_err(err)?;
        }
        Ok(fd)
    }
}

impl fmt::Display for AttachTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.prog {
            TargetProg::Fd(fd) => write!(f, "program fd {}", fd.as_raw_fd())?,
            TargetProg::Id(id) => write!(f, "program id {id}")?,
            TargetProg::Pinned(p) => write!(f, "program pinned at {}", p.display())?,
        }
        if let Some(func) = &self.function {
            write!(f, ", function {func}")?;
        }
        Ok(())
    }
}

fn open_pinned(path: &Path) -> Result<OwnedFd, String> {
    let text = path
        .to_str()
        .ok_or_else(|| "the path is not UTF-8".to_string())?;
    bpf::obj_get(text).map_err(|e| match e.errno() {
        Some(2) => "nothing is pinned there".to_string(),
        Some(22) | Some(1) if !Path::new(text).exists() => "nothing is pinned there".to_string(),
        Some(22) => "not a BPF object on a bpf filesystem (bpffs)".to_string(),
        _ => format!("cannot open the pinned object: {e}"),
    })
}

/// Makes sure `fd` is a BPF program (pinned paths and caller fds may hold maps or links).
fn check_is_program(fd: BorrowedFd<'_>) -> Result<(), String> {
    let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
    let info = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let has = |key: &str| info.lines().any(|l| l.starts_with(key));
    if has("prog_type:") {
        Ok(())
    } else if has("map_type:") {
        Err("this is a BPF map, not a program".into())
    } else if has("link_type:") {
        Err("this is a BPF link, not a program".into())
    } else {
        Err("this is not a BPF program".into())
    }
}

/// Attach targets set on an [`OpenObject`].
#[derive(Debug, Default)]
pub(crate) struct AttachTargets {
    per_program: Vec<(String, AttachTarget)>,
    default: Option<AttachTarget>,
}

/// How a program kind relates to a target program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// An extension program: always needs one.
    Ext,
    /// fentry/fexit/fmod_ret: a target program when its function is not the kernel's.
    Trace,
    No,
}

fn use_of(prog_type: Option<ProgType>, attach: Option<AttachType>) -> Use {
    match (prog_type, attach) {
        (Some(ProgType::Ext), _) => Use::Ext,
        (
            Some(ProgType::Tracing),
            Some(AttachType::TraceFentry | AttachType::TraceFexit | AttachType::ModifyReturn),
        ) => Use::Trace,
        _ => Use::No,
    }
}

fn use_of_section(section: &str) -> Use {
    match ProgramKind::from_section_name(section) {
        Some(k) => use_of(Some(k.prog_type), k.expected_attach_type),
        None => Use::No,
    }
}

impl OpenObject {
    /// Loads program `program` against a function of an already loaded BPF program: for
    /// `freplace` programs (which need one) and `fentry`/`fexit`/`fmod_ret` programs tracing a
    /// BPF function rather than a kernel one. Replaces an earlier target of that program.
    pub fn set_attach_target(
        &mut self,
        program: &str,
        target: AttachTarget,
    ) -> Result<(), LoadError> {
        let spec = self
            .programs()
            .iter()
            .find(|p| p.name == program)
            .ok_or_else(|| LoadError::NotFound {
                what: "program",
                name: program.to_string(),
            })?;
        if use_of_section(&spec.section) == Use::No {
            return Err(LoadError::Program {
                program: spec.name.clone(),
                section: spec.section.clone(),
                problem: format!(
                    "cannot take {target} as attach target: only freplace, fentry, fexit and fmod_ret programs attach to a BPF program"
                ),
            });
        }
        let targets = &mut self.attach_targets;
        targets.per_program.retain(|(p, _)| p != program);
        targets.per_program.push((program.to_string(), target));
        Ok(())
    }

    /// Sets `target` for every freplace program of the object, and every fentry, fexit and
    /// fmod_ret program whose function the kernel's BTF does not have (checked at load),
    /// unless [`OpenObject::set_attach_target`] gave it its own. Returns the names of the
    /// programs it may apply to; none is an error.
    pub fn set_default_attach_target(
        &mut self,
        target: AttachTarget,
    ) -> Result<Vec<String>, LoadError> {
        let names: Vec<String> = self
            .programs()
            .iter()
            .filter(|p| use_of_section(&p.section) != Use::No)
            .map(|p| p.name.clone())
            .collect();
        if names.is_empty() {
            return Err(LoadError::AttachTarget {
                target: target.to_string(),
                problem: format!(
                    "object {} has no freplace, fentry, fexit or fmod_ret program to attach to it",
                    self.name()
                ),
            });
        }
        self.attach_targets.default = Some(target);
        Ok(names)
    }
}

/// A target program opened for one program's load.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub fd: OwnedFd,
    pub btf_id: u32,
    pub description: String,
}

/// What a loaded program keeps of its target program, for attaching.
#[derive(Debug)]
pub(crate) struct TargetProgram {
    pub fd: OwnedFd,
    pub btf_id: u32,
    /// `decide of program count_sync (id 7)`.
    pub description: String,
}

impl AttachTargets {
    /// The target program of `p`, opened, and its function's BTF id; `None` when `p` does not
    /// attach to a BPF program.
    pub(crate) fn resolve(&self, p: &ProgPlan) -> Result<Option<Resolved>, LoadError> {
        let use_ = use_of(
            ProgType::from_raw(p.prog_type),
            p.expected_attach_type.and_then(AttachType::from_raw),
        );
        let target = match self.per_program.iter().find(|(n, _)| *n == p.name) {
            Some((_, t)) => Some(t),
            None => match (&self.default, use_) {
                (Some(t), Use::Ext) => Some(t),
                (Some(t), Use::Trace) if !in_vmlinux(p) => Some(t),
                _ => None,
            },
        };
        let Some(target) = target else {
            if use_ == Use::Ext {
                return Err(LoadError::Program {
                    program: p.name.clone(),
                    section: p.section.clone(),
                    problem: "an extension (freplace) program needs a target program: \
                              OpenObject::set_attach_target, or `--attach-target` on the command line"
                        .into(),
                });
            }
            return Ok(None);
        };
        let func = target
            .function
            .as_deref()
            .or(p.attach_target.as_deref())
            .filter(|f| !f.is_empty())
            .ok_or_else(|| LoadError::Program {
                program: p.name.clone(),
                section: p.section.clone(),
                problem: format!(
                    "no function to attach to in {target}: the section names none (expected e.g. SEC(\"freplace/FUNC\")) and the target gives none"
                ),
            })?;
        let fd = target.open()?;
        let prog_err = |problem: String| LoadError::Program {
            program: p.name.clone(),
            section: p.section.clone(),
            problem,
        };
        let funcs = target_functions(fd.as_fd()).map_err(|e| prog_err(format!("{target}: {e}")))?;
        let who = format!("program {} (id {})", funcs.name, funcs.id);
        let Some(f) = funcs.funcs.iter().find(|f| f.name == func) else {
            let list: Vec<String> = funcs.funcs.iter().map(ProgramFunction::describe).collect();
            return Err(prog_err(format!(
                "attach target {who} has no function `{func}`; its functions: {}",
                list.join(", ")
            )));
        };
        if use_ == Use::Ext && f.linkage != FuncLinkage::Global {
            let list: Vec<String> = funcs
                .funcs
                .iter()
                .filter(|f| f.linkage == FuncLinkage::Global)
                .map(|f| f.name.clone())
                .collect();
            return Err(prog_err(format!(
                "function `{func}` of {who} is static: only global functions can be replaced (global ones: {})",
                if list.is_empty() { "none".to_string() } else { list.join(", ") }
            )));
        }
        Ok(Some(Resolved {
            fd,
            btf_id: f.btf_id,
            description: format!("{func} of {who}"),
        }))
    }
}

/// Whether the kernel's BTF has the FUNC a tracing program's section names.
fn in_vmlinux(p: &ProgPlan) -> bool {
    let Some(name) = p.attach_target.as_deref() else {
        return false;
    };
    crate::target::vmlinux()
        .ok()
        .and_then(|b| b.find_by_name_kind(name, corebpf_btf::Kind::Func))
        .is_some()
}

/// A function of a loaded program: its main function or one of its subprograms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFunction {
    pub name: String,
    pub btf_id: u32,
    pub linkage: FuncLinkage,
}

impl ProgramFunction {
    fn describe(&self) -> String {
        match self.linkage {
            FuncLinkage::Global => self.name.clone(),
            _ => format!("{} (static)", self.name),
        }
    }
}

/// A loaded program's name, id and functions (its `func_info` entries, named from its BTF).
#[derive(Debug, Clone)]
pub struct ProgramFunctions {
    /// The program's name as the kernel keeps it (at most 15 bytes).
    pub name: String,
    /// The program's id.
    pub id: u32,
    /// Its BTF object's id.
    pub btf_id: u32,
    /// Its functions in instruction order, main function first; `btf_id` of each is a type id
    /// in the BTF object `btf_id`.
    pub funcs: Vec<ProgramFunction>,
}

/// The functions of loaded program `prog`, as freplace and fentry/fexit see them: its
/// `func_info` records, named from the BTF object it was loaded with.
pub fn program_functions(prog: BorrowedFd<'_>) -> Result<ProgramFunctions, LoadError> {
    target_functions(prog).map_err(|problem| LoadError::AttachTarget {
        target: format!("program fd {}", prog.as_raw_fd()),
        problem,
    })
}

/// Reads the functions of loaded program `fd`: its `func_info` (instruction offset and BTF
/// id of each function) and the BTF object it was loaded with.
fn target_functions(fd: BorrowedFd<'_>) -> Result<ProgramFunctions, String> {
    let first = bpf::prog_info(fd).map_err(|e| format!("cannot read its program info: {e}"))?;
    let name = corebpf_sys::bpf::attr::name_str(&first.name);
    let who = format!("program {name} (id {})", first.id);
    if first.btf_id == 0 || first.nr_func_info == 0 {
        return Err(format!(
            "{who} was loaded without BTF function information (func_info), so its functions cannot be targeted"
        ));
    }
    let rec = first.func_info_rec_size.max(8) as usize;
    let mut buf = vec![0u8; first.nr_func_info as usize * rec];
    let mut info = ProgInfo {
        nr_func_info: first.nr_func_info,
        func_info_rec_size: rec as u32,
        func_info: buf.as_mut_ptr() as u64,
        ..Default::default()
    };
    bpf::obj_info(fd, &mut info).map_err(|e| format!("{who}: cannot read its func_info: {e}"))?;
    let n = (info.nr_func_info.min(first.nr_func_info)) as usize;
    let btf_fd = bpf::fd_by_id(bpf::ObjKind::Btf, first.btf_id)
        .map_err(|e| format!("{who}: cannot open its BTF (id {}): {e}", first.btf_id))?;
    let data = bpf::btf_data(btf_fd.as_fd())
        .map_err(|e| format!("{who}: cannot read its BTF (id {}): {e}", first.btf_id))?;
    let btf = Btf::parse(&data)
        .map_err(|e| format!("{who}: its BTF (id {}) does not parse: {e}", first.btf_id))?;
    let mut funcs = Vec::with_capacity(n);
    for chunk in buf.chunks_exact(rec).take(n) {
        let Some(ty) = chunk
            .get(4..8)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_ne_bytes)
        else {
            continue;
        };
        let t = btf.type_by_id(ty).map_err(|e| {
            format!(
                "{who}: func_info names BTF type {ty}, which its BTF (id {}) lacks: {e}",
                first.btf_id
            )
        })?;
        let TypeKind::Func { linkage, .. } = t.kind else {
            return Err(format!(
                "{who}: func_info names BTF type {ty} `{}`, which is not a FUNC",
                t.name
            ));
        };
        funcs.push(ProgramFunction {
            name: t.name.to_string(),
            btf_id: ty,
            linkage,
        });
    }
    Ok(ProgramFunctions {
        name,
        id: first.id,
        btf_id: first.btf_id,
        funcs,
    })
}

impl Program {
    /// The target program function this program was loaded against, as
    /// `decide of program count_sync (id 7)` (freplace, and fentry/fexit/fmod_ret on a BPF
    /// program).
    pub fn target_program(&self) -> Option<&str> {
        self.target_prog.as_ref().map(|t| t.description.as_str())
    }
}

/// Attaches an extension program in place of the function it was loaded against: a
/// `BPF_LINK_CREATE` naming the target program and function, or `BPF_RAW_TRACEPOINT_OPEN` on
/// kernels without extension links.
pub(crate) fn attach_ext(prog: &Program) -> Result<Link, AttachError> {
    let Some(t) = &prog.target_prog else {
        return Err(AttachError::Target {
            what: format!("program {} (section {})", prog.name(), prog.section()),
            problem: "an extension program attaches to the target program it was loaded for; \
                      it was loaded without one"
                .into(),
        });
    };
    let what = format!("freplace of {} by {}", t.description, prog.name());
    match corebpf_sys::link::tracing(prog.fd(), Some(t.fd.as_fd()), 0, t.btf_id, 0) {
        Ok(fd) => Ok(Link::bpf(fd, what)),
        Err(e) if matches!(e.errno(), Some(EINVAL | EOPNOTSUPP | ENOTSUPP)) => {
            match bpf::raw_tracepoint_open(prog.fd(), None) {
                Ok(fd) => Ok(Link::bpf(fd, what)),
                Err(_) => Err(AttachError::Kernel { what, source: e }),
            }
        }
        Err(e) => Err(AttachError::Kernel { what, source: e }),
    }
}

/// The description of a tracing program attached to a BPF program's function.
pub(crate) fn trace_description(prog: &Program, pattern: &str) -> Option<String> {
    prog.target_prog
        .as_ref()
        .map(|t| format!("{pattern} {}", t.description))
}

impl Resolved {
    pub(crate) fn into_target(self) -> TargetProgram {
        TargetProgram {
            fd: self.fd,
            btf_id: self.btf_id,
            description: self.description,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert!(matches!(
            AttachTarget::parse("id:42").unwrap().prog,
            TargetProg::Id(42)
        ));
        match AttachTarget::parse("pinned:/sys/fs/bpf/x/prog")
            .unwrap()
            .prog
        {
            TargetProg::Pinned(p) => assert_eq!(p, Path::new("/sys/fs/bpf/x/prog")),
            other => panic!("{other:?}"),
        }
        match AttachTarget::parse("/sys/fs/bpf/y").unwrap().prog {
            TargetProg::Pinned(p) => assert_eq!(p, Path::new("/sys/fs/bpf/y")),
            other => panic!("{other:?}"),
        }
        for bad in [
            "id:",
            "id:x",
            "id:0",
            "id:-3",
            "pinned:",
            "",
            "relative/path",
        ] {
            let e = AttachTarget::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("expected") || e.contains("ids start"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn kinds_that_take_a_program() {
        assert_eq!(use_of_section("freplace/decide"), Use::Ext);
        assert_eq!(use_of_section("fentry/decide"), Use::Trace);
        assert_eq!(use_of_section("fexit/decide"), Use::Trace);
        assert_eq!(use_of_section("fmod_ret/decide"), Use::Trace);
        assert_eq!(use_of_section("tp/syscalls/sys_enter_sync"), Use::No);
        assert_eq!(use_of_section("lsm/bprm_check_security"), Use::No);
        assert_eq!(use_of_section("xdp"), Use::No);
    }

    #[test]
    fn display_names_the_target() {
        let t = AttachTarget::id(7).function("decide");
        assert_eq!(t.to_string(), "program id 7, function decide");
        assert_eq!(
            AttachTarget::pinned("/sys/fs/bpf/p").to_string(),
            "program pinned at /sys/fs/bpf/p"
        );
    }
}
