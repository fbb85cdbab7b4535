//! bpf(2) wrappers against the running kernel. These need root (CAP_BPF + CAP_PERFMON or
//! CAP_SYS_ADMIN); without it they fail with a message saying so.

use std::os::fd::AsFd;

use corebpf_sys::bpf::{self, attr::*, ObjKind};
use corebpf_sys::Error;

const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

/// `r0 = 0; exit` and `r0 = r2; exit` (reads an uninitialised register).
const RET0: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
const BAD: [u8; 16] = [0xbf, 0x20, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

fn privileged<T>(what: &str, r: Result<T, Error>) -> T {
    match r {
        Ok(v) => v,
        Err(e) if e.errno() == Some(libc::EPERM) => {
            panic!("{what}: the kernel refused (EPERM): these tests need root with CAP_BPF: {e}")
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

fn hash_map(name: &str) -> std::os::fd::OwnedFd {
    privileged(
        "map create",
        bpf::map_create(&MapCreateAttr {
            map_type: BPF_MAP_TYPE_HASH,
            key_size: 4,
            value_size: 8,
            max_entries: 16,
            map_name: obj_name(name),
            ..Default::default()
        }),
    )
}

#[test]
fn map_update_lookup_iterate_delete() {
    let map = hash_map("t_hash");
    let fd = map.as_fd();
    for k in 1u32..=5 {
        bpf::map_update_elem(fd, &k.to_ne_bytes(), &(u64::from(k) * 100).to_ne_bytes(), 0)
            .expect("update");
    }
    let mut v = [0u8; 8];
    assert!(bpf::map_lookup_elem(fd, &3u32.to_ne_bytes(), &mut v, 0).expect("lookup"));
    assert_eq!(u64::from_ne_bytes(v), 300);
    assert!(!bpf::map_lookup_elem(fd, &42u32.to_ne_bytes(), &mut v, 0).expect("lookup absent"));

    let mut keys = Vec::new();
    let mut cur: Option<[u8; 4]> = None;
    let mut next = [0u8; 4];
    while bpf::map_get_next_key(fd, cur.as_ref().map(|k| &k[..]), &mut next).expect("next key") {
        keys.push(u32::from_ne_bytes(next));
        cur = Some(next);
    }
    keys.sort();
    assert_eq!(keys, vec![1, 2, 3, 4, 5]);

    assert!(bpf::map_delete_elem(fd, &3u32.to_ne_bytes()).expect("delete"));
    assert!(!bpf::map_delete_elem(fd, &3u32.to_ne_bytes()).expect("delete again"));

    // BPF_NOEXIST on a present key is refused with EEXIST, named as a map update.
    let err = bpf::map_update_elem(fd, &1u32.to_ne_bytes(), &[0u8; 8], 1).expect_err("noexist");
    assert_eq!(err.errno(), Some(libc::EEXIST));
    assert!(err.to_string().starts_with("map update: "), "{err}");

    let info = bpf::map_info(fd).expect("map info");
    assert_eq!(
        (
            info.map_type,
            info.key_size,
            info.value_size,
            info.max_entries
        ),
        (1, 4, 8, 16)
    );
    assert_eq!(name_str(&info.name), "t_hash");
    assert!(bpf::ids(ObjKind::Map).expect("map ids").contains(&info.id));
    let again = bpf::fd_by_id(ObjKind::Map, info.id).expect("map by id");
    assert_eq!(bpf::map_info(again.as_fd()).expect("info").id, info.id);
}

#[test]
fn frozen_array_refuses_user_writes() {
    let map = privileged(
        "map create",
        bpf::map_create(&MapCreateAttr {
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            ..Default::default()
        }),
    );
    bpf::map_update_elem(map.as_fd(), &0u32.to_ne_bytes(), &7u32.to_ne_bytes(), 0).expect("update");
    bpf::map_freeze(map.as_fd()).expect("freeze");
    let err = bpf::map_update_elem(map.as_fd(), &0u32.to_ne_bytes(), &8u32.to_ne_bytes(), 0)
        .expect_err("frozen");
    assert_eq!(err.errno(), Some(libc::EPERM));
}

#[test]
fn prog_load_info_test_run_and_xlated() {
    let prog = privileged(
        "prog load",
        bpf::prog_load(
            &RET0,
            &bpf::ProgLoad {
                prog_type: BPF_PROG_TYPE_SOCKET_FILTER,
                name: "t_ret0",
                license: "GPL",
                ..Default::default()
            },
        ),
    );
    let info = bpf::prog_info(prog.as_fd()).expect("prog info");
    assert_eq!(info.prog_type, BPF_PROG_TYPE_SOCKET_FILTER);
    assert_eq!(name_str(&info.name), "t_ret0");
    assert_eq!(info.flags & 1, 1, "GPL-compatible");
    assert!(bpf::ids(ObjKind::Prog)
        .expect("prog ids")
        .contains(&info.id));
    let (_, xlated, maps) = bpf::prog_xlated(prog.as_fd()).expect("xlated");
    assert_eq!(xlated, RET0);
    assert!(maps.is_empty());
    let run = bpf::prog_test_run(prog.as_fd(), &[0u8; 64], None, 1).expect("test run");
    assert_eq!(run.retval, 0);
}

#[test]
fn verifier_rejection_carries_the_log() {
    let err = bpf::prog_load(
        &BAD,
        &bpf::ProgLoad {
            prog_type: BPF_PROG_TYPE_SOCKET_FILTER,
            name: "t_bad",
            license: "GPL",
            ..Default::default()
        },
    )
    .expect_err("the verifier must refuse a read of an uninitialised register");
    assert_ne!(err.errno(), Some(libc::EPERM), "needs root: {err}");
    assert_eq!(err.errno(), Some(libc::EACCES));
    let log = err.log().expect("a verifier log");
    assert!(log.contains("R2 !read_ok"), "log: {log}");
}

#[test]
fn kernel_btf_object_is_the_sysfs_vmlinux() {
    let ids = privileged("btf ids", bpf::ids(ObjKind::Btf));
    let sysfs = std::fs::read("/sys/kernel/btf/vmlinux").expect("/sys/kernel/btf/vmlinux");
    let mut found = false;
    for id in ids {
        let Ok(fd) = bpf::fd_by_id(ObjKind::Btf, id) else {
            continue;
        };
        let (info, name) = bpf::btf_info(fd.as_fd()).expect("btf info");
        if info.kernel_btf != 0 && name == "vmlinux" {
            assert_eq!(bpf::btf_data(fd.as_fd()).expect("btf data"), sysfs);
            found = true;
        }
    }
    assert!(found, "no kernel BTF object named vmlinux");
}

#[test]
fn btf_load_rejection_carries_the_log() {
    // A header that claims a type section past the end of the data.
    let mut blob = vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
    blob.extend_from_slice(&0u32.to_le_bytes()); // type_off
    blob.extend_from_slice(&1000u32.to_le_bytes()); // type_len
    blob.extend_from_slice(&0u32.to_le_bytes()); // str_off
    blob.extend_from_slice(&1u32.to_le_bytes()); // str_len
    blob.push(0);
    let err = bpf::btf_load(&blob).expect_err("bad BTF");
    assert_ne!(err.errno(), Some(libc::EPERM), "needs root: {err}");
    assert!(err.log().is_some_and(|l| !l.is_empty()), "{err:?}");
}
