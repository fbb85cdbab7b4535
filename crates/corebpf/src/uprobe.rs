//! Where a uprobe goes: binaries found by name, symbols resolved from an ELF file's `.symtab`
//! and `.dynsym`, virtual addresses turned into the file offsets the kernel wants.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSegment, ObjectSymbol};

use crate::link::AttachError;

fn file_err(path: &Path, problem: impl Into<String>) -> AttachError {
    AttachError::File {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Finds a binary or library: a path with a `/` as given, a library name (`libc.so.6`) in
/// the mapped files of this process and then the usual library directories, a program name
/// on `PATH`.
pub fn find_binary(name: &str) -> Result<PathBuf, AttachError> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return if p.exists() {
            Ok(p)
        } else {
            Err(file_err(&p, "no such file"))
        };
    }
    if name.contains(".so") {
        if let Ok(maps) = std::fs::read_to_string("/proc/self/maps") {
            for line in maps.lines() {
                if let Some(path) = line.split_whitespace().nth(5) {
                    if Path::new(path).file_name().is_some_and(|f| f == name) {
                        return Ok(PathBuf::from(path));
                    }
                }
            }
        }
        for dir in [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/lib",
            "/usr/lib",
            "/usr/local/lib",
        ] {
            let p = Path::new(dir).join(name);
            if p.exists() {
                return Ok(p);
            }
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(file_err(
        Path::new(name),
        "not found (as a path, a library name or on PATH)",
    ))
}

/// The file offset of virtual address `addr` in the ELF image `data` (through its loadable
/// segments).
pub fn vaddr_to_offset(data: &[u8], addr: u64) -> Option<u64> {
    let file = object::File::parse(data).ok()?;
    file.segments().find_map(|s| {
        let (off, size) = s.file_range();
        let start = s.address();
        (addr >= start && addr - start < size).then(|| off + (addr - start))
    })
}

/// A symbol found in a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSymbol {
    pub name: String,
    /// The symbol's virtual address.
    pub address: u64,
    pub size: u64,
    /// Where its code starts in the file (what uprobes attach at).
    pub file_offset: u64,
}

/// Resolves `symbol` in the ELF file at `path` (`.symtab` first, then `.dynsym`) to a file
/// offset. A versioned dynamic name (`malloc@@GLIBC_2.2.5`) matches its plain name.
pub fn resolve_symbol(path: &Path, symbol: &str) -> Result<ResolvedSymbol, AttachError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, format!("read: {e}")))?;
    let file = object::File::parse(&*data).map_err(|e| file_err(path, format!("not ELF: {e}")))?;
    let found = file
        .symbols()
        .chain(file.dynamic_symbols())
        .find(|s| {
            s.is_definition()
                && s.address() != 0
                && s.name().is_ok_and(|n| {
                    n == symbol || n.split('@').next().is_some_and(|base| base == symbol)
                })
        })
        .ok_or_else(|| {
            file_err(
                path,
                format!("no defined symbol {symbol:?} in .symtab or .dynsym"),
            )
        })?;
    let address = found.address();
    let file_offset = vaddr_to_offset(&data, address).ok_or_else(|| {
        file_err(
            path,
            format!("symbol {symbol} at {address:#x} is in no loadable segment"),
        )
    })?;
    Ok(ResolvedSymbol {
        name: symbol.to_string(),
        address,
        size: found.size(),
        file_offset,
    })
}

/// Where a uprobe attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeTarget {
    /// The binary or library (a name is searched with [`find_binary`]).
    pub binary: String,
    /// A function name; `None` to attach at `offset` as a file offset.
    pub symbol: Option<String>,
    /// Added to the symbol's offset, or the file offset itself when there is no symbol.
    pub offset: u64,
    /// Only this process (`None`: every process running the binary).
    pub pid: Option<i32>,
    /// Run at function return instead of entry.
    pub retprobe: bool,
    /// File offset of a reference counter (USDT semaphore) the kernel increments while the
    /// probe is attached.
    pub ref_ctr_offset: u64,
}

impl UprobeTarget {
    /// A probe on the entry of `symbol` in `binary`.
    pub fn function(binary: impl Into<String>, symbol: impl Into<String>) -> UprobeTarget {
        UprobeTarget {
            binary: binary.into(),
            symbol: Some(symbol.into()),
            offset: 0,
            pid: None,
            retprobe: false,
            ref_ctr_offset: 0,
        }
    }

    /// Parses a libbpf-style uprobe section target: `/path/bin:func`, `libc.so.6:malloc+16`,
    /// `/path/bin:0x1234` (an offset).
    pub fn from_section_target(target: &str, retprobe: bool) -> Result<UprobeTarget, AttachError> {
        let (binary, func) = target.rsplit_once(':').ok_or_else(|| AttachError::Target {
            what: format!("uprobe {target:?}"),
            problem: "expected BINARY:FUNCTION[+OFFSET] (section names without a target need an explicit uprobe attach)".into(),
        })?;
        let bad = |what: &str| AttachError::Target {
            what: format!("uprobe {target:?}"),
            problem: format!("bad offset {what:?}"),
        };
        let num = |s: &str| {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).map_err(|_| bad(s)),
                None => s.parse::<u64>().map_err(|_| bad(s)),
            }
        };
        let (symbol, offset) = if func.starts_with("0x") || func.bytes().all(|b| b.is_ascii_digit())
        {
            (None, num(func)?)
        } else if let Some((name, off)) = func.split_once('+') {
            (Some(name.to_string()), num(off)?)
        } else {
            (Some(func.to_string()), 0)
        };
        Ok(UprobeTarget {
            binary: binary.to_string(),
            symbol,
            offset,
            pid: None,
            retprobe,
            ref_ctr_offset: 0,
        })
    }

    /// The binary's path and the file offset to probe.
    pub fn resolve(&self) -> Result<(PathBuf, u64), AttachError> {
        let path = find_binary(&self.binary)?;
        let off = match &self.symbol {
            Some(sym) => resolve_symbol(&path, sym)?.file_offset + self.offset,
            None => self.offset,
        };
        Ok((path, off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_targets() {
        let t = UprobeTarget::from_section_target("/bin/bash:readline", true).unwrap();
        assert_eq!(t.binary, "/bin/bash");
        assert_eq!(t.symbol.as_deref(), Some("readline"));
        assert!(t.retprobe);
        let t = UprobeTarget::from_section_target("libc.so.6:malloc+0x10", false).unwrap();
        assert_eq!((t.symbol.as_deref(), t.offset), (Some("malloc"), 16));
        let t = UprobeTarget::from_section_target("/x:0x1234", false).unwrap();
        assert_eq!((t.symbol, t.offset), (None, 0x1234));
        assert!(UprobeTarget::from_section_target("nocolon", false).is_err());
        assert!(UprobeTarget::from_section_target("/x:f+zz", false).is_err());
    }
}
