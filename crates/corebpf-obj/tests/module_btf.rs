//! Linking against a kernel module's split BTF (`bpf_testmod` on its base, from the shared
//! corpus): kfunc calls and typed ksyms resolve to the module's type ids with the module's
//! BTF index, CO-RE accesses to module structs get the module's offsets. Expected ids and
//! offsets come from bpftool's dump of the same files.

use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::{Btf, Endian};
use corebpf_insn::ebpf::{decode_all, Endian as InsnEndian};
use corebpf_obj::link::{KernelConfig, Target};
use corebpf_obj::Object;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn corpus(name: &str) -> PathBuf {
    Path::new(ROOT).join("../shared/corpora/btf").join(name)
}

/// bpftool's text dump of the module BTF on its base.
fn bpftool_dump() -> String {
    let out = Command::new("bpftool")
        .arg("-B")
        .arg(corpus("btf_testmod.btf.base"))
        .args(["btf", "dump", "file"])
        .arg(corpus("btf_testmod.btf"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run bpftool ({e}): install bpftool"));
    assert!(out.status.success(), "bpftool failed");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `[id] KIND 'name'` → id.
fn type_id(dump: &str, kind: &str, name: &str) -> u32 {
    let pat = format!("] {kind} '{name}'");
    let line = dump
        .lines()
        .find(|l| l.contains(&pat))
        .unwrap_or_else(|| panic!("bpftool shows no {kind} {name}"));
    line[1..line.find(']').unwrap()].parse().unwrap()
}

/// Byte offset of `member` in struct `name`, from bpftool's `bits_offset`.
fn member_offset(dump: &str, name: &str, member: &str) -> u64 {
    let head = format!("] STRUCT '{name}'");
    let mut lines = dump.lines().skip_while(|l| !l.contains(&head));
    lines.next().unwrap_or_else(|| panic!("no struct {name}"));
    let pat = format!("'{member}' type_id=");
    let line = lines
        .take_while(|l| l.starts_with('\t'))
        .find(|l| l.trim_start().starts_with(&pat))
        .unwrap_or_else(|| panic!("no member {member} in {name}"));
    let bits: u64 = line.split("bits_offset=").nth(1).unwrap().parse().unwrap();
    bits / 8
}

fn compile(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bpf/module_refs.bpf.c");
    let obj = dir.join("module_refs.o");
    let out = Command::new("clang-19")
        .args(["-target", "bpfel", "-g", "-O2", "-mcpu=v3", "-I"])
        .arg(format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH))
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
    assert!(
        out.status.success(),
        "compiling {} failed (needs libbpf-dev): {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    obj
}

#[test]
fn module_kfuncs_ksyms_and_core_resolve_in_split_btf() {
    let dump = bpftool_dump();
    let base_bytes = std::fs::read(corpus("btf_testmod.btf.base")).expect("base BTF");
    let mod_bytes = std::fs::read(corpus("btf_testmod.btf")).expect("module BTF");
    let base = Btf::parse(&base_bytes).expect("parse base");
    let module = Btf::parse_split(&mod_bytes, &base).expect("parse split module BTF");

    let dir = std::env::temp_dir().join(format!("corebpf-module-btf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(compile(&dir)).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let obj = Object::parse(&bytes).expect("parse object");
    let target = Target {
        btfs: vec![&base, &module],
        config: KernelConfig::default(),
        ksym_addr: None,
    };
    let linked = obj.link("module_refs", &target).expect("link");
    let p = &linked.programs[0];
    assert_eq!(obj.endian, Endian::Little);
    // The linked stream decodes.
    decode_all(&p.insns, InsnEndian::Little).expect("decode");
    let raw = |i: usize| &p.insns[i * 8..i * 8 + 8];

    // kfunc: call with BPF_PSEUDO_KFUNC_CALL, the module's FUNC id, module BTF #1.
    let kfunc = type_id(&dump, "FUNC", "bpf_kfunc_call_test1");
    let call = p.btf_refs.iter().find(|r| r.call).expect("kfunc reference");
    assert_eq!((call.btf, call.type_id), (1, kfunc));
    let b = raw(call.insn);
    assert_eq!((b[0], b[1] >> 4), (0x85, 2), "call with src_reg 2");
    assert_eq!(
        i32::from_le_bytes(b[4..8].try_into().unwrap()),
        kfunc as i32
    );

    // Typed ksym: LD imm64 with BPF_PSEUDO_BTF_ID and the module's VAR id.
    let var = type_id(&dump, "VAR", "bpf_testmod_ksym_percpu");
    let ksym = p.btf_refs.iter().find(|r| !r.call).expect("ksym reference");
    assert_eq!((ksym.btf, ksym.type_id), (1, var));
    let b = raw(ksym.insn);
    assert_eq!((b[0], b[1] >> 4), (0x18, 3), "LD imm64 with src_reg 3");
    assert_eq!(i32::from_le_bytes(b[4..8].try_into().unwrap()), var as i32);

    // CO-RE: byte offsets of module struct members, one through a flavor.
    let want = [
        ("test_2", member_offset(&dump, "bpf_testmod_ops3", "test_2")),
        ("id", member_offset(&dump, "bpf_testmod_multi_st_ops", "id")),
    ];
    assert_eq!(p.core.len(), 2, "{:?}", p.core);
    for (member, off) in want {
        let r = p
            .core
            .iter()
            .find(|r| r.local.contains(member))
            .unwrap_or_else(|| panic!("no relocation for {member}: {:?}", p.core));
        assert!(!r.poisoned, "{r:?}");
        assert_eq!(r.new_val, off, "{member}: {r:?}");
        let imm = i32::from_le_bytes(raw(r.insn)[4..8].try_into().unwrap());
        assert_eq!(imm as u64, off, "{member}: patched immediate");
        assert!(off > 0, "{member}: offsets of 0 would prove nothing");
    }
}

#[test]
fn module_symbols_missing_from_the_target_are_named() {
    // Against the base alone, the module's kfunc (strong) is an error naming it.
    let base_bytes = std::fs::read(corpus("btf_testmod.btf.base")).expect("base BTF");
    let base = Btf::parse(&base_bytes).expect("parse base");
    let dir = std::env::temp_dir().join(format!("corebpf-module-btf-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(compile(&dir)).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let obj = Object::parse(&bytes).expect("parse object");
    let target = Target {
        btfs: vec![&base],
        config: KernelConfig::default(),
        ksym_addr: None,
    };
    let err = obj.link("module_refs", &target).unwrap_err().to_string();
    assert!(
        err.contains("bpf_testmod_ksym_percpu") || err.contains("bpf_kfunc_call_test1"),
        "{err}"
    );
    assert!(err.contains("not found"), "{err}");
}
