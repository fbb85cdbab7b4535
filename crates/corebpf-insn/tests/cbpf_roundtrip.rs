//! Property tests: every instruction the kernel knows survives disassembly and every pasted
//! form; the interpreter agrees with the decision structure the disassembly shows.

use corebpf_insn::cbpf::{self, AluOp, Insn, JmpOp, Op, RetVal, Size, Src};
use proptest::prelude::*;

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![Just(Size::W), Just(Size::H), Just(Size::B)]
}

fn src() -> impl Strategy<Value = Src> {
    prop_oneof![any::<u32>().prop_map(Src::K), Just(Src::X)]
}

fn alu() -> impl Strategy<Value = AluOp> {
    prop_oneof![
        Just(AluOp::Add),
        Just(AluOp::Sub),
        Just(AluOp::Mul),
        Just(AluOp::Div),
        Just(AluOp::Mod),
        Just(AluOp::And),
        Just(AluOp::Or),
        Just(AluOp::Xor),
        Just(AluOp::Lsh),
        Just(AluOp::Rsh),
    ]
}

fn jmp() -> impl Strategy<Value = JmpOp> {
    prop_oneof![
        Just(JmpOp::Jeq),
        Just(JmpOp::Jgt),
        Just(JmpOp::Jge),
        Just(JmpOp::Jset)
    ]
}

/// Any instruction the kernel accepts (`ja` offsets kept small so targets print as positive
/// indexes, as in any real program).
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (size(), any::<u32>()).prop_map(|(size, k)| Op::LdAbs { size, k }),
        (size(), any::<u32>()).prop_map(|(size, k)| Op::LdInd { size, k }),
        Just(Op::LdLen),
        Just(Op::LdxLen),
        any::<u32>().prop_map(Op::LdImm),
        any::<u32>().prop_map(Op::LdxImm),
        any::<u32>().prop_map(Op::LdMem),
        any::<u32>().prop_map(Op::LdxMem),
        any::<u32>().prop_map(Op::LdxMsh),
        any::<u32>().prop_map(Op::St),
        any::<u32>().prop_map(Op::Stx),
        (alu(), src()).prop_map(|(op, src)| Op::Alu { op, src }),
        Just(Op::Neg),
        (0u32..1000).prop_map(Op::Ja),
        (jmp(), src(), any::<u8>(), any::<u8>()).prop_map(|(op, src, jt, jf)| Op::Jmp {
            op,
            src,
            jt,
            jf
        }),
        any::<u32>().prop_map(|k| Op::Ret(RetVal::K(k))),
        Just(Op::Ret(RetVal::A)),
        Just(Op::Tax),
        Just(Op::Txa),
    ]
}

proptest! {
    #[test]
    fn every_form_round_trips(ops in proptest::collection::vec(op(), 1..40)) {
        let insns: Vec<Insn> = ops.iter().map(|o| o.to_insn()).collect();
        for (i, o) in insns.iter().zip(&ops) {
            prop_assert_eq!(i.op(), Some(*o));
        }
        let forms = [
            (cbpf::disassemble(&insns), cbpf::Form::Disasm),
            (cbpf::format_ddd(&insns), cbpf::Form::Ddd),
            (cbpf::format_c_array(&insns), cbpf::Form::CArray),
            (cbpf::format_comma(&insns), cbpf::Form::Comma),
        ];
        for (text, form) in forms {
            let parsed = cbpf::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(parsed.form, form);
            prop_assert_eq!(&parsed.insns, &insns);
        }
        let decoded = cbpf::decode(&cbpf::encode(&insns));
        prop_assert_eq!(decoded, Ok(insns));
    }

    /// Programs the kernel would accept run to a result for any packet, and explanation and
    /// reconstruction return without panicking.
    #[test]
    fn valid_programs_run(
        ops in proptest::collection::vec(valid_op(), 1..24),
        pkt in proptest::collection::vec(any::<u8>(), 0..80),
        rets in proptest::collection::vec(prop_oneof![Just(0u32), Just(96), Just(u32::MAX)], 256),
    ) {
        // Scratch words written first, returns after: every jump lands inside.
        let mut insns: Vec<Insn> = vec![Insn::stmt(0x00, 7)];
        insns.extend((0..16).map(|m| Insn::stmt(0x02, m)));
        insns.extend(ops.iter().map(|o| o.to_insn()));
        insns.extend(rets.iter().map(|k| Insn::stmt(0x06, *k)));
        insns.push(Insn::stmt(0x16, 0));
        cbpf::validate(&insns).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let v = cbpf::run(&insns, &cbpf::RunContext::new(&pkt));
        prop_assert!(v.is_ok());
        let e = cbpf::explain(&insns);
        prop_assert_eq!(e.insns.len(), insns.len());
        let _ = cbpf::reconstruct(&insns);
    }
}

/// Instructions that pass validation in the program shape above.
fn valid_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (size(), 0u32..80).prop_map(|(size, k)| Op::LdAbs { size, k }),
        (size(), 0u32..40).prop_map(|(size, k)| Op::LdInd { size, k }),
        Just(Op::LdLen),
        any::<u32>().prop_map(Op::LdImm),
        (0u32..16).prop_map(Op::LdMem),
        (0u32..16).prop_map(Op::LdxMem),
        (0u32..40).prop_map(Op::LdxMsh),
        (0u32..16).prop_map(Op::St),
        (alu(), 1u32..32).prop_map(|(op, k)| Op::Alu { op, src: Src::K(k) }),
        alu().prop_map(|op| Op::Alu { op, src: Src::X }),
        Just(Op::Neg),
        (0u32..8).prop_map(Op::Ja),
        (jmp(), src(), 0u8..8, 0u8..8).prop_map(|(op, src, jt, jf)| Op::Jmp { op, src, jt, jf }),
        Just(Op::Tax),
        Just(Op::Txa),
    ]
}
