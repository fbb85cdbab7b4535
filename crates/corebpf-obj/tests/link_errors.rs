//! Linking hand-assembled objects with broken instruction streams: each gives an error naming
//! the program, section, instruction and problem before anything reaches the kernel.

use std::path::PathBuf;
use std::process::Command;

use corebpf_obj::link::{KernelConfig, Target};
use corebpf_obj::Object;

/// Assembles `body` as the function `prog` of section `socket` with llvm-mc-19.
fn assemble(name: &str, body: &str) -> Vec<u8> {
    assemble_with(name, body, "")
}

/// As [`assemble`], with `extra` (other sections) after the function.
fn assemble_with(name: &str, body: &str, extra: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!(
        "corebpf-obj-link-errors-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let src: PathBuf = dir.join(format!("{name}.s"));
    let obj = dir.join(format!("{name}.o"));
    let text = format!(
        "\t.section socket,\"ax\",@progbits\n\t.globl prog\n\t.type prog,@function\nprog:\n{body}\
         .Lend:\n\t.size prog, .Lend-prog\n\t.section license,\"aw\",@progbits\n\t.asciz \"GPL\"\n{extra}"
    );
    std::fs::write(&src, text).unwrap();
    let out = Command::new("llvm-mc-19")
        .args(["-triple", "bpfel", "-filetype=obj", "-o"])
        .arg(&obj)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run llvm-mc-19 ({e}): install llvm-19"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&obj).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn link_error(bytes: &[u8]) -> String {
    let obj = Object::parse(bytes).expect("the object parses");
    let target = Target {
        btfs: Vec::new(),
        config: KernelConfig::default(),
        ksym_addr: None,
    };
    match obj.link("t", &target) {
        Ok(_) => panic!("linking succeeded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn ld_imm64_without_second_half() {
    let bytes = assemble(
        "ldimm64",
        "\tr0 = 0\n\t.byte 0x18, 0x01, 0, 0, 0, 0, 0, 0\n",
    );
    assert_eq!(
        link_error(&bytes),
        "program prog (socket) insn 1: 64-bit immediate load in the last slot of the function: \
         its second half is missing"
    );
}

#[test]
fn local_call_outside_the_section() {
    let bytes = assemble("call", "\t.byte 0x85, 0x10, 0, 0, 0x40, 0, 0, 0\n\texit\n");
    assert_eq!(
        link_error(&bytes),
        "program prog (socket) insn 0: call pc+64 lands outside section socket"
    );
}

#[test]
fn bss_larger_than_a_map_value() {
    // Found by fuzzing: a .bss of 0x6574617473 bytes was allocated in full.
    let bytes = assemble_with(
        "bss",
        "\tr0 = 0\n\texit\n",
        "\t.section .bss,\"aw\",@nobits\n\t.globl big\nbig:\n\t.skip 0x100000000\n",
    );
    assert_eq!(
        link_error(&bytes),
        "map .bss: section of 4294967296 bytes is larger than a map value can be (4 GiB)"
    );
}
