//! Maps beyond plain lookups: typed and per-CPU values, batch operations, map-in-map, pins,
//! freezing, and BTF-formatted JSON compared with bpftool's `formatted` output.

#[path = "attach_progs/support.rs"]
mod support;

use std::os::fd::AsFd;
use std::path::PathBuf;

use corebpf::{Map, Object};
use serde_json::Value;
use support::*;

struct Loaded {
    obj: Object,
    pins: PathBuf,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.pins);
    }
}

fn load_maps() -> Loaded {
    let pins = PathBuf::from(format!(
        "/sys/fs/bpf/corebpf-maps-test-{}",
        std::process::id()
    ));
    corebpf::pin::ensure_bpffs_dir(&pins).expect("bpffs (needs root)");
    let path = corebpf_testdata::object("maps", corebpf_testdata::Cpu::V3);
    let opts = corebpf::LoadOptions {
        pin_root: Some(pins.clone()),
        ..Default::default()
    };
    let obj = corebpf::OpenObject::open(path)
        .unwrap()
        .load_with(&opts)
        .expect("load maps object");
    Loaded { obj, pins }
}

fn bpftool_formatted(map: &Map) -> Vec<Value> {
    let id = map.info().unwrap().id.to_string();
    let out = std::process::Command::new("bpftool")
        .args(["-j", "map", "dump", "id", &id])
        .output()
        .expect("bpftool installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("bpftool json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| {
            e.get("formatted")
                .cloned()
                .expect("formatted (map has BTF)")
        })
        .collect()
}

#[test]
fn typed_and_batch_operations() {
    let _serial = serial();
    let l = load_maps();
    let counters = l.obj.map("counters").unwrap();
    counters.set(&7u32, &1234u64, 0).unwrap();
    assert_eq!(counters.get::<u32, u64>(&7).unwrap(), Some(1234));
    assert!(
        counters.get::<u64, u64>(&7).is_err(),
        "wrong key size is refused"
    );

    let lru = l.obj.map("lru_cache").unwrap();
    let mut keys = Vec::new();
    let mut vals = Vec::new();
    for k in 0..100u64 {
        keys.extend_from_slice(&(k * 3).to_ne_bytes());
        vals.extend_from_slice(&(k as u32 + 1000).to_ne_bytes());
    }
    assert_eq!(lru.update_batch(&keys, &vals, 0).unwrap(), 100);
    let entries = lru.entries_batched(7).unwrap();
    assert_eq!(entries.len(), 100);
    let mut walked: Vec<Vec<u8>> = lru.keys().map(Result::unwrap).collect();
    let mut batched: Vec<Vec<u8>> = entries.iter().map(|(k, _)| k.clone()).collect();
    walked.sort();
    batched.sort();
    assert_eq!(walked, batched, "batch lookup = get_next_key walk");
    for (k, v) in &entries {
        let k = u64::from_ne_bytes(k[..8].try_into().unwrap());
        assert_eq!(
            u32::from_ne_bytes(v[..4].try_into().unwrap()) as u64,
            k / 3 + 1000
        );
    }
    assert_eq!(lru.delete_batch(&keys[..50 * 8]).unwrap(), 50);
    assert_eq!(lru.keys().count(), 50);
}

#[test]
fn per_cpu_values_and_json_against_bpftool() {
    let _serial = serial();
    let l = load_maps();
    let ncpu = corebpf::possible_cpus();
    let pch = l.obj.map("percpu_hash").unwrap();
    let vals: Vec<u64> = (0..ncpu as u64).map(|c| 10 + c).collect();
    pch.set_per_cpu(&5u32, &vals, 0).unwrap();
    assert_eq!(pch.get_per_cpu::<u32, u64>(&5).unwrap(), Some(vals));
    assert!(
        pch.get::<u32, u64>(&5).is_err(),
        "per-CPU maps need get_per_cpu"
    );

    // Structs as keys and values: flows (hash) and percpu_stats (per-CPU array of structs).
    let flows = l.obj.map("flows").unwrap();
    let mut key = vec![0u8; flows.key_size() as usize];
    key[..4].copy_from_slice(&0x0100007fu32.to_ne_bytes());
    key[4..8].copy_from_slice(&0x0200007fu32.to_ne_bytes());
    key[8..10].copy_from_slice(&80u16.to_ne_bytes());
    key[10..12].copy_from_slice(&443u16.to_ne_bytes());
    key[12] = 6;
    let mut value = vec![0u8; 16];
    value[..8].copy_from_slice(&3u64.to_ne_bytes());
    value[8..].copy_from_slice(&4500u64.to_ne_bytes());
    flows.update(&key, &value, 0).unwrap();
    let ours = flows.to_json().unwrap();
    let theirs = bpftool_formatted(flows);
    assert_eq!(ours.as_array().unwrap().len(), theirs.len());
    assert_eq!(ours[0]["key"], theirs[0]["key"]);
    assert_eq!(ours[0]["value"], theirs[0]["value"]);

    let stats = l.obj.map("percpu_stats").unwrap();
    let mut v = Vec::new();
    for c in 0..ncpu as u64 {
        v.extend_from_slice(&(c + 1).to_ne_bytes());
        v.extend_from_slice(&(100 * (c + 1)).to_ne_bytes());
    }
    stats.update(&1u32.to_ne_bytes(), &v, 0).unwrap();
    let ours = stats.to_json().unwrap();
    let theirs = bpftool_formatted(stats);
    for (o, t) in ours.as_array().unwrap().iter().zip(&theirs) {
        assert_eq!(o["key"], t["key"]);
        let per_cpu: Vec<Value> = t["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["value"].clone())
            .collect();
        assert_eq!(o["value"], Value::Array(per_cpu));
    }
}

#[test]
fn map_in_map_pins_and_freeze() {
    let _serial = serial();
    let l = load_maps();
    let outer = l.obj.map("outer_array").unwrap();
    let a = l.obj.map("inner_a").unwrap();
    let b = l.obj.map("inner_b").unwrap();
    assert_eq!(
        outer.inner_map_id(&0u32.to_ne_bytes()).unwrap(),
        Some(a.info().unwrap().id)
    );
    assert_eq!(outer.inner_map_id(&1u32.to_ne_bytes()).unwrap(), None);
    outer.set_inner_map(&1u32.to_ne_bytes(), b.fd()).unwrap();
    assert_eq!(
        outer.inner_map_id(&1u32.to_ne_bytes()).unwrap(),
        Some(b.info().unwrap().id)
    );

    let counters = l.obj.map("counters").unwrap();
    let pin = l.pins.join("counters-pin");
    counters.pin_at(&pin).unwrap();
    let again = Map::open_pinned(&pin).unwrap();
    assert_eq!(again.info().unwrap().id, counters.info().unwrap().id);
    counters.set(&3u32, &99u64, 0).unwrap();
    assert_eq!(again.get::<u32, u64>(&3).unwrap(), Some(99));
    let by_id = Map::from_id(counters.info().unwrap().id).unwrap();
    assert_eq!(by_id.max_entries(), 256);
    std::fs::remove_file(&pin).unwrap();

    counters.freeze().unwrap();
    let e = counters.set(&3u32, &1u64, 0).unwrap_err();
    assert_eq!(e.errno(), Some(libc::EPERM), "{e}");
    drop(by_id);
    let _ = again.fd().as_fd();
}
