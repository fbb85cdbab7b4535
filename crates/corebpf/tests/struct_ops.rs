//! struct_ops on the build host: the object model against llvm-readelf and bpftool, the value
//! layout against libbpf's (bpftool struct_ops register, read back from the kernel), a BPF TCP
//! congestion control registered, used by a loopback connection and unregistered, the link
//! flavour, and the errors. Needs root, clang-19, llvm-readelf-19 and bpftool.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corebpf::obj::StructOpsMap;
use corebpf::{LoadError, Object, OpenObject};
use corebpf_sys::bpf;

/// Tests register congestion controls by fixed names: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tool(name: &str) -> String {
    let ok = Command::new(name)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "{name} is needed by this test and is not installed");
    name.to_string()
}

/// Compiles `tests/vm/bpf/<source>.bpf.c` with `defines` into a fresh object file.
fn compile(source: &str, defines: &[&str]) -> PathBuf {
    let src = repo().join(format!("tests/vm/bpf/{source}.bpf.c"));
    let dir = std::env::temp_dir().join(format!("corebpf-struct-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join(format!("{source}{}.o", defines.join("")));
    let include = corebpf_testdata::vmlinux_header()
        .parent()
        .expect("vmlinux.h has a directory")
        .to_path_buf();
    let res = Command::new(tool("clang-19"))
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-mcpu=v3",
            "-D__TARGET_ARCH_x86",
        ])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg(format!("-I{}", include.display()))
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run clang-19");
    assert!(
        res.status.success(),
        "clang-19 {}: {}",
        src.display(),
        String::from_utf8_lossy(&res.stderr)
    );
    out
}

fn load(path: &Path) -> Result<Object, Box<LoadError>> {
    Ok(OpenObject::open(path)?.load()?)
}

fn available() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control")
        .expect("read tcp_available_congestion_control")
}

fn is_available(name: &str) -> bool {
    available().split_whitespace().any(|n| n == name)
}

/// Waits up to 5 s for `cond` (the kernel frees struct_ops maps and programs after an RCU
/// grace period).
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(5), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn bpftool_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(tool("bpftool"))
        .arg("-j")
        .args(args)
        .output()
        .expect("run bpftool");
    assert!(
        out.status.success(),
        "bpftool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bpftool JSON")
}

/// Names of the programs the kernel holds.
fn kernel_prog_names() -> Vec<String> {
    bpftool_json(&["prog", "show"])
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

/// The kernel's struct_ops map named `name`, by id.
fn struct_ops_id(name: &str) -> Option<u32> {
    bpftool_json(&["struct_ops", "list"])
        .as_array()
        .expect("array")
        .iter()
        .find(|m| m["name"] == name)
        .and_then(|m| m["id"].as_u64())
        .map(|id| id as u32)
}

/// Reads the value of struct_ops map `fd` as the kernel reports it.
fn read_value(fd: BorrowedFd<'_>, size: usize) -> Vec<u8> {
    let mut v = vec![0u8; size];
    assert!(
        bpf::map_lookup_elem(fd, &0u32.to_ne_bytes(), &mut v, 0).expect("struct_ops lookup"),
        "registered struct_ops map has a value"
    );
    v
}

fn prog_name(id: u32) -> String {
    let fd = bpf::fd_by_id(bpf::ObjKind::Prog, id).expect("program by id");
    let info = bpf::prog_info(fd.as_fd()).expect("program info");
    bpf::attr::name_str(&info.name)
}

/// The kernel's value with each program slot replaced by the program's name.
fn normalize(plan: &corebpf::struct_ops::StructOpsPlan, value: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut v = value.to_vec();
    let mut names = Vec::new();
    for s in &plan.slots {
        let at = s.value_offset as usize;
        let id = u64::from_ne_bytes(v[at..at + 8].try_into().unwrap());
        names.push(format!("{}={}", s.member, prog_name(id as u32)));
        v[at..at + 8].fill(0);
    }
    (v, names)
}

/// Registers `obj` with libbpf (bpftool struct_ops register), reads back the kernel's value of
/// map `name`, unregisters it.
fn libbpf_value(obj: &Path, name: &str, size: usize) -> Vec<u8> {
    let out = Command::new(tool("bpftool"))
        .args(["struct_ops", "register"])
        .arg(obj)
        .output()
        .expect("run bpftool");
    assert!(
        out.status.success(),
        "bpftool struct_ops register {}: {}",
        obj.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let id = struct_ops_id(name).expect("libbpf registered the map");
    let fd = bpf::fd_by_id(bpf::ObjKind::Map, id).expect("map by id");
    let value = read_value(fd.as_fd(), size);
    drop(fd);
    let out = Command::new("bpftool")
        .args(["struct_ops", "unregister", "id", &id.to_string()])
        .output()
        .expect("run bpftool");
    assert!(out.status.success(), "bpftool struct_ops unregister");
    eventually(&format!("{name} unregistered after bpftool"), || {
        !is_available(name)
    });
    value
}

/// Connects over loopback with congestion control `cc` and sends 4 MiB through it.
fn tcp_transfer(cc: &str) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) => panic!("read: {e}"),
            }
        }
        total
    });
    // SAFETY: creates a socket; no memory is passed.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket");
    // SAFETY: `fd` is an open socket; the option value is `cc`'s bytes, with their length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            cc.as_ptr().cast(),
            cc.len() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt TCP_CONGESTION {cc}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fd` is an open socket owned by nothing else.
    let mut stream = TcpStream::from(unsafe {
        <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
    });
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `sa` is a valid sockaddr_in of the given size.
    let rc = unsafe {
        libc::connect(
            stream.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
    // The kernel says the socket runs `cc`.
    let mut name = [0u8; 16];
    let mut len = name.len() as libc::socklen_t;
    // SAFETY: `name` and `len` are live and sized as the kernel expects.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt TCP_CONGESTION");
    assert_eq!(bpf::attr::name_str(&name), cc);
    let chunk = vec![0x5au8; 1 << 16];
    for _ in 0..64 {
        stream.write_all(&chunk).expect("send");
    }
    drop(stream);
    assert_eq!(server.join().expect("server"), 64 << 16);
}

/// Loads `path`, with the offsets of its `.bss` counters.
fn load_counting(path: &Path) -> (Object, Vec<(String, usize)>) {
    let open = OpenObject::open(path).unwrap();
    let globals = open
        .globals()
        .iter()
        .filter(|g| g.section == ".bss")
        .map(|g| (g.name.clone(), g.offset as usize))
        .collect();
    (open.load().unwrap(), globals)
}

fn counter(obj: &Object, globals: &[(String, usize)], name: &str) -> u64 {
    let value = obj
        .map(".bss")
        .expect(".bss map")
        .lookup(&0u32.to_ne_bytes())
        .unwrap()
        .expect("value");
    let at = globals
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("global {name}"))
        .1;
    u64::from_ne_bytes(value[at..at + 8].try_into().unwrap())
}

fn nothing_left(names: &[&str], progs: &[&str]) {
    eventually("struct_ops maps gone from the kernel", || {
        let list = bpftool_json(&["struct_ops", "list"]);
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|m| names.iter().any(|n| m["name"] == *n))
    });
    eventually("struct_ops programs gone from the kernel", || {
        let have = kernel_prog_names();
        !progs.iter().any(|p| have.iter().any(|h| h == p))
    });
}

#[test]
fn object_model_matches_readelf_and_bpftool() {
    let path = compile("struct_ops_cc", &[]);
    let bytes = std::fs::read(&path).unwrap();
    let obj = corebpf::obj::Object::parse(&bytes).unwrap();
    let maps = obj.struct_ops_maps().unwrap();
    assert_eq!(maps.len(), 1);
    let m: &StructOpsMap<'_> = &maps[0];
    assert_eq!(
        (m.name, m.section, m.link, m.type_name),
        ("corebpf_reno", ".struct_ops", false, "tcp_congestion_ops")
    );

    // Relocations of .rel.struct_ops as llvm-readelf prints them: offset and symbol.
    let out = Command::new(tool("llvm-readelf-19"))
        .args(["-r", "--wide"])
        .arg(&path)
        .output()
        .expect("llvm-readelf-19");
    let text = String::from_utf8_lossy(&out.stdout);
    let section = text
        .split("Relocation section '")
        .find(|s| s.starts_with(".rel.struct_ops'"))
        .expect(".rel.struct_ops in readelf output");
    let mut relocs: Vec<(u64, String)> = section
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let off = u64::from_str_radix(f.first()?, 16).ok()?;
            Some((off, f.last()?.to_string()))
        })
        .collect();
    relocs.sort();
    let mut ours: Vec<(u64, String)> = m
        .programs()
        .map(|(mem, p)| (m.offset + u64::from(mem.offset()), p.to_string()))
        .collect();
    ours.sort();
    assert_eq!(ours, relocs);
    assert_eq!(ours.len(), 6);

    // Member names and bit offsets as bpftool dumps the object's struct.
    let out = Command::new(tool("bpftool"))
        .args(["btf", "dump", "file"])
        .arg(&path)
        .output()
        .expect("bpftool btf dump");
    let text = String::from_utf8_lossy(&out.stdout);
    let block: Vec<(String, u32)> = text
        .split("\n[")
        .find(|b| b.contains("] STRUCT 'tcp_congestion_ops' "))
        .expect("struct in bpftool dump")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let name = l.trim().strip_prefix('\'')?.split('\'').next()?.to_string();
            let off = l.split("bits_offset=").nth(1)?.trim().parse().ok()?;
            Some((name, off))
        })
        .collect();
    let members: Vec<(String, u32)> = m
        .members
        .iter()
        .map(|x| (x.name.to_string(), x.bit_offset))
        .collect();
    assert_eq!(members, block);
    let name = m.members.iter().find(|x| x.name == "name").unwrap();
    assert_eq!(&m.member_bytes(name)[..13], b"corebpf_reno\0");
    assert!(m
        .members
        .iter()
        .filter(|x| x.program.is_some())
        .all(|x| x.func_ptr));
}

#[test]
fn value_layout_matches_libbpf() {
    let _serial = serial();
    let kernel = corebpf::target::vmlinux().unwrap();
    for (source, name) in [
        ("struct_ops_cc", "corebpf_reno"),
        ("struct_ops_layout", "corebpf_layout"),
    ] {
        let path = compile(source, &[]);
        let bytes = std::fs::read(&path).unwrap();
        let parsed = corebpf::obj::Object::parse(&bytes).unwrap();
        let plans = corebpf::struct_ops::plan(&parsed, kernel).unwrap();
        assert_eq!(plans.len(), 1);
        let plan = &plans[0];
        assert_eq!(plan.type_name, "tcp_congestion_ops");
        assert_eq!(
            kernel.type_by_id(plan.wrapper_type_id).unwrap().name,
            "bpf_struct_ops_tcp_congestion_ops"
        );
        let size = plan.value_size as usize;
        let theirs = libbpf_value(&path, name, size);

        let obj = load(&path).unwrap();
        let link = obj.attach_struct_ops(name).unwrap();
        assert!(is_available(name), "{name} in {}", available());
        let map = obj.map(name).expect("struct_ops map in the object's maps");
        assert_eq!(map.map_type_raw(), corebpf::struct_ops::MAP_TYPE_STRUCT_OPS);
        let info = map.info().unwrap();
        assert_eq!(info.btf_vmlinux_value_type_id, plan.wrapper_type_id);
        let ours = read_value(map.fd(), size);
        drop(link);
        assert!(!is_available(name), "{name} unregistered on drop");

        // Same kernel value, with the same programs in the same members.
        let (ours_bytes, ours_progs) = normalize(plan, &ours);
        let (theirs_bytes, theirs_progs) = normalize(plan, &theirs);
        assert_eq!(ours_progs, theirs_progs, "{source}");
        assert_eq!(ours_bytes, theirs_bytes, "{source}");
        // The plan's value is libbpf's struct, minus what the kernel adds in `common`.
        let d = plan.data_offset as usize;
        assert_eq!(plan.value[d..], theirs_bytes[d..], "{source}");
        assert!(plan.value[..d].iter().all(|&b| b == 0));
        drop(obj);
        nothing_left(&[name], &[]);
    }
}

#[test]
fn flavored_local_struct_is_placed_like_the_plain_one() {
    let kernel = corebpf::target::vmlinux().unwrap();
    let plain = std::fs::read(compile("struct_ops_layout", &[])).unwrap();
    let flavored = std::fs::read(compile("struct_ops_layout", &["COREBPF_FLAVOR"])).unwrap();
    let plan = |b: &[u8]| {
        corebpf::struct_ops::plan(&corebpf::obj::Object::parse(b).unwrap(), kernel).unwrap()
    };
    let (a, b) = (plan(&plain), plan(&flavored));
    assert_eq!(a, b);
    // Members land at the kernel's offsets whatever the local order: name, flags and the
    // three programs, by kernel member index.
    let p = &a[0];
    let slots: Vec<(&str, &str)> = p
        .slots
        .iter()
        .map(|s| (s.member.as_str(), s.program.as_str()))
        .collect();
    assert_eq!(
        slots,
        [
            ("ssthresh", "layout_ssthresh"),
            ("cong_avoid", "layout_cong_avoid"),
            ("undo_cwnd", "layout_undo_cwnd")
        ]
    );
    let name_off =
        p.data_offset as usize + common_member_offset(kernel, "tcp_congestion_ops", "name");
    assert_eq!(&p.value[name_off..name_off + 15], b"corebpf_layout\0");
}

fn common_member_offset(btf: &corebpf::btf::Btf<'_>, st: &str, member: &str) -> usize {
    let id = btf
        .find_by_name_kind(st, corebpf::btf::Kind::Struct)
        .unwrap();
    let t = btf.type_by_id(id).unwrap();
    let m = t
        .members()
        .unwrap()
        .iter()
        .find(|m| m.name == member)
        .unwrap();
    (m.bit_offset / 8) as usize
}

#[test]
fn tcp_congestion_control_runs_and_unregisters() {
    let _serial = serial();
    let path = compile("struct_ops_cc", &[]);
    let (obj, globals) = load_counting(&path);
    assert_eq!(obj.struct_ops().len(), 1);
    let ops = &obj.struct_ops()[0];
    assert_eq!(
        (ops.name(), ops.type_name(), ops.is_link()),
        ("corebpf_reno", "tcp_congestion_ops", false)
    );
    // Programs get the kernel struct as attach BTF id.
    let kernel = corebpf::target::vmlinux().unwrap();
    let tcp_ops = kernel
        .find_by_name_kind("tcp_congestion_ops", corebpf::btf::Kind::Struct)
        .unwrap();
    for p in obj.programs() {
        let info = bpf::prog_info(p.fd()).unwrap();
        assert_eq!(info.prog_type, 27, "{}", p.name());
        assert_eq!(info.attach_btf_id, tcp_ops, "{}", p.name());
    }
    // Program::attach points at the map.
    let e = obj.programs()[0].attach().unwrap_err();
    assert!(e.to_string().contains("attach_struct_ops"), "{e}");
    assert!(!is_available("corebpf_reno"));

    let link = obj.attach_struct_ops("corebpf_reno").unwrap();
    assert!(
        link.fd().is_none(),
        "a plain struct_ops map has no BPF link"
    );
    assert!(is_available("corebpf_reno"), "{}", available());
    // Registering twice is the kernel's EBUSY.
    let again = obj.attach_struct_ops("corebpf_reno").unwrap_err();
    assert_eq!(again.errno(), Some(libc::EBUSY), "{again}");

    tcp_transfer("corebpf_reno");
    let init = counter(&obj, &globals, "init_calls");
    let acks = counter(&obj, &globals, "cong_avoid_calls");
    assert!(init >= 1, "init ran {init} times");
    assert!(acks > 0, "cong_avoid ran {acks} times");

    // The link holds the registration, not the object.
    let programs: Vec<String> = obj
        .programs()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    drop(obj);
    assert!(is_available("corebpf_reno"), "{}", available());
    drop(link);
    assert!(!is_available("corebpf_reno"), "{}", available());
    // Unregistered: a new socket cannot select it.
    let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: valid socket fd and buffer.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            b"corebpf_reno".as_ptr().cast(),
            12,
        )
    };
    assert_eq!(rc, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ENOENT)
    );
    assert_eq!(programs.len(), 6);
    nothing_left(
        &["corebpf_reno"],
        &["reno_init", "reno_ssthresh", "reno_cong_avoid"],
    );
}

#[test]
fn struct_ops_link_registers_through_a_bpf_link() {
    let _serial = serial();
    let path = compile("struct_ops_link", &[]);
    let (obj, globals) = load_counting(&path);
    let map = obj.map("corebpf_renol").unwrap();
    assert_eq!(map.flags(), corebpf::struct_ops::BPF_F_LINK);
    assert!(obj.struct_ops()[0].is_link());
    let link = obj.attach_struct_ops("corebpf_renol").unwrap();
    let info = link.info().unwrap();
    // BPF_LINK_TYPE_STRUCT_OPS, and the link's map is ours.
    assert_eq!(info.link_type, 9);
    let map_id = map.info().unwrap().id;
    assert_eq!(info.extra[0] as u32, map_id);
    assert!(is_available("corebpf_renol"), "{}", available());
    tcp_transfer("corebpf_renol");
    assert!(counter(&obj, &globals, "cong_avoid_calls") > 0);
    // A pinned link keeps it registered past the link value and the object.
    corebpf::pin::ensure_bpffs_dir(Path::new("/sys/fs/bpf")).unwrap();
    let pin = format!("/sys/fs/bpf/corebpf-test-struct-ops-{}", std::process::id());
    // Removes the pin even when an assertion below fails.
    struct Unpin<'a>(&'a str);
    impl Drop for Unpin<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _unpin = Unpin(&pin);
    let mut link = link;
    link.pin(&pin).unwrap();
    drop(link);
    drop(obj);
    assert!(is_available("corebpf_renol"), "{}", available());
    let mut pinned = corebpf::Link::open_pinned(&pin).unwrap();
    pinned.unpin().unwrap();
    drop(pinned);
    eventually(
        "corebpf_renol unregistered when its last link closes",
        || !is_available("corebpf_renol"),
    );
    nothing_left(&["corebpf_renol"], &["reno_init", "reno_cong_avoid"]);
}

#[test]
fn errors_name_the_problem() {
    let _serial = serial();
    let cases: [(&str, &str); 4] = [
        (
            "COREBPF_EXTRA_MEMBER",
            "map `corebpf_layout`: member `corebpf_extra` is set in the object, but the kernel's struct tcp_congestion_ops has no member of that name",
        ),
        (
            "COREBPF_UNKNOWN_TYPE",
            "map `corebpf_layout`: struct corebpf_no_such_ops not found in kernel BTF",
        ),
        (
            "COREBPF_NO_WRAPPER",
            "map `corebpf_layout`: struct tcp_ulp_ops has no bpf_struct_ops_tcp_ulp_ops wrapper in kernel BTF: this kernel cannot register a tcp_ulp_ops from BPF",
        ),
        (
            "COREBPF_UNREFERENCED",
            "program layout_unused (struct_ops/layout_unused): no .struct_ops or .struct_ops.link variable names this program",
        ),
    ];
    for (define, want) in cases {
        let path = compile("struct_ops_layout", &[define]);
        let e = load(&path).expect_err(define);
        assert!(e.to_string().contains(want), "{define}: {e}");
        // libbpf refuses the same objects.
        if define != "COREBPF_UNREFERENCED" {
            let out = Command::new(tool("bpftool"))
                .args(["struct_ops", "register"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(!out.status.success(), "libbpf registered {define}");
        }
    }
    nothing_left(
        &["corebpf_layout"],
        &["layout_ssthresh", "layout_cong_avoid"],
    );
}

#[test]
fn malformed_struct_ops_relocations_are_errors() {
    let bytes = std::fs::read(compile("struct_ops_cc", &[])).unwrap();
    // File offset of the first record of .rel.struct_ops.
    let at = {
        let obj = corebpf::obj::Object::parse(&bytes).unwrap();
        let rel = obj
            .sections
            .iter()
            .find(|s| s.name == ".rel.struct_ops")
            .expect(".rel.struct_ops");
        rel.data.as_ptr() as usize - bytes.as_ptr() as usize
    };
    let name_off = {
        let obj = corebpf::obj::Object::parse(&bytes).unwrap();
        let maps = obj.struct_ops_maps().unwrap();
        let m = maps[0].members.iter().find(|m| m.name == "name").unwrap();
        u64::from(m.offset())
    };
    let info = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap());
    let cases: [(u64, u64, &str); 5] = [
        (0, (9999 << 32) | 2, "relocation names symbol 9999"),
        (
            0,
            (info & !0xffff_ffff) | 1,
            "relocation type 1, expected R_BPF_64_ABS64",
        ),
        (
            4,
            info,
            "offset 0x4 in `corebpf_reno` is not the start of a member",
        ),
        (
            name_off,
            info,
            "member `name` of `corebpf_reno` is not a function pointer",
        ),
        (0x10000, info, "no struct_ops variable covers this offset"),
    ];
    for (offset, info, want) in cases {
        let mut b = bytes.clone();
        b[at..at + 8].copy_from_slice(&offset.to_le_bytes());
        b[at + 8..at + 16].copy_from_slice(&info.to_le_bytes());
        let obj = corebpf::obj::Object::parse(&b).unwrap();
        let e = obj.struct_ops_maps().unwrap_err();
        assert!(e.to_string().contains(want), "{want}: {e}");
        assert!(e.to_string().contains(".struct_ops"), "{e}");
        // The loader reports it before creating anything.
        let e = OpenObject::open_bytes("bad", b)
            .unwrap()
            .load()
            .unwrap_err();
        assert!(e.to_string().contains(want), "{want}: {e}");
    }
}

#[test]
fn mutated_objects_give_errors_not_panics() {
    let bytes = std::fs::read(compile("struct_ops_layout", &[])).unwrap();
    let kernel = corebpf::target::vmlinux().unwrap();
    // Byte ranges worth mutating: the struct_ops data, its relocations, and the BTF.
    let ranges: Vec<std::ops::Range<usize>> = {
        let obj = corebpf::obj::Object::parse(&bytes).unwrap();
        obj.sections
            .iter()
            .filter(|s| matches!(s.name, ".struct_ops" | ".rel.struct_ops" | ".BTF"))
            .map(|s| {
                let start = s.data.as_ptr() as usize - bytes.as_ptr() as usize;
                start..start + s.data.len()
            })
            .collect()
    };
    assert_eq!(ranges.len(), 3);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut parsed, mut planned) = (0, 0);
    for i in 0..1500 {
        let mut b = bytes.clone();
        let r = &ranges[i % ranges.len()];
        for _ in 0..1 + next() % 4 {
            let at = r.start + (next() as usize) % r.len();
            b[at] = next() as u8;
        }
        let Ok(obj) = corebpf::obj::Object::parse(&b) else {
            continue;
        };
        parsed += 1;
        if corebpf::struct_ops::plan(&obj, kernel).is_ok() {
            planned += 1;
        }
    }
    // Most mutations leave something to parse and plan (the checks above ran).
    assert!(parsed > 500, "{parsed} parsed");
    assert!(planned > 50, "{planned} planned");
    eprintln!("{parsed} of 1500 mutated objects parsed, {planned} planned");
}
