//! `corebpf objdump` on objects without BTF and on damaged objects: output or a clean error,
//! never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use corebpf_testdata::{find, Cpu};

fn objdump(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .arg("objdump")
        .args(args)
        .arg(file)
        .output()
        .expect("run corebpf")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-objdump-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn insn_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            t.split_once(":\t")
                .is_some_and(|(n, _)| n.parse::<usize>().is_ok())
        })
        .count()
}

#[test]
fn objects_without_btf_still_disassemble() {
    let dir = scratch("nobtf");
    for name in ["globals", "legacy_maps", "xdp_redirect"] {
        let src = find(name, Cpu::V3).unwrap().path();
        let stripped = dir.join(format!("{name}.o"));
        let st = Command::new("llvm-objcopy-19")
            .args(["--remove-section", ".BTF", "--remove-section", ".BTF.ext"])
            .arg(src)
            .arg(&stripped)
            .status()
            .unwrap_or_else(|e| panic!("cannot run llvm-objcopy-19 ({e}): install llvm-19"));
        assert!(st.success());
        let full = objdump(&[], src);
        let bare = objdump(&[], &stripped);
        let (full_out, bare_out) = (
            String::from_utf8_lossy(&full.stdout),
            String::from_utf8_lossy(&bare.stdout),
        );
        if name == "xdp_redirect" {
            // BTF-defined maps cannot be read without BTF: a clear error, as libbpf gives.
            assert!(!bare.status.success());
            let err = String::from_utf8_lossy(&bare.stderr);
            assert!(err.contains(".maps") && err.contains("BTF"), "{err}");
            continue;
        }
        assert!(
            bare.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&bare.stderr)
        );
        assert!(bare_out.contains("BTF: no"), "{name}");
        assert_eq!(insn_lines(&full_out), insn_lines(&bare_out), "{name}");
        assert!(
            !bare_out.contains("\n; "),
            "{name}: no source lines without BTF.ext"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_objects_never_panic() {
    let dir = scratch("damaged");
    let data = std::fs::read(find("execsnoop", Cpu::V3).unwrap().path()).unwrap();
    let path = dir.join("damaged.o");
    let mut runs = 0;
    for pos in (0..data.len()).step_by(data.len() / 150) {
        for v in [0x00u8, 0xff] {
            let mut d = data.clone();
            d[pos] = v;
            std::fs::write(&path, &d).unwrap();
            for args in [&[][..], &["--json"][..]] {
                let out = objdump(args, &path);
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(!err.contains("panicked"), "byte {pos:#x} = {v:#x}: {err}");
                assert!(
                    out.status.code().is_some(),
                    "byte {pos:#x}: killed by a signal"
                );
                if !out.status.success() {
                    assert!(err.starts_with("corebpf: "), "byte {pos:#x}: {err}");
                }
                runs += 1;
            }
        }
    }
    assert!(runs > 500);
    let _ = std::fs::remove_dir_all(&dir);
}
