//! The libbpf side of the link-stage differential tests (`libbpf_link.rs`, `libbpf_link_61.rs`).
//!
//! `tests/libbpf-oracle/oracle.c` loads objects with libbpf (libbpf-dev 1.1) and records what
//! libbpf hands to the kernel in `BPF_PROG_LOAD` (program loads themselves are not passed on):
//! the relocated instructions, `func_info`, `line_info`, and which map each LD imm64 fd names;
//! plus the internal maps it creates and their initial values. [`differential`] links the same
//! objects with [`Object::link`] against the same target and compares everything: instruction
//! bytes (map fds aside, whose map is compared by name), BTF.ext records, internal map names,
//! flags, sizes, BTF ids and contents.
//!
//! Kernel facts libbpf takes from the running kernel whatever the CO-RE target (its
//! `btf_custom_path` serves CO-RE only) are given to our side from the same source:
//! `LINUX_KERNEL_VERSION` (uname), `LINUX_HAS_BPF_COOKIE` and `LINUX_HAS_SYSCALL_WRAPPER`
//! (libbpf's feature probes), untyped ksym addresses (`/proc/kallsyms`). Typed ksyms and kfuncs
//! libbpf resolves in the running kernel's BTF; with a custom target each object is compared
//! twice: linked the same way (`Object::link_with_core_btfs`: CO-RE against the target, ksyms
//! against the running kernel), which must equal libbpf byte for byte; and linked purely
//! offline (`Object::link`, everything against the target), where those ksym/kfunc slots are
//! compared with our link against the running kernel and must name a type of the same name in
//! the target, and an object whose non-weak kfunc the target lacks must be refused.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::Btf;
use corebpf_obj::link::{KernelConfig, LinkError, Linked, LinkedProgram, MapOrigin, Target};
use corebpf_obj::Object;

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[derive(Debug, Default)]
pub struct OracleProg {
    pub name: String,
    pub insns: Vec<[u8; 8]>,
    pub maps: HashMap<usize, String>,
    pub func_info: Vec<(u32, u32)>,
    pub line_info: Vec<(u32, u32, u32, u32)>,
}

#[derive(Debug, Default)]
pub struct OracleObject {
    pub path: String,
    pub status: String,
    pub order: Vec<String>,
    pub skipped: Vec<String>,
    pub progs: Vec<OracleProg>,
    /// name -> (type, key, value, max_entries, flags, btf key, btf value)
    pub maps: HashMap<String, [u32; 7]>,
    pub values: HashMap<String, Vec<u8>>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Builds `tests/libbpf-oracle/oracle.c` into `dir`.
pub fn build_oracle(dir: &Path) -> PathBuf {
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

/// Runs the oracle over `objs` (`btf`: libbpf's `btf_custom_path`; `kconfig`: the `.config`
/// text libbpf is given instead of the running kernel's).
pub fn run_oracle(
    bin: &Path,
    btf: Option<&Path>,
    kconfig: Option<&Path>,
    objs: &[&Path],
) -> Vec<OracleObject> {
    let mut cmd = Command::new(bin);
    if let Some(b) = btf {
        cmd.arg("-b").arg(b);
    }
    if let Some(k) = kconfig {
        cmd.arg("-k").arg(k);
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
        if f[0] == "@@object" && f.get(2) == Some(&"ERR") && f.get(3) == Some(&"open") {
            // Not even opened: an entry of its own, so the order still matches.
            res.push(OracleObject {
                path: f[1].to_string(),
                status: "ERR".into(),
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

/// The kernel configuration libbpf uses: `file` when given (the oracle's `-k`), else the
/// running kernel's `/proc/config.gz`; the `LINUX_*` facts as libbpf finds them on this host.
pub fn kernel_config(file: Option<&Path>) -> KernelConfig {
    let text = match file {
        Some(f) => std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())),
        None => {
            let gz =
                std::fs::read("/proc/config.gz").expect("/proc/config.gz (libbpf reads it too)");
            let mut text = String::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_string(&mut text)
                .expect("gunzip /proc/config.gz");
            text
        }
    };
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
    // libbpf probes the running kernel for bpf_get_attach_cookie (there since 5.15).
    c.has_bpf_cookie = true;
    c.has_syscall_wrapper = libbpf_sees_syscall_wrapper();
    c
}

/// libbpf 1.1 decides `LINUX_HAS_SYSCALL_WRAPPER` by opening a kprobe on `__<arch>_sys_bpf`
/// (perf kprobe PMU, else a tracefs `kprobe_events` entry): without kprobes in the running
/// kernel it is 0, whatever the CO-RE target.
fn libbpf_sees_syscall_wrapper() -> bool {
    let kprobes = Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || Path::new("/sys/kernel/tracing/kprobe_events").exists()
        || Path::new("/sys/kernel/debug/tracing/kprobe_events").exists();
    let sym = match std::env::consts::ARCH {
        "x86_64" => "__x64_sys_bpf",
        "aarch64" => "__arm64_sys_bpf",
        _ => return false,
    };
    kprobes && kallsyms().contains_key(sym)
}

pub fn kallsyms() -> HashMap<String, u64> {
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

/// What [`compare_prog`] takes from the link against the running kernel's BTF, for the slots
/// libbpf resolves there even with a custom target (typed ksyms and kfuncs).
pub struct KsymReference<'r, 'a, 'h, 't> {
    /// The same program linked against the running kernel's BTF.
    pub host: &'r LinkedProgram<'a>,
    pub host_btf: &'r Btf<'h>,
    /// The custom target's BTF (ours resolves there).
    pub target_btf: &'r Btf<'t>,
}

fn slot(insns: &[u8], i: usize) -> Option<[u8; 8]> {
    insns.get(i * 8..i * 8 + 8).and_then(|s| s.try_into().ok())
}

/// Compares one program; returns the problems found and the number of ksym/kfunc slots checked
/// against the running kernel's link.
pub fn compare_prog(
    what: &str,
    linked: &Linked<'_>,
    ours: &LinkedProgram<'_>,
    theirs: &OracleProg,
    ksym: Option<&KsymReference<'_, '_, '_, '_>>,
) -> (Vec<String>, usize) {
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
    // Slots libbpf resolved against the running kernel: expected = our running-kernel link.
    let mut host_slots: HashMap<usize, [u8; 8]> = HashMap::new();
    if let Some(k) = ksym {
        let host_refs: BTreeSet<usize> = k.host.btf_refs.iter().map(|r| r.insn).collect();
        let our_refs: BTreeSet<usize> = ours.btf_refs.iter().map(|r| r.insn).collect();
        for &i in host_refs.union(&our_refs) {
            let wide = slot(&k.host.insns, i).is_some_and(|s| s[0] == 0x18);
            for j in [i, i + 1].into_iter().take(if wide { 2 } else { 1 }) {
                if let Some(s) = slot(&k.host.insns, j) {
                    host_slots.insert(j, s);
                }
            }
        }
        for r in &ours.btf_refs {
            let ours_name = k.target_btf.type_by_id(r.type_id).map(|t| t.name).ok();
            let host_name = k
                .host
                .btf_refs
                .iter()
                .find(|h| h.insn == r.insn)
                .and_then(|h| k.host_btf.type_by_id(h.type_id).ok())
                .map(|t| t.name);
            if ours_name.is_none() || ours_name != host_name {
                bad.push(format!(
                    "{what}: insn {}: kernel reference to {ours_name:?} in the target, \
                     {host_name:?} in the running kernel",
                    r.insn
                ));
            }
        }
    }
    let mut shown = 0;
    for i in 0..n.min(theirs.insns.len()) {
        let (mut a, mut b) = match host_slots.get(&i) {
            Some(h) => (*h, theirs.insns[i]),
            None => (slot(&ours.insns, i).unwrap_or_default(), theirs.insns[i]),
        };
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
            let note = if host_slots.contains_key(&i) {
                " (ksym/kfunc slot: our link against the running kernel)"
            } else {
                ""
            };
            bad.push(format!(
                "{what}: insn {i} (in {func}): ours {} libbpf {}{note}",
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
    (bad, host_slots.len())
}

/// An object both sides link: a test object or one of the oracle's own edge-case programs.
pub struct Item {
    pub label: String,
    pub name: String,
    pub path: PathBuf,
}

/// Compiles `tests/libbpf-oracle/NAME.bpf.c` (kernel types declared locally, so it needs only
/// libbpf's headers) for little-endian `cpu`, with `-D__TARGET_ARCH_<arch>` when given.
fn compile(dir: &Path, name: &str, cpu: &str, arch: Option<&str>) -> Item {
    let src = Path::new(ROOT).join(format!("tests/libbpf-oracle/{name}.bpf.c"));
    let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    let tag = arch.map_or(cpu.to_string(), |a| format!("{cpu}, {a}"));
    let path = dir.join(format!("{name}.{}.o", tag.replace(", ", ".")));
    let mut cmd = Command::new("clang-19");
    cmd.args([
        "-target",
        "bpfel",
        "-g",
        "-O2",
        &format!("-mcpu={cpu}"),
        "-I",
    ])
    .arg(&multiarch);
    if let Some(a) = arch {
        cmd.arg(format!("-D__TARGET_ARCH_{a}"));
    }
    let out = cmd
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
        label: format!("{name} ({tag})"),
        name: name.into(),
        path,
    }
}

/// `tests/libbpf-oracle/core_edges.bpf.c` for cpu v3 and v4.
pub fn edge_objects(dir: &Path) -> Vec<Item> {
    ["v3", "v4"]
        .iter()
        .map(|cpu| compile(dir, "core_edges", cpu, None))
        .collect()
}

/// `tests/libbpf-oracle/syscall_regs.bpf.c` (`BPF_KSYSCALL`) for x86 and arm64 registers.
pub fn syscall_objects(dir: &Path) -> Vec<Item> {
    ["x86", "arm64"]
        .iter()
        .map(|arch| compile(dir, "syscall_regs", "v3", Some(arch)))
        .collect()
}

/// One differential run: the objects, the CO-RE target, the configuration.
pub struct Setup<'s> {
    /// The target BTF's file for libbpf's `btf_custom_path`; `None`: the running kernel.
    pub btf_path: Option<&'s Path>,
    pub btf: &'s Btf<'s>,
    /// `.config` text for both sides; `None`: the running kernel's.
    pub kconfig: Option<&'s Path>,
    pub items: &'s [Item],
    /// A scratch directory holding the oracle binary.
    pub oracle: &'s Path,
}

/// What a run compared.
#[derive(Debug, Default)]
pub struct Outcome {
    pub objects: usize,
    pub programs: usize,
    pub insns: usize,
    pub core: usize,
    pub poisoned: usize,
    /// Programs with at least one poisoned (unresolvable) CO-RE relocation.
    pub poisoned_programs: usize,
    pub maps: usize,
    /// Typed ksym / kfunc slots compared with the running kernel's link.
    pub ksym_slots: usize,
    pub kinds: BTreeSet<u32>,
    pub differences: Vec<String>,
    /// Objects we refuse to link for a custom target because a non-weak ksym or kfunc is not in
    /// that target's BTF, which libbpf took from the running kernel instead: (label, error).
    pub refused: Vec<(String, String)>,
    /// With a custom target: programs and instructions of the links whose ksyms and kfuncs
    /// resolve in the running kernel like libbpf's, compared with no exception.
    pub core_only_programs: usize,
    pub core_only_insns: usize,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} objects ({} refused), {} programs ({} with poisoned CO-RE relocations), {} instructions \
             ({} CO-RE relocated, {} poisoned, {} ksym/kfunc slots), {} internal maps; \
             ksyms from the running kernel: {} programs, {} instructions",
            self.objects,
            self.refused.len(),
            self.programs,
            self.poisoned_programs,
            self.insns,
            self.core,
            self.poisoned,
            self.ksym_slots,
            self.maps,
            self.core_only_programs,
            self.core_only_insns
        )
    }
}

/// A link refused for a custom target must name a non-weak ksym or kfunc the target's BTF
/// lacks and the running kernel's has (libbpf resolves those in the running kernel).
fn check_refusal(label: &str, e: &LinkError, target: &Btf<'_>, host: &Btf<'_>) {
    let LinkError::Extern { name, kind, .. } = e else {
        panic!("{label}: {e}")
    };
    assert!(
        matches!(*kind, "ksym" | "kfunc"),
        "{label}: refused for something other than a kernel symbol: {e}"
    );
    assert!(
        target.find_by_name(name).next().is_none(),
        "{label}: refused {name}, which the target BTF has: {e}"
    );
    assert!(
        host.find_by_name(name).next().is_some(),
        "{label}: {name} is not in the running kernel's BTF either: {e}"
    );
}

/// Links every item with libbpf and with [`Object::link`] against `s.btf` and compares them.
pub fn differential(s: &Setup<'_>) -> Outcome {
    let paths: Vec<&Path> = s.items.iter().map(|i| i.path.as_path()).collect();
    let oracle = run_oracle(s.oracle, s.btf_path, s.kconfig, &paths);
    assert_eq!(
        oracle.len(),
        s.items.len(),
        "oracle output for every object"
    );

    // With a custom target, libbpf still resolves ksyms and kfuncs against the running kernel.
    let host_bytes = s
        .btf_path
        .map(|_| std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux"));
    let host_btf = host_bytes
        .as_deref()
        .map(|b| Btf::parse(b).expect("the running kernel's BTF"));
    let syms = kallsyms();
    let addr = move |name: &str| syms.get(name).copied();
    let target = Target {
        btfs: vec![s.btf],
        config: kernel_config(s.kconfig),
        ksym_addr: Some(&addr),
    };
    let host_target = host_btf.as_ref().map(|h| Target {
        btfs: vec![h],
        config: target.config.clone(),
        ksym_addr: Some(&addr),
    });
    let mut out = Outcome::default();
    for (o, t) in s.items.iter().zip(&oracle) {
        assert_eq!(t.path, o.path.display().to_string());
        assert_eq!(
            t.status, "OK",
            "libbpf failed on {} (the oracle needs root: libbpf creates the maps in the kernel; \
             ORACLE_VERBOSE=1 shows libbpf's messages)",
            o.label
        );
        let bytes = std::fs::read(&o.path).unwrap();
        let obj = Object::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", o.label));
        out.objects += 1;
        if let Some(ht) = &host_target {
            // libbpf's model: CO-RE against the custom target, ksyms and kfuncs against the
            // running kernel (`link_with_core_btfs`): equal to libbpf byte for byte.
            let mixed = obj
                .link_with_core_btfs(&o.name, ht, &[s.btf])
                .unwrap_or_else(|e| panic!("{} (CO-RE target only): {e}", o.label));
            let mut part = Outcome::default();
            let label = format!("{} [CO-RE target only]", o.label);
            compare_object(&label, &mixed, t, None, s.btf, &mut part);
            out.differences.append(&mut part.differences);
            out.core_only_programs += part.programs;
            out.core_only_insns += part.insns;
        }
        let linked = match obj.link(&o.name, &target) {
            Ok(l) => l,
            Err(e) => {
                let (Some(hb), Some(ht)) = (&host_btf, &host_target) else {
                    panic!("{}: {e}", o.label)
                };
                check_refusal(&o.label, &e, s.btf, hb);
                // libbpf resolved it in the running kernel, as our link against it does.
                obj.link(&o.name, ht)
                    .unwrap_or_else(|e| panic!("{} against the running kernel: {e}", o.label));
                out.refused.push((o.label.clone(), e.to_string()));
                continue;
            }
        };
        let host_linked = host_target.as_ref().map(|h| {
            obj.link(&o.name, h)
                .unwrap_or_else(|e| panic!("{} against the running kernel: {e}", o.label))
        });
        let host = match (&host_linked, &host_btf) {
            (Some(hl), Some(hb)) => Some((hl, hb)),
            _ => None,
        };
        compare_object(&o.label, &linked, t, host, s.btf, &mut out);
    }
    out
}

/// Compares one linked object with libbpf's records of it: programs, then internal maps.
fn compare_object(
    label: &str,
    linked: &Linked<'_>,
    t: &OracleObject,
    host: Option<(&Linked<'_>, &Btf<'_>)>,
    target_btf: &Btf<'_>,
    out: &mut Outcome,
) {
    let ours: Vec<&LinkedProgram<'_>> = linked
        .programs
        .iter()
        .filter(|p| !t.skipped.iter().any(|s| s == p.name))
        .collect();
    let names: Vec<&str> = ours.iter().map(|p| p.name).collect();
    assert_eq!(names, t.order, "{label}: programs in load order");
    assert_eq!(ours.len(), t.progs.len(), "{label}: loaded programs");
    for (p, tp) in ours.iter().zip(&t.progs) {
        let what = format!("{label} {}", p.name);
        assert!(
            p.name.starts_with(&tp.name),
            "{what}: libbpf loaded {}",
            tp.name
        );
        let reference = host.map(|(hl, hb)| KsymReference {
            host: hl
                .programs
                .iter()
                .find(|h| h.name == p.name)
                .expect("same programs against both targets"),
            host_btf: hb,
            target_btf,
        });
        let (bad, ksym_slots) = compare_prog(&what, linked, p, tp, reference.as_ref());
        out.differences.extend(bad);
        out.ksym_slots += ksym_slots;
        out.programs += 1;
        out.insns += p.insn_count();
        out.core += p.core.len();
        out.kinds.extend(p.core.iter().map(|r| r.kind as u32));
        let poisoned = p.core.iter().filter(|r| r.poisoned).count();
        out.poisoned += poisoned;
        out.poisoned_programs += usize::from(poisoned > 0);
    }
    for m in &linked.maps {
        if !matches!(m.origin, MapOrigin::Data(_) | MapOrigin::Kconfig) {
            continue;
        }
        let what = format!("{label} map {}", m.object_name);
        let Some(tm) = t.maps.get(&m.name) else {
            out.differences.push(format!(
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
            out.differences
                .push(format!("{what}: ours {ourm:?} libbpf {tm:?}"));
        }
        if m.initial.as_ref() != t.values.get(&m.name) {
            out.differences.push(format!(
                "{what}: initial value ours {:?} libbpf {:?}",
                m.initial.as_deref().map(hex),
                t.values.get(&m.name).map(|v| hex(v))
            ));
        }
        out.maps += 1;
    }
}
