//! Typed wrappers around the `bpf(2)` system call.
//!
//! Every function fills one attribute structure, makes one call, and returns owned file
//! descriptors (closed on drop) or an [`Error`] naming the operation.

pub mod attr;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{Error, Result};
use attr::*;

/// `enum bpf_cmd`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    MapCreate = 0,
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    MapGetNextKey = 4,
    ProgLoad = 5,
    ObjPin = 6,
    ObjGet = 7,
    ProgAttach = 8,
    ProgDetach = 9,
    ProgTestRun = 10,
    ProgGetNextId = 11,
    MapGetNextId = 12,
    ProgGetFdById = 13,
    MapGetFdById = 14,
    ObjGetInfoByFd = 15,
    ProgQuery = 16,
    RawTracepointOpen = 17,
    BtfLoad = 18,
    BtfGetFdById = 19,
    TaskFdQuery = 20,
    MapLookupAndDeleteElem = 21,
    MapFreeze = 22,
    BtfGetNextId = 23,
    MapLookupBatch = 24,
    MapLookupAndDeleteBatch = 25,
    MapUpdateBatch = 26,
    MapDeleteBatch = 27,
    LinkCreate = 28,
    LinkUpdate = 29,
    LinkGetFdById = 30,
    LinkGetNextId = 31,
    EnableStats = 32,
    IterCreate = 33,
    LinkDetach = 34,
    ProgBindMap = 35,
}

/// The kinds of kernel objects that have ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjKind {
    Prog,
    Map,
    Btf,
    Link,
}

impl ObjKind {
    fn next_cmd(self) -> Cmd {
        match self {
            ObjKind::Prog => Cmd::ProgGetNextId,
            ObjKind::Map => Cmd::MapGetNextId,
            ObjKind::Btf => Cmd::BtfGetNextId,
            ObjKind::Link => Cmd::LinkGetNextId,
        }
    }

    fn fd_cmd(self) -> Cmd {
        match self {
            ObjKind::Prog => Cmd::ProgGetFdById,
            ObjKind::Map => Cmd::MapGetFdById,
            ObjKind::Btf => Cmd::BtfGetFdById,
            ObjKind::Link => Cmd::LinkGetFdById,
        }
    }

    fn open_op(self) -> &'static str {
        match self {
            ObjKind::Prog => "open prog by id",
            ObjKind::Map => "open map by id",
            ObjKind::Btf => "open btf by id",
            ObjKind::Link => "open link by id",
        }
    }
}

/// Makes one `bpf(2)` call with `attr`; returns the non-negative result or the OS error.
pub fn sys_bpf<T: Pod>(cmd: Cmd, attr: &mut T) -> io::Result<i64> {
    let size = std::mem::size_of::<T>();
    // SAFETY: `attr` is a live, exclusively borrowed `#[repr(C)]` plain-old-data value of `size`
    // bytes (the `Pod` contract); every address stored inside it was set by the callers in this
    // module from buffers that outlive this call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut T as *mut libc::c_void,
            size as libc::c_long,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as i64)
    }
}

fn fd_from(ret: i64) -> OwnedFd {
    // SAFETY: the kernel returned a new file descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(ret as i32) }
}

fn raw(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

fn call(op: &'static str, cmd: Cmd, attr: &mut impl Pod) -> Result<i64> {
    sys_bpf(cmd, attr).map_err(|source| Error::Syscall { op, source })
}

fn call_fd(op: &'static str, cmd: Cmd, attr: &mut impl Pod) -> Result<OwnedFd> {
    call(op, cmd, attr).map(fd_from)
}

fn cstring(op: &'static str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidArgument {
        op,
        problem: format!("{s:?} contains a NUL byte"),
    })
}

/// Creates a map.
pub fn map_create(attr: &MapCreateAttr) -> Result<OwnedFd> {
    let mut a = *attr;
    call_fd("map create", Cmd::MapCreate, &mut a)
}

/// Looks `key` up; fills `value` and returns `true` if present, `false` if absent.
pub fn map_lookup_elem(
    map: BorrowedFd<'_>,
    key: &[u8],
    value: &mut [u8],
    flags: u64,
) -> Result<bool> {
    let mut a = MapElemAttr {
        map_fd: raw(map),
        key: key.as_ptr() as u64,
        value: value.as_mut_ptr() as u64,
        flags,
        ..Default::default()
    };
    match sys_bpf(Cmd::MapLookupElem, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(source) => Err(Error::Syscall {
            op: "map lookup",
            source,
        }),
    }
}

/// Stores `value` at `key` (`flags`: `BPF_ANY` 0, `BPF_NOEXIST` 1, `BPF_EXIST` 2, `BPF_F_LOCK` 4).
pub fn map_update_elem(map: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
    let mut a = MapElemAttr {
        map_fd: raw(map),
        key: key.as_ptr() as u64,
        value: value.as_ptr() as u64,
        flags,
        ..Default::default()
    };
    call("map update", Cmd::MapUpdateElem, &mut a).map(drop)
}

/// Deletes `key`; returns `false` if it was not there.
pub fn map_delete_elem(map: BorrowedFd<'_>, key: &[u8]) -> Result<bool> {
    let mut a = MapElemAttr {
        map_fd: raw(map),
        key: key.as_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(Cmd::MapDeleteElem, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(source) => Err(Error::Syscall {
            op: "map delete",
            source,
        }),
    }
}

/// Writes the key after `key` (the first key for `None`) into `next`; `false` at the end.
pub fn map_get_next_key(map: BorrowedFd<'_>, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
    let mut a = MapElemAttr {
        map_fd: raw(map),
        key: key.map_or(0, |k| k.as_ptr() as u64),
        value: next.as_mut_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(Cmd::MapGetNextKey, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(source) => Err(Error::Syscall {
            op: "map next key",
            source,
        }),
    }
}

/// Makes a map read-only for user space (used for `.rodata`).
pub fn map_freeze(map: BorrowedFd<'_>) -> Result<()> {
    let mut a = FdAttr {
        fd: raw(map),
        flags: 0,
    };
    call("map freeze", Cmd::MapFreeze, &mut a).map(drop)
}

/// What a program load needs besides its instructions.
#[derive(Debug, Default, Clone)]
pub struct ProgLoad<'a> {
    pub prog_type: u32,
    pub expected_attach_type: u32,
    pub name: &'a str,
    pub license: &'a str,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_ifindex: u32,
    pub btf_fd: Option<BorrowedFd<'a>>,
    /// `bpf_func_info` records (8 bytes each) and `bpf_line_info` records (16 bytes each).
    pub func_info: &'a [u8],
    pub func_info_rec_size: u32,
    pub line_info: &'a [u8],
    pub line_info_rec_size: u32,
    pub attach_btf_id: u32,
    pub attach_fd: Option<BorrowedFd<'a>>,
    pub fd_array: &'a [i32],
    /// Verifier log level for the first attempt (0: log only on failure, retried at level 1).
    pub log_level: u32,
}

/// Loads a program. On rejection, the load is repeated with a verifier log and the error
/// carries that log ([`Error::Rejected`]).
pub fn prog_load(insns: &[u8], opts: &ProgLoad<'_>) -> Result<OwnedFd> {
    prog_load_logged(insns, opts).map(|(fd, _)| fd)
}

/// Like [`prog_load`], and also returns the verifier log of a successful load (empty unless
/// `opts.log_level` > 0).
pub fn prog_load_logged(insns: &[u8], opts: &ProgLoad<'_>) -> Result<(OwnedFd, String)> {
    const OP: &str = "prog load";
    if insns.len() % 8 != 0 {
        return Err(Error::InvalidArgument {
            op: OP,
            problem: format!("{} instruction bytes is not a multiple of 8", insns.len()),
        });
    }
    let license = cstring(OP, opts.license)?;
    let count = |bytes: &[u8], rec: u32| (bytes.len() as u32).checked_div(rec).unwrap_or(0);
    let mut a = ProgLoadAttr {
        prog_type: opts.prog_type,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        kern_version: opts.kern_version,
        prog_flags: opts.prog_flags,
        prog_name: obj_name(opts.name),
        prog_ifindex: opts.prog_ifindex,
        expected_attach_type: opts.expected_attach_type,
        prog_btf_fd: opts.btf_fd.map_or(0, raw),
        func_info_rec_size: opts.func_info_rec_size,
        func_info: opts.func_info.as_ptr() as u64,
        func_info_cnt: count(opts.func_info, opts.func_info_rec_size),
        line_info_rec_size: opts.line_info_rec_size,
        line_info: opts.line_info.as_ptr() as u64,
        line_info_cnt: count(opts.line_info, opts.line_info_rec_size),
        attach_btf_id: opts.attach_btf_id,
        attach_fd: opts.attach_fd.map_or(0, raw),
        fd_array: if opts.fd_array.is_empty() {
            0
        } else {
            opts.fd_array.as_ptr() as u64
        },
        ..Default::default()
    };
    if a.func_info_cnt == 0 {
        a.func_info = 0;
        a.func_info_rec_size = 0;
    }
    if a.line_info_cnt == 0 {
        a.line_info = 0;
        a.line_info_rec_size = 0;
    }
    let mut log = Vec::new();
    if opts.log_level > 0 {
        log = vec![0u8; 16 << 20];
        a.log_level = opts.log_level;
        a.log_buf = log.as_mut_ptr() as u64;
        a.log_size = log.len() as u32;
    }
    let mut first = load_retrying(&mut a);
    if first.is_err() && opts.log_level == 0 {
        // Load again with a log so the rejection can be explained.
        log = vec![0u8; 16 << 20];
        a.log_level = 1;
        a.log_buf = log.as_mut_ptr() as u64;
        a.log_size = log.len() as u32;
        // A log too long for the buffer (ENOSPC) still holds its first 16 MiB: keep it.
        first = load_retrying(&mut a);
    }
    match first {
        Ok(ret) => Ok((fd_from(ret), log_text(&log))),
        Err(source) => {
            let text = log_text(&log);
            if text.is_empty() {
                Err(Error::Syscall { op: OP, source })
            } else {
                Err(Error::Rejected {
                    op: OP,
                    source,
                    log: text,
                })
            }
        }
    }
}

fn load_retrying(a: &mut ProgLoadAttr) -> io::Result<i64> {
    // The kernel answers EAGAIN when a load races with a signal; a few retries suffice.
    let mut tries = 0;
    loop {
        match sys_bpf(Cmd::ProgLoad, a) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && tries < 5 => tries += 1,
            other => return other,
        }
    }
}

fn log_text(log: &[u8]) -> String {
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    String::from_utf8_lossy(&log[..end]).trim_end().to_string()
}

/// Loads BTF into the kernel; a rejection carries the BTF checker's log.
pub fn btf_load(data: &[u8]) -> Result<OwnedFd> {
    const OP: &str = "btf load";
    let mut a = BtfLoadAttr {
        btf: data.as_ptr() as u64,
        btf_size: data.len() as u32,
        ..Default::default()
    };
    match sys_bpf(Cmd::BtfLoad, &mut a) {
        Ok(ret) => Ok(fd_from(ret)),
        Err(_) => {
            let mut log = vec![0u8; 1 << 20];
            a.btf_log_buf = log.as_mut_ptr() as u64;
            a.btf_log_size = log.len() as u32;
            a.btf_log_level = 1;
            match sys_bpf(Cmd::BtfLoad, &mut a) {
                Ok(ret) => Ok(fd_from(ret)),
                Err(source) => Err(Error::Rejected {
                    op: OP,
                    source,
                    log: log_text(&log),
                }),
            }
        }
    }
}

/// Pins a program, map, link or BTF object at `path` (which must be on a bpf filesystem).
pub fn obj_pin(fd: BorrowedFd<'_>, path: &str) -> Result<()> {
    const OP: &str = "pin";
    let p = cstring(OP, path)?;
    let mut a = ObjAttr {
        pathname: p.as_ptr() as u64,
        bpf_fd: raw(fd),
        ..Default::default()
    };
    call(OP, Cmd::ObjPin, &mut a).map(drop)
}

/// Opens a pinned object.
pub fn obj_get(path: &str) -> Result<OwnedFd> {
    const OP: &str = "open pinned object";
    let p = cstring(OP, path)?;
    let mut a = ObjAttr {
        pathname: p.as_ptr() as u64,
        ..Default::default()
    };
    call_fd(OP, Cmd::ObjGet, &mut a)
}

/// The id after `start` of objects of `kind`, or `None` past the last one.
pub fn next_id(kind: ObjKind, start: u32) -> Result<Option<u32>> {
    let mut a = GetIdAttr {
        start_id: start,
        ..Default::default()
    };
    match sys_bpf(kind.next_cmd(), &mut a) {
        Ok(_) => Ok(Some(a.next_id)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(source) => Err(Error::Syscall {
            op: "list ids",
            source,
        }),
    }
}

/// Every id of objects of `kind` now in the kernel, in increasing order.
pub fn ids(kind: ObjKind) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = next_id(kind, id)? {
        out.push(next);
        id = next;
    }
    Ok(out)
}

/// Opens the object of `kind` with `id`.
pub fn fd_by_id(kind: ObjKind, id: u32) -> Result<OwnedFd> {
    let mut a = GetIdAttr {
        start_id: id,
        ..Default::default()
    };
    sys_bpf(kind.fd_cmd(), &mut a)
        .map(fd_from)
        .map_err(|source| Error::Syscall {
            op: kind.open_op(),
            source,
        })
}

/// Fills an info structure for `fd`; returns how many bytes the kernel knows of.
pub fn obj_info<T: Pod>(fd: BorrowedFd<'_>, info: &mut T) -> Result<u32> {
    let mut a = InfoAttr {
        bpf_fd: raw(fd),
        info_len: std::mem::size_of::<T>() as u32,
        info: info as *mut T as u64,
    };
    call("get object info", Cmd::ObjGetInfoByFd, &mut a)?;
    Ok(a.info_len)
}

/// Information about a program.
pub fn prog_info(fd: BorrowedFd<'_>) -> Result<ProgInfo> {
    let mut info = ProgInfo::default();
    obj_info(fd, &mut info)?;
    Ok(info)
}

/// The translated (post-verifier) instructions and map ids of a program.
pub fn prog_xlated(fd: BorrowedFd<'_>) -> Result<(ProgInfo, Vec<u8>, Vec<u32>)> {
    let first = prog_info(fd)?;
    let mut insns = vec![0u8; first.xlated_prog_len as usize];
    let mut maps = vec![0u32; first.nr_map_ids as usize];
    let mut info = ProgInfo {
        xlated_prog_len: insns.len() as u32,
        xlated_prog_insns: insns.as_mut_ptr() as u64,
        nr_map_ids: maps.len() as u32,
        map_ids: maps.as_mut_ptr() as u64,
        ..Default::default()
    };
    obj_info(fd, &mut info)?;
    insns.truncate(info.xlated_prog_len.min(first.xlated_prog_len) as usize);
    maps.truncate(info.nr_map_ids.min(first.nr_map_ids) as usize);
    Ok((info, insns, maps))
}

/// Information about a map.
pub fn map_info(fd: BorrowedFd<'_>) -> Result<MapInfo> {
    let mut info = MapInfo::default();
    obj_info(fd, &mut info)?;
    Ok(info)
}

/// Information about a link.
pub fn link_info(fd: BorrowedFd<'_>) -> Result<LinkInfo> {
    let mut info = LinkInfo::default();
    obj_info(fd, &mut info)?;
    Ok(info)
}

/// Information about a BTF object, with its name.
pub fn btf_info(fd: BorrowedFd<'_>) -> Result<(BtfInfo, String)> {
    let mut name = [0u8; 64];
    let mut info = BtfInfo {
        name: name.as_mut_ptr() as u64,
        name_len: name.len() as u32,
        ..Default::default()
    };
    obj_info(fd, &mut info)?;
    Ok((info, name_str(&name)))
}

/// The raw BTF bytes of a kernel BTF object.
pub fn btf_data(fd: BorrowedFd<'_>) -> Result<Vec<u8>> {
    let mut first = BtfInfo::default();
    obj_info(fd, &mut first)?;
    let mut data = vec![0u8; first.btf_size as usize];
    let mut info = BtfInfo {
        btf: data.as_mut_ptr() as u64,
        btf_size: data.len() as u32,
        ..Default::default()
    };
    obj_info(fd, &mut info)?;
    data.truncate(info.btf_size.min(first.btf_size) as usize);
    Ok(data)
}

/// Attaches a raw tracepoint (or, with `name` `None`, a BTF-typed tracing program at the
/// target it was loaded for); returns the link fd.
pub fn raw_tracepoint_open(prog: BorrowedFd<'_>, name: Option<&str>) -> Result<OwnedFd> {
    const OP: &str = "raw tracepoint open";
    let n = name.map(|n| cstring(OP, n)).transpose()?;
    let mut a = RawTracepointAttr {
        name: n.as_ref().map_or(0, |n| n.as_ptr() as u64),
        prog_fd: raw(prog),
        ..Default::default()
    };
    call_fd(OP, Cmd::RawTracepointOpen, &mut a)
}

/// Creates a link; `extra` is the attach-type specific tail of the attribute union.
pub fn link_create(
    prog: BorrowedFd<'_>,
    target: u32,
    attach_type: u32,
    flags: u32,
    extra: [u64; 6],
) -> Result<OwnedFd> {
    let mut a = LinkCreateAttr {
        prog_fd: raw(prog),
        target,
        attach_type,
        flags,
        extra,
    };
    call_fd("link create", Cmd::LinkCreate, &mut a)
}

/// Creates a kprobe_multi link from a filled attribute (see [`crate::link::kprobe_multi`]).
pub fn link_create_kprobe_multi(attr: &mut KprobeMultiLinkAttr) -> Result<OwnedFd> {
    call_fd("kprobe_multi link create", Cmd::LinkCreate, attr)
}

/// Detaches a link from its hook (the link fd stays valid but defunct).
pub fn link_detach(link: BorrowedFd<'_>) -> Result<()> {
    let mut a = FdAttr {
        fd: raw(link),
        flags: 0,
    };
    call("link detach", Cmd::LinkDetach, &mut a).map(drop)
}

/// Creates an iterator instance from an iter link; reading the returned fd runs the program.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut a = FdAttr {
        fd: raw(link),
        flags: 0,
    };
    call_fd("iter create", Cmd::IterCreate, &mut a)
}

/// Legacy attach (cgroup, sockmap, flow dissector…).
pub fn prog_attach(
    prog: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<()> {
    let mut a = ProgAttachAttr {
        target_fd: raw(target),
        attach_bpf_fd: raw(prog),
        attach_type,
        attach_flags: flags,
        replace_bpf_fd: 0,
    };
    call("prog attach", Cmd::ProgAttach, &mut a).map(drop)
}

/// Legacy detach of `prog` from `target`.
pub fn prog_detach(prog: BorrowedFd<'_>, target: BorrowedFd<'_>, attach_type: u32) -> Result<()> {
    let mut a = ProgAttachAttr {
        target_fd: raw(target),
        attach_bpf_fd: raw(prog),
        attach_type,
        ..Default::default()
    };
    call("prog detach", Cmd::ProgDetach, &mut a).map(drop)
}

/// The result of a test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRun {
    pub retval: u32,
    pub duration_ns: u32,
    pub data_size_out: u32,
}

/// Runs a program on `data_in` (and optional context) without attaching it.
pub fn prog_test_run(
    prog: BorrowedFd<'_>,
    data_in: &[u8],
    data_out: Option<&mut [u8]>,
    repeat: u32,
) -> Result<TestRun> {
    let (out_ptr, out_len) = data_out.map_or((0, 0), |d| (d.as_mut_ptr() as u64, d.len() as u32));
    let mut a = TestRunAttr {
        prog_fd: raw(prog),
        data_in: if data_in.is_empty() {
            0
        } else {
            data_in.as_ptr() as u64
        },
        data_size_in: data_in.len() as u32,
        data_out: out_ptr,
        data_size_out: out_len,
        repeat,
        ..Default::default()
    };
    call("prog test run", Cmd::ProgTestRun, &mut a)?;
    Ok(TestRun {
        retval: a.retval,
        duration_ns: a.duration,
        data_size_out: a.data_size_out,
    })
}

/// The ids of programs attached to `target` at `attach_type`.
pub fn prog_query(
    target: BorrowedFd<'_>,
    attach_type: u32,
    query_flags: u32,
) -> Result<(u32, Vec<u32>)> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut a = QueryAttr {
            target_fd: raw(target),
            attach_type,
            query_flags,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        match sys_bpf(Cmd::ProgQuery, &mut a) {
            Ok(_) => {
                ids.truncate(a.prog_cnt as usize);
                return Ok((a.attach_flags, ids));
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

/// Binds a map to a program so it lives as long as the program (used for maps only
/// referenced indirectly).
pub fn prog_bind_map(prog: BorrowedFd<'_>, map: BorrowedFd<'_>) -> Result<()> {
    let mut a = ProgBindMapAttr {
        prog_fd: raw(prog),
        map_fd: raw(map),
        flags: 0,
    };
    call("prog bind map", Cmd::ProgBindMap, &mut a).map(drop)
}
