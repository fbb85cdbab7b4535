//! The error type of the library.

use std::fmt;
use std::path::PathBuf;

use corebpf_obj::link::LinkError;
use corebpf_obj::ObjError;

/// A source position from line info: file, line number and the line's text.
pub type SourceLine = (String, u32, String);

/// An error opening, loading or using an object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The object is malformed.
    #[error("object {object}: {source}")]
    Parse {
        object: String,
        #[source]
        source: ObjError,
    },
    /// Relocating the object against the target kernel failed.
    #[error("object {object}: {source}")]
    Link {
        object: String,
        #[source]
        source: LinkError,
    },
    /// The object's byte order differs from the kernel's.
    #[error("object {object} is big-endian, this kernel is little-endian: rebuild it with `-target bpf` (or `bpfel`)")]
    BigEndian { object: String },
    /// The target BTF (kernel or `--target-btf`) could not be used.
    #[error("target BTF {}: {problem}", path.display())]
    TargetBtf { path: PathBuf, problem: String },
    /// Kernel configuration values could not be read.
    #[error("kernel config {}: {problem}", path.display())]
    Kconfig { path: PathBuf, problem: String },
    /// The object's BTF could not be prepared or the kernel refused it.
    #[error("object {object}: BTF: {problem}{}", log_tail(log))]
    Btf {
        object: String,
        problem: String,
        log: String,
    },
    /// A global variable cannot be set as asked.
    #[error("global `{name}`: {problem}")]
    Global { name: String, problem: String },
    /// Creating, filling or pinning a map failed.
    #[error("map `{map}`: {problem}")]
    Map { map: String, problem: String },
    /// A program cannot be loaded as declared (attach target missing, unsupported section...).
    #[error("program {program} ({section}): {problem}")]
    Program {
        program: String,
        section: String,
        problem: String,
    },
    /// The kernel refused a program without a verifier log (permissions, policy, attach target).
    #[error("program {program} ({section}): {problem}")]
    ProgramRefused {
        program: String,
        section: String,
        problem: String,
        errno: Option<i32>,
    },
    /// The verifier rejected a program.
    #[error("{}", VerifierDisplay {
        program, section, log, insn: *insn, source_line: source_line.as_ref(),
        core_access: core_access.as_deref(), hint: *hint
    })]
    Verifier {
        program: String,
        section: String,
        log: String,
        /// Index of the failing instruction in the loaded program.
        insn: Option<usize>,
        source_line: Option<SourceLine>,
        /// The C access path of a CO-RE relocation at or just before the failing instruction.
        core_access: Option<String>,
        hint: Option<&'static str>,
    },
    /// A target program (of freplace, or fentry/fexit on a BPF program) cannot be used.
    #[error("attach target {target}: {problem}")]
    AttachTarget { target: String, problem: String },
    /// Pinning or opening a pinned object failed.
    #[error("pin {}: {problem}", path.display())]
    Pin { path: PathBuf, problem: String },
    /// A kernel call failed outside the cases above.
    #[error("{0}")]
    Sys(#[from] corebpf_sys::Error),
    /// No program or map of that name.
    #[error("no {what} named `{name}` in the object")]
    NotFound { what: &'static str, name: String },
    /// A map access with the wrong key or value size.
    #[error("map `{map}`: {what} is {got} bytes, the map's is {want}")]
    Size {
        map: String,
        what: &'static str,
        got: usize,
        want: usize,
    },
}

fn log_tail(log: &str) -> String {
    if log.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = log.lines().collect();
        let tail = &lines[lines.len().saturating_sub(8)..];
        format!("\nkernel BTF log (tail):\n{}", tail.join("\n"))
    }
}

impl LoadError {
    /// The last error line of a verifier log (the one-line reason), if this is a verifier error.
    pub fn verifier_summary(&self) -> Option<&str> {
        match self {
            LoadError::Verifier { log, .. } => Some(crate::verifier::summary(log)),
            _ => None,
        }
    }
}

/// How many log lines the error's Display shows at most (the full log stays in the field).
pub const LOG_TAIL_LINES: usize = 60;

struct VerifierDisplay<'e> {
    program: &'e str,
    section: &'e str,
    log: &'e str,
    insn: Option<usize>,
    source_line: Option<&'e SourceLine>,
    core_access: Option<&'e str>,
    hint: Option<&'static str>,
}

impl fmt::Display for VerifierDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "program {} ({}): the verifier rejected it: {}",
            self.program,
            self.section,
            crate::verifier::summary(self.log)
        )?;
        if let Some(i) = self.insn {
            write!(f, "  at instruction {i}")?;
            if let Some((file, line, text)) = self.source_line {
                write!(f, ", {file}:{line}: {}", text.trim())?;
            }
            writeln!(f)?;
        }
        if let Some(a) = self.core_access {
            writeln!(f, "  CO-RE access there: {a}")?;
        }
        if let Some(h) = self.hint {
            writeln!(f, "  hint: {h}")?;
        }
        let lines: Vec<&str> = self.log.lines().collect();
        let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
        if skip > 0 {
            writeln!(
                f,
                "verifier log (last {LOG_TAIL_LINES} of {} lines):",
                lines.len()
            )?;
        } else {
            writeln!(f, "verifier log:")?;
        }
        for l in &lines[skip..] {
            writeln!(f, "  {l}")?;
        }
        Ok(())
    }
}
