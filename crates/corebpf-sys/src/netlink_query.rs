//! Read-only rtnetlink queries for `corebpf net`: the XDP programs of every interface
//! (`RTM_GETLINK`, `IFLA_XDP`) and the cls_bpf filters of a clsact hook (`RTM_GETTFILTER`),
//! plus `BPF_PROG_QUERY` on an interface index for tcx.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::bpf::{attr::QueryAttr, sys_bpf, Cmd};
use crate::{Error, Result};

const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const RTM_GETLINK: u16 = 18;
const RTM_NEWLINK: u16 = 16;
const RTM_GETTFILTER: u16 = 46;
const RTM_NEWTFILTER: u16 = 44;
const IFLA_IFNAME: u16 = 3;
const IFLA_XDP: u16 = 43;
const IFLA_XDP_ATTACHED: u16 = 2;
const IFLA_XDP_PROG_ID: u16 = 4;
const IFLA_XDP_DRV_PROG_ID: u16 = 5;
const IFLA_XDP_SKB_PROG_ID: u16 = 6;
const IFLA_XDP_HW_PROG_ID: u16 = 7;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_NAME: u16 = 7;
const TCA_BPF_FLAGS: u16 = 8;
const TCA_BPF_TAG: u16 = 10;
const TCA_BPF_ID: u16 = 11;
const TCA_BPF_FLAG_ACT_DIRECT: u32 = 1;
/// The nested-attribute flag bit of `rta_type`.
const NLA_F_NESTED: u16 = 1 << 15;

/// `parent` of clsact's ingress hook (`TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)`).
pub const TC_INGRESS: u32 = 0xFFFF_FFF2;
/// `parent` of clsact's egress hook.
pub const TC_EGRESS: u32 = 0xFFFF_FFF3;

/// XDP state of one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XdpState {
    /// `XDP_ATTACHED_*`: 0 none, 1 driver, 2 generic (skb), 3 offloaded, 4 several.
    pub attached: u8,
    /// The program of a single-mode attachment.
    pub prog_id: u32,
    pub drv_prog_id: u32,
    pub skb_prog_id: u32,
    pub hw_prog_id: u32,
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    pub ifindex: u32,
    pub name: String,
    pub xdp: XdpState,
}

/// One tc filter on a clsact hook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcFilter {
    /// Classifier kind (`bpf` for cls_bpf).
    pub kind: String,
    pub handle: u32,
    pub prio: u16,
    pub protocol: u16,
    /// The program's id (cls_bpf).
    pub prog_id: Option<u32>,
    /// The name cls_bpf keeps (usually `<object>:[<section>]`).
    pub name: Option<String>,
    pub tag: Option<[u8; 8]>,
    pub direct_action: bool,
}

fn sys(op: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Syscall { op, source }
}

fn socket() -> Result<OwnedFd> {
    // SAFETY: plain socket(2) call with constant arguments; the result is checked below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(sys("netlink socket")(io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: zeroed sockaddr_nl is valid (nl_pid 0: the kernel assigns one).
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: `addr` is a live sockaddr_nl and its size is passed.
    let r = unsafe {
        libc::bind(
            owned.as_raw_fd(),
            &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(sys("netlink bind")(io::Error::last_os_error()));
    }
    Ok(owned)
}

/// Sends one request and collects the payloads (header excluded) of every reply message of
/// type `want` until `NLMSG_DONE` (dump) or the first reply (non-dump).
fn request(msg_type: u16, flags: u16, body: &[u8], want: u16) -> Result<Vec<Vec<u8>>> {
    let sock = socket()?;
    let len = NLMSG_HDR + body.len();
    let mut req = Vec::with_capacity(len);
    req.extend_from_slice(&(len as u32).to_ne_bytes());
    req.extend_from_slice(&msg_type.to_ne_bytes());
    req.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // pid
    req.extend_from_slice(body);
    // SAFETY: `req` is a live buffer of `req.len()` bytes.
    let sent = unsafe {
        libc::send(
            sock.as_raw_fd(),
            req.as_ptr() as *const libc::c_void,
            req.len(),
            0,
        )
    };
    if sent < 0 {
        return Err(sys("netlink send")(io::Error::last_os_error()));
    }
    let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(sys("netlink receive")(e));
        }
        let data = &buf[..n as usize];
        let mut pos = 0;
        while pos + NLMSG_HDR <= data.len() {
            let mlen = u32_ne(data, pos) as usize;
            let mtype = u16_ne(data, pos + 4);
            if mlen < NLMSG_HDR || pos + mlen > data.len() {
                return Err(Error::InvalidArgument {
                    op: "netlink receive",
                    problem: format!("malformed message of {mlen} bytes at offset {pos}"),
                });
            }
            let payload = &data[pos + NLMSG_HDR..pos + mlen];
            match mtype {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let errno = payload
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if errno == 0 {
                        // An acknowledgement.
                        return Ok(out);
                    }
                    return Err(sys("netlink request")(io::Error::from_raw_os_error(-errno)));
                }
                t if t == want => out.push(payload.to_vec()),
                _ => {}
            }
            pos += (mlen + 3) & !3;
        }
        if !dump && !out.is_empty() {
            return Ok(out);
        }
    }
}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_ne_bytes([s[0], s[1]]))
}

fn u32_ne(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// Iterates the `(type, payload)` of routing attributes in `b`.
fn attrs(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos + 4 > b.len() {
            return None;
        }
        let len = u16_ne(b, pos) as usize;
        let ty = u16_ne(b, pos + 2) & !NLA_F_NESTED;
        if len < 4 || pos + len > b.len() {
            return None;
        }
        let payload = &b[pos + 4..pos + len];
        pos += (len + 3) & !3;
        Some((ty, payload))
    })
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Every interface of this network namespace with its XDP state.
pub fn interfaces() -> Result<Vec<Interface>> {
    // struct ifinfomsg, all zero: every family, every interface.
    let body = [0u8; 16];
    let msgs = request(RTM_GETLINK, NLM_F_DUMP, &body, RTM_NEWLINK)?;
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        if m.len() < 16 {
            continue;
        }
        let mut iface = Interface {
            ifindex: u32_ne(&m, 4),
            ..Default::default()
        };
        for (ty, p) in attrs(&m[16..]) {
            match ty {
                IFLA_IFNAME => iface.name = c_string(p),
                IFLA_XDP => {
                    for (xt, xp) in attrs(p) {
                        match xt {
                            IFLA_XDP_ATTACHED => {
                                iface.xdp.attached = xp.first().copied().unwrap_or(0)
                            }
                            IFLA_XDP_PROG_ID => iface.xdp.prog_id = u32_ne(xp, 0),
                            IFLA_XDP_DRV_PROG_ID => iface.xdp.drv_prog_id = u32_ne(xp, 0),
                            IFLA_XDP_SKB_PROG_ID => iface.xdp.skb_prog_id = u32_ne(xp, 0),
                            IFLA_XDP_HW_PROG_ID => iface.xdp.hw_prog_id = u32_ne(xp, 0),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        out.push(iface);
    }
    Ok(out)
}

/// The filters on clsact hook `parent` ([`TC_INGRESS`] or [`TC_EGRESS`]) of `ifindex`; empty
/// when the interface has no clsact qdisc.
pub fn tc_filters(ifindex: u32, parent: u32) -> Result<Vec<TcFilter>> {
    // struct tcmsg { family, pad1, pad2, ifindex, handle, parent, info }
    let mut body = [0u8; 20];
    body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    body[12..16].copy_from_slice(&parent.to_ne_bytes());
    let msgs = match request(RTM_GETTFILTER, NLM_F_DUMP, &body, RTM_NEWTFILTER) {
        Ok(m) => m,
        // No clsact qdisc (or no such hook): nothing attached.
        Err(e) if matches!(e.errno(), Some(libc::EINVAL | libc::ENOENT)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for m in msgs {
        if m.len() < 20 {
            continue;
        }
        let info = u32_ne(&m, 16);
        let mut f = TcFilter {
            handle: u32_ne(&m, 8),
            prio: (info >> 16) as u16,
            protocol: u16::from_be(info as u16),
            ..Default::default()
        };
        let mut has_options = false;
        for (ty, p) in attrs(&m[20..]) {
            match ty {
                TCA_KIND => f.kind = c_string(p),
                TCA_OPTIONS => {
                    has_options = true;
                    for (bt, bp) in attrs(p) {
                        match bt {
                            TCA_BPF_ID => f.prog_id = Some(u32_ne(bp, 0)),
                            TCA_BPF_NAME => f.name = Some(c_string(bp)),
                            TCA_BPF_FLAGS => {
                                f.direct_action = u32_ne(bp, 0) & TCA_BPF_FLAG_ACT_DIRECT != 0
                            }
                            TCA_BPF_TAG => {
                                let mut t = [0u8; 8];
                                if let Some(src) = bp.get(..8) {
                                    t.copy_from_slice(src);
                                    f.tag = Some(t);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        // The chain-head message of a hook carries no options: skip it.
        if has_options {
            out.push(f);
        }
    }
    Ok(out)
}

/// `BPF_PROG_QUERY` on an interface (tcx, netkit, XDP hooks): the program ids attached at
/// `attach_type` in order, and the hook's revision.
pub fn prog_query_ifindex(ifindex: u32, attach_type: u32) -> Result<(Vec<u32>, u64)> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut a = QueryAttr {
            target_fd: ifindex,
            attach_type,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        match sys_bpf(Cmd::ProgQuery, &mut a) {
            Ok(_) => {
                ids.truncate(a.prog_cnt as usize);
                return Ok((ids, a.revision));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && ids.len() < (1 << 16) => {
                ids = vec![0u32; (a.prog_cnt as usize).max(ids.len() * 2)];
            }
            Err(source) => {
                return Err(Error::Syscall {
                    op: "prog query",
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn attributes_walk_padding_and_nesting() {
        let mut xdp = attr(IFLA_XDP_ATTACHED, &[2]);
        xdp.extend(attr(IFLA_XDP_PROG_ID, &77u32.to_ne_bytes()));
        let mut msg = attr(IFLA_IFNAME, b"veth0\0");
        msg.extend(attr(IFLA_XDP | NLA_F_NESTED, &xdp));
        let got: Vec<(u16, usize)> = attrs(&msg).map(|(t, p)| (t, p.len())).collect();
        assert_eq!(got, vec![(IFLA_IFNAME, 6), (IFLA_XDP, xdp.len())]);
        let (_, nested) = attrs(&msg).nth(1).unwrap();
        let inner: Vec<(u16, Vec<u8>)> = attrs(nested).map(|(t, p)| (t, p.to_vec())).collect();
        assert_eq!(inner[0], (IFLA_XDP_ATTACHED, vec![2]));
        assert_eq!(u32_ne(&inner[1].1, 0), 77);
        assert_eq!(c_string(b"veth0\0"), "veth0");
    }

    #[test]
    fn truncated_attributes_stop_the_walk() {
        let mut msg = attr(IFLA_IFNAME, b"lo\0");
        // A length running past the end, then a length below the header size.
        msg.extend_from_slice(&[200, 0, 3, 0, 1, 2]);
        assert_eq!(attrs(&msg).count(), 1);
        assert_eq!(attrs(&[2, 0, 3, 0]).count(), 0);
    }

    #[test]
    fn loopback_is_listed() {
        let ifaces = interfaces().expect("rtnetlink dump");
        assert!(
            ifaces.iter().any(|i| i.name == "lo" && i.ifindex == 1),
            "{ifaces:?}"
        );
    }
}
