//! Malformed objects: each damage gives a named error, never a panic.

use corebpf_obj::{ObjError, Object};
use corebpf_testdata::{bytes, Cpu};

/// Minimal little-endian ELF64 accessors for editing test objects in place.
struct Elf(Vec<u8>);

impl Elf {
    fn u16(&self, off: usize) -> u16 {
        u16::from_le_bytes(self.0[off..off + 2].try_into().unwrap())
    }
    fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.0[off..off + 4].try_into().unwrap())
    }
    fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.0[off..off + 8].try_into().unwrap())
    }
    fn put_u16(&mut self, off: usize, v: u16) {
        self.0[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, off: usize, v: u32) {
        self.0[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, off: usize, v: u64) {
        self.0[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
    /// Offsets of the section headers.
    fn shdrs(&self) -> Vec<usize> {
        let shoff = self.u64(0x28) as usize;
        let entsize = self.u16(0x3a) as usize;
        let num = self.u16(0x3c) as usize;
        (0..num).map(|i| shoff + i * entsize).collect()
    }
    fn name_of(&self, shdr: usize) -> String {
        let shstrndx = self.u16(0x3e) as usize;
        let strtab = self.u64(self.shdrs()[shstrndx] + 0x18) as usize;
        let off = strtab + self.u32(shdr) as usize;
        let end = self.0[off..].iter().position(|&b| b == 0).unwrap();
        String::from_utf8(self.0[off..off + end].to_vec()).unwrap()
    }
    fn shdr_named(&self, name: &str) -> usize {
        self.shdrs()
            .into_iter()
            .find(|&h| self.name_of(h) == name)
            .unwrap_or_else(|| panic!("no section {name}"))
    }
    fn shdr_of_type(&self, sh_type: u32) -> usize {
        self.shdrs()
            .into_iter()
            .find(|&h| self.u32(h + 4) == sh_type)
            .unwrap()
    }
}

fn subprogs() -> Elf {
    Elf(bytes("subprogs", Cpu::V3))
}

fn parse_err(elf: &Elf) -> ObjError {
    match Object::parse(&elf.0) {
        Ok(_) => panic!("damaged object parsed without error"),
        Err(e) => e,
    }
}

#[test]
fn intact_object_parses() {
    Object::parse(&subprogs().0).expect("the undamaged object parses");
}

#[test]
fn truncated_elf() {
    let elf = subprogs();
    let err = Object::parse(&elf.0[..40]).unwrap_err();
    assert!(matches!(err, ObjError::Elf(_)), "{err}");
    // The section header table is at the end: cutting the tail loses it.
    let err = Object::parse(&elf.0[..elf.0.len() - 100]).unwrap_err();
    assert!(matches!(err, ObjError::Elf(_)), "{err}");
}

#[test]
fn not_bpf() {
    let mut elf = subprogs();
    elf.put_u16(0x12, 62); // EM_X86_64
    assert!(matches!(parse_err(&elf), ObjError::NotBpf { machine: 62 }));
}

#[test]
fn symbol_with_bad_section_index() {
    let mut elf = subprogs();
    let symtab = elf.shdr_of_type(2);
    let off = elf.u64(symtab + 0x18) as usize;
    let size = elf.u64(symtab + 0x20) as usize;
    // Damage the first FUNC symbol (st_info type 2).
    let sym = (off..off + size)
        .step_by(24)
        .find(|&s| elf.0[s + 4] & 0xf == 2)
        .unwrap();
    elf.put_u16(sym + 6, 500);
    let err = parse_err(&elf);
    assert!(
        matches!(err, ObjError::SymbolBadSection { section: 500, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("section index 500"), "{err}");
}

#[test]
fn relocation_section_for_missing_section() {
    let mut elf = subprogs();
    let rel = elf.shdr_named(".relraw_tp/sys_enter");
    elf.put_u32(rel + 0x2c, 999); // sh_info
    let err = parse_err(&elf);
    assert!(
        matches!(err, ObjError::BadRelocTarget { target: 999, .. }),
        "{err}"
    );
}

#[test]
fn relocation_past_the_end_of_its_section() {
    let mut elf = subprogs();
    let rel = elf.shdr_named(".relraw_tp/sys_enter");
    let first = elf.u64(rel + 0x18) as usize;
    elf.put_u64(first, 0x10_0000); // r_offset
    let err = parse_err(&elf);
    assert!(
        matches!(
            err,
            ObjError::RelocOutOfBounds {
                offset: 0x10_0000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("raw_tp/sys_enter"), "{err}");
}

#[test]
fn relocation_against_missing_symbol() {
    let mut elf = subprogs();
    let rel = elf.shdr_named(".relraw_tp/sys_enter");
    let first = elf.u64(rel + 0x18) as usize;
    let info = elf.u64(first + 8);
    elf.put_u64(first + 8, (9999u64 << 32) | (info & 0xffff_ffff));
    let err = parse_err(&elf);
    assert!(
        matches!(err, ObjError::RelocBadSymbol { symbol: 9999, .. }),
        "{err}"
    );
}

#[test]
fn relocation_on_a_non_load_instruction() {
    let mut elf = subprogs();
    let rel = elf.shdr_named(".relraw_tp/sys_enter");
    let first = elf.u64(rel + 0x18) as usize;
    // Point the first relocation at an instruction that is neither a call nor a 64-bit load.
    let sec = elf.shdr_named("raw_tp/sys_enter");
    let data = elf.u64(sec + 0x18) as usize;
    let size = elf.u64(sec + 0x20) as usize;
    let plain = (0..size)
        .step_by(8)
        .find(|&o| !matches!(elf.0[data + o], 0x85 | 0x18 | 0x00))
        .unwrap();
    elf.put_u64(first, plain as u64);
    let err = parse_err(&elf);
    assert!(matches!(err, ObjError::Reloc { .. }), "{err}");
}

#[test]
fn instruction_section_of_odd_length() {
    let mut elf = subprogs();
    let sec = elf.shdr_named("raw_tracepoint/sys_exit");
    let size = elf.u64(sec + 0x20);
    elf.put_u64(sec + 0x20, size - 4);
    let err = parse_err(&elf);
    assert!(matches!(err, ObjError::OddInsnSection { .. }), "{err}");
    assert!(err.to_string().contains("raw_tracepoint/sys_exit"), "{err}");
}

#[test]
fn section_data_outside_the_file() {
    let mut elf = subprogs();
    let sec = elf.shdr_named(".text");
    elf.put_u64(sec + 0x18, 1 << 40); // sh_offset
    let err = parse_err(&elf);
    assert!(matches!(err, ObjError::Section { .. }), "{err}");
    assert!(err.to_string().contains(".text"), "{err}");
}

#[test]
fn function_past_the_end_of_its_section() {
    let mut elf = subprogs();
    let symtab = elf.shdr_of_type(2);
    let off = elf.u64(symtab + 0x18) as usize;
    let size = elf.u64(symtab + 0x20) as usize;
    let sym = (off..off + size)
        .step_by(24)
        .find(|&s| elf.0[s + 4] & 0xf == 2)
        .unwrap();
    elf.put_u64(sym + 16, 1 << 20); // st_size
    let err = parse_err(&elf);
    assert!(matches!(err, ObjError::FunctionOutOfBounds { .. }), "{err}");
}

#[test]
fn corrupt_btf_is_named() {
    let mut elf = Elf(bytes("maps", Cpu::V3));
    let btf = elf.shdr_named(".BTF");
    let off = elf.u64(btf + 0x18) as usize;
    elf.put_u16(off, 0x1234); // magic
    let err = parse_err(&elf);
    assert!(
        matches!(
            err,
            ObjError::Btf {
                section: ".BTF",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn huge_symbol_values_do_not_overflow() {
    for (value, size) in [
        (u64::MAX - 3, u64::MAX),
        (0x7fff_ffff_ffff_fff0, 16),
        (1 << 63, 1),
    ] {
        let mut elf = Elf(bytes("globals", Cpu::V3));
        let symtab = elf.shdr_of_type(2);
        let off = elf.u64(symtab + 0x18) as usize;
        let size_tab = elf.u64(symtab + 0x20) as usize;
        // Every data symbol (st_info type 1, OBJECT) gets an absurd value and size.
        for sym in (off..off + size_tab).step_by(24) {
            if elf.0[sym + 4] & 0xf == 1 {
                elf.put_u64(sym + 8, value);
                elf.put_u64(sym + 16, size);
            }
        }
        if let Ok(obj) = Object::parse(&elf.0) {
            for d in &obj.data {
                let _ = d.variable_at(u64::MAX - 1);
                let _ = d.variable_at(value);
            }
        }
    }
}

/// Every prefix and many single-byte corruptions of real objects: errors or success, no panic.
#[test]
fn no_panic_on_truncation_or_corruption() {
    for name in ["subprogs", "maps", "core_fields", "legacy_maps"] {
        let data = bytes(name, Cpu::V3);
        for len in (0..data.len()).step_by(97) {
            let _ = Object::parse(&data[..len]);
        }
        let mut damaged = data.clone();
        for pos in (0..data.len()).step_by(53) {
            for v in [0x00u8, 0xff] {
                let old = damaged[pos];
                damaged[pos] = v;
                if let Ok(obj) = Object::parse(&damaged) {
                    let _ = obj.btf_ext();
                }
                damaged[pos] = old;
            }
        }
    }
}
