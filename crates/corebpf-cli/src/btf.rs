//! `corebpf btf`: dump BTF (raw, C header, JSON) and find types by name.
//!
//! Sources: a raw BTF file (`/sys/kernel/btf/vmlinux`, a module's `/sys/kernel/btf/NAME`),
//! or an ELF object's `.BTF` section. Split BTF needs `--base`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use corebpf_btf::{Btf, Type, TypeKind};

#[path = "btf_extract.rs"]
mod extract;

/// Kernel BTF, the default source.
const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Print every type: `raw` (bpftool's format), `c` (a header) or `json`.
    Dump(DumpArgs),
    /// Print the id, kind and a one-line description of each type named NAME.
    Find(FindArgs),
    /// Extract the kernel's BTF from a kernel image (vmlinux, bzImage, Image[.gz]).
    Extract(extract::ExtractArgs),
    /// List the BTF objects loaded in the running kernel.
    List(crate::introspect_btf::ListArgs),
}

#[derive(clap::Args)]
struct DumpArgs {
    /// Raw BTF file or ELF object [default: /sys/kernel/btf/vmlinux].
    file: Option<PathBuf>,
    /// Base BTF for split BTF (e.g. /sys/kernel/btf/vmlinux for a module's BTF).
    #[arg(long, short = 'B')]
    base: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Raw)]
    format: Format,
}

#[derive(clap::Args)]
struct FindArgs {
    /// `[FILE] NAME`: FILE is a raw BTF file or ELF object [default: /sys/kernel/btf/vmlinux].
    #[arg(num_args = 1..=2, required = true, value_names = ["FILE", "NAME"])]
    args: Vec<String>,
    /// Base BTF for split BTF.
    #[arg(long, short = 'B')]
    base: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Raw,
    C,
    Json,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Cmd::Dump(a) => dump(a),
        Cmd::Find(a) => find(a),
        Cmd::Extract(a) => extract::run(a),
        Cmd::List(a) => crate::introspect_btf::run(a),
    }
}

/// File contents kept alive for the borrowed BTF views.
pub(crate) struct Source {
    path: PathBuf,
    bytes: Bytes,
}

/// Kernel BTF files are mapped (no copy); other files are read.
enum Bytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Read(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// Where the kernel exposes its BTF (vmlinux and modules): read-only, never truncated.
const KERNEL_BTF_DIR: &str = "/sys/kernel/btf/";

impl Source {
    pub(crate) fn read(path: &Path) -> Result<Source> {
        let cannot = || format!("{}: cannot read", path.display());
        let bytes = if path.starts_with(KERNEL_BTF_DIR) {
            let file = std::fs::File::open(path).with_context(cannot)?;
            // SAFETY: a private read-only mapping of a kernel BTF file. Its contents are the
            // kernel's own BTF and never change or shrink while mapped, so the borrowed
            // bytes stay valid for the mapping's lifetime. (User files are read instead: a
            // mapped file truncated by another process would fault on access.)
            let map = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) };
            match map {
                Ok(m) => Bytes::Mapped(m),
                // Kernels before 6.16 cannot map these files.
                Err(_) => Bytes::Read(std::fs::read(path).with_context(cannot)?),
            }
        } else {
            Bytes::Read(std::fs::read(path).with_context(cannot)?)
        };
        Ok(Source {
            path: path.to_owned(),
            bytes,
        })
    }

    /// The BTF bytes: the whole file for raw BTF, the `.BTF` section for ELF.
    pub(crate) fn btf_bytes(&self) -> Result<&[u8]> {
        let b = &self.bytes;
        let name = self.path.display();
        if b.starts_with(b"\x7fELF") {
            use object::{Object, ObjectSection};
            let file = object::File::parse(&**b)
                .with_context(|| format!("{name}: not a readable ELF object"))?;
            let sec = file
                .section_by_name(".BTF")
                .with_context(|| format!("{name}: ELF object has no .BTF section"))?;
            return sec
                .data()
                .with_context(|| format!("{name}: cannot read the .BTF section"));
        }
        if b.starts_with(&[0x9f, 0xeb]) || b.starts_with(&[0xeb, 0x9f]) {
            return Ok(&**b);
        }
        bail!("{name}: neither raw BTF (magic 0xeb9f) nor an ELF object")
    }
}

/// Loads the optional base, then the BTF itself, and runs `f` on it.
fn with_btf<T>(
    file: Option<&Path>,
    base: Option<&Path>,
    f: impl FnOnce(&Btf<'_>) -> Result<T>,
) -> Result<T> {
    let path = file.unwrap_or(Path::new(VMLINUX));
    let src = Source::read(path)?;
    let data = src.btf_bytes()?;
    match base {
        None => {
            let btf =
                Btf::parse(data).with_context(|| format!("{}: invalid BTF", path.display()))?;
            f(&btf)
        }
        Some(bpath) => {
            let bsrc = Source::read(bpath)?;
            let bdata = bsrc.btf_bytes()?;
            let base = Btf::parse(bdata)
                .with_context(|| format!("{}: invalid base BTF", bpath.display()))?;
            let btf = Btf::parse_split(data, &base)
                .with_context(|| format!("{}: invalid split BTF", path.display()))?;
            f(&btf)
        }
    }
}

fn dump(a: DumpArgs) -> Result<()> {
    let shown = a.file.as_deref().map_or_else(
        || "/sys/kernel/btf/vmlinux".to_string(),
        |p| p.display().to_string(),
    );
    with_btf(a.file.as_deref(), a.base.as_deref(), |btf| {
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
        match a.format {
            Format::Raw => corebpf_btf::dump_raw(btf, &mut out)?,
            // I/O errors are passed on as such so a closed pipe stays quiet.
            Format::C => {
                use corebpf_btf::c_dump::{dump_c, CDumpError, COptions};
                dump_c(btf, &mut out, &COptions::default()).map_err(|e| match e {
                    CDumpError::Io(io) => anyhow::Error::from(io),
                    other => anyhow::Error::from(other)
                        .context(format!("{shown}: cannot write a C header")),
                })?
            }
            Format::Json => {
                use corebpf_btf::json::{dump_json, JsonError, JsonOptions};
                dump_json(btf, &mut out, &JsonOptions::default()).map_err(|e| match e {
                    JsonError::Io(io) => anyhow::Error::from(io),
                    other => {
                        anyhow::Error::from(other).context(format!("{shown}: cannot write JSON"))
                    }
                })?
            }
        }
        out.flush()?;
        Ok(())
    })
}

fn find(a: FindArgs) -> Result<()> {
    let (file, name) = match a.args.as_slice() {
        [name] => (None, name.as_str()),
        [file, name] => (Some(Path::new(file.as_str())), name.as_str()),
        _ => bail!("usage: corebpf btf find [FILE] NAME"),
    };
    with_btf(file, a.base.as_deref(), |btf| {
        let mut out = String::new();
        let mut found = false;
        for id in btf.find_by_name(name) {
            let t = btf.type_by_id(id)?;
            describe(btf, &t, &mut out);
            out.push('\n');
            found = true;
        }
        if !found {
            bail!("no type named '{name}'");
        }
        std::io::stdout().lock().write_all(out.as_bytes())?;
        Ok(())
    })
}

/// One line: `[id] KIND name (details)`.
fn describe(btf: &Btf<'_>, t: &Type<'_>, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(out, "[{}] {} {}", t.id, t.kind_id(), t.name);
    let detail = match t.kind {
        TypeKind::Struct { size, members } | TypeKind::Union { size, members } => {
            format!("size {size}, {} members", members.len())
        }
        TypeKind::Enum {
            size,
            values,
            signed,
        } => {
            format!(
                "size {size}, {} values{}",
                values.len(),
                if signed { ", signed" } else { "" }
            )
        }
        TypeKind::Enum64 {
            size,
            values,
            signed,
        } => {
            format!(
                "size {size}, {} values{}",
                values.len(),
                if signed { ", signed" } else { "" }
            )
        }
        TypeKind::Int {
            size,
            encoding,
            bits,
            ..
        } => {
            let sign = if encoding.is_signed() {
                "signed"
            } else {
                "unsigned"
            };
            format!("size {size}, {bits} bits, {sign}")
        }
        TypeKind::Float { size } => format!("size {size}"),
        TypeKind::Fwd { union } => (if union {
            "forward union"
        } else {
            "forward struct"
        })
        .to_owned(),
        TypeKind::Func { proto, linkage } => {
            format!("{}, {}", linkage.name(), signature(btf, proto, t.name, 0))
        }
        TypeKind::Var { ty, linkage } => format!("{}, {}", linkage.name(), type_name(btf, ty, 0)),
        TypeKind::Datasec { size, vars } => format!("size {size}, {} variables", vars.len()),
        TypeKind::DeclTag {
            target,
            component_idx,
        } => {
            format!("on {} component {component_idx}", type_name(btf, target, 0))
        }
        _ => match t.target() {
            Some(target) => format!("= {}", type_name(btf, target, 0)),
            None => String::new(),
        },
    };
    if !detail.is_empty() {
        let _ = write!(out, " ({detail})");
    }
}

/// A short C spelling of a type reference (`struct sk_buff *`, `const char`, `int[16]`).
fn type_name(btf: &Btf<'_>, id: u32, depth: u32) -> String {
    // Function pointers nest prototypes; a malformed blob could make that endless.
    if depth > 6 {
        return "...".to_owned();
    }
    let mut suffix = String::new();
    let mut prefix = String::new();
    let mut cur = id;
    for _ in 0..64 {
        let Ok(t) = btf.type_by_id(cur) else {
            return format!("<bad type {cur}>");
        };
        let name = if t.name.is_empty() { "(anon)" } else { t.name };
        match t.kind {
            TypeKind::Void => return format!("{prefix}void{suffix}"),
            TypeKind::Ptr { target } => {
                suffix.insert_str(0, " *");
                cur = target;
            }
            TypeKind::Const { target } => {
                prefix.push_str("const ");
                cur = target;
            }
            TypeKind::Volatile { target } => {
                prefix.push_str("volatile ");
                cur = target;
            }
            TypeKind::Restrict { target } | TypeKind::TypeTag { target } => cur = target,
            TypeKind::Array { elem, len, .. } => {
                suffix.push_str(&format!("[{len}]"));
                cur = elem;
            }
            TypeKind::Struct { .. } => return format!("{prefix}struct {name}{suffix}"),
            TypeKind::Union { .. } => return format!("{prefix}union {name}{suffix}"),
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => {
                return format!("{prefix}enum {name}{suffix}")
            }
            TypeKind::Fwd { union } => {
                let k = if union { "union" } else { "struct" };
                return format!("{prefix}{k} {name}{suffix}");
            }
            TypeKind::FuncProto { .. } => {
                return format!("{prefix}{}{suffix}", signature(btf, cur, "", depth + 1))
            }
            _ => return format!("{prefix}{name}{suffix}"),
        }
    }
    "<type chain too long>".to_owned()
}

/// `ret name(params)` for a FUNC_PROTO id.
fn signature(btf: &Btf<'_>, proto: u32, name: &str, depth: u32) -> String {
    let Ok(TypeKind::FuncProto { ret, params }) = btf.type_by_id(proto).map(|t| t.kind) else {
        return format!("{name}(?)");
    };
    // Nested prototypes are shortened so the work stays small on any input.
    if depth >= 3 {
        return format!("{name}(...)");
    }
    const MAX_PARAMS: usize = 16;
    let mut ps: Vec<String> = params
        .iter()
        .take(MAX_PARAMS)
        .map(|p| match (p.ty, p.name) {
            (0, _) => "...".to_owned(),
            (ty, "") => type_name(btf, ty, depth + 1),
            (ty, n) => format!("{} {n}", type_name(btf, ty, depth + 1)),
        })
        .collect();
    if params.len() > MAX_PARAMS {
        ps.push(format!("/* {} more */", params.len() - MAX_PARAMS));
    }
    let ps = if ps.is_empty() {
        "void".to_owned()
    } else {
        ps.join(", ")
    };
    format!("{} {name}({ps})", type_name(btf, ret, depth + 1))
}
