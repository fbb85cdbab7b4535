//! The bad-input table (`tests/bad_inputs/table.json`) run through the built `corebpf` binary:
//! every row builds a damaged input (a test object or its BTF with bytes changed or cut, a
//! hand-written BTF blob, assembled or C source, text), runs a command on it and checks the
//! exit status (1; 0 for the few rows showing that `objdump` lists undecodable instructions in
//! place, as llvm-objdump does, with `stdout` substrings), that stderr holds every expected substring, that nothing panicked, and —
//! for rows that reach the kernel — that no program, map or link was left behind.
//!
//! `BAD_INPUTS_SHOW=1` prints each row's stderr; `BAD_INPUTS_ROW=name` runs one row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use corebpf_testdata::Cpu;
use serde_json::Value;

fn table_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bad_inputs/table.json")
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-bad-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn u16_at(b: &[u8], off: usize) -> usize {
    usize::from(u16::from_le_bytes(b[off..off + 2].try_into().unwrap()))
}

fn u32_at(b: &[u8], off: usize) -> usize {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as usize
}

fn u64_at(b: &[u8], off: usize) -> usize {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap()) as usize
}

/// Section headers of a little-endian ELF64 file: (name, header offset, data offset, size).
fn sections(elf: &[u8]) -> Vec<(String, usize, usize, usize)> {
    let (shoff, shentsize, shnum, shstrndx) = (
        u64_at(elf, 0x28),
        u16_at(elf, 0x3a),
        u16_at(elf, 0x3c),
        u16_at(elf, 0x3e),
    );
    let hdr = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(elf, hdr(shstrndx) + 24);
    (0..shnum)
        .map(|i| {
            let h = hdr(i);
            let name_off = strtab + u32_at(elf, h);
            let end = elf[name_off..].iter().position(|&c| c == 0).unwrap();
            let name = String::from_utf8_lossy(&elf[name_off..name_off + end]).into_owned();
            (name, h, u64_at(elf, h + 24), u64_at(elf, h + 32))
        })
        .collect()
}

fn section<'a>(
    secs: &'a [(String, usize, usize, usize)],
    name: &str,
) -> &'a (String, usize, usize, usize) {
    secs.iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("no section {name}"))
}

/// A location in the input: `N`, `end-N`, `shoff+N`, `sec:NAME+N` (section data),
/// `shdr:NAME+N` (section header), `btf-types+N` (first type of a raw BTF blob).
fn locate(loc: &str, data: &[u8], elf_secs: &[(String, usize, usize, usize)]) -> usize {
    let (base, add) = match loc.rsplit_once('+') {
        Some((b, n)) => (b, parse_num(n)),
        None => (loc, 0),
    };
    if let Some(n) = base.strip_prefix("end-") {
        return data.len() - parse_num(n) + add;
    }
    if base.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_num(base) + add;
    }
    let at = match base.split_once(':') {
        Some(("sec", name)) => section(elf_secs, name).2,
        Some(("shdr", name)) => section(elf_secs, name).1,
        _ if base == "shoff" => u64_at(data, 0x28),
        _ if base == "btf-types" => u32_at(data, 4) + u32_at(data, 8),
        _ if base == "end" => data.len(),
        _ => panic!("bad location {loc}"),
    };
    at + add
}

fn parse_num(s: &str) -> usize {
    match s.strip_prefix("0x") {
        Some(h) => usize::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap_or_else(|_| panic!("bad number {s}")),
    }
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn apply_ops(mut data: Vec<u8>, ops: &[Value], elf: bool) -> Vec<u8> {
    let secs = if elf { sections(&data) } else { Vec::new() };
    for op in ops {
        if let Some(loc) = op.get("truncate").and_then(Value::as_str) {
            let at = locate(loc, &data, &secs);
            data.truncate(at);
            continue;
        }
        let loc = op["write"].as_str().expect("op is truncate or write");
        let at = locate(loc, &data, &secs);
        let bytes = if let Some(v) = op.get("u16") {
            (v.as_u64().unwrap() as u16).to_le_bytes().to_vec()
        } else if let Some(v) = op.get("u32") {
            (v.as_u64().unwrap() as u32).to_le_bytes().to_vec()
        } else if let Some(v) = op.get("u64") {
            v.as_u64().unwrap().to_le_bytes().to_vec()
        } else {
            hex(op["bytes"].as_str().expect("u16, u32, u64 or bytes"))
        };
        data[at..at + bytes.len()].copy_from_slice(&bytes);
    }
    data
}

fn assemble(dir: &Path, name: &str, text: &str) -> PathBuf {
    let src = dir.join(format!("{name}.s"));
    let out = dir.join(format!("{name}.o"));
    std::fs::write(&src, text).unwrap();
    let st = Command::new("llvm-mc-19")
        .args(["-triple", "bpfel", "-mcpu=v3", "-filetype=obj", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run llvm-mc-19 ({e}): install llvm-19"));
    assert!(
        st.status.success(),
        "{name}: llvm-mc-19 failed: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    out
}

/// Builds a row's input; returns the path to put in place of `{file}`.
fn build_input(dir: &Path, name: &str, input: &Value) -> PathBuf {
    let file_name = input
        .get("name")
        .and_then(Value::as_str)
        .map_or_else(|| format!("{name}.bin"), str::to_string);
    let path = dir.join(file_name);
    let ops = input
        .get("ops")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let data = if input.get("missing").is_some() {
        return path;
    } else if input.get("dir").is_some() {
        std::fs::create_dir_all(&path).unwrap();
        return path;
    } else if let Some(t) = input.get("text").and_then(Value::as_str) {
        t.as_bytes().to_vec()
    } else if let Some(h) = input.get("hex").and_then(Value::as_str) {
        apply_ops(hex(h), ops, false)
    } else if let Some(a) = input.get("asm").and_then(Value::as_str) {
        let o = assemble(dir, name, a);
        apply_ops(std::fs::read(o).unwrap(), ops, true)
    } else if let Some(obj) = input.get("object").and_then(Value::as_str) {
        apply_ops(corebpf_testdata::bytes(obj, Cpu::V3), ops, true)
    } else if let Some(obj) = input.get("btf_of").and_then(Value::as_str) {
        let elf = corebpf_testdata::bytes(obj, Cpu::V3);
        let secs = sections(&elf);
        let (_, _, off, size) = section(&secs, ".BTF");
        apply_ops(elf[*off..off + size].to_vec(), ops, false)
    } else {
        panic!("{name}: unknown input {input}")
    };
    std::fs::write(&path, data).unwrap();
    path
}

/// Every program, map and link in the kernel, `"prog 12"` to its name (through bpftool, an
/// independent view).
fn kernel_objects() -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for what in ["prog", "map", "link"] {
        let out = Command::new("bpftool")
            .args(["-j", what, "show"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run bpftool ({e}): install bpftool"));
        assert!(
            out.status.success(),
            "bpftool {what} show failed (root needed): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        for item in list.as_array().unwrap() {
            let name = item["name"].as_str().unwrap_or_default().to_string();
            ids.insert(format!("{what} {}", item["id"]), name);
        }
    }
    ids
}

/// Objects that appeared while the row ran and could come from `input` (their name, or for
/// internal maps the section part of it, is spelled in the input's bytes). Other programs on
/// a shared machine create objects at the same time: new objects get up to 5 s to go away,
/// and objects whose names the input does not hold are not counted.
fn left_behind(before: &BTreeMap<String, String>, input: &[u8]) -> Vec<String> {
    let ours = |name: &str| {
        let tail = name.find('.').map_or(name, |i| &name[i..]);
        !name.is_empty() && input.windows(tail.len()).any(|w| w == tail.as_bytes())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left: Vec<String> = kernel_objects()
            .into_iter()
            .filter(|(id, name)| !before.contains_key(id) && ours(name))
            .map(|(id, name)| format!("{id} ({name})"))
            .collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn bad_inputs_give_clean_errors() {
    let table: Value =
        serde_json::from_str(&std::fs::read_to_string(table_path()).unwrap()).unwrap();
    let rows = table["rows"].as_array().unwrap();
    let only = std::env::var("BAD_INPUTS_ROW").ok();
    let show = std::env::var_os("BAD_INPUTS_SHOW").is_some();
    if only.is_none() {
        let failing = rows
            .iter()
            .filter(|r| r["code"].as_i64() == Some(1))
            .count();
        assert!(failing >= 40, "the table has {failing} rows that must fail");
    }
    let dir = scratch();
    let mut failures = Vec::new();
    let mut names = BTreeSet::new();
    for row in rows {
        let name = row["name"].as_str().unwrap();
        assert!(names.insert(name), "duplicate row {name}");
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let path = build_input(&dir, name, &row["input"]);
        let args: Vec<String> = row["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a.as_str()
                    .unwrap()
                    .replace("{file}", path.to_str().unwrap())
            })
            .collect();
        let kernel = row.get("kernel").and_then(Value::as_bool).unwrap_or(false);
        let before = kernel.then(kernel_objects);
        let out = Command::new(env!("CARGO_BIN_EXE_corebpf"))
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("run corebpf");
        let stderr = String::from_utf8_lossy(&out.stderr).replace(dir.to_str().unwrap(), "DIR");
        if show {
            eprintln!(
                "[{name}] exit {:?}: {}",
                out.status.code(),
                stderr.trim_end()
            );
        }
        let code = row["code"].as_i64().unwrap_or(1) as i32;
        let mut problems = Vec::new();
        if out.status.code() != Some(code) {
            problems.push(format!(
                "exit status {:?}, expected {code}",
                out.status.code()
            ));
        }
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            problems.push("panicked".to_string());
        }
        for want in row["stderr"].as_array().unwrap() {
            let want = want.as_str().unwrap();
            if !stderr.contains(want) {
                problems.push(format!("stderr lacks {want:?}"));
            }
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        for want in row
            .get("stdout")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let want = want.as_str().unwrap();
            if !stdout.contains(want) {
                problems.push(format!("stdout lacks {want:?}"));
            }
        }
        if let Some(before) = before {
            let input = std::fs::read(&path).unwrap_or_default();
            let left = left_behind(&before, &input);
            if !left.is_empty() {
                problems.push(format!("left in the kernel: {left:?}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name} ({}): {}\n    stderr: {}",
                args.join(" ").replace(dir.to_str().unwrap(), "DIR"),
                problems.join("; "),
                stderr.trim_end()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
