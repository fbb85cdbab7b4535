//! Classic BPF against tcpdump/libpcap as the oracle: for a table of real filter expressions,
//! tcpdump compiles each one and our decoder, disassembler, parsers and expression
//! reconstruction must agree with what it prints.

use std::process::Command;

use corebpf_insn::cbpf::{self, Form, Insn, RunContext};

/// How tcpdump is asked to compile: offline for Ethernet, or against the loopback device
/// (Linux ancillary loads such as `vlanp` are only used on a live device).
#[derive(Clone, Copy, Debug)]
enum Mode {
    Offline,
    Loopback,
}

/// Filter expressions covering the shapes tcpdump emits.
const EXPRESSIONS: &[(&str, Mode)] = &[
    ("ip", Mode::Offline),
    ("ip6", Mode::Offline),
    ("arp", Mode::Offline),
    ("rarp", Mode::Offline),
    ("tcp", Mode::Offline),
    ("udp", Mode::Offline),
    ("icmp", Mode::Offline),
    ("sctp", Mode::Offline),
    ("tcp port 80", Mode::Offline),
    ("udp port 53", Mode::Offline),
    ("port 80", Mode::Offline),
    ("udp portrange 1000-2000", Mode::Offline),
    ("vlan", Mode::Offline),
    ("vlan 100", Mode::Offline),
    ("vlan 100", Mode::Loopback),
    ("vlan and ip", Mode::Offline),
    ("host 10.0.0.1", Mode::Offline),
    ("src host 192.168.1.1", Mode::Offline),
    ("dst net 10.0.0.0/8", Mode::Offline),
    ("net 172.16.0.0/12", Mode::Offline),
    ("tcp[tcpflags] & tcp-syn != 0", Mode::Offline),
    (
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        Mode::Offline,
    ),
    ("tcp[13] = 18", Mode::Offline),
    ("icmp[icmptype] == icmp-echo", Mode::Offline),
    (
        "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
        Mode::Offline,
    ),
    ("len > 100", Mode::Offline),
    ("greater 200", Mode::Offline),
    ("less 64", Mode::Offline),
    ("ip[6:2] & 0x1fff != 0", Mode::Offline),
    ("ip[8] < 64", Mode::Offline),
    ("ip proto 47", Mode::Offline),
    ("ether host 00:11:22:33:44:55", Mode::Offline),
    ("ether src 00:11:22:33:44:55", Mode::Offline),
    ("ether broadcast", Mode::Offline),
    ("ether multicast", Mode::Offline),
    ("ether proto 0x88cc", Mode::Offline),
    ("ip multicast", Mode::Offline),
    ("not tcp", Mode::Offline),
    ("tcp or udp", Mode::Offline),
    (
        "ip and udp and ip[6:2] & 0x1fff == 0 and udp dst port 68",
        Mode::Offline,
    ),
    ("ip6 and tcp dst port 443", Mode::Offline),
    ("tcp src port 22 and not host 10.1.2.3", Mode::Offline),
    (
        "ip host 10.0.0.1 and (tcp port 80 or tcp port 443)",
        Mode::Offline,
    ),
    ("ip6 host ::1", Mode::Offline),
    ("ip[2:2] * 2 > 100", Mode::Offline),
];

fn tcpdump(flag: &str, expr: &str, mode: Mode) -> String {
    let mut cmd = Command::new("tcpdump");
    match mode {
        Mode::Offline => cmd.args(["-y", "EN10MB"]),
        Mode::Loopback => cmd.args(["-i", "lo"]),
    };
    cmd.arg(flag).arg(expr);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run tcpdump (install the tcpdump package): {e}"));
    assert!(
        out.status.success(),
        "tcpdump {flag} {expr:?} ({mode:?}) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tcpdump prints ASCII")
}

fn compile(expr: &str, mode: Mode) -> Vec<Insn> {
    let text = tcpdump("-ddd", expr, mode);
    let parsed = cbpf::parse(&text).unwrap_or_else(|e| panic!("{expr}: {e}\n{text}"));
    assert_eq!(parsed.form, Form::Ddd);
    parsed.insns
}

#[test]
fn ddd_round_trips_and_validates() {
    for &(expr, mode) in EXPRESSIONS {
        let text = tcpdump("-ddd", expr, mode);
        let insns = compile(expr, mode);
        cbpf::validate(&insns).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(cbpf::format_ddd(&insns), text, "{expr}");
        let bytes = cbpf::encode(&insns);
        assert_eq!(bytes.len(), insns.len() * 8);
        assert_eq!(cbpf::decode(&bytes).expect("decode"), insns, "{expr}");
    }
}

#[test]
fn disassembly_matches_tcpdump_d() {
    for &(expr, mode) in EXPRESSIONS {
        let insns = compile(expr, mode);
        let expected = tcpdump("-d", expr, mode);
        assert_eq!(cbpf::disassemble(&insns), expected, "{expr} ({mode:?})");
        // And the `-d` text parses back to the same instructions.
        let parsed = cbpf::parse(&expected).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(parsed.form, Form::Disasm);
        assert_eq!(parsed.insns, insns, "{expr}");
    }
}

#[test]
fn c_array_matches_tcpdump_dd() {
    for &(expr, mode) in EXPRESSIONS {
        let insns = compile(expr, mode);
        let expected = tcpdump("-dd", expr, mode);
        assert_eq!(cbpf::format_c_array(&insns), expected, "{expr}");
        let parsed = cbpf::parse(&expected).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(parsed.form, Form::CArray);
        assert_eq!(parsed.insns, insns, "{expr}");
        // Wrapped in a C declaration as people paste it.
        let decl = format!("struct sock_filter code[] = {{\n{expected}}};\n");
        assert_eq!(cbpf::parse(&decl).expect("declaration").insns, insns);
    }
}

#[test]
fn comma_forms_parse() {
    for &(expr, mode) in EXPRESSIONS {
        let insns = compile(expr, mode);
        let line = cbpf::format_comma(&insns);
        let ss = format!("\tbpf filter ({}): {line}", insns.len());
        for text in [line.clone(), ss] {
            let parsed = cbpf::parse(&text).unwrap_or_else(|e| panic!("{expr}: {e}\n{text}"));
            assert_eq!(parsed.form, Form::Comma);
            assert_eq!(parsed.insns, insns, "{expr}");
        }
        // iptables' `--bytecode` form: `tcpdump -ddd` joined with commas.
        let ddd = tcpdump("-ddd", expr, mode);
        let joined = ddd.trim_end().replace('\n', ",");
        assert_eq!(cbpf::parse(&joined).expect("bytecode form").insns, insns);
    }
}
