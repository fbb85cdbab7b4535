//! `corebpf map`: maps in the running kernel — list, show, and dump their entries, formatted
//! by the map's BTF (fetched from the kernel by id) when it has one, as hex bytes otherwise.

use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{bail, Context, Result};
use corebpf_btf::{Btf, TypeId, TypeKind};
use corebpf_sys::bpf::{self, attr::MapInfo, ObjKind};
use serde_json::{json, Map as JsonMap, Value};

use crate::introspect;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    out: introspect::JsonArgs,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Every map.
    #[command(alias = "show")]
    List {
        /// Only this map.
        id: Option<u32>,
    },
    /// Every entry of a map.
    Dump { id: u32 },
}

pub fn run(args: Args) -> Result<()> {
    let json = args.out.wanted();
    match args.command {
        Cmd::List { id } => list(id, json, args.out.pretty),
        Cmd::Dump { id } => dump(id, json, args.out.pretty),
    }
}

/// One map's description as bpftool's `map show -j` shapes it.
pub fn map_json(id: u32, fd: BorrowedFd<'_>) -> Result<Value> {
    let i = bpf::map_info(fd)?;
    let fdinfo = introspect::fdinfo(fd);
    let mut m = JsonMap::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "type".into(),
        json!(introspect::map_types().name(i.map_type)),
    );
    let name = introspect::name(&i.name);
    if !name.is_empty() {
        m.insert("name".into(), json!(name));
    }
    m.insert("flags".into(), json!(i.map_flags));
    if i.ifindex != 0 {
        m.insert("ifindex".into(), json!(i.ifindex));
    }
    m.insert("bytes_key".into(), json!(i.key_size));
    m.insert("bytes_value".into(), json!(i.value_size));
    m.insert("max_entries".into(), json!(i.max_entries));
    if let Some(memlock) = introspect::fdinfo_u64(&fdinfo, "memlock") {
        m.insert("bytes_memlock".into(), json!(memlock));
    }
    if let Some(frozen) = introspect::fdinfo_u64(&fdinfo, "frozen") {
        m.insert("frozen".into(), json!(frozen));
    }
    if i.btf_id != 0 {
        m.insert("btf_id".into(), json!(i.btf_id));
    }
    if i.map_extra != 0 {
        m.insert("map_extra".into(), json!(i.map_extra));
    }
    Ok(Value::Object(m))
}

fn list(only: Option<u32>, json: bool, pretty: bool) -> Result<()> {
    let all = introspect::describe_each(ObjKind::Map, only, map_json)?;
    if json {
        return introspect::print_listing(all, only.is_some(), pretty);
    }
    let mut out = String::new();
    for m in &all {
        let _ = write!(out, "{}: {}  ", m["id"], m["type"].as_str().unwrap_or("?"));
        if let Some(n) = m["name"].as_str() {
            let _ = write!(out, "name {n}  ");
        }
        let _ = writeln!(out, "flags 0x{:x}", m["flags"].as_u64().unwrap_or(0));
        let _ = write!(
            out,
            "\tkey {}B  value {}B  max_entries {}",
            m["bytes_key"], m["bytes_value"], m["max_entries"]
        );
        if let Some(ml) = m.get("bytes_memlock") {
            let _ = write!(out, "  memlock {ml}B");
        }
        out.push('\n');
        if let Some(b) = m.get("btf_id") {
            let _ = writeln!(out, "\tbtf_id {b}");
        }
        if m["frozen"].as_u64() == Some(1) {
            let _ = writeln!(out, "\tfrozen");
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// Number of possible CPUs (`/sys/devices/system/cpu/possible`: `0-3`, `0,2-5`).
pub fn possible_cpus() -> Result<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .context("reading /sys/devices/system/cpu/possible")?;
    let mut n = 0usize;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: usize = a.trim().parse().context("parsing the possible CPU list")?;
        let b: usize = b.trim().parse().context("parsing the possible CPU list")?;
        n = n.max(b + 1).max(a + 1);
    }
    Ok(n)
}

fn is_percpu(map_type: &str) -> bool {
    matches!(
        map_type,
        "percpu_hash" | "percpu_array" | "lru_percpu_hash" | "percpu_cgroup_storage"
    )
}

/// Formats a value of BTF type `id` held in `bytes` as JSON (bpftool's "formatted" shape:
/// numbers, strings for char arrays, objects for records, names for enumerators).
pub fn btf_value(btf: &Btf<'_>, id: TypeId, bytes: &[u8]) -> Value {
    btf_value_depth(btf, id, bytes, 0)
}

fn uint(bytes: &[u8]) -> u128 {
    let mut v = 0u128;
    for (i, b) in bytes.iter().take(16).enumerate() {
        v |= u128::from(*b) << (8 * i);
    }
    v
}

fn btf_value_depth(btf: &Btf<'_>, id: TypeId, bytes: &[u8], depth: u32) -> Value {
    if depth > 32 {
        return json!("...");
    }
    let Ok(t) = btf.type_by_id(id) else {
        return json!(introspect::hex(bytes));
    };
    match t.kind {
        TypeKind::Int { size, encoding, .. } => {
            let Some(b) = bytes.get(..size as usize) else {
                return json!(introspect::hex(bytes));
            };
            let u = uint(b);
            if encoding.is_bool() {
                return json!(u != 0);
            }
            if encoding.is_signed() {
                let bits = size * 8;
                let s = if bits == 0 || bits >= 128 {
                    u as i128
                } else {
                    ((u << (128 - bits)) as i128) >> (128 - bits)
                };
                match i64::try_from(s) {
                    Ok(v) => json!(v),
                    Err(_) => json!(s.to_string()),
                }
            } else {
                match u64::try_from(u) {
                    Ok(v) => json!(v),
                    Err(_) => json!(u.to_string()),
                }
            }
        }
        TypeKind::Ptr { .. } => json!(format!("0x{:x}", uint(bytes.get(..8).unwrap_or(bytes)))),
        TypeKind::Enum { size, values, .. } => {
            let raw = uint(bytes.get(..size as usize).unwrap_or(bytes));
            values
                .iter()
                .find(|v| (v.value as u128) & mask(size) == raw)
                .map_or_else(|| json!(raw as u64), |v| json!(v.name))
        }
        TypeKind::Enum64 { size, .. } => {
            json!(uint(bytes.get(..size as usize).unwrap_or(bytes)) as u64)
        }
        TypeKind::Typedef { target }
        | TypeKind::Const { target }
        | TypeKind::Volatile { target }
        | TypeKind::Restrict { target }
        | TypeKind::TypeTag { target } => btf_value_depth(btf, target, bytes, depth + 1),
        TypeKind::Array { elem, len, .. } => {
            let esize = btf.size_of(elem).unwrap_or(0) as usize;
            if let Ok(et) = btf.resolve(elem) {
                if let TypeKind::Int {
                    size: 1, encoding, ..
                } = et.kind
                {
                    if encoding.is_char() || et.name == "char" {
                        let b = bytes.get(..len as usize).unwrap_or(bytes);
                        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                        if b[..end].iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
                            return json!(String::from_utf8_lossy(&b[..end]));
                        }
                    }
                }
            }
            if esize == 0 {
                return json!([]);
            }
            let items: Vec<Value> = (0..len as usize)
                .filter_map(|i| bytes.get(i * esize..(i + 1) * esize))
                .map(|b| btf_value_depth(btf, elem, b, depth + 1))
                .collect();
            Value::Array(items)
        }
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
            let mut m = JsonMap::new();
            for mem in members.iter() {
                let byte = (mem.bit_offset / 8) as usize;
                let val = if mem.bitfield_size > 0 {
                    let shift = mem.bit_offset % 8;
                    let nbytes = ((shift + mem.bitfield_size).div_ceil(8)) as usize;
                    let raw = uint(bytes.get(byte..byte + nbytes).unwrap_or(&[]));
                    json!(((raw >> shift) & mask_bits(mem.bitfield_size)) as u64)
                } else {
                    let sz = btf.size_of(mem.ty).unwrap_or(0) as usize;
                    match bytes.get(byte..byte + sz) {
                        Some(b) => btf_value_depth(btf, mem.ty, b, depth + 1),
                        None => Value::Null,
                    }
                };
                if mem.name.is_empty() {
                    // Anonymous records: their members appear at this level.
                    if let Value::Object(inner) = val {
                        m.extend(inner);
                        continue;
                    }
                }
                m.insert(mem.name.to_string(), val);
            }
            Value::Object(m)
        }
        // Global data (`.bss`, `.data`, `.rodata`): bpftool's `{SECTION: [{VAR: value}, ...]}`.
        TypeKind::Datasec { vars, .. } => {
            let list = vars
                .iter()
                .map(|v| {
                    let name = btf.type_by_id(v.ty).map_or("", |t| t.name);
                    let start = v.offset as usize;
                    let bytes = bytes
                        .get(start..start.saturating_add(v.size as usize))
                        .unwrap_or_default();
                    let mut m = JsonMap::new();
                    m.insert(
                        name.to_string(),
                        btf_value_depth(btf, v.ty, bytes, depth + 1),
                    );
                    Value::Object(m)
                })
                .collect();
            let mut m = JsonMap::new();
            m.insert(t.name.to_string(), Value::Array(list));
            Value::Object(m)
        }
        TypeKind::Var { ty, .. } => btf_value_depth(btf, ty, bytes, depth + 1),
        TypeKind::Float { size } => match size {
            4 => json!(f32::from_le_bytes(
                bytes
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 4])
            )),
            8 => json!(f64::from_le_bytes(
                bytes
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 8])
            )),
            _ => json!(introspect::hex(bytes)),
        },
        _ => json!(introspect::hex(bytes)),
    }
}

fn mask(size: u32) -> u128 {
    mask_bits(size * 8)
}

fn mask_bits(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn hex_list(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|x| json!(format!("0x{x:02x}"))).collect())
}

fn hex_text(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One map entry: the key's bytes and the value's bytes (one per CPU for per-CPU maps).
pub type Entry = (Vec<u8>, Vec<Vec<u8>>);

/// Every entry of a map.
pub fn entries(fd: BorrowedFd<'_>, info: &MapInfo, map_type: &str) -> Result<Vec<Entry>> {
    if matches!(
        map_type,
        "ringbuf" | "user_ringbuf" | "bloom_filter" | "arena" | "struct_ops" | "queue" | "stack"
    ) {
        bail!("a {map_type} map has no keys to walk: its entries cannot be dumped");
    }
    let cpus = if is_percpu(map_type) {
        possible_cpus()?
    } else {
        1
    };
    let vsize = info.value_size as usize;
    let stride = if cpus > 1 || is_percpu(map_type) {
        vsize.div_ceil(8) * 8
    } else {
        vsize
    };
    let mut key = vec![0u8; info.key_size as usize];
    let mut next = vec![0u8; info.key_size as usize];
    let mut value = vec![0u8; stride * cpus];
    let mut out = Vec::new();
    let mut first = true;
    loop {
        let more = bpf::map_get_next_key(fd, (!first).then_some(&key[..]), &mut next)?;
        if !more {
            break;
        }
        first = false;
        std::mem::swap(&mut key, &mut next);
        match bpf::map_lookup_elem(fd, &key, &mut value, 0) {
            Ok(true) => {
                let per_cpu = value
                    .chunks(stride.max(1))
                    .take(cpus)
                    .map(|c| c[..vsize.min(c.len())].to_vec())
                    .collect();
                out.push((key.clone(), per_cpu));
            }
            // Deleted between the walk and the lookup.
            Ok(false) => {}
            Err(e) => {
                return Err(e).with_context(|| format!("looking up a key of a {map_type} map"))
            }
        }
        if out.len() > (1 << 24) {
            bail!("map keeps producing keys (more than 16M): stopping");
        }
    }
    Ok(out)
}

fn dump(id: u32, json: bool, pretty: bool) -> Result<()> {
    let fd = introspect::open(ObjKind::Map, id)?;
    let info = bpf::map_info(fd.as_fd())?;
    let map_type = introspect::map_types().name(info.map_type);
    let btf_data = if info.btf_id != 0 {
        introspect::btf_bytes(info.btf_id).ok()
    } else {
        None
    };
    let btf = btf_data.and_then(|d| introspect::parse_btf(d).ok());
    let key_ty = (info.btf_key_type_id != 0).then_some(info.btf_key_type_id);
    let val_ty = (info.btf_value_type_id != 0).then_some(info.btf_value_type_id);
    let rows = entries(fd.as_fd(), &info, &map_type)?;
    let percpu = is_percpu(&map_type);
    let fmt =
        |ty: Option<TypeId>, b: &[u8]| -> Option<Value> { Some(btf_value(btf.as_ref()?, ty?, b)) };
    if json {
        let mut arr = Vec::with_capacity(rows.len());
        for (k, vals) in &rows {
            let mut m = JsonMap::new();
            m.insert("key".into(), hex_list(k));
            if percpu {
                let values: Vec<Value> = vals
                    .iter()
                    .enumerate()
                    .map(|(cpu, v)| json!({"cpu": cpu, "value": hex_list(v)}))
                    .collect();
                m.insert("values".into(), Value::Array(values));
            } else if let Some(v) = vals.first() {
                m.insert("value".into(), hex_list(v));
            }
            // Global-data maps have BTF for the value only; bpftool formats them without a key.
            let fk = fmt(key_ty, k);
            if fk.is_some() || (key_ty.is_none() && btf.is_some() && val_ty.is_some()) {
                let mut f = JsonMap::new();
                if let Some(fk) = fk {
                    f.insert("key".into(), fk);
                }
                if percpu {
                    let values: Vec<Value> = vals
                        .iter()
                        .enumerate()
                        .map(|(cpu, v)| json!({"cpu": cpu, "value": fmt(val_ty, v)}))
                        .collect();
                    f.insert("values".into(), Value::Array(values));
                } else if let Some(v) = vals.first() {
                    f.insert("value".into(), fmt(val_ty, v).unwrap_or(Value::Null));
                }
                m.insert("formatted".into(), Value::Object(f));
            }
            arr.push(Value::Object(m));
        }
        return introspect::print_json(&Value::Array(arr), pretty);
    }
    let mut out = String::new();
    for (k, vals) in &rows {
        match fmt(key_ty, k) {
            Some(fk) => {
                let _ = write!(out, "key: {fk}");
            }
            None => {
                let _ = write!(out, "key: {}", hex_text(k));
            }
        }
        for (cpu, v) in vals.iter().enumerate() {
            if percpu {
                let _ = write!(out, "\n  cpu {cpu}: ");
            } else {
                out.push_str("  value: ");
            }
            match fmt(val_ty, v) {
                Some(fv) => {
                    let _ = write!(out, "{fv}");
                }
                None => out.push_str(&hex_text(v)),
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Found {} element{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use corebpf_btf::{BtfBuilder, IntEncoding, Member};

    #[test]
    fn btf_values_format_by_type() {
        let mut b = BtfBuilder::new();
        let u32t = b.add_int("u32", 4, IntEncoding(0), 0, 32).unwrap();
        let s16 = b
            .add_int("s16", 2, IntEncoding(IntEncoding::SIGNED), 0, 16)
            .unwrap();
        let ch = b
            .add_int("char", 1, IntEncoding(IntEncoding::CHAR), 0, 8)
            .unwrap();
        let boolean = b
            .add_int("bool", 1, IntEncoding(IntEncoding::BOOL), 0, 8)
            .unwrap();
        let comm = b.add_array(ch, u32t, 8).unwrap();
        let e = b.add_enum("mode", 4, false, &[("A", 1), ("B", 2)]).unwrap();
        let m = |name, ty, bit_offset| Member {
            name,
            ty,
            bit_offset,
            bitfield_size: 0,
        };
        let st = b
            .add_struct(
                false,
                "rec",
                20,
                &[
                    m("pid", u32t, 0),
                    m("comm", comm, 32),
                    m("neg", s16, 96),
                    m("flag", boolean, 112),
                    m("mode", e, 128),
                ],
            )
            .unwrap();
        let data = b.finish().unwrap();
        let btf = Btf::parse(&data).unwrap();
        let mut bytes = vec![0u8; 20];
        bytes[..4].copy_from_slice(&4242u32.to_le_bytes());
        bytes[4..8].copy_from_slice(b"bash");
        bytes[12..14].copy_from_slice(&(-3i16).to_le_bytes());
        bytes[14] = 1;
        bytes[16..20].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            btf_value(&btf, st, &bytes),
            json!({"pid": 4242, "comm": "bash", "neg": -3, "flag": true, "mode": "B"})
        );
        // Short input never panics: missing members are null.
        assert_eq!(btf_value(&btf, st, &bytes[..6])["neg"], Value::Null);
    }

    #[test]
    fn possible_cpus_counts_this_machine() {
        let n = possible_cpus().unwrap();
        assert!(n >= 1);
        assert!(n >= std::thread::available_parallelism().map_or(1, |p| p.get()));
    }
}
