//! The JSON output compared with bpftool's (`bpftool -j btf dump file ...`) type by type, field
//! by field: the two schemas carry the same facts under nearly the same names, so bpftool's
//! document is translated to ours and the two must be equal.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_btf::json::{dump_json, to_json_string, JsonOptions};
use corebpf_btf::Btf;
use serde_json::{Map, Value};

const BPFTOOL: &str = "bpftool";

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/btf")
        .join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn bpftool_json(args: &[&str]) -> Value {
    let out = match Command::new(BPFTOOL).arg("-j").args(args).output() {
        Ok(o) => o,
        Err(e) => {
            panic!("cannot run `{BPFTOOL}` ({e}); this test needs it (`apt-get install bpftool`)")
        }
    };
    assert!(
        out.status.success(),
        "bpftool -j {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bpftool's JSON")
}

fn ours(btf: &Btf<'_>) -> Value {
    let text = to_json_string(btf, &JsonOptions::default()).expect("JSON dump");
    serde_json::from_str(&text).expect("our output is valid JSON")
}

fn anon(v: &Value) -> Value {
    match v.as_str() {
        Some("(anon)") => Value::from(""),
        _ => v.clone(),
    }
}

/// Rewrites one of bpftool's type objects in this crate's schema.
fn translate(t: &Value) -> Map<String, Value> {
    let src = t.as_object().expect("type object");
    let kind = src["kind"].as_str().expect("kind").to_string();
    let mut m = Map::new();
    for (k, v) in src {
        match (k.as_str(), kind.as_str()) {
            ("vlen", _) => {}
            ("name", _) => {
                m.insert("name".into(), anon(v));
            }
            ("encoding", "INT") => {
                let e = v.as_str().expect("encoding");
                m.insert("signed".into(), Value::from(e == "SIGNED"));
                m.insert("char".into(), Value::from(e == "CHAR"));
                m.insert("bool".into(), Value::from(e == "BOOL"));
            }
            ("encoding", _) => {
                m.insert("signed".into(), Value::from(v.as_str() == Some("SIGNED")));
            }
            ("values", _) => {
                // bpftool 7.1 sign-extends a 32-bit ENUM value before printing it unsigned
                // (0xf0000000 comes out as 18446744073441116160); the 32 bits are what the
                // BTF holds.
                let unsigned32 = kind == "ENUM" && src["encoding"] == "UNSIGNED";
                let vals = v.as_array().expect("values").iter().map(|e| {
                    let mut o = Map::new();
                    o.insert("name".into(), anon(&e["name"]));
                    let val = match e["val"].as_u64() {
                        Some(x) if unsigned32 && x > u64::from(u32::MAX) => {
                            Value::from(x & u64::from(u32::MAX))
                        }
                        _ => e["val"].clone(),
                    };
                    o.insert("value".into(), val);
                    Value::Object(o)
                });
                m.insert("values".into(), Value::Array(vals.collect()));
            }
            ("members", _) => {
                let ms = v.as_array().expect("members").iter().map(|e| {
                    let mut o = Map::new();
                    o.insert("name".into(), anon(&e["name"]));
                    o.insert("type_id".into(), e["type_id"].clone());
                    o.insert("bits_offset".into(), e["bits_offset"].clone());
                    o.insert(
                        "bitfield_size".into(),
                        e.get("bitfield_size").cloned().unwrap_or(Value::from(0)),
                    );
                    Value::Object(o)
                });
                m.insert("members".into(), Value::Array(ms.collect()));
            }
            ("params", _) => {
                let ps = v.as_array().expect("params").iter().map(|e| {
                    let mut o = Map::new();
                    o.insert("name".into(), anon(&e["name"]));
                    o.insert("type_id".into(), e["type_id"].clone());
                    Value::Object(o)
                });
                m.insert("params".into(), Value::Array(ps.collect()));
            }
            _ => {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    m
}

/// Compares the two documents type by type; returns how many types were compared.
fn compare(ours: &Value, theirs: &Value) -> usize {
    let ours = ours["types"].as_array().expect("our types");
    let theirs = theirs["types"].as_array().expect("bpftool's types");
    assert_eq!(ours.len(), theirs.len(), "number of types");
    for (o, t) in ours.iter().zip(theirs) {
        let mut o = o.as_object().expect("type object").clone();
        let t = translate(t);
        // bpftool does not print a TYPE_TAG's kind_flag.
        if t["kind"] == "TYPE_TAG" {
            o.remove("attribute");
        }
        assert_eq!(Value::Object(o), Value::Object(t));
    }
    ours.len()
}

#[test]
fn kernel_json_matches_bpftool() {
    let data = read(Path::new("/sys/kernel/btf/vmlinux"));
    let btf = Btf::parse(&data).expect("kernel BTF");
    let ours = ours(&btf);
    assert_eq!(ours["first_id"], 1);
    let n = compare(
        &ours,
        &bpftool_json(&["btf", "dump", "file", "/sys/kernel/btf/vmlinux"]),
    );
    assert_eq!(n as u32, btf.len() - 1);
}

#[test]
fn foreign_kernel_json_matches_bpftool() {
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(read(&corpus("vmlinux.btf.gz")).as_slice())
        .read_to_end(&mut data)
        .expect("decompressing vmlinux.btf.gz");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("json");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("foreign-vmlinux.btf");
    std::fs::write(&file, &data).expect("writing BTF");
    let btf = Btf::parse(&data).expect("foreign BTF");
    let path = file.to_str().expect("UTF-8 path");
    let n = compare(&ours(&btf), &bpftool_json(&["btf", "dump", "file", path]));
    assert_eq!(n as u32, btf.len() - 1);
}

#[test]
fn split_json_lists_the_module_types_like_bpftool() {
    let base_path = corpus("btf_testmod.btf.base");
    let split_path = corpus("btf_testmod.btf");
    let base_data = read(&base_path);
    let base = Btf::parse(&base_data).expect("base BTF");
    let data = read(&split_path);
    let btf = Btf::parse_split(&data, &base).expect("split BTF");
    let ours = ours(&btf);
    assert_eq!(ours["first_id"], btf.first_id());
    assert_eq!(ours["types"][0]["id"], btf.first_id());
    let theirs = bpftool_json(&[
        "btf",
        "dump",
        "file",
        split_path.to_str().expect("UTF-8 path"),
        "--base-btf",
        base_path.to_str().expect("UTF-8 path"),
    ]);
    let n = compare(&ours, &theirs);
    assert_eq!(n as u32, btf.len() - btf.first_id());
}

#[test]
fn pretty_and_compact_carry_the_same_document() {
    let data = read(&corpus("btf_testmod.btf.base"));
    let btf = Btf::parse(&data).expect("BTF");
    let mut pretty = Vec::new();
    dump_json(&btf, &mut pretty, &JsonOptions { pretty: true }).expect("pretty");
    let compact = to_json_string(&btf, &JsonOptions::default()).expect("compact");
    assert!(pretty.len() > compact.len());
    assert!(!compact.contains('\n'));
    let a: Value = serde_json::from_slice(&pretty).expect("pretty JSON");
    let b: Value = serde_json::from_str(&compact).expect("compact JSON");
    assert_eq!(a, b);
}

#[test]
fn a_failing_writer_reports_the_io_error() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let data = read(&corpus("btf_testmod.btf.base"));
    let btf = Btf::parse(&data).expect("BTF");
    let err = dump_json(&btf, Full, &JsonOptions::default()).expect_err("must fail");
    assert!(
        matches!(&err, corebpf_btf::json::JsonError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "writing JSON output: disk full");
}
