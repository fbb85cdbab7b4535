//! Addresses to symbol names: kernel addresses through `/proc/kallsyms`, user addresses
//! through `/proc/PID/maps` and the ELF symbols of the mapped file; and stack-trace map reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSymbol, SymbolKind};

use crate::link::AttachError;
use crate::Map;

/// A resolved address: symbol name and offset into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub offset: u64,
    /// The module (kernel) or file (user) it belongs to, when known.
    pub module: Option<String>,
}

/// Kernel symbols sorted by address.
#[derive(Debug, Clone)]
pub struct KernelSymbols {
    syms: Vec<(u64, String, Option<String>)>,
}

impl KernelSymbols {
    /// Reads `/proc/kallsyms` (addresses are zero without privilege: the result is then empty).
    pub fn load() -> Result<KernelSymbols, AttachError> {
        let text = std::fs::read_to_string("/proc/kallsyms").map_err(|e| AttachError::File {
            path: "/proc/kallsyms".into(),
            problem: e.to_string(),
        })?;
        Ok(KernelSymbols::parse(&text))
    }

    /// Parses kallsyms text (`ADDR TYPE NAME [MODULE]`), keeping text symbols.
    pub fn parse(text: &str) -> KernelSymbols {
        let mut syms: Vec<(u64, String, Option<String>)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let addr = u64::from_str_radix(f.next()?, 16).ok()?;
                let ty = f.next()?;
                let name = f.next()?;
                let module = f
                    .next()
                    .map(|m| m.trim_matches(|c| c == '[' || c == ']').to_string());
                (addr != 0 && matches!(ty, "t" | "T" | "w" | "W"))
                    .then(|| (addr, name.to_string(), module))
            })
            .collect();
        syms.sort_by_key(|s| s.0);
        KernelSymbols { syms }
    }

    pub fn len(&self) -> usize {
        self.syms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    /// The symbol containing `addr` (the last one at or below it).
    pub fn resolve(&self, addr: u64) -> Option<Symbol> {
        let i = self.syms.partition_point(|s| s.0 <= addr).checked_sub(1)?;
        let (a, name, module) = self.syms.get(i)?;
        Some(Symbol {
            name: name.clone(),
            offset: addr - a,
            module: module.clone(),
        })
    }

    /// The address of `name`.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.syms.iter().find(|s| s.1 == name).map(|s| s.0)
    }
}

/// One executable mapping of a process.
#[derive(Debug, Clone)]
struct Mapping {
    start: u64,
    end: u64,
    file_offset: u64,
    path: PathBuf,
}

/// Symbols of one ELF file: (file offset of the symbol's start, size, name), sorted.
#[derive(Debug, Clone, Default)]
struct FileSymbols {
    syms: Vec<(u64, u64, String)>,
}

impl FileSymbols {
    fn load(path: &Path) -> FileSymbols {
        let Ok(data) = std::fs::read(path) else {
            return FileSymbols::default();
        };
        let Ok(file) = object::File::parse(&*data) else {
            return FileSymbols::default();
        };
        let mut syms: Vec<(u64, u64, String)> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(|s| s.kind() == SymbolKind::Text && s.is_definition() && s.address() != 0)
            .filter_map(|s| {
                let off = crate::uprobe::vaddr_to_offset(&data, s.address())?;
                Some((off, s.size(), s.name().ok()?.split('@').next()?.to_string()))
            })
            .collect();
        syms.sort();
        syms.dedup_by_key(|s| s.0);
        FileSymbols { syms }
    }

    fn resolve(&self, off: u64) -> Option<(String, u64)> {
        let i = self.syms.partition_point(|s| s.0 <= off).checked_sub(1)?;
        let (start, size, name) = self.syms.get(i)?;
        (*size == 0 || off < start + size).then(|| (name.clone(), off - start))
    }
}

/// User-space symbols of one process.
#[derive(Debug)]
pub struct ProcessSymbols {
    maps: Vec<Mapping>,
    files: HashMap<PathBuf, FileSymbols>,
}

impl ProcessSymbols {
    /// Reads `/proc/PID/maps`; files are read when first needed.
    pub fn load(pid: u32) -> Result<ProcessSymbols, AttachError> {
        let p = PathBuf::from(format!("/proc/{pid}/maps"));
        let text = std::fs::read_to_string(&p).map_err(|e| AttachError::File {
            path: p.clone(),
            problem: e.to_string(),
        })?;
        let maps = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let range = f.next()?;
                let perms = f.next()?;
                let off = u64::from_str_radix(f.next()?, 16).ok()?;
                let _dev = f.next()?;
                let _inode = f.next()?;
                let path = f.next()?;
                let (s, e) = range.split_once('-')?;
                if !(perms.contains('x') && path.starts_with('/')) {
                    return None;
                }
                Some(Mapping {
                    start: u64::from_str_radix(s, 16).ok()?,
                    end: u64::from_str_radix(e, 16).ok()?,
                    file_offset: off,
                    path: PathBuf::from(path),
                })
            })
            .collect();
        Ok(ProcessSymbols {
            maps,
            files: HashMap::new(),
        })
    }

    /// The symbol at user address `addr`.
    pub fn resolve(&mut self, addr: u64) -> Option<Symbol> {
        let m = self
            .maps
            .iter()
            .find(|m| addr >= m.start && addr < m.end)?
            .clone();
        let off = addr - m.start + m.file_offset;
        let syms = self
            .files
            .entry(m.path.clone())
            .or_insert_with(|| FileSymbols::load(&m.path));
        let (name, offset) = syms.resolve(off)?;
        Some(Symbol {
            name,
            offset,
            module: Some(m.path.to_string_lossy().into_owned()),
        })
    }
}

/// The addresses of stack `id` in a `BPF_MAP_TYPE_STACK_TRACE` map (trailing zeros dropped).
pub fn stack_trace(map: &Map, id: u32) -> Result<Vec<u64>, AttachError> {
    let v = map
        .lookup(&id.to_ne_bytes())
        .map_err(|e| AttachError::Map {
            map: map.name().to_string(),
            problem: e.to_string(),
        })?
        .unwrap_or_default();
    Ok(v.chunks_exact(8)
        .map(|c| u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .take_while(|&a| a != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kallsyms_lookup() {
        let k = KernelSymbols::parse(
            "ffffffff81000000 T _stext\nffffffff81000100 t foo\nffffffff81000200 D data\nffffffffc0000000 t modfn\t[mymod]\n",
        );
        assert_eq!(k.len(), 3);
        let s = k.resolve(0xffffffff81000150).unwrap();
        assert_eq!((s.name.as_str(), s.offset), ("foo", 0x50));
        assert_eq!(
            k.resolve(0xffffffffc0000004).unwrap().module.as_deref(),
            Some("mymod")
        );
        assert!(k.resolve(0x10).is_none());
    }
}
