//! rtnetlink requests that change attachments: XDP on an interface (`RTM_SETLINK` with
//! `IFLA_XDP`), the `clsact` qdisc, and `cls_bpf` filters in direct-action mode — the paths
//! kernels without BPF links for these hooks use.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{Error, Result};

const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;

const RTM_SETLINK: u16 = 19;
const RTM_NEWQDISC: u16 = 36;
const RTM_DELQDISC: u16 = 37;
const RTM_NEWTFILTER: u16 = 44;
const RTM_DELTFILTER: u16 = 45;

const IFLA_XDP: u16 = 43;
const IFLA_XDP_FD: u16 = 1;
const IFLA_XDP_FLAGS: u16 = 3;

const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_FD: u16 = 6;
const TCA_BPF_NAME: u16 = 7;
const TCA_BPF_FLAGS: u16 = 8;
const TCA_BPF_FLAG_ACT_DIRECT: u32 = 1;

/// `TC_H_CLSACT` (also `TC_H_INGRESS`): the clsact qdisc's parent handle.
const TC_H_CLSACT: u32 = 0xFFFF_FFF1;
/// The clsact ingress and egress hook parents.
pub const CLSACT_INGRESS: u32 = 0xFFFF_FFF2;
pub const CLSACT_EGRESS: u32 = 0xFFFF_FFF3;
const ETH_P_ALL: u16 = 0x0003;

fn sys(op: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Syscall { op, source }
}

/// A netlink message under construction: header, fixed part, attributes.
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    fn new(msg_type: u16, flags: u16, fixed: &[u8]) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(fixed);
        Msg {
            buf,
            nests: Vec::new(),
        }
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Msg {
        self.pad();
        self.buf
            .extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self
    }

    fn begin(&mut self, ty: u16) -> &mut Msg {
        self.pad();
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    fn end(&mut self) -> &mut Msg {
        self.pad();
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn finish(mut self) -> Vec<u8> {
        self.pad();
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
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
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends one request and waits for its acknowledgement.
fn transact(op: &'static str, req: &[u8]) -> Result<()> {
    let sock = socket()?;
    // SAFETY: `req` is a live buffer of `req.len()` bytes.
    let sent = unsafe { libc::send(sock.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
    if sent < 0 {
        return Err(sys(op)(io::Error::last_os_error()));
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(sys(op)(e));
        }
        let data = buf.get(..n as usize).unwrap_or_default();
        let mut pos = 0;
        while pos + NLMSG_HDR <= data.len() {
            let word = |at: usize| {
                data.get(at..at + 4)
                    .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            };
            let mlen = word(pos) as usize;
            let mtype = (word(pos + 4) & 0xFFFF) as u16;
            if mlen < NLMSG_HDR || pos + mlen > data.len() {
                return Err(Error::InvalidArgument {
                    op,
                    problem: format!("malformed netlink reply of {mlen} bytes at offset {pos}"),
                });
            }
            match mtype {
                NLMSG_ERROR => {
                    let errno = word(pos + NLMSG_HDR) as i32;
                    return if errno == 0 {
                        Ok(())
                    } else {
                        Err(sys(op)(io::Error::from_raw_os_error(-errno)))
                    };
                }
                NLMSG_DONE => return Ok(()),
                _ => {}
            }
            pos += (mlen + 3) & !3;
        }
    }
}

fn ifinfomsg(ifindex: u32) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0] = libc::AF_UNSPEC as u8;
    m[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    m
}

fn tcmsg(ifindex: u32, handle: u32, parent: u32, info: u32) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0] = libc::AF_UNSPEC as u8;
    m[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    m[8..12].copy_from_slice(&handle.to_ne_bytes());
    m[12..16].copy_from_slice(&parent.to_ne_bytes());
    m[16..20].copy_from_slice(&info.to_ne_bytes());
    m
}

/// Sets (or, with `prog` `None`, removes) the XDP program of interface `ifindex`; `flags` are
/// `XDP_FLAGS_*` (the mode: skb 2, drv 4, hw 8).
pub fn xdp_set(ifindex: u32, prog: Option<BorrowedFd<'_>>, flags: u32) -> Result<()> {
    let fd: i32 = prog.map_or(-1, |p| p.as_raw_fd());
    let mut m = Msg::new(RTM_SETLINK, 0, &ifinfomsg(ifindex));
    m.begin(IFLA_XDP)
        .attr(IFLA_XDP_FD, &fd.to_ne_bytes())
        .attr(IFLA_XDP_FLAGS, &flags.to_ne_bytes())
        .end();
    transact("netlink xdp set", &m.finish())
}

/// Adds the `clsact` qdisc to `ifindex`; `Ok(false)` when it was already there.
pub fn clsact_add(ifindex: u32) -> Result<bool> {
    let mut m = Msg::new(
        RTM_NEWQDISC,
        NLM_F_CREATE | NLM_F_EXCL,
        &tcmsg(ifindex, 0xFFFF_0000, TC_H_CLSACT, 0),
    );
    m.attr(TCA_KIND, b"clsact\0");
    match transact("netlink add clsact qdisc", &m.finish()) {
        Ok(()) => Ok(true),
        Err(e) if e.errno() == Some(libc::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the `clsact` qdisc of `ifindex` (and every filter under it).
pub fn clsact_del(ifindex: u32) -> Result<()> {
    let mut m = Msg::new(
        RTM_DELQDISC,
        0,
        &tcmsg(ifindex, 0xFFFF_0000, TC_H_CLSACT, 0),
    );
    m.attr(TCA_KIND, b"clsact\0");
    transact("netlink delete clsact qdisc", &m.finish())
}

fn filter_info(priority: u16) -> u32 {
    (u32::from(priority) << 16) | u32::from(ETH_P_ALL.to_be())
}

/// Adds a `cls_bpf` filter in direct-action mode running `prog` at the clsact ingress or
/// egress hook of `ifindex`, with `priority` and `handle` (both non-zero identify it for
/// [`cls_bpf_del`]).
pub fn cls_bpf_add(
    ifindex: u32,
    egress: bool,
    prog: BorrowedFd<'_>,
    name: &str,
    priority: u16,
    handle: u32,
) -> Result<()> {
    let parent = if egress {
        CLSACT_EGRESS
    } else {
        CLSACT_INGRESS
    };
    let mut m = Msg::new(
        RTM_NEWTFILTER,
        NLM_F_CREATE | NLM_F_EXCL,
        &tcmsg(ifindex, handle, parent, filter_info(priority)),
    );
    let mut cname: Vec<u8> = name.bytes().filter(|&b| b != 0).take(255).collect();
    cname.push(0);
    let fd = prog.as_raw_fd() as u32;
    m.attr(TCA_KIND, b"bpf\0")
        .begin(TCA_OPTIONS)
        .attr(TCA_BPF_FD, &fd.to_ne_bytes())
        .attr(TCA_BPF_NAME, &cname)
        .attr(TCA_BPF_FLAGS, &TCA_BPF_FLAG_ACT_DIRECT.to_ne_bytes())
        .end();
    transact("netlink add cls_bpf filter", &m.finish())
}

/// Removes the `cls_bpf` filter added with these coordinates.
pub fn cls_bpf_del(ifindex: u32, egress: bool, priority: u16, handle: u32) -> Result<()> {
    let parent = if egress {
        CLSACT_EGRESS
    } else {
        CLSACT_INGRESS
    };
    let mut m = Msg::new(
        RTM_DELTFILTER,
        0,
        &tcmsg(ifindex, handle, parent, filter_info(priority)),
    );
    m.attr(TCA_KIND, b"bpf\0");
    transact("netlink delete cls_bpf filter", &m.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_are_sized_and_aligned() {
        let mut m = Msg::new(RTM_SETLINK, 0, &ifinfomsg(7));
        m.begin(IFLA_XDP)
            .attr(IFLA_XDP_FD, &5i32.to_ne_bytes())
            .attr(IFLA_XDP_FLAGS, &2u32.to_ne_bytes())
            .end();
        let b = m.finish();
        // header 16 + ifinfomsg 16 + nest header 4 + two 8-byte attributes.
        assert_eq!(b.len(), 16 + 16 + 4 + 8 + 8);
        assert_eq!(
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize,
            b.len()
        );
        assert_eq!(u16::from_ne_bytes([b[32], b[33]]), 20);
        assert_eq!(u16::from_ne_bytes([b[34], b[35]]), IFLA_XDP | NLA_F_NESTED);
        assert_eq!(
            i32::from_ne_bytes([b[24 + 16], b[25 + 16], b[26 + 16], b[27 + 16]]),
            5
        );
    }
}
