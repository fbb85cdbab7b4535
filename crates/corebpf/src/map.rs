//! A map of a loaded object.

// `LoadError` carries a verifier rejection's explanation inline (program, log, source line,
// CO-RE access): a deliberate size for an error returned once per failed load.
#![allow(clippy::result_large_err)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use corebpf_obj::MapType;
use corebpf_sys::bpf::{self, attr::MapInfo};

use crate::LoadError;

/// A map created (or reused from a pin) by a load. Closed when dropped.
#[derive(Debug)]
pub struct Map {
    pub(crate) name: String,
    pub(crate) fd: OwnedFd,
    pub(crate) map_type: u32,
    pub(crate) key_size: u32,
    pub(crate) value_size: u32,
    pub(crate) max_entries: u32,
    pub(crate) flags: u32,
    /// Where the load pinned or found this map, if anywhere.
    pub(crate) pinned: Option<std::path::PathBuf>,
    /// Internal maps back global data sections (`.data`, `.rodata`, `.bss`, `.kconfig`, ...).
    pub(crate) section: Option<String>,
    /// The name in the object (`results`, `.rodata`).
    pub(crate) object_name: String,
}

/// Number of possible CPUs (per-CPU map values hold one slot per possible CPU).
pub fn possible_cpus() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| parse_cpu_list(s.trim()))
            .unwrap_or(1)
    })
}

fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut max = 0usize;
    for part in s.split(',') {
        let last = part.rsplit('-').next()?;
        max = max.max(last.trim().parse::<usize>().ok()? + 1);
    }
    Some(max)
}

impl Map {
    /// The map's kernel name (internal maps: the object-name prefix and section, `globals.rodata`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The map's name in the object (`results`; `.rodata` for internal maps).
    pub fn object_name(&self) -> &str {
        &self.object_name
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The kernel's `enum bpf_map_type` number.
    pub fn map_type_raw(&self) -> u32 {
        self.map_type
    }

    pub fn map_type(&self) -> Option<MapType> {
        MapType::from_raw(self.map_type)
    }

    pub fn key_size(&self) -> u32 {
        self.key_size
    }

    pub fn value_size(&self) -> u32 {
        self.value_size
    }

    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The pin path, when the load pinned this map or reused a pinned one.
    pub fn pinned(&self) -> Option<&std::path::Path> {
        self.pinned.as_deref()
    }

    /// The data section this internal map holds, if it is one.
    pub fn section(&self) -> Option<&str> {
        self.section.as_deref()
    }

    /// What the kernel says about this map (id, name, sizes, BTF ids).
    pub fn info(&self) -> Result<MapInfo, LoadError> {
        Ok(bpf::map_info(self.fd.as_fd())?)
    }

    /// Bytes of a value as user space reads and writes it: per-CPU maps hold one 8-byte aligned
    /// slot per possible CPU.
    pub fn value_len(&self) -> usize {
        let per_cpu = matches!(
            self.map_type(),
            Some(
                MapType::PercpuHash
                    | MapType::PercpuArray
                    | MapType::LruPercpuHash
                    | MapType::PercpuCgroupStorage
            )
        );
        if per_cpu {
            (self.value_size as usize).next_multiple_of(8) * possible_cpus()
        } else {
            self.value_size as usize
        }
    }

    fn check(&self, what: &'static str, got: usize, want: usize) -> Result<(), LoadError> {
        if got == want {
            Ok(())
        } else {
            Err(LoadError::Size {
                map: self.name.clone(),
                what,
                got,
                want,
            })
        }
    }

    /// The value at `key`, or `None` when absent.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LoadError> {
        let mut value = vec![0u8; self.value_len()];
        Ok(self.lookup_into(key, &mut value)?.then_some(value))
    }

    /// Reads the value at `key` into `value` (of [`value_len`](Self::value_len) bytes); `false`
    /// when absent.
    pub fn lookup_into(&self, key: &[u8], value: &mut [u8]) -> Result<bool, LoadError> {
        self.check("key", key.len(), self.key_size as usize)?;
        self.check("value buffer", value.len(), self.value_len())?;
        Ok(bpf::map_lookup_elem(self.fd.as_fd(), key, value, 0)?)
    }

    /// Stores `value` at `key` (`flags`: 0 any, 1 only new, 2 only existing).
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), LoadError> {
        self.check("key", key.len(), self.key_size as usize)?;
        self.check("value", value.len(), self.value_len())?;
        Ok(bpf::map_update_elem(self.fd.as_fd(), key, value, flags)?)
    }

    /// Deletes `key`; `false` if it was not there.
    pub fn delete(&self, key: &[u8]) -> Result<bool, LoadError> {
        self.check("key", key.len(), self.key_size as usize)?;
        Ok(bpf::map_delete_elem(self.fd.as_fd(), key)?)
    }

    /// Iterates over the keys (as the kernel hands them out; concurrent updates may skip or
    /// repeat keys, as with any `get_next_key` walk).
    pub fn keys(&self) -> MapKeys<'_> {
        MapKeys {
            map: self,
            last: None,
            done: false,
        }
    }
}

/// Iterator over a map's keys.
#[derive(Debug)]
pub struct MapKeys<'m> {
    map: &'m Map,
    last: Option<Vec<u8>>,
    done: bool,
}

impl Iterator for MapKeys<'_> {
    type Item = Result<Vec<u8>, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut next = vec![0u8; self.map.key_size as usize];
        match bpf::map_get_next_key(self.map.fd.as_fd(), self.last.as_deref(), &mut next) {
            Ok(true) => {
                self.last = Some(next.clone());
                Some(Ok(next))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists() {
        assert_eq!(super::parse_cpu_list("0-1"), Some(2));
        assert_eq!(super::parse_cpu_list("0"), Some(1));
        assert_eq!(super::parse_cpu_list("0-3,8-11"), Some(12));
    }
}
