//! Classic BPF: parsing, disassembly, explanation and reconstruction of programs tcpdump
//! compiles for 32 common filter expressions (tcpdump must be installed).

use std::process::Command;

use corebpf_insn::cbpf;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const EXPRESSIONS: &[&str] = &[
    "ip",
    "ip6",
    "arp",
    "tcp",
    "udp",
    "icmp",
    "tcp port 80",
    "udp port 53",
    "port 80",
    "udp portrange 1000-2000",
    "vlan",
    "vlan 100",
    "vlan and ip",
    "host 10.0.0.1",
    "src host 192.168.1.1",
    "dst net 10.0.0.0/8",
    "net 172.16.0.0/12",
    "tcp[tcpflags] & tcp-syn != 0",
    "icmp[icmptype] == icmp-echo",
    "len > 100",
    "less 64",
    "ip[6:2] & 0x1fff != 0",
    "ip proto 47",
    "ether host 00:11:22:33:44:55",
    "ether broadcast",
    "ether multicast",
    "not tcp",
    "tcp or udp",
    "ip and udp and ip[6:2] & 0x1fff == 0 and udp dst port 68",
    "ip6 and tcp dst port 443",
    "tcp src port 22 and not host 10.1.2.3",
    "ip host 10.0.0.1 and (tcp port 80 or tcp port 443)",
];

fn tcpdump(flag: &str, expr: &str) -> String {
    let out = Command::new("tcpdump")
        .args(["-y", "EN10MB", flag, expr])
        .output()
        .unwrap_or_else(|e| panic!("this benchmark needs tcpdump: {e}"));
    assert!(out.status.success(), "tcpdump {flag} {expr:?} failed");
    String::from_utf8(out.stdout).expect("ASCII")
}

fn bench(c: &mut Criterion) {
    let ddd: Vec<String> = EXPRESSIONS.iter().map(|e| tcpdump("-ddd", e)).collect();
    let d: Vec<String> = EXPRESSIONS.iter().map(|e| tcpdump("-d", e)).collect();
    let progs: Vec<Vec<cbpf::Insn>> = ddd
        .iter()
        .map(|t| cbpf::parse(t).expect("parse").insns)
        .collect();
    let insns: usize = progs.iter().map(Vec::len).sum();
    eprintln!("{} programs, {insns} instructions", progs.len());

    c.bench_function("cbpf/parse_ddd_32", |b| {
        b.iter(|| {
            for t in &ddd {
                black_box(cbpf::parse(black_box(t)).expect("parse"));
            }
        })
    });
    c.bench_function("cbpf/parse_d_32", |b| {
        b.iter(|| {
            for t in &d {
                black_box(cbpf::parse(black_box(t)).expect("parse"));
            }
        })
    });
    c.bench_function("cbpf/validate_disassemble_32", |b| {
        b.iter(|| {
            for p in &progs {
                cbpf::validate(black_box(p)).expect("valid");
                black_box(cbpf::disassemble(p));
            }
        })
    });
    c.bench_function("cbpf/explain_32", |b| {
        b.iter(|| {
            for p in &progs {
                black_box(cbpf::explain(black_box(p)));
            }
        })
    });
    c.bench_function("cbpf/reconstruct_32", |b| {
        b.iter(|| {
            for p in &progs {
                black_box(cbpf::reconstruct(black_box(p)).expect("reconstruct"));
            }
        })
    });
    let pkt = [0u8; 128];
    c.bench_function("cbpf/run_32_on_one_packet", |b| {
        b.iter(|| {
            for p in &progs {
                black_box(cbpf::run(black_box(p), &cbpf::RunContext::new(&pkt)).expect("run"));
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
