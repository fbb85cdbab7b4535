use std::io;

/// An error from the kernel boundary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; `op` names what was attempted (`map create`, `prog load`, …).
    #[error("{op}: {source}")]
    Syscall {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The verifier (or the BTF checker) refused the input; `log` is its full text.
    #[error("{op}: {source}")]
    Rejected {
        op: &'static str,
        #[source]
        source: io::Error,
        log: String,
    },
    /// A pseudo filesystem (tracefs, bpffs) could not be mounted.
    #[error("mount {fstype} at {target}: {source}")]
    Mount {
        fstype: String,
        target: String,
        #[source]
        source: io::Error,
    },
    /// This kernel lacks a feature.
    #[error("{what} are not available: {why}")]
    Unsupported { what: String, why: String },
    /// An argument cannot be passed to the kernel as given.
    #[error("{op}: {problem}")]
    InvalidArgument { op: &'static str, problem: String },
}

impl Error {
    /// The errno of the failed call, when there was one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Syscall { source, .. }
            | Error::Rejected { source, .. }
            | Error::Mount { source, .. } => source.raw_os_error(),
            Error::InvalidArgument { .. } | Error::Unsupported { .. } => None,
        }
    }

    /// The verifier or BTF log attached to a rejection.
    pub fn log(&self) -> Option<&str> {
        match self {
            Error::Rejected { log, .. } => Some(log),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
