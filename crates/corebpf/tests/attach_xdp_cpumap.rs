//! The XDP cpumap example's job, checked: xdp_redirect.bpf.o spreads UDP flows arriving on a
//! veth end over the CPUs through a cpumap; every datagram still reaches a socket, and the
//! per-CPU protocol counts add up to what was sent. Also runs the example binary.

#[path = "attach_progs/support.rs"]
mod support;

use std::os::fd::AsRawFd;
use std::time::Duration;

use corebpf::attach::{self, XdpMode};
use support::*;

#[test]
fn udp_flows_redirected_through_a_cpumap_reach_the_socket() {
    let _serial = serial();
    let v = VethNs::new("c", 2);
    let cpus = attach::online_cpus().unwrap();
    let path = corebpf_testdata::object("xdp_redirect", corebpf_testdata::Cpu::V3);
    let mut open = corebpf::OpenObject::open(path).unwrap();
    open.set_global("nr_cpus", &(cpus.len() as u32).to_ne_bytes())
        .unwrap();
    let obj = open.load().expect("load xdp_redirect (needs root)");
    let on_cpu = obj.program("xdp_on_cpu").unwrap();
    let cpu_map = obj.map("cpu_map").unwrap();
    for cpu in &cpus {
        let mut val = 192u32.to_ne_bytes().to_vec();
        val.extend_from_slice(&on_cpu.fd().as_raw_fd().to_ne_bytes());
        cpu_map
            .update(&cpu.to_ne_bytes(), &val, 0)
            .expect("cpumap entry");
    }
    let sock = std::net::UdpSocket::bind(format!("{}:5555", v.host_ip)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let link = attach::xdp(
        obj.program("xdp_cpu_spread").unwrap().fd(),
        attach::ifindex(&v.host).unwrap(),
        XdpMode::Skb,
    )
    .expect("attach xdp");
    v.send_udp(20, 5555);
    let mut buf = [0u8; 64];
    for i in 0..20 {
        let n = sock
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("datagram {i}: {e}"));
        assert_eq!(&buf[..n], b"corebpf");
    }
    let udp: u64 = obj
        .map("proto_count")
        .unwrap()
        .get_per_cpu::<u32, u64>(&17)
        .unwrap()
        .unwrap()
        .iter()
        .sum();
    assert_eq!(
        udp, 20,
        "every UDP datagram counted once before the redirect"
    );
    drop(link);
}

#[test]
fn the_tracepoint_pair_example_counts_with_both_programs() {
    let _serial = serial();
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "corebpf",
            "--example",
            "multi_prog",
            "--",
            "tracepoint",
        ])
        .output()
        .expect("cargo run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("first = 1000") && text.contains("second = 1000"),
        "{text}"
    );
}
