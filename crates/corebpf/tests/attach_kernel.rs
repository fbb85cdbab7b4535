//! Every hook triggered for real: tracepoints, raw tracepoints, exec, uprobes, iterators, perf
//! sampling, XDP and tc on a veth pair in a private network namespace, a cgroup connect hook,
//! socket filters. Needs root; refusals fail with the kernel's answer.

#[path = "attach_progs/support.rs"]
mod support;

use std::os::fd::AsFd;

use corebpf::attach::{self, XdpMode};
use corebpf::obj::AttachType;
use corebpf::uprobe::UprobeTarget;
use corebpf::AttachError;
use support::*;

#[test]
fn two_programs_on_one_tracepoint_count_every_call_and_stop_on_drop() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let l1 = obj
        .program("tp_getppid")
        .unwrap()
        .attach()
        .expect("attach tp");
    let l2 = obj
        .program("tp_getppid_second")
        .unwrap()
        .attach()
        .expect("attach tp");
    let info = l1.info().expect("link info");
    assert_eq!(info.link_type, 7, "BPF_LINK_TYPE_PERF_EVENT");
    assert_eq!(
        info.prog_id,
        obj.program("tp_getppid").unwrap().info().unwrap().id
    );
    getppid_n(1000);
    assert_eq!(count(&obj, slot::TP), 1000);
    assert_eq!(count(&obj, slot::TP2), 1000);
    drop(l1);
    getppid_n(10);
    assert_eq!(count(&obj, slot::TP), 1000, "detached on drop");
    assert_eq!(count(&obj, slot::TP2), 1010);
    drop(l2);
}

#[test]
fn raw_tracepoint_sees_syscalls() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let link = obj
        .program("raw_sys_enter")
        .unwrap()
        .attach()
        .expect("attach raw_tp");
    assert_eq!(
        link.info().unwrap().link_type,
        1,
        "BPF_LINK_TYPE_RAW_TRACEPOINT"
    );
    getppid_n(500);
    assert_eq!(count(&obj, slot::RAW_TP), 500);
}

#[test]
fn tp_btf_attaches_from_its_section_name() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let link = obj
        .program("btf_sys_enter")
        .unwrap()
        .attach()
        .expect("attach tp_btf");
    // BTF-typed tracepoints are raw tracepoint links for the kernel.
    assert_eq!(
        link.info().unwrap().link_type,
        1,
        "BPF_LINK_TYPE_RAW_TRACEPOINT"
    );
    getppid_n(250);
    assert_eq!(count(&obj, slot::TP_BTF), 250);
}

#[test]
fn sched_process_exec_fires_for_children() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let _link = obj
        .program("on_exec")
        .unwrap()
        .attach()
        .expect("attach exec tracepoint");
    for _ in 0..3 {
        let st = std::process::Command::new("/bin/true")
            .status()
            .expect("run /bin/true");
        assert!(st.success());
    }
    assert_eq!(count(&obj, slot::EXEC), 3);
}

fn build_probe_target() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-uprobe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("target.c");
    std::fs::write(
        &src,
        "#include <stdlib.h>\n__attribute__((noinline)) int corebpf_probe_target(int x) { \
         __asm__ volatile(\"\" ::: \"memory\"); return x * 3; }\n\
         int main(int argc, char **argv) { int n = atoi(argv[1]), s = 0; \
         for (int i = 0; i < n; i++) s += corebpf_probe_target(i); return s == -1; }\n",
    )
    .unwrap();
    let bin = dir.join("target");
    run(
        "gcc",
        &["-O1", "-o", bin.to_str().unwrap(), src.to_str().unwrap()],
    );
    bin
}

#[test]
fn uprobe_and_uretprobe_on_a_test_binary_function() {
    let _serial = serial();
    let bin = build_probe_target();
    let obj = load("hooks", &[]);
    let path = bin.to_str().unwrap();
    let sym = corebpf::uprobe::resolve_symbol(&bin, "corebpf_probe_target").expect("resolve");
    // Oracle: nm gives the symbol's address; for a PIE the file offset equals it in the text
    // segment when offsets and addresses coincide, so compare through the segment mapping.
    let nm = std::process::Command::new("nm")
        .arg(path)
        .output()
        .expect("nm (binutils)");
    let text = String::from_utf8_lossy(&nm.stdout);
    let addr = text
        .lines()
        .find(|l| l.ends_with(" corebpf_probe_target"))
        .and_then(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
        .expect("nm lists corebpf_probe_target");
    assert_eq!(sym.address, addr);
    let entry = attach::uprobe(
        obj.program("on_uprobe").unwrap().fd(),
        &UprobeTarget::function(path, "corebpf_probe_target"),
    )
    .expect("attach uprobe");
    let mut ret_target = UprobeTarget::function(path, "corebpf_probe_target");
    ret_target.retprobe = true;
    let ret =
        attach::uprobe(obj.program("on_uretprobe").unwrap().fd(), &ret_target).expect("uretprobe");
    let st = std::process::Command::new(&bin).arg("25").status().unwrap();
    assert!(st.success());
    assert_eq!(count(&obj, slot::UPROBE), 25);
    assert_eq!(count(&obj, slot::URETPROBE), 25);
    let bss = obj
        .maps()
        .iter()
        .find(|m| m.section() == Some(".bss"))
        .expect(".bss");
    let v = bss.lookup(&0u32.to_ne_bytes()).unwrap().unwrap();
    assert_eq!(
        u32::from_ne_bytes(v[..4].try_into().unwrap()),
        24 * 3,
        "last return value"
    );
    drop((entry, ret));
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}

#[test]
fn iterator_lists_this_process() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let link = obj
        .program("iter_tasks")
        .unwrap()
        .attach()
        .expect("attach iter");
    let text = link.read_iter_text().expect("read iterator");
    let me = std::process::id();
    assert!(
        text.lines().any(|l| l.starts_with(&format!("{me} "))),
        "{text}"
    );
    let tasks = std::fs::read_dir("/proc/self/task").unwrap().count() as u64;
    assert!(count(&obj, slot::ITER) >= tasks);
}

#[test]
fn perf_event_sampling_on_every_cpu() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let link =
        attach::perf_event_sampling(obj.program("on_sample").unwrap().fd(), 1000).expect("attach");
    assert_eq!(link.members().len(), attach::online_cpus().unwrap().len());
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < std::time::Duration::from_millis(300) {
        x = x.wrapping_mul(31).wrapping_add(7);
    }
    std::hint::black_box(x);
    let n = count(&obj, slot::PERF);
    assert!(n >= 50, "{n} samples in 300 ms of busy CPU at 1000 Hz");
}

#[test]
fn xdp_and_tc_on_a_veth_pair_in_a_private_netns() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let v = VethNs::new("x", 1);
    let ifindex = attach::ifindex(&v.host).unwrap();
    let xdp = attach::xdp(
        obj.program("xdp_count").unwrap().fd(),
        ifindex,
        XdpMode::Skb,
    )
    .expect("xdp link");
    assert_eq!(xdp.info().unwrap().link_type, 6, "BPF_LINK_TYPE_XDP");
    let tc =
        attach::tc(obj.program("tc_count").unwrap().fd(), ifindex, false).expect("tcx ingress");
    v.ping_from_ns(3);
    // ping's echo requests (and the ARP exchange) arrive at the host end.
    assert!(
        count(&obj, slot::XDP) >= 3,
        "xdp {}",
        count(&obj, slot::XDP)
    );
    assert!(count(&obj, slot::TC) >= 3, "tc {}", count(&obj, slot::TC));
    drop(xdp);
    drop(tc);
    // The netlink paths: XDP over IFLA_XDP and cls_bpf under clsact.
    let before = count(&obj, slot::XDP);
    let xdp_nl = attach::xdp_netlink(
        obj.program("xdp_count").unwrap().fd(),
        ifindex,
        XdpMode::Skb,
    )
    .expect("xdp over netlink");
    let cls = attach::tc_cls_bpf(
        obj.program("cls_count").unwrap().fd(),
        ifindex,
        false,
        "cls_count",
        1,
        1,
    )
    .expect("cls_bpf");
    let q = corebpf_sys::netlink_query::interfaces().expect("interfaces");
    let me = q
        .iter()
        .find(|i| i.ifindex == ifindex)
        .expect("veth listed");
    assert!(format!("{:?}", me).contains("xdp"), "{me:?}");
    v.ping_from_ns(2);
    assert!(count(&obj, slot::XDP) >= before + 2);
    assert!(count(&obj, slot::CLS) >= 2);
    drop(xdp_nl);
    drop(cls);
    let after = count(&obj, slot::CLS);
    v.ping_from_ns(1);
    assert_eq!(count(&obj, slot::CLS), after, "cls_bpf removed on drop");
}

#[test]
fn cgroup_connect4_in_a_test_cgroup() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let root = corebpf_sys::cgroup::cgroup2_root().expect("cgroup2 mounted");
    let dir = root.join(format!("corebpf-test-{}", std::process::id()));
    std::fs::create_dir(&dir).expect("create test cgroup");
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _rm = Rm(dir.clone());
    let link = attach::cgroup(
        obj.program("connect4_count").unwrap().fd(),
        &dir,
        AttachType::CgroupInet4Connect,
    )
    .expect("cgroup link");
    assert_eq!(link.info().unwrap().link_type, 3, "BPF_LINK_TYPE_CGROUP");
    let sysctl = attach::cgroup(
        obj.program("sysctl_count").unwrap().fd(),
        &dir,
        AttachType::CgroupSysctl,
    )
    .expect("cgroup sysctl link");
    let egress = attach::cgroup(
        obj.program("skb_egress_count").unwrap().fd(),
        &dir,
        AttachType::CgroupInetEgress,
    )
    .expect("cgroup skb egress link");
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec python3 -c 'import os, socket\nfor f in (\"/proc/sys/kernel/ostype\", \"/proc/sys/kernel/hostname\"):\n fd = os.open(f, os.O_RDONLY); os.read(fd, 64); os.close(fd)\nfor i in range(4):\n s=socket.socket(); s.settimeout(0.2); s.connect_ex((\"127.0.0.1\", 9)); s.close()'",
        dir.display()
    );
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(count(&obj, slot::CONNECT), 4);
    assert_eq!(
        count(&obj, slot::SYSCTL),
        2,
        "one read(2) of each of two sysctl files"
    );
    // Each refused TCP connect to 127.0.0.1:9 sends one SYN out of the cgroup's sockets.
    assert_eq!(count(&obj, slot::SKB_EGRESS), 4);
    drop((sysctl, egress));
    // A connect outside the cgroup is not seen.
    let _ = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:9".parse().unwrap(),
        std::time::Duration::from_millis(100),
    );
    assert_eq!(count(&obj, slot::CONNECT), 4);
}

#[test]
fn socket_filter_on_a_udp_socket() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let link = attach::socket_filter(obj.program("socket_count").unwrap().fd(), rx.as_fd())
        .expect("SO_ATTACH_BPF");
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..5u8 {
        tx.send_to(&[i; 10], rx.local_addr().unwrap()).unwrap();
    }
    let mut buf = [0u8; 64];
    for _ in 0..5 {
        assert_eq!(rx.recv(&mut buf).unwrap(), 10);
    }
    assert_eq!(count(&obj, slot::SOCKET), 5);
    drop(link);
    tx.send_to(&[1; 10], rx.local_addr().unwrap()).unwrap();
    rx.recv(&mut buf).unwrap();
    assert_eq!(count(&obj, slot::SOCKET), 5, "filter removed on drop");
}

#[test]
fn kprobes_and_trampolines_give_clear_errors() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    // A kprobe-type program (uprobes are kprobe programs) on a kernel without kprobes.
    match attach::kprobe(
        obj.program("on_uprobe").unwrap().fd(),
        "do_nanosleep",
        0,
        false,
    ) {
        Err(e @ AttachError::Unsupported { .. }) => {
            assert!(e.to_string().contains("CONFIG_KPROBES off"), "{e}")
        }
        other => panic!("expected the no-kprobes error, got {other:?}"),
    }
    // fentry programs are refused at load on this host (EPERM).
    let t = corebpf_testdata::object("fentry", corebpf_testdata::Cpu::V3);
    match corebpf::OpenObject::open(t).unwrap().load() {
        Err(e) => assert!(
            e.to_string().contains("Operation not permitted")
                && e.to_string().contains("trampolines"),
            "{e}"
        ),
        Ok(obj) => {
            let p = obj
                .program("fentry_unlinkat")
                .or_else(|| obj.programs().first())
                .unwrap();
            p.attach()
                .expect("fentry attach where the host allows trampolines");
        }
    }
    // Kinds that need a caller-given target say which function to use.
    let e = obj.program("xdp_count").unwrap().attach().unwrap_err();
    assert!(e.to_string().contains("attach::xdp"), "{e}");
}

#[test]
fn pinned_link_outlives_its_value() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    corebpf::pin::ensure_bpffs_dir(std::path::Path::new("/sys/fs/bpf")).ok();
    let path = format!("/sys/fs/bpf/corebpf-test-link-{}", std::process::id());
    let mut link = obj.program("tp_getppid").unwrap().attach().unwrap();
    link.pin(&path).expect("pin link");
    let id = link.info().unwrap().id;
    drop(link);
    getppid_n(7);
    assert_eq!(count(&obj, slot::TP), 7, "still attached through the pin");
    let mut again = corebpf::Link::open_pinned(&path).expect("open pinned");
    assert_eq!(again.info().unwrap().id, id);
    again.unpin().expect("unpin");
    drop(again);
    getppid_n(3);
    assert_eq!(count(&obj, slot::TP), 7, "detached after unpin and drop");
    assert!(!std::path::Path::new(&path).exists());
}

#[test]
fn uprobe_multi_on_two_functions_with_one_link() {
    let _serial = serial();
    let bin = build_probe_target();
    let obj = load("hooks", &[]);
    let link = attach::uprobe_multi(
        obj.program("on_uprobe_multi").unwrap().fd(),
        bin.to_str().unwrap(),
        &["corebpf_probe_target", "main"],
        None,
        false,
    )
    .expect("uprobe_multi link");
    assert_eq!(
        link.info().unwrap().link_type,
        12,
        "BPF_LINK_TYPE_UPROBE_MULTI"
    );
    let st = std::process::Command::new(&bin).arg("9").status().unwrap();
    assert!(st.success());
    assert_eq!(
        count(&obj, slot::UMULTI),
        9 + 1,
        "nine calls of the function and one of main"
    );
    drop(link);
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}

#[test]
fn sk_lookup_in_a_private_network_namespace() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let v = VethNs::new("l", 3);
    let ns = std::path::PathBuf::from(format!("/var/run/netns/{}", v.ns));
    let link = attach::sk_lookup(obj.program("sk_lookup_count").unwrap().fd(), &ns)
        .expect("sk_lookup link");
    assert_eq!(link.info().unwrap().link_type, 5, "BPF_LINK_TYPE_NETNS");
    let tx = std::net::UdpSocket::bind(format!("{}:0", v.host_ip)).unwrap();
    for _ in 0..3 {
        tx.send_to(b"x", format!("{}:5556", v.peer_ip)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        count(&obj, slot::SKLOOKUP),
        3,
        "one socket lookup per datagram in the namespace"
    );
    drop(link);
}

#[test]
fn sockmap_verdict_program_attached_and_detached() {
    let _serial = serial();
    let obj = load("hooks", &[]);
    let map = obj.map("sock_map").unwrap();
    let prog = obj.program("sk_verdict").unwrap();
    let id = prog.info().unwrap().id;
    let ty = AttachType::SkSkbStreamVerdict as u32;
    let link =
        attach::sockmap(prog.fd(), map.fd(), AttachType::SkSkbStreamVerdict).expect("attach");
    let (_, ids) = corebpf_sys::bpf::prog_query(map.fd(), ty, 0).expect("query sockmap");
    assert_eq!(ids, vec![id]);
    drop(link);
    let (_, ids) = corebpf_sys::bpf::prog_query(map.fd(), ty, 0).expect("query sockmap");
    assert!(ids.is_empty(), "detached on drop: {ids:?}");
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn corebpf_symbolize_probe(x: u64) -> u64 {
    std::hint::black_box(x).wrapping_mul(7)
}

#[test]
fn user_and_kernel_addresses_symbolized() {
    let addr = corebpf_symbolize_probe as *const () as usize as u64;
    let mut syms = corebpf::symbolize::ProcessSymbols::load(std::process::id()).unwrap();
    let s = syms
        .resolve(addr + 2)
        .expect("resolve a function of this binary");
    assert_eq!(s.name, "corebpf_symbolize_probe");
    assert_eq!(s.offset, 2);
    assert_eq!(
        std::fs::canonicalize(s.module.unwrap()).unwrap(),
        std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap()
    );
    // Kernel: every text symbol of kallsyms resolves to itself (as root, addresses are real).
    let k = corebpf::symbolize::KernelSymbols::load().unwrap();
    assert!(!k.is_empty(), "kallsyms addresses are visible to root");
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let line = text
        .lines()
        .find(|l| l.ends_with(" T schedule"))
        .expect("schedule in kallsyms");
    let a = u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap();
    let r = k.resolve(a + 1).unwrap();
    assert_eq!((r.name.as_str(), r.offset), ("schedule", 1));
}
