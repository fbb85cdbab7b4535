//! Programs whose attach target is a function of a loaded BPF program (freplace, fentry/fexit
//! on a BPF function), on this host: the target's functions as bpftool sees them, every way of
//! naming the target, the errors for missing, static and wrong targets, and the refusal of the
//! load itself where the host's policy forbids BPF trampolines. Where the host allows them the
//! same tests attach for real and check the counters; the qemu guest suite (tests/vm,
//! guest-freplace.sh) always does. Needs root, clang-19 and bpftool.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use corebpf::attach_target::program_functions;
use corebpf::compile::{compile, CompileOptions};
use corebpf::{AttachTarget, LoadError, Object, OpenObject};
use serde_json::Value;

const EPERM: i32 = 1;

/// Compiles `tests/vm/bpf/NAME.bpf.c` (the guest suite's sources) once per test binary.
fn object(name: &str) -> PathBuf {
    static LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _g = LOCK
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/vm/bpf/{name}.bpf.c"));
    // One directory per run: the file name up to its first dot is the object's name.
    let dir = std::env::temp_dir().join(format!("corebpf-freplace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join(format!("{name}.bpf.o"));
    if !out.exists() {
        compile(&src, &out, &CompileOptions::default())
            .unwrap_or_else(|e| panic!("compile {}: {e}", src.display()));
    }
    out
}

fn load_target() -> Object {
    OpenObject::open(object("freplace_target"))
        .expect("open target")
        .load()
        .unwrap_or_else(|e| panic!("load the target (these tests need root): {e}"))
}

fn bpftool_json(args: &[&str]) -> Value {
    let out = Command::new("bpftool")
        .arg("-j")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("bpftool is needed (apt-get install bpftool): {e}"));
    assert!(
        out.status.success(),
        "bpftool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bpftool JSON")
}

/// (name, BTF type id, global) of every function of program `id`, from bpftool: names in
/// order from the function headers of `prog dump xlated`, ids and linkage from `btf dump`.
fn bpftool_functions(id: u32) -> (u32, Vec<(String, u32, bool)>) {
    let show = bpftool_json(&["prog", "show", "id", &id.to_string()]);
    let btf_id = show["btf_id"].as_u64().expect("btf_id") as u32;
    let out = Command::new("bpftool")
        .args(["prog", "dump", "xlated", "id", &id.to_string()])
        .output()
        .expect("bpftool");
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<String> = text
        .lines()
        .filter(|l| l.ends_with("):") && !l.starts_with(' '))
        .filter_map(|l| {
            let open = l.find('(')?;
            let head = &l[..open];
            Some(head.rsplit([' ', '*']).next()?.to_string())
        })
        .collect();
    let btf = bpftool_json(&["btf", "dump", "id", &btf_id.to_string()]);
    let funcs = btf["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter(|t| t["kind"] == "FUNC")
        .collect::<Vec<_>>();
    let list = names
        .into_iter()
        .map(|n| {
            let t = funcs
                .iter()
                .find(|t| t["name"] == n.as_str())
                .unwrap_or_else(|| panic!("bpftool: no FUNC {n} in BTF {btf_id}"));
            (
                n,
                t["id"].as_u64().unwrap() as u32,
                t["linkage"] == "global",
            )
        })
        .collect();
    (btf_id, list)
}

/// Sets `target` on the freplace object and loads it; on this host the kernel refuses the
/// load (EPERM) after the loader resolved the target. Where it is allowed, the extension is
/// attached and must switch `decide`'s verdict from 1 to 2 and back.
fn load_freplace(target: AttachTarget, target_obj: &Object) {
    let what = target.to_string();
    let mut open = OpenObject::open(object("freplace")).unwrap();
    open.set_attach_target("decide_two", target).unwrap();
    match open.load() {
        Err(LoadError::ProgramRefused {
            program,
            errno,
            problem,
            ..
        }) => {
            assert_eq!(program, "decide_two");
            assert_eq!(errno, Some(EPERM), "{what}: {problem}");
            assert!(
                problem.contains("Operation not permitted")
                    && problem.contains("freplace")
                    && problem.contains("trampolines"),
                "{what}: {problem}"
            );
        }
        Err(e) => panic!("{what}: expected the kernel's refusal or a load, got: {e}"),
        Ok(ext) => {
            let prog = ext.program("decide_two").unwrap();
            let t = prog.target_program().expect("target kept");
            assert!(t.starts_with("decide of program count_sync (id "), "{t}");
            check_switch(target_obj, &ext);
        }
    }
}

fn counter(obj: &Object, name: &str) -> u64 {
    let bss = obj.map(".bss").expect(".bss");
    let v = bss.lookup(&0u32.to_ne_bytes()).unwrap().unwrap();
    let off = match name {
        "decided_one" => 0,
        "decided_two" => 8,
        _ => 16,
    };
    u64::from_ne_bytes(v[off..off + 8].try_into().unwrap())
}

fn syncs(n: usize) {
    for _ in 0..n {
        // SAFETY: sync has no arguments and cannot fail.
        unsafe { libc::sync() };
    }
}

/// Runs only where the host allows extension programs: counts while the extension is
/// attached, after its link is dropped and after attaching it again from the stored target.
fn check_switch(target: &Object, ext: &Object) {
    let _tp = target.program("count_sync").unwrap().attach().unwrap();
    let one = counter(target, "decided_one");
    let two = counter(target, "decided_two");
    let link = ext
        .program("decide_two")
        .unwrap()
        .attach()
        .expect("freplace attach");
    syncs(3);
    assert!(counter(target, "decided_two") >= two + 3);
    drop(link);
    let two_after = counter(target, "decided_two");
    syncs(3);
    assert_eq!(counter(target, "decided_two"), two_after, "detached");
    assert!(counter(target, "decided_one") >= one + 3);
    let again = ext
        .program("decide_two")
        .unwrap()
        .attach()
        .expect("attach again");
    syncs(2);
    assert!(counter(target, "decided_two") >= two_after + 2);
    drop(again);
}

#[test]
fn target_program_functions_match_bpftool() {
    let target = load_target();
    let prog = target.program("count_sync").unwrap();
    let ours = program_functions(prog.fd()).expect("functions");
    let id = prog.info().unwrap().id;
    assert_eq!(ours.id, id);
    assert_eq!(ours.name, "count_sync");
    let (btf_id, theirs) = bpftool_functions(id);
    assert_eq!(ours.btf_id, btf_id);
    let ours: Vec<(String, u32, bool)> = ours
        .funcs
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                f.btf_id,
                f.linkage == corebpf::btf::FuncLinkage::Global,
            )
        })
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 3, "count_sync, decide, weight: {ours:?}");
}

#[test]
fn every_form_of_target_resolves_then_the_host_refuses_the_extension() {
    let target = load_target();
    let prog = target.program("count_sync").unwrap();
    let id = prog.info().unwrap().id;
    load_freplace(AttachTarget::program(prog).unwrap(), &target);
    load_freplace(AttachTarget::fd(prog.fd().as_fd()).unwrap(), &target);
    load_freplace(AttachTarget::id(id), &target);
    load_freplace(AttachTarget::parse(&format!("id:{id}")).unwrap(), &target);
    load_freplace(AttachTarget::id(id).function("decide"), &target);

    corebpf::pin::ensure_bpffs_dir(Path::new("/sys/fs/bpf")).expect("bpffs");
    let pin = PathBuf::from(format!(
        "/sys/fs/bpf/corebpf-freplace-test-{}",
        std::process::id()
    ));
    prog.pin(&pin).expect("pin target");
    let pinned = || {
        load_freplace(AttachTarget::pinned(&pin), &target);
        load_freplace(
            AttachTarget::parse(&format!("pinned:{}", pin.display())).unwrap(),
            &target,
        );
        load_freplace(AttachTarget::parse(pin.to_str().unwrap()).unwrap(), &target);
    };
    let r = std::panic::catch_unwind(pinned);
    std::fs::remove_file(&pin).expect("unpin");
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn fentry_and_fexit_on_a_bpf_function() {
    let target = load_target();
    let prog = target.program("count_sync").unwrap();
    let mut open = OpenObject::open(object("freplace_trace")).unwrap();
    let mut names = open
        .set_default_attach_target(AttachTarget::program(prog).unwrap())
        .unwrap();
    names.sort();
    assert_eq!(names, ["decide_entry", "decide_exit"]);
    match open.load() {
        Err(LoadError::ProgramRefused {
            program,
            errno,
            problem,
            ..
        }) => {
            assert!(program == "decide_entry" || program == "decide_exit");
            assert_eq!(errno, Some(EPERM), "{problem}");
            assert!(problem.contains("trampolines"), "{problem}");
        }
        Err(e) => panic!("expected the kernel's refusal or a load, got: {e}"),
        Ok(obj) => {
            let _tp = prog.attach().unwrap();
            let _l1 = obj.program("decide_entry").unwrap().attach().unwrap();
            let _l2 = obj.program("decide_exit").unwrap().attach().unwrap();
            syncs(4);
            let bss = obj.map(".bss").unwrap();
            let v = bss.lookup(&0u32.to_ne_bytes()).unwrap().unwrap();
            let entries = u64::from_ne_bytes(v[0..8].try_into().unwrap());
            let exits = u64::from_ne_bytes(v[8..16].try_into().unwrap());
            assert!(entries >= 4 && exits >= 4, "{entries} {exits}");
        }
    }
}

#[test]
fn a_missing_function_lists_the_target_functions() {
    let target = load_target();
    let prog = target.program("count_sync").unwrap();
    let id = prog.info().unwrap().id;
    let (_, theirs) = bpftool_functions(id);
    let listed: Vec<String> = theirs
        .iter()
        .map(|(n, _, global)| {
            if *global {
                n.clone()
            } else {
                format!("{n} (static)")
            }
        })
        .collect();
    let mut open = OpenObject::open(object("freplace")).unwrap();
    open.set_attach_target("decide_two", AttachTarget::id(id).function("choose"))
        .unwrap();
    let e = open.load().unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "program decide_two (freplace/decide): attach target program count_sync (id {id}) has no function `choose`; its functions: {}",
            listed.join(", ")
        )
    );
    assert!(e.contains("decide, weight (static)"), "{e}");
}

#[test]
fn a_static_function_cannot_be_replaced() {
    let target = load_target();
    let prog = target.program("count_sync").unwrap();
    let id = prog.info().unwrap().id;
    let mut open = OpenObject::open(object("freplace")).unwrap();
    open.set_attach_target(
        "decide_two",
        AttachTarget::program(prog).unwrap().function("weight"),
    )
    .unwrap();
    let e = open.load().unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "program decide_two (freplace/decide): function `weight` of program count_sync (id {id}) is static: only global functions can be replaced (global ones: count_sync, decide)"
        )
    );
}

#[test]
fn wrong_targets_are_named() {
    let target = load_target();
    corebpf::pin::ensure_bpffs_dir(Path::new("/sys/fs/bpf")).expect("bpffs");
    let pin = PathBuf::from(format!(
        "/sys/fs/bpf/corebpf-freplace-map-{}",
        std::process::id()
    ));
    target.map(".bss").unwrap().pin_at(&pin).expect("pin map");
    let load_with = |t: AttachTarget| {
        let mut open = OpenObject::open(object("freplace")).unwrap();
        open.set_attach_target("decide_two", t).unwrap();
        open.load().unwrap_err().to_string()
    };
    let map = load_with(AttachTarget::pinned(&pin));
    let map_fd = load_with(AttachTarget::fd(target.map(".bss").unwrap().fd()).unwrap());
    std::fs::remove_file(&pin).expect("unpin");
    assert_eq!(
        map,
        format!(
            "attach target program pinned at {}: this is a BPF map, not a program",
            pin.display()
        )
    );
    assert!(
        map_fd.ends_with(": this is a BPF map, not a program"),
        "{map_fd}"
    );
    let nothing = load_with(AttachTarget::pinned("/sys/fs/bpf/corebpf-no-such-pin"));
    assert_eq!(
        nothing,
        "attach target program pinned at /sys/fs/bpf/corebpf-no-such-pin: nothing is pinned there"
    );
    // Ids are handed out upwards from 1: u32::MAX is not one of them on a test machine.
    let no_id = load_with(AttachTarget::id(u32::MAX));
    assert_eq!(
        no_id,
        format!(
            "attach target program id {}: no loaded program has this id (see `corebpf prog list`)",
            u32::MAX
        )
    );

    // A program loaded without BTF has no functions to offer.
    let insns: Vec<u8> = [0xb7u8, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0].to_vec();
    let bare = corebpf_sys::bpf::prog_load(
        &insns,
        &corebpf_sys::bpf::ProgLoad {
            prog_type: 1, // socket filter
            name: "bare",
            license: "GPL",
            ..Default::default()
        },
    )
    .expect("load a socket filter");
    let e = load_with(AttachTarget::fd(bare.as_fd()).unwrap());
    assert!(
        e.starts_with("program decide_two (freplace/decide): program fd ")
            && e.contains("program bare (id ")
            && e.ends_with(
                "was loaded without BTF function information (func_info), so its functions cannot be targeted"
            ),
        "{e}"
    );
}

#[test]
fn only_programs_that_attach_to_programs_take_a_target() {
    // An extension program without a target.
    let e = OpenObject::open(object("freplace"))
        .unwrap()
        .load()
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "program decide_two (freplace/decide): an extension (freplace) program needs a target program: OpenObject::set_attach_target, or `--attach-target` on the command line"
    );
    let mut open = OpenObject::open(object("freplace_target")).unwrap();
    let e = open
        .set_attach_target("count_sync", AttachTarget::id(1))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "program count_sync (tp/syscalls/sys_enter_sync): cannot take program id 1 as attach target: only freplace, fentry, fexit and fmod_ret programs attach to a BPF program"
    );
    let e = open
        .set_attach_target("nope", AttachTarget::id(1))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "no program named `nope` in the object");
    let e = open
        .set_default_attach_target(AttachTarget::id(1))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "attach target program id 1: object freplace_target has no freplace, fentry, fexit or fmod_ret program to attach to it"
    );
}
