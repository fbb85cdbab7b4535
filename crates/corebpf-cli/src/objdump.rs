//! `corebpf objdump`: disassemble a BPF ELF object with everything the object knows about
//! itself — maps, global variables, externs, program types, relocations resolved to names,
//! CO-RE access paths and the C source lines from BTF.ext.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use corebpf_btf::{Btf, CoreReloKind, TypeKind};
use corebpf_insn::ebpf::{self, Decoder, Insn};
use corebpf_obj::core::{describe_access, describe_c};
use corebpf_obj::ctype::type_name;
use corebpf_obj::{
    Endian, ExternKind, Function, MapDef, Object, ProgramSection, RelocKind, INSN_SIZE,
};
use serde::Serialize;

/// Disassemble BPF ELF objects.
#[derive(clap::Args)]
pub struct Args {
    /// The object files (`clang -target bpf -c` output).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON document (an array of them for several files).
    #[arg(long)]
    pub json: bool,
    /// Disassemble only this section (`xdp`, `.text`, `tracepoint/syscalls/sys_enter_execve`).
    #[arg(long, value_name = "NAME")]
    pub section: Option<String>,
    /// Leave out the C source lines recorded in BTF.ext.
    #[arg(long)]
    pub no_source: bool,
    /// Show each instruction's raw bytes.
    #[arg(long)]
    pub raw: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut docs = Vec::new();
    for (i, path) in args.files.iter().enumerate() {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let obj = Object::parse(&data).with_context(|| format!("{}", path.display()))?;
        let dump = build(&obj, &path.display().to_string(), &args)
            .with_context(|| format!("{}", path.display()))?;
        if args.json {
            docs.push(dump);
        } else {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            write_text(&mut out, &dump, &args)?;
        }
    }
    if args.json {
        if docs.len() == 1 {
            serde_json::to_writer_pretty(&mut out, &docs[0])?;
        } else {
            serde_json::to_writer_pretty(&mut out, &docs)?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The dump model: what both the text and the JSON output show.

#[derive(Serialize)]
pub struct Dump {
    pub file: String,
    pub endian: &'static str,
    pub license: Option<String>,
    pub kernel_version: Option<u32>,
    pub btf: bool,
    pub btf_types: u32,
    pub btf_ext: bool,
    pub maps: Vec<MapOut>,
    pub data: Vec<DataOut>,
    pub externs: Vec<ExternOut>,
    pub sections: Vec<SectionOut>,
}

#[derive(Serialize)]
pub struct MapOut {
    pub name: String,
    #[serde(rename = "type")]
    pub map_type: String,
    pub key_size: u32,
    pub value_size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    pub max_entries: u32,
    pub flags: u32,
    pub pinning: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numa_node: Option<u32>,
    #[serde(skip_serializing_if = "is_zero")]
    pub map_extra: u64,
    pub legacy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner: Option<Box<MapOut>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub initial_slots: Vec<SlotOut>,
}

#[derive(Serialize)]
pub struct SlotOut {
    pub index: u32,
    pub target: String,
}

#[derive(Serialize)]
pub struct DataOut {
    pub section: String,
    pub kind: &'static str,
    pub size: u64,
    pub variables: Vec<VarOut>,
}

#[derive(Serialize)]
pub struct VarOut {
    pub name: String,
    pub offset: u64,
    pub size: u64,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    pub global: bool,
    /// The initial value (not for `.bss`): a number for integers, a string for printable
    /// char arrays, else hex bytes (the first 16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
}

#[derive(Serialize)]
pub struct ExternOut {
    pub name: String,
    pub kind: &'static str,
    pub weak: bool,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
}

#[derive(Serialize)]
pub struct SectionOut {
    pub name: String,
    /// Instructions (a 64-bit immediate load counts once).
    pub insn_count: usize,
    /// 8-byte instruction slots (what the kernel counts).
    pub slots: usize,
    pub functions: Vec<FunctionOut>,
}

#[derive(Serialize)]
pub struct FunctionOut {
    pub name: String,
    /// First instruction slot in the section.
    pub start: usize,
    pub insn_count: usize,
    pub slots: usize,
    pub global: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<ProgramOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prototype: Option<String>,
    pub insns: Vec<InsnOut>,
}

#[derive(Serialize)]
pub struct ProgramOut {
    pub prog_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_attach_type: Option<String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub attach_target: String,
    pub sleepable: bool,
}

#[derive(Serialize)]
pub struct InsnOut {
    /// Slot index in the section.
    pub index: usize,
    /// Hex bytes as stored (16 bytes for a 64-bit immediate load).
    pub bytes: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reloc: Option<RelocOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub core: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceOut>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RelocOut {
    Map {
        name: String,
    },
    Data {
        section: String,
        offset: i64,
        variable: Option<String>,
    },
    Call {
        target: String,
        section: String,
        insn: usize,
    },
    FuncAddr {
        target: String,
        section: String,
        insn: usize,
    },
    Extern {
        name: String,
        extern_kind: &'static str,
    },
}

#[derive(Serialize, Clone)]
pub struct SourceOut {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub text: String,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

// ---------------------------------------------------------------------------------------------
// Building the model.

fn extern_kind_name(k: ExternKind) -> &'static str {
    match k {
        ExternKind::Kconfig => "kconfig",
        ExternKind::Ksym { typed: true } => "ksym",
        ExternKind::Ksym { typed: false } => "ksym (typeless)",
        ExternKind::Kfunc => "kfunc",
        ExternKind::Unknown => "unknown",
    }
}

fn map_out(m: &MapDef<'_>, btf: Option<&Btf<'_>>) -> MapOut {
    let tname = |id: Option<u32>| id.and_then(|id| btf.map(|b| type_name(b, id)));
    MapOut {
        name: m.name.to_string(),
        map_type: m.map_type().map_or_else(
            || format!("type#{}", m.map_type_raw),
            |t| t.name().to_string(),
        ),
        key_size: m.key_size,
        value_size: m.value_size,
        key_type: tname(m.key_type),
        value_type: tname(m.value_type),
        max_entries: m.max_entries,
        flags: m.map_flags,
        pinning: m
            .pinning_type()
            .map_or_else(|| format!("#{}", m.pinning), |p| p.name().to_string()),
        numa_node: m.numa_node,
        map_extra: m.map_extra,
        legacy: m.legacy,
        inner: m.inner.as_deref().map(|i| Box::new(map_out(i, btf))),
        initial_slots: m
            .initial_slots
            .iter()
            .map(|s| SlotOut {
                index: s.index,
                target: s.target.to_string(),
            })
            .collect(),
    }
}

/// Per-section annotations from BTF.ext, by instruction slot.
#[derive(Default)]
struct SectionExt {
    lines: BTreeMap<usize, SourceOut>,
    core: HashMap<usize, Vec<String>>,
    funcs: HashMap<usize, u32>,
}

fn build(obj: &Object<'_>, file: &str, args: &Args) -> anyhow::Result<Dump> {
    let btf = obj.btf.as_ref();
    let ext = obj.btf_ext()?;
    let mut per_section: HashMap<&str, SectionExt> = HashMap::new();
    if let (Some(ext), Some(btf)) = (&ext, btf) {
        if !args.no_source {
            for (sec, lines) in ext.line_info() {
                let e = per_section.entry(sec).or_default();
                for l in lines {
                    e.lines.insert(
                        l.insn_off as usize / INSN_SIZE,
                        SourceOut {
                            file: l.file_name.to_string(),
                            line: l.line_num,
                            col: l.col,
                            text: l.line.trim().to_string(),
                        },
                    );
                }
            }
        }
        for (sec, relos) in ext.core_relos() {
            let e = per_section.entry(sec).or_default();
            for r in relos {
                let at = || format!("CO-RE relocation in {sec} at byte {}", r.insn_off);
                let what =
                    describe_access(btf, r.type_id, r.access_str, r.kind).with_context(at)?;
                let c = describe_c(btf, r.type_id, r.access_str, r.kind).with_context(at)?;
                e.core
                    .entry(r.insn_off as usize / INSN_SIZE)
                    .or_default()
                    .push(format!(
                        "CO-RE <{}> [{}] {what}: {c}",
                        core_kind(r.kind),
                        r.type_id
                    ));
            }
        }
        for (sec, funcs) in ext.func_info() {
            let e = per_section.entry(sec).or_default();
            for f in funcs {
                e.funcs.insert(f.insn_off as usize / INSN_SIZE, f.type_id);
            }
        }
    }

    let maps = obj.maps.iter().map(|m| map_out(m, btf)).collect();
    let data = obj
        .data
        .iter()
        .map(|d| DataOut {
            section: d.name.to_string(),
            kind: d.kind.name(),
            size: d.size,
            variables: d
                .variables
                .iter()
                .map(|v| VarOut {
                    name: v.name.to_string(),
                    offset: v.offset,
                    size: v.size,
                    ty: v.type_id.and_then(|t| btf.map(|b| type_name(b, t))),
                    global: v.global,
                    init: initial_value(d.data, v, btf, obj.endian),
                })
                .collect(),
        })
        .collect();
    let externs = obj
        .externs
        .iter()
        .map(|e| ExternOut {
            name: e.name.to_string(),
            kind: extern_kind_name(e.kind),
            weak: e.weak,
            ty: e.type_id.and_then(|t| btf.map(|b| type_name(b, t))),
        })
        .collect();

    let empty = SectionExt::default();
    let mut sections = Vec::new();
    for ps in &obj.program_sections {
        if args.section.as_deref().is_some_and(|s| s != ps.name) {
            continue;
        }
        let sext = per_section.get(ps.name).unwrap_or(&empty);
        sections.push(section_out(obj, ps, sext, btf)?);
    }
    if let Some(name) = &args.section {
        if sections.is_empty() {
            let known: Vec<&str> = obj.program_sections.iter().map(|p| p.name).collect();
            anyhow::bail!(
                "no code section {name:?}; the object has: {}",
                known.join(", ")
            );
        }
    }

    Ok(Dump {
        file: file.to_string(),
        endian: match obj.endian {
            Endian::Little => "little",
            Endian::Big => "big",
        },
        license: obj.license.map(str::to_string),
        kernel_version: obj.kernel_version,
        btf: btf.is_some(),
        btf_types: btf.map_or(0, |b| b.len().saturating_sub(1)),
        btf_ext: ext.is_some(),
        maps,
        data,
        externs,
        sections,
    })
}

/// The initial value of a global variable, rendered for a listing.
fn initial_value(
    data: &[u8],
    v: &corebpf_obj::Variable<'_>,
    btf: Option<&Btf<'_>>,
    endian: Endian,
) -> Option<String> {
    let start = usize::try_from(v.offset).ok()?;
    let bytes = data.get(start..start.checked_add(usize::try_from(v.size).ok()?)?)?;
    if bytes.is_empty() {
        return None;
    }
    let resolved = btf.zip(v.type_id).and_then(|(b, t)| {
        let id = b.skip_mods_and_typedefs(t).ok()?;
        b.type_by_id(id).ok().map(|ty| (b, ty))
    });
    match resolved.map(|(b, t)| (b, t.kind)) {
        Some((_, TypeKind::Int { encoding, .. })) if bytes.len() <= 8 => {
            let mut raw = [0u8; 8];
            let n = bytes.len();
            match endian {
                Endian::Little => raw[..n].copy_from_slice(bytes),
                Endian::Big => raw[8 - n..].copy_from_slice(bytes),
            }
            let u = match endian {
                Endian::Little => u64::from_le_bytes(raw),
                Endian::Big => u64::from_be_bytes(raw),
            };
            if encoding.is_signed() {
                let shift = 64 - 8 * n as u32;
                Some((((u << shift) as i64) >> shift).to_string())
            } else if encoding.is_bool() {
                Some((u != 0).to_string())
            } else {
                Some(u.to_string())
            }
        }
        Some((b, TypeKind::Array { elem, .. })) => {
            let is_char = b
                .skip_mods_and_typedefs(elem)
                .and_then(|e| b.type_by_id(e))
                .is_ok_and(|e| matches!(e.kind, TypeKind::Int { size: 1, .. }));
            let text_end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
            let text = bytes.get(..text_end).unwrap_or_default();
            if is_char && text.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
                Some(format!("{:?}", String::from_utf8_lossy(text)))
            } else {
                Some(hex_prefix(bytes))
            }
        }
        _ => Some(hex_prefix(bytes)),
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    let shown = bytes.get(..16).unwrap_or(bytes);
    let mut s = hex_bytes(shown);
    if bytes.len() > 16 {
        s.push_str(" ...");
    }
    s
}

fn core_kind(k: CoreReloKind) -> &'static str {
    k.name()
}

fn section_out(
    obj: &Object<'_>,
    ps: &ProgramSection<'_>,
    sext: &SectionExt,
    btf: Option<&Btf<'_>>,
) -> anyhow::Result<SectionOut> {
    // Functions covering the section; code outside any FUNC symbol gets a function named
    // after its section so no instruction goes unshown.
    let mut funcs: Vec<Function<'_>> = ps.functions.clone();
    if funcs.is_empty() {
        funcs.push(Function {
            name: ps.name,
            offset: 0,
            size: ps.insns.len() as u64,
            global: false,
            symbol: 0,
        });
    }
    let endian = match obj.endian {
        Endian::Little => ebpf::Endian::Little,
        Endian::Big => ebpf::Endian::Big,
    };
    let mut functions = Vec::with_capacity(funcs.len());
    for f in &funcs {
        let range = f.insns();
        let bytes = ps
            .insns
            .get(range.start * INSN_SIZE..range.end * INSN_SIZE)
            .unwrap_or_default();
        let decoded: Vec<(usize, Result<Insn, ebpf::DecodeError>)> = Decoder::new(bytes, endian)
            .map(|(slot, r)| (slot + range.start, r))
            .collect();

        // Jump targets inside this function get labels L0, L1, ... in address order.
        let targets: BTreeSet<usize> = decoded
            .iter()
            .filter_map(|(pc, r)| r.as_ref().ok().and_then(|i| i.jump_target(*pc)))
            .filter_map(|t| usize::try_from(t).ok())
            .collect();
        let labels: HashMap<usize, String> = targets
            .iter()
            .enumerate()
            .map(|(n, &t)| (t, format!("L{n}")))
            .collect();

        let mut insns = Vec::with_capacity(decoded.len());
        for (pc, r) in decoded {
            let width = r.as_ref().map_or(1, |i| i.slots());
            let raw = ps
                .insns
                .get(pc * INSN_SIZE..(pc + width) * INSN_SIZE)
                .unwrap_or_default();
            let mut out = InsnOut {
                index: pc,
                bytes: hex_bytes(raw),
                text: String::new(),
                label: labels.get(&pc).cloned(),
                reloc: None,
                core: sext.core.get(&pc).cloned().unwrap_or_default(),
                source: sext.lines.get(&pc).cloned(),
            };
            match r {
                Ok(insn) => {
                    out.text = insn_text(obj, ps, pc, &insn, &labels, &mut out.reloc);
                }
                Err(e) => {
                    out.text = format!("<invalid: {}>", e.kind);
                }
            }
            insns.push(out);
        }
        let program = if ps.is_text() || !f.global {
            None
        } else {
            ps.kind
        };
        functions.push(FunctionOut {
            name: f.name.to_string(),
            start: range.start,
            insn_count: insns.len(),
            slots: range.len(),
            global: f.global,
            program: program.map(|k| ProgramOut {
                prog_type: k.prog_type.name().to_string(),
                expected_attach_type: k.expected_attach_type.map(|a| a.name().to_string()),
                attach_target: k.attach_target.to_string(),
                sleepable: k.sleepable,
            }),
            prototype: sext
                .funcs
                .get(&range.start)
                .and_then(|&id| btf.map(|b| type_name(b, id))),
            insns,
        });
    }
    Ok(SectionOut {
        name: ps.name.to_string(),
        insn_count: functions.iter().map(|f| f.insn_count).sum(),
        slots: ps.insn_count(),
        functions,
    })
}

fn hex_bytes(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 3);
    for (i, &x) in b.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push(HEX[usize::from(x >> 4)] as char);
        s.push(HEX[usize::from(x & 0xf)] as char);
    }
    s
}

/// The name of the function starting at slot `insn` of ELF section `section`.
fn func_name(obj: &Object<'_>, section: usize, insn: usize) -> String {
    match obj.program_section(section) {
        Some(ps) => match ps.function_starting_at(insn) {
            Some(f) => f.name.to_string(),
            None => match ps.function_at(insn) {
                Some(f) => format!("{}+{}", f.name, insn - f.insns().start),
                None => format!("{}+{insn}", ps.name),
            },
        },
        None => format!("section{section}+{insn}"),
    }
}

/// The instruction's text: the verifier syntax, with relocations and targets resolved.
fn insn_text(
    obj: &Object<'_>,
    ps: &ProgramSection<'_>,
    pc: usize,
    insn: &Insn,
    labels: &HashMap<usize, String>,
    reloc_out: &mut Option<RelocOut>,
) -> String {
    let mut text = String::with_capacity(48);
    let dst = match insn {
        Insn::LdImm64 { dst, .. } => Some(*dst),
        _ => None,
    };
    if let Some(reloc) = ps.reloc_at(pc) {
        match reloc.kind {
            RelocKind::Map { map } => {
                let name = obj.maps.get(map).map_or("?", |m| m.name);
                if let Some(d) = dst {
                    let _ = write!(text, "{d} = map[{name}]");
                }
                *reloc_out = Some(RelocOut::Map {
                    name: name.to_string(),
                });
            }
            RelocKind::Data { data, offset } => {
                let ds = obj.data.get(data);
                let sec = ds.map_or("?", |d| d.name);
                let var =
                    ds.and_then(|d| u64::try_from(offset).ok().and_then(|o| d.variable_at(o)));
                if let Some(d) = dst {
                    match var {
                        Some(v) if v.offset as i64 == offset => {
                            let _ = write!(text, "{d} = &{} ({sec}+{offset})", v.name);
                        }
                        Some(v) => {
                            let _ = write!(
                                text,
                                "{d} = &{}+{} ({sec}+{offset})",
                                v.name,
                                offset - v.offset as i64
                            );
                        }
                        None => {
                            let _ = write!(text, "{d} = {sec}+{offset}");
                        }
                    }
                }
                *reloc_out = Some(RelocOut::Data {
                    section: sec.to_string(),
                    offset,
                    variable: var.map(|v| v.name.to_string()),
                });
            }
            RelocKind::Call {
                section,
                insn: target,
            } => {
                let name = func_name(obj, section, target);
                let _ = write!(text, "call pc{:+} <{name}>", insn.imm());
                *reloc_out = Some(RelocOut::Call {
                    target: name,
                    section: obj.section_name(section).to_string(),
                    insn: target,
                });
            }
            RelocKind::FuncAddr {
                section,
                insn: target,
            } => {
                let name = func_name(obj, section, target);
                if let Some(d) = dst {
                    let _ = write!(
                        text,
                        "{d} = &{name} ({}+{target})",
                        obj.section_name(section)
                    );
                }
                *reloc_out = Some(RelocOut::FuncAddr {
                    target: name,
                    section: obj.section_name(section).to_string(),
                    insn: target,
                });
            }
            RelocKind::Extern { ext, call } => {
                let (name, kind) = obj
                    .externs
                    .get(ext)
                    .map_or(("?", "unknown"), |e| (e.name, extern_kind_name(e.kind)));
                if call {
                    let _ = write!(text, "call {name} /* {kind} */");
                } else if let Some(d) = dst {
                    let _ = write!(text, "{d} = &{name} /* {kind} */");
                }
                *reloc_out = Some(RelocOut::Extern {
                    name: name.to_string(),
                    extern_kind: kind,
                });
            }
        }
        if !text.is_empty() {
            return text;
        }
    }
    let _ = write!(text, "{insn}");
    if let Some(t) = insn.jump_target(pc) {
        match usize::try_from(t).ok().and_then(|t| labels.get(&t)) {
            Some(l) => {
                let _ = write!(text, " <{l}>");
            }
            None => {
                let _ = write!(text, " <{}>", func_name(obj, ps.section, t.max(0) as usize));
            }
        }
    } else if let Some(t) = insn.call_target(pc) {
        let _ = write!(text, " <{}>", func_name(obj, ps.section, t.max(0) as usize));
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Text output.

fn write_text(out: &mut impl Write, d: &Dump, args: &Args) -> io::Result<()> {
    writeln!(
        out,
        "{}:\tfile format elf64-bpf ({}-endian)",
        d.file, d.endian
    )?;
    writeln!(out, "license: {}", d.license.as_deref().unwrap_or("-"))?;
    if let Some(v) = d.kernel_version {
        writeln!(out, "version: {v:#x}")?;
    }
    writeln!(
        out,
        "BTF: {}  BTF.ext: {}",
        if d.btf {
            format!("yes ({} types)", d.btf_types)
        } else {
            "no".into()
        },
        if d.btf_ext { "yes" } else { "no" }
    )?;

    if !d.maps.is_empty() {
        writeln!(out, "\nmaps:")?;
        for m in &d.maps {
            write_map(out, m, "  ")?;
        }
    }
    if !d.data.is_empty() {
        writeln!(out, "\nglobal data:")?;
        for s in &d.data {
            writeln!(out, "  {} ({}, {} bytes)", s.section, s.kind, s.size)?;
            for v in &s.variables {
                let line = format!(
                    "    {:+#6x} {:>4}  {:<24} {:<32}{}{}",
                    v.offset,
                    v.size,
                    v.name,
                    v.ty.as_deref().unwrap_or("?"),
                    v.init
                        .as_deref()
                        .map(|i| format!(" = {i}"))
                        .unwrap_or_default(),
                    if v.global { "" } else { "  (static)" }
                );
                writeln!(out, "{}", line.trim_end())?;
            }
        }
    }
    if !d.externs.is_empty() {
        writeln!(out, "\nexterns:")?;
        for e in &d.externs {
            writeln!(
                out,
                "  {:<32} {:<16} {}{}",
                e.name,
                e.kind,
                e.ty.as_deref().unwrap_or("?"),
                if e.weak { "  (weak)" } else { "" }
            )?;
        }
    }

    let programs: Vec<(&SectionOut, &FunctionOut, &ProgramOut)> = d
        .sections
        .iter()
        .flat_map(|s| {
            s.functions
                .iter()
                .filter_map(move |f| f.program.as_ref().map(|p| (s, f, p)))
        })
        .collect();
    if !programs.is_empty() {
        writeln!(out, "\nprograms:")?;
        for (s, f, p) in programs {
            writeln!(
                out,
                "  {:<32} {:<40} {:<18} {:<32} {:>5} insns",
                f.name,
                s.name,
                p.prog_type,
                p.expected_attach_type.as_deref().unwrap_or("-"),
                f.insn_count
            )?;
        }
    }

    for s in &d.sections {
        writeln!(
            out,
            "\nDisassembly of section {} ({} insns, {} slots):",
            s.name, s.insn_count, s.slots
        )?;
        for f in &s.functions {
            writeln!(out)?;
            match &f.program {
                Some(p) => {
                    write!(out, "{}: program {}", f.name, p.prog_type)?;
                    if let Some(a) = &p.expected_attach_type {
                        write!(out, ", attach {a}")?;
                    }
                    if !p.attach_target.is_empty() {
                        write!(out, ", target {}", p.attach_target)?;
                    }
                    if p.sleepable {
                        write!(out, ", sleepable")?;
                    }
                    writeln!(out, ", {} insns ({} slots)", f.insn_count, f.slots)?;
                }
                None => writeln!(
                    out,
                    "{}: {} subprogram, {} insns ({} slots)",
                    f.name,
                    if f.global { "global" } else { "static" },
                    f.insn_count,
                    f.slots
                )?,
            }
            if let Some(p) = &f.prototype {
                writeln!(out, "  /* {p} */")?;
            }
            let mut last_line: Option<(&str, u32)> = None;
            for i in &f.insns {
                if let Some(src) = &i.source {
                    if last_line != Some((src.file.as_str(), src.line)) && !args.no_source {
                        let base = src.file.rsplit('/').next().unwrap_or(&src.file);
                        writeln!(out, "; {}  [{}:{}]", src.text, base, src.line)?;
                        last_line = Some((src.file.as_str(), src.line));
                    }
                }
                if let Some(l) = &i.label {
                    writeln!(out, "{l}:")?;
                }
                if args.raw {
                    write!(out, "{:>6}:\t{:<23}\t{}", i.index, i.bytes, i.text)?;
                } else {
                    write!(out, "{:>6}:\t{}", i.index, i.text)?;
                }
                for c in &i.core {
                    write!(out, "\t/* {c} */")?;
                }
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

fn write_map(out: &mut impl Write, m: &MapOut, indent: &str) -> io::Result<()> {
    let sized = |size: u32, ty: &Option<String>| match ty {
        Some(t) => format!("{size} ({t})"),
        None => size.to_string(),
    };
    write!(
        out,
        "{indent}{:<20} {:<18} key {:<24} value {:<32} max_entries {:<8} flags {:#x}",
        m.name,
        m.map_type,
        sized(m.key_size, &m.key_type),
        sized(m.value_size, &m.value_type),
        m.max_entries,
        m.flags
    )?;
    if m.pinning != "none" {
        write!(out, "  pinning {}", m.pinning)?;
    }
    if let Some(n) = m.numa_node {
        write!(out, "  numa_node {n}")?;
    }
    if m.map_extra != 0 {
        write!(out, "  map_extra {:#x}", m.map_extra)?;
    }
    if m.legacy {
        write!(out, "  (legacy maps section)")?;
    }
    writeln!(out)?;
    if let Some(inner) = &m.inner {
        write_map(out, inner, &format!("{indent}  inner: "))?;
    }
    if !m.initial_slots.is_empty() {
        write!(out, "{indent}  initial values:")?;
        for s in &m.initial_slots {
            write!(out, " [{}] = {}", s.index, s.target)?;
        }
        writeln!(out)?;
    }
    Ok(())
}
