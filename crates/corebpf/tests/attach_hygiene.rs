//! Resource hygiene: a thousand open/load/attach/drop cycles leave no fd open in this process
//! and no program, map or link of the test's names in the kernel.

#[path = "attach_progs/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::os::fd::AsFd;

use corebpf::ringbuf::RingBuf;
use corebpf_sys::bpf::{self, attr::name_str, ObjKind};
use support::*;

const PROG_NAMES: [&str; 3] = ["rb_event", "rb2_event", "pb_event"];
const MAP_NAMES: [&str; 5] = ["rb", "rb2", "pb", "events.bss", "events.rodata"];

fn our_progs() -> BTreeSet<u32> {
    bpf::ids(ObjKind::Prog)
        .unwrap()
        .into_iter()
        .filter(|&id| {
            bpf::fd_by_id(ObjKind::Prog, id)
                .and_then(|fd| bpf::prog_info(fd.as_fd()))
                .is_ok_and(|i| PROG_NAMES.contains(&name_str(&i.name).as_str()))
        })
        .collect()
}

fn our_maps() -> BTreeSet<u32> {
    bpf::ids(ObjKind::Map)
        .unwrap()
        .into_iter()
        .filter(|&id| {
            bpf::fd_by_id(ObjKind::Map, id)
                .and_then(|fd| bpf::map_info(fd.as_fd()))
                .is_ok_and(|i| MAP_NAMES.contains(&name_str(&i.name).as_str()))
        })
        .collect()
}

fn our_links() -> BTreeSet<u32> {
    bpf::ids(ObjKind::Link)
        .unwrap()
        .into_iter()
        .filter(|&id| {
            let Ok(fd) = bpf::fd_by_id(ObjKind::Link, id) else {
                return false;
            };
            let Ok(info) = bpf::link_info(fd.as_fd()) else {
                return false;
            };
            bpf::fd_by_id(ObjKind::Prog, info.prog_id)
                .and_then(|p| bpf::prog_info(p.as_fd()))
                .is_ok_and(|i| PROG_NAMES.contains(&name_str(&i.name).as_str()))
        })
        .collect()
}

#[test]
fn a_thousand_load_attach_drop_cycles_leave_nothing_behind() {
    let _serial = serial();
    let path = object_path("events", &[]);
    // Warm-up: caches (kernel BTF, feature probes) are filled once and kept on purpose.
    drop(load("events", &[]));
    let (progs, maps, links) = (our_progs(), our_maps(), our_links());
    let fds = open_fds();
    for i in 0..1000 {
        let mut open = corebpf::OpenObject::open(&path).expect("open");
        open.set_global("target_tgid", &std::process::id().to_ne_bytes())
            .unwrap();
        let obj = open.load().unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        let l1 = obj.program("rb_event").unwrap().attach().expect("attach");
        let l2 = obj.program("pb_event").unwrap().attach().expect("attach");
        let mut got = 0;
        let mut rb = RingBuf::new(obj.map("rb").unwrap().fd(), |_: &[u8]| got += 1).unwrap();
        getppid_n(1);
        rb.consume();
        drop(rb);
        assert_eq!(got, 1, "cycle {i}");
        drop((l1, l2, obj));
    }
    assert_eq!(open_fds(), fds, "fds open before and after");
    // Links and programs are freed by the kernel asynchronously (RCU): allow it a moment.
    // Objects of the same names from other processes may come and go meanwhile: only ids that
    // were not there before count.
    let new = |now: BTreeSet<u32>, before: &BTreeSet<u32>| -> Vec<u32> {
        now.difference(before).copied().collect()
    };
    for _ in 0..50 {
        if new(our_progs(), &progs).is_empty()
            && new(our_maps(), &maps).is_empty()
            && new(our_links(), &links).is_empty()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        new(our_links(), &links),
        Vec::<u32>::new(),
        "links left behind"
    );
    assert_eq!(
        new(our_progs(), &progs),
        Vec::<u32>::new(),
        "programs left behind"
    );
    assert_eq!(
        new(our_maps(), &maps),
        Vec::<u32>::new(),
        "maps left behind"
    );
}
