//! Fuzzes the ELF object model: `Object::parse` and everything derived from it (programs,
//! functions, relocations, maps, data sections, externs, BTF.ext records, CO-RE access
//! strings, struct_ops maps), then links the object against a small fixed kernel BTF and
//! against its own BTF, and builds the minimal BTF of its CO-RE relocations from each (which
//! must parse and serve as a link target itself).
#![no_main]

use corebpf_btf::{BtfBuilder, IntEncoding, Kind, Member};
use corebpf_obj::link::{KernelConfig, Target};
use corebpf_obj::Object;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// `int`, `struct task_struct { int pid; int tgid; }` and a pointer to it.
fn target_btf() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding(1), 0, 32).unwrap_or(1);
        let member = |name, bit_offset| Member {
            name,
            ty: int,
            bit_offset,
            bitfield_size: 0,
        };
        let task = b
            .add_struct(
                false,
                "task_struct",
                8,
                &[member("pid", 0), member("tgid", 32)],
            )
            .unwrap_or(2);
        let _ = b.add_ref(Kind::Ptr, "", task);
        b.finish().unwrap_or_default()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(obj) = Object::parse(data) else {
        return;
    };
    let _ = (
        obj.license,
        obj.kernel_version,
        obj.sections.len(),
        obj.symbols.len(),
    );
    for i in 0..obj.sections.len() {
        let _ = obj.section_name(i);
    }
    for p in obj.programs() {
        let _ = format!("{p:?}");
    }
    for ps in &obj.program_sections {
        let _ = (ps.insn_count(), ps.is_text());
        for f in &ps.functions {
            let _ = ps.function_starting_at(f.insns().start);
        }
        for r in &ps.relocs {
            let _ = (ps.reloc_at(r.insn), ps.function_at(r.insn));
        }
        let _ = obj.program_section(ps.section);
    }
    for m in &obj.maps {
        let _ = obj.map(m.name);
    }
    for d in &obj.data {
        let _ = obj.data_section(d.name);
        for v in &d.variables {
            let _ = d.variable_at(v.offset);
        }
    }
    if let (Some(btf), Ok(Some(ext))) = (obj.btf.as_ref(), obj.btf_ext()) {
        for (_, recs) in ext.core_relos().take(16) {
            for r in recs.take(64) {
                let _ = corebpf_obj::core::describe_access(btf, r.type_id, r.access_str, r.kind);
            }
        }
    }
    if let Ok(maps) = obj.struct_ops_maps() {
        for m in &maps {
            let _ = m.kernel_type_name();
            for member in &m.members {
                let _ = m.member_bytes(member);
            }
            let _ = m.programs().count();
        }
    }
    let config = || {
        let mut c = KernelConfig::parse("CONFIG_BPF=y\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=\"x\"\n");
        c.kernel_version = 0x0006_1200;
        c
    };
    let lookup = |name: &str| (name.len() < 8).then_some(0xffff_ffff_8100_0000u64);
    if let Ok(kernel) = corebpf_btf::Btf::parse(target_btf()) {
        let target = Target {
            btfs: vec![&kernel],
            config: config(),
            ksym_addr: Some(&lookup),
        };
        let _ = obj.link("fuzz", &target);
        min_btf_round(&obj, &kernel, &config);
    }
    if let Some(own) = obj.btf.as_ref() {
        let target = Target {
            btfs: vec![own],
            config: config(),
            ksym_addr: None,
        };
        let _ = obj.link("fuzz", &target);
        min_btf_round(&obj, own, &config);
    }
});

/// The minimal BTF of `obj`'s CO-RE relocations against `full` parses, and `obj` links against it.
fn min_btf_round(obj: &Object<'_>, full: &corebpf_btf::Btf<'_>, config: &dyn Fn() -> KernelConfig) {
    let Ok(min) = corebpf_obj::min_btf::min_core_btf(full, &[obj]) else {
        return;
    };
    let small = match corebpf_btf::Btf::parse(&min.bytes) {
        Ok(small) => small,
        Err(e) => panic!("the minimal BTF does not parse: {e}"),
    };
    let target = Target {
        btfs: vec![&small],
        config: config(),
        ksym_addr: None,
    };
    let _ = obj.link("fuzz", &target);
}
