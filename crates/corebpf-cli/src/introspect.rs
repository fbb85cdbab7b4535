//! Shared pieces of the live-kernel subcommands (`prog`, `map`, `link`, `net`, `cgroup`,
//! `btf list`, `feature`): kernel enum names, object info with its arrays, fdinfo, kallsyms,
//! time conversion and output helpers.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use corebpf_btf::{Btf, Kind, TypeKind};
use corebpf_sys::bpf::{self, attr::ProgInfo, ObjKind};

/// Where the running kernel publishes its BTF.
pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The running kernel's BTF bytes, read once per process.
pub fn vmlinux_bytes() -> Option<&'static [u8]> {
    static DATA: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    DATA.get_or_init(|| std::fs::read(VMLINUX).ok()).as_deref()
}

/// The running kernel's BTF, parsed once per process.
pub fn vmlinux() -> Option<&'static Btf<'static>> {
    static BTF: OnceLock<Option<Btf<'static>>> = OnceLock::new();
    BTF.get_or_init(|| vmlinux_bytes().and_then(|d| Btf::parse_lazy(d).ok()))
        .as_ref()
}

/// Names of the kernel's `enum bpf_*_type` values: the enumerator without its prefix,
/// lower-cased (`BPF_PROG_TYPE_SOCKET_FILTER` → `socket_filter`), as bpftool prints them.
///
/// The values the UAPI header of Linux 6.18 defines are compiled in (the enums only ever grow);
/// values past them are named from the running kernel's BTF, read the first time one is asked
/// for, so a newer kernel's types are still named. Aliases marked `_DEPRECATED` give way to
/// the current name.
pub struct EnumNames {
    fixed: &'static [&'static str],
    enum_name: &'static str,
    prefix: &'static str,
    from_btf: OnceLock<HashMap<u32, String>>,
}

impl EnumNames {
    const fn new(
        fixed: &'static [&'static str],
        enum_name: &'static str,
        prefix: &'static str,
    ) -> EnumNames {
        EnumNames {
            fixed,
            enum_name,
            prefix,
            from_btf: OnceLock::new(),
        }
    }

    fn btf_names(&self) -> &HashMap<u32, String> {
        self.from_btf.get_or_init(|| {
            let mut names = HashMap::new();
            let Some(btf) = vmlinux() else {
                return names;
            };
            let Some(id) = btf.find_by_name_kind(self.enum_name, Kind::Enum) else {
                return names;
            };
            let Ok(t) = btf.type_by_id(id) else {
                return names;
            };
            let TypeKind::Enum { values, .. } = t.kind else {
                return names;
            };
            for v in values.iter() {
                let Some(rest) = v.name.strip_prefix(self.prefix) else {
                    continue;
                };
                if rest.starts_with("__MAX") || rest.starts_with("MAX") {
                    continue;
                }
                let Ok(value) = u32::try_from(v.value) else {
                    continue;
                };
                let name = rest.to_ascii_lowercase();
                if !(name.ends_with("_deprecated") && names.contains_key(&value)) {
                    names.insert(value, name);
                }
            }
            names
        })
    }

    /// The name of `value`, if known.
    pub fn get(&self, value: u32) -> Option<&str> {
        match self.fixed.get(value as usize) {
            Some(n) if !n.is_empty() => Some(n),
            _ => self.btf_names().get(&value).map(String::as_str),
        }
    }

    /// The name of `value`, or the number for values this kernel does not name.
    pub fn name(&self, value: u32) -> String {
        self.get(value)
            .map_or_else(|| value.to_string(), str::to_string)
    }

    /// The value named `name`.
    pub fn value(&self, name: &str) -> Option<u32> {
        if let Some(i) = self.fixed.iter().position(|n| *n == name) {
            return u32::try_from(i).ok();
        }
        self.btf_names()
            .iter()
            .find_map(|(&v, n)| (n == name).then_some(v))
    }

    /// Every (value, name) the running kernel has (its BTF; the built-in list without BTF),
    /// by value.
    pub fn all(&self) -> Vec<(u32, &str)> {
        let btf = self.btf_names();
        let mut v: Vec<(u32, &str)> = if btf.is_empty() {
            (0u32..)
                .zip(self.fixed.iter().copied())
                .filter(|(_, n)| !n.is_empty())
                .collect()
        } else {
            btf.iter().map(|(&k, n)| (k, n.as_str())).collect()
        };
        v.sort_unstable();
        v
    }
}

macro_rules! enum_names {
    ($fn:ident, $enum:literal, $prefix:literal, [$($name:literal),* $(,)?]) => {
        #[doc = concat!("Names of `enum ", $enum, "`.")]
        pub fn $fn() -> &'static EnumNames {
            static N: EnumNames = EnumNames::new(&[$($name),*], $enum, $prefix);
            &N
        }
    };
}

enum_names!(
    prog_types,
    "bpf_prog_type",
    "BPF_PROG_TYPE_",
    [
        "unspec",
        "socket_filter",
        "kprobe",
        "sched_cls",
        "sched_act",
        "tracepoint",
        "xdp",
        "perf_event",
        "cgroup_skb",
        "cgroup_sock",
        "lwt_in",
        "lwt_out",
        "lwt_xmit",
        "sock_ops",
        "sk_skb",
        "cgroup_device",
        "sk_msg",
        "raw_tracepoint",
        "cgroup_sock_addr",
        "lwt_seg6local",
        "lirc_mode2",
        "sk_reuseport",
        "flow_dissector",
        "cgroup_sysctl",
        "raw_tracepoint_writable",
        "cgroup_sockopt",
        "tracing",
        "struct_ops",
        "ext",
        "lsm",
        "sk_lookup",
        "syscall",
        "netfilter",
    ]
);
enum_names!(
    map_types,
    "bpf_map_type",
    "BPF_MAP_TYPE_",
    [
        "unspec",
        "hash",
        "array",
        "prog_array",
        "perf_event_array",
        "percpu_hash",
        "percpu_array",
        "stack_trace",
        "cgroup_array",
        "lru_hash",
        "lru_percpu_hash",
        "lpm_trie",
        "array_of_maps",
        "hash_of_maps",
        "devmap",
        "sockmap",
        "cpumap",
        "xskmap",
        "sockhash",
        "cgroup_storage",
        "reuseport_sockarray",
        "percpu_cgroup_storage",
        "queue",
        "stack",
        "sk_storage",
        "devmap_hash",
        "struct_ops",
        "ringbuf",
        "inode_storage",
        "task_storage",
        "bloom_filter",
        "user_ringbuf",
        "cgrp_storage",
        "arena",
    ]
);
enum_names!(
    link_types,
    "bpf_link_type",
    "BPF_LINK_TYPE_",
    [
        "unspec",
        "raw_tracepoint",
        "tracing",
        "cgroup",
        "iter",
        "netns",
        "xdp",
        "perf_event",
        "kprobe_multi",
        "struct_ops",
        "netfilter",
        "tcx",
        "uprobe_multi",
        "netkit",
        "sockmap",
    ]
);
enum_names!(
    attach_types,
    "bpf_attach_type",
    "BPF_",
    [
        "cgroup_inet_ingress",
        "cgroup_inet_egress",
        "cgroup_inet_sock_create",
        "cgroup_sock_ops",
        "sk_skb_stream_parser",
        "sk_skb_stream_verdict",
        "cgroup_device",
        "sk_msg_verdict",
        "cgroup_inet4_bind",
        "cgroup_inet6_bind",
        "cgroup_inet4_connect",
        "cgroup_inet6_connect",
        "cgroup_inet4_post_bind",
        "cgroup_inet6_post_bind",
        "cgroup_udp4_sendmsg",
        "cgroup_udp6_sendmsg",
        "lirc_mode2",
        "flow_dissector",
        "cgroup_sysctl",
        "cgroup_udp4_recvmsg",
        "cgroup_udp6_recvmsg",
        "cgroup_getsockopt",
        "cgroup_setsockopt",
        "trace_raw_tp",
        "trace_fentry",
        "trace_fexit",
        "modify_return",
        "lsm_mac",
        "trace_iter",
        "cgroup_inet4_getpeername",
        "cgroup_inet6_getpeername",
        "cgroup_inet4_getsockname",
        "cgroup_inet6_getsockname",
        "xdp_devmap",
        "cgroup_inet_sock_release",
        "xdp_cpumap",
        "sk_lookup",
        "xdp",
        "sk_skb_verdict",
        "sk_reuseport_select",
        "sk_reuseport_select_or_migrate",
        "perf_event",
        "trace_kprobe_multi",
        "lsm_cgroup",
        "struct_ops",
        "netfilter",
        "tcx_ingress",
        "tcx_egress",
        "trace_uprobe_multi",
        "cgroup_unix_connect",
        "cgroup_unix_sendmsg",
        "cgroup_unix_recvmsg",
        "cgroup_unix_getpeername",
        "cgroup_unix_getsockname",
        "netkit_primary",
        "netkit_peer",
        "trace_kprobe_session",
        "trace_uprobe_session",
    ]
);
enum_names!(helper_ids, "bpf_func_id", "BPF_FUNC_", []);

/// A program's info with its variable-length arrays filled in.
#[derive(Default)]
pub struct FullProgInfo {
    pub info: ProgInfo,
    pub xlated: Vec<u8>,
    pub jited: Vec<u8>,
    pub map_ids: Vec<u32>,
    pub jited_ksyms: Vec<u64>,
    pub jited_func_lens: Vec<u32>,
    pub func_info: Vec<u8>,
    pub line_info: Vec<u8>,
    pub jited_line_info: Vec<u64>,
}

/// What [`prog_info_full`] fetches besides the fixed part.
#[derive(Clone, Copy, Default)]
pub struct Want {
    pub insns: bool,
    pub jited: bool,
    pub debug: bool,
}

/// Fetches a program's info in two calls: the sizes, then the arrays asked for.
pub fn prog_info_full(fd: BorrowedFd<'_>, want: Want) -> Result<FullProgInfo> {
    let first = bpf::prog_info(fd)?;
    let mut out = FullProgInfo {
        map_ids: vec![0; first.nr_map_ids as usize],
        ..Default::default()
    };
    let mut info = ProgInfo {
        nr_map_ids: first.nr_map_ids,
        map_ids: out.map_ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    if want.insns {
        out.xlated = vec![0; first.xlated_prog_len as usize];
        info.xlated_prog_len = first.xlated_prog_len;
        info.xlated_prog_insns = out.xlated.as_mut_ptr() as u64;
    }
    if want.jited {
        out.jited = vec![0; first.jited_prog_len as usize];
        info.jited_prog_len = first.jited_prog_len;
        info.jited_prog_insns = out.jited.as_mut_ptr() as u64;
    }
    if want.jited || want.debug {
        out.jited_ksyms = vec![0; first.nr_jited_ksyms as usize];
        info.nr_jited_ksyms = first.nr_jited_ksyms;
        info.jited_ksyms = out.jited_ksyms.as_mut_ptr() as u64;
        out.jited_func_lens = vec![0; first.nr_jited_func_lens as usize];
        info.nr_jited_func_lens = first.nr_jited_func_lens;
        info.jited_func_lens = out.jited_func_lens.as_mut_ptr() as u64;
    }
    if want.debug {
        let fsz = first.func_info_rec_size as usize;
        out.func_info = vec![0; first.nr_func_info as usize * fsz];
        info.nr_func_info = first.nr_func_info;
        info.func_info_rec_size = first.func_info_rec_size;
        info.func_info = out.func_info.as_mut_ptr() as u64;
        let lsz = first.line_info_rec_size as usize;
        out.line_info = vec![0; first.nr_line_info as usize * lsz];
        info.nr_line_info = first.nr_line_info;
        info.line_info_rec_size = first.line_info_rec_size;
        info.line_info = out.line_info.as_mut_ptr() as u64;
        out.jited_line_info = vec![0; first.nr_jited_line_info as usize];
        info.nr_jited_line_info = first.nr_jited_line_info;
        info.jited_line_info_rec_size = 8;
        info.jited_line_info = out.jited_line_info.as_mut_ptr() as u64;
    }
    bpf::obj_info(fd, &mut info)?;
    // The kernel reports how many it has; keep no more than the buffers held.
    out.map_ids.truncate(info.nr_map_ids as usize);
    out.xlated.truncate(info.xlated_prog_len as usize);
    out.jited.truncate(info.jited_prog_len as usize);
    out.jited_ksyms.truncate(info.nr_jited_ksyms as usize);
    out.jited_func_lens
        .truncate(info.nr_jited_func_lens as usize);
    out.jited_line_info
        .truncate(info.nr_jited_line_info as usize);
    // The fixed fields of the second call miss what was not asked for: keep the first's.
    out.info = ProgInfo {
        xlated_prog_len: first.xlated_prog_len,
        jited_prog_len: first.jited_prog_len,
        nr_map_ids: info.nr_map_ids,
        ..first
    };
    out.info.func_info_rec_size = info.func_info_rec_size.max(first.func_info_rec_size);
    out.info.line_info_rec_size = info.line_info_rec_size.max(first.line_info_rec_size);
    Ok(out)
}

/// The key/value lines of `/proc/self/fdinfo/FD` (`memlock`, `frozen`, `map_type`, …).
pub fn fdinfo(fd: BorrowedFd<'_>) -> HashMap<String, String> {
    let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// An fdinfo number.
pub fn fdinfo_u64(info: &HashMap<String, String>, key: &str) -> Option<u64> {
    info.get(key).and_then(|v| v.parse().ok())
}

/// Seconds since the epoch at which the system booted (`CLOCK_REALTIME - CLOCK_BOOTTIME`),
/// for turning the kernel's `load_time` (ns since boot) into a wall-clock time.
pub fn boot_time_ns() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // /proc/uptime counts CLOCK_BOOTTIME (suspend included) to 10 ms.
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|f| f.parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    now.saturating_sub((uptime * 1e9) as u64)
}

/// `load_time` as seconds since the epoch.
pub fn loaded_at(load_time_ns: u64) -> u64 {
    (boot_time_ns() + load_time_ns) / 1_000_000_000
}

/// A UTC time as bpftool prints it: `2026-11-22T00:51:03+0000`.
pub fn iso_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Kernel symbols by address, from `/proc/kallsyms` (read once per process).
pub struct Kallsyms {
    by_addr: HashMap<u64, String>,
    /// `__bpf_call_base`: helper call immediates in translated code are relative to it.
    pub call_base: Option<u64>,
}

impl Kallsyms {
    /// The symbols of the running kernel (empty when addresses are hidden).
    pub fn get() -> &'static Kallsyms {
        static K: OnceLock<Kallsyms> = OnceLock::new();
        K.get_or_init(|| {
            let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
            let mut by_addr = HashMap::new();
            let mut call_base = None;
            for line in text.lines() {
                let mut f = line.split_whitespace();
                let (Some(addr), Some(_kind), Some(name)) = (f.next(), f.next(), f.next()) else {
                    continue;
                };
                let Ok(addr) = u64::from_str_radix(addr, 16) else {
                    continue;
                };
                if addr == 0 {
                    continue;
                }
                if name == "__bpf_call_base" {
                    call_base = Some(addr);
                }
                by_addr.entry(addr).or_insert_with(|| name.to_string());
            }
            Kallsyms { by_addr, call_base }
        })
    }

    /// The symbol at exactly `addr`.
    pub fn at(&self, addr: u64) -> Option<&str> {
        self.by_addr.get(&addr).map(String::as_str)
    }
}

/// The `-j`/`-p` options every introspection command takes.
#[derive(clap::Args, Clone, Copy)]
pub struct JsonArgs {
    /// JSON output, with bpftool's `-j` key names.
    #[arg(long, short = 'j', global = true)]
    pub json: bool,
    /// Pretty-printed JSON (implies --json).
    #[arg(long, short = 'p', global = true)]
    pub pretty: bool,
}

impl JsonArgs {
    /// Whether JSON output was asked for.
    pub fn wanted(&self) -> bool {
        self.json || self.pretty
    }
}

/// Opens a kernel object by id, with a message naming it.
pub fn open(kind: ObjKind, id: u32) -> Result<OwnedFd> {
    let what = match kind {
        ObjKind::Prog => "program",
        ObjKind::Map => "map",
        ObjKind::Btf => "BTF object",
        ObjKind::Link => "link",
    };
    bpf::fd_by_id(kind, id).with_context(|| format!("cannot open {what} id {id}"))
}

/// Every object of `kind` that can still be opened, with its id (objects that disappear
/// between listing and opening are skipped).
pub fn open_all(kind: ObjKind) -> Result<Vec<(u32, OwnedFd)>> {
    let ids = bpf::ids(kind).context(
        "listing kernel objects (needs root or CAP_SYS_ADMIN; the kernel refused the request)",
    )?;
    Ok(ids
        .into_iter()
        .filter_map(|id| bpf::fd_by_id(kind, id).ok().map(|fd| (id, fd)))
        .collect())
}

/// Opens the objects of `kind` (the one with id `only`, or every one) and describes each.
pub fn describe_each(
    kind: ObjKind,
    only: Option<u32>,
    mut describe: impl FnMut(u32, BorrowedFd<'_>) -> Result<serde_json::Value>,
) -> Result<Vec<serde_json::Value>> {
    let objs = match only {
        Some(id) => vec![(id, open(kind, id)?)],
        None => open_all(kind)?,
    };
    objs.iter()
        .map(|(id, fd)| describe(*id, fd.as_fd()))
        .collect()
}

/// Prints a listing as bpftool's `-j` does: the object itself when one id was asked for, an
/// array otherwise.
pub fn print_listing(mut all: Vec<serde_json::Value>, single: bool, pretty: bool) -> Result<()> {
    let v = if single {
        all.pop().unwrap_or(serde_json::Value::Null)
    } else {
        serde_json::Value::Array(all)
    };
    print_json(&v, pretty)
}

/// Writes a JSON value to stdout, pretty when asked.
pub fn print_json(value: &serde_json::Value, pretty: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if pretty {
        serde_json::to_writer_pretty(&mut out, value)?;
    } else {
        serde_json::to_writer(&mut out, value)?;
    }
    writeln!(out)?;
    Ok(())
}

/// The name field of an info structure.
pub fn name(raw: &[u8]) -> String {
    bpf::attr::name_str(raw)
}

/// The BTF of a kernel BTF object by id, as bytes (parse with [`parse_btf`]). The bytes live
/// as long as the process, like the vmlinux BTF a split BTF is parsed against.
pub fn btf_bytes(id: u32) -> Result<&'static [u8]> {
    let fd = open(ObjKind::Btf, id)?;
    Ok(Box::leak(bpf::btf_data(fd.as_fd())?.into_boxed_slice()))
}

/// Parses BTF fetched from the kernel: standalone, or split on top of vmlinux (modules).
pub fn parse_btf(data: &'static [u8]) -> Result<Btf<'static>> {
    match Btf::parse(data) {
        Ok(b) => Ok(b),
        Err(first) => match vmlinux() {
            Some(base) => Btf::parse_split(data, base).map_err(Into::into),
            None => Err(first.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_are_the_kernels() {
        // The compiled-in tables against the running kernel's own enums (BTF).
        for names in [prog_types(), map_types(), link_types(), attach_types()] {
            let btf = names.btf_names();
            assert!(!btf.is_empty(), "{} not in the kernel BTF", names.enum_name);
            for (v, fixed) in (0u32..).zip(names.fixed) {
                assert_eq!(
                    btf.get(&v).map(String::as_str),
                    Some(*fixed),
                    "{} {v}",
                    names.enum_name
                );
            }
        }
        assert_eq!(map_types().name(19), "cgroup_storage");
        assert_eq!(prog_types().value("xdp"), Some(6));
        assert_eq!(prog_types().name(9999), "9999");
    }

    #[test]
    fn iso_time_matches_known_dates() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00+0000");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00+0000");
        assert_eq!(iso_time(1_795_308_663), "2026-11-22T00:51:03+0000");
    }
}
