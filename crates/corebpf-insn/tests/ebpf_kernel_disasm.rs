//! Disassembly text against the kernel's own: programs covering every instruction family are
//! submitted to this kernel's verifier, whose log prints each instruction it examines with
//! `kernel/bpf/disasm.c` (`N: (code) text`). Our `Display` must print the same text for the same
//! slot. Each program ends with a deliberately invalid stack read so that the load is refused
//! and the log comes back; every instruction before it is verified and printed.
//!
//! Needs root (or CAP_BPF) and a kernel with cpu v4 instructions, load-acquire/store-release
//! and may_goto (6.15+); without them the test fails naming the load error.

use std::collections::BTreeMap;

use corebpf_insn::ebpf::{
    encode_all, parse_insn, AluOp, AtomicOp, Call, Endian, Insn, JmpOp, MemSize, Reg, Source,
    SwapOp, SwapSize, Width,
};
use corebpf_sys::bpf::{prog_load, ProgLoad};

const SOCKET_FILTER: u32 = 1;

const R0: Reg = Reg::R0;
const R1: Reg = Reg::R1;
const R2: Reg = Reg::R2;
const R3: Reg = Reg::R3;
const R6: Reg = Reg::R6;
const R7: Reg = Reg::R7;
const R10: Reg = Reg::R10;

fn alu(width: Width, op: AluOp, dst: Reg, src: Source) -> Insn {
    Insn::Alu {
        width,
        op,
        dst,
        src,
    }
}

fn mov64(dst: Reg, src: Source) -> Insn {
    alu(Width::W64, AluOp::Mov, dst, src)
}

fn imm(i: i32) -> Source {
    Source::Imm(i)
}

fn reg(r: Reg) -> Source {
    Source::Reg(r)
}

fn store(size: MemSize, dst: Reg, off: i16, src: Source) -> Insn {
    Insn::Store {
        size,
        dst,
        off,
        src,
    }
}

fn load(size: MemSize, signed: bool, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Load {
        size,
        signed,
        dst,
        src,
        off,
    }
}

fn atomic(size: MemSize, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Atomic {
        size,
        op,
        dst,
        src,
        off,
    }
}

/// The tail that makes the verifier refuse the program after examining everything before it.
fn refuse(p: &mut Vec<Insn>) {
    p.push(load(MemSize::DW, false, R0, R10, 8));
    p.push(Insn::Exit);
}

const ALU_OPS: [AluOp; 14] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::SDiv,
    AluOp::Or,
    AluOp::And,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Mod,
    AluOp::SMod,
    AluOp::Xor,
    AluOp::Mov,
    AluOp::Arsh,
];

fn alu_program() -> Vec<Insn> {
    let mut p = vec![mov64(R1, imm(7)), mov64(R2, imm(3))];
    for width in [Width::W64, Width::W32] {
        for op in ALU_OPS {
            p.push(alu(width, op, R1, reg(R2)));
            p.push(alu(width, op, R1, imm(3)));
        }
        p.push(alu(width, AluOp::Add, R1, imm(-7)));
        p.push(Insn::Neg { width, dst: R1 });
    }
    for (width, from) in [
        (Width::W64, MemSize::B),
        (Width::W64, MemSize::H),
        (Width::W64, MemSize::W),
        (Width::W32, MemSize::B),
        (Width::W32, MemSize::H),
    ] {
        p.push(Insn::MovSx {
            width,
            dst: R1,
            src: R2,
            from,
        });
    }
    for op in [SwapOp::ToLe, SwapOp::ToBe, SwapOp::Swap] {
        for size in [SwapSize::S16, SwapSize::S32, SwapSize::S64] {
            p.push(Insn::Swap { op, size, dst: R1 });
        }
    }
    p.push(Insn::ld_imm64_value(R3, 0x1122_3344_5566_7788));
    p.push(Insn::ld_imm64_value(R3, u64::MAX));
    refuse(&mut p);
    p
}

fn memory_program() -> Vec<Insn> {
    use MemSize::*;
    let mut p = vec![
        store(DW, R10, -8, imm(0)),
        store(W, R10, -16, imm(5)),
        store(H, R10, -20, imm(-5)),
        store(B, R10, -21, imm(5)),
        Insn::ld_imm64_value(R1, 0x1122_3344_5566_7788),
        store(DW, R10, -32, reg(R1)),
        store(W, R10, -36, reg(R1)),
        store(H, R10, -38, reg(R1)),
        store(B, R10, -39, reg(R1)),
        load(DW, false, R2, R10, -32),
        load(W, false, R2, R10, -36),
        load(H, false, R2, R10, -38),
        load(B, false, R2, R10, -39),
        load(W, true, R2, R10, -36),
        load(H, true, R2, R10, -38),
        load(B, true, R2, R10, -39),
        mov64(R0, imm(0)),
    ];
    for (size, off) in [(DW, -8), (W, -16)] {
        for op in [
            AtomicOp::Add,
            AtomicOp::Or,
            AtomicOp::And,
            AtomicOp::Xor,
            AtomicOp::FetchAdd,
            AtomicOp::FetchOr,
            AtomicOp::FetchAnd,
            AtomicOp::FetchXor,
            AtomicOp::Xchg,
            AtomicOp::CmpXchg,
        ] {
            p.push(mov64(R1, imm(1)));
            p.push(atomic(size, op, R10, R1, off));
        }
    }
    for (size, off) in [(DW, -8), (W, -16), (H, -20), (B, -21)] {
        p.push(atomic(size, AtomicOp::LoadAcquire, R3, R10, off));
        p.push(atomic(size, AtomicOp::StoreRelease, R10, R3, off));
    }
    refuse(&mut p);
    p
}

const JMP_OPS: [JmpOp; 11] = [
    JmpOp::Eq,
    JmpOp::Gt,
    JmpOp::Ge,
    JmpOp::Set,
    JmpOp::Ne,
    JmpOp::Sgt,
    JmpOp::Sge,
    JmpOp::Lt,
    JmpOp::Le,
    JmpOp::Slt,
    JmpOp::Sle,
];

fn jump_program() -> Vec<Insn> {
    let mut p = vec![mov64(R1, imm(1)), mov64(R2, imm(2))];
    for width in [Width::W64, Width::W32] {
        for op in JMP_OPS {
            for src in [reg(R2), imm(5), imm(-5)] {
                p.push(Insn::Jmp {
                    width,
                    op,
                    dst: R1,
                    src,
                    off: 0,
                });
            }
        }
    }
    p.push(Insn::Ja { off: 0 });
    p.push(Insn::Gotol { off: 0 });
    p.push(Insn::MayGoto { off: 0 });
    // A jump over one instruction, both ways taken.
    p.push(Insn::Jmp {
        width: Width::W64,
        op: JmpOp::Eq,
        dst: R1,
        src: imm(3),
        off: 1,
    });
    p.push(mov64(R1, imm(3)));
    p.push(Insn::Call(Call::Helper(7)));
    // bpf-to-bpf call to the subprogram after this one's exit.
    let call_at = p.len();
    p.push(Insn::Call(Call::Local(0)));
    refuse(&mut p);
    let callee = p.len();
    if let Some(Insn::Call(Call::Local(off))) = p.get_mut(call_at) {
        *off = (callee - call_at - 1) as i32;
    }
    p.push(mov64(R0, imm(0)));
    p.push(Insn::Exit);
    p
}

fn packet_program() -> Vec<Insn> {
    let mut p = vec![mov64(R6, reg(R1)), mov64(R7, imm(0))];
    for size in [MemSize::B, MemSize::H, MemSize::W] {
        p.push(Insn::LdAbs { size, imm: 2 });
        p.push(Insn::LdInd {
            size,
            src: R7,
            imm: 4,
        });
    }
    refuse(&mut p);
    p
}

/// `N: (code) text` lines of a verifier log, register state after `;` dropped.
fn log_instructions(log: &str) -> Vec<(usize, u8, String)> {
    let mut out = Vec::new();
    for line in log.lines() {
        let Some((idx, rest)) = line.split_once(": (") else {
            continue;
        };
        let Ok(idx) = idx.parse::<usize>() else {
            continue;
        };
        let Some((code, text)) = rest.split_once(") ") else {
            continue;
        };
        let Ok(code) = u8::from_str_radix(code, 16) else {
            continue;
        };
        let text = match text.find(" ;") {
            Some(p) => &text[..p],
            None => text,
        };
        out.push((idx, code, text.trim_end().to_owned()));
    }
    out
}

/// Loads `prog` (which must be refused), and compares every instruction line of the log
/// with our disassembly. Returns the number of distinct slots compared.
fn compare_with_verifier(name: &str, prog: &[Insn]) -> usize {
    let bytes = encode_all(prog, Endian::NATIVE);
    let opts = ProgLoad {
        prog_type: SOCKET_FILTER,
        name,
        license: "GPL",
        log_level: 1,
        ..Default::default()
    };
    let err = match prog_load(&bytes, &opts) {
        Ok(_) => panic!("{name}: the verifier accepted a program built to be refused"),
        Err(e) => e,
    };
    let log = err
        .log()
        .unwrap_or_else(|| panic!("{name}: load failed without a verifier log: {err}"));
    assert!(
        log.contains("invalid") && log.contains("stack"),
        "{name}: refused for another reason than the final stack read:\n{log}"
    );

    let mut by_slot = BTreeMap::new();
    let mut pc = 0;
    for insn in prog {
        by_slot.insert(pc, insn);
        pc += insn.slots();
    }
    let lines = log_instructions(log);
    let mut seen = BTreeMap::new();
    let mut problems = Vec::new();
    for (idx, code, text) in &lines {
        let Some(insn) = by_slot.get(idx) else {
            problems.push(format!("log names slot {idx}, not an instruction start"));
            continue;
        };
        let ours = insn.to_string();
        // The kernel's text also parses back to the instruction.
        if parse_insn(text).as_ref() != Ok(*insn) {
            problems.push(format!(
                "slot {idx}: kernel text `{text}` parses to {:?}, not {insn:?}",
                parse_insn(text)
            ));
        }
        if insn.code() != *code || ours != *text {
            problems.push(format!(
                "slot {idx}: kernel `({code:02x}) {text}`, ours `({:02x}) {ours}`",
                insn.code()
            ));
        }
        seen.insert(*idx, ());
    }
    assert!(
        problems.is_empty(),
        "{name}: {} differences from the kernel's disassembly:\n{}\nlog:\n{log}",
        problems.len(),
        problems.join("\n")
    );
    // Every instruction was printed by the kernel, so every one was compared, except the
    // `exit` after the refused stack read, which the verifier never reaches.
    let refused = by_slot
        .iter()
        .find(|(_, i)| ***i == load(MemSize::DW, false, R0, R10, 8))
        .map(|(&s, _)| s)
        .expect("program has the refusing tail");
    let missing: Vec<_> = by_slot.keys().filter(|k| !seen.contains_key(k)).collect();
    assert_eq!(
        missing,
        vec![&(refused + 1)],
        "{name}: the verifier did not print these slots:\n{log}"
    );
    seen.len()
}

#[test]
fn alu_family_matches_kernel_text() {
    let n = compare_with_verifier("alu", &alu_program());
    assert_eq!(n, alu_program().len() - 1);
}

#[test]
fn memory_and_atomic_families_match_kernel_text() {
    let n = compare_with_verifier("mem", &memory_program());
    assert_eq!(n, memory_program().len() - 1);
}

#[test]
fn jump_and_call_families_match_kernel_text() {
    let n = compare_with_verifier("jmp", &jump_program());
    assert_eq!(n, jump_program().len() - 1);
}

#[test]
fn legacy_packet_loads_match_kernel_text() {
    let n = compare_with_verifier("pkt", &packet_program());
    assert_eq!(n, packet_program().len() - 1);
}

/// A loaded program's translated instructions, as the kernel reports them (map references
/// rewritten to `BPF_PSEUDO_MAP_FD`/`BPF_PSEUDO_MAP_VALUE` with map ids), disassembled by us and
/// by `bpftool prog dump xlated`: the texts must agree line for line.
#[test]
fn xlated_dump_matches_bpftool() {
    use std::os::fd::{AsFd, AsRawFd};

    use corebpf_insn::ebpf::{Decoder, LdImm64Kind};
    use corebpf_sys::bpf::attr::MapCreateAttr;
    use corebpf_sys::bpf::{map_create, prog_xlated};

    let map = map_create(&MapCreateAttr {
        map_type: 2, // BPF_MAP_TYPE_ARRAY
        key_size: 4,
        value_size: 16,
        max_entries: 1,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("creating an array map (needs root): {e}"));
    let fd = map.as_raw_fd();
    let prog = vec![
        Insn::LdImm64 {
            dst: R1,
            kind: LdImm64Kind::MapFd,
            imm: fd,
            next_imm: 0,
        },
        Insn::LdImm64 {
            dst: R2,
            kind: LdImm64Kind::MapValue,
            imm: fd,
            next_imm: 4,
        },
        Insn::ld_imm64_value(R3, 0xfeed_f00d_dead_beef),
        store(MemSize::DW, R10, -8, imm(-1)),
        load(MemSize::DW, false, R0, R10, -8),
        alu(Width::W32, AluOp::Add, R0, imm(1)),
        load(MemSize::W, false, R0, R2, 0),
        alu(Width::W64, AluOp::Arsh, R0, imm(3)),
        mov64(R0, imm(0)),
        Insn::Exit,
    ];
    let opts = ProgLoad {
        prog_type: SOCKET_FILTER,
        name: "xlated",
        license: "GPL",
        ..Default::default()
    };
    let loaded = prog_load(&encode_all(&prog, Endian::NATIVE), &opts)
        .unwrap_or_else(|e| panic!("loading the test program: {e}\n{}", e.log().unwrap_or("")));
    let (info, xlated, _) = prog_xlated(loaded.as_fd()).expect("xlated instructions");
    assert!(
        !xlated.is_empty(),
        "no xlated instructions (kptr_restrict?)"
    );

    let out = std::process::Command::new("bpftool")
        .args(["prog", "dump", "xlated", "id", &info.id.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("this test needs bpftool: {e}"));
    assert!(
        out.status.success(),
        "bpftool prog dump xlated failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).expect("utf-8");
    let theirs: Vec<(usize, u8, String)> = listing
        .lines()
        .filter_map(|l| {
            let (idx, rest) = l.trim_start().split_once(": (")?;
            let (code, text) = rest.split_once(") ")?;
            Some((
                idx.parse().ok()?,
                u8::from_str_radix(code, 16).ok()?,
                text.trim_end().to_owned(),
            ))
        })
        .collect();
    let ours: Vec<(usize, u8, String)> = Decoder::new(&xlated, Endian::NATIVE)
        .map(|(slot, r)| {
            let insn = r.unwrap_or_else(|e| panic!("xlated program: {e}"));
            (slot, insn.code(), insn.to_string())
        })
        .collect();
    assert_eq!(ours, theirs, "bpftool listing:\n{listing}");
    // bpftool's lines, prefix and all, parse back to the xlated instructions.
    let decoded: Vec<Insn> = Decoder::new(&xlated, Endian::NATIVE)
        .map(|(_, r)| r.expect("decoded above"))
        .collect();
    let listed: Vec<Insn> = listing
        .lines()
        .filter(|l| l.contains(": ("))
        .map(|l| parse_insn(l).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(listed, decoded);
    // The map references came back as pseudo kinds with the map's id.
    let map_id = corebpf_sys::bpf::map_info(map.as_fd())
        .expect("map info")
        .id;
    assert!(
        ours[0].2.contains(&format!("map[id:{map_id}]")),
        "{:?}",
        ours[0]
    );
    assert!(
        ours[1].2.contains(&format!("map[id:{map_id}][0]+4")),
        "{:?}",
        ours[1]
    );
}

/// Instructions the verifier refuses in a plain socket filter are still printed before they
/// are checked: address-space casts (need an arena) and calls of helpers this kernel does not
/// know or offer. Each is the last instruction examined; its text must match ours.
#[test]
fn refused_instructions_match_kernel_text() {
    let cases = [
        Insn::AddrSpaceCast {
            dst: R1,
            src: R2,
            dst_as: 1,
            src_as: 0,
        },
        Insn::AddrSpaceCast {
            dst: R1,
            src: R2,
            dst_as: 0,
            src_as: 1,
        },
        Insn::Call(Call::Helper(0)),
        Insn::Call(Call::Helper(100_000)),
        Insn::Call(Call::Helper(-3)),
    ];
    for insn in cases {
        let prog = [mov64(R1, imm(0)), mov64(R2, imm(0)), insn, Insn::Exit];
        let bytes = encode_all(&prog, Endian::NATIVE);
        let opts = ProgLoad {
            prog_type: SOCKET_FILTER,
            name: "refused",
            license: "GPL",
            log_level: 1,
            ..Default::default()
        };
        let err = match prog_load(&bytes, &opts) {
            Ok(_) => panic!("`{insn}` was accepted"),
            Err(e) => e,
        };
        let log = err
            .log()
            .unwrap_or_else(|| panic!("`{insn}`: load failed without a verifier log: {err}"));
        let lines = log_instructions(log);
        let printed = lines
            .iter()
            .find(|(idx, _, _)| *idx == 2)
            .unwrap_or_else(|| panic!("`{insn}`: the verifier did not print it:\n{log}"));
        assert_eq!(
            (printed.1, printed.2.as_str()),
            (insn.code(), insn.to_string().as_str()),
            "log:\n{log}"
        );
    }
}

/// Removes a bpffs pin directory when dropped, also when the test fails.
struct PinDir(std::path::PathBuf);

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Real programs: objects compiled from `tests/bpf` are loaded by `bpftool prog loadall`
/// (libbpf relocates them), and each loaded program's translated instructions, listed by
/// `bpftool prog dump xlated ... opcodes` with their bytes, must decode to instructions that
/// print as bpftool prints them. Calls are compared by their id and offset only: for translated
/// code bpftool names call targets from kernel symbols, which an instruction does not carry.
#[test]
fn loaded_test_programs_match_bpftool_xlated() {
    use corebpf_insn::ebpf::{decode, Call};
    use corebpf_testdata::{find, Cpu};

    let mut compared = 0;
    let mut kernel_internal = 0;
    // Programs that load without attaching and pin no maps by name.
    for name in [
        "subprogs",
        "globals",
        "xdp_redirect",
        "runqlat",
        "execsnoop",
    ] {
        for cpu in [Cpu::V3, Cpu::V4] {
            let obj = find(name, cpu).unwrap_or_else(|| panic!("no test object {name}"));
            let dir = PinDir(std::path::PathBuf::from(format!(
                "/sys/fs/bpf/corebpf-insn-test-{}-{name}-{cpu:?}",
                std::process::id()
            )));
            let out = std::process::Command::new("bpftool")
                .args(["prog", "loadall"])
                .arg(obj.path())
                .arg(&dir.0)
                .output()
                .unwrap_or_else(|e| panic!("this test needs bpftool: {e}"));
            assert!(
                out.status.success(),
                "bpftool prog loadall {} failed: {}",
                obj.label(),
                String::from_utf8_lossy(&out.stderr)
            );
            let mut pins: Vec<_> = std::fs::read_dir(&dir.0)
                .expect("pin dir")
                .map(|e| e.expect("entry").path())
                .collect();
            pins.sort();
            assert!(!pins.is_empty(), "{}: no programs pinned", obj.label());
            for pin in pins {
                let out = std::process::Command::new("bpftool")
                    .args(["prog", "dump", "xlated", "pinned"])
                    .arg(&pin)
                    .arg("opcodes")
                    .output()
                    .expect("bpftool");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let listing = String::from_utf8(out.stdout).expect("utf-8");
                let lines: Vec<&str> = listing.lines().collect();
                let mut i = 0;
                while i < lines.len() {
                    let line = lines[i];
                    i += 1;
                    let Some((idx, rest)) = line.trim_start().split_once(": (") else {
                        continue;
                    };
                    if idx.parse::<usize>().is_err() {
                        continue;
                    }
                    let (code, text) = rest.split_once(") ").expect("`(code) text`");
                    let bytes: Vec<u8> = lines
                        .get(i)
                        .expect("opcodes line")
                        .split_whitespace()
                        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
                        .collect();
                    i += 1;
                    let what = format!("{} {}: `{line}`", obj.label(), pin.display());
                    // The verifier's rewrites (e.g. of signed division) may use its auxiliary
                    // register r11, which is not part of the instruction set the decoder
                    // accepts; such instructions are counted, not compared.
                    if text.contains("r11") || text.contains("w11") {
                        assert!(decode(&bytes, Endian::NATIVE).is_err(), "{what}");
                        kernel_internal += 1;
                        continue;
                    }
                    let (insn, len) =
                        decode(&bytes, Endian::NATIVE).unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(len, bytes.len(), "{what}");
                    assert_eq!(format!("{:02x}", insn.code()), code, "{what}");
                    let ours = insn.to_string();
                    match insn {
                        // bpftool appends `#<symbol>` of the JIT-compiled callee.
                        Insn::Call(Call::LocalTranslated { .. }) => {
                            assert_eq!(text.split('#').next(), Some(ours.as_str()), "{what}")
                        }
                        Insn::Call(Call::Helper(id) | Call::Kfunc { btf_id: id, .. }) => {
                            assert!(
                                text.starts_with("call ") && text.ends_with(&format!("#{id}")),
                                "{what}: ours `{ours}`"
                            )
                        }
                        // bpftool 7.1 (Debian 12) predates the per-CPU address move and
                        // prints it as a plain `mov`; the kernel's disasm.c names it.
                        Insn::MovPercpuAddr { dst, src } if text == format!("{dst} = {src}") => {}
                        // bpftool 7.1 also predates cpu v4's sign-extending move and prints it
                        // without the `(sN)` cast (the opcode and offset still differ).
                        Insn::MovSx { dst, src, .. }
                            if text == format!("{dst} = {src}")
                                || text == format!("{} = {}", dst.name32(), src.name32()) => {}
                        // bpftool 7.1 predates cpu v4's signed division and modulo too.
                        _ if insn.off() == 1
                            && (ours.replace(" s/= ", " /= ") == text
                                || ours.replace(" s%= ", " %= ") == text) => {}
                        _ => assert_eq!(ours, text, "{what}"),
                    }
                    compared += 1;
                }
            }
        }
    }
    eprintln!(
        "{compared} translated instructions agree with bpftool ({kernel_internal} use the kernel's r11)"
    );
    assert!(compared > 200, "only {compared} instructions compared");
}
