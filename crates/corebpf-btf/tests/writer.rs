//! `BtfBuilder`: re-emitting real BTF, and building BTF that bpftool reads back.

mod btf_support;

use std::path::Path;

use btf_support::*;
use corebpf_btf::{
    Btf, BtfBuilder, BtfError, FuncLinkage, IntEncoding, Kind, Member, VarLinkage, HEADER_LEN,
};

/// The type and string sections of a blob.
fn sections(data: &[u8]) -> (&[u8], &[u8]) {
    let btf = Btf::parse(data).expect("parses");
    (btf.type_section(), btf.string_section())
}

#[test]
fn vmlinux_round_trips_byte_for_byte() {
    let data = read(Path::new(VMLINUX));
    let btf = Btf::parse(&data).expect("kernel BTF");
    let out = BtfBuilder::from_btf(&btf)
        .expect("builder")
        .finish()
        .expect("finish");
    assert_eq!(btf.header().hdr_len, HEADER_LEN);
    assert!(
        out == data,
        "re-emitted kernel BTF differs from the original"
    );
}

#[test]
fn foreign_vmlinux_round_trips_its_sections() {
    // This blob's header is 32 bytes long (fields we do not know); the sections match.
    let data = read_gz(&corpus("vmlinux.btf.gz"));
    let btf = Btf::parse(&data).expect("foreign BTF");
    let out = BtfBuilder::from_btf(&btf)
        .expect("builder")
        .finish()
        .expect("finish");
    assert_eq!(sections(&out), (btf.type_section(), btf.string_section()));
}

#[test]
fn rebuilding_with_fresh_strings_keeps_every_type() {
    // String offsets change (strings are interned in first-use order), so compare dumps,
    // which print names, against bpftool's dump of the original; and bpftool must read
    // the rebuilt blob to the same dump.
    let data = read(Path::new(VMLINUX));
    let btf = Btf::parse(&data).expect("kernel BTF");
    let mut b = BtfBuilder::new();
    for t in btf.types() {
        b.add_type(&t).expect("add");
    }
    let out = b.finish().expect("finish");
    let rebuilt = Btf::parse(&out).expect("rebuilt parses");
    let want = bpftool_raw(Path::new(VMLINUX), None);
    assert_same_dump("rebuilt vmlinux", &our_raw(&rebuilt), &want);
    let dir = scratch("writer-rebuilt");
    let file = write(&dir, "rebuilt.btf", &out);
    assert_same_dump(
        "bpftool on rebuilt vmlinux",
        &bpftool_raw(&file, None),
        &want,
    );
}

#[test]
fn clang_objects_round_trip() {
    for o in corebpf_testdata::objects() {
        let sec = elf_section(&o.read().expect("readable"), ".BTF").expect(".BTF");
        let btf = Btf::parse(&sec).expect("parses");
        let out = BtfBuilder::from_btf(&btf)
            .expect("builder")
            .finish()
            .expect("finish");
        let rebuilt = Btf::parse(&out).expect("rebuilt parses");
        assert_eq!(our_raw(&rebuilt), our_raw(&btf), "{}", o.label());
        if btf.endian() == corebpf_btf::Endian::Little {
            assert_eq!(
                sections(&out),
                (btf.type_section(), btf.string_section()),
                "{}",
                o.label()
            );
        }
    }
}

#[test]
fn built_from_scratch_reads_back_in_bpftool() {
    let mut b = BtfBuilder::new();
    let int = b
        .add_int("int", 4, IntEncoding(IntEncoding::SIGNED), 0, 32)
        .unwrap();
    let uint = b
        .add_int("unsigned int", 4, IntEncoding::default(), 0, 32)
        .unwrap();
    let chr = b
        .add_int("char", 1, IntEncoding(IntEncoding::CHAR), 0, 8)
        .unwrap();
    let ptr = b.add_ref(Kind::Ptr, "", int).unwrap();
    let cint = b.add_ref(Kind::Const, "", int).unwrap();
    let vint = b.add_ref(Kind::Volatile, "", cint).unwrap();
    let rptr = b.add_ref(Kind::Restrict, "", ptr).unwrap();
    let td = b.add_ref(Kind::Typedef, "myint", vint).unwrap();
    let tag = b.add_ref(Kind::TypeTag, "user", int).unwrap();
    let arr = b.add_array(chr, uint, 16).unwrap();
    let s = b
        .add_struct(
            false,
            "thing",
            32,
            &[
                Member {
                    name: "a",
                    ty: uint,
                    bit_offset: 0,
                    bitfield_size: 3,
                },
                Member {
                    name: "b",
                    ty: uint,
                    bit_offset: 3,
                    bitfield_size: 5,
                },
                Member {
                    name: "p",
                    ty: rptr,
                    bit_offset: 64,
                    bitfield_size: 0,
                },
                Member {
                    name: "name",
                    ty: arr,
                    bit_offset: 128,
                    bitfield_size: 0,
                },
            ],
        )
        .unwrap();
    let u = b
        .add_struct(
            true,
            "either",
            8,
            &[
                Member {
                    name: "i",
                    ty: td,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
                Member {
                    name: "t",
                    ty: tag,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
            ],
        )
        .unwrap();
    let e = b
        .add_enum("color", 4, true, &[("RED", 0), ("BLUE", -1)])
        .unwrap();
    let e64 = b
        .add_enum64("big", 8, false, &[("HUGE", 0xffff_ffff_ffff)])
        .unwrap();
    let fwd = b.add_fwd("later", true).unwrap();
    let proto = b.add_func_proto(int, &[("x", s), ("", 0)]).unwrap();
    let func = b.add_func("do_it", proto, FuncLinkage::Global).unwrap();
    let var = b.add_var("counter", int, VarLinkage::Global).unwrap();
    b.add_datasec(".data", 4, &[(var, 0, 4)]).unwrap();
    b.add_float("double", 8).unwrap();
    b.add_decl_tag("hot", func, -1, false).unwrap();
    b.add_decl_tag("field", s, 1, false).unwrap();
    let _ = (u, e, e64, fwd);
    let out = b.finish().expect("finish");
    let btf = Btf::parse(&out).expect("parses");
    assert_eq!(btf.len(), b.len() + 1);
    assert_eq!(btf.size_of(s), Ok(32));
    assert_eq!(btf.skip_mods_and_typedefs(td), Ok(int));
    let dir = scratch("writer-scratch");
    let file = write(&dir, "built.btf", &out);
    assert_same_dump(
        "built from scratch",
        &our_raw(&btf),
        &bpftool_raw(&file, None),
    );
}

#[test]
fn builder_rejects_what_btf_cannot_hold() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding(1), 0, 32).unwrap();
    assert!(matches!(
        b.add_int("wide", 4, IntEncoding(1), 0, 40),
        Err(BtfError::Writer { .. })
    ));
    let many: Vec<(&str, i128)> = (0..70_000).map(|_| ("x", 0)).collect();
    assert!(matches!(
        b.add_enum("e", 4, false, &many),
        Err(BtfError::Writer { .. })
    ));
    assert!(matches!(
        b.add_enum("e", 4, false, &[("x", 1 << 40)]),
        Err(BtfError::Writer { .. })
    ));
    assert!(matches!(
        b.add_ref(Kind::Struct, "", int),
        Err(BtfError::Writer { .. })
    ));
    assert!(matches!(b.add_str("a\0b"), Err(BtfError::Writer { .. })));
    // Failed additions leave the builder unchanged.
    assert_eq!(b.len(), 1);
    let bad_member = Member {
        name: "m",
        ty: int,
        bit_offset: 1 << 30,
        bitfield_size: 2,
    };
    assert!(matches!(
        b.add_struct(false, "s", 4, &[bad_member]),
        Err(BtfError::Writer { .. })
    ));
    assert_eq!(b.len(), 1);
    let out = b.finish().expect("still consistent");
    assert_eq!(Btf::parse(&out).expect("parses").len(), 2);
    b.add_ref(Kind::Ptr, "", 99).unwrap();
    assert!(matches!(b.finish(), Err(BtfError::Writer { .. })));
}
