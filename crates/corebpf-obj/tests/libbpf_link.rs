//! The link stage checked instruction by instruction against libbpf (libbpf-dev 1.1).
//!
//! `tests/libbpf-oracle/oracle.c` loads every test object with libbpf and records what libbpf
//! hands to the kernel in `BPF_PROG_LOAD` (program loads themselves are not passed on): the
//! relocated instructions, `func_info`, `line_info`, and which map each LD imm64 fd names; plus
//! the internal maps it creates and their initial values. The same objects are linked here
//! against the same target, and everything is compared: instruction bytes (map fds aside,
//! whose map is compared by name), BTF.ext records, internal map names, flags, sizes, BTF ids
//! and contents. Both against this kernel's BTF and against a foreign kernel's BTF
//! (libbpf's `btf_custom_path`).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::Btf;
use corebpf_obj::link::{KernelConfig, Linked, LinkedProgram, MapOrigin, Target};
use corebpf_obj::Object;
use corebpf_testdata::{objects, Endian};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[derive(Debug, Default)]
struct OracleProg {
    name: String,
    insns: Vec<[u8; 8]>,
    maps: HashMap<usize, String>,
    func_info: Vec<(u32, u32)>,
    line_info: Vec<(u32, u32, u32, u32)>,
}

#[derive(Debug, Default)]
struct OracleObject {
    path: String,
    status: String,
    order: Vec<String>,
    skipped: Vec<String>,
    progs: Vec<OracleProg>,
    /// name -> (type, key, value, max_entries, flags, btf key, btf value)
    maps: HashMap<String, [u32; 7]>,
    values: HashMap<String, Vec<u8>>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn build_oracle(dir: &Path) -> PathBuf {
    let src = Path::new(ROOT).join("tests/libbpf-oracle/oracle.c");
    let bin = dir.join("oracle");
    let out = Command::new("clang-19")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .args(["-lbpf", "-ldl"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
    assert!(
        out.status.success(),
        "building {} failed (needs libbpf-dev): {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

fn run_oracle(bin: &Path, btf: Option<&Path>, objs: &[&Path]) -> Vec<OracleObject> {
    let mut cmd = Command::new(bin);
    if let Some(b) = btf {
        cmd.arg("-b").arg(b);
    }
    let out = cmd.args(objs).output().expect("run the libbpf oracle");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let mut res: Vec<OracleObject> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f[0] == "@@open" {
            res.push(OracleObject {
                path: f[1].to_string(),
                ..Default::default()
            });
            continue;
        }
        let o = res.last_mut().expect("records after @@open");
        match f[0] {
            "@@order" => o.order.push(f[1].to_string()),
            "@@skip" => o.skipped.push(f[1].to_string()),
            "@@object" => o.status = f[2].to_string(),
            "@@prog" => o.progs.push(OracleProg {
                name: f[1].to_string(),
                ..Default::default()
            }),
            "@@map" => {
                let v: Vec<u32> = f[2..9].iter().map(|x| x.parse().expect("num")).collect();
                o.maps
                    .insert(f[1].to_string(), v.try_into().expect("7 numbers"));
            }
            "@@value" => {
                o.values.insert(f[1].to_string(), unhex(f[2]));
            }
            "i" | "m" | "f" | "l" => {
                let p = o.progs.last_mut().expect("records after @@prog");
                let n = |i: usize| f[i].parse::<u32>().expect("num");
                match f[0] {
                    "i" => p
                        .insns
                        .push(unhex(f[2]).try_into().expect("8-byte instruction")),
                    "m" => {
                        p.maps
                            .insert(n(1) as usize, f.get(2).unwrap_or(&"").to_string());
                    }
                    "f" => p.func_info.push((n(1), n(2))),
                    _ => p.line_info.push((n(1), n(2), n(3), n(4))),
                }
            }
            _ => panic!("unexpected oracle line {line:?}"),
        }
    }
    res
}

fn kernel_config() -> KernelConfig {
    let gz = std::fs::read("/proc/config.gz").expect("/proc/config.gz (libbpf reads it too)");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .expect("gunzip /proc/config.gz");
    let mut c = KernelConfig::parse(&text);
    // libbpf: KERNEL_VERSION(major, minor, min(patch, 255)) of uname's release.
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let nums: Vec<u32> = rel
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    c.kernel_version = (nums[0] << 16) + (nums[1] << 8) + nums[2].min(255);
    c.has_bpf_cookie = true;
    c
}

fn kallsyms() -> HashMap<String, u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").expect("/proc/kallsyms");
    let mut m = HashMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(a), Some(_), Some(n)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Ok(a) = u64::from_str_radix(a, 16) {
            m.entry(n.to_string()).or_insert(a);
        }
    }
    m
}

/// Compares one program; returns the problems found.
fn compare_prog(
    what: &str,
    linked: &Linked<'_>,
    ours: &LinkedProgram<'_>,
    theirs: &OracleProg,
    mask_btf_refs: bool,
) -> Vec<String> {
    let mut bad = Vec::new();
    let n = ours.insn_count();
    if n != theirs.insns.len() {
        bad.push(format!(
            "{what}: {n} instructions, libbpf {} (functions {:?})",
            theirs.insns.len(),
            ours.functions
        ));
    }
    let mut mask: HashMap<usize, [u8; 8]> = HashMap::new();
    for r in &ours.map_refs {
        let name = &linked.maps[r.map].name;
        match theirs.maps.get(&r.insn) {
            Some(t) if t == name => {}
            other => bad.push(format!(
                "{what}: insn {} refers to map {name}, libbpf to {other:?}",
                r.insn
            )),
        }
        mask.insert(r.insn, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    }
    for (i, t) in &theirs.maps {
        if !ours.map_refs.iter().any(|r| r.insn == *i) {
            bad.push(format!(
                "{what}: libbpf has map {t} at insn {i}, we have none"
            ));
        }
    }
    if mask_btf_refs {
        // libbpf resolves ksyms and kfuncs against the running kernel even with a custom
        // CO-RE target; here the target BTF serves both.
        for r in &ours.btf_refs {
            mask.insert(r.insn, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        }
    }
    let mut shown = 0;
    for i in 0..n.min(theirs.insns.len()) {
        let mut a: [u8; 8] = ours.insns[i * 8..i * 8 + 8].try_into().unwrap();
        let mut b = theirs.insns[i];
        if let Some(m) = mask.get(&i) {
            for k in 0..8 {
                a[k] &= m[k];
                b[k] &= m[k];
            }
        }
        if a != b && shown < 6 {
            shown += 1;
            let func = ours
                .functions
                .iter()
                .rev()
                .find(|f| f.0 <= i)
                .map_or("?", |f| f.1);
            bad.push(format!(
                "{what}: insn {i} (in {func}): ours {} libbpf {}",
                hex(&a),
                hex(&b)
            ));
        }
    }
    if ours.func_info != theirs.func_info {
        bad.push(format!(
            "{what}: func_info ours {:?} libbpf {:?}",
            ours.func_info, theirs.func_info
        ));
    }
    let lines: Vec<(u32, u32, u32, u32)> = ours
        .line_info
        .iter()
        .map(|l| (l.insn_off, l.file_name_off, l.line_off, l.line_col))
        .collect();
    if lines != theirs.line_info {
        let first = lines
            .iter()
            .zip(&theirs.line_info)
            .position(|(a, b)| a != b)
            .unwrap_or(lines.len().min(theirs.line_info.len()));
        bad.push(format!(
            "{what}: line_info differs ({} vs {} records), first at #{first}: ours {:?} libbpf {:?}",
            lines.len(),
            theirs.line_info.len(),
            lines.get(first),
            theirs.line_info.get(first)
        ));
    }
    bad
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An object both sides link: a test object or one of the oracle's own edge-case programs.
struct Item {
    label: String,
    name: String,
    path: PathBuf,
}

/// Compiles `tests/libbpf-oracle/core_edges.bpf.c` (kernel types declared locally, so it needs
/// only libbpf's headers) for cpu v3 and v4.
fn edge_objects(dir: &Path) -> Vec<Item> {
    let src = Path::new(ROOT).join("tests/libbpf-oracle/core_edges.bpf.c");
    let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    ["v3", "v4"]
        .iter()
        .map(|cpu| {
            let path = dir.join(format!("core_edges.{cpu}.o"));
            let out = Command::new("clang-19")
                .args([
                    "-target",
                    "bpfel",
                    "-g",
                    "-O2",
                    &format!("-mcpu={cpu}"),
                    "-I",
                ])
                .arg(&multiarch)
                .arg("-c")
                .arg(&src)
                .arg("-o")
                .arg(&path)
                .output()
                .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
            assert!(
                out.status.success(),
                "compiling {} failed (needs libbpf-dev): {}",
                src.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            Item {
                label: format!("core_edges ({cpu})"),
                name: "core_edges".into(),
                path,
            }
        })
        .collect()
}

fn differential(target_path: Option<&Path>, target_bytes: &[u8]) {
    let dir = std::env::temp_dir().join(format!(
        "corebpf-libbpf-link-{}-{}",
        std::process::id(),
        target_path.is_some()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = build_oracle(&dir);
    // libbpf 1.x cannot open the legacy `maps` section, nor a big-endian object here.
    let mut items: Vec<Item> = objects()
        .iter()
        .filter(|o| o.endian == Endian::Little && o.name != "legacy_maps")
        .map(|o| Item {
            label: o.label(),
            name: o.name.to_string(),
            path: o.path().to_path_buf(),
        })
        .collect();
    items.extend(edge_objects(&dir));
    let paths: Vec<&Path> = items.iter().map(|i| i.path.as_path()).collect();
    let oracle = run_oracle(&bin, target_path, &paths);
    assert_eq!(oracle.len(), items.len(), "oracle output for every object");

    let target_btf = Btf::parse(target_bytes).expect("target BTF");
    let syms = kallsyms();
    let addr = move |name: &str| syms.get(name).copied();
    let target = Target {
        btfs: vec![&target_btf],
        config: kernel_config(),
        ksym_addr: Some(&addr),
    };
    let mut bad = Vec::new();
    let (mut progs, mut insns, mut maps, mut core, mut poisoned) = (0, 0, 0, 0, 0);
    let mut kinds = std::collections::BTreeSet::new();
    for (o, t) in items.iter().zip(&oracle) {
        assert_eq!(t.path, o.path.display().to_string());
        assert_eq!(
            t.status, "OK",
            "libbpf failed on {} (the oracle needs root: libbpf creates the maps in the kernel; \
             ORACLE_VERBOSE=1 shows libbpf's messages)",
            o.label
        );
        let bytes = std::fs::read(&o.path).unwrap();
        let obj = Object::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", o.label));
        let linked = obj
            .link(&o.name, &target)
            .unwrap_or_else(|e| panic!("{}: {e}", o.label));
        let ours: Vec<&LinkedProgram<'_>> = linked
            .programs
            .iter()
            .filter(|p| !t.skipped.iter().any(|s| s == p.name))
            .collect();
        let names: Vec<&str> = ours.iter().map(|p| p.name).collect();
        assert_eq!(names, t.order, "{}: programs in load order", o.label);
        assert_eq!(ours.len(), t.progs.len(), "{}: loaded programs", o.label);
        for (p, tp) in ours.iter().zip(&t.progs) {
            let what = format!("{} {}", o.label, p.name);
            assert!(
                p.name.starts_with(&tp.name),
                "{what}: libbpf loaded {}",
                tp.name
            );
            bad.extend(compare_prog(&what, &linked, p, tp, target_path.is_some()));
            progs += 1;
            insns += p.insn_count();
            core += p.core.len();
            kinds.extend(p.core.iter().map(|r| r.kind as u32));
            poisoned += p.core.iter().filter(|r| r.poisoned).count();
        }
        for m in &linked.maps {
            if !matches!(m.origin, MapOrigin::Data(_) | MapOrigin::Kconfig) {
                continue;
            }
            let what = format!("{} map {}", o.label, m.object_name);
            let Some(tm) = t.maps.get(&m.name) else {
                bad.push(format!(
                    "{what}: libbpf created no map named {:?} (it has {:?})",
                    m.name,
                    t.maps.keys().collect::<Vec<_>>()
                ));
                continue;
            };
            let ourm = [
                m.map_type,
                m.key_size,
                m.value_size,
                m.max_entries,
                m.map_flags,
                m.btf_key_type_id,
                m.btf_value_type_id,
            ];
            if ourm != *tm {
                bad.push(format!("{what}: ours {ourm:?} libbpf {tm:?}"));
            }
            if m.initial.as_ref() != t.values.get(&m.name) {
                bad.push(format!(
                    "{what}: initial value ours {:?} libbpf {:?}",
                    m.initial.as_deref().map(hex),
                    t.values.get(&m.name).map(|v| hex(v))
                ));
            }
            maps += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("compared {progs} programs, {insns} instructions ({core} CO-RE relocated, {poisoned} poisoned), {maps} internal maps");
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // Every CO-RE relocation kind (0 field byte offset .. 12 type matches) was compared.
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        (0..=12).collect::<Vec<u32>>(),
        "CO-RE relocation kinds compared"
    );
    assert!(
        progs > 50 && insns > 3000 && maps > 10,
        "compared only {progs} programs, {insns} instructions, {maps} internal maps"
    );
}

#[test]
fn linked_programs_match_libbpf_against_this_kernel() {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    differential(None, &bytes);
}

#[test]
fn linked_programs_match_libbpf_against_a_foreign_kernel() {
    let path = Path::new(ROOT).join("../shared/corpora/btf/vmlinux.btf.gz");
    let gz = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .expect("gunzip");
    let file = std::env::temp_dir().join(format!("corebpf-foreign-{}.btf", std::process::id()));
    std::fs::write(&file, &raw).unwrap();
    differential(Some(&file), &raw);
    let _ = std::fs::remove_file(&file);
}
