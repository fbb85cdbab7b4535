//! The kprobe family beyond a single probe: syscall entry points (`ksyscall/NAME`), and
//! kprobe_multi links (`kprobe.multi/GLOB`, `kretprobe.multi/GLOB`, `kprobe.session/GLOB`),
//! one fprobe over many kernel functions.
//!
//! Syscalls are entered through an architecture wrapper on most kernels (`__x64_sys_unlinkat`
//! on x86_64, `__arm64_sys_unlinkat` on arm64) that takes the user registers; older kernels and
//! other architectures enter `sys_unlinkat` with the arguments themselves. The function probed
//! is the wrapper when the kernel has it (its BTF or `/proc/kallsyms` names it), else
//! `sys_NAME`; `BPF_KSYSCALL` in the program reads the arguments accordingly through the
//! `LINUX_HAS_SYSCALL_WRAPPER` extern.
//!
//! A kprobe_multi pattern (`*` and `?`) is matched against the functions ftrace can attach to
//! (tracefs `available_filter_functions`), each name once, and the kernel resolves the names.

use std::os::fd::BorrowedFd;

use corebpf_obj::AttachType;
use corebpf_sys::link::{self as sys_link, KprobeMultiTargets};
use corebpf_sys::tracefs;

use crate::link::{AttachError, Link};
use crate::Program;

const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EINVAL: i32 = 22;
const EILSEQ: i32 = 84;
const EOPNOTSUPP: i32 = 95;
const ENOTSUPP: i32 = 524;

/// Why a kernel refuses kprobe_multi links.
const NO_KPROBE_MULTI: &str = "this kernel has no kprobe_multi links (fprobe): they need Linux \
                               5.18 or later built with CONFIG_FPROBE";

/// Why a kernel refuses kprobe session links.
const NO_KPROBE_SESSION: &str = "this kernel has no kprobe session links: they need Linux 6.10 \
                                 or later built with CONFIG_FPROBE";

/// The name prefix of the architecture's syscall wrappers (`__x64_sys_`), when it has them.
pub fn syscall_wrapper_prefix() -> Option<&'static str> {
    Some(match std::env::consts::ARCH {
        "x86_64" => "__x64_sys_",
        "x86" => "__ia32_sys_",
        "aarch64" => "__arm64_sys_",
        "arm" => "__arm_sys_",
        "s390x" => "__s390x_sys_",
        "riscv64" => "__riscv_sys_",
        "powerpc64" => "__powerpc64_sys_",
        "powerpc" => "__powerpc_sys_",
        "mips" | "mips64" => "__mips_sys_",
        "loongarch64" => "__loongarch_sys_",
        _ => return None,
    })
}

/// Does the running kernel have function `name`? Its BTF is asked first, then
/// `/proc/kallsyms` (names only; lockdown may hide the addresses, not the names).
fn kernel_has_function(name: &str) -> bool {
    let in_btf = crate::target::vmlinux()
        .ok()
        .and_then(|btf| btf.find_by_name_kind(name, corebpf_btf::Kind::Func))
        .is_some();
    in_btf || crate::target::ksym_address(name).is_some()
}

/// The kernel function a `ksyscall/NAME` probe attaches to: the architecture's wrapper
/// (`__x64_sys_NAME`) when the kernel has it, else `sys_NAME`.
pub fn syscall_function(name: &str) -> Result<String, AttachError> {
    let what = format!("ksyscall {name}");
    if name.is_empty() {
        return Err(AttachError::Target {
            what,
            problem: "no syscall named (ksyscall/NAME)".into(),
        });
    }
    let mut tried = Vec::with_capacity(2);
    if let Some(prefix) = syscall_wrapper_prefix() {
        let wrapper = format!("{prefix}{name}");
        if kernel_has_function(&wrapper) {
            return Ok(wrapper);
        }
        tried.push(wrapper);
    }
    let plain = format!("sys_{name}");
    if kernel_has_function(&plain) {
        return Ok(plain);
    }
    tried.push(plain);
    Err(AttachError::Target {
        what,
        problem: format!(
            "the kernel has no function {} (looked in /sys/kernel/btf/vmlinux and \
             /proc/kallsyms)",
            tried.join(" or ")
        ),
    })
}

/// A kprobe (or kretprobe with `retprobe`) on the entry of syscall `name` (`unlinkat`).
pub fn ksyscall(prog: BorrowedFd<'_>, name: &str, retprobe: bool) -> Result<Link, AttachError> {
    let func = syscall_function(name)?;
    let kind = if retprobe { "kretsyscall" } else { "ksyscall" };
    crate::attach::kprobe(prog, &func, 0, retprobe).map_err(|e| {
        let what = format!("{kind} {name} ({func})");
        match e {
            AttachError::Unsupported { why, .. } => AttachError::Unsupported { what, why },
            AttachError::Kernel { source, .. } => AttachError::Kernel { what, source },
            AttachError::Target { problem, .. } => AttachError::Target { what, problem },
            other => other,
        }
    })
}

/// What a kprobe PMU refusal means, for the errors the kernel gives on a bad target.
pub(crate) fn kprobe_refusal(func: &str, offset: u64, e: &corebpf_sys::Error) -> Option<String> {
    Some(match e.errno()? {
        ENOENT => format!("the kernel has no function {func} (see /proc/kallsyms)"),
        EILSEQ => format!("offset {offset:#x} is not at an instruction boundary of {func}"),
        EINVAL if offset != 0 => format!(
            "{func}+{offset:#x} cannot be probed: not an instruction boundary, past the \
             function's end, or a function kprobes refuse"
        ),
        EINVAL => format!(
            "{func} cannot be probed (kprobes refuse it: see /sys/kernel/debug/kprobes/blacklist)"
        ),
        _ => return None,
    })
}

/// Does `name` match the shell-style `pattern` (`*`: any run of characters, `?`: one)?
/// Linear in practice: a `*` is retried from one place only.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was and the name position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

/// The function names of an `available_filter_functions` text that match `pattern`, sorted
/// and each once. A line is `NAME` or `NAME [MODULE]`; a module's function is kept by name
/// (the kernel resolves names, so a name in both the kernel and a module is one entry), and
/// the placeholders ftrace lists for functions it could not place
/// (`__ftrace_invalid_address___N`) are skipped.
pub fn match_filter_functions<'a>(text: &'a str, pattern: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_ascii_whitespace().next())
        .filter(|name| !name.starts_with("__ftrace_invalid_address__"))
        .filter(|name| glob_match(pattern, name))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The kernel functions ftrace can probe that match `pattern`, from tracefs
/// `available_filter_functions`.
pub fn functions_matching(pattern: &str) -> Result<Vec<String>, AttachError> {
    let what = || format!("kprobe.multi {pattern}");
    let root = tracefs::root().map_err(|e| AttachError::Kernel {
        what: what(),
        source: e,
    })?;
    let path = root.join("available_filter_functions");
    let text = std::fs::read_to_string(&path).map_err(|e| AttachError::File {
        path: path.clone(),
        problem: format!("reading the functions a kprobe.multi pattern can match: {e}"),
    })?;
    Ok(functions_matching_in(&text, pattern)?
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// [`match_filter_functions`], with an error naming the pattern when nothing matches.
pub fn functions_matching_in<'a>(
    text: &'a str,
    pattern: &str,
) -> Result<Vec<&'a str>, AttachError> {
    let names = match_filter_functions(text, pattern);
    if names.is_empty() {
        return Err(AttachError::Target {
            what: format!("kprobe.multi {pattern}"),
            problem: format!("no kernel function matches {pattern}"),
        });
    }
    Ok(names)
}

/// What a kprobe_multi link probes.
#[derive(Debug, Clone, Copy)]
pub enum KprobeMultiTarget<'a> {
    /// A shell-style pattern over the kernel's traceable functions (`do_unlink*`).
    Pattern(&'a str),
    /// These kernel functions, by name.
    Symbols(&'a [&'a str]),
    /// These kernel addresses.
    Addresses(&'a [u64]),
}

/// The kind of a kprobe_multi link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KprobeMultiKind {
    /// Entry probes (`kprobe.multi`).
    Entry,
    /// Return probes (`kretprobe.multi`).
    Return,
    /// One program at entry and return (`kprobe.session`, Linux 6.10).
    Session,
}

impl KprobeMultiKind {
    fn section(self) -> &'static str {
        match self {
            KprobeMultiKind::Entry => "kprobe.multi",
            KprobeMultiKind::Return => "kretprobe.multi",
            KprobeMultiKind::Session => "kprobe.session",
        }
    }
}

/// Maps a kprobe_multi link refusal to an error naming the cause.
fn multi_error(what: String, e: corebpf_sys::Error, session: bool) -> AttachError {
    match e.errno() {
        Some(EOPNOTSUPP | ENOTSUPP | EINVAL) if session => AttachError::Unsupported {
            what,
            why: NO_KPROBE_SESSION.into(),
        },
        Some(EOPNOTSUPP | ENOTSUPP) => AttachError::Unsupported {
            what,
            why: NO_KPROBE_MULTI.into(),
        },
        Some(EINVAL) => AttachError::Unsupported {
            what,
            why: "the kernel refused the kprobe_multi link (EINVAL): kprobe_multi links need \
                  Linux 5.18 or later built with CONFIG_FPROBE, and a program loaded with the \
                  trace_kprobe_multi expected attach type"
                .into(),
        },
        Some(ENOENT | ESRCH) => AttachError::Target {
            what,
            problem: "the kernel could not resolve every function (not in /proc/kallsyms, or \
                      a module's function, which kprobe_multi takes from Linux 6.3 on)"
                .into(),
        },
        _ => AttachError::Kernel { what, source: e },
    }
}

/// Asks the kernel whether it has kprobe_multi links, with the program itself and a function
/// name no kernel has: a kernel with them fails to resolve it (ESRCH or ENOENT), one without
/// refuses the link kind.
fn probe_support(
    prog: BorrowedFd<'_>,
    what: &str,
    kind: KprobeMultiKind,
) -> Result<(), AttachError> {
    let (attach_type, flags) = link_kind(kind);
    let probe = ["corebpf_kprobe_multi_probe_no_such_function"];
    match sys_link::kprobe_multi(
        prog,
        KprobeMultiTargets::Symbols(&probe),
        None,
        attach_type,
        flags,
    ) {
        // Only a refusal of the link kind itself stops here; any other answer (ESRCH or
        // ENOENT for the unknown name, depending on the version) leaves the verdict to the
        // real attach.
        Err(e) if matches!(e.errno(), Some(EOPNOTSUPP | ENOTSUPP | EINVAL)) => Err(multi_error(
            what.to_string(),
            e,
            kind == KprobeMultiKind::Session,
        )),
        Ok(_) | Err(_) => Ok(()),
    }
}

fn link_kind(kind: KprobeMultiKind) -> (u32, u32) {
    match kind {
        KprobeMultiKind::Entry => (sys_link::ATTACH_TRACE_KPROBE_MULTI, 0),
        KprobeMultiKind::Return => (
            sys_link::ATTACH_TRACE_KPROBE_MULTI,
            sys_link::KPROBE_MULTI_RETURN,
        ),
        KprobeMultiKind::Session => (sys_link::ATTACH_TRACE_KPROBE_SESSION, 0),
    }
}

/// One kprobe_multi link of `prog` (loaded with the `trace_kprobe_multi` expected attach type,
/// or `trace_kprobe_session` for sessions) over `target`, each probe with its cookie when
/// `cookies` is given (as many as the functions; with a pattern, in the sorted order of the
/// matched names).
pub fn kprobe_multi(
    prog: BorrowedFd<'_>,
    target: KprobeMultiTarget<'_>,
    kind: KprobeMultiKind,
    cookies: Option<&[u64]>,
) -> Result<Link, AttachError> {
    let session = kind == KprobeMultiKind::Session;
    let (attach_type, flags) = link_kind(kind);
    let (what, link) = match target {
        KprobeMultiTarget::Pattern(pattern) => {
            let what = format!("{} {pattern}", kind.section());
            if pattern.is_empty() {
                return Err(AttachError::Target {
                    what,
                    problem: "no function pattern given".into(),
                });
            }
            // Before reading tracefs (which a locked-down kernel may refuse): a kernel without
            // kprobe_multi links says so.
            probe_support(prog, &what, kind)?;
            let names = functions_matching(pattern)?;
            let what = format!("{what} ({} functions)", names.len());
            check_cookies(&what, cookies, names.len())?;
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let link = sys_link::kprobe_multi(
                prog,
                KprobeMultiTargets::Symbols(&refs),
                cookies,
                attach_type,
                flags,
            );
            (what, link)
        }
        KprobeMultiTarget::Symbols(syms) => {
            let what = format!("{} {}", kind.section(), syms.join(","));
            check_cookies(&what, cookies, syms.len())?;
            let link = sys_link::kprobe_multi(
                prog,
                KprobeMultiTargets::Symbols(syms),
                cookies,
                attach_type,
                flags,
            );
            (what, link)
        }
        KprobeMultiTarget::Addresses(addrs) => {
            let what = format!("{} {} addresses", kind.section(), addrs.len());
            check_cookies(&what, cookies, addrs.len())?;
            let link = sys_link::kprobe_multi(
                prog,
                KprobeMultiTargets::Addresses(addrs),
                cookies,
                attach_type,
                flags,
            );
            (what, link)
        }
    };
    match link {
        Ok(fd) => Ok(Link::bpf(fd, what)),
        Err(e) => Err(multi_error(what, e, session)),
    }
}

fn check_cookies(what: &str, cookies: Option<&[u64]>, n: usize) -> Result<(), AttachError> {
    match cookies {
        Some(c) if c.len() != n => Err(AttachError::Target {
            what: what.to_string(),
            problem: format!("{} cookies for {n} functions", c.len()),
        }),
        _ if n == 0 => Err(AttachError::Target {
            what: what.to_string(),
            problem: "no function given".into(),
        }),
        _ => Ok(()),
    }
}

impl Program {
    /// Attaches this `kprobe.multi`/`kretprobe.multi` (or `kprobe.session`) program to
    /// `target` through one kprobe_multi link; `retprobe` makes the probes return probes
    /// (ignored for sessions). `cookies` (one per function) are read with
    /// `bpf_get_attach_cookie`.
    pub fn attach_kprobe_multi(
        &self,
        target: KprobeMultiTarget<'_>,
        retprobe: bool,
        cookies: Option<&[u64]>,
    ) -> Result<Link, AttachError> {
        let kind = match self.expected_attach_type() {
            Some(AttachType::TraceKprobeMulti) if retprobe => KprobeMultiKind::Return,
            Some(AttachType::TraceKprobeMulti) => KprobeMultiKind::Entry,
            Some(AttachType::TraceKprobeSession) => KprobeMultiKind::Session,
            other => {
                return Err(AttachError::Target {
                    what: format!("program {} (section {})", self.name(), self.section()),
                    problem: format!(
                        "a kprobe_multi link needs a program loaded with the trace_kprobe_multi \
                         expected attach type (section kprobe.multi/ or kretprobe.multi/), not \
                         {}",
                        other.map_or("none", |a| a.name())
                    ),
                })
            }
        };
        kprobe_multi(self.fd(), target, kind, cookies)
    }
}

/// Auto-attach of the kprobe family from the section: `pattern` is the section kind
/// (`kprobe`, `ksyscall`, `kprobe.multi`, ...), `target` what follows it.
pub(crate) fn auto_attach(
    prog: BorrowedFd<'_>,
    pattern: &str,
    target: &str,
    retprobe: bool,
) -> Result<Link, AttachError> {
    match pattern {
        "ksyscall" | "kretsyscall" => ksyscall(prog, target, retprobe),
        "kprobe.multi" | "kretprobe.multi" => kprobe_multi(
            prog,
            KprobeMultiTarget::Pattern(target),
            if retprobe {
                KprobeMultiKind::Return
            } else {
                KprobeMultiKind::Entry
            },
            None,
        ),
        "kprobe.session" => kprobe_multi(
            prog,
            KprobeMultiTarget::Pattern(target),
            KprobeMultiKind::Session,
            None,
        ),
        _ => {
            let what = || format!("{pattern} {target}");
            let (func, off) = match target.split_once('+') {
                Some((f, o)) => (
                    f,
                    parse_offset(o).ok_or_else(|| AttachError::Target {
                        what: what(),
                        problem: format!("offset {o:?} is not a number"),
                    })?,
                ),
                None => (target, 0),
            };
            if func.is_empty() {
                return Err(AttachError::Target {
                    what: what(),
                    problem: "no kernel function named (kprobe/FUNC[+OFFSET])".into(),
                });
            }
            if retprobe && off != 0 {
                return Err(AttachError::Target {
                    what: what(),
                    problem: "a kretprobe cannot have an offset".into(),
                });
            }
            crate::attach::kprobe(prog, func, off, retprobe)
        }
    }
}

fn parse_offset(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("do_unlinkat", "do_unlinkat"));
        assert!(!glob_match("do_unlinkat", "do_unlinkat2"));
        assert!(glob_match("do_unlink*", "do_unlinkat"));
        assert!(glob_match("*unlink*", "do_unlinkat"));
        assert!(glob_match("do_?nlinkat", "do_unlinkat"));
        assert!(!glob_match("do_?nlinkat", "do_nlinkat"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("?", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
        assert!(glob_match("**x", "x"));
        // A pathological pattern stays fast (one retry point).
        let long = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*a*a*a*b", &long));
    }

    #[test]
    fn filter_functions_text() {
        let text = "do_unlinkat\nvfs_unlink\n__ftrace_invalid_address___84\ndo_rmdir\n\
                    vfs_unlink\nfoo_unlink [mod_a]\ndo_unlinkat [mod_b]\n";
        assert_eq!(
            match_filter_functions(text, "*unlink*"),
            vec!["do_unlinkat", "foo_unlink", "vfs_unlink"]
        );
        assert_eq!(
            match_filter_functions(text, "__ftrace*"),
            Vec::<&str>::new()
        );
        assert_eq!(match_filter_functions(text, "do_r?dir"), vec!["do_rmdir"]);
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("0x10"), Some(16));
        assert_eq!(parse_offset("12"), Some(12));
        assert_eq!(parse_offset("x"), None);
    }
}
