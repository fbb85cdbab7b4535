//! `corebpf cgroup`: programs attached to cgroups — `BPF_PROG_QUERY` for every cgroup attach
//! type on each directory of the cgroup v2 hierarchy.

use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use corebpf_sys::bpf::{self, ObjKind};
use serde_json::{json, Value};

use crate::introspect;

/// Where cgroup v2 is mounted: the first `cgroup2` entry of `/proc/mounts` (`/sys/fs/cgroup`
/// on most systems, `/sys/fs/cgroup/unified` in hybrid setups).
pub fn cgroup2_root() -> Result<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").context("reading /proc/mounts")?;
    mounts
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f.get(1).copied().unwrap_or("")))
        })
        .context("no cgroup2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup)")
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    out: introspect::JsonArgs,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Every cgroup under ROOT that has programs attached, with them.
    Tree {
        /// The cgroup directory to start from [default: the cgroup2 mount point].
        root: Option<PathBuf>,
        /// Also list programs inherited from ancestors (`BPF_F_QUERY_EFFECTIVE`).
        #[arg(long)]
        effective: bool,
    },
    /// The programs attached to one cgroup.
    Show {
        path: PathBuf,
        #[arg(long)]
        effective: bool,
    },
}

const BPF_F_QUERY_EFFECTIVE: u32 = 1;

/// The errno values of a privilege refusal.
mod libc_eperm {
    pub const EPERM: i32 = 1;
    pub const EACCES: i32 = 13;
}
const BPF_F_ALLOW_OVERRIDE: u32 = 1;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The kernel's cgroup attach types (value, name): every `BPF_CGROUP_*` and `BPF_LSM_CGROUP`.
fn cgroup_attach_types() -> Vec<(u32, &'static str)> {
    introspect::attach_types()
        .all()
        .into_iter()
        .filter(|(_, n)| n.starts_with("cgroup_") || *n == "lsm_cgroup")
        .collect()
}

/// The programs attached to the cgroup at `path`.
pub fn cgroup_programs(path: &Path, effective: bool) -> Result<Vec<Value>> {
    let dir = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let flags = if effective { BPF_F_QUERY_EFFECTIVE } else { 0 };
    let mut out = Vec::new();
    for (at, name) in cgroup_attach_types() {
        // Attach types this kernel does not support for queries answer EINVAL; a refusal for
        // privilege is an error, not an empty cgroup.
        let (attach_flags, ids) = match bpf::prog_query(dir.as_fd(), at, flags) {
            Ok(r) => r,
            Err(e) if matches!(e.errno(), Some(libc_eperm::EPERM | libc_eperm::EACCES)) => {
                return Err(e).with_context(|| {
                    format!("querying {} (needs root or CAP_SYS_ADMIN)", path.display())
                })
            }
            Err(_) => continue,
        };
        for id in ids {
            let pname = bpf::fd_by_id(ObjKind::Prog, id)
                .ok()
                .and_then(|fd| bpf::prog_info(fd.as_fd()).ok())
                .map(|i| introspect::name(&i.name))
                .unwrap_or_default();
            let mode = if effective {
                ""
            } else if attach_flags & BPF_F_ALLOW_MULTI != 0 {
                "multi"
            } else if attach_flags & BPF_F_ALLOW_OVERRIDE != 0 {
                "override"
            } else {
                ""
            };
            out.push(json!({"id": id, "attach_type": name, "attach_flags": mode, "name": pname}));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, effective: bool, out: &mut Vec<Value>, depth: u32) -> Result<()> {
    if depth > 64 {
        return Ok(());
    }
    let progs = cgroup_programs(dir, effective)?;
    if !progs.is_empty() {
        let id = std::fs::metadata(dir).map(|m| m.ino()).unwrap_or(0);
        out.push(json!({"cgroup": dir.display().to_string(), "cgroup_id": id, "programs": progs}));
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for d in subdirs {
        walk(&d, effective, out, depth + 1)?;
    }
    Ok(())
}

/// The cgroups under `root` with programs, in depth-first order.
pub fn tree(root: &Path, effective: bool) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    walk(root, effective, &mut out, 0)?;
    Ok(out)
}

pub fn run(args: Args) -> Result<()> {
    let json = args.out.wanted();
    let (groups, single) = match args.command {
        Cmd::Tree { root, effective } => {
            let root = match root {
                Some(r) => r,
                None => cgroup2_root()?,
            };
            (tree(&root, effective)?, false)
        }
        Cmd::Show { path, effective } => {
            let progs = cgroup_programs(&path, effective)?;
            (
                vec![json!({"cgroup": path.display().to_string(), "programs": progs})],
                true,
            )
        }
    };
    if json {
        let v = if single {
            groups
                .into_iter()
                .next()
                .map_or(Value::Null, |g| g["programs"].clone())
        } else {
            Value::Array(groups)
        };
        return introspect::print_json(&v, args.out.pretty);
    }
    let mut out = String::from("CgroupPath\nID       AttachType      AttachFlags     Name\n");
    for g in &groups {
        let _ = writeln!(out, "{}", g["cgroup"].as_str().unwrap_or(""));
        for p in g["programs"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "    {:<8} {:<15} {:<15} {}",
                p["id"],
                p["attach_type"].as_str().unwrap_or(""),
                p["attach_flags"].as_str().unwrap_or(""),
                p["name"].as_str().unwrap_or("")
            );
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
