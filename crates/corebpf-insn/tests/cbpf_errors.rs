//! Malformed classic BPF input: every case gives a specific error value, never a panic.

use corebpf_insn::cbpf::{self, Error, Insn, ParseProblem};

fn parse_err(text: &str) -> cbpf::ParseError {
    match cbpf::parse(text) {
        Ok(p) => panic!("{text:?} parsed as {:?}", p.insns),
        Err(e) => e,
    }
}

#[test]
fn parse_errors_name_line_column_and_problem() {
    // (input, line, column, problem)
    let cases: Vec<(&str, usize, usize, ParseProblem)> = vec![
        (
            "3\n40 0 0 12\n21 0 1 zz\n6 0 0 0\n",
            3,
            8,
            ParseProblem::BadNumber {
                token: "zz".into(),
                field: "k",
            },
        ),
        (
            "2\n40 0 0 12\n",
            1,
            1,
            ParseProblem::CountMismatch {
                declared: 2,
                found: 1,
            },
        ),
        (
            "40 0 0\n",
            1,
            1,
            ParseProblem::FieldCount {
                found: 3,
                expected: 4,
            },
        ),
        (
            "40 300 0 12\n6 0 0 0\n",
            1,
            4,
            ParseProblem::BadNumber {
                token: "300".into(),
                field: "jt",
            },
        ),
        (
            "70000 0 0 12\n",
            1,
            1,
            ParseProblem::BadNumber {
                token: "70000".into(),
                field: "code",
            },
        ),
        (
            "bpf filter (2): 0x28 0 0 12, 0x06 0 0",
            1,
            30,
            ParseProblem::FieldCount {
                found: 3,
                expected: 4,
            },
        ),
        (
            "{ 0x28, 0, 0, 0x0000000c },\n{ 0x6, 0, 0x, 0x00000000 },\n",
            2,
            11,
            ParseProblem::BadNumber {
                token: "0x".into(),
                field: "jf",
            },
        ),
        (
            "{ 0x28, 0, 0, 0x0000000c },\n{ 0x6, 0, 0, 0 \n",
            2,
            1,
            ParseProblem::Unexpected {
                found: "{".into(),
                expected: "a closing `}`",
            },
        ),
        (
            "(000) ldh [12]\n(002) ret #0\n",
            2,
            1,
            ParseProblem::BadLabel {
                expected: 1,
                found: "(002)".into(),
            },
        ),
        (
            "(000) ldh [12]\n(001) jeq #0x800 jt 0 jf 2\n(002) ret #0\n",
            2,
            21,
            ParseProblem::BadJumpTarget { pc: 1, target: 0 },
        ),
        (
            "(000) ldq [12]\n",
            1,
            7,
            ParseProblem::UnknownMnemonic("ldq".into()),
        ),
        (
            "(000) ldxb 4*([14]&0xe)\n",
            1,
            12,
            ParseProblem::BadOperand {
                mnemonic: "ldxb".into(),
                operand: "4*([14]&0xe)".into(),
            },
        ),
        ("\n  \n", 3, 1, ParseProblem::Empty),
    ];
    for (text, line, column, problem) in cases {
        let e = parse_err(text);
        assert_eq!(
            (e.line, e.column, &e.problem),
            (line, column, &problem),
            "{text:?}: {e}"
        );
        // The message carries the position.
        assert!(e
            .to_string()
            .starts_with(&format!("line {line}, column {column}: ")));
    }
}

fn check(insns: &[Insn]) -> Error {
    match cbpf::validate(insns) {
        Ok(()) => panic!("{insns:?} validated"),
        Err(e) => e,
    }
}

#[test]
fn validation_matches_the_kernel_rules() {
    let ret0 = Insn::stmt(0x06, 0);
    let cases: Vec<(Vec<Insn>, Error)> = vec![
        (vec![], Error::Empty),
        (vec![ret0; 4097], Error::TooLong { len: 4097 }),
        (vec![Insn::stmt(0x28, 12)], Error::NoFinalRet { pc: 0 }),
        (
            vec![Insn::stmt(0x08, 0), ret0],
            Error::UnknownOpcode { pc: 0, code: 0x08 },
        ),
        (
            vec![Insn::stmt(0x0e, 0)],
            Error::UnknownOpcode { pc: 0, code: 0x0e },
        ),
        (
            vec![Insn::new(0x15, 0, 1, 0), ret0],
            Error::JumpOutOfRange {
                pc: 0,
                target: 2,
                len: 2,
            },
        ),
        (
            vec![Insn::stmt(0x05, 1), ret0],
            Error::JumpOutOfRange {
                pc: 0,
                target: 2,
                len: 2,
            },
        ),
        (
            vec![Insn::stmt(0x05, u32::MAX), ret0],
            Error::JumpOutOfRange {
                pc: 0,
                target: 1 + u64::from(u32::MAX),
                len: 2,
            },
        ),
        (vec![Insn::stmt(0x34, 0), ret0], Error::DivByZero { pc: 0 }),
        (vec![Insn::stmt(0x94, 0), ret0], Error::DivByZero { pc: 0 }),
        (
            vec![Insn::stmt(0x64, 32), ret0],
            Error::BadShift { pc: 0, k: 32 },
        ),
        (
            vec![Insn::stmt(0x02, 16), ret0],
            Error::BadMemIndex { pc: 0, index: 16 },
        ),
        (
            vec![Insn::stmt(0x61, 3), ret0],
            Error::UninitMem { pc: 0, index: 3 },
        ),
        (
            // Written on one path only.
            vec![
                Insn::stmt(0x28, 12),
                Insn::new(0x15, 0, 1, 0x800),
                Insn::stmt(0x02, 5),
                Insn::stmt(0x60, 5),
                ret0,
            ],
            Error::UninitMem { pc: 3, index: 5 },
        ),
        (
            vec![Insn::stmt(0x20, 0xffff_f000 + 7), ret0],
            Error::BadAncillary {
                pc: 0,
                k: 0xffff_f007,
            },
        ),
    ];
    for (insns, expected) in cases {
        assert_eq!(check(&insns), expected, "{}", cbpf::disassemble(&insns));
    }
    // Written on every path: accepted.
    cbpf::validate(&[
        Insn::stmt(0x28, 12),
        Insn::new(0x15, 0, 1, 0x800),
        Insn::stmt(0x02, 5),
        Insn::stmt(0x03, 5),
        Insn::stmt(0x60, 5),
        Insn::stmt(0x16, 0),
    ])
    .expect("valid");
}

#[test]
fn decode_rejects_partial_records() {
    assert_eq!(
        cbpf::decode(&[0u8; 12]),
        Err(Error::BadByteLength { len: 12 })
    );
    assert_eq!(cbpf::decode(&[]), Ok(vec![]));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // Every opcode byte with assorted jt/jf/k through decode, validate, disassemble, explain,
    // reconstruct and run.
    let mut seed = 0x1234_5678_u64;
    for code in 0..=0x1ffu16 {
        for _ in 0..8 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let r = (seed >> 16) as u32;
            let insns = [
                Insn::new(code, (r & 3) as u8, ((r >> 2) & 3) as u8, r >> 8),
                Insn::new(0x15, 0, 1, r),
                Insn::stmt(0x06, 1),
                Insn::stmt(0x16, 0),
            ];
            let text = cbpf::disassemble(&insns);
            let _ = cbpf::parse(&text);
            let bytes = cbpf::encode(&insns);
            assert_eq!(cbpf::decode(&bytes).as_deref(), Ok(&insns[..]));
            if cbpf::validate(&insns).is_ok() {
                let _ = cbpf::explain(&insns);
                let _ = cbpf::reconstruct(&insns);
                let pkt = [0u8; 64];
                let _ = cbpf::run(&insns, &cbpf::RunContext::new(&pkt));
            }
        }
    }
}

#[test]
fn tests_without_pcap_syntax_are_not_reconstructed() {
    // `ld [mark]; jeq #1`: the skb mark has no pcap filter syntax. It still explains.
    let p =
        cbpf::parse("(000) ld [mark]\n(001) jeq #0x1 jt 2 jf 3\n(002) ret #65535\n(003) ret #0\n")
            .expect("parses");
    cbpf::validate(&p.insns).expect("valid");
    assert!(matches!(
        cbpf::reconstruct(&p.insns),
        Err(Error::NotReconstructible { .. })
    ));
    let e = cbpf::explain(&p.insns);
    assert_eq!(e.insns[0].notes, vec!["A = skb mark".to_string()]);
}

#[test]
fn path_explosion_is_bounded() {
    // 1300 tests that each rejoin: 2^1300 paths. Explanation stops at its bound and says so;
    // reconstruction refuses.
    let mut insns = Vec::new();
    for i in 0..1300u32 {
        insns.push(Insn::stmt(0x30, i)); // ldb [i]
        insns.push(Insn::new(0x15, 0, 1, 7)); // jeq #7
        insns.push(Insn::stmt(0x04, 1)); // add #1
    }
    insns.push(Insn::stmt(0x16, 0)); // ret a
    cbpf::validate(&insns).expect("valid");
    let e = cbpf::explain(&insns);
    assert!(!e.complete);
    assert_eq!(e.accept_paths.len(), 64);
    assert!(e.insns.iter().all(|n| !n.notes.is_empty()));
    assert!(matches!(
        cbpf::reconstruct(&insns),
        Err(Error::NotReconstructible { .. })
    ));
}
