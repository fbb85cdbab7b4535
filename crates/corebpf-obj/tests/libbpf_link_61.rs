//! Offline CO-RE relocation against other kernels and another architecture: Debian's 6.1 amd64
//! and arm64 kernels, whose BTF is carved out of the packaged kernel images with
//! `corebpf_btf::extract`. Every test object (x86 v3 and v4, the arm64 builds of
//! corebpf-testdata, every `vmlinux.h` program built here for arm64 against a `vmlinux.h`
//! written from the arm64 BTF, the oracle's CO-RE edge cases and `BPF_KSYSCALL` program) is
//! linked with [`Object::link`] against each BTF and compared with what
//! libbpf produces for the same object, target BTF (`btf_custom_path`) and kernel configuration
//! (the package's `config-*`): instructions, func/line info, internal maps. Relocations the
//! 6.1 kernels cannot satisfy are poisoned by both sides and compared like any other slot.
//!
//! Kernel facts libbpf takes from the running kernel whatever the target (uname's version,
//! feature probes, kallsyms) are given to our side from the same source. Typed ksyms and kfuncs
//! libbpf resolves in the running kernel's BTF: each object is compared both linked that way
//! (`link_with_core_btfs`, byte for byte) and linked purely offline against the 6.1 BTF, where
//! those slots name the same kernel types and `kconfig_ksym`, whose non-weak
//! `bpf_task_acquire` kfunc 6.1 lacks, is refused (see `libbpf_oracle/`).
//!
//! The kernel images come from apt (`tests/vm/kernel.sh`, cached in `target/vm-cache/`); when
//! they cannot be had the tests fail and say why.
//!
//! Big-endian objects, which libbpf 1.1 cannot open on this host, are linked against the same
//! BTF and must equal their little-endian builds (themselves compared with libbpf here) field
//! by field, `.kconfig` values byte-swapped per variable. Which layout and byte order a link
//! produces comes from the target BTF and the object's ELF header only: an x86 host relocating
//! arm64 objects gets arm64 register offsets, checked against pahole's layout of the BTF.

mod libbpf_oracle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use corebpf_btf::{Btf, CoreReloKind, Endian as BtfEndian, TypeKind};
use corebpf_obj::link::{Linked, MapOrigin, Target};
use corebpf_obj::Object;
use corebpf_testdata::{arm64_objects, objects, Arch, Endian, TestObject};
use libbpf_oracle::{
    build_oracle, differential, edge_objects, kallsyms, kernel_config, syscall_objects, Item, ROOT,
};

/// A Debian 6.1 kernel: its extracted BTF and its `.config`.
struct Kernel {
    release: String,
    btf_path: PathBuf,
    btf: Vec<u8>,
    config: PathBuf,
}

static FETCH: Mutex<()> = Mutex::new(());

/// Fetches Debian's 6.1 kernel package for `arch` with apt (or takes it from the cache) and
/// extracts its BTF, cached next to the package as `btf/vmlinux-RELEASE.btf` (where
/// `tests/vm/fetch-btf.sh` puts it too).
fn debian_61(arch: &str) -> Kernel {
    let _serial = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    let script = Path::new(ROOT).join("tests/vm/kernel.sh");
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#". "$0" && vm_fetch_kernel "$1" && echo "$VM_CACHE""#)
        .arg(&script)
        .arg(arch)
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash: {e}"));
    assert!(
        out.status.success(),
        "cannot fetch Debian's 6.1 {arch} kernel with apt ({}; needs root and the Debian \
         mirrors, or a package cached in target/vm-cache):\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().rev();
    let (cache, vmlinuz) = match (lines.next(), lines.next()) {
        (Some(c), Some(v)) => (PathBuf::from(c), PathBuf::from(v)),
        _ => panic!("kernel.sh printed {text:?}"),
    };
    let file = vmlinuz
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let release = file
        .strip_prefix("vmlinuz-")
        .unwrap_or_else(|| panic!("{} is not a vmlinuz-RELEASE", vmlinuz.display()))
        .to_string();
    assert!(
        release.starts_with("6.1.") && release.ends_with(arch),
        "{release}: not Debian's 6.1 {arch} kernel"
    );
    let config = vmlinuz.with_file_name(format!("config-{release}"));
    assert!(
        config.is_file(),
        "{}: the package's kernel configuration is missing",
        config.display()
    );
    let btf_path = cache.join("btf").join(format!("vmlinux-{release}.btf"));
    let fresh = |p: &Path| {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        matches!((m(p), m(&vmlinuz)), (Some(a), Some(b)) if a >= b)
    };
    let btf = match std::fs::read(&btf_path) {
        Ok(b) if fresh(&btf_path) && Btf::parse(&b).is_ok() => b,
        _ => {
            let image =
                std::fs::read(&vmlinuz).unwrap_or_else(|e| panic!("{}: {e}", vmlinuz.display()));
            let extracted = corebpf_btf::extract::extract(&image)
                .unwrap_or_else(|e| panic!("extracting BTF from {}: {e}", vmlinuz.display()));
            let bytes = extracted.bytes().to_vec();
            std::fs::create_dir_all(cache.join("btf")).expect("create the BTF cache");
            let tmp = btf_path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, &bytes).expect("write the extracted BTF");
            std::fs::rename(&tmp, &btf_path).expect("rename the extracted BTF");
            bytes
        }
    };
    Kernel {
        release,
        btf_path,
        btf,
        config,
    }
}

fn item(o: &TestObject) -> Item {
    Item {
        label: o.label(),
        name: o.name.to_string(),
        path: o.path().to_path_buf(),
    }
}

/// Links every little-endian object against `k` with libbpf and with corebpf; returns the
/// parsed target BTF's counts after asserting there is no difference.
/// The `tests/bpf` programs that include `vmlinux.h`, built for arm64 (`-D__TARGET_ARCH_arm64`,
/// cpu v3) against a `vmlinux.h` that `corebpf_btf::c_dump` writes from the arm64 kernel's BTF:
/// what a cross build for that kernel does. (corebpf-testdata builds against this host's
/// `vmlinux.h`, x86, and has no arm64 BTF at build time.)
/// Built once per test process, under cargo's scratch directory for integration tests.
fn arm64_vmlinux_objects(arm64: &Kernel) -> Vec<Item> {
    static BUILT: OnceLock<Vec<(String, String, PathBuf)>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libbpf_link_61-arm64");
            build_arm64_vmlinux_objects(&dir, arm64)
                .into_iter()
                .map(|i| (i.label, i.name, i.path))
                .collect()
        })
        .iter()
        .map(|(label, name, path)| Item {
            label: label.clone(),
            name: name.clone(),
            path: path.clone(),
        })
        .collect()
}

fn build_arm64_vmlinux_objects(dir: &Path, arm64: &Kernel) -> Vec<Item> {
    let header = corebpf_btf::c_dump::vmlinux_header(&arm64.btf)
        .unwrap_or_else(|e| panic!("vmlinux.h from {}: {e}", arm64.btf_path.display()));
    let inc = dir.join("arm64-include");
    std::fs::create_dir_all(&inc).unwrap();
    std::fs::write(inc.join("vmlinux.h"), header).unwrap();
    let src_dir = corebpf_testdata::source_dir();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(src_dir)
        .expect("tests/bpf")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("#include \"vmlinux.h\"")))
        .collect();
    sources.sort();
    let mut items = Vec::new();
    for src in sources {
        let name = src
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".bpf.c"))
            .expect("NAME.bpf.c")
            .to_string();
        let path = dir.join(format!("{name}.arm64-vmlinux.o"));
        let out = Command::new("clang-19")
            .args(["-g", "-O2", "-Wall", "-target", "bpf", "-mcpu=v3"])
            .arg("-D__TARGET_ARCH_arm64")
            .arg("-I")
            .arg(&inc)
            .arg("-I")
            .arg(src_dir)
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
        assert!(
            out.status.success(),
            "compiling {} for arm64 against the 6.1 arm64 vmlinux.h failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        items.push(Item {
            label: format!("{name} (v3, arm64 vmlinux.h)"),
            name,
            path,
        });
    }
    assert!(items.len() >= 8, "only {} vmlinux.h programs", items.len());
    items
}

fn against_libbpf(k: &Kernel, arm64: &Kernel, tag: &str) -> libbpf_oracle::Outcome {
    let dir = std::env::temp_dir().join(format!("corebpf-61-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = build_oracle(&dir);
    // libbpf 1.x cannot open the legacy `maps` section (nothing to compare with); big-endian
    // objects are checked against their little-endian builds below.
    let mut items: Vec<Item> = objects()
        .iter()
        .chain(arm64_objects())
        .filter(|o| o.endian == Endian::Little && o.name != "legacy_maps")
        .map(item)
        .collect();
    items.extend(edge_objects(&dir));
    items.extend(syscall_objects(&dir));
    items.extend(arm64_vmlinux_objects(arm64));
    let btf = Btf::parse(&k.btf).expect("target BTF");
    let out = differential(&libbpf_oracle::Setup {
        btf_path: Some(&k.btf_path),
        btf: &btf,
        kconfig: Some(&k.config),
        items: &items,
        oracle: &bin,
    });
    let _ = std::fs::remove_dir_all(&dir);
    println!("{} ({}): compared {out}", k.release, k.btf_path.display());
    for (label, e) in &out.refused {
        println!("  refused {label}: {e}");
    }
    assert!(
        out.differences.is_empty(),
        "{}: {} differences:\n{}",
        k.release,
        out.differences.len(),
        out.differences.join("\n")
    );
    assert_eq!(out.objects, items.len());
    assert!(
        out.programs > 50 && out.insns > 3000 && out.maps > 10 && out.core > 200,
        "compared only {out}"
    );
    out
}

/// (code, dst, src, off, imm) of slot `i`, read by the instruction crate.
fn fields(b: &[u8], i: usize, e: BtfEndian) -> (u8, u8, u8, i16, i32) {
    let e = match e {
        BtfEndian::Little => corebpf_insn::ebpf::Endian::Little,
        BtfEndian::Big => corebpf_insn::ebpf::Endian::Big,
    };
    let r = corebpf_insn::ebpf::RawInsn::read(&b[i * 8..], e).expect("a whole instruction slot");
    (r.code, r.dst, r.src, r.off, r.imm)
}

/// `.kconfig` variables: name -> (offset, size, integer) from the link and the object's BTF.
fn kconfig_vars(obj: &Object<'_>, linked: &Linked<'_>) -> BTreeMap<String, (usize, usize, bool)> {
    let btf = obj.btf.as_ref().expect("object BTF");
    let mut out = BTreeMap::new();
    for (name, off) in &linked.kconfig_layout {
        let var = btf
            .find_by_name(name)
            .filter_map(|id| btf.type_by_id(id).ok())
            .find_map(|t| match t.kind {
                TypeKind::Var { ty, .. } => Some(ty),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no VAR {name} in the object's BTF"));
        let size = btf.size_of(var).expect("kconfig variable size") as usize;
        let resolved = btf.resolve(var).expect("kconfig variable type");
        let integer = !matches!(resolved.kind, TypeKind::Array { .. });
        out.insert(name.clone(), (*off as usize, size, integer));
    }
    out
}

/// A big-endian object linked against `btf` equals its little-endian build linked against the
/// same target, field by field; returns the instructions compared.
fn big_endian_equals_little(
    btf: &Btf<'_>,
    config: &Path,
    le: &TestObject,
    be: &TestObject,
) -> usize {
    let syms = kallsyms();
    let addr = move |name: &str| syms.get(name).copied();
    let target = Target {
        btfs: vec![btf],
        config: kernel_config(Some(config)),
        ksym_addr: Some(&addr),
    };
    let (lb, bb) = (le.read().unwrap(), be.read().unwrap());
    let (lo, bo) = (Object::parse(&lb).unwrap(), Object::parse(&bb).unwrap());
    assert_eq!(bo.endian, BtfEndian::Big, "{}: ELF header", be.label());
    let l = lo
        .link(le.name, &target)
        .unwrap_or_else(|e| panic!("{}: {e}", le.label()));
    let b = bo
        .link(be.name, &target)
        .unwrap_or_else(|e| panic!("{}: {e}", be.label()));
    let what = be.label();
    assert_eq!(l.programs.len(), b.programs.len(), "{what}: programs");
    // clang emits different code for some sources (a byte swap that is a no-op on big-endian):
    // their instructions are compared only when the compiled sections agree field by field.
    let same_code = lo.program_sections.len() == bo.program_sections.len()
        && lo
            .program_sections
            .iter()
            .zip(&bo.program_sections)
            .all(|(a, b)| {
                a.insns.len() == b.insns.len()
                    && (0..a.insns.len() / 8).all(|i| {
                        fields(a.insns, i, BtfEndian::Little) == fields(b.insns, i, BtfEndian::Big)
                    })
            });
    let mut n = 0;
    for (lp, bp) in l.programs.iter().zip(&b.programs) {
        let what = format!("{what} {}", bp.name);
        assert_eq!(lp.name, bp.name, "{what}");
        if !same_code {
            continue;
        }
        assert_eq!(lp.insn_count(), bp.insn_count(), "{what}: length");
        assert_eq!(lp.map_refs, bp.map_refs, "{what}: map references");
        assert_eq!(lp.btf_refs, bp.btf_refs, "{what}: kernel references");
        assert_eq!(lp.func_info, bp.func_info, "{what}: func_info");
        let lines = |p: &corebpf_obj::link::LinkedProgram<'_>| -> Vec<(u32, u32)> {
            p.line_info
                .iter()
                .map(|r| (r.insn_off, r.line_col))
                .collect()
        };
        assert_eq!(lines(lp), lines(bp), "{what}: line_info");
        let reports = |p: &corebpf_obj::link::LinkedProgram<'_>| {
            p.core
                .iter()
                .map(|r| (r.insn, r.kind, r.poisoned, r.new_val))
                .collect::<Vec<_>>()
        };
        assert!(
            !lp.core.iter().any(|r| matches!(
                r.kind,
                CoreReloKind::FieldLshiftU64 | CoreReloKind::FieldRshiftU64
            )),
            "{what}: no bitfield shifts expected here"
        );
        assert_eq!(reports(lp), reports(bp), "{what}: CO-RE results");
        for i in 0..lp.insn_count() {
            assert_eq!(
                fields(&lp.insns, i, BtfEndian::Little),
                fields(&bp.insns, i, BtfEndian::Big),
                "{what}: insn {i}"
            );
        }
        n += lp.insn_count();
    }
    // Internal maps: same shapes; `.kconfig` holds the same values in the object's byte order.
    for (lm, bm) in l.maps.iter().zip(&b.maps) {
        assert_eq!(
            (
                &lm.name,
                lm.map_type,
                lm.key_size,
                lm.value_size,
                lm.max_entries,
                lm.map_flags
            ),
            (
                &bm.name,
                bm.map_type,
                bm.key_size,
                bm.value_size,
                bm.max_entries,
                bm.map_flags
            ),
            "{what}: map"
        );
        if !matches!(lm.origin, MapOrigin::Kconfig) {
            continue;
        }
        let (lv, bv) = (lm.initial.as_ref().unwrap(), bm.initial.as_ref().unwrap());
        let vars = kconfig_vars(&lo, &l);
        assert_eq!(vars, kconfig_vars(&bo, &b), "{what}: .kconfig layout");
        for (name, (off, size, integer)) in vars {
            let mut want = lv[off..off + size].to_vec();
            if integer {
                want.reverse();
            }
            assert_eq!(bv[off..off + size], want[..], "{what}: .kconfig {name}");
        }
    }
    n
}

fn big_endian_objects(btf: &[u8], config: &Path) -> (usize, usize) {
    let btf = Btf::parse(btf).expect("target BTF");
    let (mut objs, mut insns) = (0, 0);
    let mut same_code = Vec::new();
    for be in objects().iter().filter(|o| o.endian == Endian::Big) {
        let le = objects()
            .iter()
            .find(|o| o.name == be.name && o.cpu == be.cpu && o.endian == Endian::Little)
            .expect("little-endian build");
        let n = big_endian_equals_little(&btf, config, le, be);
        if n > 0 {
            same_code.push(be.name);
        }
        insns += n;
        objs += 1;
    }
    // The probe-register program (CO-RE and .kconfig in big-endian) compiles to the same code.
    assert!(
        same_code.contains(&"kprobe_regs"),
        "big-endian objects compared instruction by instruction: {same_code:?}"
    );
    (objs, insns)
}

/// pahole's layout of `struct name` in `btf`: member -> (byte offset, size, array length or 1).
fn pahole_layout(btf: &Path, name: &str) -> BTreeMap<String, (u64, u64, u64)> {
    let out = Command::new("pahole")
        .args(["-F", "btf", "-C", name])
        .arg(btf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run pahole ({e}): install the pahole package"));
    assert!(
        out.status.success(),
        "pahole -C {name} {}: {}",
        btf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut m = BTreeMap::new();
    for line in text.lines() {
        // `	__u64                      regs[31];             /*     0   248 */`
        let Some((decl, comment)) = line.split_once("/*") else {
            continue;
        };
        let Some(field) = decl.trim().strip_suffix(';') else {
            continue;
        };
        let field = field.rsplit(' ').next().unwrap_or("");
        let len: u64 = field
            .split_once('[')
            .and_then(|(_, n)| n.strip_suffix(']'))
            .map_or(1, |n| n.parse().expect("array length"));
        let field = field.split('[').next().unwrap_or("");
        let nums: Vec<u64> = comment
            .trim_end_matches("*/")
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [off, size] = nums[..] {
            m.insert(field.to_string(), (off, size, len));
        }
    }
    assert!(
        !m.is_empty(),
        "pahole printed no members for {name}:\n{text}"
    );
    m
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Regs {
    /// A register program built for x86: its registers must not resolve on arm64 (but `sp`).
    X86,
    /// A register program built for arm64: every relocation is a register read.
    Arm64,
    /// A `vmlinux.h` program built for arm64: its register reads among other relocations.
    Arm64Vmlinux,
}

/// The register reads of the arm64 builds, linked against the arm64 BTF on this x86 host, land
/// at pahole's offsets of `struct user_pt_regs` (and `pt_regs.orig_x0` for syscall arguments);
/// the x86 builds against the same BTF find no x86 registers there and are poisoned.
fn arm64_registers(k: &Kernel) -> usize {
    let user = pahole_layout(&k.btf_path, "user_pt_regs");
    let regs = pahole_layout(&k.btf_path, "pt_regs");
    let btf = Btf::parse(&k.btf).expect("target BTF");
    let target = Target {
        btfs: vec![&btf],
        config: kernel_config(Some(&k.config)),
        ksym_addr: None,
    };
    let dir = std::env::temp_dir().join(format!("corebpf-61-regs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let regs_of = |x86: bool| if x86 { Regs::X86 } else { Regs::Arm64 };
    let mut objs: Vec<(String, PathBuf, Regs)> = arm64_objects()
        .iter()
        .chain(objects())
        .filter(|o| o.name == "kprobe_regs" && o.endian == Endian::Little)
        .map(|o| {
            (
                o.label(),
                o.path().to_path_buf(),
                regs_of(o.arch == Arch::X86),
            )
        })
        .collect();
    objs.extend(
        syscall_objects(&dir)
            .into_iter()
            .map(|i| (i.label.clone(), i.path, regs_of(i.label.contains("x86")))),
    );
    objs.extend(
        arm64_vmlinux_objects(k)
            .into_iter()
            .map(|i| (i.label, i.path, Regs::Arm64Vmlinux)),
    );
    let mut checked = 0;
    for (label, path, kind) in &objs {
        let before = checked;
        let bytes = std::fs::read(path).unwrap();
        let obj = Object::parse(&bytes).unwrap();
        let linked = match obj.link("regs", &target) {
            Ok(l) => l,
            // Its bpf_task_acquire kfunc is not in 6.1 (see against_libbpf's refusals).
            Err(e) if label.starts_with("kconfig_ksym ") => {
                println!("  {label}: refused: {e}");
                continue;
            }
            Err(e) => panic!("{label}: {e}"),
        };
        for p in &linked.programs {
            for r in &p.core {
                let what = format!("{label} {} insn {}: {}", p.name, r.insn, r.local);
                if *kind == Regs::X86 {
                    // x86's `struct pt_regs` fields (di, ip, ...) are not in arm64's, except
                    // `sp` (in its anonymous union), which must land at pahole's offset.
                    let field = r.local.split_once("struct pt_regs.").map_or("", |x| x.1);
                    let field = field.split(' ').next().unwrap_or("");
                    match regs.get(field) {
                        Some(&(off, _, _)) if r.kind == CoreReloKind::FieldByteOffset => {
                            assert!(!r.poisoned, "{what}: poisoned");
                            assert_eq!(r.new_val, off, "{what}: pahole says {field} at {off}");
                        }
                        Some(_) => assert!(!r.poisoned, "{what}: poisoned"),
                        None => assert!(
                            r.poisoned,
                            "{what}: an x86 register resolved against arm64 BTF ({:?})",
                            r.target
                        ),
                    }
                    checked += 1;
                    continue;
                }
                // `[N] struct user_pt_regs.regs[2] (0:0:2 @ offset 16)`
                let (table, rest) = if let Some(x) = r.local.split_once("struct user_pt_regs.") {
                    (&user, x.1)
                } else if let Some(x) = r.local.split_once("struct pt_regs___arm64.") {
                    (&regs, x.1)
                } else if *kind == Regs::Arm64Vmlinux {
                    continue;
                } else {
                    panic!("{what}: not a register access");
                };
                assert!(!r.poisoned, "{what}: poisoned");
                if r.kind != CoreReloKind::FieldByteOffset {
                    continue;
                }
                let field: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let index: u64 = rest
                    .strip_prefix(field.as_str())
                    .and_then(|x| x.strip_prefix('['))
                    .and_then(|x| x.split(']').next())
                    .map_or(0, |x| x.parse().expect("array index"));
                let (off, size, len) = *table
                    .get(&field)
                    .unwrap_or_else(|| panic!("{what}: pahole has no member {field}"));
                let elem = size / len;
                assert_eq!(
                    r.new_val,
                    off + index * elem,
                    "{what}: pahole says {field} at {off}"
                );
                checked += 1;
            }
        }
        if checked > before {
            println!("  {label}: {} register relocations", checked - before);
        }
        let reads_registers = ["bashreadline", "fentry", "kprobe_regs", "syscall_regs"];
        assert!(
            checked > before || !reads_registers.iter().any(|n| label.starts_with(n)),
            "{label}: no register relocations"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    checked
}

#[test]
fn relocation_against_debian_6_1_amd64_equals_libbpf() {
    let k = debian_61("amd64");
    let arm64 = debian_61("arm64");
    let out = against_libbpf(&k, &arm64, "amd64");
    let (objs, insns) = big_endian_objects(&k.btf, &k.config);
    assert!(
        out.refused
            .iter()
            .all(|(l, _)| l.starts_with("kconfig_ksym ")),
        "refused: {:?}",
        out.refused
    );
    println!(
        "{}: {objs} big-endian objects ({insns} instructions) equal their little-endian builds",
        k.release
    );
    assert!(
        objs >= 5 && insns > 200,
        "{objs} big-endian objects, {insns} instructions"
    );
    assert!(
        out.poisoned_programs > 0,
        "the arm64 builds' registers are not in x86's BTF"
    );
}

#[test]
fn relocation_against_debian_6_1_arm64_equals_libbpf() {
    let k = debian_61("arm64");
    let out = against_libbpf(&k, &k, "arm64");
    assert!(
        out.refused
            .iter()
            .all(|(l, _)| l.starts_with("kconfig_ksym ")),
        "refused: {:?}",
        out.refused
    );
    let regs = arm64_registers(&k);
    println!(
        "{}: {regs} register relocations checked against pahole",
        k.release
    );
    assert!(regs > 40, "only {regs} register relocations");
    assert!(
        out.poisoned_programs > 0,
        "the x86 builds' registers are not in arm64's BTF"
    );
}
