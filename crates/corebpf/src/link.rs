//! Attachments of programs to hooks, owned: a [`Link`] detaches its program when dropped,
//! unless it was pinned on bpffs.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use corebpf_sys::bpf::{self, attr::LinkInfo};
use corebpf_sys::{link as sys_link, netlink, perf};

/// An error attaching a program, reading a map or an event stream.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A kernel call failed; `what` says what was being attached or read.
    #[error("{what}: {source}")]
    Kernel {
        what: String,
        #[source]
        source: corebpf_sys::Error,
    },
    /// This kernel (or this host's policy) does not offer the hook.
    #[error("{what}: {why}")]
    Unsupported { what: String, why: String },
    /// The attach target given (or derived from a section name) cannot be used.
    #[error("{what}: {problem}")]
    Target { what: String, problem: String },
    /// A file (binary, /proc entry) could not be read or parsed.
    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    /// A key or value of the wrong size, or a type that does not fit the map.
    #[error("map {map}: {problem}")]
    Map { map: String, problem: String },
    /// This link cannot do what was asked (pin a netlink attachment, read a non-iterator).
    #[error("{0}")]
    Link(String),
}

impl AttachError {
    pub(crate) fn kernel(
        what: impl Into<String>,
    ) -> impl FnOnce(corebpf_sys::Error) -> AttachError {
        let what = what.into();
        move |source| AttachError::Kernel { what, source }
    }

    /// The errno of the failed kernel call, if this is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            AttachError::Kernel { source, .. } => source.errno(),
            _ => None,
        }
    }
}

/// The way a program is held at its hook.
#[derive(Debug)]
pub(crate) enum Attachment {
    /// A BPF link (plus the perf event it runs on, for perf-event links).
    Bpf {
        link: OwnedFd,
        event: Option<OwnedFd>,
    },
    /// A perf event with the program set by ioctl; closing the event detaches.
    PerfEvent { event: OwnedFd },
    /// XDP set over netlink.
    NetlinkXdp { ifindex: u32, flags: u32 },
    /// A cls_bpf filter under clsact; the qdisc is removed too if this attach created it.
    ClsBpf {
        ifindex: u32,
        egress: bool,
        priority: u16,
        handle: u32,
        qdisc_created: bool,
    },
    /// `BPF_PROG_ATTACH` to a cgroup, sockmap, ...
    Legacy {
        prog: OwnedFd,
        target: OwnedFd,
        attach_type: u32,
    },
    /// `SO_ATTACH_BPF` on a socket.
    Socket { socket: OwnedFd },
    /// Several attachments acting as one (one per CPU, one per USDT site).
    Group(Vec<Link>),
    /// A plain struct_ops map whose value registered it; deleting the value unregisters.
    StructOps { map: OwnedFd },
}

/// A program attached to a hook. Dropping it detaches the program, unless the link was
/// pinned (then it lives until the pin is removed).
#[derive(Debug)]
pub struct Link {
    pub(crate) inner: Attachment,
    pub(crate) description: String,
    pinned: Option<PathBuf>,
}

impl Link {
    pub(crate) fn new(inner: Attachment, description: impl Into<String>) -> Link {
        Link {
            inner,
            description: description.into(),
            pinned: None,
        }
    }

    pub(crate) fn bpf(link: OwnedFd, description: impl Into<String>) -> Link {
        Link::new(Attachment::Bpf { link, event: None }, description)
    }

    /// What this link attaches, in words (`tracepoint syscalls/sys_enter_getppid`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The BPF link fd, for links the kernel represents as BPF links.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.inner {
            Attachment::Bpf { link, .. } => Some(link.as_fd()),
            _ => None,
        }
    }

    /// The perf event a perf-event link runs on (tracepoints, uprobes, sampling events).
    pub fn perf_event(&self) -> Option<BorrowedFd<'_>> {
        match &self.inner {
            Attachment::Bpf { event, .. } => event.as_ref().map(|e| e.as_fd()),
            Attachment::PerfEvent { event } => Some(event.as_fd()),
            _ => None,
        }
    }

    /// The member links of a group (per-CPU perf events, USDT sites); empty otherwise.
    pub fn members(&self) -> &[Link] {
        match &self.inner {
            Attachment::Group(v) => v,
            _ => &[],
        }
    }

    /// What the kernel says about this link (type, id, program id, type-specific data).
    pub fn info(&self) -> Result<LinkInfo, AttachError> {
        let fd = self.fd().ok_or_else(|| {
            AttachError::Link(format!(
                "{} is not a BPF link (it has no kernel link info)",
                self.description
            ))
        })?;
        bpf::link_info(fd).map_err(AttachError::kernel("link info"))
    }

    /// Pins the link at `path` on bpffs: it then outlives this value and the process.
    pub fn pin(&mut self, path: impl AsRef<Path>) -> Result<(), AttachError> {
        let path = path.as_ref();
        let fd = self.fd().ok_or_else(|| {
            AttachError::Link(format!(
                "{} is not a BPF link and cannot be pinned",
                self.description
            ))
        })?;
        let text = path.to_str().ok_or_else(|| AttachError::Target {
            what: "pin".into(),
            problem: format!("{} is not UTF-8", path.display()),
        })?;
        bpf::obj_pin(fd, text).map_err(AttachError::kernel(format!(
            "pin link at {}",
            path.display()
        )))?;
        self.pinned = Some(path.to_path_buf());
        Ok(())
    }

    /// Removes the pin; the link detaches when this value is dropped.
    pub fn unpin(&mut self) -> Result<(), AttachError> {
        if let Some(p) = self.pinned.take() {
            std::fs::remove_file(&p).map_err(|e| AttachError::File {
                path: p.clone(),
                problem: format!("remove pin: {e}"),
            })?;
        }
        Ok(())
    }

    /// The pin path, if pinned.
    pub fn pinned(&self) -> Option<&Path> {
        self.pinned.as_deref()
    }

    /// Opens a link pinned at `path`. Dropping the result does not detach it (the pin holds it).
    pub fn open_pinned(path: impl AsRef<Path>) -> Result<Link, AttachError> {
        let path = path.as_ref();
        let text = path.to_str().ok_or_else(|| AttachError::Target {
            what: "open pinned link".into(),
            problem: format!("{} is not UTF-8", path.display()),
        })?;
        let fd = bpf::obj_get(text).map_err(AttachError::kernel(format!(
            "open pinned link {}",
            path.display()
        )))?;
        let mut l = Link::bpf(fd, format!("pinned link {}", path.display()));
        l.pinned = Some(path.to_path_buf());
        Ok(l)
    }

    /// Detaches now (for BPF links, even a pinned one: the pin then holds a defunct link).
    pub fn detach(self) -> Result<(), AttachError> {
        if let Attachment::Bpf { link, .. } = &self.inner {
            bpf::link_detach(link.as_fd()).map_err(AttachError::kernel("link detach"))?;
        }
        drop(self);
        Ok(())
    }

    /// Replaces the program of a BPF link without detaching (XDP, tcx, cgroup, ... links).
    pub fn update(&self, new_prog: BorrowedFd<'_>) -> Result<(), AttachError> {
        let fd = self
            .fd()
            .ok_or_else(|| AttachError::Link(format!("{} cannot be updated", self.description)))?;
        sys_link::update(fd, new_prog, None).map_err(AttachError::kernel("link update"))
    }

    /// Runs an iterator link once and returns everything it wrote.
    pub fn read_iter(&self) -> Result<Vec<u8>, AttachError> {
        let mut out = Vec::new();
        self.read_iter_into(&mut out)?;
        Ok(out)
    }

    /// Runs an iterator link once, appending its output to `out`; returns the bytes read.
    pub fn read_iter_into(&self, out: &mut Vec<u8>) -> Result<usize, AttachError> {
        let fd = self.fd().ok_or_else(|| {
            AttachError::Link(format!("{} is not an iterator link", self.description))
        })?;
        let iter = bpf::iter_create(fd).map_err(AttachError::kernel("iterator create"))?;
        let mut f = std::fs::File::from(iter);
        f.read_to_end(out).map_err(|e| AttachError::File {
            path: PathBuf::from("<bpf iterator>"),
            problem: format!("read: {e}"),
        })
    }

    /// Runs an iterator link once and returns its output as text (invalid UTF-8 replaced).
    pub fn read_iter_text(&self) -> Result<String, AttachError> {
        Ok(String::from_utf8_lossy(&self.read_iter()?).into_owned())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if self.pinned.is_some() {
            return;
        }
        // Detach failures are ignored: the hook or interface may already be gone.
        match &self.inner {
            Attachment::Bpf { .. } | Attachment::Group(_) => {}
            Attachment::PerfEvent { event } => {
                let _ = perf::disable(event.as_fd());
            }
            Attachment::NetlinkXdp { ifindex, flags } => {
                let _ = netlink::xdp_set(*ifindex, None, *flags);
            }
            Attachment::ClsBpf {
                ifindex,
                egress,
                priority,
                handle,
                qdisc_created,
            } => {
                let _ = netlink::cls_bpf_del(*ifindex, *egress, *priority, *handle);
                if *qdisc_created {
                    let _ = netlink::clsact_del(*ifindex);
                }
            }
            Attachment::Legacy {
                prog,
                target,
                attach_type,
            } => {
                let _ = bpf::prog_detach(prog.as_fd(), target.as_fd(), *attach_type);
            }
            Attachment::Socket { socket } => {
                let _ = sys_link::socket_detach(socket.as_fd());
            }
            Attachment::StructOps { map } => crate::struct_ops::unregister(map),
        }
    }
}
