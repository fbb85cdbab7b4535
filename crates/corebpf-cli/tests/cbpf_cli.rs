//! `corebpf cbpf decode` run as a process, checked against tcpdump.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn corebpf(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corebpf"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run corebpf");
    {
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(data) = stdin {
            pipe.write_all(data).expect("write stdin");
        }
    }
    child.wait_with_output().expect("corebpf output")
}

fn tcpdump(flag: &str, expr: &str) -> String {
    let out = Command::new("tcpdump")
        .args(["-y", "EN10MB", flag, expr])
        .output()
        .unwrap_or_else(|e| panic!("cannot run tcpdump (install the tcpdump package): {e}"));
    assert!(
        out.status.success(),
        "tcpdump {flag} {expr:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("ASCII")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "corebpf failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("UTF-8")
}

/// `tcpdump -ddd` text as (code, jt, jf, k) tuples, parsed here independently of corebpf.
fn ddd_tuples(text: &str) -> Vec<[u64; 4]> {
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .map(|x| x.parse().expect("decimal"))
                .collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect()
}

#[test]
fn raw_output_is_tcpdump_d_for_every_input_form() {
    for expr in [
        "tcp port 80",
        "host 10.0.0.1 and not udp",
        "vlan 100 and ip6",
    ] {
        let expected = tcpdump("-d", expr);
        for flag in ["-d", "-dd", "-ddd"] {
            let input = tcpdump(flag, expr);
            let o = corebpf(&["cbpf", "decode", "--raw"], Some(input.as_bytes()));
            assert_eq!(stdout(&o), expected, "{expr} from {flag}");
        }
        // As a command-line argument, in the one-line comma form.
        let ddd = tcpdump("-ddd", expr);
        let comma: Vec<String> = ddd_tuples(&ddd)
            .iter()
            .map(|t| format!("0x{:02x} {} {} {}", t[0], t[1], t[2], t[3]))
            .collect();
        let arg = format!("bpf filter ({}): {},", comma.len(), comma.join(", "));
        let o = corebpf(&["cbpf", "decode", "--raw", &arg], None);
        assert_eq!(stdout(&o), expected, "{expr} from the comma form");
    }
}

#[test]
fn binary_file_input() {
    let ddd = tcpdump("-ddd", "udp portrange 1000-2000");
    let mut bytes = Vec::new();
    for t in ddd_tuples(&ddd) {
        bytes.extend_from_slice(&(t[0] as u16).to_le_bytes());
        bytes.push(t[1] as u8);
        bytes.push(t[2] as u8);
        bytes.extend_from_slice(&(t[3] as u32).to_le_bytes());
    }
    let path = std::env::temp_dir().join(format!("corebpf-cbpf-{}.bin", std::process::id()));
    std::fs::write(&path, &bytes).expect("write temp file");
    let o = corebpf(
        &[
            "cbpf",
            "decode",
            "--raw",
            path.to_str().expect("utf-8 path"),
        ],
        None,
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!(stdout(&o), tcpdump("-d", "udp portrange 1000-2000"));
}

#[test]
fn expression_recompiles_to_the_same_program() {
    for expr in [
        "tcp port 80",
        "ip6 and tcp dst port 443",
        "ether broadcast",
        "icmp",
    ] {
        let ddd = tcpdump("-ddd", expr);
        let o = corebpf(&["cbpf", "decode", "--expr"], Some(ddd.as_bytes()));
        let rec = stdout(&o);
        let rec = rec.trim_end();
        assert_eq!(tcpdump("-ddd", rec), ddd, "{expr} reconstructed as {rec:?}");
    }
}

#[test]
fn default_output_explains_the_seed_filter() {
    let seed = "0x28 0 0 12, 0x15 0 8 2048, 0x30 0 0 23, 0x15 0 6 17, 0x28 0 0 20, 0x45 4 0 8191, 0xb1 0 0 14, 0x48 0 0 16, 0x15 0 1 68, 0x06 0 0 4294967295, 0x06 0 0 0,";
    let out = stdout(&corebpf(&["cbpf", "decode", "--explain", seed], None));
    // Every tcpdump -d line is there, each followed by its note.
    let text = seed
        .trim_end_matches(',')
        .split(',')
        .map(|i| {
            let f: Vec<&str> = i.split_whitespace().collect();
            let code = u16::from_str_radix(f[0].trim_start_matches("0x"), 16).expect("hex");
            format!("{} {} {} {}", code, f[1], f[2], f[3])
        })
        .collect::<Vec<_>>();
    let ddd = format!("{}\n{}\n", text.len(), text.join("\n"));
    let disasm = stdout(&corebpf(&["cbpf", "decode", "--raw"], Some(ddd.as_bytes())));
    for line in disasm.lines() {
        assert!(
            out.lines().any(|l| l.starts_with(line) && l.contains("; ")),
            "{line:?} missing or without a note in:\n{out}"
        );
    }
    for needle in [
        "ethernet type == IPv4",
        "IPv4 protocol == UDP (17)",
        "IPv4 fragment offset == 0",
        "UDP destination port == 68",
        "accept the whole packet",
    ] {
        assert!(out.contains(needle), "{needle:?} missing in:\n{out}");
    }
    let expr_line = out
        .lines()
        .find_map(|l| l.strip_prefix("expression: "))
        .expect("expression line");
    // tcpdump compiles it to the seed's instructions (its snap length instead of -1).
    let recompiled = ddd_tuples(&tcpdump("-ddd", expr_line));
    let mut seed_tuples = ddd_tuples(&ddd);
    for t in &mut seed_tuples {
        if t[0] == 6 && t[3] == u64::from(u32::MAX) {
            t[3] = 262144;
        }
    }
    assert_eq!(recompiled, seed_tuples, "expression {expr_line:?}");
}

#[test]
fn json_output() {
    let ddd = tcpdump("-ddd", "arp");
    let out = stdout(&corebpf(
        &["cbpf", "decode", "--json"],
        Some(ddd.as_bytes()),
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let tuples = ddd_tuples(&ddd);
    assert_eq!(v["count"].as_u64(), Some(tuples.len() as u64));
    let insns = v["insns"].as_array().expect("insns");
    for (i, t) in insns.iter().zip(&tuples) {
        assert_eq!(
            [&i["code"], &i["jt"], &i["jf"], &i["k"]].map(|x| x.as_u64().expect("number")),
            *t
        );
    }
    let disasm = tcpdump("-d", "arp");
    let texts: Vec<&str> = insns
        .iter()
        .map(|i| i["text"].as_str().expect("text"))
        .collect();
    assert_eq!(texts, disasm.lines().collect::<Vec<_>>());
    assert_eq!(v["expression"].as_str(), Some("arp"));
    assert_eq!(v["form"].as_str(), Some("tcpdump -ddd"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: &[(&str, &str)] = &[
        (
            "2\n40 0 0 12\n6 0 0 x\n",
            "line 3, column 7: `x` is not a valid k",
        ),
        ("40 0 0 12, 21 0 1", "instruction has 3 fields"),
        (
            "(000) ldh [12]\n(001) jeq #0x800 jt 2 jf 9\n(002) ret #0\n",
            "jump",
        ),
        ("40 0 0 12\n", "last instruction (0) is not a return"),
        ("(000) frob [12]\n", "unknown mnemonic `frob`"),
    ];
    for (input, needle) in cases {
        let o = corebpf(&["cbpf", "decode"], Some(input.as_bytes()));
        assert!(!o.status.success(), "{input:?} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{input:?}: {err:?} lacks {needle:?}");
        assert!(o.stdout.is_empty(), "{input:?} printed output");
    }
}
