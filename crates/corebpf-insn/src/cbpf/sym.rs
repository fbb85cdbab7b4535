//! Symbolic execution: what A, X and the scratch words hold, as expressions over the packet,
//! and the program as a reduced decision diagram over the tests it makes.

use std::collections::HashMap;

use super::{AluOp, Insn, JmpOp, Op, RetVal, Size, Src, SKF_AD_OFF};

/// Where an indirect load's X comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Base {
    /// Absolute packet offset.
    Abs,
    /// X = 4 * (P[k] & 0xf): an IPv4 header length read at offset k.
    Msh(u32),
    /// Anything else.
    Other(Box<Val>),
}

/// Symbolic value of a register or scratch word.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Val {
    Const(u32),
    /// Packet length.
    Len,
    /// Ancillary word at `SKF_AD_OFF + n`.
    Anc(u32),
    /// A packet load.
    Pkt {
        base: Base,
        off: u32,
        size: Size,
    },
    /// 4 * (P[k] & 0xf).
    Msh(u32),
    Alu(AluOp, Box<Val>, Box<Val>),
    Neg(Box<Val>),
    /// Never written (reads as 0 in the kernel).
    Unknown,
}

impl Val {
    pub(crate) fn as_const(&self) -> Option<u32> {
        match self {
            Val::Const(c) => Some(*c),
            _ => None,
        }
    }
}

/// A conditional jump's test: `lhs op rhs`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Cond {
    pub op: JmpOp,
    pub lhs: Val,
    pub rhs: Val,
}

/// Register and scratch state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct State {
    pub a: Val,
    pub x: Val,
    pub mem: [Val; 16],
}

impl State {
    pub(crate) fn new() -> Self {
        State {
            a: Val::Const(0),
            x: Val::Const(0),
            mem: std::array::from_fn(|_| Val::Unknown),
        }
    }
}

fn alu(op: AluOp, a: Val, b: Val) -> Val {
    if let (Some(x), Some(y)) = (a.as_const(), b.as_const()) {
        if let Some(v) = op.apply(x, y) {
            return Val::Const(v);
        }
    }
    // `(P[k] & 0xf) << 2` is the IPv4 header length, as `ldxb 4*([k]&0xf)` computes it.
    if let (AluOp::Lsh, Val::Const(2)) | (AluOp::Mul, Val::Const(4)) = (op, &b) {
        if let Val::Alu(AluOp::And, inner, mask) = &a {
            if let (
                Val::Pkt {
                    base: Base::Abs,
                    off,
                    size: Size::B,
                },
                Val::Const(0xf),
            ) = (inner.as_ref(), mask.as_ref())
            {
                return Val::Msh(*off);
            }
        }
    }
    Val::Alu(op, Box::new(a), Box::new(b))
}

/// What executing a non-terminal instruction does to the state, and where control goes.
pub(crate) enum Step {
    /// Continue at this index.
    Next(usize),
    /// Conditional: the test and the two targets.
    Branch(Cond, usize, usize),
    /// Return.
    Ret(RetVal),
    /// A runtime failure (constant division by zero): returns 0.
    Abort,
}

/// Execute instruction `pc` symbolically, updating `st`.
pub(crate) fn step(pc: usize, insn: Insn, st: &mut State) -> Step {
    let Some(op) = insn.op() else {
        return Step::Abort;
    };
    let next = pc + 1;
    match op {
        Op::LdAbs { size, k } => {
            st.a = if k >= SKF_AD_OFF {
                Val::Anc(k - SKF_AD_OFF)
            } else {
                Val::Pkt {
                    base: Base::Abs,
                    off: k,
                    size,
                }
            };
        }
        Op::LdInd { size, k } => {
            st.a = match &st.x {
                Val::Const(c) => Val::Pkt {
                    base: Base::Abs,
                    off: c.wrapping_add(k),
                    size,
                },
                Val::Msh(m) => Val::Pkt {
                    base: Base::Msh(*m),
                    off: k,
                    size,
                },
                Val::Alu(AluOp::Add, l, r) => match (l.as_ref(), r.as_ref()) {
                    (Val::Msh(m), Val::Const(c)) | (Val::Const(c), Val::Msh(m)) => Val::Pkt {
                        base: Base::Msh(*m),
                        off: k.wrapping_add(*c),
                        size,
                    },
                    _ => Val::Pkt {
                        base: Base::Other(Box::new(st.x.clone())),
                        off: k,
                        size,
                    },
                },
                other => Val::Pkt {
                    base: Base::Other(Box::new(other.clone())),
                    off: k,
                    size,
                },
            };
        }
        Op::LdLen => st.a = Val::Len,
        Op::LdxLen => st.x = Val::Len,
        Op::LdImm(k) => st.a = Val::Const(k),
        Op::LdxImm(k) => st.x = Val::Const(k),
        Op::LdMem(k) => st.a = st.mem.get(k as usize).cloned().unwrap_or(Val::Unknown),
        Op::LdxMem(k) => st.x = st.mem.get(k as usize).cloned().unwrap_or(Val::Unknown),
        Op::LdxMsh(k) => st.x = Val::Msh(k),
        Op::St(k) => {
            if let Some(m) = st.mem.get_mut(k as usize) {
                *m = st.a.clone();
            }
        }
        Op::Stx(k) => {
            if let Some(m) = st.mem.get_mut(k as usize) {
                *m = st.x.clone();
            }
        }
        Op::Alu { op, src } => {
            let b = match src {
                Src::K(k) => Val::Const(k),
                Src::X => st.x.clone(),
            };
            if matches!(op, AluOp::Div | AluOp::Mod) && b == Val::Const(0) {
                return Step::Abort;
            }
            let a = std::mem::replace(&mut st.a, Val::Unknown);
            st.a = alu(op, a, b);
        }
        Op::Neg => {
            st.a = match &st.a {
                Val::Const(c) => Val::Const(c.wrapping_neg()),
                other => Val::Neg(Box::new(other.clone())),
            }
        }
        Op::Tax => st.x = st.a.clone(),
        Op::Txa => st.a = st.x.clone(),
        Op::Ja(k) => return Step::Next(next.saturating_add(k as usize)),
        Op::Jmp { op, src, jt, jf } => {
            let rhs = match src {
                Src::K(k) => Val::Const(k),
                Src::X => st.x.clone(),
            };
            return Step::Branch(
                Cond {
                    op,
                    lhs: st.a.clone(),
                    rhs,
                },
                next + jt as usize,
                next + jf as usize,
            );
        }
        Op::Ret(r) => return Step::Ret(r),
    }
    Step::Next(next)
}

/// Decide a test whose outcome is known without the packet.
pub(crate) fn decide(c: &Cond) -> Option<bool> {
    // Tests whose outcome does not depend on the left operand.
    match (c.op, c.rhs.as_const()) {
        (JmpOp::Jset, Some(0)) | (JmpOp::Jgt, Some(u32::MAX)) => return Some(false),
        (JmpOp::Jge, Some(0)) => return Some(true),
        _ => {}
    }
    Some(c.op.test(c.lhs.as_const()?, c.rhs.as_const()?))
}

/// A node of the decision diagram.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    Reject,
    /// `ret #k` with k != 0.
    Accept(u32),
    Test {
        cond: Cond,
        t: usize,
        f: usize,
    },
}

/// The program as a reduced decision diagram: equal sub-diagrams are shared and tests with
/// equal outcomes are removed.
#[derive(Debug)]
pub(crate) struct Dag {
    pub nodes: Vec<Node>,
    pub root: usize,
}

/// Why a program could not be turned into a decision diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DagError {
    TooComplex,
}

struct Builder<'a> {
    insns: &'a [Insn],
    nodes: Vec<Node>,
    interned: HashMap<Node, usize>,
    memo: HashMap<(usize, State), usize>,
    budget: usize,
}

impl Builder<'_> {
    fn intern(&mut self, n: Node) -> usize {
        if let Node::Test { t, f, .. } = &n {
            if t == f {
                return *t;
            }
        }
        if let Some(&id) = self.interned.get(&n) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(n.clone());
        self.interned.insert(n, id);
        id
    }

    fn visit(&mut self, mut pc: usize, mut st: State, depth: usize) -> Result<usize, DagError> {
        if depth > 256 || self.budget == 0 {
            return Err(DagError::TooComplex);
        }
        self.budget -= 1;
        let key = (pc, st.clone());
        if let Some(&id) = self.memo.get(&key) {
            return Ok(id);
        }
        let id = loop {
            let Some(&insn) = self.insns.get(pc) else {
                break self.intern(Node::Reject);
            };
            match step(pc, insn, &mut st) {
                Step::Next(n) => pc = n,
                Step::Abort => break self.intern(Node::Reject),
                Step::Ret(RetVal::K(0)) => break self.intern(Node::Reject),
                Step::Ret(RetVal::K(k)) => break self.intern(Node::Accept(k)),
                Step::Ret(RetVal::A) => match st.a.as_const() {
                    Some(0) => break self.intern(Node::Reject),
                    Some(k) => break self.intern(Node::Accept(k)),
                    None => {
                        let t = self.intern(Node::Accept(u32::MAX));
                        let f = self.intern(Node::Reject);
                        let cond = Cond {
                            op: JmpOp::Jgt,
                            lhs: st.a.clone(),
                            rhs: Val::Const(0),
                        };
                        break self.intern(Node::Test { cond, t, f });
                    }
                },
                Step::Branch(cond, t, f) => match decide(&cond) {
                    Some(true) => pc = t,
                    Some(false) => pc = f,
                    None => {
                        let tn = self.visit(t, st.clone(), depth + 1)?;
                        let fnode = self.visit(f, st, depth + 1)?;
                        break self.intern(Node::Test {
                            cond,
                            t: tn,
                            f: fnode,
                        });
                    }
                },
            }
        };
        self.memo.insert(key, id);
        Ok(id)
    }
}

/// Build the decision diagram of a validated program.
pub(crate) fn build_dag(insns: &[Insn]) -> Result<Dag, DagError> {
    let mut b = Builder {
        insns,
        nodes: Vec::new(),
        interned: HashMap::new(),
        memo: HashMap::new(),
        budget: 200_000,
    };
    let root = b.visit(0, State::new(), 0)?;
    Ok(Dag {
        nodes: b.nodes,
        root,
    })
}
