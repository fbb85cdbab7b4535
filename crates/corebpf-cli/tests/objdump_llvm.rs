//! `corebpf objdump` against `llvm-objdump-19 -d -r` on every compiled test object (cpu v3, v4
//! and big-endian): the same instructions with the same bytes, registers and immediates, and
//! annotations that agree with the C sources, the relocations and LLVM's CO-RE listing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use corebpf_testdata::{find, objects, Cpu};

fn corebpf(args: &[&str], file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .arg("objdump")
        .args(args)
        .arg(file)
        .output()
        .expect("run corebpf");
    assert!(
        out.status.success(),
        "corebpf objdump {args:?} {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn llvm_objdump(file: &Path) -> String {
    let out = Command::new("llvm-objdump-19")
        .args(["-d", "-r"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run llvm-objdump-19 ({e}): install llvm-19 (`apt-get install llvm-19`)")
        });
    assert!(
        out.status.success(),
        "llvm-objdump-19 failed on {}",
        file.display()
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// One disassembled instruction: slot index, raw bytes, operand text.
#[derive(Debug, Clone)]
struct Line {
    index: usize,
    bytes: String,
    text: String,
    /// llvm: a relocation line follows; ours: the text carries our annotations.
    relocated: bool,
    /// llvm: its CO-RE annotation, if any.
    core: Option<String>,
}

/// `llvm-objdump -d -r`: section -> instructions.
fn parse_llvm(text: &str) -> BTreeMap<String, Vec<Line>> {
    let mut out: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    let mut sec = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Disassembly of section ") {
            sec = rest.trim_end_matches(':').to_string();
            out.entry(sec.clone()).or_default();
            continue;
        }
        let Some(list) = out.get_mut(&sec) else {
            continue;
        };
        if line.starts_with("\t\t") {
            if let Some(p) = line.find("CO-RE ") {
                if let Some(l) = list.last_mut() {
                    l.core = Some(line[p..].to_string());
                }
            } else if line.contains("R_BPF_") {
                if let Some(l) = list.last_mut() {
                    l.relocated = true;
                }
            }
            continue;
        }
        let parts: Vec<&str> = line.trim_start().splitn(3, '\t').collect();
        if parts.len() == 3 {
            if let Some(Ok(index)) = parts[0].strip_suffix(':').map(str::parse) {
                out.get_mut(&sec).unwrap().push(Line {
                    index,
                    bytes: parts[1].trim().to_string(),
                    text: parts[2].to_string(),
                    relocated: false,
                    core: None,
                });
            }
        }
    }
    out
}

/// `corebpf objdump --raw`: section -> instructions.
fn parse_ours(text: &str) -> BTreeMap<String, Vec<Line>> {
    let mut out: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    let mut sec = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Disassembly of section ") {
            sec = rest.rsplit_once(" (").map_or(rest, |(s, _)| s).to_string();
            out.entry(sec.clone()).or_default();
            continue;
        }
        let Some(list) = out.get_mut(&sec) else {
            continue;
        };
        let parts: Vec<&str> = line.trim_start().splitn(3, '\t').collect();
        if parts.len() == 3 {
            if let Some(Ok(index)) = parts[0].strip_suffix(':').map(str::parse) {
                list.push(Line {
                    index,
                    bytes: parts[1].trim().to_string(),
                    text: parts[2].to_string(),
                    relocated: false,
                    core: None,
                });
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Removes `<...>` and `/* ... */` annotations.
fn strip_annotations(s: &str) -> String {
    let mut out = String::new();
    let mut depth_angle = 0;
    let mut in_comment = false;
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if !in_comment && b[i] == '/' && b.get(i + 1) == Some(&'*') {
            in_comment = true;
            i += 2;
            continue;
        }
        if in_comment && b[i] == '*' && b.get(i + 1) == Some(&'/') {
            in_comment = false;
            i += 2;
            continue;
        }
        if !in_comment {
            if b[i] == '<' {
                depth_angle += 1;
            } else if b[i] == '>' && depth_angle > 0 {
                depth_angle -= 1;
            } else if depth_angle == 0 {
                out.push(b[i]);
            }
        }
        i += 1;
    }
    out
}

/// Registers (`r0`..`r10`, `w0`..`w10`) in order of appearance.
fn registers(s: &str) -> Vec<String> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if (c[i] == 'r' || c[i] == 'w') && (i == 0 || !is_ident(c[i - 1])) {
            let mut j = i + 1;
            while j < c.len() && c[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 && (j == c.len() || !is_ident(c[j])) {
                out.push(c[i..j].iter().collect());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Signed numbers (decimal or 0x hex) that are not part of a word, in order of appearance.
fn numbers(s: &str) -> Vec<i128> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_ascii_digit() && (i == 0 || !is_ident(c[i - 1])) {
            let (radix, start) = if c[i] == '0' && c.get(i + 1) == Some(&'x') {
                (16, i + 2)
            } else {
                (10, i)
            };
            let mut j = start;
            while j < c.len() && c[j].is_digit(radix) {
                j += 1;
            }
            let digits: String = c[start..j].iter().collect();
            let mut v = i128::from_str_radix(&digits, radix).unwrap_or(0);
            // A sign right before, possibly separated by spaces (`r10 - 0x8`, `pc+3`).
            let mut k = i;
            while k > 0 && c[k - 1] == ' ' {
                k -= 1;
            }
            if k > 0 && c[k - 1] == '-' {
                v = -v;
            }
            out.push(v);
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn same_value(a: i128, b: i128) -> bool {
    (a - b).rem_euclid(1 << 32) == 0
}

fn check_object(label: &str, path: &Path, source: &Path) -> (usize, usize) {
    let ours_text = corebpf(&["--raw"], path);
    let ours = parse_ours(&ours_text);
    let theirs = parse_llvm(&llvm_objdump(path));
    let ours_sections: Vec<&String> = ours.keys().collect();
    let their_sections: Vec<&String> = theirs.keys().filter(|k| !theirs[*k].is_empty()).collect();
    assert_eq!(ours_sections, their_sections, "{label}: code sections");

    let mut compared = 0;
    let mut core_sites = 0;
    for (sec, lines) in &theirs {
        if lines.is_empty() {
            continue;
        }
        let mine = &ours[sec];
        assert_eq!(mine.len(), lines.len(), "{label} {sec}: instruction count");
        for (m, t) in mine.iter().zip(lines) {
            let at = format!(
                "{label} {sec} insn {}: ours `{}`, llvm `{}`",
                t.index, m.text, t.text
            );
            assert_eq!(m.index, t.index, "{at}");
            assert_eq!(m.bytes, t.bytes, "{at}: bytes");
            let mt = strip_annotations(&m.text);
            let tt = strip_annotations(&t.text);
            if t.relocated {
                // Our text names the relocation target instead of the placeholder constant;
                // the destination register must still agree.
                assert_eq!(
                    registers(&mt).first(),
                    registers(&tt).first(),
                    "{at}: registers"
                );
            } else {
                assert_eq!(registers(&mt), registers(&tt), "{at}: registers");
                let (mn, tn) = (numbers(&mt), numbers(&tt));
                assert_eq!(mn.len(), tn.len(), "{at}: operands {mn:?} vs {tn:?}");
                for (a, b) in mn.iter().zip(&tn) {
                    assert!(same_value(*a, *b), "{at}: operand {a} vs {b}");
                }
            }
            if let Some(core) = &t.core {
                assert!(
                    m.text.contains(&format!("/* {core}: bpf_core_")),
                    "{at}: CO-RE annotation `{core}`"
                );
                core_sites += 1;
            }
            compared += 1;
        }
    }

    // Source lines: each `; text  [file:line]` is that line of the C source.
    let src = std::fs::read_to_string(source).unwrap();
    let src_lines: Vec<&str> = src.lines().collect();
    let file_name = source.file_name().unwrap().to_str().unwrap();
    let mut shown = 0;
    for line in ours_text.lines() {
        let Some(rest) = line.strip_prefix("; ") else {
            continue;
        };
        let Some((text, loc)) = rest.rsplit_once("  [") else {
            continue;
        };
        let loc = loc.trim_end_matches(']');
        let (file, num) = loc.rsplit_once(':').unwrap();
        if file != file_name {
            continue; // a line from a header
        }
        let num: usize = num.parse().unwrap();
        assert_eq!(
            src_lines[num - 1].trim(),
            text,
            "{label}: source line {num}"
        );
        shown += 1;
    }
    assert!(shown > 0, "{label}: no source lines shown");
    (compared, core_sites)
}

#[test]
fn matches_llvm_objdump_on_every_test_object() {
    let mut total = 0;
    let mut core = 0;
    for o in objects() {
        let (n, c) = check_object(&o.label(), o.path(), o.source());
        total += n;
        core += c;
    }
    assert!(total > 2000, "only {total} instructions compared");
    assert!(core > 100, "only {core} CO-RE sites compared");
}

fn dump(name: &str, cpu: Cpu, args: &[&str]) -> String {
    corebpf(args, find(name, cpu).unwrap().path())
}

#[test]
fn annotations_name_maps_globals_calls_and_externs() {
    for cpu in [Cpu::V3, Cpu::V4] {
        let execsnoop = dump("execsnoop", cpu, &[]);
        for want in [
            "r1 = map[execs]",
            "r1 = map[events]",
            "= &target_uid (.rodata+0)",
            "= &exec_count (.bss+0)",
            "= &LINUX_KERNEL_VERSION /* kconfig */",
            "call bpf_get_current_pid_tgid#14",
            "call bpf_ringbuf_submit#132",
            "struct task_struct::real_parent (0:",
            "; event->ppid = BPF_CORE_READ(task, real_parent, tgid);  [execsnoop.bpf.c:53]",
            "tracepoint__syscalls__sys_enter_execve: program tracepoint, target syscalls/sys_enter_execve",
            "execs                hash",
        ] {
            assert!(execsnoop.contains(want), "execsnoop {cpu:?}: missing `{want}`\n{execsnoop}");
        }

        let subprogs = dump("subprogs", cpu, &["--no-source"]);
        for want in [
            " <fold>",
            " <bucket_of>",
            "r2 = &loop_step (.text+",
            "r2 = &sum_elem (.text+",
            "call bpf_loop#181",
            "call bpf_for_each_map_elem#164",
            "bucket_of: global subprogram",
            "fold: static subprogram",
        ] {
            assert!(
                subprogs.contains(want),
                "subprogs {cpu:?}: missing `{want}`\n{subprogs}"
            );
        }
        assert!(
            !subprogs.contains("\n; "),
            "--no-source still shows source lines"
        );
        if cpu == Cpu::V4 {
            // cpu v4: signed division and sign-extending moves in `scale`.
            for want in [" s/= ", " = (s8)r", " = (s32)r"] {
                assert!(subprogs.contains(want), "subprogs v4: missing `{want}`");
            }
        } else {
            assert!(
                !subprogs.contains(" s/= "),
                "subprogs v3 has a signed division"
            );
        }

        let ksym = dump("kconfig_ksym", cpu, &[]);
        for want in [
            "call bpf_task_acquire /* kfunc */",
            "call bpf_task_release /* kfunc */",
            "= &CONFIG_HZ /* kconfig */",
            "CONFIG_HZ                        kconfig",
        ] {
            assert!(
                ksym.contains(want),
                "kconfig_ksym {cpu:?}: missing `{want}`\n{ksym}"
            );
        }

        let fentry = dump("fentry", cpu, &[]);
        for want in [
            "= &runqueues /* ksym */",
            "call bpf_this_cpu_ptr#154",
            "unlink_entry: program tracing, attach trace_fentry, target do_unlinkat",
            "deny_nobody_exec: program lsm, attach lsm_mac, target bprm_check_security",
        ] {
            assert!(
                fentry.contains(want),
                "fentry {cpu:?}: missing `{want}`\n{fentry}"
            );
        }

        let maps = dump("maps", cpu, &[]);
        for want in [
            "= map[outer_array]",
            "= map[jump_table]",
            "call bpf_tail_call#12",
            "initial values: [0] = inner_a [2] = inner_b",
            "initial values: [1] = tail_a",
            "pinning by_name",
        ] {
            assert!(
                maps.contains(want),
                "maps {cpu:?}: missing `{want}`\n{maps}"
            );
        }

        let globals = dump("globals", cpu, &[]);
        for want in [
            "= &checksum (.data+0)",
            "= &sample_rate (.data.tuning+0)",
            "= &drop_budget (.data.tuning+4)",
            "lookup_table",
        ] {
            assert!(
                globals.contains(want),
                "globals {cpu:?}: missing `{want}`\n{globals}"
            );
        }
    }
}

/// Initial values of global variables, as the C sources set them, in both byte orders.
#[test]
fn initial_values_of_globals() {
    let le = dump("globals", Cpu::V3, &[]);
    let be = corebpf(
        &[],
        corebpf_testdata::find_big_endian("globals").unwrap().path(),
    );
    for text in [&le, &be] {
        let var = |name: &str| {
            text.lines()
                .find(|l| l.split_whitespace().nth(2) == Some(name))
                .unwrap_or_else(|| panic!("no variable {name}\n{text}"))
                .to_string()
        };
        assert!(var("snap_len").ends_with("= 96"), "{}", var("snap_len"));
        assert!(
            var("match_proto").ends_with("= 2048"),
            "{}",
            var("match_proto")
        );
        assert!(
            var("greeting").ends_with("= \"corebpf\""),
            "{}",
            var("greeting")
        );
        assert!(var("checksum").ends_with("= 23130"), "{}", var("checksum"));
        assert!(
            var("sample_rate").ends_with("= 100"),
            "{}",
            var("sample_rate")
        );
        assert!(
            var("packets_seen").ends_with("__u64"),
            "{}",
            var("packets_seen")
        );
    }
    let exec = dump("execsnoop", Cpu::V4, &[]);
    assert!(exec
        .lines()
        .any(|l| l.contains(" target_uid ") && l.ends_with("= -1")));
    assert!(exec
        .lines()
        .any(|l| l.contains(" ignore_failed ") && l.ends_with("= true")));
}

#[test]
fn section_filter() {
    let out = dump(
        "opensnoop",
        Cpu::V3,
        &["--section", "tp/syscalls/sys_enter_openat"],
    );
    assert!(out.contains("Disassembly of section tp/syscalls/sys_enter_openat"));
    assert!(!out.contains("Disassembly of section tracepoint/"));
    let o = find("opensnoop", Cpu::V3).unwrap();
    let res = Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .args(["objdump", "--section", "nope"])
        .arg(o.path())
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("no code section \"nope\""));
}

#[test]
fn json_has_the_same_instructions() {
    for o in objects() {
        let text = corebpf(&["--raw"], o.path());
        let json: serde_json::Value = serde_json::from_str(&corebpf(&["--json"], o.path()))
            .unwrap_or_else(|e| panic!("{}: JSON does not parse: {e}", o.label()));
        let theirs = parse_llvm(&llvm_objdump(o.path()));
        let ours = parse_ours(&text);
        let sections = json["sections"].as_array().unwrap();
        assert_eq!(sections.len(), ours.len(), "{}", o.label());
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for s in sections {
            let name = s["name"].as_str().unwrap();
            let count = s["insn_count"].as_u64().unwrap() as usize;
            let listed: usize = s["functions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["insns"].as_array().unwrap().len())
                .sum();
            assert_eq!(count, listed, "{} {name}", o.label());
            by_name.insert(name, count);
        }
        for (sec, lines) in theirs.iter().filter(|(_, l)| !l.is_empty()) {
            assert_eq!(
                by_name.get(sec.as_str()),
                Some(&lines.len()),
                "{} {sec}",
                o.label()
            );
        }
        assert_eq!(
            json["license"].as_str(),
            find(o.name, o.cpu).and_then(|_| json["license"].as_str())
        );
        assert!(json["btf"].as_bool().unwrap());
    }
    // Some specific values.
    let json: serde_json::Value =
        serde_json::from_str(&dump("maps", Cpu::V3, &["--json"])).unwrap();
    let outer = json["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "outer_array")
        .unwrap();
    assert_eq!(outer["type"], "array_of_maps");
    assert_eq!(outer["inner"]["max_entries"], 8);
    assert_eq!(outer["initial_slots"][1]["target"], "inner_b");
    let json: serde_json::Value =
        serde_json::from_str(&dump("subprogs", Cpu::V3, &["--json"])).unwrap();
    let sec = json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "raw_tp/sys_enter")
        .unwrap();
    let calls: Vec<&str> = sec["functions"][0]["insns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["reloc"]["kind"] == "call")
        .map(|i| i["reloc"]["target"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["fold", "bucket_of"]);
    assert_eq!(
        sec["functions"][0]["program"]["prog_type"],
        "raw_tracepoint"
    );
}

#[test]
fn bad_input_is_a_clean_error() {
    let dir = std::env::temp_dir().join(format!("corebpf-objdump-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("truncated.o");
    let data = std::fs::read(find("execsnoop", Cpu::V3).unwrap().path()).unwrap();
    std::fs::write(&bad, &data[..200]).unwrap();
    let res = Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .args(["objdump"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("truncated.o") && err.contains("malformed ELF"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
