//! Per-instruction explanation in packet terms, from a path-sensitive walk of the program
//! that tracks what is known (link type Ethernet) along each path.

use std::fmt::Write as _;
use std::rc::Rc;

use super::proto::{self, cond_human, describe, Facts, Layers};
use super::sym::{self, State, Step, Val};
use super::{disasm, Insn, JmpOp, Op, RetVal};

/// Notes on one instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsnNote {
    pub pc: usize,
    /// The `tcpdump -d` line.
    pub line: String,
    /// What the instruction does in packet terms; one entry per distinct reading when the
    /// paths reaching it know different things (empty when no path reaches it).
    pub notes: Vec<String>,
}

/// One way through the program that accepts the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptPath {
    /// The tests along the path and how they came out, in packet terms.
    pub conditions: Vec<String>,
    /// Instruction index of the return.
    pub ret_pc: usize,
    /// What is returned (snap length), `None` for `ret a`.
    pub snap: Option<u32>,
}

/// The explanation of a whole program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub insns: Vec<InsnNote>,
    pub accept_paths: Vec<AcceptPath>,
    /// False when the program had more paths than were walked; notes and paths are partial.
    pub complete: bool,
}

/// A path still to walk: pc, state, known values, known non-values, conditions so far.
type Pending = (usize, State, Facts, Vec<(Val, u32)>, Trail);

/// The conditions of a path, newest first, shared between the paths that branch off it.
type Trail = Option<Rc<Step1>>;

struct Step1 {
    cond: String,
    prev: Trail,
}

fn trail_push(t: &Trail, cond: String) -> Trail {
    Some(Rc::new(Step1 {
        cond,
        prev: t.clone(),
    }))
}

fn trail_vec(t: &Trail) -> Vec<String> {
    let mut v = Vec::new();
    let mut cur = t.as_ref();
    while let Some(s) = cur {
        v.push(s.cond.clone());
        cur = s.prev.as_ref();
    }
    v.reverse();
    v
}

/// Whether an established value can change how later offsets read: ethertypes, IP
/// protocol / next-header bytes, the offloaded-VLAN flag. Other facts are not kept, which
/// bounds the per-path state.
fn layer_relevant(v: &Val) -> bool {
    match v {
        Val::Anc(48) => true,
        Val::Pkt {
            base: sym::Base::Abs,
            off,
            size,
        } => match size {
            super::Size::H => matches!(off, 12 | 16 | 20 | 24 | 28),
            super::Size::B => *off <= 80,
            super::Size::W => false,
        },
        _ => false,
    }
}

/// Decide a test from what the path already established about its left operand.
fn known(c: &sym::Cond, facts: &Facts, nots: &[(Val, u32)]) -> Option<bool> {
    let k = c.rhs.as_const()?;
    if let Some(set) = proto::lookup(facts, &c.lhs) {
        let first = c.op.test(*set.first()?, k);
        if set.iter().all(|v| c.op.test(*v, k) == first) {
            return Some(first);
        }
    }
    if c.op == JmpOp::Jeq && nots.iter().any(|(v, n)| *n == k && *v == c.lhs) {
        return Some(false);
    }
    None
}

const MAX_STEPS: usize = 50_000;
const MAX_PATHS: usize = 64;
const MAX_NOTES: usize = 4;
/// Visits of one instruction after which no more readings of it are collected.
const MAX_NOTE_VISITS: usize = 64;

struct Walker<'a> {
    insns: &'a [Insn],
    notes: Vec<Vec<String>>,
    visits: Vec<usize>,
    paths: Vec<AcceptPath>,
    steps: usize,
    complete: bool,
}

impl Walker<'_> {
    fn note(&mut self, pc: usize, text: String) {
        if let Some(v) = self.notes.get_mut(pc) {
            if !v.contains(&text) {
                if v.len() < MAX_NOTES {
                    v.push(text);
                } else if v.len() == MAX_NOTES {
                    v.push("… (more readings on other paths)".into());
                }
            }
        }
    }

    fn walk(&mut self) {
        // Depth-first over paths with an explicit stack: (pc, state, facts, conditions).
        let mut stack: Vec<Pending> = vec![(0, State::new(), Vec::new(), Vec::new(), None)];
        while let Some((mut pc, mut st, mut facts, nots, mut conds)) = stack.pop() {
            loop {
                if self.steps >= MAX_STEPS {
                    self.complete = false;
                    return;
                }
                self.steps += 1;
                let Some(&insn) = self.insns.get(pc) else {
                    break;
                };
                let ly = Layers::from_facts(&facts);
                let visits = self.visits.get_mut(pc).map_or(usize::MAX, |v| {
                    *v += 1;
                    *v
                });
                let step = if visits <= MAX_NOTE_VISITS {
                    let before = st.clone();
                    let step = sym::step(pc, insn, &mut st);
                    let text = self.describe_insn(insn, &before, &st, &ly);
                    self.note(pc, text);
                    step
                } else {
                    sym::step(pc, insn, &mut st)
                };
                match step {
                    Step::Next(n) => pc = n,
                    Step::Abort => break,
                    Step::Ret(r) => {
                        let snap = match r {
                            RetVal::K(k) => Some(k),
                            RetVal::A => st.a.as_const(),
                        };
                        if snap != Some(0) {
                            if self.paths.len() < MAX_PATHS {
                                self.paths.push(AcceptPath {
                                    conditions: trail_vec(&conds),
                                    ret_pc: pc,
                                    snap,
                                });
                            } else {
                                self.complete = false;
                            }
                        }
                        break;
                    }
                    Step::Branch(cond, t, f) => {
                        if let Some(out) =
                            sym::decide(&cond).or_else(|| known(&cond, &facts, &nots))
                        {
                            pc = if out { t } else { f };
                            continue;
                        }
                        // The false side keeps `facts` and learns a non-value; the true side
                        // learns a value and keeps `nots`.
                        let mut tfacts = facts.clone();
                        let mut fnots = nots.clone();
                        if let (JmpOp::Jeq, Some(k)) = (cond.op, cond.rhs.as_const()) {
                            if layer_relevant(&cond.lhs) {
                                tfacts.push((cond.lhs.clone(), vec![k]));
                                fnots.push((cond.lhs.clone(), k));
                            }
                        }
                        let tconds = trail_push(&conds, cond_human(&cond, &ly, true));
                        let fconds = trail_push(&conds, cond_human(&cond, &ly, false));
                        // Walk the true side first.
                        stack.push((f, st.clone(), std::mem::take(&mut facts), fnots, fconds));
                        pc = t;
                        facts = tfacts;
                        conds = tconds;
                    }
                }
            }
        }
    }

    fn describe_insn(&self, insn: Insn, before: &State, after: &State, ly: &Layers) -> String {
        let Some(op) = insn.op() else {
            return "unknown opcode: the kernel rejects this program".into();
        };
        let a = || describe(&after.a, ly).human;
        match op {
            Op::LdAbs { .. } | Op::LdInd { .. } | Op::LdLen | Op::LdImm(_) | Op::LdMem(_) => {
                format!("A = {}", a())
            }
            Op::Alu { .. } | Op::Neg | Op::Txa => format!("A = {}", a()),
            Op::LdxImm(_) | Op::LdxMem(_) | Op::LdxLen | Op::LdxMsh(_) | Op::Tax => {
                format!("X = {}", describe(&after.x, ly).human)
            }
            Op::St(k) => format!("M[{k}] = A ({})", describe(&before.a, ly).human),
            Op::Stx(k) => format!("M[{k}] = X ({})", describe(&before.x, ly).human),
            Op::Ja(_) => "jump".into(),
            Op::Jmp { op, src, .. } => {
                let rhs = match src {
                    super::Src::K(k) => Val::Const(k),
                    super::Src::X => before.x.clone(),
                };
                let cond = sym::Cond {
                    op,
                    lhs: before.a.clone(),
                    rhs,
                };
                match sym::decide(&cond) {
                    Some(out) => format!("always {}", if out { "true" } else { "false" }),
                    None => format!("if {}", cond_human(&cond, ly, true)),
                }
            }
            Op::Ret(RetVal::K(0)) => "drop the packet".into(),
            Op::Ret(RetVal::K(u32::MAX)) => "accept the whole packet".into(),
            Op::Ret(RetVal::K(k)) => format!("accept, keeping up to {k} bytes"),
            Op::Ret(RetVal::A) => format!(
                "return A ({}): accept that many bytes, drop if 0",
                describe(&before.a, ly).human
            ),
        }
    }
}

/// Explain a validated program (link type Ethernet).
pub fn explain(insns: &[Insn]) -> Explanation {
    let mut w = Walker {
        insns,
        notes: vec![Vec::new(); insns.len()],
        visits: vec![0; insns.len()],
        paths: Vec::new(),
        steps: 0,
        complete: true,
    };
    w.walk();
    let notes = std::mem::take(&mut w.notes);
    Explanation {
        insns: insns
            .iter()
            .zip(notes)
            .enumerate()
            .map(|(pc, (&insn, notes))| InsnNote {
                pc,
                line: disasm::disassemble_insn(pc, insn),
                notes,
            })
            .collect(),
        accept_paths: w.paths,
        complete: w.complete,
    }
}

impl Explanation {
    /// The disassembly with each instruction's notes as a trailing comment.
    pub fn annotated(&self) -> String {
        let mut s = String::new();
        for n in &self.insns {
            s.push_str(&n.line);
            // The `tcpdump -d` line contains a tab; align comments on a fixed column.
            let width = n.line.chars().fold(0, |col, c| {
                if c == '\t' {
                    (col / 8 + 1) * 8
                } else {
                    col + 1
                }
            });
            let pad = 56usize.saturating_sub(width).max(2);
            if n.notes.is_empty() {
                let _ = writeln!(s, "{:pad$}; unreachable", "");
            } else {
                let _ = writeln!(s, "{:pad$}; {}", "", n.notes.join(" | "));
            }
        }
        s
    }

    /// One line per accepting path: its conditions joined with "and".
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if self.accept_paths.is_empty() {
            s.push_str("never accepts a packet\n");
        }
        for p in &self.accept_paths {
            let what = match p.snap {
                Some(u32::MAX) => "accept whole packet".to_string(),
                Some(k) => format!("accept {k} bytes"),
                None => "accept A bytes".to_string(),
            };
            if p.conditions.is_empty() {
                let _ = writeln!(s, "always: {what} (ret at {})", p.ret_pc);
            } else {
                let _ = writeln!(
                    s,
                    "{}: {what} (ret at {})",
                    p.conditions.join(", "),
                    p.ret_pc
                );
            }
        }
        if !self.complete {
            s.push_str("(too many paths: list truncated)\n");
        }
        s
    }
}
