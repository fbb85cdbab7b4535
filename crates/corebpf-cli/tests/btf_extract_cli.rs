//! `corebpf btf extract` on files at hand: an ELF object's `.BTF` section (read back with the
//! `object` crate), standard output, and errors naming the file. Real kernel images are checked
//! against booted kernels in vm_guest.rs.

use std::process::Command;

use corebpf_testdata::Cpu;

fn corebpf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corebpf"))
}

fn btf_section(path: &std::path::Path) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let bytes = std::fs::read(path).unwrap();
    let file = object::File::parse(bytes.as_slice()).unwrap();
    let sec = file.section_by_name(".BTF").unwrap();
    sec.data().unwrap().to_vec()
}

#[test]
fn elf_object_to_file_and_stdout() {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("btf-extract-cli");
    std::fs::create_dir_all(&tmp).unwrap();
    for name in ["maps", "execsnoop"] {
        let obj = corebpf_testdata::object(name, Cpu::V3);
        let want = btf_section(obj);
        let out = tmp.join(format!("{name}.btf"));
        let st = corebpf()
            .args(["btf", "extract", "-v"])
            .arg(obj)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        assert_eq!(std::fs::read(&out).unwrap(), want, "{name}");
        let msg = String::from_utf8_lossy(&st.stderr);
        assert!(
            msg.contains(&format!("{} bytes of BTF", want.len()))
                && msg.contains("ELF .BTF section"),
            "{msg}"
        );

        let st = corebpf()
            .args(["btf", "extract"])
            .arg(obj)
            .output()
            .unwrap();
        assert!(st.status.success());
        assert_eq!(st.stdout, want, "{name} on stdout");
    }
}

#[test]
fn errors_name_the_file() {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("btf-extract-cli");
    std::fs::create_dir_all(&tmp).unwrap();
    let text = tmp.join("notes.txt");
    std::fs::write(&text, "not a kernel").unwrap();
    let st = corebpf()
        .args(["btf", "extract"])
        .arg(&text)
        .output()
        .unwrap();
    assert!(!st.status.success());
    let msg = String::from_utf8_lossy(&st.stderr);
    assert!(
        msg.contains(&text.display().to_string()) && msg.contains("not a kernel image"),
        "{msg}"
    );

    let missing = tmp.join("no-such-image");
    let st = corebpf()
        .args(["btf", "extract"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!st.status.success());
    let msg = String::from_utf8_lossy(&st.stderr);
    assert!(
        msg.contains(&missing.display().to_string()) && msg.contains("cannot read"),
        "{msg}"
    );
}
