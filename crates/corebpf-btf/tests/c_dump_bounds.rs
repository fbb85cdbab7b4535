//! The C dump of structs whose member offsets or size are out of range: an error naming the
//! type, never millions of padding lines.

use corebpf_btf::c_dump::{dump_c, COptions};
use corebpf_btf::{Btf, BtfBuilder, IntEncoding, Member};

fn member(name: &str, ty: u32, bit_offset: u32) -> Member<'_> {
    Member {
        name,
        ty,
        bit_offset,
        bitfield_size: 0,
    }
}

fn dump(size: u32, members: &[(&str, u32)]) -> Result<String, String> {
    let mut b = BtfBuilder::new();
    let long = b
        .add_int("unsigned long", 8, IntEncoding(0), 0, 64)
        .unwrap();
    let ms: Vec<_> = members
        .iter()
        .map(|&(n, off)| member(n, long, off))
        .collect();
    b.add_struct(false, "regs", size, &ms).unwrap();
    let bytes = b.finish().unwrap();
    let btf = Btf::parse(&bytes).unwrap();
    let mut out = Vec::new();
    match dump_c(&btf, &mut out, &COptions::default()) {
        Ok(()) => Ok(String::from_utf8(out).unwrap()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn member_offset_past_the_end() {
    // A fuzzed kernel `struct pt_regs`: r12 at bit 2634023104 of a 168-byte struct.
    let err = dump(168, &[("r15", 0), ("r12", 2_634_023_104), ("bp", 256)]).unwrap_err();
    assert_eq!(err, "type [2]: member offset past the end of the struct");
}

#[test]
fn huge_struct_size() {
    let err = dump(u32::MAX, &[("a", 0)]).unwrap_err();
    assert_eq!(
        err,
        "type [2]: more than 1 MiB of padding to write (member offsets or size out of range)"
    );
    let err = dump(u32::MAX, &[("a", 0), ("b", u32::MAX - 63)]).unwrap_err();
    assert!(
        err.starts_with("type [2]: more than 1 MiB of padding"),
        "{err}"
    );
}

/// The `struct regs { ... };` block of a C header.
fn struct_block(c: &str) -> &str {
    let start = c.find("struct regs {").expect("struct regs in the header");
    let len = c[start..].find("\n};").expect("end of struct regs") + 3;
    &c[start..start + len]
}

#[test]
fn ordinary_padding_matches_bpftool() {
    let c = dump(40, &[("a", 0), ("b", 192)]).unwrap();
    let mut b = BtfBuilder::new();
    let long = b
        .add_int("unsigned long", 8, IntEncoding(0), 0, 64)
        .unwrap();
    b.add_struct(
        false,
        "regs",
        40,
        &[member("a", long, 0), member("b", long, 192)],
    )
    .unwrap();
    let path =
        std::env::temp_dir().join(format!("corebpf-c-dump-bounds-{}.btf", std::process::id()));
    std::fs::write(&path, b.finish().unwrap()).unwrap();
    let out = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(&path)
        .args(["format", "c"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run bpftool ({e}): install bpftool"));
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = String::from_utf8(out.stdout).unwrap();
    assert_eq!(struct_block(&c), struct_block(&theirs));
}
