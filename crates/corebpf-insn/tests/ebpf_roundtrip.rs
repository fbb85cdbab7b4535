//! Property tests of the eBPF encoding: every valid instruction survives encode → decode in both
//! byte orders, and arbitrary bytes never make the decoder panic; whatever decodes re-encodes to
//! the very same bytes.

use corebpf_insn::ebpf::{
    decode, AluOp, AtomicOp, Call, Decoder, Endian, Insn, JmpOp, LdImm64Kind, MemSize, RawInsn,
    Reg, Source, SwapOp, SwapSize, Width,
};
use proptest::prelude::*;

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).expect("0..=10"))
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        reg().prop_map(Source::Reg),
        any::<i32>().prop_map(Source::Imm)
    ]
}

fn size() -> impl Strategy<Value = MemSize> {
    prop_oneof![
        Just(MemSize::B),
        Just(MemSize::H),
        Just(MemSize::W),
        Just(MemSize::DW)
    ]
}

fn sub_dw_size() -> impl Strategy<Value = MemSize> {
    prop_oneof![Just(MemSize::B), Just(MemSize::H), Just(MemSize::W)]
}

fn alu_op() -> impl Strategy<Value = AluOp> {
    prop::sample::select(vec![
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ])
}

fn jmp_op() -> impl Strategy<Value = JmpOp> {
    prop::sample::select(vec![
        JmpOp::Eq,
        JmpOp::Gt,
        JmpOp::Ge,
        JmpOp::Set,
        JmpOp::Ne,
        JmpOp::Sgt,
        JmpOp::Sge,
        JmpOp::Lt,
        JmpOp::Le,
        JmpOp::Slt,
        JmpOp::Sle,
    ])
}

fn atomic() -> impl Strategy<Value = (AtomicOp, MemSize)> {
    let rmw = prop::sample::select(vec![
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::FetchAdd,
        AtomicOp::FetchOr,
        AtomicOp::FetchAnd,
        AtomicOp::FetchXor,
        AtomicOp::Xchg,
        AtomicOp::CmpXchg,
    ]);
    let acq_rel = prop_oneof![Just(AtomicOp::LoadAcquire), Just(AtomicOp::StoreRelease)];
    prop_oneof![
        (rmw, prop_oneof![Just(MemSize::W), Just(MemSize::DW)]),
        (acq_rel, size()),
    ]
}

fn ld_kind() -> impl Strategy<Value = LdImm64Kind> {
    (0u8..=6).prop_map(|s| LdImm64Kind::from_src(s).expect("0..=6"))
}

/// Every valid instruction of the model.
fn insn() -> impl Strategy<Value = Insn> {
    let swap = (
        prop_oneof![Just(SwapOp::ToLe), Just(SwapOp::ToBe), Just(SwapOp::Swap)],
        prop_oneof![
            Just(SwapSize::S16),
            Just(SwapSize::S32),
            Just(SwapSize::S64)
        ],
        reg(),
    )
        .prop_map(|(op, size, dst)| Insn::Swap { op, size, dst });
    let movsx = (width(), reg(), reg(), sub_dw_size())
        .prop_filter("32-bit movsx from 32 bits", |(w, _, _, f)| {
            !(*w == Width::W32 && *f == MemSize::W)
        })
        .prop_map(|(width, dst, src, from)| Insn::MovSx {
            width,
            dst,
            src,
            from,
        });
    let call = prop_oneof![
        any::<i32>().prop_map(Call::Helper),
        any::<i32>().prop_map(Call::Local),
        (
            any::<i16>().prop_filter("non-zero", |o| *o != 0),
            any::<i32>()
        )
            .prop_map(|(off, subprog)| Call::LocalTranslated { off, subprog }),
        (any::<i32>(), any::<i16>()).prop_map(|(btf_id, off)| Call::Kfunc { btf_id, off }),
        reg().prop_map(Call::Reg),
    ]
    .prop_map(Insn::Call);
    prop_oneof![
        (width(), alu_op(), reg(), source()).prop_map(|(width, op, dst, src)| Insn::Alu {
            width,
            op,
            dst,
            src
        }),
        (width(), reg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        movsx,
        (reg(), reg(), prop_oneof![Just((1u16, 0u16)), Just((0, 1))]).prop_map(
            |(dst, src, (dst_as, src_as))| {
                Insn::AddrSpaceCast {
                    dst,
                    src,
                    dst_as,
                    src_as,
                }
            }
        ),
        (reg(), reg()).prop_map(|(dst, src)| Insn::MovPercpuAddr { dst, src }),
        swap,
        any::<i16>().prop_map(|off| Insn::Ja { off }),
        any::<i32>().prop_map(|off| Insn::Gotol { off }),
        any::<i16>().prop_map(|off| Insn::MayGoto { off }),
        (width(), jmp_op(), reg(), source(), any::<i16>()).prop_map(
            |(width, op, dst, src, off)| Insn::Jmp {
                width,
                op,
                dst,
                src,
                off
            }
        ),
        call,
        Just(Insn::Exit),
        (reg(), ld_kind(), any::<i32>(), any::<i32>()).prop_map(|(dst, kind, imm, next_imm)| {
            Insn::LdImm64 {
                dst,
                kind,
                imm,
                next_imm,
            }
        }),
        (sub_dw_size(), any::<i32>()).prop_map(|(size, imm)| Insn::LdAbs { size, imm }),
        (sub_dw_size(), reg(), any::<i32>()).prop_map(|(size, src, imm)| Insn::LdInd {
            size,
            src,
            imm
        }),
        (size(), any::<bool>(), reg(), reg(), any::<i16>())
            .prop_filter("no sign-extending 64-bit load", |(s, signed, ..)| {
                !(*signed && *s == MemSize::DW)
            })
            .prop_map(|(size, signed, dst, src, off)| Insn::Load {
                size,
                signed,
                dst,
                src,
                off
            }),
        (size(), reg(), any::<i16>(), source()).prop_map(|(size, dst, off, src)| Insn::Store {
            size,
            dst,
            off,
            src
        }),
        (atomic(), reg(), reg(), any::<i16>()).prop_map(|((op, size), dst, src, off)| {
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            }
        }),
        Just(Insn::Nospec),
    ]
}

fn endian() -> impl Strategy<Value = Endian> {
    prop_oneof![Just(Endian::Little), Just(Endian::Big)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// encode → decode gives back the instruction, in both byte orders, and the raw fields
    /// agree between the orders.
    #[test]
    fn valid_instructions_round_trip(insn in insn(), e in endian()) {
        let bytes = insn.to_bytes(e);
        prop_assert_eq!(bytes.len(), insn.slots() * 8);
        let (back, len) = decode(&bytes, e).map_err(|err| {
            TestCaseError::fail(format!("{insn:?} encodes to bytes that do not decode: {err}"))
        })?;
        prop_assert_eq!(back, insn);
        prop_assert_eq!(len, bytes.len());
        prop_assert!(insn.validate().is_ok());
        // The same fields, other byte order.
        let other = match e { Endian::Little => Endian::Big, Endian::Big => Endian::Little };
        let (first, second) = insn.to_raw();
        let raw = RawInsn::from_bytes(bytes[..8].try_into().unwrap(), e);
        prop_assert_eq!(raw, first);
        prop_assert_eq!(RawInsn::from_bytes(first.to_bytes(other), other), first);
        if let Some(second) = second {
            prop_assert_eq!(RawInsn::from_bytes(bytes[8..].try_into().unwrap(), e), second);
        }
        // Disassembly writes something and names the opcode's registers.
        let text = insn.to_string();
        prop_assert!(!text.is_empty());
        if let Some(d) = insn.dst_reg() {
            prop_assert!(text.contains(&format!("{}", d.index())), "{} lacks dst", text);
        }
    }

    /// Random single slots: decoding never panics, and what decodes re-encodes identically.
    #[test]
    fn random_slots_decode_strictly(bytes in prop::array::uniform8(any::<u8>()), e in endian()) {
        if let Ok((insn, len)) = decode(&bytes, e) {
            prop_assert_eq!(len, 8);
            prop_assert_eq!(insn.to_bytes(e), bytes.to_vec());
        }
    }

    /// Random slots whose fields are often zero (so that most opcodes decode): the same
    /// properties, over far more accepted encodings.
    #[test]
    fn random_sparse_slots_decode_strictly(
        code in any::<u8>(),
        dst in prop_oneof![Just(0u8), 0u8..16],
        src in prop_oneof![Just(0u8), 0u8..16],
        off in prop_oneof![Just(0i16), any::<i16>()],
        imm in prop_oneof![Just(0i32), any::<i32>()],
        e in endian(),
    ) {
        let raw = RawInsn { code, dst, src, off, imm };
        let mut bytes = raw.to_bytes(e).to_vec();
        bytes.extend_from_slice(&RawInsn { imm, ..RawInsn::default() }.to_bytes(e));
        if let Ok((insn, len)) = decode(&bytes, e) {
            prop_assert_eq!(insn.to_bytes(e), bytes[..len].to_vec());
            prop_assert_eq!(insn.code(), code);
        }
    }

    /// Random two-slot inputs (with the first opcode often a 64-bit immediate load).
    #[test]
    fn random_pairs_decode_strictly(
        mut bytes in prop::array::uniform16(any::<u8>()),
        ld in any::<bool>(),
        zero_second in any::<bool>(),
        e in endian(),
    ) {
        if ld {
            bytes[0] = 0x18;
        }
        if zero_second {
            // Keep the second slot's imm only: a well-formed immediate load.
            bytes[8..12].fill(0);
        }
        match decode(&bytes, e) {
            Ok((insn, len)) => {
                prop_assert_eq!(insn.to_bytes(e), bytes[..len].to_vec());
            }
            Err(err) => {
                prop_assert!(err.offset == 0 || err.offset == 8);
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }

    /// Random streams of any length: the iterator never panics, visits every slot once, reports
    /// errors with their byte offset, and the decoded instructions re-encode to their bytes.
    #[test]
    fn random_streams_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), e in endian()) {
        let mut next_slot = 0;
        for (slot, r) in Decoder::new(&bytes, e) {
            prop_assert_eq!(slot, next_slot);
            match r {
                Ok(insn) => {
                    let at = slot * 8;
                    prop_assert_eq!(insn.to_bytes(e), bytes[at..at + insn.slots() * 8].to_vec());
                    next_slot += insn.slots();
                }
                Err(err) => {
                    prop_assert_eq!(err.offset, slot * 8);
                    next_slot += 1;
                }
            }
        }
        prop_assert!(next_slot * 8 >= bytes.len());
    }
}

/// Every one of the 256 opcodes with all-zero fields: those the instruction set defines with
/// zero operands decode, the rest are reported as unknown opcodes at offset 0.
#[test]
fn opcode_space_is_classified() {
    let mut decoded = 0;
    for code in 0..=255u8 {
        let mut b = [0u8; 16];
        b[0] = code;
        match decode(&b, Endian::Little) {
            Ok((insn, _)) => {
                assert_eq!(insn.code(), code);
                decoded += 1;
            }
            Err(e) => {
                assert_eq!(e.offset, 0);
                assert!(e.to_string().contains(&format!("0x{code:02x}")), "{e}");
            }
        }
    }
    // Sanity: well over a hundred opcodes exist, and not all 256.
    assert!((100..256).contains(&decoded), "{decoded}");
}

#[test]
fn stream_errors_name_offsets() {
    // Trailing bytes.
    let mut bytes = Insn::Exit.to_bytes(Endian::Little);
    bytes.extend_from_slice(&[0x95, 0, 0]);
    let items: Vec<_> = Decoder::new(&bytes, Endian::Little).collect();
    assert_eq!(items.len(), 2);
    let err = items[1].1.unwrap_err();
    assert_eq!(err.offset, 8);
    assert!(err.to_string().contains("3 trailing byte"), "{err}");

    // A 64-bit immediate load cut in half.
    let half = &Insn::ld_imm64_value(Reg::R1, 7).to_bytes(Endian::Little)[..8];
    let mut bytes = Insn::Exit.to_bytes(Endian::Little);
    bytes.extend_from_slice(half);
    let items: Vec<_> = Decoder::new(&bytes, Endian::Little).collect();
    assert_eq!(items.len(), 2);
    let err = items[1].1.unwrap_err();
    assert_eq!(err.offset, 8);
    assert!(err.to_string().contains("second half is missing"), "{err}");

    // Reserved second-slot field of a 64-bit immediate load.
    let mut b = Insn::ld_imm64_value(Reg::R1, 7).to_bytes(Endian::Little);
    b[10] = 1; // off of the second slot
    let err = decode(&b, Endian::Little).unwrap_err();
    assert_eq!(err.offset, 8);
    assert!(err.to_string().contains("off must be 0"), "{err}");

    // An unknown opcode in the middle does not stop the iteration.
    let mut bytes = Insn::Exit.to_bytes(Endian::Little);
    bytes.extend_from_slice(&[0xff, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&Insn::Exit.to_bytes(Endian::Little));
    let items: Vec<_> = Decoder::new(&bytes, Endian::Little).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[1].1.unwrap_err().offset, 8);
    assert_eq!(items[2].1, Ok(Insn::Exit));
}

proptest! {
    /// Decoding from raw slots agrees with decoding from bytes.
    #[test]
    fn raw_slot_decoding_agrees(insn in insn()) {
        let (first, second) = insn.to_raw();
        prop_assert_eq!(corebpf_insn::ebpf::decode_raw(first, second), Ok(insn));
    }
}

proptest! {
    /// Padding flags pad the same text that plain formatting and `write_to` produce.
    #[test]
    fn padded_display_is_the_same_text(insn in insn()) {
        let plain = insn.to_string();
        let mut direct = String::new();
        insn.write_to(&mut direct).unwrap();
        prop_assert_eq!(&plain, &direct);
        let padded = format!("{insn:<80}|");
        prop_assert_eq!(padded.trim_end_matches('|').trim_end(), plain.as_str());
        prop_assert_eq!(padded.chars().count(), plain.chars().count().max(80) + 1);
    }
}

/// Whether the instruction's text carries all its fields (see `parse_insn`).
fn text_is_complete(insn: &Insn) -> bool {
    match *insn {
        Insn::Call(Call::Kfunc { off, .. }) => off == 0,
        Insn::Call(Call::LocalTranslated { .. }) => false,
        Insn::LdImm64 { kind, next_imm, .. } => {
            matches!(
                kind,
                LdImm64Kind::Imm | LdImm64Kind::MapValue | LdImm64Kind::MapIdxValue
            ) || next_imm == 0
        }
        _ => true,
    }
}

proptest! {
    /// The disassembly parses back to the same instruction: no two instructions print alike.
    #[test]
    fn disassembly_parses_back(insn in insn()) {
        let text = insn.to_string();
        let back = corebpf_insn::ebpf::parse_insn(&text);
        if text_is_complete(&insn) {
            prop_assert_eq!(back, Ok(insn), "{}", text);
        } else {
            prop_assert!(back.is_ok(), "{}", text);
        }
    }

    /// Arbitrary text never makes the parser panic.
    #[test]
    fn parser_never_panics(text in "\\PC{0,60}") {
        let _ = corebpf_insn::ebpf::parse_insn(&text);
    }

    /// Mutilated disassembly never makes the parser panic either, and errors point inside.
    #[test]
    fn parser_rejects_truncations(insn in insn(), cut in 0usize..60) {
        let text = insn.to_string();
        let cut = cut.min(text.len());
        if let Err(e) = corebpf_insn::ebpf::parse_insn(&text[..cut]) {
            prop_assert!(e.column <= cut, "{} for {:?}", e, &text[..cut]);
        }
    }
}

#[test]
fn short_inputs_are_errors() {
    use corebpf_insn::ebpf::DecodeErrorKind;
    assert_eq!(
        decode(&[], Endian::Little).unwrap_err().kind,
        DecodeErrorKind::Empty
    );
    assert_eq!(
        decode(&[0x95, 0, 0], Endian::Big).unwrap_err().kind,
        DecodeErrorKind::Truncated { len: 3 }
    );
    assert_eq!(Decoder::new(&[], Endian::Little).count(), 0);
}
