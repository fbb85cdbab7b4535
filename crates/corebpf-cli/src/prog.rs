//! `corebpf prog`: programs loaded in the running kernel — list, show, and dump their translated
//! (post-verifier) instructions or JIT-compiled bytes.
//!
//! `prog dump xlated` prints the instructions `bpftool prog dump xlated` prints, in the same
//! syntax, with function prototypes and source lines from the program's BTF, map references as
//! `map[id:N]` (named in a trailing comment), helper and kernel-function calls resolved through
//! `/proc/kallsyms`, and — beyond bpftool — loads from the context register that the verifier
//! rewrote into loads from the kernel's own context structure (`struct sk_buff` for
//! `struct __sk_buff`, `struct xdp_buff` for `struct xdp_md`, …) annotated with the field they
//! read: `/* sk_buff->len */`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::AsFd;

use anyhow::{bail, Result};
use corebpf_btf::{Btf, TypeKind};
use corebpf_insn::ebpf::{self, Call, Endian, Insn, LdImm64Kind, Reg, Source};
use corebpf_sys::bpf::ObjKind;
use serde_json::{json, Map as JsonMap, Value};

use crate::introspect::{self, FullProgInfo, Kallsyms, Want};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    out: introspect::JsonArgs,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Every loaded program.
    #[command(alias = "show")]
    List {
        /// Only this program.
        id: Option<u32>,
    },
    /// Instructions of a program: `xlated` (after the verifier) or `jited` (machine code).
    Dump {
        #[command(subcommand)]
        what: DumpCmd,
    },
}

#[derive(clap::Subcommand)]
enum DumpCmd {
    /// The translated instructions, annotated.
    Xlated {
        id: u32,
        /// Also print each instruction's bytes.
        #[arg(long)]
        opcodes: bool,
        /// Also print file, line and column of each source line.
        #[arg(long)]
        linum: bool,
    },
    /// The JIT-compiled machine code of each function, as hex bytes.
    Jited { id: u32 },
}

pub fn run(args: Args) -> Result<()> {
    let json = args.out.wanted();
    match args.command {
        Cmd::List { id } => list(id, json, args.out.pretty),
        Cmd::Dump { what } => match what {
            DumpCmd::Xlated { id, opcodes, linum } => {
                dump_xlated(id, json, args.out.pretty, opcodes, linum)
            }
            DumpCmd::Jited { id } => dump_jited(id, json, args.out.pretty),
        },
    }
}

/// One program's description as bpftool's `prog show -j` shapes it.
pub fn prog_json(id: u32, fd: std::os::fd::BorrowedFd<'_>) -> Result<Value> {
    let full = introspect::prog_info_full(fd, Want::default())?;
    let i = &full.info;
    let fdinfo = introspect::fdinfo(fd);
    let mut m = JsonMap::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "type".into(),
        json!(introspect::prog_types().name(i.prog_type)),
    );
    let name = introspect::name(&i.name);
    if !name.is_empty() {
        m.insert("name".into(), json!(name));
    }
    m.insert("tag".into(), json!(introspect::hex(&i.tag)));
    m.insert("gpl_compatible".into(), json!(i.flags & 1 != 0));
    if i.run_time_ns != 0 || i.run_cnt != 0 {
        m.insert("run_time_ns".into(), json!(i.run_time_ns));
        m.insert("run_cnt".into(), json!(i.run_cnt));
    }
    if i.recursion_misses != 0 {
        m.insert("recursion_misses".into(), json!(i.recursion_misses));
    }
    if i.ifindex != 0 {
        m.insert("ifindex".into(), json!(i.ifindex));
    }
    m.insert(
        "loaded_at".into(),
        json!(introspect::loaded_at(i.load_time)),
    );
    m.insert("uid".into(), json!(i.created_by_uid));
    m.insert("bytes_xlated".into(), json!(i.xlated_prog_len));
    m.insert("jited".into(), json!(i.jited_prog_len != 0));
    if i.jited_prog_len != 0 {
        m.insert("bytes_jited".into(), json!(i.jited_prog_len));
    }
    if let Some(memlock) = introspect::fdinfo_u64(&fdinfo, "memlock") {
        m.insert("bytes_memlock".into(), json!(memlock));
    }
    if !full.map_ids.is_empty() {
        m.insert("map_ids".into(), json!(full.map_ids));
    }
    if i.btf_id != 0 {
        m.insert("btf_id".into(), json!(i.btf_id));
    }
    if i.verified_insns != 0 {
        m.insert("verified_insns".into(), json!(i.verified_insns));
    }
    if i.attach_btf_id != 0 {
        m.insert("attach_btf_obj_id".into(), json!(i.attach_btf_obj_id));
        m.insert("attach_btf_id".into(), json!(i.attach_btf_id));
    }
    Ok(Value::Object(m))
}

fn list(only: Option<u32>, json: bool, pretty: bool) -> Result<()> {
    let all = introspect::describe_each(ObjKind::Prog, only, prog_json)?;
    if json {
        return introspect::print_listing(all, only.is_some(), pretty);
    }
    let mut out = std::io::stdout().lock();
    for p in &all {
        out.write_all(prog_text(p).as_bytes())?;
    }
    Ok(())
}

/// bpftool's plain `prog show` layout of one program.
fn prog_text(p: &Value) -> String {
    let mut s = String::new();
    let _ = write!(s, "{}: {}  ", p["id"], p["type"].as_str().unwrap_or("?"));
    if let Some(name) = p["name"].as_str() {
        let _ = write!(s, "name {name}  ");
    }
    let _ = write!(s, "tag {}", p["tag"].as_str().unwrap_or(""));
    if p["gpl_compatible"].as_bool() == Some(true) {
        s.push_str("  gpl");
    }
    if let Some(rt) = p.get("run_time_ns") {
        let _ = write!(s, " run_time_ns {rt} run_cnt {}", p["run_cnt"]);
    }
    s.push('\n');
    let secs = p["loaded_at"].as_u64().unwrap_or(0);
    let _ = writeln!(
        s,
        "\tloaded_at {}  uid {}",
        introspect::iso_time(secs),
        p["uid"]
    );
    let _ = write!(s, "\txlated {}B  ", p["bytes_xlated"]);
    match p.get("bytes_jited") {
        Some(j) => {
            let _ = write!(s, "jited {j}B  ");
        }
        None => s.push_str("not jited  "),
    }
    if let Some(m) = p.get("bytes_memlock") {
        let _ = write!(s, "memlock {m}B");
    }
    if let Some(ids) = p["map_ids"].as_array() {
        let ids: Vec<String> = ids.iter().map(|v| v.to_string()).collect();
        let _ = write!(s, "  map_ids {}", ids.join(","));
    }
    s.push('\n');
    if let Some(b) = p.get("btf_id") {
        let _ = writeln!(s, "\tbtf_id {b}");
    }
    s
}

/// Decoded translated instructions: `(slot, raw 8 bytes of the first slot, instruction)`.
pub struct Xlated {
    pub insns: Vec<(usize, [u8; 8], Result<Insn, String>)>,
}

/// Decodes a translated program; undecodable slots are kept with the reason.
pub fn decode_xlated(bytes: &[u8]) -> Xlated {
    let mut insns = Vec::with_capacity(bytes.len() / 8);
    let mut pos = 0;
    while pos + 8 <= bytes.len() {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&bytes[pos..pos + 8]);
        match ebpf::decode(&bytes[pos..], Endian::Little) {
            Ok((insn, len)) => {
                insns.push((pos / 8, raw, Ok(insn)));
                pos += len.max(8);
            }
            Err(e) => {
                insns.push((pos / 8, raw, Err(e.to_string())));
                pos += 8;
            }
        }
    }
    Xlated { insns }
}

/// The verifier's text of one translated instruction, as bpftool prints it (without the
/// `(code)` prefix). Calls are named through kallsyms; `ksyms` are the program's function
/// addresses (`jited_ksyms`).
pub fn insn_text(insn: &Insn, ksyms: &[u64]) -> String {
    let kallsyms = Kallsyms::get();
    match insn {
        Insn::Call(Call::Helper(imm)) | Insn::Call(Call::Kfunc { btf_id: imm, .. }) => {
            let name = kallsyms
                .call_base
                .and_then(|base| kallsyms.at(base.wrapping_add(*imm as i64 as u64)))
                .map(str::to_string)
                .or_else(|| ebpf::helper_name(*imm).map(str::to_string))
                .unwrap_or_else(|| {
                    format!(
                        "0x{:x}",
                        kallsyms
                            .call_base
                            .unwrap_or(0)
                            .wrapping_add(*imm as i64 as u64)
                    )
                });
            format!("call {name}#{imm}")
        }
        Insn::Call(Call::LocalTranslated { off, subprog }) => {
            let addr = usize::try_from(*subprog)
                .ok()
                .and_then(|i| ksyms.get(i))
                .copied();
            match addr.and_then(|a| kallsyms.at(a).map(|s| (a, s))) {
                Some((_, sym)) => format!("call pc{off:+}#{sym}"),
                None => match addr {
                    Some(a) => format!("call pc{off:+}#0x{a:x}"),
                    None => format!("call pc{off:+}"),
                },
            }
        }
        Insn::Call(Call::Local(imm)) => format!("call pc{imm:+}"),
        other => other.to_string(),
    }
}

/// The kernel structure the verifier rewrites a program type's context accesses into.
pub fn kernel_ctx_struct(prog_type: &str) -> Option<&'static str> {
    Some(match prog_type {
        "socket_filter" | "sched_cls" | "sched_act" | "cgroup_skb" | "lwt_in" | "lwt_out"
        | "lwt_xmit" | "lwt_seg6local" | "sk_skb" => "sk_buff",
        "xdp" => "xdp_buff",
        "sock_ops" => "bpf_sock_ops_kern",
        "cgroup_sock" => "sock",
        "cgroup_sock_addr" => "bpf_sock_addr_kern",
        "sk_msg" => "sk_msg",
        "perf_event" => "bpf_perf_event_data_kern",
        "cgroup_sysctl" => "bpf_sysctl_kern",
        "cgroup_sockopt" => "bpf_sockopt_kern",
        "flow_dissector" => "bpf_flow_dissector",
        "sk_reuseport" => "sk_reuseport_kern",
        "sk_lookup" => "bpf_sk_lookup_kern",
        _ => return None,
    })
}

/// For each instruction, the set of registers (bit i: ri) certain to hold the context
/// pointer, by forward data flow from `r1` at instruction 0 (intersection at joins). Entries
/// are `None` for instructions not reached from the entry (other functions' bodies).
pub fn ctx_registers(x: &Xlated) -> Vec<Option<u16>> {
    let n = x.insns.len();
    let by_slot: HashMap<usize, usize> = x
        .insns
        .iter()
        .enumerate()
        .map(|(i, (slot, _, _))| (*slot, i))
        .collect();
    let mut state: Vec<Option<u16>> = vec![None; n];
    if n == 0 {
        return state;
    }
    state[0] = Some(1 << 1);
    let mut work = vec![0usize];
    let mut guard = 0usize;
    while let Some(i) = work.pop() {
        guard += 1;
        if guard > n * 64 + 1024 {
            break;
        }
        let Some(input) = state[i] else { continue };
        let (slot, _, insn) = &x.insns[i];
        let Ok(insn) = insn else { continue };
        let out = transfer(insn, input);
        let mut succ = Vec::with_capacity(2);
        let next_slot = slot + insn.slots();
        match insn {
            Insn::Exit => {}
            Insn::Ja { off } => succ.push(next_slot as i64 + i64::from(*off)),
            Insn::Gotol { off } => succ.push(next_slot as i64 + i64::from(*off)),
            Insn::Jmp { off, .. } | Insn::MayGoto { off } => {
                succ.push(next_slot as i64);
                succ.push(next_slot as i64 + i64::from(*off));
            }
            _ => succ.push(next_slot as i64),
        }
        for s in succ {
            let Some(&j) = usize::try_from(s).ok().and_then(|s| by_slot.get(&s)) else {
                continue;
            };
            let merged = match state[j] {
                None => out,
                Some(prev) => prev & out,
            };
            if state[j] != Some(merged) {
                state[j] = Some(merged);
                work.push(j);
            }
        }
    }
    state
}

fn transfer(insn: &Insn, mut set: u16) -> u16 {
    let bit = |r: Reg| 1u16 << r.index();
    match insn {
        Insn::Alu {
            width: ebpf::Width::W64,
            op: ebpf::AluOp::Mov,
            dst,
            src: Source::Reg(src),
        } => {
            if set & bit(*src) != 0 {
                set |= bit(*dst);
            } else {
                set &= !bit(*dst);
            }
        }
        Insn::Call(_) => set &= !0b11_1111,
        Insn::LdAbs { .. } | Insn::LdInd { .. } => set &= !0b11_1111,
        Insn::Atomic { src, .. } => set &= !(bit(*src) | 1),
        Insn::Store { .. } | Insn::Jmp { .. } | Insn::Ja { .. } | Insn::Gotol { .. } => {}
        Insn::MayGoto { .. } | Insn::Exit => {}
        other => {
            if let Some(d) = other.dst_reg() {
                set &= !bit(d);
            }
        }
    }
    set
}

/// The member path covering byte `off` (size `size`) of struct `root`: `len`, `sk->sk_mark`…
pub fn field_at(btf: &Btf<'_>, root: corebpf_btf::TypeId, off: u64, size: u64) -> Option<String> {
    let mut path = String::new();
    let mut id = btf.skip_mods_and_typedefs(root).ok()?;
    let mut off_bits = off * 8;
    for _ in 0..8 {
        let t = btf.type_by_id(id).ok()?;
        let members = match t.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members,
            _ => break,
        };
        let mut found = None;
        for m in members.iter() {
            let m_off = u64::from(m.bit_offset);
            let m_bits = if m.bitfield_size > 0 {
                u64::from(m.bitfield_size)
            } else {
                btf.size_of(m.ty).ok()? * 8
            };
            if off_bits >= m_off && off_bits < m_off + m_bits.max(1) {
                found = Some((m, m_off, m_bits));
                break;
            }
        }
        let (m, m_off, m_bits) = found?;
        let mt = btf.skip_mods_and_typedefs(m.ty).ok()?;
        if !m.name.is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(m.name);
        }
        let inner = btf.type_by_id(mt).ok()?;
        let is_record = matches!(inner.kind, TypeKind::Struct { .. } | TypeKind::Union { .. });
        // Stop at the member the access reads whole; descend when it reads a part of a record.
        if !is_record || (off_bits == m_off && size * 8 == m_bits && !m.name.is_empty()) {
            if m.bitfield_size > 0 {
                path.push_str(" (bitfield)");
            }
            return (!path.is_empty()).then_some(path);
        }
        off_bits -= m_off;
        id = mt;
    }
    (!path.is_empty()).then_some(path)
}

struct FuncInfoRec {
    insn_off: u32,
    type_id: u32,
}

struct LineInfoRec {
    insn_off: u32,
    file_off: u32,
    line_off: u32,
    line_col: u32,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn func_infos(full: &FullProgInfo) -> Vec<FuncInfoRec> {
    let rec = full.info.func_info_rec_size as usize;
    if rec < 8 {
        return Vec::new();
    }
    full.func_info
        .chunks_exact(rec)
        .filter_map(|c| {
            Some(FuncInfoRec {
                insn_off: u32_at(c, 0)?,
                type_id: u32_at(c, 4)?,
            })
        })
        .collect()
}

fn line_infos(full: &FullProgInfo) -> Vec<LineInfoRec> {
    let rec = full.info.line_info_rec_size as usize;
    if rec < 16 {
        return Vec::new();
    }
    full.line_info
        .chunks_exact(rec)
        .filter_map(|c| {
            Some(LineInfoRec {
                insn_off: u32_at(c, 0)?,
                file_off: u32_at(c, 4)?,
                line_off: u32_at(c, 8)?,
                line_col: u32_at(c, 12)?,
            })
        })
        .collect()
}

/// `int name(struct foo * ctx)` from a BTF FUNC.
fn func_proto(btf: &Btf<'_>, func_id: u32) -> Option<String> {
    let f = btf.type_by_id(func_id).ok()?;
    let TypeKind::Func { proto, .. } = f.kind else {
        return None;
    };
    let p = btf.type_by_id(proto).ok()?;
    let TypeKind::FuncProto { ret, params } = p.kind else {
        return None;
    };
    let mut s = format!("{} {}(", corebpf_obj::ctype::type_name(btf, ret), f.name);
    for (i, prm) in params.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if prm.ty == 0 {
            s.push_str("...");
            continue;
        }
        let _ = write!(s, "{}", corebpf_obj::ctype::type_name(btf, prm.ty));
        if !prm.name.is_empty() {
            let _ = write!(s, " {}", prm.name);
        }
    }
    s.push(')');
    Some(s)
}

/// One line of a translated-program listing.
pub struct XlatedLine {
    pub slot: usize,
    pub raw: [u8; 8],
    /// Raw bytes of the second slot of a 64-bit immediate load.
    pub raw2: Option<[u8; 8]>,
    pub text: String,
    pub proto: Option<String>,
    pub src: Option<String>,
    pub linum: Option<(String, u32, u32)>,
    pub annotation: Option<String>,
}

/// Builds the annotated listing of program `id`.
pub fn xlated_listing(id: u32) -> Result<Vec<XlatedLine>> {
    let fd = introspect::open(ObjKind::Prog, id)?;
    let full = introspect::prog_info_full(
        fd.as_fd(),
        Want {
            insns: true,
            jited: false,
            debug: true,
        },
    )?;
    if full.xlated.is_empty() {
        bail!(
            "program {id}: the kernel returned no translated instructions (needs CAP_SYS_ADMIN; \
             kernel.bpf_stats or lockdown may hide them)"
        );
    }
    let btf_bytes = if full.info.btf_id != 0 {
        introspect::btf_bytes(full.info.btf_id).ok()
    } else {
        None
    };
    let btf = btf_bytes.and_then(|b| introspect::parse_btf(b).ok());
    let x = decode_xlated(&full.xlated);
    let prog_type = introspect::prog_types().name(full.info.prog_type);
    let ctx_struct = kernel_ctx_struct(&prog_type).and_then(|name| {
        let v = introspect::vmlinux()?;
        Some((
            v,
            v.find_by_name_kind(name, corebpf_btf::Kind::Struct)?,
            name,
        ))
    });
    let ctx_regs = ctx_registers(&x);
    let map_names = map_names(&full.map_ids);
    let funcs: HashMap<u32, u32> = func_infos(&full)
        .iter()
        .map(|f| (f.insn_off, f.type_id))
        .collect();
    let mut lines_at: HashMap<u32, LineInfoRec> = HashMap::new();
    for l in line_infos(&full) {
        lines_at.entry(l.insn_off).or_insert(l);
    }
    let mut out = Vec::with_capacity(x.insns.len());
    for (i, (slot, raw, insn)) in x.insns.iter().enumerate() {
        let s32 = *slot as u32;
        let proto = btf
            .as_ref()
            .and_then(|b| funcs.get(&s32).and_then(|&t| func_proto(b, t)));
        let (src, linum) = match (btf.as_ref(), lines_at.get(&s32)) {
            (Some(b), Some(l)) => (
                b.str_at(l.line_off).ok().map(|s| s.trim().to_string()),
                b.str_at(l.file_off)
                    .ok()
                    .map(|f| (f.to_string(), l.line_col >> 10, l.line_col & 0x3ff)),
            ),
            _ => (None, None),
        };
        let (text, annotation, raw2) = match insn {
            Ok(insn) => {
                let text = insn_text(insn, &full.jited_ksyms);
                let mut ann = None;
                if let Insn::LdImm64 {
                    kind: LdImm64Kind::MapFd | LdImm64Kind::MapValue,
                    imm,
                    ..
                } = insn
                {
                    if let Some(name) = map_names.get(&(*imm as u32)) {
                        ann = Some(format!("map {name}"));
                    }
                }
                if let (
                    Insn::Load { src, off, size, .. },
                    Some((v, sid, sname)),
                    Some(Some(regs)),
                ) = (insn, ctx_struct, ctx_regs.get(i))
                {
                    if regs & (1 << src.index()) != 0 && *off >= 0 {
                        if let Some(f) = field_at(v, sid, *off as u64, u64::from(size.bytes())) {
                            ann = Some(format!("{sname}->{f}"));
                        }
                    }
                }
                let raw2 = (insn.slots() == 2).then(|| {
                    let mut r = [0u8; 8];
                    if let Some(b) = full.xlated.get((slot + 1) * 8..(slot + 2) * 8) {
                        r.copy_from_slice(b);
                    }
                    r
                });
                (text, ann, raw2)
            }
            Err(e) => (format!("<cannot decode: {e}>"), None, None),
        };
        out.push(XlatedLine {
            slot: *slot,
            raw: *raw,
            raw2,
            text,
            proto,
            src,
            linum,
            annotation,
        });
    }
    Ok(out)
}

fn map_names(ids: &[u32]) -> HashMap<u32, String> {
    ids.iter()
        .filter_map(|&id| {
            let fd = corebpf_sys::bpf::fd_by_id(ObjKind::Map, id).ok()?;
            let info = corebpf_sys::bpf::map_info(fd.as_fd()).ok()?;
            Some((id, introspect::name(&info.name)))
        })
        .collect()
}

fn hex_list(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|x| json!(format!("0x{x:02x}"))).collect())
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn dump_xlated(id: u32, json: bool, pretty: bool, opcodes: bool, linum: bool) -> Result<()> {
    let lines = xlated_listing(id)?;
    if json {
        let mut arr = Vec::with_capacity(lines.len());
        for l in &lines {
            let mut m = JsonMap::new();
            if let Some(p) = &l.proto {
                m.insert("proto".into(), json!(p));
            }
            if let Some(s) = &l.src {
                m.insert("src".into(), json!(s));
            }
            if let Some((file, line, col)) = &l.linum {
                m.insert(
                    "linum".into(),
                    json!({"file": file, "line_num": line, "line_col": col}),
                );
            }
            m.insert("pc".into(), json!(l.slot));
            m.insert(
                "disasm".into(),
                json!(format!("({:02x}) {}", l.raw[0], l.text)),
            );
            if let Some(a) = &l.annotation {
                m.insert("annotation".into(), json!(a));
            }
            // bpftool's shape: `off` and `imm` as their bytes; a 64-bit immediate load's
            // `imm` runs on through the second slot (12 bytes).
            let r = &l.raw;
            let mut imm_bytes: Vec<u8> = r[4..8].to_vec();
            if let Some(r2) = &l.raw2 {
                imm_bytes.extend_from_slice(r2);
            }
            m.insert(
                "opcodes".into(),
                json!({
                    "code": format!("0x{:02x}", r[0]),
                    "src_reg": format!("0x{:x}", r[1] >> 4),
                    "dst_reg": format!("0x{:x}", r[1] & 0xf),
                    "off": hex_list(&r[2..4]),
                    "imm": hex_list(&imm_bytes),
                }),
            );
            arr.push(Value::Object(m));
        }
        return introspect::print_json(&Value::Array(arr), pretty);
    }
    let mut out = String::with_capacity(lines.len() * 48);
    for l in &lines {
        if let Some(p) = &l.proto {
            if l.slot != 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{p}:");
        }
        if let Some(s) = &l.src {
            let _ = write!(out, "; {s}");
            if let (true, Some((file, line, col))) = (linum, &l.linum) {
                let _ = write!(out, " [file:{file} line_num:{line} line_col:{col}]");
            }
            out.push('\n');
        }
        let _ = write!(out, "{:4}: ({:02x}) {}", l.slot, l.raw[0], l.text);
        if let Some(a) = &l.annotation {
            let _ = write!(out, "  /* {a} */");
        }
        out.push('\n');
        if opcodes {
            let _ = writeln!(out, "       {}", hex_bytes(&l.raw));
            if let Some(r2) = &l.raw2 {
                let _ = writeln!(out, "       {}", hex_bytes(r2));
            }
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

fn dump_jited(id: u32, json: bool, pretty: bool) -> Result<()> {
    let fd = introspect::open(ObjKind::Prog, id)?;
    let full = introspect::prog_info_full(
        fd.as_fd(),
        Want {
            insns: false,
            jited: true,
            debug: true,
        },
    )?;
    if full.info.jited_prog_len == 0 {
        bail!("program {id} is not JIT-compiled (interpreted): there is no machine code to dump");
    }
    if full.jited.is_empty() {
        bail!("program {id}: the kernel returned no JIT-compiled bytes (needs CAP_SYS_ADMIN)");
    }
    let kallsyms = Kallsyms::get();
    // One function per jited_ksyms entry; without them the whole image is one function.
    let lens: Vec<usize> = if full.jited_func_lens.is_empty() {
        vec![full.jited.len()]
    } else {
        full.jited_func_lens.iter().map(|&l| l as usize).collect()
    };
    // Source lines at machine-code addresses: line_info[i] starts at jited_line_info[i].
    let btf = if full.info.btf_id != 0 {
        introspect::btf_bytes(full.info.btf_id)
            .ok()
            .and_then(|b| introspect::parse_btf(b).ok())
    } else {
        None
    };
    let mut lines: Vec<(u64, String)> = Vec::new();
    if let Some(b) = &btf {
        for (l, &addr) in line_infos(&full).iter().zip(&full.jited_line_info) {
            if let Ok(text) = b.str_at(l.line_off) {
                lines.push((addr, text.trim().to_string()));
            }
        }
    }
    lines.sort_by_key(|(a, _)| *a);
    let mut funcs = Vec::with_capacity(lens.len());
    let mut start = 0usize;
    for (i, len) in lens.iter().enumerate() {
        let end = (start + len).min(full.jited.len());
        let addr = full.jited_ksyms.get(i).copied();
        let name = addr
            .and_then(|a| kallsyms.at(a))
            .map(str::to_string)
            .unwrap_or_else(|| format!("func{i}"));
        // (offset in the function, source line), for lines inside it.
        let flines: Vec<(usize, &str)> = match addr {
            Some(a) => lines
                .iter()
                .filter(|(la, _)| *la >= a && *la < a + (end - start) as u64)
                .map(|(la, t)| ((la - a) as usize, t.as_str()))
                .collect(),
            None => Vec::new(),
        };
        funcs.push((name, addr, &full.jited[start..end], flines));
        start = end;
    }
    if json {
        let arr: Vec<Value> = funcs
            .iter()
            .map(|(name, addr, bytes, flines)| {
                let l: Vec<Value> = flines
                    .iter()
                    .map(|(off, src)| json!({"offset": off, "src": src}))
                    .collect();
                json!({
                    "name": name,
                    "address": addr.map(|a| format!("0x{a:x}")),
                    "bytes": bytes.len(),
                    "hex": introspect::hex(bytes),
                    "lines": l,
                })
            })
            .collect();
        return introspect::print_json(&Value::Array(arr), pretty);
    }
    let mut out = String::new();
    out.push_str("; machine code as hex bytes (corebpf has no x86 disassembler)\n");
    for (name, addr, bytes, flines) in &funcs {
        let _ = write!(out, "{name}");
        if let Some(a) = addr {
            let _ = write!(out, " @ 0x{a:x}");
        }
        let _ = writeln!(out, " ({} bytes):", bytes.len());
        // Rows of up to 16 bytes, broken where a source line starts.
        let mut pos = 0usize;
        let mut next_line = 0usize;
        while pos < bytes.len() {
            while let Some((off, src)) = flines.get(next_line) {
                if *off > pos {
                    break;
                }
                let _ = writeln!(out, "; {src}");
                next_line += 1;
            }
            let limit = flines
                .get(next_line)
                .map_or(bytes.len(), |(off, _)| *off)
                .min(pos + 16)
                .min(bytes.len());
            let _ = writeln!(out, "  {pos:4x}: {}", hex_bytes(&bytes[pos..limit]));
            pos = limit;
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use corebpf_btf::{BtfBuilder, IntEncoding, Member};

    fn program(lines: &[&str]) -> Xlated {
        let insns: Vec<Insn> = lines
            .iter()
            .map(|l| ebpf::parse_insn(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        decode_xlated(&ebpf::encode_all(&insns, Endian::Little))
    }

    #[test]
    fn context_register_follows_copies_and_dies_on_writes_joins_and_calls() {
        let x = program(&[
            "r6 = r1",
            "r2 = *(u32 *)(r6 +0)",
            "if r2 == 0x0 goto pc+1",
            "r6 = 0",
            "r3 = *(u32 *)(r6 +4)",
            "call bpf_ktime_get_ns#5",
            "exit",
        ]);
        let s = ctx_registers(&x);
        assert_eq!(s[0], Some(1 << 1));
        assert_eq!(s[1], Some((1 << 1) | (1 << 6)));
        // Joined from the jump (r6 is the context) and the fall-through (r6 = 0).
        assert_eq!(s[4], Some(1 << 1));
        // The call clobbers r0-r5.
        assert_eq!(s[6], Some(0));
    }

    #[test]
    fn unreachable_code_has_no_context() {
        let x = program(&["goto pc+1", "r0 = *(u32 *)(r1 +0)", "exit"]);
        assert_eq!(ctx_registers(&x), vec![Some(2), None, Some(2)]);
    }

    #[test]
    fn field_at_descends_into_records_and_anonymous_unions() {
        let mut b = BtfBuilder::new();
        let u32t = b.add_int("u32", 4, IntEncoding(0), 0, 32).unwrap();
        let u16t = b.add_int("u16", 2, IntEncoding(0), 0, 16).unwrap();
        let m = |name, ty, bit_offset| Member {
            name,
            ty,
            bit_offset,
            bitfield_size: 0,
        };
        let inner = b
            .add_struct(false, "inner", 8, &[m("a", u32t, 0), m("b", u32t, 32)])
            .unwrap();
        let anon = b
            .add_struct(true, "", 4, &[m("u1", u32t, 0), m("u2", u16t, 0)])
            .unwrap();
        let flags = Member {
            name: "flags",
            ty: u32t,
            bit_offset: 96,
            bitfield_size: 3,
        };
        let outer = b
            .add_struct(
                false,
                "outer",
                16,
                &[m("in", inner, 0), m("", anon, 64), flags],
            )
            .unwrap();
        let data = b.finish().unwrap();
        let btf = Btf::parse(&data).unwrap();
        assert_eq!(field_at(&btf, outer, 4, 4).as_deref(), Some("in.b"));
        assert_eq!(field_at(&btf, outer, 0, 8).as_deref(), Some("in"));
        assert_eq!(field_at(&btf, outer, 8, 4).as_deref(), Some("u1"));
        assert_eq!(
            field_at(&btf, outer, 12, 1).as_deref(),
            Some("flags (bitfield)")
        );
        assert_eq!(field_at(&btf, outer, 40, 4), None);
    }

    #[test]
    fn xdp_and_skb_programs_map_to_kernel_structs() {
        assert_eq!(kernel_ctx_struct("socket_filter"), Some("sk_buff"));
        assert_eq!(kernel_ctx_struct("xdp"), Some("xdp_buff"));
        assert_eq!(kernel_ctx_struct("tracepoint"), None);
    }
}
