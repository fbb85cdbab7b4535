//! Packet-layout knowledge: which header field an offset means, given what is known about
//! the packet so far (Ethernet link layer, VLAN tags, IPv4/IPv6/ARP, transport protocol).

use super::sym::{Base, Cond, Val};
use super::{AluOp, JmpOp, Size};

/// Known possible values of symbolic values along a path (`jeq` tests that succeeded).
pub(crate) type Facts = Vec<(Val, Vec<u32>)>;

pub(crate) fn lookup<'a>(facts: &'a [(Val, Vec<u32>)], v: &Val) -> Option<&'a [u32]> {
    facts
        .iter()
        .rev()
        .find(|(k, _)| k == v)
        .map(|(_, s)| s.as_slice())
}

pub(crate) const VLAN_TPIDS: [u32; 3] = [0x8100, 0x88a8, 0x9100];
pub(crate) const ETH_IP: u32 = 0x800;
pub(crate) const ETH_IP6: u32 = 0x86dd;
pub(crate) const ETH_ARP: u32 = 0x806;
pub(crate) const ETH_RARP: u32 = 0x8035;

/// Network-layer protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum L3 {
    Ip4,
    Ip6,
    /// ARP or RARP (same layout).
    Arp,
    Rarp,
}

impl L3 {
    pub(crate) fn from_ethertype(t: u32) -> Option<L3> {
        match t {
            ETH_IP => Some(L3::Ip4),
            ETH_IP6 => Some(L3::Ip6),
            ETH_ARP => Some(L3::Arp),
            ETH_RARP => Some(L3::Rarp),
            _ => None,
        }
    }
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            L3::Ip4 => "ip",
            L3::Ip6 => "ip6",
            L3::Arp => "arp",
            L3::Rarp => "rarp",
        }
    }
}

/// What is known about the packet's layers at a point of the program.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layers {
    /// Number of 802.1Q/802.1ad tags known to be in the packet data.
    pub vlan_depth: u32,
    /// Offset of the (innermost known) ethertype.
    pub type_off: u32,
    pub l3: Option<L3>,
    /// Offset of the network header.
    pub l3_off: u32,
    /// Possible transport protocols (IPv4 protocol / IPv6 next header).
    pub l4: Vec<u32>,
    /// For IPv6: offset of the transport header relative to the IPv6 header.
    pub l4_rel6: u32,
    /// IPv6 with a fragment header right after the fixed header.
    pub ip6_frag: bool,
}

fn pkt(off: u32, size: Size) -> Val {
    Val::Pkt {
        base: Base::Abs,
        off,
        size,
    }
}

impl Layers {
    pub(crate) fn from_facts(facts: &[(Val, Vec<u32>)]) -> Layers {
        let mut type_off = 12;
        let mut vlan_depth = 0;
        while vlan_depth < 4 {
            match lookup(facts, &pkt(type_off, Size::H)) {
                Some(s) if !s.is_empty() && s.iter().all(|t| VLAN_TPIDS.contains(t)) => {
                    type_off += 4;
                    vlan_depth += 1;
                }
                _ => break,
            }
        }
        let l3_off = type_off + 2;
        let l3 = match lookup(facts, &pkt(type_off, Size::H)) {
            Some([t]) => L3::from_ethertype(*t),
            Some(s) if !s.is_empty() && s.iter().all(|t| *t == ETH_ARP || *t == ETH_RARP) => {
                Some(L3::Arp)
            }
            _ => None,
        };
        let mut l4 = Vec::new();
        let mut l4_rel6 = 40;
        let mut ip6_frag = false;
        match l3 {
            Some(L3::Ip4) => {
                if let Some(s) = lookup(facts, &pkt(l3_off + 9, Size::B)) {
                    l4 = s.to_vec();
                }
            }
            Some(L3::Ip6) => {
                if let Some(s) = lookup(facts, &pkt(l3_off + 6, Size::B)) {
                    if s == [44] {
                        ip6_frag = true;
                        // Fragment header: the protocol follows it.
                        if let Some(inner) = lookup(facts, &pkt(l3_off + 40, Size::B)) {
                            l4 = inner.to_vec();
                            l4_rel6 = 48;
                        }
                    } else {
                        l4 = s.to_vec();
                    }
                }
            }
            _ => {}
        }
        Layers {
            vlan_depth,
            type_off,
            l3,
            l3_off,
            l4,
            l4_rel6,
            ip6_frag,
        }
    }
}

/// Semantic kind of a field, for naming values and recognizing idioms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    EtherType,
    /// Bytes `off..off+size` of the destination (`src == false`) or source MAC address.
    Mac {
        src: bool,
        off: u32,
        len: u32,
    },
    VlanTci,
    VlanId,
    IpProto,
    Ip4Addr {
        src: bool,
    },
    /// IPv4 address under a netmask.
    Ip4Net {
        src: bool,
        mask: u32,
    },
    /// 32-bit word `word` of an IPv6 address.
    Ip6Word {
        src: bool,
        word: u32,
    },
    FragOffset,
    Port {
        src: bool,
    },
    TcpFlags,
    IcmpType,
    ArpAddr {
        src: bool,
    },
    ArpOp,
    Len,
    AncVlanPresent,
    AncVlanTci,
    Other,
}

/// A described field: human text, pcap-filter syntax when one exists, kind.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub human: String,
    pub pcap: Option<String>,
    pub kind: Kind,
    /// Protocol the pcap syntax implies (`tcp[..]` implies IPv4 TCP, not a fragment).
    pub l3: Option<L3>,
    pub l4: Vec<u32>,
}

impl Field {
    fn new(human: impl Into<String>, pcap: Option<String>, kind: Kind) -> Field {
        Field {
            human: human.into(),
            pcap,
            kind,
            l3: None,
            l4: Vec::new(),
        }
    }
}

fn bracket(proto: &str, off: u32, size: Size) -> String {
    match size {
        Size::B => format!("{proto}[{off}]"),
        s => format!("{proto}[{off}:{}]", s.bytes()),
    }
}

pub(crate) fn l4_name(p: u32) -> Option<&'static str> {
    Some(match p {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        58 => "icmp6",
        132 => "sctp",
        _ => return None,
    })
}

fn l4_human(set: &[u32]) -> String {
    if set.is_empty() {
        return "transport".into();
    }
    let names: Vec<String> = set
        .iter()
        .map(|p| l4_name(*p).map_or_else(|| format!("proto {p}"), str::to_uppercase))
        .collect();
    names.join("/")
}

fn transport_field(rel: u32, size: Size, l4: &[u32]) -> (String, Kind) {
    let all = |ps: &[u32]| !l4.is_empty() && l4.iter().all(|p| ps.contains(p));
    let name = l4_human(l4);
    let (what, kind) = match (rel, size) {
        (0, Size::H) if all(&[6, 17, 132]) => ("source port", Kind::Port { src: true }),
        (2, Size::H) if all(&[6, 17, 132]) => ("destination port", Kind::Port { src: false }),
        (4, Size::W) if all(&[6]) => ("sequence number", Kind::Other),
        (8, Size::W) if all(&[6]) => ("acknowledgment number", Kind::Other),
        (12, Size::B) if all(&[6]) => ("data offset", Kind::Other),
        (13, Size::B) if all(&[6]) => ("flags", Kind::TcpFlags),
        (14, Size::H) if all(&[6]) => ("window", Kind::Other),
        (16, Size::H) if all(&[6]) => ("checksum", Kind::Other),
        (4, Size::H) if all(&[17]) => ("length", Kind::Other),
        (6, Size::H) if all(&[17]) => ("checksum", Kind::Other),
        (0, Size::B) if all(&[1, 58]) => ("type", Kind::IcmpType),
        (1, Size::B) if all(&[1, 58]) => ("code", Kind::Other),
        (4, Size::W) if all(&[132]) => ("verification tag", Kind::Other),
        _ => {
            return (
                format!("{name} header bytes [{rel}:{}]", size.bytes()),
                Kind::Other,
            )
        }
    };
    (format!("{name} {what}"), kind)
}

fn ip4_field(rel: u32, size: Size) -> (String, Kind) {
    let (what, kind) = match (rel, size) {
        (0, Size::B) => ("version/header length", Kind::Other),
        (1, Size::B) => ("TOS", Kind::Other),
        (2, Size::H) => ("total length", Kind::Other),
        (4, Size::H) => ("identification", Kind::Other),
        (6, Size::H) => ("flags + fragment offset", Kind::Other),
        (6, Size::B) => ("flags", Kind::Other),
        (8, Size::B) => ("TTL", Kind::Other),
        (9, Size::B) => ("protocol", Kind::IpProto),
        (10, Size::H) => ("header checksum", Kind::Other),
        (12, Size::W) => ("source address", Kind::Ip4Addr { src: true }),
        (16, Size::W) => ("destination address", Kind::Ip4Addr { src: false }),
        (16, Size::B) => ("destination address first byte", Kind::Other),
        _ => return (format!("IPv4 bytes [{rel}:{}]", size.bytes()), Kind::Other),
    };
    (format!("IPv4 {what}"), kind)
}

fn ip6_field(rel: u32, size: Size) -> (String, Kind) {
    let (what, kind) = match (rel, size) {
        (0, Size::W) => ("version/class/flow label".to_string(), Kind::Other),
        (4, Size::H) => ("payload length".to_string(), Kind::Other),
        (6, Size::B) => ("next header".to_string(), Kind::IpProto),
        (7, Size::B) => ("hop limit".to_string(), Kind::Other),
        (8..=20, Size::W) if rel % 4 == 0 => (
            format!("source address word {}", (rel - 8) / 4),
            Kind::Ip6Word {
                src: true,
                word: (rel - 8) / 4,
            },
        ),
        (24..=36, Size::W) if rel % 4 == 0 => (
            format!("destination address word {}", (rel - 24) / 4),
            Kind::Ip6Word {
                src: false,
                word: (rel - 24) / 4,
            },
        ),
        (24, Size::B) => ("destination address first byte".to_string(), Kind::Other),
        _ => return (format!("IPv6 bytes [{rel}:{}]", size.bytes()), Kind::Other),
    };
    (format!("IPv6 {what}"), kind)
}

fn arp_field(rel: u32, size: Size) -> (String, Kind) {
    let (what, kind) = match (rel, size) {
        (0, Size::H) => ("hardware type", Kind::Other),
        (2, Size::H) => ("protocol type", Kind::Other),
        (6, Size::H) => ("opcode", Kind::ArpOp),
        (14, Size::W) => ("sender IPv4 address", Kind::ArpAddr { src: true }),
        (24, Size::W) => ("target IPv4 address", Kind::ArpAddr { src: false }),
        _ => return (format!("ARP bytes [{rel}:{}]", size.bytes()), Kind::Other),
    };
    (format!("ARP {what}"), kind)
}

/// Describe what a symbolic value is, in packet terms.
pub(crate) fn describe(v: &Val, ly: &Layers) -> Field {
    match v {
        Val::Const(c) => Field::new(format!("{c:#x}"), Some(format!("{c:#x}")), Kind::Other),
        Val::Len => Field::new("packet length", Some("len".into()), Kind::Len),
        Val::Unknown => Field::new("an unset value (0)", Some("0".into()), Kind::Other),
        Val::Anc(n) => {
            let (human, kind) = match n {
                0 => ("skb protocol (ethertype)", Kind::Other),
                4 => (
                    "packet type (host/broadcast/multicast/other/outgoing)",
                    Kind::Other,
                ),
                8 => ("interface index", Kind::Other),
                20 => ("skb mark", Kind::Other),
                24 => ("receive queue", Kind::Other),
                28 => ("device hardware type", Kind::Other),
                32 => ("receive hash", Kind::Other),
                36 => ("CPU number", Kind::Other),
                40 => ("A xor X", Kind::Other),
                44 => ("offloaded VLAN tag (TCI)", Kind::AncVlanTci),
                48 => ("offloaded VLAN tag present", Kind::AncVlanPresent),
                52 => ("payload offset", Kind::Other),
                56 => ("random number", Kind::Other),
                60 => ("offloaded VLAN TPID", Kind::Other),
                _ => ("unknown ancillary data", Kind::Other),
            };
            Field::new(human, None, kind)
        }
        Val::Msh(k) => {
            if ly.l3 == Some(L3::Ip4) && *k == ly.l3_off {
                Field::new(
                    "IPv4 header length",
                    Some("4*(ip[0]&0xf)".into()),
                    Kind::Other,
                )
            } else {
                Field::new(
                    format!("4*(packet byte {k} & 0xf)"),
                    Some(format!("4*(ether[{k}]&0xf)")),
                    Kind::Other,
                )
            }
        }
        Val::Pkt { base, off, size } => describe_pkt(base, *off, *size, ly),
        Val::Alu(op, a, b) => {
            let fa = describe(a, ly);
            if let (AluOp::And, Some(m)) = (op, b.as_const()) {
                let special = match (&fa.kind, m) {
                    (Kind::Other, 0x1fff) if is_ip4_frag_word(a, ly) => {
                        Some(("IPv4 fragment offset".to_string(), Kind::FragOffset))
                    }
                    (Kind::VlanTci | Kind::AncVlanTci, 0xfff) => {
                        Some(("VLAN ID".to_string(), Kind::VlanId))
                    }
                    (Kind::TcpFlags, m) => {
                        Some((format!("{} & {}", fa.human, tcp_flags(m)), Kind::TcpFlags))
                    }
                    (Kind::Ip4Addr { src } | Kind::ArpAddr { src }, m) => Some((
                        format!("{} under netmask {}", fa.human, dotted(m)),
                        Kind::Ip4Net { src: *src, mask: m },
                    )),
                    _ => None,
                };
                let pcap = fa.pcap.as_ref().map(|p| format!("{p} & {m:#x}"));
                if let Some((human, kind)) = special {
                    return Field {
                        human,
                        pcap,
                        kind,
                        l3: fa.l3,
                        l4: fa.l4,
                    };
                }
            }
            let fb = describe(b, ly);
            let sym = alu_symbol(*op);
            let pcap = match (&fa.pcap, &fb.pcap) {
                (Some(x), Some(y)) => Some(format!("({x} {sym} {y})")),
                _ => None,
            };
            Field {
                human: format!("({} {sym} {})", fa.human, fb.human),
                pcap,
                kind: Kind::Other,
                l3: fa.l3.or(fb.l3),
                l4: if fa.l4.is_empty() { fb.l4 } else { fa.l4 },
            }
        }
        Val::Neg(a) => {
            let fa = describe(a, ly);
            Field {
                human: format!("-({})", fa.human),
                pcap: fa.pcap.as_ref().map(|p| format!("-({p})")),
                kind: Kind::Other,
                l3: fa.l3,
                l4: fa.l4,
            }
        }
    }
}

fn is_ip4_frag_word(v: &Val, ly: &Layers) -> bool {
    ly.l3 == Some(L3::Ip4)
        && *v
            == Val::Pkt {
                base: Base::Abs,
                off: ly.l3_off + 6,
                size: Size::H,
            }
}

pub(crate) fn alu_symbol(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+",
        AluOp::Sub => "-",
        AluOp::Mul => "*",
        AluOp::Div => "/",
        AluOp::Mod => "%",
        AluOp::And => "&",
        AluOp::Or => "|",
        AluOp::Xor => "^",
        AluOp::Lsh => "<<",
        AluOp::Rsh => ">>",
    }
}

fn describe_pkt(base: &Base, off: u32, size: Size, ly: &Layers) -> Field {
    let end = off.saturating_add(size.bytes());
    match base {
        Base::Abs => {}
        Base::Msh(m) => {
            if ly.l3 == Some(L3::Ip4) && *m == ly.l3_off {
                let rel = off.wrapping_sub(ly.l3_off);
                if off >= ly.l3_off {
                    let (human, kind) = transport_field(rel, size, &ly.l4);
                    let pcap = match ly.l4.as_slice() {
                        [p] => l4_name(*p)
                            .filter(|n| *n != "icmp6")
                            .map(|n| bracket(n, rel, size)),
                        _ => None,
                    };
                    return Field {
                        human,
                        pcap,
                        kind,
                        l3: Some(L3::Ip4),
                        l4: ly.l4.clone(),
                    };
                }
            }
            return Field::new(
                format!("packet bytes [4*(P[{m}]&0xf) + {off}:{}]", size.bytes()),
                None,
                Kind::Other,
            )
            .with_raw_msh(*m, off, size);
        }
        Base::Other(_) => {
            return Field::new(
                format!("packet bytes [X + {off}:{}]", size.bytes()),
                None,
                Kind::Other,
            )
        }
    }
    // Ethernet header (before any VLAN tags).
    if end <= 12 {
        let (src, base_off, who) = if off >= 6 {
            (true, 6, "source")
        } else {
            (false, 0, "destination")
        };
        if (off < 6) == (end <= 6) {
            return Field::new(
                format!(
                    "ethernet {who} address bytes {}..{}",
                    off - base_off,
                    end - base_off
                ),
                Some(bracket("ether", off, size)),
                Kind::Mac {
                    src,
                    off: off - base_off,
                    len: size.bytes(),
                },
            );
        }
    }
    if off == ly.type_off && size == Size::H {
        let human = if ly.vlan_depth > 0 {
            "ethernet type after the VLAN tag"
        } else {
            "ethernet type"
        };
        return Field::new(human, Some(bracket("ether", off, size)), Kind::EtherType);
    }
    if ly.vlan_depth > 0 && off >= 14 && end <= ly.type_off {
        let tag_off = (off - 14) % 4;
        if tag_off == 0 && size == Size::H {
            return Field::new(
                "VLAN tag control (priority, DEI, VLAN ID)",
                Some(bracket("ether", off, size)),
                Kind::VlanTci,
            );
        }
    }
    if let Some(l3) = ly.l3 {
        if off >= ly.l3_off {
            let rel = off - ly.l3_off;
            let (human, kind) = match l3 {
                L3::Ip4 => ip4_field(rel, size),
                L3::Ip6 if rel >= ly.l4_rel6 && !ly.l4.is_empty() => {
                    let (h, k) = transport_field(rel - ly.l4_rel6, size, &ly.l4);
                    (format!("{h} (after the IPv6 header)"), k)
                }
                L3::Ip6 if ly.ip6_frag && rel == 40 && size == Size::B => (
                    "next header in the IPv6 fragment header".to_string(),
                    Kind::IpProto,
                ),
                L3::Ip6 => ip6_field(rel, size),
                L3::Arp | L3::Rarp => arp_field(rel, size),
            };
            let human = if l3 == L3::Rarp {
                human.replacen("ARP", "RARP", 1)
            } else {
                human
            };
            let mut f = Field::new(human, Some(bracket(l3.keyword(), rel, size)), kind);
            f.l3 = Some(l3);
            return f;
        }
    }
    let human = if ly.vlan_depth > 0 {
        format!(
            "packet bytes [{off}:{}] (after {} VLAN tag(s))",
            size.bytes(),
            ly.vlan_depth
        )
    } else {
        format!("packet bytes [{off}:{}]", size.bytes())
    };
    Field::new(human, Some(bracket("ether", off, size)), Kind::Other)
}

impl Field {
    fn with_raw_msh(mut self, m: u32, off: u32, size: Size) -> Field {
        let width = match size {
            Size::B => String::new(),
            s => format!(":{}", s.bytes()),
        };
        self.pcap = Some(format!("ether[4*(ether[{m}]&0xf)+{off}{width}]"));
        self
    }
}

pub(crate) fn dotted(v: u32) -> String {
    let b = v.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

fn ethertype_name(t: u32) -> Option<&'static str> {
    Some(match t {
        ETH_IP => "IPv4",
        ETH_IP6 => "IPv6",
        ETH_ARP => "ARP",
        ETH_RARP => "RARP",
        0x8100 => "802.1Q VLAN",
        0x88a8 => "802.1ad VLAN",
        0x9100 => "QinQ VLAN",
        0x88cc => "LLDP",
        0x888e => "EAPOL",
        0x8847 => "MPLS",
        0x8863 => "PPPoE discovery",
        0x8864 => "PPPoE session",
        _ => return None,
    })
}

fn icmp_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        0 => "echo reply",
        3 => "destination unreachable",
        5 => "redirect",
        8 => "echo request",
        11 => "time exceeded",
        12 => "parameter problem",
        13 => "timestamp request",
        14 => "timestamp reply",
        _ => return None,
    })
}

fn port_name(p: u32) -> Option<&'static str> {
    Some(match p {
        20 => "ftp-data",
        21 => "ftp",
        22 => "ssh",
        23 => "telnet",
        25 => "smtp",
        53 => "domain",
        67 => "bootps",
        68 => "bootpc",
        80 => "http",
        123 => "ntp",
        443 => "https",
        _ => return None,
    })
}

/// Human rendering of a value compared with a field of the given kind.
pub(crate) fn value_human(kind: &Kind, v: u32) -> String {
    match kind {
        Kind::EtherType => match ethertype_name(v) {
            Some(n) => format!("{n} ({v:#06x})"),
            None => format!("{v:#06x}"),
        },
        Kind::IpProto => match l4_name(v) {
            Some(n) => format!("{} ({v})", n.to_uppercase()),
            None => format!("{v}"),
        },
        Kind::Port { .. } => match port_name(v) {
            Some(n) => format!("{v} ({n})"),
            None => format!("{v}"),
        },
        Kind::Ip4Addr { .. } | Kind::Ip4Net { .. } | Kind::ArpAddr { .. } => dotted(v),
        Kind::IcmpType => match icmp_type_name(v) {
            Some(n) => format!("{v} ({n})"),
            None => format!("{v}"),
        },
        Kind::TcpFlags => format!("{v:#x} ({})", tcp_flags(v)),
        Kind::ArpOp => match v {
            1 => "1 (request)".into(),
            2 => "2 (reply)".into(),
            3 => "3 (RARP request)".into(),
            4 => "4 (RARP reply)".into(),
            _ => format!("{v}"),
        },
        Kind::Len | Kind::VlanId => format!("{v}"),
        Kind::Mac { len, .. } => {
            let b = v.to_be_bytes();
            let start = 4usize.saturating_sub(*len as usize);
            b.get(start..)
                .unwrap_or(&b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        }
        _ if v < 10 => format!("{v}"),
        _ => format!("{v:#x}"),
    }
}

pub(crate) fn tcp_flags(v: u32) -> String {
    let names = [
        (0x01, "FIN"),
        (0x02, "SYN"),
        (0x04, "RST"),
        (0x08, "PSH"),
        (0x10, "ACK"),
        (0x20, "URG"),
        (0x40, "ECE"),
        (0x80, "CWR"),
    ];
    let s: Vec<&str> = names
        .iter()
        .filter(|(b, _)| v & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if s.is_empty() {
        "none".into()
    } else {
        s.join("|")
    }
}

/// Human text of a test and its outcome.
pub(crate) fn cond_human(c: &Cond, ly: &Layers, outcome: bool) -> String {
    let f = describe(&c.lhs, ly);
    let rhs = match c.rhs.as_const() {
        Some(k) => value_human(&f.kind, k),
        None => describe(&c.rhs, ly).human,
    };
    match (c.op, outcome) {
        (JmpOp::Jeq, true) => format!("{} == {rhs}", f.human),
        (JmpOp::Jeq, false) => format!("{} != {rhs}", f.human),
        (JmpOp::Jgt, true) => format!("{} > {rhs}", f.human),
        (JmpOp::Jgt, false) => format!("{} <= {rhs}", f.human),
        (JmpOp::Jge, true) => format!("{} >= {rhs}", f.human),
        (JmpOp::Jge, false) => format!("{} < {rhs}", f.human),
        (JmpOp::Jset, t) => {
            let k = c.rhs.as_const();
            if is_ip4_frag_word(&c.lhs, ly) && k == Some(0x1fff) {
                return if t {
                    "IPv4 fragment offset != 0 (a non-first fragment)".into()
                } else {
                    "IPv4 fragment offset == 0 (not a non-first fragment)".into()
                };
            }
            let bits = match (k, &f.kind) {
                (Some(k), Kind::TcpFlags) => tcp_flags(k),
                (Some(k), _) => format!("{k:#x}"),
                (None, _) => describe(&c.rhs, ly).human,
            };
            if t {
                format!("{} has any of {bits} set", f.human)
            } else {
                format!("{} has none of {bits} set", f.human)
            }
        }
    }
}
