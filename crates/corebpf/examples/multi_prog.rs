//! Several programs at once.
//!
//! `multi_prog tracepoint` — two programs of one object on `syscalls/sys_enter_getppid`,
//! both counting; prints both counts after 1000 calls.
//!
//! `multi_prog xdp IFACE OBJECT [SECONDS]` — the XDP program of `xdp_redirect.bpf.o` on IFACE
//! (generic mode), spreading IPv4 TCP/UDP flows over the CPUs through a cpumap whose entries
//! run the object's `xdp/cpumap` program; prints per-protocol packet counts each second.

use std::time::Duration;

use corebpf::attach::{self, XdpMode};
use corebpf::OpenObject;

const TRACEPOINT_PAIR: &str = r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
u64 first = 0, second = 0;
const volatile u32 tgid = 0;
SEC("tp/syscalls/sys_enter_getppid")
int count_first(void *ctx) { if ((bpf_get_current_pid_tgid() >> 32) == tgid) __sync_fetch_and_add(&first, 1); return 0; }
SEC("tp/syscalls/sys_enter_getppid")
int count_second(void *ctx) { if ((bpf_get_current_pid_tgid() >> 32) == tgid) __sync_fetch_and_add(&second, 1); return 0; }
char LICENSE[] SEC("license") = "GPL";
"#;

fn tracepoint_pair() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("corebpf-multi-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let src = dir.join("pair.bpf.c");
    let obj_path = dir.join("pair.bpf.o");
    std::fs::write(&src, TRACEPOINT_PAIR)?;
    corebpf::compile::compile(&src, &obj_path, &Default::default())?;
    let mut open = OpenObject::open(&obj_path)?;
    open.set_global("tgid", &std::process::id().to_ne_bytes())?;
    let globals = open.globals().to_vec();
    let obj = open.load()?;
    let _links = obj
        .programs()
        .iter()
        .map(|p| p.attach())
        .collect::<Result<Vec<_>, _>>()?;
    for _ in 0..1000 {
        // SAFETY: getppid has no arguments.
        unsafe { libc::getppid() };
    }
    let bss = obj
        .maps()
        .iter()
        .find(|m| m.section() == Some(".bss"))
        .ok_or("no .bss")?;
    let data = bss.lookup(&0u32.to_ne_bytes())?.ok_or("empty .bss")?;
    for g in &globals {
        if g.section == ".bss" {
            let off = g.offset as usize;
            let v = data
                .get(off..off + 8)
                .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])));
            println!("{} = {v}", g.name);
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn xdp_cpumap(iface: &str, object: &str, seconds: u64) -> Result<(), Box<dyn std::error::Error>> {
    let cpus = attach::online_cpus()?;
    let mut open = OpenObject::open(object)?;
    open.set_global("nr_cpus", &(cpus.len() as u32).to_ne_bytes())?;
    let obj = open.load()?;
    let on_cpu = obj.program("xdp_on_cpu").ok_or("xdp_on_cpu missing")?;
    let cpu_map = obj.map("cpu_map").ok_or("cpu_map missing")?;
    for cpu in &cpus {
        // struct bpf_cpumap_val: queue size, then the program to run on that CPU.
        let mut val = Vec::with_capacity(8);
        val.extend_from_slice(&192u32.to_ne_bytes());
        val.extend_from_slice(&(std::os::fd::AsRawFd::as_raw_fd(&on_cpu.fd())).to_ne_bytes());
        cpu_map.update(&cpu.to_ne_bytes(), &val, 0)?;
    }
    let spread = obj
        .program("xdp_cpu_spread")
        .ok_or("xdp_cpu_spread missing")?;
    let _link = attach::xdp(spread.fd(), attach::ifindex(iface)?, XdpMode::Skb)?;
    let counts = obj.map("proto_count").ok_or("proto_count missing")?;
    for _ in 0..seconds {
        std::thread::sleep(Duration::from_secs(1));
        let mut line = String::new();
        for (proto, name) in [(1u32, "icmp"), (6, "tcp"), (17, "udp")] {
            let per_cpu = counts.get_per_cpu::<u32, u64>(&proto)?.unwrap_or_default();
            line.push_str(&format!("{name}={} ", per_cpu.iter().sum::<u64>()));
        }
        println!("{}", line.trim_end());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("tracepoint") => tracepoint_pair(),
        Some("xdp") if args.len() >= 4 => xdp_cpumap(
            &args[2],
            &args[3],
            args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5),
        ),
        _ => {
            eprintln!(
                "usage: multi_prog tracepoint | multi_prog xdp IFACE xdp_redirect.bpf.o [SECONDS]"
            );
            std::process::exit(2);
        }
    }
}
