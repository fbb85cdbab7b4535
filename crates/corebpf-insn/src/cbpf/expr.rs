//! Reconstruction of a pcap filter expression from a classic BPF program.
//!
//! The program is turned into a reduced decision diagram by symbolic execution
//! ([`super::sym`]), the diagram into a boolean formula over "atoms" (one test of one
//! symbolic value each), the formula is simplified (or-chains on one field become sets,
//! shared tails are factored out, implied negations dropped), and finally printed as pcap
//! filter syntax. Printing tracks, along each conjunction, what the earlier atoms established
//! (ethertype, IP protocol) so fields print relative to their header (`ip[9]`, `tcp[13]`) and
//! recognized idioms print as keywords (`ip`, `tcp`, `port`, `host`, `net`, `vlan`,
//! `ether host`, `portrange`, …); anything else falls back to byte comparisons.

use std::net::Ipv6Addr;

use super::proto::{describe, dotted, l4_name, Facts, Kind, Layers, L3, VLAN_TPIDS};
use super::sym::{self, Base, Cond, Dag, Node, Val};
use super::{Error, Insn, JmpOp, Size};

/// A reconstructed filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconstruction {
    /// pcap filter syntax; `""` accepts everything (as tcpdump's empty filter).
    pub expr: String,
    /// The snap length returned when the filter accepts (tcpdump's `-s`), when constant.
    pub snap: Option<u32>,
}

/// Boolean formula over atoms.
#[derive(Clone, Debug, PartialEq, Eq)]
enum B {
    True,
    False,
    /// A test and whether it holds.
    Atom(Cond, bool),
    /// `lhs` equals one of the values.
    In(Val, Vec<u32>),
    And(Vec<B>),
    Or(Vec<B>),
}

const MAX_WORK: usize = 200_000;

struct Conv<'a> {
    dag: &'a Dag,
    work: usize,
    /// Build the formula of the complement (where the program rejects).
    negate: bool,
}

/// Outcome of `c` given the tests assumed on the path so far.
fn implied(c: &Cond, assume: &[(Cond, bool)]) -> Option<bool> {
    for (a, out) in assume.iter().rev() {
        if a == c {
            return Some(*out);
        }
        if a.lhs == c.lhs && a.op == JmpOp::Jeq {
            if let (Some(v), Some(k)) = (a.rhs.as_const(), c.rhs.as_const()) {
                if *out {
                    return Some(c.op.test(v, k));
                }
                if c.op == JmpOp::Jeq && v == k {
                    return Some(false);
                }
            }
        }
    }
    None
}

impl Conv<'_> {
    fn conv(&mut self, n: usize, assume: &mut Vec<(Cond, bool)>) -> Result<B, Error> {
        self.work += 1;
        if self.work > MAX_WORK {
            return Err(Error::NotReconstructible {
                reason: "too many paths",
            });
        }
        let node = self.dag.nodes.get(n).ok_or(Error::NotReconstructible {
            reason: "internal: dangling node",
        })?;
        match node {
            Node::Reject => Ok(if self.negate { B::True } else { B::False }),
            Node::Accept(_) => Ok(if self.negate { B::False } else { B::True }),
            Node::Test { cond, t, f } => {
                if let Some(out) = implied(cond, assume) {
                    return self.conv(if out { *t } else { *f }, assume);
                }
                assume.push((cond.clone(), true));
                let bt = self.conv(*t, assume);
                assume.pop();
                let bt = bt?;
                assume.push((cond.clone(), false));
                let bf = self.conv(*f, assume);
                assume.pop();
                Ok(combine(cond, bt, bf?))
            }
        }
    }
}

fn and(items: Vec<B>) -> B {
    let mut out = Vec::new();
    for i in items {
        match i {
            B::True => {}
            B::False => return B::False,
            B::And(v) => out.extend(v),
            x => out.push(x),
        }
    }
    match out.len() {
        0 => B::True,
        1 => out.pop().unwrap_or(B::True),
        _ => B::And(out),
    }
}

fn or(items: Vec<B>) -> B {
    let mut out: Vec<B> = Vec::new();
    for i in items {
        match i {
            B::False => {}
            B::True => return B::True,
            B::Or(v) => {
                for x in v {
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
            }
            x => {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
    }
    match out.len() {
        0 => B::False,
        1 => out.pop().unwrap_or(B::False),
        _ => B::Or(out),
    }
}

/// Whether `b` can only hold when test `c` fails.
fn implies_not(c: &Cond, b: &B) -> bool {
    let Some(k) = c.rhs.as_const() else {
        return false;
    };
    match b {
        B::Atom(a, true) => {
            a.op == JmpOp::Jeq
                && a.lhs == c.lhs
                && a.rhs.as_const().is_some_and(|v| !c.op.test(v, k))
        }
        B::In(lhs, set) => *lhs == c.lhs && set.iter().all(|v| !c.op.test(*v, k)),
        B::And(v) => v.iter().any(|x| implies_not(c, x)),
        B::Or(v) => v.iter().all(|x| implies_not(c, x)),
        B::False => true,
        _ => false,
    }
}

/// `items` without `x`'s disjuncts, when all of them are among `items` (else `items`).
fn minus(items: &[B], x: &B) -> Vec<B> {
    let xs: &[B] = match x {
        B::Or(v) => v,
        other => std::slice::from_ref(other),
    };
    if xs.iter().all(|i| items.contains(i)) {
        items.iter().filter(|i| !xs.contains(i)).cloned().collect()
    } else {
        items.to_vec()
    }
}

/// `(c and t) or (not c and f)`, simplified.
fn combine(c: &Cond, t: B, f: B) -> B {
    let pos = B::Atom(c.clone(), true);
    let neg = B::Atom(c.clone(), false);
    if t == f {
        return t;
    }
    match (&t, &f) {
        (B::True, B::False) => return pos,
        (B::False, B::True) => return neg,
        (_, B::False) => return and(vec![pos, t]),
        (B::False, _) => return and(vec![neg, f]),
        (B::True, _) => return or(vec![pos, f]),
        (_, B::True) => return or(vec![neg, t]),
        _ => {}
    }
    // A shared successor: `t` is `p or f` (flattened, so `f`'s own disjuncts may be inline).
    if let B::Or(items) = &t {
        let rest = minus(items, &f);
        if rest.len() < items.len() {
            return or(vec![and(vec![pos, or(rest)]), f]);
        }
    }
    if let B::Or(items) = &f {
        let rest = minus(items, &t);
        if rest.len() < items.len() {
            // Keep the test of `c` first: loads past the end of the packet reject it, so the
            // order of tests is part of the meaning.
            return or(vec![and(vec![neg, or(rest)]), t.clone()]);
        }
    }
    if implies_not(c, &f) {
        return or(vec![and(vec![pos, t]), f]);
    }
    or(vec![and(vec![pos, t]), and(vec![neg, f])])
}

fn conj_items(b: &B) -> Vec<B> {
    match b {
        B::And(v) => v.clone(),
        x => vec![x.clone()],
    }
}

/// Simplify bottom-up: or-chains of equality tests on one value become sets, and
/// disjunctions whose members share their trailing conjuncts are factored.
fn simplify(b: B) -> B {
    match b {
        B::And(v) => and(v.into_iter().map(simplify).collect()),
        B::Or(v) => {
            let v: Vec<B> = v.into_iter().map(simplify).collect();
            // Equality tests on the same value: a set.
            let mut out: Vec<B> = Vec::new();
            for x in v {
                let mut merged = false;
                if let (B::Atom(c, true), Some(last)) = (&x, out.last_mut()) {
                    if let (JmpOp::Jeq, Some(k)) = (c.op, c.rhs.as_const()) {
                        let replacement = match &*last {
                            B::Atom(p, true) if p.op == JmpOp::Jeq && p.lhs == c.lhs => {
                                p.rhs.as_const().map(|pk| B::In(c.lhs.clone(), vec![pk, k]))
                            }
                            B::In(lhs, set) if *lhs == c.lhs => {
                                let mut set = set.clone();
                                set.push(k);
                                Some(B::In(lhs.clone(), set))
                            }
                            _ => None,
                        };
                        if let Some(r) = replacement {
                            *last = r;
                            merged = true;
                        }
                    }
                }
                if !merged {
                    out.push(x);
                }
            }
            // `a or (not a and b)` is `a or b`.
            let positives: Vec<Cond> = out
                .iter()
                .filter_map(|x| match x {
                    B::Atom(c, true) => Some(c.clone()),
                    _ => None,
                })
                .collect();
            let v: Vec<B> = out
                .into_iter()
                .map(|x| match x {
                    B::And(items) => and(items
                        .into_iter()
                        .filter(|i| !matches!(i, B::Atom(c, false) if positives.contains(c)))
                        .collect()),
                    x => x,
                })
                .collect();
            // Shared tail.
            if v.len() > 1 {
                let lists: Vec<Vec<B>> = v.iter().map(conj_items).collect();
                let min = lists.iter().map(Vec::len).min().unwrap_or(0);
                let mut shared = 0;
                while shared < min {
                    let Some(first) = lists.first().and_then(|l| l.get(l.len() - 1 - shared))
                    else {
                        break;
                    };
                    if lists
                        .iter()
                        .all(|l| l.get(l.len() - 1 - shared) == Some(first))
                    {
                        shared += 1;
                    } else {
                        break;
                    }
                }
                if shared > 0 && lists.iter().any(|l| l.len() > shared) {
                    let heads: Vec<B> = lists
                        .iter()
                        .map(|l| and(l.get(..l.len() - shared).unwrap_or(&[]).to_vec()))
                        .collect();
                    let tail: Vec<B> = lists
                        .first()
                        .map(|l| l.get(l.len() - shared..).unwrap_or(&[]).to_vec())
                        .unwrap_or_default();
                    let mut items = vec![simplify(or(heads))];
                    items.extend(tail);
                    return and(items);
                }
            }
            or(v)
        }
        x => x,
    }
}

/// Reconstruct a pcap filter expression (link type Ethernet) from a validated program.
pub fn reconstruct(insns: &[Insn]) -> Result<Reconstruction, Error> {
    super::validate(insns)?;
    let dag = sym::build_dag(insns).map_err(|_| Error::NotReconstructible {
        reason: "too many paths",
    })?;
    let mut snaps: Vec<u32> = dag
        .nodes
        .iter()
        .filter_map(|n| match n {
            Node::Accept(k) => Some(*k),
            _ => None,
        })
        .collect();
    snaps.sort_unstable();
    snaps.dedup();
    let snap = match snaps.as_slice() {
        [k] => Some(*k),
        _ => None,
    };
    let direct = formula_text(&dag, false);
    // A filter that is a negation prints shorter as `not (…)` of its complement, which
    // keeps keyword idioms (`not port 80`) intact.
    let negated = |c: &str| match c {
        "" => "not len >= 0".to_string(),
        "not len >= 0" => String::new(),
        c if !c.contains(' ') || is_wrapped(c) => format!("not {c}"),
        c => format!("not ({c})"),
    };
    let expr = match (direct, formula_text(&dag, true)) {
        (Ok(d), Ok(c)) => {
            let n = negated(&c);
            if n.len() < d.len() && !d.is_empty() {
                n
            } else {
                d
            }
        }
        (Ok(d), Err(_)) => d,
        (Err(_), Ok(c)) => negated(&c),
        (Err(e), Err(_)) => return Err(e),
    };
    Ok(Reconstruction { expr, snap })
}

/// Whether `s` is one parenthesized group: `(…)` with the first `(` closing at the end.
fn is_wrapped(s: &str) -> bool {
    if !s.starts_with('(') {
        return false;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1 == s.len();
                }
            }
            _ => {}
        }
    }
    false
}

/// The formula of the program (or of its complement) printed as pcap syntax.
fn formula_text(dag: &Dag, negate: bool) -> Result<String, Error> {
    let mut conv = Conv {
        dag,
        work: 0,
        negate,
    };
    let b = simplify(conv.conv(dag.root, &mut Vec::new())?);
    Ok(match &b {
        B::True => String::new(),
        B::False => "not len >= 0".into(),
        _ => {
            let text = render(&b, &mut Facts::new())?.text;
            match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
                Some(inner) if is_wrapped(&text) => inner.to_string(),
                _ => text,
            }
        }
    })
}

/// Printed sub-expression with its binding strength.
#[derive(Clone)]
struct R {
    text: String,
    /// 0 = or chain, 1 = and chain, 2 = atom / parenthesized.
    prec: u8,
    /// Network protocols this piece restricts to by itself (for merging across branches).
    l3: Vec<L3>,
    /// Whether the text is a qualifier-free keyword phrase whose own meaning covers the
    /// protocols in `natural` (so `(ip and X) or (ip6 and X)` can print as `X`).
    natural: Vec<L3>,
    role: Role,
    /// For "protocol and phrase" conjunctions: the phrase.
    tail: Option<String>,
}

/// What a piece of a conjunction is, for dropping pieces a later keyword implies.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Other,
    /// An ethertype keyword (`ip`, `ip6`, `arp`, …).
    L3,
    /// A transport protocol test (these protocols, sorted).
    L4(Vec<u32>),
    /// IPv4 "not a non-first fragment" test.
    NotFrag,
    /// `vlan`: a tag in the packet data or offloaded.
    Vlan,
    /// The tag was not offloaded (only meaningful next to an in-packet `vlan` test).
    NotOffloadedVlan,
    /// A keyword phrase or field over these transport protocols (sorted); `raw` for
    /// `tcp[…]`-style fields, which also imply IPv4.
    Phrase {
        l4: Vec<u32>,
        raw: bool,
    },
}

impl R {
    fn atom(text: String) -> R {
        R {
            text,
            prec: 2,
            l3: Vec::new(),
            natural: Vec::new(),
            role: Role::Other,
            tail: None,
        }
    }
    fn with_role(mut self, role: Role) -> R {
        self.role = role;
        self
    }
    /// Text as an operand of a chain of `or` (`chain` 0) or `and` (1): pcap gives both the
    /// same precedence, so anything but an atom or the same operator is parenthesized.
    fn inside(&self, chain: u8) -> String {
        if self.prec == 2 || self.prec == chain {
            self.text.clone()
        } else {
            format!("({})", self.text)
        }
    }

    fn at(&self, prec: u8) -> String {
        if self.prec < prec {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }
}

fn unrenderable() -> Error {
    Error::NotReconstructible {
        reason: "a test has no pcap filter syntax",
    }
}

fn facts_of(b: &B) -> Vec<(Val, Vec<u32>)> {
    match b {
        B::Atom(c, true) if c.op == JmpOp::Jeq => match c.rhs.as_const() {
            Some(k) => vec![(c.lhs.clone(), vec![k])],
            None => Vec::new(),
        },
        B::In(v, set) => vec![(v.clone(), set.clone())],
        B::And(items) => items.iter().flat_map(facts_of).collect(),
        _ => Vec::new(),
    }
}

fn render(b: &B, facts: &mut Facts) -> Result<R, Error> {
    match b {
        B::True => Ok(R::atom("len >= 0".into())),
        B::False => Ok(R::atom("not len >= 0".into())),
        B::Atom(c, pos) => render_atom(c, *pos, facts),
        B::In(v, set) => render_in(v, set, facts),
        B::And(items) => render_and(items, facts),
        B::Or(items) => {
            if let Some(r) = ip6_chase_idiom(items, facts) {
                return Ok(r);
            }
            let mut parts = Vec::new();
            // `not a or x`: x is only reached when a holds.
            let mut known = facts.clone();
            for i in items {
                let mut f = known.clone();
                parts.push(render(i, &mut f)?);
                if let B::Atom(c, false) = i {
                    if let (JmpOp::Jeq, Some(k)) = (c.op, c.rhs.as_const()) {
                        known.push((c.lhs.clone(), vec![k]));
                    }
                }
            }
            Ok(merge_or(parts))
        }
    }
}

/// `src X or dst X` → `X` (`host`, `net`, `port`, `portrange`, `ether host`).
fn merge_src_dst(parts: &[R]) -> Option<R> {
    let [a, b] = parts else { return None };
    if a.prec < 2 || b.prec < 2 || a.role != b.role || a.natural != b.natural {
        return None;
    }
    let merged = if let Some(rest) = a.text.strip_prefix("src ") {
        (b.text.strip_prefix("dst ") == Some(rest)).then(|| rest.to_string())?
    } else if let Some((head, rest)) = a.text.split_once(" src ") {
        if b.text != format!("{head} dst {rest}") {
            return None;
        }
        if head == "ether" {
            format!("ether host {rest}")
        } else {
            format!("{head} {rest}")
        }
    } else {
        return None;
    };
    Some(R {
        text: merged,
        prec: 2,
        l3: a.l3.clone(),
        natural: a.natural.clone(),
        role: a.role.clone(),
        tail: None,
    })
}

/// `(ip and X) or (ip6 and X)` → `X` when X's own meaning is exactly that protocol set.
fn merge_or(parts: Vec<R>) -> R {
    // Adjacent `src X` / `dst X` pairs become `X`.
    let mut merged: Vec<R> = Vec::with_capacity(parts.len());
    let mut it = parts.into_iter().peekable();
    while let Some(p) = it.next() {
        let twin = it
            .peek()
            .and_then(|q| merge_src_dst(&[p.clone(), q.clone()]));
        match twin {
            Some(m) => {
                it.next();
                merged.push(m);
            }
            None => merged.push(p),
        }
    }
    let mut parts = merged;
    // Identical branches (libpcap's offloaded and in-packet VLAN paths print the same).
    if parts.len() > 1
        && parts
            .iter()
            .all(|p| parts.first().is_some_and(|f| f.text == p.text))
    {
        parts.truncate(1);
    }
    if parts.len() == 1 {
        if let Some(p) = parts.pop() {
            return p;
        }
    }
    let tails: Vec<Option<&str>> = parts
        .iter()
        .map(|p| {
            if p.natural.is_empty() {
                None
            } else {
                Some(p.tail.as_deref().unwrap_or(p.text.as_str()))
            }
        })
        .collect();
    if let Some(Some(first)) = tails.first() {
        if tails.iter().all(|t| *t == Some(*first)) {
            let mut l3: Vec<L3> = parts.iter().flat_map(|p| p.l3.iter().copied()).collect();
            l3.sort();
            l3.dedup();
            let mut natural = parts.first().map(|p| p.natural.clone()).unwrap_or_default();
            natural.sort();
            natural.dedup();
            if l3 == natural {
                if let Some(p) = parts.first() {
                    let text = p.tail.clone().unwrap_or_else(|| p.text.clone());
                    return R {
                        text,
                        prec: if p.text.contains(" and ") { 1 } else { 2 },
                        l3,
                        natural: Vec::new(),
                        role: Role::Other,
                        tail: None,
                    };
                }
            }
        }
    }
    let l3: Vec<L3> = parts.iter().flat_map(|p| p.l3.iter().copied()).collect();
    // A disjunction of phrases over the same protocols is such a phrase too.
    let role = match parts.first().map(|p| &p.role) {
        Some(r @ Role::Phrase { .. }) if parts.iter().all(|p| p.role == *r) => r.clone(),
        _ => Role::Other,
    };
    let natural = match parts.first() {
        Some(f)
            if parts
                .iter()
                .all(|p| p.natural == f.natural && p.tail.is_none()) =>
        {
            f.natural.clone()
        }
        _ => Vec::new(),
    };
    R {
        text: parts
            .iter()
            .map(|p| p.inside(0))
            .collect::<Vec<_>>()
            .join(" or "),
        prec: 0,
        l3,
        natural,
        role,
        tail: None,
    }
}

/// tcpdump's IPv6 transport test: next header is `p`, or a fragment header followed by `p`.
fn ip6_chase_idiom(items: &[B], facts: &Facts) -> Option<R> {
    let ly = Layers::from_facts(facts);
    if ly.l3 != Some(L3::Ip6) {
        return None;
    }
    let nh = Val::Pkt {
        base: Base::Abs,
        off: ly.l3_off + 6,
        size: Size::B,
    };
    let after = Val::Pkt {
        base: Base::Abs,
        off: ly.l3_off + 40,
        size: Size::B,
    };
    let eq = |b: &B, v: &Val| -> Option<u32> {
        match b {
            B::Atom(c, true) if c.op == JmpOp::Jeq && c.lhs == *v => c.rhs.as_const(),
            _ => None,
        }
    };
    let [direct, B::And(frag)] = items else {
        return None;
    };
    let p = eq(direct, &nh)?;
    let [f0, f1] = frag.as_slice() else {
        return None;
    };
    if eq(f0, &nh)? != 44 || eq(f1, &after)? != p {
        return None;
    }
    let name = l4_name(p).filter(|n| *n != "icmp")?;
    let mut r = R::atom(name.to_string()).with_role(Role::L4(vec![p]));
    if [6, 17, 132].contains(&p) {
        r.natural = vec![L3::Ip4, L3::Ip6];
    }
    Some(r)
}

fn l3_of_ethertype(set: &[u32]) -> Vec<L3> {
    let mut v: Vec<L3> = set.iter().filter_map(|t| L3::from_ethertype(*t)).collect();
    v.sort();
    v.dedup();
    v
}

fn render_in(v: &Val, set: &[u32], facts: &mut Facts) -> Result<R, Error> {
    let ly = Layers::from_facts(facts);
    let f = describe(v, &ly);
    let mut sorted = set.to_vec();
    sorted.sort_unstable();
    if f.kind == Kind::EtherType && ly.vlan_depth == 0 && sorted == VLAN_TPIDS {
        return Ok(R::atom("vlan".into()).with_role(Role::Vlan));
    }
    let mut parts = Vec::new();
    for k in set {
        let c = Cond {
            op: JmpOp::Jeq,
            lhs: v.clone(),
            rhs: Val::Const(*k),
        };
        parts.push(render_atom(&c, true, facts)?);
    }
    let mut r = merge_or(parts);
    if f.kind == Kind::EtherType {
        r.l3 = l3_of_ethertype(set);
        r.role = Role::L3;
    }
    if f.kind == Kind::IpProto {
        r.role = Role::L4(sorted);
    }
    if r.prec < 2 {
        r.text = format!("({})", r.text);
        r.prec = 2;
    }
    Ok(r)
}

fn render_and(items: &[B], facts: &mut Facts) -> Result<R, Error> {
    let mut parts: Vec<R> = Vec::new();
    let mut i = 0;
    while let Some(item) = items.get(i) {
        // Multi-atom idioms: MAC addresses (4 + 2 bytes), IPv6 addresses (4 words).
        if let Some((r, used)) = address_idiom(items.get(i..).unwrap_or(&[]), facts) {
            parts.push(r);
            for x in items.get(i..i + used).unwrap_or(&[]) {
                facts.extend(facts_of(x));
            }
            i += used;
            continue;
        }
        let r = match item {
            B::Atom(c, false) if c.lhs == Val::Anc(48) && c.rhs == Val::Const(1) => {
                R::atom(String::new()).with_role(Role::NotOffloadedVlan)
            }
            _ => render(item, &mut facts.clone())?,
        };
        facts.extend(facts_of(item));
        parts.push(r);
        i += 1;
    }
    // Keyword phrases and `tcp[…]` fields imply their protocol tests and, over IPv4, that the
    // packet is not a non-first fragment.
    let phrases: Vec<(Vec<u32>, bool)> = parts
        .iter()
        .filter_map(|p| match &p.role {
            Role::Phrase { l4, raw } => Some((l4.clone(), *raw)),
            _ => None,
        })
        .collect();
    if !phrases.is_empty() {
        parts.retain(|p| match &p.role {
            Role::NotFrag => false,
            Role::L4(set) => !phrases.iter().any(|(l4, _)| l4 == set),
            Role::L3 => !(p.l3 == [L3::Ip4] && phrases.iter().any(|(_, raw)| *raw)),
            _ => true,
        });
    }
    // "Tag not offloaded, and tag in the packet" is libpcap's second VLAN path.
    if parts.iter().any(|p| p.role == Role::NotOffloadedVlan) {
        if !parts.iter().any(|p| p.role == Role::Vlan) {
            return Err(unrenderable());
        }
        parts.retain(|p| p.role != Role::NotOffloadedVlan);
    }
    // Drop a protocol keyword that the next piece repeats (`ip` before `ip host …`),
    // and `vlan` before `vlan N`.
    let mut kept: Vec<R> = Vec::new();
    for p in parts {
        if let Some(prev) = kept.last() {
            let redundant = (prev.text == "vlan" && p.text.starts_with("vlan "))
                || (prev.role == Role::L3
                    && p.prec == 2
                    && (p.text.starts_with(&format!("{} ", prev.text))
                        || p.text.starts_with(&format!("{}[", prev.text))
                        || (prev.l3 == [L3::Ip4]
                            && matches!(&p.role, Role::L4(s) if s == &[1] || s == &[2]))));
            if redundant {
                kept.pop();
            }
        }
        kept.push(p);
    }
    // A trailing keyword phrase that carries its own protocol qualification lets the whole
    // conjunction merge with its siblings when it is "protocol and phrase".
    let l3: Vec<L3> = kept.iter().flat_map(|p| p.l3.iter().copied()).collect();
    let natural = match kept.as_slice() {
        [ctx, last] if !last.natural.is_empty() && ctx.role == Role::L3 => last.natural.clone(),
        _ => Vec::new(),
    };
    let text = kept
        .iter()
        .map(|p| p.inside(1))
        .collect::<Vec<_>>()
        .join(" and ");
    let tail = if natural.is_empty() {
        None
    } else {
        kept.last().map(|p| p.inside(1))
    };
    if kept.len() == 1 {
        if let Some(p) = kept.pop() {
            return Ok(p);
        }
    }
    Ok(R {
        text,
        prec: 1,
        l3,
        natural,
        role: Role::Other,
        tail,
    })
}

fn mac_string(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Equality atom on a packet load: (kind, value).
fn eq_atom(b: &B, ly: &Layers) -> Option<(Kind, u32, Size)> {
    let B::Atom(c, true) = b else { return None };
    if c.op != JmpOp::Jeq {
        return None;
    }
    let k = c.rhs.as_const()?;
    let size = match &c.lhs {
        Val::Pkt { size, .. } => *size,
        _ => return None,
    };
    Some((describe(&c.lhs, ly).kind, k, size))
}

fn address_idiom(items: &[B], facts: &Facts) -> Option<(R, usize)> {
    let ly = Layers::from_facts(facts);
    if let (Some(B::Atom(lo, true)), Some(B::Atom(hi, false))) = (items.first(), items.get(1)) {
        if lo.op == JmpOp::Jge && hi.op == JmpOp::Jgt && lo.lhs == hi.lhs {
            if let (Some(a), Some(b)) = (lo.rhs.as_const(), hi.rhs.as_const()) {
                let port = render_atom(
                    &Cond {
                        op: JmpOp::Jeq,
                        lhs: lo.lhs.clone(),
                        rhs: Val::Const(a),
                    },
                    true,
                    facts,
                )
                .ok()?;
                if let Role::Phrase { raw: false, .. } = port.role {
                    let text = port.text.replacen(" port ", " portrange ", 1);
                    let text = match text.strip_suffix(&format!("portrange {a}")) {
                        Some(head) => format!("{head}portrange {a}-{b}"),
                        None => return None,
                    };
                    return Some((R { text, ..port }, 2));
                }
            }
        }
    }
    let first = eq_atom(items.first()?, &ly)?;
    match first {
        // ether host: bytes 2..6 as a word, then bytes 0..2 as a half word.
        (
            Kind::Mac {
                src,
                off: 2,
                len: 4,
            },
            w,
            Size::W,
        ) => {
            let (k2, h, _) = eq_atom(items.get(1)?, &ly)?;
            if k2
                != (Kind::Mac {
                    src,
                    off: 0,
                    len: 2,
                })
            {
                return None;
            }
            let mut mac = [0u8; 6];
            mac[..2].copy_from_slice(&(h as u16).to_be_bytes());
            mac[2..].copy_from_slice(&w.to_be_bytes());
            let text = if !src && mac == [0xff; 6] {
                "ether broadcast".to_string()
            } else {
                format!(
                    "ether {} {}",
                    if src { "src" } else { "dst" },
                    mac_string(&mac)
                )
            };
            Some((R::atom(text), 2))
        }
        (Kind::Ip6Word { src, word: 0 }, w0, _) => {
            let mut words = [w0, 0, 0, 0];
            for (n, slot) in words.iter_mut().enumerate().skip(1) {
                let (k, w, _) = eq_atom(items.get(n)?, &ly)?;
                if k != (Kind::Ip6Word {
                    src,
                    word: n as u32,
                }) {
                    return None;
                }
                *slot = w;
            }
            let mut bytes = [0u8; 16];
            for (n, w) in words.iter().enumerate() {
                bytes[n * 4..n * 4 + 4].copy_from_slice(&w.to_be_bytes());
            }
            let addr = Ipv6Addr::from(bytes);
            let dir = if src { "src" } else { "dst" };
            Some((
                R {
                    text: format!("ip6 {dir} host {addr}"),
                    prec: 2,
                    l3: vec![L3::Ip6],
                    natural: Vec::new(),
                    role: Role::Other,
                    tail: None,
                },
                4,
            ))
        }
        _ => None,
    }
}

/// Whether `v` is (a mask of) ancillary word `n`.
fn reads_anc(v: &Val, n: u32) -> bool {
    match v {
        Val::Anc(m) => *m == n,
        Val::Alu(_, a, _) => reads_anc(a, n),
        _ => false,
    }
}

fn op_text(op: JmpOp, pos: bool) -> &'static str {
    match (op, pos) {
        (JmpOp::Jeq, true) => "==",
        (JmpOp::Jeq, false) => "!=",
        (JmpOp::Jgt, true) => ">",
        (JmpOp::Jgt, false) => "<=",
        (JmpOp::Jge, true) => ">=",
        (JmpOp::Jge, false) => "<",
        (JmpOp::Jset, true) => "!=",
        (JmpOp::Jset, false) => "==",
    }
}

fn render_atom(c: &Cond, pos: bool, facts: &Facts) -> Result<R, Error> {
    let ly = Layers::from_facts(facts);
    let f = describe(&c.lhs, &ly);
    let k = c.rhs.as_const();
    let not = |r: R| -> R {
        if pos {
            r
        } else {
            R::atom(format!("not {}", r.at(2)))
        }
    };
    if let (JmpOp::Jeq, Some(k)) = (c.op, k) {
        match &f.kind {
            Kind::EtherType => {
                if let Some(l3) = L3::from_ethertype(k) {
                    let mut r = R::atom(l3.keyword().into()).with_role(Role::L3);
                    r.l3 = vec![l3];
                    return Ok(if pos { r } else { not(r) });
                }
                if ly.vlan_depth == 0 {
                    return Ok(not(R::atom(format!("ether proto {k:#x}"))));
                }
            }
            Kind::IpProto if ly.l3 == Some(L3::Ip4) => {
                let text = match l4_name(k) {
                    Some(n) if n != "icmp6" => n.to_string(),
                    _ => format!("ip proto {k}"),
                };
                let mut r = R::atom(text).with_role(Role::L4(vec![k]));
                if [6, 17, 132].contains(&k) {
                    r.natural = vec![L3::Ip4, L3::Ip6];
                }
                return Ok(if pos { r } else { not(r) });
            }
            Kind::IpProto if ly.l3 == Some(L3::Ip6) && pos => {
                if let Some(field) = &f.pcap {
                    return Ok(R::atom(format!("{field} == {k}")).with_role(Role::L4(vec![k])));
                }
            }
            // libpcap's IPv6 port tests read right after the fixed header.
            Kind::Port { src } if !(ly.l3 == Some(L3::Ip6) && ly.l4_rel6 != 40) => {
                let l4 = &ly.l4;
                let dir = if *src { "src" } else { "dst" };
                let proto = match l4.as_slice() {
                    [p] => l4_name(*p).map(|n| format!("{n} ")),
                    _ if !l4.is_empty() && l4.iter().all(|p| [6, 17, 132].contains(p)) => {
                        let mut s = l4.clone();
                        s.sort_unstable();
                        (s == [6, 17, 132]).then(String::new)
                    }
                    _ => None,
                };
                if let (Some(proto), Some(_)) = (proto, ly.l3) {
                    let mut set = l4.clone();
                    set.sort_unstable();
                    let mut r = R::atom(format!("{proto}{dir} port {k}")).with_role(Role::Phrase {
                        l4: set,
                        raw: false,
                    });
                    r.natural = vec![L3::Ip4, L3::Ip6];
                    return Ok(if pos { r } else { not(r) });
                }
            }
            Kind::Ip4Addr { src } | Kind::ArpAddr { src } => {
                let dir = if *src { "src" } else { "dst" };
                let mut r = R::atom(format!("{dir} host {}", dotted(k)));
                r.natural = vec![L3::Ip4, L3::Arp, L3::Rarp];
                return Ok(if pos { r } else { not(r) });
            }
            Kind::Ip4Net { src, mask } => {
                let len = mask.leading_ones();
                if mask.checked_shl(len).unwrap_or(0) == 0 && k & !mask == 0 {
                    let dir = if *src { "src" } else { "dst" };
                    let mut r = R::atom(format!("{dir} net {}/{len}", dotted(k)));
                    r.natural = vec![L3::Ip4, L3::Arp, L3::Rarp];
                    return Ok(if pos { r } else { not(r) });
                }
            }
            Kind::VlanId if ly.vlan_depth == 1 || reads_anc(&c.lhs, 44) => {
                return Ok(not(R::atom(format!("vlan {k}"))));
            }
            // libpcap's live-interface VLAN test: the tag was offloaded by the driver.
            Kind::AncVlanPresent if k == 1 => {
                // "Not offloaded" alone has no pcap syntax; render_and handles it next to
                // the in-packet test.
                return if pos {
                    Ok(R::atom("vlan".into()).with_role(Role::Vlan))
                } else {
                    Err(unrenderable())
                };
            }
            _ => {}
        }
    }
    // Port ranges print from their two comparisons in render_and's caller; here the
    // comparison itself.
    if let (
        Kind::Mac {
            src: false, off: 0, ..
        },
        JmpOp::Jset,
        Some(1),
    ) = (&f.kind, c.op, k)
    {
        if matches!(
            c.lhs,
            Val::Pkt {
                base: Base::Abs,
                off: 0,
                size: Size::B
            }
        ) {
            let r = R::atom("ether multicast".into());
            return Ok(if pos {
                r
            } else {
                R::atom("not ether multicast".into())
            });
        }
    }
    let lhs = f.pcap.ok_or_else(unrenderable)?;
    let rhs = match k {
        Some(k) if k < 10 => format!("{k}"),
        Some(k) if c.op != JmpOp::Jset && k <= 0xffff && f.kind != Kind::EtherType => {
            format!("{k}")
        }
        Some(k) => format!("{k:#x}"),
        None => describe(&c.rhs, &ly).pcap.ok_or_else(unrenderable)?,
    };
    let text = match c.op {
        JmpOp::Jset => format!("{lhs} & {rhs} {} 0", op_text(c.op, pos)),
        op => format!("{lhs} {} {rhs}", op_text(op, pos)),
    };
    let mut r = R::atom(text);
    if c.op == JmpOp::Jset && !pos && k == Some(0x1fff) && lhs == "ip[6:2]" {
        r.role = Role::NotFrag;
    } else if f.l3 == Some(L3::Ip4)
        && !f.l4.is_empty()
        && ["tcp[", "udp[", "icmp[", "sctp[", "igmp["]
            .iter()
            .any(|p| lhs.trim_start_matches('(').starts_with(p))
    {
        let mut l4 = f.l4.clone();
        l4.sort_unstable();
        r.role = Role::Phrase { l4, raw: true };
    }
    Ok(r)
}
