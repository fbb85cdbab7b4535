//! `corebpf gen min-btf`: for every test object and two kernels' BTF (this kernel's and a
//! foreign one), linking against the minimal BTF gives the same instructions as linking
//! against the full BTF (values, poisoned relocations, failures); bpftool parses the output
//! and its own `gen min_core_btf` keeps the same types and members; the kernel loads and runs
//! the programs relocated against the minimal BTF. Kernel tests need root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use corebpf_btf::{Btf, BtfBuilder, Member, TypeId, TypeKind};
use corebpf_obj::link::{KernelConfig, LinkError, Linked, Target};
use corebpf_obj::min_btf::{min_core_btf, MinBtf};
use corebpf_obj::Object;
use corebpf_testdata::{Cpu, Endian, TestObject};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn corpora_btf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/btf/vmlinux.btf.gz")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("gen-min-btf-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn corebpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .args(args)
        .output()
        .expect("run corebpf")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read_btf(path: &Path) -> Vec<u8> {
    corebpf::target::read_btf_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Kconfig values the test objects ask for.
fn kconfig() -> KernelConfig {
    let mut c = KernelConfig::parse("CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=250\nCONFIG_BPF_JIT=y\n");
    c.kernel_version = 0x0006_1200;
    c
}

fn ksym(_: &str) -> Option<u64> {
    Some(0xffff_ffff_8100_0000)
}

/// Links `obj` twice: CO-RE against `full`, then against `min`; typed ksyms and kfuncs resolve
/// against `full` both times. Returns a description of the first difference.
fn compare_links(
    obj: &Object<'_>,
    full: &Btf<'_>,
    min: &Btf<'_>,
    ids: &MinBtf,
) -> Result<(), String> {
    let target = Target {
        btfs: vec![full],
        config: kconfig(),
        ksym_addr: Some(&ksym),
    };
    let a = obj.link("obj", &target);
    let b = obj.link_with_core_btfs("obj", &target, &[min]);
    match (a, b) {
        (Ok(a), Ok(b)) => compare_linked(&a, &b, ids),
        (Err(a), Err(b)) => compare_errors(&a, &b),
        (Ok(_), Err(b)) => Err(format!(
            "links against the full BTF, not the minimal one: {b}"
        )),
        (Err(a), Ok(_)) => Err(format!(
            "fails against the full BTF ({a}) but links against the minimal one"
        )),
    }
}

fn compare_errors(a: &LinkError, b: &LinkError) -> Result<(), String> {
    match (a, b) {
        (
            LinkError::Core {
                section: sa,
                index: ia,
                insn: na,
                kind: ka,
                source: ea,
                ..
            },
            LinkError::Core {
                section: sb,
                index: ib,
                insn: nb,
                kind: kb,
                source: eb,
                ..
            },
        ) => {
            // The engine's messages name target type ids, which the minimal BTF renumbers.
            let variant = |e: &corebpf_obj::core_relo::CoreError| {
                format!("{e:?}")
                    .split([' ', '{', '('])
                    .next()
                    .map(str::to_string)
            };
            if (sa, ia, na, ka) != (sb, ib, nb, kb) || variant(ea) != variant(eb) {
                return Err(format!("different failures:\n full: {a}\n  min: {b}"));
            }
            Ok(())
        }
        _ if a.to_string() == b.to_string() => Ok(()),
        _ => Err(format!("different failures:\n full: {a}\n  min: {b}")),
    }
}

fn compare_linked(a: &Linked<'_>, b: &Linked<'_>, ids: &MinBtf) -> Result<(), String> {
    if a.programs.len() != b.programs.len() {
        return Err("different program counts".into());
    }
    for (pa, pb) in a.programs.iter().zip(&b.programs) {
        let name = pa.name;
        if pa.core.len() != pb.core.len() {
            return Err(format!(
                "{name}: {} vs {} CO-RE reports",
                pa.core.len(),
                pb.core.len()
            ));
        }
        let mut insns_b = pb.insns.clone();
        for (ra, rb) in pa.core.iter().zip(&pb.core) {
            let mut new_b = rb.new_val;
            if rb.kind == corebpf_btf::CoreReloKind::TargetTypeId && !rb.poisoned {
                // Type ids are renumbered: map back, and compare the instruction with the
                // full BTF's id in place.
                new_b = u64::from(
                    *ids.full_ids
                        .get(rb.new_val as usize)
                        .ok_or_else(|| format!("{name}: target id {} out of range", rb.new_val))?,
                );
                let at = rb.insn * 8;
                // Both halves of a 64-bit immediate load, else the one instruction.
                let len = if pa.insns.get(at) == Some(&0x18) {
                    16
                } else {
                    8
                };
                if let (Some(sa), Some(sb)) =
                    (pa.insns.get(at..at + len), insns_b.get_mut(at..at + len))
                {
                    sb.copy_from_slice(sa);
                }
            }
            if (ra.insn, ra.kind, ra.poisoned, ra.orig_val, ra.new_val)
                != (rb.insn, rb.kind, rb.poisoned, rb.orig_val, new_b)
            {
                return Err(format!(
                    "{name}: relocation differs:\n full: {ra:?}\n  min: {rb:?}"
                ));
            }
        }
        if pa.insns != insns_b {
            let n = pa
                .insns
                .chunks(8)
                .zip(insns_b.chunks(8))
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            return Err(format!("{name}: instruction {n} differs"));
        }
        if pa.btf_refs != pb.btf_refs || pa.map_refs != pb.map_refs {
            return Err(format!("{name}: BTF or map references differ"));
        }
    }
    Ok(())
}

fn objects() -> &'static [TestObject] {
    let objs = corebpf_testdata::objects();
    assert!(
        objs.iter().any(|o| o.endian == Endian::Big) && objs.iter().any(|o| o.cpu == Cpu::V4),
        "the test objects include v4 and big-endian builds"
    );
    objs
}

/// Per object (library) and all objects at once (the binary): link(min) == link(full).
fn links_like_full(full_path: &Path, tag: &str) {
    let full_bytes = read_btf(full_path);
    let full = Btf::parse(&full_bytes).expect("full BTF parses");
    let mut failures = Vec::new();
    let mut with_core = 0;
    let mut parsed = Vec::new();
    for o in objects() {
        parsed.push((o, o.read().expect("read test object")));
    }
    for (o, bytes) in &parsed {
        let obj = Object::parse(bytes).unwrap_or_else(|e| panic!("{}: {e}", o.label()));
        let min = min_core_btf(&full, &[&obj]).unwrap_or_else(|e| panic!("{}: {e}", o.label()));
        let min_btf =
            Btf::parse(&min.bytes).unwrap_or_else(|e| panic!("{}: min BTF: {e}", o.label()));
        if min.type_count() > 0 {
            with_core += 1;
            assert!(
                min.bytes.len() * 100 < full_bytes.len(),
                "{}: {} bytes is not minimal",
                o.label(),
                min.bytes.len()
            );
        }
        if let Err(e) = compare_links(&obj, &full, &min_btf, &min) {
            failures.push(format!("{} (own min BTF): {e}", o.label()));
        }
    }
    assert!(
        with_core >= 10,
        "only {with_core} objects have CO-RE relocations"
    );

    // One minimal BTF for every object, written by the binary.
    let out = scratch(tag).join("all.btf");
    let mut args = vec!["gen", "min-btf", "--btf", s(full_path), "-o", s(&out)];
    for o in objects() {
        args.push(s(o.path()));
    }
    let run = corebpf(&args);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let all_bytes = std::fs::read(&out).expect("output written");
    let all = Btf::parse(&all_bytes).expect("combined min BTF parses");
    let all_ids = MinBtf {
        bytes: all_bytes.clone(),
        full_ids: full_ids_of(&full, &all),
    };
    for (o, bytes) in &parsed {
        let obj = Object::parse(bytes).expect("parses");
        if let Err(e) = compare_links(&obj, &full, &all, &all_ids) {
            failures.push(format!("{} (combined min BTF): {e}", o.label()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Recovers the full BTF ids of a minimal BTF's types (same order, same names and kinds).
fn full_ids_of(full: &Btf<'_>, min: &Btf<'_>) -> Vec<TypeId> {
    let mut out = vec![0];
    let mut next = 1;
    for t in min.types() {
        while next < full.len() {
            let f = full.type_by_id(next).expect("full type");
            next += 1;
            if f.name == t.name && f.kind_id() == t.kind_id() {
                out.push(f.id);
                break;
            }
        }
    }
    assert_eq!(
        out.len() as u32,
        min.len(),
        "every minimal type is in the full BTF, in order"
    );
    out
}

#[test]
fn links_like_full_btf_this_kernel() {
    links_like_full(Path::new(VMLINUX), "vmlinux");
}

#[test]
fn links_like_full_btf_foreign_kernel() {
    links_like_full(&corpora_btf(), "foreign");
}

/// A type in a form that does not depend on ids: named types by name, anonymous ones spelled
/// out.
fn canon(btf: &Btf<'_>, id: TypeId, depth: u32, stubs: &BTreeSet<TypeId>) -> String {
    if id == 0 {
        return "void".into();
    }
    if depth > 32 {
        return "...".into();
    }
    let Ok(t) = btf.type_by_id(id) else {
        return format!("bad#{id}");
    };
    let d = depth + 1;
    match t.kind {
        TypeKind::Ptr { target } if stubs.contains(&target) => "*void".into(),
        TypeKind::Int {
            size,
            encoding,
            offset,
            bits,
        } => format!("int {} {size} {} {offset} {bits}", t.name, encoding.0),
        TypeKind::Ptr { target } => format!("*{}", canon(btf, target, d, stubs)),
        TypeKind::Array { elem, len, .. } => format!("[{len}]{}", canon(btf, elem, d, stubs)),
        TypeKind::Typedef { .. } => format!("typedef {}", t.name),
        TypeKind::Const { target } => format!("const {}", canon(btf, target, d, stubs)),
        TypeKind::Volatile { target } => format!("volatile {}", canon(btf, target, d, stubs)),
        TypeKind::Restrict { target } => format!("restrict {}", canon(btf, target, d, stubs)),
        TypeKind::TypeTag { target } => format!("tag {} {}", t.name, canon(btf, target, d, stubs)),
        TypeKind::Struct { .. } | TypeKind::Union { .. } if !t.name.is_empty() => {
            format!("{} {}", t.kind_id().name(), t.name)
        }
        TypeKind::Struct { size, members } | TypeKind::Union { size, members } => {
            let ms: Vec<String> = members
                .iter()
                .map(|m| {
                    format!(
                        "{}:{}@{}/{}",
                        m.name,
                        canon(btf, m.ty, d, stubs),
                        m.bit_offset,
                        m.bitfield_size
                    )
                })
                .collect();
            format!("{} {size} {{{}}}", t.kind_id().name(), ms.join(", "))
        }
        TypeKind::Enum { size, .. } | TypeKind::Enum64 { size, .. } => {
            format!("enum {} {size}", t.name)
        }
        TypeKind::FuncProto { ret, params } => {
            let ps: Vec<String> = params.iter().map(|p| canon(btf, p.ty, d, stubs)).collect();
            format!("fn({}) -> {}", ps.join(", "), canon(btf, ret, d, stubs))
        }
        _ => format!("{} {}", t.kind_id().name(), t.name),
    }
}

/// Every type described without ids (named structs with their members), and every enum's
/// enumerators.
fn shape(
    btf: &Btf<'_>,
    stubs: &BTreeSet<TypeId>,
) -> (BTreeMap<String, usize>, BTreeMap<String, BTreeSet<String>>) {
    let mut types = BTreeMap::new();
    let mut enums: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in btf.types().filter(|t| !stubs.contains(&t.id)) {
        let desc = match t.kind {
            TypeKind::Struct { size, members } | TypeKind::Union { size, members } => {
                let ms: Vec<String> = members
                    .iter()
                    .map(|m| {
                        format!(
                            "{}:{}@{}/{}",
                            m.name,
                            canon(btf, m.ty, 0, stubs),
                            m.bit_offset,
                            m.bitfield_size
                        )
                    })
                    .collect();
                format!(
                    "{} {} {size} {{{}}}",
                    t.kind_id().name(),
                    t.name,
                    ms.join(", ")
                )
            }
            TypeKind::Typedef { target } => {
                format!("typedef {} = {}", t.name, canon(btf, target, 0, stubs))
            }
            TypeKind::Enum { values, .. } => {
                let e = enums.entry(t.name.to_string()).or_default();
                e.extend(values.iter().map(|v| format!("{}={}", v.name, v.value)));
                canon(btf, t.id, 0, stubs)
            }
            TypeKind::Enum64 { values, .. } => {
                let e = enums.entry(t.name.to_string()).or_default();
                e.extend(values.iter().map(|v| format!("{}={}", v.name, v.value)));
                canon(btf, t.id, 0, stubs)
            }
            _ => canon(btf, t.id, 0, stubs),
        };
        *types.entry(desc).or_insert(0) += 1;
    }
    (types, enums)
}

/// bpftool reads our output, and its own minimal BTF for the same objects has the same types
/// and members; it keeps whole enums where we keep the enumerators relocations ask for.
fn agrees_with_bpftool(full_path: &Path, tag: &str) {
    let dir = scratch(tag);
    let ours = dir.join("ours.btf");
    let theirs = dir.join("bpftool.btf");
    // bpftool needs the raw file; libbpf of bpftool 7.1 cannot read big-endian objects.
    let raw = dir.join("full.btf");
    std::fs::write(&raw, read_btf(full_path)).expect("write raw full BTF");
    let objs: Vec<&str> = objects()
        .iter()
        .filter(|o| o.endian == Endian::Little)
        .map(|o| s(o.path()))
        .collect();
    let mut args = vec!["gen", "min-btf", "--btf", s(&raw), "-o", s(&ours)];
    args.extend(&objs);
    let out = corebpf(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dump = Command::new("bpftool")
        .args(["btf", "dump", "file", s(&ours)])
        .output()
        .unwrap_or_else(|e| panic!("bpftool is needed (apt-get install bpftool): {e}"));
    assert!(
        dump.status.success(),
        "bpftool btf dump: {}",
        text(&dump.stderr)
    );
    let ours_bytes = std::fs::read(&ours).expect("ours");
    let ours_btf = Btf::parse(&ours_bytes).expect("ours parses");
    assert_eq!(
        text(&dump.stdout)
            .lines()
            .filter(|l| l.starts_with('['))
            .count() as u32,
        ours_btf.len() - 1,
        "bpftool sees every type"
    );

    let mut args = vec!["gen", "min_core_btf", s(&raw), s(&theirs)];
    args.extend(&objs);
    let gen = Command::new("bpftool")
        .args(&args)
        .output()
        .expect("bpftool");
    assert!(
        gen.status.success(),
        "bpftool gen min_core_btf: {}",
        text(&gen.stderr)
    );
    let theirs_bytes = std::fs::read(&theirs).expect("bpftool output");
    let theirs_btf = Btf::parse(&theirs_bytes).expect("bpftool's output parses");

    // Where bpftool writes `void *`, ours points to the struct, kept without members: those
    // stubs (named, member-less, absent from bpftool's) count as `void`.
    let named: BTreeSet<(corebpf_btf::Kind, &str)> = theirs_btf
        .types()
        .filter(|t| !t.name.is_empty())
        .map(|t| (t.kind_id(), t.name))
        .collect();
    let stubs: BTreeSet<TypeId> = ours_btf
        .types()
        .filter(|t| t.members().is_some_and(|m| m.is_empty()))
        .filter(|t| !t.name.is_empty() && !named.contains(&(t.kind_id(), t.name)))
        .map(|t| t.id)
        .collect();
    let (ot, oe) = shape(&ours_btf, &stubs);
    let (tt, te) = shape(&theirs_btf, &BTreeSet::new());
    let only_ours: Vec<_> = ot.keys().filter(|k| !tt.contains_key(*k)).collect();
    let only_theirs: Vec<_> = tt.keys().filter(|k| !ot.contains_key(*k)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "types only in ours: {only_ours:#?}\ntypes only in bpftool's: {only_theirs:#?}"
    );
    assert_eq!(
        oe.keys().collect::<Vec<_>>(),
        te.keys().collect::<Vec<_>>(),
        "the same enums"
    );
    for (name, values) in &oe {
        assert!(
            !values.is_empty(),
            "enum {name} keeps the enumerators asked for"
        );
        assert!(
            values.is_subset(&te[name]),
            "enum {name}: {values:?} not in bpftool's"
        );
    }
    assert!(
        ours_bytes.len() <= theirs_bytes.len(),
        "ours {} bytes, bpftool's {}",
        ours_bytes.len(),
        theirs_bytes.len()
    );
}

#[test]
fn bpftool_reads_it_and_keeps_the_same_types_this_kernel() {
    agrees_with_bpftool(Path::new(VMLINUX), "bpftool-vmlinux");
}

#[test]
fn bpftool_reads_it_and_keeps_the_same_types_foreign_kernel() {
    agrees_with_bpftool(&corpora_btf(), "bpftool-foreign");
}

/// `CO-RE ...` lines of `corebpf load --verbose`, without the target description (which names
/// renumbered type ids), and without the value of a target type id (renumbered too).
fn core_lines(out: &Output) -> Vec<String> {
    text(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("CO-RE"))
        .map(|l| {
            let head = l.split(" => ").next().unwrap_or("");
            let vals = l.rsplit(" (").next().unwrap_or("");
            if head.contains("target_type_id") {
                return head.to_string();
            }
            format!("{head} .. {vals}")
        })
        .collect()
}

#[test]
fn kernel_loads_programs_relocated_against_the_min_btf() {
    let dir = scratch("load");
    let mut loaded = BTreeSet::new();
    for o in objects()
        .iter()
        .filter(|o| o.endian == Endian::Little && o.uses_vmlinux)
    {
        let min = dir.join(format!("{}.{:?}.btf", o.name, o.cpu));
        let gen = corebpf(&["gen", "min-btf", s(o.path()), "-o", s(&min)]);
        assert!(gen.status.success(), "{}: {}", o.label(), text(&gen.stderr));
        // Maps the object pins by name outlive the load: removed when this iteration ends.
        let _by_name = corebpf_testdata::ByNamePins::new(o.name);
        let full = corebpf(&["load", "--verbose", s(o.path())]);
        let small = corebpf(&["load", "--verbose", "--target-btf", s(&min), s(o.path())]);
        assert_eq!(
            full.status.success(),
            small.status.success(),
            "{}: full BTF: {}\nmin BTF: {}",
            o.label(),
            text(&full.stderr),
            text(&small.stderr)
        );
        if full.status.success() {
            assert_eq!(core_lines(&full), core_lines(&small), "{}", o.label());
            loaded.insert(o.name);
        } else {
            // Refused the same way (trampolines on this host, or an unresolved relocation).
            let first = |o: &Output| text(&o.stderr).lines().next().unwrap_or("").to_string();
            assert_eq!(first(&full), first(&small), "{}", o.label());
        }
    }
    // kconfig_ksym has no CO-RE relocation (its minimal BTF is empty): its kfuncs and typed
    // ksyms still resolve, against the running kernel's BTF.
    for want in [
        "execsnoop",
        "core_fields",
        "runqlat",
        "iter_task",
        "tc_cgroup",
        "kconfig_ksym",
    ] {
        assert!(
            loaded.contains(want),
            "{want} loads on this kernel: {loaded:?}"
        );
    }
}

/// The value core_fields stored in its `results` map, from `corebpf run --json`.
fn core_result(out: &Output) -> serde_json::Value {
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["map"] == "results")
        .map(|l| l["entries"][0]["value"].clone())
        .unwrap_or_else(|| {
            panic!(
                "no results map in {}\n{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        })
}

#[test]
fn run_reads_the_same_kernel_fields_with_the_min_btf() {
    let dir = scratch("run");
    let obj = corebpf_testdata::object("core_fields", Cpu::V3);
    let min = dir.join("core_fields.btf");
    let gen = corebpf(&["gen", "min-btf", s(obj), "-o", s(&min)]);
    assert!(gen.status.success(), "{}", text(&gen.stderr));
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--json", "--set", "target_tgid=@child"];
        args.extend(extra);
        args.push(s(obj));
        args.extend(["--", "python3", "-c", "import os; os.getpgid(0)"]);
        let out = corebpf(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let target: u64 = text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["global"] == "target_tgid")
            .and_then(|l| l["value"].as_u64())
            .expect("target_tgid printed");
        let mut v = core_result(&out);
        // The program read the command's tgid through CO-RE offsets.
        assert_eq!(v["tgid"].as_u64(), Some(target), "{v}");
        remove_key(&mut v, "tgid");
        remove_key(&mut v, "ppid");
        v
    };
    let full = run(&[]);
    let small = run(&["--target-btf", s(&min)]);
    assert_eq!(full, small);
    assert_eq!(small["comm_size"].as_u64(), Some(16), "{small}");
    assert_eq!(small["mm_exists"].as_u64(), Some(1), "{small}");
}

fn remove_key(v: &mut serde_json::Value, key: &str) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove(key);
            for x in m.values_mut() {
                remove_key(x, key);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                remove_key(x, key);
            }
        }
        _ => {}
    }
}

#[test]
fn missing_object_and_not_elf_are_clear_errors() {
    let dir = scratch("bad");
    let out_path = dir.join("out.btf");
    let missing = dir.join("no-such.bpf.o");
    let r = corebpf(&["gen", "min-btf", s(&missing), "-o", s(&out_path)]);
    assert!(!r.status.success());
    let err = text(&r.stderr);
    assert!(
        err.contains("no-such.bpf.o") && err.contains("No such file"),
        "{err}"
    );
    let not_elf = dir.join("text.o");
    std::fs::write(&not_elf, "just some text\n").expect("write");
    let r = corebpf(&["gen", "min-btf", s(&not_elf), "-o", s(&out_path)]);
    assert!(!r.status.success());
    let err = text(&r.stderr);
    assert!(err.contains("text.o") && err.contains("ELF"), "{err}");
    let r = corebpf(&[
        "gen",
        "min-btf",
        s(corebpf_testdata::object("execsnoop", Cpu::V3)),
        "--btf",
        s(&not_elf),
        "-o",
        s(&out_path),
    ]);
    assert!(!r.status.success());
    assert!(text(&r.stderr).contains("text.o"), "{}", text(&r.stderr));
    assert!(!out_path.exists(), "nothing written on errors");
}

/// A copy of `btf` with `edit` applied to each struct (name, size, members) first.
fn rebuild(
    btf: &Btf<'_>,
    mut edit: impl FnMut(&str, &mut Vec<Member<'_>>) -> Option<String>,
    extra: impl FnOnce(&mut BtfBuilder),
) -> Vec<u8> {
    let mut b = BtfBuilder::new();
    for t in btf.types() {
        match t.kind {
            TypeKind::Struct { size, members } => {
                let mut ms: Vec<Member<'_>> = members.iter().collect();
                let name = edit(t.name, &mut ms).unwrap_or_else(|| t.name.to_string());
                b.add_struct(false, &name, size, &ms).expect("add struct");
            }
            _ => {
                b.add_type(&t).expect("add type");
            }
        }
    }
    extra(&mut b);
    b.finish().expect("finish")
}

#[test]
fn a_btf_without_the_needed_type_poisons_the_same_instructions() {
    // The types execsnoop needs from this kernel, then task_struct renamed away.
    let full_bytes = read_btf(Path::new(VMLINUX));
    let full = Btf::parse(&full_bytes).expect("vmlinux");
    let bytes = corebpf_testdata::bytes("execsnoop", Cpu::V3);
    let obj = Object::parse(&bytes).expect("execsnoop");
    let small = min_core_btf(&full, &[&obj]).expect("min");
    let small_btf = Btf::parse(&small.bytes).expect("parses");
    let broken = rebuild(
        &small_btf,
        |name, _| (name == "task_struct").then(|| "corebpf_not_task_struct".to_string()),
        |_| {},
    );
    let dir = scratch("no-type");
    let broken_path = dir.join("broken.btf");
    std::fs::write(&broken_path, &broken).expect("write");
    let min_path = dir.join("min.btf");
    let obj_path = corebpf_testdata::object("execsnoop", Cpu::V3);
    let r = corebpf(&[
        "gen",
        "min-btf",
        s(obj_path),
        "--btf",
        s(&broken_path),
        "-o",
        s(&min_path),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));

    let broken_btf = Btf::parse(&broken).expect("broken parses");
    let min_bytes = std::fs::read(&min_path).expect("min");
    let min_btf = Btf::parse(&min_bytes).expect("min parses");
    assert!(
        min_btf.types().all(|t| t.name != "task_struct"),
        "nothing to keep for task_struct"
    );
    let ids = MinBtf {
        bytes: min_bytes.clone(),
        full_ids: full_ids_of(&broken_btf, &min_btf),
    };
    compare_links(&obj, &broken_btf, &min_btf, &ids).expect("same links");
    let target = Target {
        btfs: vec![&broken_btf],
        config: kconfig(),
        ksym_addr: None,
    };
    let linked = obj
        .link_with_core_btfs("execsnoop", &target, &[&min_btf])
        .expect("links");
    assert!(
        linked
            .programs
            .iter()
            .any(|p| p.core.iter().any(|r| r.poisoned)),
        "the task_struct reads are poisoned"
    );
    // And the kernel refuses both at the same poisoned instruction.
    let a = corebpf(&["load", "--target-btf", s(&broken_path), s(obj_path)]);
    let b = corebpf(&["load", "--target-btf", s(&min_path), s(obj_path)]);
    assert!(!a.status.success() && !b.status.success());
    let first = |o: &Output| text(&o.stderr).lines().next().unwrap_or("").to_string();
    assert!(
        first(&a).contains("unknown#195896080"),
        "{}",
        text(&a.stderr)
    );
    assert_eq!(first(&a), first(&b));
}

#[test]
fn ambiguous_candidates_fail_the_same_way() {
    // Two `task_struct`s whose tgid sits at different offsets: the engine refuses to choose.
    let full_bytes = read_btf(Path::new(VMLINUX));
    let full = Btf::parse(&full_bytes).expect("vmlinux");
    let bytes = corebpf_testdata::bytes("execsnoop", Cpu::V3);
    let obj = Object::parse(&bytes).expect("execsnoop");
    let small = min_core_btf(&full, &[&obj]).expect("min");
    let small_btf = Btf::parse(&small.bytes).expect("parses");
    let task = small_btf
        .find_by_name_kind("task_struct", corebpf_btf::Kind::Struct)
        .expect("task_struct kept");
    let TypeKind::Struct { size, members } = small_btf.type_by_id(task).expect("task").kind else {
        panic!("task_struct is a struct");
    };
    let shifted: Vec<(String, TypeId, u32)> = members
        .iter()
        .map(|m| (m.name.to_string(), m.ty, m.bit_offset + 64))
        .collect();
    let twice = rebuild(
        &small_btf,
        |_, _| None,
        |b| {
            let ms: Vec<Member<'_>> = shifted
                .iter()
                .map(|(n, ty, off)| Member {
                    name: n,
                    ty: *ty,
                    bit_offset: *off,
                    bitfield_size: 0,
                })
                .collect();
            b.add_struct(false, "task_struct", size + 8, &ms)
                .expect("second task_struct");
        },
    );
    let dir = scratch("ambiguous");
    let twice_path = dir.join("twice.btf");
    std::fs::write(&twice_path, &twice).expect("write");
    let min_path = dir.join("min.btf");
    let obj_path = corebpf_testdata::object("execsnoop", Cpu::V3);
    let r = corebpf(&[
        "gen",
        "min-btf",
        s(obj_path),
        "--btf",
        s(&twice_path),
        "-o",
        s(&min_path),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("cannot be computed") && text(&r.stderr).contains("disagree"),
        "the failing relocation is reported: {}",
        text(&r.stderr)
    );
    let twice_btf = Btf::parse(&twice).expect("parses");
    let min_bytes = std::fs::read(&min_path).expect("min");
    let min_btf = Btf::parse(&min_bytes).expect("min parses");
    assert_eq!(
        min_btf.types().filter(|t| t.name == "task_struct").count(),
        2,
        "both candidates kept"
    );
    let ids = MinBtf {
        bytes: min_bytes.clone(),
        full_ids: full_ids_of(&twice_btf, &min_btf),
    };
    let target = Target {
        btfs: vec![&twice_btf],
        config: kconfig(),
        ksym_addr: None,
    };
    let err = obj.link("execsnoop", &target).expect_err("ambiguous");
    assert!(err.to_string().contains("disagree"), "{err}");
    compare_links(&obj, &twice_btf, &min_btf, &ids).expect("same failure");
}

/// Relocations of every kind, the successful `TYPE_MATCHES` paths (pointers, function
/// prototypes, enums) and `TYPE_ID_TARGET` among them, which the test objects do not have.
const KINDS_SOURCE: &str = r#"
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct list_head {
	struct list_head *next, *prev;
} __attribute__((preserve_access_index));

struct callback_head {
	struct callback_head *next;
	void (*func)(struct callback_head *head);
} __attribute__((preserve_access_index));

struct list_head___wrong {
	int next;
} __attribute__((preserve_access_index));

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID };

typedef struct {
	int counter;
} atomic_t;

struct mm_struct;

struct task_struct {
	int pid;
	char comm[16];
	atomic_t usage___not_there;
	struct mm_struct *mm;
} __attribute__((preserve_access_index));

/* The kernel's mm points to struct mm_struct: this does not match it. */
struct task_struct___m {
	void *mm;
} __attribute__((preserve_access_index));

/* A zero-length array in the middle of the kernel's struct: not a flexible array there. */
struct sk_buff {
	__u8 __cloned_offset[0];
} __attribute__((preserve_access_index));

struct out {
	__u64 v[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct out);
} results SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int kinds(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 key = 0;
	struct out *o = bpf_map_lookup_elem(&results, &key);

	if (!o)
		return 0;
	o->v[0] = bpf_core_type_matches(struct list_head);
	o->v[1] = bpf_core_type_matches(struct callback_head);
	o->v[2] = bpf_core_type_matches(struct list_head___wrong);
	o->v[3] = bpf_core_type_matches(enum pid_type);
	o->v[4] = bpf_core_type_id_kernel(struct task_struct);
	o->v[5] = bpf_core_type_size(atomic_t);
	o->v[6] = bpf_core_field_offset(task->comm[3]);
	o->v[7] = bpf_core_field_exists(task->usage___not_there);
	o->v[8] = bpf_core_type_exists(atomic_t);
	o->v[9] = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	o->v[10] = BPF_CORE_READ(task, pid);
	o->v[11] = bpf_core_field_offset(((struct sk_buff *)0)->__cloned_offset);
	o->v[12] = bpf_core_field_exists(((struct sk_buff *)0)->__cloned_offset[0]);
	o->v[13] = bpf_core_field_exists(task->mm);
	o->v[14] = bpf_core_type_matches(struct task_struct___m);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn every_relocation_kind_relocates_the_same() {
    let dir = scratch("kinds");
    let src = dir.join("kinds.bpf.c");
    std::fs::write(&src, KINDS_SOURCE).expect("write source");
    let obj_path = dir.join("kinds.bpf.o");
    let cc = Command::new("clang-19")
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-I/usr/include/x86_64-linux-gnu",
            "-c",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&obj_path)
        .output()
        .unwrap_or_else(|e| panic!("clang-19 is needed (apt-get install clang-19): {e}"));
    assert!(cc.status.success(), "clang-19: {}", text(&cc.stderr));
    let bytes = std::fs::read(&obj_path).expect("object");
    let obj = Object::parse(&bytes).expect("parses");
    for (full_path, tag) in [
        (PathBuf::from(VMLINUX), "vmlinux"),
        (corpora_btf(), "foreign"),
    ] {
        let min_path = dir.join(format!("{tag}.btf"));
        let r = corebpf(&[
            "gen",
            "min-btf",
            s(&obj_path),
            "--btf",
            s(&full_path),
            "-o",
            s(&min_path),
        ]);
        assert!(r.status.success(), "{}", text(&r.stderr));
        let full_bytes = read_btf(&full_path);
        let full = Btf::parse(&full_bytes).expect("full");
        let min_bytes = std::fs::read(&min_path).expect("min");
        let min = Btf::parse(&min_bytes).expect("min parses");
        let ids = MinBtf {
            bytes: min_bytes.clone(),
            full_ids: full_ids_of(&full, &min),
        };
        compare_links(&obj, &full, &min, &ids).unwrap_or_else(|e| panic!("{tag}: {e}"));
        if tag == "vmlinux" {
            let target = Target {
                btfs: vec![&full],
                config: kconfig(),
                ksym_addr: None,
            };
            let linked = obj.link("kinds", &target).expect("links");
            let matched = linked.programs[0]
                .core
                .iter()
                .filter(|r| r.kind == corebpf_btf::CoreReloKind::TypeMatches && r.new_val == 1)
                .count();
            assert_eq!(
                matched, 3,
                "list_head, callback_head and pid_type match this kernel"
            );
        }
    }
    // The kernel runs it relocated either way; only the target type id names the BTF used.
    let min_path = dir.join("vmlinux.btf");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--json"];
        args.extend(extra);
        args.push(s(&obj_path));
        args.extend(["--", "python3", "-c", "import os; os.getpgid(0)"]);
        let out = corebpf(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        core_result(&out)
    };
    let full = run(&[]);
    let small = run(&["--target-btf", s(&min_path)]);
    let v = |x: &serde_json::Value, i: usize| x["v"][i].as_u64();
    for i in (0..16).filter(|&i| i != 4 && i != 10) {
        assert_eq!(v(&full, i), v(&small, i), "v[{i}]: {full} vs {small}");
    }
    assert_eq!(
        (v(&small, 0), v(&small, 1), v(&small, 2), v(&small, 3)),
        (Some(1), Some(1), Some(0), Some(1)),
        "{small}"
    );
    // The array member is kept for v[11]; indexing it fails as in the full BTF (where later
    // members follow it), so v[12] is 0.
    assert!(v(&small, 11).is_some_and(|off| off > 0), "{small}");
    assert_eq!(v(&small, 12), Some(0), "{small}");
    // task_struct.mm is kept for v[13] and still points to a struct, so the `void *mm` flavor
    // does not match it (it would if the pointer had become `void *`).
    assert_eq!(
        (v(&small, 13), v(&small, 14)),
        (Some(1), Some(0)),
        "{small}"
    );
    assert!(v(&full, 10).is_some_and(|pid| pid > 0) && v(&small, 10).is_some_and(|pid| pid > 0));
}

#[test]
fn full_btf_from_an_elf_section() {
    // Another object's .BTF stands in for a kernel's: execsnoop's relocations against the
    // types core_fields was compiled with.
    let dir = scratch("elf");
    let min_path = dir.join("min.btf");
    let src = corebpf_testdata::object("core_fields", Cpu::V3);
    let obj_path = corebpf_testdata::object("execsnoop", Cpu::V3);
    let r = corebpf(&[
        "gen",
        "min-btf",
        s(obj_path),
        "--btf",
        s(src),
        "-o",
        s(&min_path),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let src_bytes = std::fs::read(src).expect("core_fields");
    let src_obj = Object::parse(&src_bytes).expect("parses");
    let full = src_obj.btf.as_ref().expect("core_fields has BTF");
    let min_bytes = std::fs::read(&min_path).expect("min");
    let min = Btf::parse(&min_bytes).expect("min parses");
    assert!(min
        .find_by_name_kind("task_struct", corebpf_btf::Kind::Struct)
        .is_some());
    let ids = MinBtf {
        bytes: min_bytes.clone(),
        full_ids: full_ids_of(full, &min),
    };
    let bytes = std::fs::read(obj_path).expect("execsnoop");
    let obj = Object::parse(&bytes).expect("parses");
    compare_links(&obj, full, &min, &ids).expect("same links");
}
