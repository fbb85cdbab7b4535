//! The guest suite: boots Debian's 6.1 amd64 kernel under qemu with this corebpf binary and
//! the compiled test objects in an initramfs (tests/vm/run.sh), runs tests/vm/guest-tests.sh
//! inside it, and checks every result on the host:
//!
//! - the guest's `/sys/kernel/btf/vmlinux`, copied out over the second serial port, is byte for
//!   byte what `corebpf btf extract` carves out of the booted bzImage;
//! - the guest's `corebpf btf dump --format raw` output equals bpftool's dump of that BTF;
//! - every guest command listed in guest-tests.sh ran and passed.
//!
//! A second guest, Debian's 6.1 arm64 kernel under qemu-system-aarch64, checks the arm64
//! `Image` path (tests/vm/run-arm64.sh): its BTF has no section to name it and is found by its
//! header, and must equal the booted kernel's `/sys/kernel/btf/vmlinux`.
//!
//! The harness installs qemu and downloads the kernels itself; a missing qemu, kernel or
//! bpftool fails the test. The two guests run one after the other (two cores).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use corebpf_testdata::{Cpu, Endian};

/// One guest at a time.
static GUEST: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies the little-endian test objects to `dir` as `NAME.v3.o` / `NAME.v4.o`.
fn stage_objects(dir: &Path) -> Vec<String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut names = Vec::new();
    for o in corebpf_testdata::objects() {
        if o.endian != Endian::Little {
            continue;
        }
        let cpu = match o.cpu {
            Cpu::V3 => "v3",
            Cpu::V4 => "v4",
        };
        let name = format!("{}.{cpu}", o.name);
        std::fs::copy(o.path(), dir.join(format!("{name}.o"))).unwrap();
        names.push(name);
    }
    names
}

/// `results.txt`: one `PASS name` or `FAIL name (why)` line per check.
fn read_results(path: &Path) -> BTreeMap<String, (bool, String)> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (the harness did not get far)", path.display()));
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let (verdict, rest) = line.split_once(' ').unwrap_or((line, ""));
        let (name, why) = rest.split_once(' ').unwrap_or((rest, ""));
        out.insert(name.to_owned(), (verdict == "PASS", why.to_owned()));
    }
    out
}

/// The `NAME` of every `t NAME ...` and `tfail NAME ...` line of guest-tests.sh with a
/// literal name.
fn listed_guest_tests() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("tests/vm/guest-tests.sh")).unwrap();
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("t ").or_else(|| l.strip_prefix("tfail "))
        })
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|name| !name.contains('$') && !name.contains('"'))
        .map(str::to_owned)
        .collect()
}

/// The corebpf binary for the guest: an optimised build of this same source (cargo builds it
/// now when the test itself is a debug build), since under emulation a debug build's CO-RE
/// relocation against the 6.1 BTF takes tens of seconds per object.
fn guest_binary() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_corebpf"));
    let dir = exe.parent().unwrap();
    if dir.file_name().and_then(|n| n.to_str()) != Some("debug") {
        return exe;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "corebpf-cli",
            "--bin",
            "corebpf",
        ])
        .current_dir(repo())
        .status()
        .expect("cannot run cargo build --release");
    assert!(
        status.success(),
        "cargo build --release -p corebpf-cli failed"
    );
    let release = dir.with_file_name("release").join("corebpf");
    assert!(
        release.is_file(),
        "{} missing after the build",
        release.display()
    );
    release
}

#[test]
fn guest_suite_on_debian_6_1() {
    let _one = GUEST.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let objects = tmp.join("vm-objects");
    let out = tmp.join("vm-run");
    let staged = stage_objects(&objects);
    assert!(!staged.is_empty(), "corebpf-testdata compiled no objects");

    let status = Command::new("bash")
        .arg(repo().join("tests/vm/run.sh"))
        .arg(&out)
        .env("COREBPF", guest_binary())
        .env("VM_OBJECTS", &objects)
        .status()
        .expect("cannot run bash tests/vm/run.sh");

    let results = read_results(&out.join("results.txt"));
    let console = std::fs::read_to_string(out.join("console.txt")).unwrap_or_default();
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, (ok, _))| !ok)
        .map(|(name, (_, why))| format!("{name} {why}"))
        .collect();
    assert!(
        failed.is_empty() && status.success(),
        "guest suite failed (harness status {status}):\n  {}\nserial console:\n{console}",
        failed.join("\n  ")
    );

    // Every check the guest was asked for must have reported, not only the ones that did.
    let mut expected: Vec<String> = [
        "guest-boot",
        "guest-end",
        "copy:vmlinux.btf",
        "host-extract-equals-guest-btf",
        "guest-dump-equals-bpftool",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    expected.extend(listed_guest_tests().iter().map(|n| format!("guest:{n}")));
    expected.extend(staged.iter().map(|n| format!("guest:objdump-{n}")));
    let missing: Vec<&String> = expected
        .iter()
        .filter(|n| !results.contains_key(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "checks that never reported: {missing:?}\nserial console:\n{console}"
    );

    // The library's extract of the booted image, independently of the CLI the harness ran.
    let image_path = PathBuf::from(
        std::fs::read_to_string(out.join("image.txt"))
            .unwrap()
            .trim(),
    );
    let image = std::fs::read(&image_path).unwrap();
    let found = corebpf_btf::extract::extract(&image).unwrap();
    let guest = std::fs::read(out.join("guest-vmlinux.btf")).unwrap();
    assert_eq!(found.bytes().len(), guest.len(), "extracted BTF size");
    assert!(
        found.bytes() == guest.as_slice(),
        "extracted BTF differs from the guest's /sys/kernel/btf/vmlinux"
    );
    // The payload compression is the one the package's kernel config chose.
    let version = image_path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .unwrap();
    let config =
        std::fs::read_to_string(image_path.with_file_name(format!("config-{version}"))).unwrap();
    let compression = ["GZIP", "XZ", "LZMA", "ZSTD", "LZ4", "BZIP2", "LZO"]
        .iter()
        .find(|c| config.contains(&format!("\nCONFIG_KERNEL_{c}=y\n")))
        .expect("kernel config names no CONFIG_KERNEL_<compression>")
        .to_ascii_lowercase();
    assert_eq!(
        found.describe(),
        format!("bzImage ({compression} payload) > ELF .BTF section")
    );
    let btf = corebpf_btf::Btf::parse(&guest).unwrap();
    assert!(btf
        .find_by_name_kind("task_struct", corebpf_btf::Kind::Struct)
        .is_some());
}

#[test]
fn arm64_image_btf_equals_the_booted_kernels() {
    let _one = GUEST.lock().unwrap_or_else(|e| e.into_inner());
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vm-run-arm64");
    let status = Command::new("bash")
        .arg(repo().join("tests/vm/run-arm64.sh"))
        .arg(&out)
        .env("COREBPF", env!("CARGO_BIN_EXE_corebpf"))
        .status()
        .expect("cannot run bash tests/vm/run-arm64.sh");
    let results = read_results(&out.join("results.txt"));
    let console = std::fs::read_to_string(out.join("console.txt")).unwrap_or_default();
    for check in ["arm64-guest-btf", "arm64-extract-equals-guest-btf"] {
        let (ok, why) = results
            .get(check)
            .unwrap_or_else(|| panic!("{check} never reported\nconsole:\n{console}"));
        assert!(ok, "{check} failed {why}\nconsole:\n{console}");
    }
    assert!(status.success(), "run-arm64.sh failed: {status}");

    // The guest's size and sha256 against the library's extract, independently of the CLI.
    let line = console
        .lines()
        .find(|l| l.starts_with("@@COREBPF-VM FILE vmlinux.btf "))
        .unwrap();
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap()
            .to_owned()
    };
    let image_path = std::fs::read_to_string(out.join("image.txt")).unwrap();
    let image = std::fs::read(image_path.trim()).unwrap();
    let found = corebpf_btf::extract::extract(&image).unwrap();
    assert_eq!(found.kind, corebpf_btf::extract::ImageKind::Arm64Image);
    assert_eq!(found.bytes().len().to_string(), field("bytes="));
    let host = std::fs::read(out.join("host-vmlinux.btf")).unwrap();
    assert!(host == found.bytes(), "CLI and library extracts differ");
    let btf = corebpf_btf::Btf::parse(found.bytes()).unwrap();
    assert!(btf
        .find_by_name_kind("user_pt_regs", corebpf_btf::Kind::Struct)
        .is_some());
}
