//! Errors of the classic BPF module.

use std::fmt;

/// A program that cannot be decoded or would be rejected by the kernel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{len} bytes is not a whole number of 8-byte instructions")]
    BadByteLength { len: usize },
    #[error("empty program")]
    Empty,
    #[error("{len} instructions, more than the kernel's limit of 4096")]
    TooLong { len: usize },
    #[error("instruction {pc}: unknown opcode {code:#x}")]
    UnknownOpcode { pc: usize, code: u16 },
    #[error("instruction {pc}: jump to {target} is outside the program ({len} instructions)")]
    JumpOutOfRange { pc: usize, target: u64, len: usize },
    #[error("instruction {pc}: division by constant zero")]
    DivByZero { pc: usize },
    #[error("instruction {pc}: shift by {k}, must be below 32")]
    BadShift { pc: usize, k: u32 },
    #[error("instruction {pc}: scratch memory M[{index}] does not exist (M[0]..M[15])")]
    BadMemIndex { pc: usize, index: u32 },
    #[error("instruction {pc}: unknown ancillary load offset {k:#x}")]
    BadAncillary { pc: usize, k: u32 },
    #[error("last instruction ({pc}) is not a return")]
    NoFinalRet { pc: usize },
    #[error("instruction {pc}: reads M[{index}], which is not written on every path before it")]
    UninitMem { pc: usize, index: u32 },
    #[error("cannot reconstruct a filter expression: {reason}")]
    NotReconstructible { reason: &'static str },
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Text that is not a classic BPF program in any of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {problem}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    pub problem: ParseProblem,
}

/// What is wrong at a [`ParseError`]'s position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseProblem {
    /// No instructions at all.
    Empty,
    /// Not a number (or does not fit the field).
    BadNumber { token: String, field: &'static str },
    /// An instruction record with the wrong number of fields.
    FieldCount { found: usize, expected: usize },
    /// A leading instruction count that disagrees with the instructions that follow.
    CountMismatch { declared: u64, found: usize },
    /// An unknown mnemonic in `tcpdump -d` text.
    UnknownMnemonic(String),
    /// An operand that does not fit the mnemonic.
    BadOperand { mnemonic: String, operand: String },
    /// A `(NNN)` label that is not the instruction's index.
    BadLabel { expected: usize, found: String },
    /// A jump whose target lies before the instruction or too far ahead to encode.
    BadJumpTarget { pc: usize, target: u64 },
    /// Something unexpected.
    Unexpected {
        found: String,
        expected: &'static str,
    },
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseProblem::Empty => write!(f, "no instructions found"),
            ParseProblem::BadNumber { token, field } => {
                write!(f, "`{token}` is not a valid {field}")
            }
            ParseProblem::FieldCount { found, expected } => write!(
                f,
                "instruction has {found} fields, expected {expected} (code jt jf k)"
            ),
            ParseProblem::CountMismatch { declared, found } => write!(
                f,
                "instruction count says {declared} but {found} instructions follow"
            ),
            ParseProblem::UnknownMnemonic(m) => write!(f, "unknown mnemonic `{m}`"),
            ParseProblem::BadOperand { mnemonic, operand } => {
                write!(f, "`{operand}` is not a valid operand for `{mnemonic}`")
            }
            ParseProblem::BadLabel { expected, found } => {
                write!(f, "label `{found}` should be ({expected:03})")
            }
            ParseProblem::BadJumpTarget { pc, target } => write!(
                f,
                "instruction {pc}: jump target {target} is not ahead of it within 255 (or 2^32 for ja)"
            ),
            ParseProblem::Unexpected { found, expected } => {
                write!(f, "unexpected `{found}`, expected {expected}")
            }
        }
    }
}
