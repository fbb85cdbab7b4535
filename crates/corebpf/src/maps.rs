//! More on maps: typed keys and values, per-CPU values, batch operations, map-in-map, pins,
//! freezing, and BTF-formatted keys and values as JSON.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use corebpf_btf::{Btf, TypeId, TypeKind};
use corebpf_sys::bpf::{self, attr::MapBatchAttr, Cmd, ObjKind};
use serde_json::Value;

use crate::link::AttachError;
use crate::{possible_cpus, Map};

mod sealed {
    pub trait Sealed {}
}

/// Plain values with a fixed byte layout: integers and arrays of them. Sealed: only the types
/// here implement it, so every bit pattern of the right size is a valid value.
pub trait Pod: sealed::Sealed + Copy + Sized {
    /// Size in bytes.
    const SIZE: usize;
    /// The native-endian bytes.
    fn write_to(&self, out: &mut Vec<u8>);
    /// Reads a value from exactly [`Self::SIZE`] bytes.
    fn read_from(b: &[u8]) -> Option<Self>;
}

macro_rules! pod_int {
    ($($t:ty),*) => { $(
        impl sealed::Sealed for $t {}
        impl Pod for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn write_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_ne_bytes());
            }
            fn read_from(b: &[u8]) -> Option<Self> {
                Some(<$t>::from_ne_bytes(b.try_into().ok()?))
            }
        }
    )* };
}
pod_int!(u8, u16, u32, u64, i8, i16, i32, i64, u128, i128);

impl<T: Pod, const N: usize> sealed::Sealed for [T; N] {}
impl<T: Pod, const N: usize> Pod for [T; N] {
    const SIZE: usize = T::SIZE * N;
    fn write_to(&self, out: &mut Vec<u8>) {
        for v in self {
            v.write_to(out);
        }
    }
    fn read_from(b: &[u8]) -> Option<Self> {
        if b.len() != Self::SIZE {
            return None;
        }
        let mut vals = Vec::with_capacity(N);
        for c in b.chunks_exact(T::SIZE.max(1)) {
            vals.push(T::read_from(c)?);
        }
        vals.try_into().ok()
    }
}

fn bytes_of<T: Pod>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(T::SIZE);
    v.write_to(&mut out);
    out
}

/// Keys, values and the next batch token of one [`Map::lookup_batch`] call.
pub type Batch = (Vec<Vec<u8>>, Vec<Vec<u8>>, Option<Vec<u8>>);
/// Key and value bytes of one entry.
pub type Entry = (Vec<u8>, Vec<u8>);

fn map_err(map: &Map, problem: impl Into<String>) -> AttachError {
    AttachError::Map {
        map: map.name().to_string(),
        problem: problem.into(),
    }
}

fn is_per_cpu(map_type: u32) -> bool {
    // PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH, PERCPU_CGROUP_STORAGE
    matches!(map_type, 5 | 6 | 10 | 21)
}

impl Map {
    fn typed_check<K: Pod, V: Pod>(&self) -> Result<(), AttachError> {
        if K::SIZE != self.key_size() as usize || V::SIZE != self.value_size() as usize {
            return Err(map_err(
                self,
                format!(
                    "typed access with {}-byte keys and {}-byte values, the map has {} and {}",
                    K::SIZE,
                    V::SIZE,
                    self.key_size(),
                    self.value_size()
                ),
            ));
        }
        Ok(())
    }

    /// The value at `key`, typed (per-CPU maps: use [`Map::get_per_cpu`]).
    pub fn get<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<V>, AttachError> {
        self.typed_check::<K, V>()?;
        if is_per_cpu(self.map_type_raw()) {
            return Err(map_err(self, "a per-CPU map: use get_per_cpu"));
        }
        let mut buf = vec![0u8; V::SIZE];
        let found = bpf::map_lookup_elem(self.fd(), &bytes_of(key), &mut buf, 0)
            .map_err(AttachError::kernel(format!("map {} lookup", self.name())))?;
        Ok(if found { V::read_from(&buf) } else { None })
    }

    /// Stores a typed value (`flags`: 0 any, 1 only new, 2 only existing).
    pub fn set<K: Pod, V: Pod>(&self, key: &K, value: &V, flags: u64) -> Result<(), AttachError> {
        self.typed_check::<K, V>()?;
        bpf::map_update_elem(self.fd(), &bytes_of(key), &bytes_of(value), flags)
            .map_err(AttachError::kernel(format!("map {} update", self.name())))
    }

    /// The per-CPU values at `key`, one per possible CPU.
    pub fn get_per_cpu<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<Vec<V>>, AttachError> {
        self.typed_check::<K, V>()?;
        let slot = V::SIZE.next_multiple_of(8);
        let mut buf = vec![0u8; slot * possible_cpus()];
        let found = bpf::map_lookup_elem(self.fd(), &bytes_of(key), &mut buf, 0)
            .map_err(AttachError::kernel(format!("map {} lookup", self.name())))?;
        if !found {
            return Ok(None);
        }
        buf.chunks_exact(slot)
            .map(|c| V::read_from(&c[..V::SIZE]).ok_or_else(|| map_err(self, "short value")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Stores one value per possible CPU at `key`.
    pub fn set_per_cpu<K: Pod, V: Pod>(
        &self,
        key: &K,
        values: &[V],
        flags: u64,
    ) -> Result<(), AttachError> {
        self.typed_check::<K, V>()?;
        if values.len() != possible_cpus() {
            return Err(map_err(
                self,
                format!(
                    "{} values for {} possible CPUs",
                    values.len(),
                    possible_cpus()
                ),
            ));
        }
        let slot = V::SIZE.next_multiple_of(8);
        let mut buf = Vec::with_capacity(slot * values.len());
        for v in values {
            v.write_to(&mut buf);
            buf.resize(buf.len().next_multiple_of(8), 0);
        }
        bpf::map_update_elem(self.fd(), &bytes_of(key), &buf, flags)
            .map_err(AttachError::kernel(format!("map {} update", self.name())))
    }

    /// Stores an inner map in a map-in-map (array or hash of maps) at `key`.
    pub fn set_inner_map(&self, key: &[u8], inner: BorrowedFd<'_>) -> Result<(), AttachError> {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&inner) as u32;
        bpf::map_update_elem(self.fd(), key, &fd.to_ne_bytes(), 0).map_err(AttachError::kernel(
            format!("map {} set inner map", self.name()),
        ))
    }

    /// The id of the inner map at `key` of a map-in-map.
    pub fn inner_map_id(&self, key: &[u8]) -> Result<Option<u32>, AttachError> {
        let mut id = [0u8; 4];
        let found = bpf::map_lookup_elem(self.fd(), key, &mut id, 0)
            .map_err(AttachError::kernel(format!("map {} lookup", self.name())))?;
        Ok(found.then(|| u32::from_ne_bytes(id)))
    }

    /// Makes the map read-only for user space.
    pub fn freeze(&self) -> Result<(), AttachError> {
        bpf::map_freeze(self.fd())
            .map_err(AttachError::kernel(format!("map {} freeze", self.name())))
    }

    /// Reads up to `max` entries starting after the batch position `token` (`None`: from the
    /// start) with `BPF_MAP_LOOKUP_BATCH`; returns the keys, values (as [`Map::value_len`]
    /// bytes each) and the next token (`None` once the map is exhausted).
    pub fn lookup_batch(&self, token: Option<&[u8]>, max: u32) -> Result<Batch, AttachError> {
        let ks = self.key_size() as usize;
        let vs = self.value_len();
        // The batch position is opaque; the key size (at least 4) holds it for every map type.
        let tok_len = ks.max(8);
        let mut keys = vec![0u8; ks * max as usize];
        let mut vals = vec![0u8; vs * max as usize];
        let mut out_tok = vec![0u8; tok_len];
        let in_tok: Vec<u8> = token
            .map(|t| {
                let mut v = t.to_vec();
                v.resize(tok_len, 0);
                v
            })
            .unwrap_or_default();
        let mut a = MapBatchAttr {
            in_batch: if token.is_some() {
                in_tok.as_ptr() as u64
            } else {
                0
            },
            out_batch: out_tok.as_mut_ptr() as u64,
            keys: keys.as_mut_ptr() as u64,
            values: vals.as_mut_ptr() as u64,
            count: max,
            map_fd: std::os::fd::AsRawFd::as_raw_fd(&self.fd()) as u32,
            ..Default::default()
        };
        let (n, done) = match bpf::sys_bpf(Cmd::MapLookupBatch, &mut a) {
            Ok(_) => (a.count as usize, false),
            Err(e) if e.raw_os_error() == Some(libc_enoent()) => (a.count as usize, true),
            Err(e) => {
                return Err(AttachError::Kernel {
                    what: format!("map {} lookup batch", self.name()),
                    source: corebpf_sys::Error::Syscall {
                        op: "map lookup batch",
                        source: e,
                    },
                })
            }
        };
        let n = n.min(max as usize);
        let k = keys
            .chunks_exact(ks.max(1))
            .take(n)
            .map(<[u8]>::to_vec)
            .collect();
        let v = vals
            .chunks_exact(vs.max(1))
            .take(n)
            .map(<[u8]>::to_vec)
            .collect();
        Ok((k, v, (!done).then_some(out_tok)))
    }

    /// Every entry, read with batch lookups of `chunk` entries.
    pub fn entries_batched(&self, chunk: u32) -> Result<Vec<Entry>, AttachError> {
        let mut out = Vec::new();
        let mut token: Option<Vec<u8>> = None;
        loop {
            let (k, v, next) = self.lookup_batch(token.as_deref(), chunk.max(1))?;
            out.extend(k.into_iter().zip(v));
            match next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Stores many entries with one `BPF_MAP_UPDATE_BATCH`; returns how many were stored.
    pub fn update_batch(&self, keys: &[u8], values: &[u8], flags: u64) -> Result<u32, AttachError> {
        let ks = self.key_size() as usize;
        let vs = self.value_len();
        if ks == 0 || keys.len() % ks != 0 || values.len() != keys.len() / ks * vs {
            return Err(map_err(
                self,
                format!(
                    "batch of {} key bytes and {} value bytes does not fit {ks}-byte keys and {vs}-byte values",
                    keys.len(),
                    values.len()
                ),
            ));
        }
        let mut a = MapBatchAttr {
            keys: keys.as_ptr() as u64,
            values: values.as_ptr() as u64,
            count: (keys.len() / ks) as u32,
            map_fd: std::os::fd::AsRawFd::as_raw_fd(&self.fd()) as u32,
            elem_flags: flags,
            ..Default::default()
        };
        bpf::sys_bpf(Cmd::MapUpdateBatch, &mut a).map_err(|e| AttachError::Kernel {
            what: format!("map {} update batch", self.name()),
            source: corebpf_sys::Error::Syscall {
                op: "map update batch",
                source: e,
            },
        })?;
        Ok(a.count)
    }

    /// Deletes many keys with one `BPF_MAP_DELETE_BATCH`; returns how many were deleted.
    pub fn delete_batch(&self, keys: &[u8]) -> Result<u32, AttachError> {
        let ks = self.key_size() as usize;
        if ks == 0 || keys.len() % ks != 0 {
            return Err(map_err(
                self,
                format!("{} key bytes is not a whole number of keys", keys.len()),
            ));
        }
        let mut a = MapBatchAttr {
            keys: keys.as_ptr() as u64,
            count: (keys.len() / ks) as u32,
            map_fd: std::os::fd::AsRawFd::as_raw_fd(&self.fd()) as u32,
            ..Default::default()
        };
        bpf::sys_bpf(Cmd::MapDeleteBatch, &mut a).map_err(|e| AttachError::Kernel {
            what: format!("map {} delete batch", self.name()),
            source: corebpf_sys::Error::Syscall {
                op: "map delete batch",
                source: e,
            },
        })?;
        Ok(a.count)
    }

    /// Opens a map pinned at `path` (or any map fd) as a [`Map`].
    pub fn open_pinned(path: impl AsRef<Path>) -> Result<Map, AttachError> {
        let path = path.as_ref();
        let text = path.to_str().ok_or_else(|| AttachError::Target {
            what: "open pinned map".into(),
            problem: format!("{} is not UTF-8", path.display()),
        })?;
        let fd = bpf::obj_get(text).map_err(AttachError::kernel(format!(
            "open pinned map {}",
            path.display()
        )))?;
        let mut m = Map::from_fd(fd)?;
        m.pinned = Some(path.to_path_buf());
        Ok(m)
    }

    /// Opens the map with kernel id `id`.
    pub fn from_id(id: u32) -> Result<Map, AttachError> {
        let fd = bpf::fd_by_id(ObjKind::Map, id)
            .map_err(AttachError::kernel(format!("open map id {id}")))?;
        Map::from_fd(fd)
    }

    /// Wraps a map fd, reading its type and sizes from the kernel.
    pub fn from_fd(fd: OwnedFd) -> Result<Map, AttachError> {
        let info = bpf::map_info(fd.as_fd()).map_err(AttachError::kernel("map info"))?;
        let name = bpf::attr::name_str(&info.name);
        Ok(Map {
            object_name: name.clone(),
            name,
            fd,
            map_type: info.map_type,
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
            flags: info.map_flags,
            pinned: None,
            section: None,
        })
    }

    /// Pins the map at `path` on bpffs (kept after the process exits).
    pub fn pin_at(&self, path: impl AsRef<Path>) -> Result<(), AttachError> {
        let path = path.as_ref();
        let text = path.to_str().ok_or_else(|| AttachError::Target {
            what: "pin map".into(),
            problem: format!("{} is not UTF-8", path.display()),
        })?;
        bpf::obj_pin(self.fd(), text).map_err(AttachError::kernel(format!(
            "pin map at {}",
            path.display()
        )))
    }

    /// Every entry as `{"key": ..., "value": ...}` JSON objects formatted with the map's BTF
    /// (hex byte arrays without BTF).
    pub fn to_json(&self) -> Result<Value, AttachError> {
        let info = bpf::map_info(self.fd()).map_err(AttachError::kernel("map info"))?;
        let btf_bytes = if info.btf_id != 0 {
            let fd = bpf::fd_by_id(ObjKind::Btf, info.btf_id)
                .map_err(AttachError::kernel("open map BTF"))?;
            Some(bpf::btf_data(fd.as_fd()).map_err(AttachError::kernel("read map BTF"))?)
        } else {
            None
        };
        let btf = match &btf_bytes {
            Some(b) => Some(Btf::parse(b).map_err(|e| map_err(self, format!("map BTF: {e}")))?),
            None => None,
        };
        let per_cpu = is_per_cpu(self.map_type_raw());
        let slot = (self.value_size() as usize).next_multiple_of(8);
        let mut out = Vec::new();
        for key in self.keys() {
            let key = key.map_err(|e| map_err(self, e.to_string()))?;
            let Some(value) = self
                .lookup(&key)
                .map_err(|e| map_err(self, e.to_string()))?
            else {
                continue;
            };
            let fmt = |bytes: &[u8], ty: u32| match &btf {
                Some(b) if ty != 0 => format_value(b, ty, bytes, 0),
                _ => hex(bytes),
            };
            let v = if per_cpu {
                Value::Array(
                    value
                        .chunks(slot)
                        .map(|c| {
                            fmt(
                                &c[..(self.value_size() as usize).min(c.len())],
                                info.btf_value_type_id,
                            )
                        })
                        .collect(),
                )
            } else {
                fmt(&value, info.btf_value_type_id)
            };
            let mut o = serde_json::Map::new();
            o.insert("key".into(), fmt(&key, info.btf_key_type_id));
            o.insert("value".into(), v);
            out.push(Value::Object(o));
        }
        Ok(Value::Array(out))
    }
}

fn libc_enoent() -> i32 {
    2
}

fn hex(b: &[u8]) -> Value {
    Value::Array(
        b.iter()
            .map(|x| Value::String(format!("{x:#04x}")))
            .collect(),
    )
}

fn read_uint(b: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    let n = b.len().min(16);
    if cfg!(target_endian = "little") {
        buf[..n].copy_from_slice(&b[..n]);
        u128::from_le_bytes(buf)
    } else {
        buf[16 - n..].copy_from_slice(&b[..n]);
        u128::from_be_bytes(buf)
    }
}

fn sign_extend(v: u128, bytes: usize) -> i128 {
    let bits = (bytes * 8).clamp(1, 128) as u32;
    let shift = 128 - bits;
    ((v << shift) as i128) >> shift
}

/// Formats `bytes` as BTF type `ty` of `btf`: integers as numbers, printable char arrays as
/// strings, structs and unions as objects, enums by name, other arrays as arrays.
pub fn format_value(btf: &Btf<'_>, ty: TypeId, bytes: &[u8], depth: u32) -> Value {
    if depth > 32 {
        return hex(bytes);
    }
    let Ok(id) = btf.skip_mods_and_typedefs(ty) else {
        return hex(bytes);
    };
    let Ok(t) = btf.type_by_id(id) else {
        return hex(bytes);
    };
    match t.kind {
        TypeKind::Int {
            size,
            encoding,
            offset,
            bits,
        } => {
            let Some(b) = bytes.get(..size as usize) else {
                return hex(bytes);
            };
            let mut v = read_uint(b) >> offset;
            if u32::from(bits) < 128 {
                v &= (1u128 << bits) - 1;
            }
            if encoding.0 & 4 != 0 {
                Value::Bool(v != 0)
            } else if encoding.is_signed() {
                let s = sign_extend(v, (bits as usize).div_ceil(8).max(1));
                i64::try_from(s).map_or_else(|_| Value::String(s.to_string()), Value::from)
            } else {
                u64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from)
            }
        }
        TypeKind::Ptr { .. } => {
            Value::String(format!("{:#x}", read_uint(bytes.get(..8).unwrap_or(bytes))))
        }
        TypeKind::Array { elem, len, .. } => {
            let esz = btf.size_of(elem).unwrap_or(0) as usize;
            let is_char = matches!(
                btf.skip_mods_and_typedefs(elem)
                    .and_then(|e| btf.type_by_id(e))
                    .map(|e| e.kind),
                Ok(TypeKind::Int { size: 1, .. })
            );
            let data = bytes.get(..esz * len as usize).unwrap_or(bytes);
            if is_char {
                let end = data.iter().position(|&c| c == 0).unwrap_or(data.len());
                let s = &data[..end];
                if data[end..].iter().all(|&c| c == 0)
                    && s.iter().all(|c| c.is_ascii_graphic() || *c == b' ')
                {
                    return Value::String(String::from_utf8_lossy(s).into_owned());
                }
            }
            if esz == 0 {
                return Value::Array(Vec::new());
            }
            Value::Array(
                data.chunks(esz)
                    .map(|c| format_value(btf, elem, c, depth + 1))
                    .collect(),
            )
        }
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
            let mut o = serde_json::Map::new();
            for (i, m) in members.iter().enumerate() {
                let off = (m.bit_offset / 8) as usize;
                let msz = btf.size_of(m.ty).unwrap_or(0) as usize;
                let v = if m.bitfield_size > 0 {
                    let raw = read_uint(
                        bytes
                            .get(off..(off + 8).min(bytes.len()))
                            .unwrap_or_default(),
                    );
                    let v = (raw >> (m.bit_offset % 8)) & ((1u128 << m.bitfield_size) - 1);
                    u64::try_from(v).map_or(Value::Null, Value::from)
                } else {
                    match bytes.get(off..off + msz) {
                        Some(b) => format_value(btf, m.ty, b, depth + 1),
                        None => Value::Null,
                    }
                };
                let name = if m.name.is_empty() {
                    format!("<anon{i}>")
                } else {
                    m.name.to_string()
                };
                o.insert(name, v);
            }
            Value::Object(o)
        }
        TypeKind::Enum {
            size,
            signed,
            values,
        } => {
            let raw = read_uint(bytes.get(..size as usize).unwrap_or(bytes));
            let v = if signed {
                sign_extend(raw, size as usize)
            } else {
                raw as i128
            };
            values.iter().find(|e| e.value == v).map_or_else(
                || Value::from(v as i64),
                |e| Value::String(e.name.to_string()),
            )
        }
        TypeKind::Enum64 {
            size,
            signed,
            values,
        } => {
            let raw = read_uint(bytes.get(..size as usize).unwrap_or(bytes));
            let v = if signed {
                sign_extend(raw, size as usize)
            } else {
                raw as i128
            };
            values.iter().find(|e| e.value == v).map_or_else(
                || Value::String(v.to_string()),
                |e| Value::String(e.name.to_string()),
            )
        }
        _ => hex(bytes),
    }
}
