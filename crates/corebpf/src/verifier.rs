//! Reading verifier logs: the one-line reason, the failing instruction, and a hint for the
//! mistakes people make most.

/// Lines that close a verifier log without saying what went wrong.
fn is_trailer(line: &str) -> bool {
    let l = line.trim();
    l.is_empty()
        || l.starts_with("processed ")
        || l.starts_with("verification time")
        || l.starts_with("stack depth")
        || l.starts_with("-- END PROG LOAD LOG --")
        || l.starts_with("mark_precise")
        || l.starts_with("cur state:")
        || l.starts_with("old state:")
}

/// An instruction trace line: `12: (61) r1 = *(u32 *)(r6 +0)` or `12: R0=...` (state), giving 12.
fn insn_line(line: &str) -> Option<(usize, &str)> {
    let (num, rest) = line.split_once(':')?;
    let n = num.trim().parse::<usize>().ok()?;
    if num.starts_with(' ') {
        return None;
    }
    Some((n, rest.trim_start()))
}

/// The one-line reason of a rejection: the last line of the log that is not a trailer, a
/// register-state dump or an instruction trace.
pub fn summary(log: &str) -> &str {
    let mut fallback = "";
    for line in log.lines().rev() {
        if is_trailer(line) {
            continue;
        }
        if fallback.is_empty() {
            fallback = line.trim();
        }
        if let Some((_, rest)) = insn_line(line) {
            if rest.starts_with('(') || rest.starts_with('R') || rest.starts_with("frame") {
                continue;
            }
        }
        if line.starts_with(';') || line.starts_with("from ") || line.starts_with("last_idx") {
            continue;
        }
        return line.trim();
    }
    fallback
}

/// The index of the instruction the verifier stopped at: the last traced instruction, or the
/// one named in messages like `infinite loop detected at insn 7` / `back-edge from insn 9 to 4`.
pub fn failing_insn(log: &str) -> Option<usize> {
    let summary = summary(log);
    for key in ["at insn ", "from insn "] {
        if let Some(pos) = summary.find(key) {
            let digits: String = summary[pos + key.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
    }
    log.lines().rev().find_map(|line| {
        let (n, rest) = insn_line(line)?;
        rest.starts_with('(').then_some(n)
    })
}

/// Hints for common rejections, matched against the whole log (first match wins).
const HINTS: &[(&[&str], &str)] = &[
    (
        &["invalid func unknown#195896080"],
        "a CO-RE relocation could not be resolved (a field or type is missing in this kernel) and its instruction was poisoned: guard the access with bpf_core_field_exists() or bpf_core_type_exists()",
    ),
    (
        &["back-edge", "infinite loop detected"],
        "unbounded loop: give the loop a bound the verifier can prove (a constant trip count), or use bpf_loop()/bpf_for()",
    ),
    (
        &["BPF program is too large"],
        "the verifier exhausted its instruction budget: a loop is unbounded or too long to verify; bound it or use bpf_loop()",
    ),
    (
        &["_or_null'"],
        "missing NULL check: test the pointer returned by bpf_map_lookup_elem() (or another helper that may return NULL) before dereferencing it",
    ),
    (
        &["invalid read from stack", "invalid indirect read from stack"],
        "reading uninitialized stack memory: initialize the variable (= {} or __builtin_memset) before reading it or passing it to a helper",
    ),
    (
        &["invalid mem access 'scalar'", "invalid mem access 'inv'"],
        "dereferencing a plain number as a pointer: kernel memory must be read with bpf_probe_read_kernel()/BPF_CORE_READ(), and only verified pointers dereferenced directly",
    ),
    (
        &["unknown func", "program of this type cannot use helper", "cannot call GPL-restricted function"],
        "this helper is not available to this program type (or to this kernel, or to a non-GPL license): use a helper the program type allows, or another program type",
    ),
    (
        &["invalid access to packet"],
        "packet access without a bounds check: compare data + offset against data_end before reading",
    ),
];

/// A one-line hint for the log, if it matches a common mistake.
pub fn hint(log: &str) -> Option<&'static str> {
    let s = summary(log);
    HINTS
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| s.contains(k)))
        .or_else(|| {
            HINTS
                .iter()
                .find(|(keys, _)| keys.iter().any(|k| log.contains(k)))
        })
        .map(|(_, h)| *h)
}

/// The hint for a kernel older than Linux 6.6 refusing a program with cpu v4 instructions
/// (`insns` in host byte order): its verifier calls them unknown opcodes or reserved fields.
pub fn cpu_v4_hint(log: &str, insns: &[u8]) -> Option<&'static str> {
    use corebpf_insn::ebpf::{Decoder, Endian};
    if !(log.contains("unknown opcode") || log.contains("uses reserved fields")) {
        return None;
    }
    let endian = if cfg!(target_endian = "big") {
        Endian::Big
    } else {
        Endian::Little
    };
    Decoder::new(insns, endian)
        .any(|(_, insn)| insn.is_ok_and(|i| i.cpu_v4_feature().is_some()))
        .then_some(
            "the program uses cpu v4 instructions (sign-extending loads and moves, signed division, bswap, gotol), which kernels before Linux 6.6 do not know: compile with -mcpu=v3 for them",
        )
}

#[cfg(test)]
mod cpu_v4_tests {
    use corebpf_insn::ebpf::parse_insn;

    fn bytes(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            let insn = parse_insn(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            out.extend_from_slice(&insn.to_bytes(corebpf_insn::ebpf::Endian::Little));
        }
        out
    }

    #[test]
    fn older_kernels_refusing_cpu_v4_get_the_hint() {
        let v4 = bytes(&["r1 = (s8)r2", "r0 = 0", "exit"]);
        let v3 = bytes(&["r1 = r2", "r0 = 0", "exit"]);
        let log = "0: R1=ctx() R10=fp0\n0: (bf) r1 = r2\nBPF_MOV uses reserved fields\n";
        assert!(super::cpu_v4_hint(log, &v4).is_some());
        assert!(super::cpu_v4_hint("unknown opcode d7\n", &v4).is_some());
        assert_eq!(super::cpu_v4_hint(log, &v3), None);
        assert_eq!(
            super::cpu_v4_hint("R1 invalid mem access 'scalar'", &v4),
            None
        );
    }
}
