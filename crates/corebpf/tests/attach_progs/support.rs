//! Shared by the attach, map and event-stream tests: compiling their BPF programs, loading
//! them with globals set, and kernel object bookkeeping.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use corebpf::compile::{compile, CompileOptions};
use corebpf::{Object, OpenObject};

/// Compiles `attach_progs/NAME.bpf.c` (with `-D` `defines`) once per test binary.
pub fn object_path(name: &str, defines: &[(&str, &str)]) -> PathBuf {
    static LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _g = LOCK
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/attach_progs/{name}.bpf.c"));
    let tag: String = defines.iter().map(|(k, v)| format!("-{k}{v}")).collect();
    let out = std::env::temp_dir().join(format!(
        "corebpf-attach-{}-{name}{tag}.bpf.o",
        std::process::id()
    ));
    if !out.exists() {
        let opts = CompileOptions {
            defines: defines
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            ..Default::default()
        };
        compile(&src, &out, &opts).unwrap_or_else(|e| panic!("compile {}: {e}", src.display()));
    }
    out
}

/// Loads `name` with `target_tgid` set to this process.
pub fn load(name: &str, defines: &[(&str, &str)]) -> Object {
    let mut open = OpenObject::open(object_path(name, defines)).expect("open object");
    open.set_global("target_tgid", &std::process::id().to_ne_bytes())
        .expect("set target_tgid");
    open.load()
        .unwrap_or_else(|e| panic!("load {name} (these tests need root): {e}"))
}

/// The value of counter `slot` of the `counts` map.
pub fn count(obj: &Object, slot: u32) -> u64 {
    let m = obj.map("counts").expect("counts map");
    m.get::<u32, u64>(&slot)
        .expect("lookup")
        .expect("array slot")
}

/// Slots of `counts` in hooks.bpf.c.
pub mod slot {
    pub const TP: u32 = 0;
    pub const TP2: u32 = 1;
    pub const RAW_TP: u32 = 2;
    pub const EXEC: u32 = 3;
    pub const UPROBE: u32 = 4;
    pub const URETPROBE: u32 = 5;
    pub const PERF: u32 = 6;
    pub const XDP: u32 = 7;
    pub const TC: u32 = 8;
    pub const CONNECT: u32 = 9;
    pub const SOCKET: u32 = 10;
    pub const ITER: u32 = 11;
    pub const CLS: u32 = 12;
    pub const UMULTI: u32 = 13;
    pub const SKLOOKUP: u32 = 14;
    pub const TP_BTF: u32 = 15;
    pub const SYSCTL: u32 = 16;
    pub const SKB_EGRESS: u32 = 17;
}

pub fn getppid_n(n: u64) {
    for _ in 0..n {
        // SAFETY: getppid has no arguments and cannot fail.
        unsafe { libc::getppid() };
    }
}

/// Number of open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Runs a command, panicking with its output when it fails.
pub fn run(cmd: &str, args: &[&str]) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {cmd}: {e} (is it installed?)"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace with a veth pair: `host` in this namespace (10.77.N.1/24), `peer`
/// inside it (10.77.N.2/24). Removed on drop.
pub struct VethNs {
    pub ns: String,
    pub host: String,
    pub host_ip: String,
    pub peer_ip: String,
}

impl VethNs {
    pub fn new(tag: &str, n: u8) -> VethNs {
        let pid = std::process::id() % 10000;
        let ns = format!("cbt{pid}{tag}");
        let host = format!("cbh{pid}{tag}");
        let peer = format!("cbp{pid}{tag}");
        let v = VethNs {
            ns: ns.clone(),
            host: host.clone(),
            host_ip: format!("10.77.{n}.1"),
            peer_ip: format!("10.77.{n}.2"),
        };
        run("ip", &["netns", "add", &ns]);
        run(
            "ip",
            &["link", "add", &host, "type", "veth", "peer", "name", &peer],
        );
        run("ip", &["link", "set", &peer, "netns", &ns]);
        run(
            "ip",
            &["addr", "add", &format!("{}/24", v.host_ip), "dev", &host],
        );
        run("ip", &["link", "set", &host, "up"]);
        run(
            "ip",
            &[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", v.peer_ip),
                "dev",
                &peer,
            ],
        );
        run("ip", &["-n", &ns, "link", "set", &peer, "up"]);
        run("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        v
    }

    /// Sends `n` UDP datagrams from inside the namespace to the host end (port 9).
    pub fn ping_from_ns(&self, n: u32) {
        self.send_udp(n, 9);
    }

    /// Sends `n` UDP datagrams from inside the namespace to the host end at `port`.
    pub fn send_udp(&self, n: u32, port: u16) {
        let script = format!(
            "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range({n}):\n    s.sendto(b'corebpf', ('{}', {port}))\n    time.sleep(0.02)",
            self.host_ip
        );
        run("ip", &["netns", "exec", &self.ns, "python3", "-c", &script]);
    }
}

impl Drop for VethNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.host])
            .output();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.ns])
            .output();
    }
}

/// Loads `name` like [`load`] and also returns its global variables (for [`global_u64`]).
pub fn load_with_globals(
    name: &str,
    defines: &[(&str, &str)],
) -> (Object, Vec<corebpf::GlobalVar>) {
    let mut open = OpenObject::open(object_path(name, defines)).expect("open object");
    open.set_global("target_tgid", &std::process::id().to_ne_bytes())
        .expect("set target_tgid");
    let globals = open.globals().to_vec();
    let obj = open
        .load()
        .unwrap_or_else(|e| panic!("load {name} (these tests need root): {e}"));
    (obj, globals)
}

/// Reads the 8-byte global `var` from its data-section map.
pub fn global_u64(obj: &Object, globals: &[corebpf::GlobalVar], var: &str) -> u64 {
    let g = globals
        .iter()
        .find(|g| g.name == var)
        .unwrap_or_else(|| panic!("global {var}"));
    let m = obj
        .maps()
        .iter()
        .find(|m| m.section() == Some(g.section.as_str()))
        .unwrap_or_else(|| panic!("map for {}", g.section));
    let v = m
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .expect("section value");
    let off = g.offset as usize;
    u64::from_ne_bytes(v[off..off + 8].try_into().expect("8 bytes"))
}

/// One event of events.bpf.c.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub seq: u64,
    pub pid: u32,
}

pub fn parse_event(b: &[u8]) -> Event {
    // Perf samples carry the raw data padded to 8 bytes with its size field.
    assert!(b.len() >= 32, "event of {} bytes", b.len());
    Event {
        seq: u64::from_ne_bytes(b[0..8].try_into().unwrap()),
        pid: u32::from_ne_bytes(b[16..20].try_into().unwrap()),
    }
}

/// Tests of one binary share this process, whose syscalls every loaded program sees: they
/// run one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
