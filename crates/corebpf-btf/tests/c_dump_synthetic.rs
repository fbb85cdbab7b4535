//! The C header output on BTF built for the purpose: clang compiles `tests/data/c_dump_edge.c`
//! (every awkward declaration this crate knows of) to BTF; the header generated from that BTF
//! must compile warning-free, reproduce every size and offset, and compile back to the same BTF.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use corebpf_btf::c_dump::{dump_c, dump_c_with_renames, CDumpError, COptions};
use corebpf_btf::{Btf, BtfBuilder, FuncLinkage, IntEncoding, Kind, Member, TypeId, VarLinkage};

mod c_dump_support;
use c_dump_support::*;

fn edge_btf(dir: &std::path::Path) -> Vec<u8> {
    let src_path = manifest_dir().join("tests/data/c_dump_edge.c");
    let src = std::fs::read_to_string(&src_path).expect("reading c_dump_edge.c");
    let obj = compile(dir, "c_dump_edge.c", &src, &[]);
    btf_of_object(&obj)
}

#[test]
fn edge_cases_compile_with_clang_layout_and_round_trip() {
    let dir = scratch("edge");
    let data = edge_btf(&dir);
    let btf = Btf::parse(&data).expect("parsing clang's BTF");
    let (header, checks) = check_header_layout("edge_layout", &btf);
    assert_eq!(checks.records, 20, "named structs/unions in c_dump_edge.c");
    let rt_dir = scratch("edge_round_trip");
    let rt = round_trip(&rt_dir, &btf, &header, &HashMap::new());
    assert_eq!(rt.records, checks.records);
    assert_eq!(rt.enums, 5);
}

fn m(name: &str, ty: TypeId, bit_offset: u32, bitfield_size: u32) -> Member<'_> {
    Member {
        name,
        ty,
        bit_offset,
        bitfield_size,
    }
}

/// BTF no C compiler produces: name conflicts in both C namespaces, records whose layout only
/// `packed`, padding or an `aligned` attribute can reproduce, opaque records, enums of every
/// size, an unnamed member of a named struct type, and the kinds a header skips.
fn built_btf() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b
        .add_int("int", 4, IntEncoding(IntEncoding::SIGNED), 0, 32)
        .expect("int");
    let uint = b
        .add_int("unsigned int", 4, IntEncoding(0), 0, 32)
        .expect("uint");
    let long = b
        .add_int("long", 8, IntEncoding(IntEncoding::SIGNED), 0, 64)
        .expect("long");
    let chr = b
        .add_int("char", 1, IntEncoding(IntEncoding::SIGNED), 0, 8)
        .expect("char");
    // Three different records and an enum all called `dup`; two typedefs called `dup_t`.
    let dup1 = b
        .add_struct(false, "dup", 4, &[m("a", int, 0, 0)])
        .expect("dup");
    let dup2 = b
        .add_struct(false, "dup", 16, &[m("a", long, 0, 0), m("b", long, 64, 0)])
        .expect("dup 2");
    let dup3 = b
        .add_struct(true, "dup", 8, &[m("x", long, 0, 0), m("y", chr, 0, 0)])
        .expect("dup 3");
    let dup_enum = b
        .add_enum("dup", 4, false, &[("DUP_ONE", 1), ("DUP_TWO", 2)])
        .expect("dup enum");
    let dup_t1 = b.add_ref(Kind::Typedef, "dup_t", int).expect("dup_t");
    let dup_t2 = b.add_ref(Kind::Typedef, "dup_t", dup2).expect("dup_t 2");
    // Enumerator names repeated across enums, and one equal to a typedef name.
    let colors = b
        .add_enum("colors", 4, false, &[("RED", 1), ("GREEN", 2)])
        .expect("colors");
    let colors2 = b
        .add_enum("colors2", 4, true, &[("RED", -1), ("dup_t", 7)])
        .expect("colors2");
    // An anonymous enum nothing refers to: constants at the top level.
    b.add_enum("", 4, false, &[("TOP_CONST", 42)])
        .expect("anon enum");
    // Enums of 1, 2 and 8 bytes; an 8-byte ENUM64 whose values fit 32 bits.
    let e1 = b
        .add_enum("tiny", 1, true, &[("TINY_NEG", -3), ("TINY_POS", 100)])
        .expect("tiny");
    let e2 = b
        .add_enum("small", 2, false, &[("SMALL_A", 1), ("SMALL_B", 0xfff0)])
        .expect("small");
    let e8 = b
        .add_enum64("wide_small_values", 8, false, &[("WSV_A", 1), ("WSV_B", 2)])
        .expect("wide");
    let e8s = b
        .add_enum64(
            "wide_signed",
            8,
            true,
            &[
                ("WS_MIN", i128::from(i64::MIN)),
                ("WS_MAX", i128::from(i64::MAX)),
            ],
        )
        .expect("wide signed");
    // Bitfields that straddle their type's unit: only a packed struct places them so.
    let straddle = b
        .add_struct(
            false,
            "straddle",
            8,
            &[m("a", int, 0, 20), m("b", int, 20, 20), m("c", chr, 40, 0)],
        )
        .expect("straddle");
    // A member at an offset natural alignment does not explain (explicit padding), and a
    // record bigger than its members.
    let gaps = b
        .add_struct(
            false,
            "gaps",
            48,
            &[m("a", chr, 0, 0), m("b", int, 96, 0), m("c", long, 256, 0)],
        )
        .expect("gaps");
    let opaque = b.add_struct(false, "opaque", 24, &[]).expect("opaque");
    let opaque_u = b
        .add_struct(true, "opaque_u", 40, &[])
        .expect("opaque union");
    let wide_u = b
        .add_struct(true, "wide_u", 12, &[m("c", chr, 0, 0)])
        .expect("wide union");
    // An unnamed member whose type is a named struct (as -fms-extensions allows).
    let inner = b
        .add_struct(
            false,
            "inner_named",
            8,
            &[m("p", int, 0, 0), m("q", int, 32, 0)],
        )
        .expect("inner");
    let holder = b
        .add_struct(
            false,
            "holder",
            16,
            &[m("", inner, 0, 0), m("r", long, 64, 0)],
        )
        .expect("holder");
    // Pointer cycle through a forward declaration of a union.
    let fwd = b.add_fwd("later_union", true).expect("fwd");
    let pfwd = b.add_ref(Kind::Ptr, "", fwd).expect("ptr");
    let user_ptr = b.add_ref(Kind::Ptr, "", 0).expect("void ptr");
    let user = b
        .add_struct(
            false,
            "user",
            80,
            &[
                m("d1", dup1, 0, 0),
                m("d2", dup2, 64, 0),
                m("d3", dup3, 192, 0),
                m("de", dup_enum, 256, 0),
                m("t1", dup_t1, 288, 0),
                m("t2", dup_t2, 320, 0),
                m("c", colors, 448, 0),
                m("c2", colors2, 480, 0),
                m("e1", e1, 512, 0),
                m("e2", e2, 528, 0),
                m("fwd", pfwd, 576, 0),
            ],
        )
        .expect("user");
    let user2 = b
        .add_struct(
            false,
            "user2",
            32,
            &[
                m("e8", e8, 0, 0),
                m("e8s", e8s, 64, 0),
                m("v", user_ptr, 128, 0),
                m("u", uint, 192, 0),
            ],
        )
        .expect("user2");
    // What a header leaves out: functions, variables, sections, declaration tags.
    let proto = b.add_func_proto(int, &[("x", int)]).expect("proto");
    let func = b
        .add_func("some_func", proto, FuncLinkage::Global)
        .expect("func");
    b.add_decl_tag("a_tag", func, -1, false).expect("decl tag");
    let var = b
        .add_var("some_var", user, VarLinkage::Global)
        .expect("var");
    b.add_datasec(".data", 80, &[(var, 0, 80)])
        .expect("datasec");
    let _ = (straddle, gaps, opaque, opaque_u, wide_u, holder, user2);
    b.finish().expect("finish")
}

#[test]
fn built_btf_compiles_with_its_layout_renames_like_bpftool_and_round_trips() {
    let data = built_btf();
    let btf = Btf::parse(&data).expect("parsing built BTF");
    let mut out = Vec::new();
    let renames = dump_c_with_renames(&btf, &mut out, &COptions::default()).expect("C dump");
    let header = String::from_utf8(out).expect("UTF-8");
    let renamed: HashMap<TypeId, String> = renames.iter().cloned().collect();
    // Later types with a taken name got suffixes; the enumerators' values prove which is which.
    let (_, checks, rt) = check_header("built", &btf, true);
    assert_eq!(checks.records, 12);
    assert_eq!(rt.records, 12);
    assert_eq!(rt.enums, 7);
    let dir = scratch("built_constants");
    std::fs::write(dir.join("vmlinux.h"), &header).expect("write");
    compile_clean(
        &dir,
        "constants.c",
        "#include \"vmlinux.h\"\n\
         _Static_assert(TOP_CONST == 42, \"top-level anonymous enum\");\n\
         _Static_assert(RED == 1 && RED___2 == -1, \"enumerator renamed\");\n\
         _Static_assert(dup_t___3 == 7, \"enumerator named like a typedef\");\n\
         _Static_assert(TINY_NEG == -3 && SMALL_B == 0xfff0, \"small enums\");\n\
         _Static_assert(WS_MIN == (-9223372036854775807LL - 1) && WS_MAX == 9223372036854775807LL, \"enum64\");\n\
         _Static_assert(sizeof(dup_t) == 4 && sizeof(dup_t___2) == 16, \"typedefs\");\n",
    );
    // Renames reported for every renamed type, under the names bpftool gives them.
    require_tool(BPFTOOL, "version", "bpftool: `apt-get install bpftool`");
    let file = dir.join("built.btf");
    std::fs::write(&file, &data).expect("write BTF");
    let out = Command::new(BPFTOOL)
        .args(["btf", "dump", "file"])
        .arg(&file)
        .args(["format", "c"])
        .output()
        .expect("running bpftool");
    assert!(out.status.success(), "bpftool failed");
    let theirs = String::from_utf8_lossy(&out.stdout);
    let defs = |h: &str| -> BTreeSet<String> {
        h.lines()
            .filter(|l| {
                (l.starts_with("struct ") || l.starts_with("union ") || l.starts_with("enum "))
                    && l.ends_with(" {")
                    || l.starts_with("typedef ")
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(defs(&header), defs(&theirs));
    for (id, name) in &renamed {
        assert!(
            theirs.contains(&format!(" {name} {{")) || theirs.contains(&format!(" {name};")),
            "[{id}] {name} not in bpftool's header"
        );
    }
    assert_eq!(renamed.len(), 4, "{renamed:?}");
}

fn dump_err(data: &[u8]) -> String {
    let btf = Btf::parse(data).expect("parses: the problem is in the type graph");
    dump_c(&btf, &mut Vec::new(), &COptions::default())
        .expect_err("cannot be written as C")
        .to_string()
}

#[test]
fn type_graphs_c_cannot_express_are_errors() {
    // A struct that contains itself by value.
    let mut b = BtfBuilder::new();
    let int = b
        .add_int("int", 4, IntEncoding(IntEncoding::SIGNED), 0, 32)
        .expect("int");
    b.add_struct(false, "selfish", 8, &[m("a", int, 0, 0), m("me", 2, 32, 0)])
        .expect("struct");
    assert_eq!(
        dump_err(&b.finish().expect("finish")),
        "type [2]: type contains itself by value (cycle that C cannot express)"
    );

    // An anonymous struct that points to itself (it has no name to forward-declare).
    let mut b = BtfBuilder::new();
    let ptr = b.add_ref(Kind::Ptr, "", 2).expect("ptr");
    b.add_struct(false, "", 8, &[m("next", ptr, 0, 0)])
        .expect("struct");
    assert_eq!(
        dump_err(&b.finish().expect("finish")),
        "type [2]: type contains itself by value (cycle that C cannot express)"
    );

    // A typedef of itself.
    let mut b = BtfBuilder::new();
    b.add_ref(Kind::Typedef, "loop_t", 1).expect("typedef");
    assert_eq!(
        dump_err(&b.finish().expect("finish")),
        "type [1]: type nesting too deep (or a reference loop)"
    );

    // A chain of 5000 const modifiers: refused, not a stack overflow.
    let mut b = BtfBuilder::new();
    let mut id = b
        .add_int("int", 4, IntEncoding(IntEncoding::SIGNED), 0, 32)
        .expect("int");
    for _ in 0..5000 {
        id = b.add_ref(Kind::Const, "", id).expect("const");
    }
    b.add_struct(false, "s", 4, &[m("x", id, 0, 0)])
        .expect("struct");
    let err = dump_err(&b.finish().expect("finish"));
    assert!(
        err.ends_with("type nesting too deep (or a reference loop)"),
        "{err}"
    );
}

#[test]
fn a_failing_writer_reports_the_io_error() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let data = built_btf();
    let btf = Btf::parse(&data).expect("BTF");
    let err = dump_c(&btf, &mut Full, &COptions::default()).expect_err("must fail");
    assert!(matches!(err, CDumpError::Io(_)), "{err:?}");
    assert_eq!(err.to_string(), "writing C output: disk full");
}

#[test]
fn big_endian_btf_gives_the_same_header() {
    // The same declarations compiled for the big-endian BPF target: the BTF's byte order differs,
    // the C it describes does not.
    let dir = scratch("edge_be");
    let src_path = manifest_dir().join("tests/data/c_dump_edge.c");
    let c = dir.join("c_dump_edge.c");
    std::fs::copy(&src_path, &c).expect("copying c_dump_edge.c");
    let obj = dir.join("c_dump_edge.be.o");
    let out = Command::new(CLANG)
        .args(["-g", "-O2", "-target", "bpfeb", "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&obj)
        .output()
        .expect("running clang-19");
    assert!(
        out.status.success(),
        "clang-19 -target bpfeb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let be = btf_of_object(&obj);
    let le = edge_btf(&dir);
    let be_btf = Btf::parse(&be).expect("big-endian BTF");
    let le_btf = Btf::parse(&le).expect("little-endian BTF");
    assert_eq!(be_btf.endian(), corebpf_btf::Endian::Big);
    assert_eq!(le_btf.endian(), corebpf_btf::Endian::Little);
    let (be_header, checks) = check_header_layout("edge_be_layout", &be_btf);
    assert_eq!(checks.records, 20);
    let mut le_header = Vec::new();
    dump_c(&le_btf, &mut le_header, &COptions::default()).expect("C dump");
    assert_eq!(be_header, String::from_utf8(le_header).expect("UTF-8"));
}

/// `_Alignof` of every named record of c_dump_edge.c as clang lays out the original source,
/// read back from the assembly of `const int align_NAME = _Alignof(...)`.
fn original_alignments(dir: &std::path::Path, btf: &Btf<'_>) -> Vec<(String, String, u64)> {
    let mut src = std::fs::read_to_string(manifest_dir().join("tests/data/c_dump_edge.c"))
        .expect("reading c_dump_edge.c");
    let mut records = Vec::new();
    for t in btf.types() {
        let tag = match t.kind_id() {
            Kind::Struct => "struct",
            Kind::Union => "union",
            _ => continue,
        };
        if t.name.is_empty() {
            continue;
        }
        src.push_str(&format!(
            "const int align_{} = _Alignof({tag} {});\n",
            t.name, t.name
        ));
        records.push((tag.to_string(), t.name.to_string()));
    }
    let c = dir.join("alignments.c");
    std::fs::write(&c, &src).expect("writing alignments.c");
    let out = Command::new(CLANG)
        .args(["-O2", "-target", "bpf", "-S", "-o", "-"])
        .arg(&c)
        .output()
        .expect("running clang-19");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asm = String::from_utf8_lossy(&out.stdout).into_owned();
    records
        .into_iter()
        .map(|(tag, name)| {
            let label = format!("align_{name}:\n");
            let at = asm
                .find(&label)
                .unwrap_or_else(|| panic!("{label} in clang's output"));
            let value = asm[at + label.len()..]
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("value of {label}"));
            (tag, name, value)
        })
        .collect()
}

#[test]
fn over_aligned_members_keep_their_alignment_and_nothing_is_over_aligned() {
    let dir = scratch("edge_align");
    let data = edge_btf(&dir);
    let btf = Btf::parse(&data).expect("parsing clang's BTF");
    let header = {
        let mut out = Vec::new();
        dump_c(&btf, &mut out, &COptions::default()).expect("C dump");
        String::from_utf8(out).expect("UTF-8")
    };
    std::fs::write(dir.join("vmlinux.h"), &header).expect("writing vmlinux.h");
    let originals = original_alignments(&dir, &btf);
    assert_eq!(originals.len(), 20);
    let mut src = String::from("#include \"vmlinux.h\"\n");
    for (tag, name, align) in &originals {
        // Never more aligned than the original (or a struct embedding it could not be laid out
        // as the BTF says) ...
        src.push_str(&format!(
            "_Static_assert({align} % _Alignof({tag} {name}) == 0, \"{name}: {align}\");\n"
        ));
    }
    // ... and exactly as aligned where a member's alignment shows in the offsets.
    for name in ["aligned_member", "uses_cacheline", "holds_unions", "wide"] {
        let (tag, _, align) = originals
            .iter()
            .find(|(_, n, _)| n == name)
            .expect("record of c_dump_edge.c");
        src.push_str(&format!(
            "_Static_assert(_Alignof({tag} {name}) == {align}, \"{name}\");\n"
        ));
    }
    compile_clean(&dir, "alignments_check.c", &src);
}
