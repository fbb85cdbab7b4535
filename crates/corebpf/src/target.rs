//! What a load relocates against: the running kernel's BTF (read once per process, parsed
//! lazily), module BTFs, a user-supplied BTF file, Kconfig values, kallsyms and the kernel
//! version.

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use corebpf_btf::Btf;

use crate::LoadError;

/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

static VMLINUX_BYTES: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
static VMLINUX: OnceLock<Result<Btf<'static>, String>> = OnceLock::new();
static MODULE_BYTES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
static MODULES: OnceLock<Vec<(String, Btf<'static>)>> = OnceLock::new();

fn target_err(path: &Path, problem: impl Into<String>) -> LoadError {
    LoadError::TargetBtf {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// The running kernel's BTF, read on first use and kept for the process.
pub fn vmlinux() -> Result<&'static Btf<'static>, LoadError> {
    let path = Path::new(VMLINUX_BTF);
    let bytes = VMLINUX_BYTES
        .get_or_init(|| std::fs::read(path).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| target_err(path, e.clone()))?;
    VMLINUX
        .get_or_init(|| Btf::parse_lazy(bytes).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| target_err(path, e.clone()))
}

/// BTFs of loaded kernel modules (`/sys/kernel/btf/<module>`), split on top of vmlinux; read
/// on first use. Modules whose BTF does not parse are skipped.
pub fn modules() -> Result<&'static [(String, Btf<'static>)], LoadError> {
    let base = vmlinux()?;
    let bytes = MODULE_BYTES.get_or_init(|| {
        let mut out = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/sys/kernel/btf") {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "vmlinux" {
                    continue;
                }
                if let Ok(b) = std::fs::read(e.path()) {
                    out.push((name, b));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    });
    Ok(MODULES.get_or_init(|| {
        bytes
            .iter()
            .filter_map(|(n, b)| Some((n.clone(), Btf::parse_split(b, base).ok()?)))
            .collect()
    }))
}

/// Reads a BTF file given by the user: raw BTF, optionally gzip-compressed.
pub fn read_btf_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    let raw = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| target_err(path, format!("gzip: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The kernel version as `KERNEL_VERSION(a, b, c)` from `uname -r` (patch level capped at 255).
pub fn kernel_version() -> u32 {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    parse_release(release.trim())
}

pub(crate) fn parse_release(release: &str) -> u32 {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let a = parts.next().unwrap_or(0);
    let b = parts.next().unwrap_or(0);
    let c = parts.next().unwrap_or(0);
    (a << 16) + (b << 8) + c.min(255)
}

/// Kernel configuration as `CONFIG_NAME` → value text (`y`, `m`, `1000`, `"string"`).
pub type KconfigMap = HashMap<String, String>;

/// Reads Kconfig from `path`, or from `/proc/config.gz` then `/boot/config-$(uname -r)`.
pub fn read_kconfig(path: Option<&Path>) -> Result<KconfigMap, LoadError> {
    read_kconfig_text(path).map(|t| parse_kconfig(&t))
}

/// The text of the kernel configuration (see [`read_kconfig`]).
pub fn read_kconfig_text(path: Option<&Path>) -> Result<String, LoadError> {
    let candidates: Vec<PathBuf> = match path {
        Some(p) => vec![p.to_path_buf()],
        None => {
            let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
            vec![
                PathBuf::from("/proc/config.gz"),
                PathBuf::from(format!("/boot/config-{}", release.trim())),
            ]
        }
    };
    let mut last = None;
    for p in &candidates {
        match std::fs::read(p) {
            Ok(raw) => {
                let text = if raw.starts_with(&[0x1f, 0x8b]) {
                    let mut s = String::new();
                    flate2::read::GzDecoder::new(&raw[..])
                        .read_to_string(&mut s)
                        .map_err(|e| LoadError::Kconfig {
                            path: p.clone(),
                            problem: format!("gzip: {e}"),
                        })?;
                    s
                } else {
                    String::from_utf8_lossy(&raw).into_owned()
                };
                return Ok(text);
            }
            Err(e) => last = Some((p.clone(), e)),
        }
    }
    let (path, e) = last.unwrap_or_else(|| {
        (
            PathBuf::from("/proc/config.gz"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    });
    Err(LoadError::Kconfig {
        path,
        problem: format!("cannot read kernel configuration: {e}"),
    })
}

/// Parses `CONFIG_X=value` lines; `# CONFIG_X is not set` lines give `n`.
pub fn parse_kconfig(text: &str) -> KconfigMap {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# ") {
            if let Some(name) = rest.strip_suffix(" is not set") {
                if name.starts_with("CONFIG_") {
                    map.insert(name.to_string(), "n".to_string());
                }
            }
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.starts_with("CONFIG_") {
                map.insert(k.to_string(), v.to_string());
            }
        }
    }
    map
}

/// `/proc/kallsyms`, read on first use and kept for the process (as text: a load looks up a
/// handful of untyped ksyms, not worth indexing 100k+ symbols).
fn kallsyms_text() -> Result<&'static str, LoadError> {
    static KALLSYMS: OnceLock<Result<String, String>> = OnceLock::new();
    KALLSYMS
        .get_or_init(|| std::fs::read_to_string("/proc/kallsyms").map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|e| LoadError::Kconfig {
            path: PathBuf::from("/proc/kallsyms"),
            problem: e.to_string(),
        })
}

/// Makes sure `/proc/kallsyms` can be read (see [`ksym_address`]).
pub fn kallsyms() -> Result<(), LoadError> {
    kallsyms_text().map(drop)
}

/// The address of kernel symbol `name` from `/proc/kallsyms` (first occurrence).
pub fn ksym_address(name: &str) -> Option<u64> {
    let text = kallsyms_text().ok()?;
    text.lines().find_map(|line| {
        let mut it = line.split_ascii_whitespace();
        let addr = it.next()?;
        it.next()?;
        if it.next()? == name {
            u64::from_str_radix(addr, 16).ok()
        } else {
            None
        }
    })
}
