//! Classic BPF against tcpdump/libpcap as the oracle: for a table of real filter expressions,
//! tcpdump compiles each one and our decoder, disassembler, parsers and expression
//! reconstruction must agree with what it prints.

use std::net::Ipv6Addr;
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
    ("vlan", Mode::Loopback),
    ("vlan and ip", Mode::Loopback),
    ("vlan 100 and tcp port 80", Mode::Loopback),
    ("not vlan", Mode::Loopback),
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
    (
        "host 10.0.0.1 or host 192.168.1.1 or host 10.1.2.3",
        Mode::Offline,
    ),
    (
        "(tcp port 80 or tcp port 443) and not src net 10.0.0.0/8",
        Mode::Offline,
    ),
    ("udp and not port 53 and not port 68", Mode::Offline),
    (
        "icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply",
        Mode::Offline,
    ),
    ("ip and len > 200 and ip[8] > 32", Mode::Offline),
    (
        "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0",
        Mode::Offline,
    ),
    ("vlan 100 and (tcp or icmp)", Mode::Offline),
    (
        "ether src 00:11:22:33:44:55 and (arp or ip6)",
        Mode::Offline,
    ),
    ("not (ip or ip6 or arp)", Mode::Offline),
    ("portrange 20-25 or portrange 50-60", Mode::Offline),
    ("icmp6", Mode::Offline),
    ("igmp", Mode::Offline),
    ("ip6 and udp port 53", Mode::Offline),
    ("arp[6:2] == 2", Mode::Offline),
    ("tcp dst portrange 8000-8080", Mode::Offline),
    ("src net 192.168.0.0/16 and dst port 443", Mode::Offline),
    ("not (tcp port 22 or udp port 53)", Mode::Offline),
    ("ip[1] & 0xfc == 0xb8", Mode::Offline),
    ("ether dst ff:ff:ff:ff:ff:ff", Mode::Offline),
    ("udp and (port 67 or port 68)", Mode::Offline),
    ("tcp[tcpflags] & (tcp-fin|tcp-rst) != 0", Mode::Offline),
    ("host 10.0.0.1 and host 192.168.1.1", Mode::Offline),
    ("ip6 dst host 2001:db8::1", Mode::Offline),
    ("vlan 200 and udp", Mode::Offline),
    ("len >= 60 and len <= 1500", Mode::Offline),
    ("tcp[2:2] > 1023", Mode::Offline),
    (
        "ether src 00:11:22:33:44:55 or ether dst 02:00:00:00:00:01",
        Mode::Offline,
    ),
    ("ip proto 47 or ip proto 50", Mode::Offline),
    ("not ip6", Mode::Offline),
    ("udp[8:4] == 0", Mode::Offline),
    ("ip[0] & 0xf != 5", Mode::Offline),
    ("ip6 multicast", Mode::Offline),
    ("ether[0] & 1 = 0", Mode::Offline),
    ("icmp or icmp6", Mode::Offline),
    ("ip and (ip[9] == 6 or ip[9] == 17)", Mode::Offline),
    ("not port 80", Mode::Offline),
    ("src port 3000 and dst portrange 1-1023", Mode::Offline),
    ("vlan and vlan 300", Mode::Offline),
    ("ip6 and not icmp6", Mode::Offline),
    ("arp or rarp", Mode::Offline),
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

/// Deterministic pseudo-random numbers (64-bit LCG) for the packet corpus.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.next() as usize % v.len()]
    }
}

const IP4: [[u8; 4]; 6] = [
    [10, 0, 0, 1],
    [192, 168, 1, 1],
    [10, 1, 2, 3],
    [172, 16, 5, 4],
    [224, 0, 0, 1],
    [8, 8, 8, 8],
];
const PORTS: [u16; 9] = [80, 443, 53, 22, 68, 1500, 3000, 999, 8042];

/// One synthetic packet and the offloaded VLAN tag that comes with it, if any.
struct Sample {
    bytes: Vec<u8>,
    vlan_tci: Option<u16>,
}

fn transport(r: &mut Lcg, proto: u8, out: &mut Vec<u8>) {
    match proto {
        6 | 17 | 132 => {
            out.extend_from_slice(&r.pick(&PORTS).to_be_bytes());
            out.extend_from_slice(&r.pick(&PORTS).to_be_bytes());
            if proto == 6 {
                out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50]);
                out.push(r.pick(&[0x02u8, 0x12, 0x10, 0x11, 0x04]));
                out.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
            } else {
                out.extend_from_slice(&[0, 8, 0, 0]);
            }
        }
        1 | 58 => {
            out.push(r.pick(&[0u8, 8, 3, 11, 128, 129]));
            out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
        }
        _ => out.extend_from_slice(&[0; 8]),
    }
}

fn packet(r: &mut Lcg) -> Sample {
    let mut p = Vec::with_capacity(128);
    let macs: [[u8; 6]; 4] = [
        [0xff; 6],
        [0x01, 0x00, 0x5e, 0, 0, 1],
        [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
        [0x02, 0, 0, 0, 0, 1],
    ];
    p.extend_from_slice(&r.pick(&macs));
    p.extend_from_slice(&r.pick(&macs));
    let mut vlan_tci = None;
    match r.next() % 7 {
        0 => {
            p.extend_from_slice(&r.pick(&[0x8100u16, 0x88a8, 0x9100]).to_be_bytes());
            p.extend_from_slice(&r.pick(&[100u16, 200, 0x2064]).to_be_bytes());
        }
        1 => vlan_tci = Some(r.pick(&[100u16, 200, 0x2064])),
        2 => {
            // Two tags (802.1ad outside, 802.1Q inside).
            p.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a]);
            p.extend_from_slice(&[0x81, 0x00]);
            p.extend_from_slice(&r.pick(&[100u16, 300]).to_be_bytes());
        }
        _ => {}
    }
    let ethertype = r.pick(&[
        0x800u16, 0x800, 0x800, 0x86dd, 0x86dd, 0x806, 0x8035, 0x88cc, 0x1234,
    ]);
    p.extend_from_slice(&ethertype.to_be_bytes());
    match ethertype {
        0x800 => {
            let ihl = r.pick(&[5u8, 5, 6]);
            let proto = r.pick(&[6u8, 6, 17, 17, 1, 2, 132, 47]);
            let frag = r.pick(&[0u16, 0, 0, 0x2000, 0x0010]);
            let start = p.len();
            p.push(0x40 | ihl);
            p.push(r.pick(&[0u8, 0, 0xb8]));
            p.extend_from_slice(&[0, 0, 0, 1]);
            p.extend_from_slice(&frag.to_be_bytes());
            p.push(r.pick(&[32u8, 64, 128]));
            p.push(proto);
            p.extend_from_slice(&[0, 0]);
            p.extend_from_slice(&r.pick(&IP4));
            p.extend_from_slice(&r.pick(&IP4));
            if ihl == 6 {
                p.extend_from_slice(&[1, 1, 1, 0]);
            }
            transport(r, proto, &mut p);
            let tot = (p.len() - start) as u16 + (r.next() % 64) as u16;
            p[start + 2..start + 4].copy_from_slice(&tot.to_be_bytes());
        }
        0x86dd => {
            let nh = r.pick(&[6u8, 17, 58, 132, 44, 44]);
            p.extend_from_slice(&[0x60, 0, 0, 0, 0, 20, nh, 64]);
            let a1: [u8; 16] = Ipv6Addr::LOCALHOST.octets();
            let a2: [u8; 16] = "2001:db8::1".parse::<Ipv6Addr>().expect("address").octets();
            let a3: [u8; 16] = "ff02::1".parse::<Ipv6Addr>().expect("address").octets();
            p.extend_from_slice(&r.pick(&[a1, a2]));
            p.extend_from_slice(&r.pick(&[a1, a2, a3]));
            let mut proto = nh;
            if nh == 44 {
                proto = r.pick(&[6u8, 17]);
                p.extend_from_slice(&[proto, 0, 0, 0, 0, 0, 0, 1]);
            }
            transport(r, proto, &mut p);
        }
        0x806 | 0x8035 => {
            p.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, r.pick(&[1u8, 2])]);
            p.extend_from_slice(&[2, 0, 0, 0, 0, 2]);
            p.extend_from_slice(&r.pick(&IP4));
            p.extend_from_slice(&[0; 6]);
            p.extend_from_slice(&r.pick(&IP4));
        }
        _ => p.extend_from_slice(&[0; 30]),
    }
    let pad = r.next() % 200;
    p.extend(std::iter::repeat(0u8).take(pad as usize));
    if r.next() % 20 == 0 {
        let keep = r.next() as usize % p.len();
        p.truncate(keep);
    }
    Sample { bytes: p, vlan_tci }
}

fn corpus() -> Vec<Sample> {
    let mut r = Lcg(0x5eed);
    (0..20_000).map(|_| packet(&mut r)).collect()
}

fn verdicts(insns: &[Insn], corpus: &[Sample]) -> Vec<u32> {
    corpus
        .iter()
        .map(|s| {
            let ctx = RunContext {
                vlan_tci: s.vlan_tci,
                ..RunContext::new(&s.bytes)
            };
            cbpf::run(insns, &ctx).expect("valid program")
        })
        .collect()
}

#[test]
fn reconstructed_expressions_recompile_to_equivalent_programs() {
    let corpus = corpus();
    let mut identical = 0;
    let mut equivalent = 0;
    for &(expr, mode) in EXPRESSIONS {
        let insns = compile(expr, mode);
        let rec = cbpf::reconstruct(&insns);
        let rec = rec.unwrap_or_else(|e| panic!("{expr} ({mode:?}): {e}"));
        assert_eq!(rec.snap, Some(262144), "{expr}");
        let again = compile(&rec.expr, mode);
        if again == insns {
            identical += 1;
            continue;
        }
        // Not the same instructions: the same verdict on every packet of the corpus.
        let a = verdicts(&insns, &corpus);
        let b = verdicts(&again, &corpus);
        let accepted = a.iter().filter(|v| **v != 0).count();
        assert!(
            accepted > 0,
            "{expr}: the corpus never exercises the accept path"
        );
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(
                x, y,
                "{expr} vs reconstructed {:?}: verdicts differ on packet {i} {:02x?}",
                rec.expr, corpus[i].bytes
            );
        }
        equivalent += 1;
    }
    assert!(identical >= 30, "only {identical} identical recompilations");
    eprintln!("reconstruction: {identical} identical, {equivalent} equivalent on the corpus");
}

/// The interpreter agrees with the kernel-independent reading of a few programs: the corpus
/// itself must exercise both verdicts of every expression (otherwise the equivalence check
/// above proves nothing for it).
#[test]
fn corpus_exercises_accept_and_drop() {
    let corpus = corpus();
    for &(expr, mode) in EXPRESSIONS {
        let v = verdicts(&compile(expr, mode), &corpus);
        let acc = v.iter().filter(|x| **x != 0).count();
        assert!(
            acc > 0 && acc < v.len(),
            "{expr}: accepts {acc} of {}",
            v.len()
        );
    }
}

/// The seed filter, as `ss -0 -b` prints it: it is explained as IPv4, UDP, not a fragment,
/// UDP destination port 68, and its reconstruction compiled by tcpdump keeps the same verdict
/// on every corpus packet (tcpdump returns its snap length 262144 instead of the seed's -1,
/// so verdicts are compared as accept/drop).
#[test]
fn seed_filter_explained_and_reconstructed() {
    let text = "bpf filter (11): 0x28 0 0 12, 0x15 0 8 2048, 0x30 0 0 23, 0x15 0 6\n17, 0x28 0 0 20, 0x45 4 0 8191, 0xb1 0 0 14, 0x48 0 0 16, 0x15 0 1 68,\n0x06 0 0 4294967295, 0x06 0 0 0,";
    let p = cbpf::parse(text).expect("seed parses");
    assert_eq!(p.form, Form::Comma);
    assert_eq!(p.insns.len(), 11);
    cbpf::validate(&p.insns).expect("seed validates");
    let e = cbpf::explain(&p.insns);
    assert_eq!(e.accept_paths.len(), 1);
    let conds = e.accept_paths[0].conditions.join(", ");
    for needle in [
        "IPv4",
        "UDP (17)",
        "fragment offset == 0",
        "UDP destination port == 68",
    ] {
        assert!(conds.contains(needle), "{needle:?} missing in {conds:?}");
    }
    assert_eq!(e.accept_paths[0].snap, Some(u32::MAX));
    let rec = cbpf::reconstruct(&p.insns).expect("reconstructs");
    assert_eq!(rec.snap, Some(u32::MAX));
    let again = compile(&rec.expr, Mode::Offline);
    let corpus = corpus();
    let a: Vec<bool> = verdicts(&p.insns, &corpus)
        .iter()
        .map(|v| *v != 0)
        .collect();
    let b: Vec<bool> = verdicts(&again, &corpus).iter().map(|v| *v != 0).collect();
    assert!(a.iter().any(|x| *x));
    assert_eq!(a, b, "reconstructed {:?}", rec.expr);
    // tcpdump's program for the reconstruction differs from the seed only in the snap length.
    let snap_fixed: Vec<Insn> = p
        .insns
        .iter()
        .map(|i| {
            if i.code == 0x06 && i.k == u32::MAX {
                Insn { k: 262144, ..*i }
            } else {
                *i
            }
        })
        .collect();
    assert_eq!(again, snap_fixed, "reconstructed {:?}", rec.expr);
}

/// Random programs in the shape filters have (a load, maybe arithmetic, a test jumping
/// forward; returns at the end): each reconstructed expression, compiled by tcpdump, gives the
/// same accept/drop verdict on random packets long enough for every load (reconstruction
/// assumes loads stay inside the packet; see docs/CBPF.md).
#[test]
fn random_programs_reconstruct_to_equivalent_expressions() {
    let mut r = Lcg(0xcbf);
    let packets: Vec<Vec<u8>> = (0..2000)
        .map(|_| {
            let n = 140 + r.next() as usize % 40;
            let mut p: Vec<u8> = (0..n)
                .map(|_| {
                    let v = r.next();
                    if v % 3 == 0 {
                        (v >> 8) as u8
                    } else {
                        r.pick(&[0u8, 1, 2, 6, 17, 8, 0x45, 0x86, 0xdd, 0x81, 0x50, 0xff])
                    }
                })
                .collect();
            if r.next() % 2 == 0 {
                p[12..15].copy_from_slice(&[8, 0, 0x45]);
            }
            p
        })
        .collect();
    let mut checked = 0;
    for _ in 0..150 {
        let tests = 2 + r.next() as usize % 6;
        let mut v: Vec<Insn> = Vec::new();
        for _ in 0..tests {
            match r.next() % 8 {
                0 => v.push(Insn::stmt(0x28, r.next() % 60)),
                1 | 2 => v.push(Insn::stmt(0x30, r.next() % 60)),
                3 => v.push(Insn::stmt(0x20, r.next() % 56)),
                4 => {
                    v.push(Insn::stmt(0xb1, 14));
                    v.push(Insn::stmt(r.pick(&[0x48u16, 0x50]), r.next() % 30));
                }
                5 => v.push(Insn::stmt(0x80, 0)),
                6 => {
                    v.push(Insn::stmt(0x01, r.next() % 8));
                    v.push(Insn::stmt(0x50, r.next() % 40));
                }
                _ => {
                    v.push(Insn::stmt(0x28, r.next() % 60));
                    let (alu, ks): (u16, &[u32]) = r.pick(&[
                        (0x54u16, &[0xfu32, 0x1fff, 0xff00][..]),
                        (0x04, &[2, 14][..]),
                        (0x24, &[2, 4][..]),
                        (0x74, &[1, 4, 8][..]),
                    ]);
                    v.push(Insn::stmt(alu, r.pick(ks)));
                }
            }
            let op = r.pick(&[0x15u16, 0x15, 0x25, 0x35, 0x45]);
            let k = r.pick(&[1u32, 6, 17, 0x800, 0x86dd, 80, 0x1fff, 100, 0x45, 0x12]);
            v.push(Insn::new(op, r.next() as u8 % 12, r.next() as u8 % 12, k));
        }
        let body = v.len();
        for j in 0..14 {
            v.push(Insn::stmt(0x06, if j % 2 == 0 { 262144 } else { 0 }));
        }
        // Keep every jump inside the program.
        let len = v.len();
        for (pc, i) in v.iter_mut().enumerate().take(body) {
            if i.is_cond_jump() {
                let room = (len - pc - 2).min(255) as u8;
                i.jt = i.jt.min(room);
                i.jf = i.jf.min(room);
            }
        }
        cbpf::validate(&v).expect("generated program validates");
        let rec =
            cbpf::reconstruct(&v).unwrap_or_else(|e| panic!("{e}\n{}", cbpf::disassemble(&v)));
        if rec.expr.is_empty() || rec.expr == "not len >= 0" {
            // Constant verdict: no expression for tcpdump to compile against.
            continue;
        }
        let again = compile(&rec.expr, Mode::Offline);
        for p in &packets {
            let ctx = RunContext::new(p);
            let a = cbpf::run(&v, &ctx).expect("runs") != 0;
            let b = cbpf::run(&again, &ctx).expect("runs") != 0;
            assert_eq!(
                a,
                b,
                "{:?} on {p:02x?}\n{}",
                rec.expr,
                cbpf::disassemble(&v)
            );
        }
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} programs had an expression");
}
