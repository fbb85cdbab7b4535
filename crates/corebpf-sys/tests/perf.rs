//! Tracepoint attachment through perf events, for real: a hand-assembled program counts
//! getppid() calls into an array map.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use corebpf_sys::bpf::{self, attr::*};
use corebpf_sys::{perf, tracefs};

const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_TRACEPOINT: u32 = 5;
const BPF_PERF_EVENT: u32 = 41;

fn counter_map() -> OwnedFd {
    bpf::map_create(&MapCreateAttr {
        map_type: BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("map create (these tests need root with CAP_BPF): {e}"))
}

/// `counter[0] += 1; return 0;`
fn counting_program(map: &OwnedFd) -> OwnedFd {
    let fd = map.as_raw_fd() as u8;
    #[rustfmt::skip]
    let insns: Vec<u8> = vec![
        0x62, 0x0a, 0xfc, 0xff, 0, 0, 0, 0,      // *(u32 *)(r10 -4) = 0
        0x18, 0x11, 0, 0, fd, 0, 0, 0,           // r1 = map_fd ll
        0, 0, 0, 0, 0, 0, 0, 0,
        0xbf, 0xa2, 0, 0, 0, 0, 0, 0,            // r2 = r10
        0x07, 0x02, 0, 0, 0xfc, 0xff, 0xff, 0xff, // r2 += -4
        0x85, 0, 0, 0, 1, 0, 0, 0,               // call bpf_map_lookup_elem
        0x15, 0, 2, 0, 0, 0, 0, 0,               // if r0 == 0 goto pc+2
        0xb7, 0x01, 0, 0, 1, 0, 0, 0,            // r1 = 1
        0xdb, 0x10, 0, 0, 0, 0, 0, 0,            // lock *(u64 *)(r0 +0) += r1
        0xb7, 0, 0, 0, 0, 0, 0, 0,               // r0 = 0
        0x95, 0, 0, 0, 0, 0, 0, 0,               // exit
    ];
    bpf::prog_load(
        &insns,
        &bpf::ProgLoad {
            prog_type: BPF_PROG_TYPE_TRACEPOINT,
            name: "t_count",
            license: "GPL",
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("prog load: {e}\n{}", e.log().unwrap_or("")))
}

fn count(map: &OwnedFd) -> u64 {
    let mut v = [0u8; 8];
    assert!(bpf::map_lookup_elem(map.as_fd(), &0u32.to_ne_bytes(), &mut v, 0).expect("lookup"));
    u64::from_ne_bytes(v)
}

fn getppid_times(n: usize) {
    for _ in 0..n {
        // SAFETY: getppid has no preconditions.
        std::hint::black_box(unsafe { libc::getppid() });
    }
}

#[test]
fn tracepoint_id_of_missing_tracepoint_is_named() {
    let err = tracefs::tracepoint_id("syscalls", "sys_enter_no_such_call").expect_err("missing");
    let text = err.to_string();
    assert!(
        text.contains("tracepoint syscalls/sys_enter_no_such_call does not exist"),
        "{text}"
    );
    assert!(tracefs::tracepoint_id("..", "x").is_err());
}

#[test]
fn tracepoint_via_ioctl_counts_calls_and_stops_on_drop() {
    let map = counter_map();
    let prog = counting_program(&map);
    let id = tracefs::tracepoint_id("syscalls", "sys_enter_getppid").expect("tracepoint id");
    let event = perf::tracepoint(id, -1, 0).expect("perf_event_open");
    perf::set_bpf(event.as_fd(), prog.as_fd()).expect("set bpf");
    perf::enable(event.as_fd()).expect("enable");
    let before = count(&map);
    getppid_times(50);
    let after = count(&map);
    assert!(
        after - before >= 50,
        "counted {} of 50 calls",
        after - before
    );
    drop(event);
    let settled = count(&map);
    getppid_times(50);
    assert_eq!(
        count(&map),
        settled,
        "the program still runs after its event was closed"
    );
}

#[test]
fn tracepoint_via_bpf_link() {
    let map = counter_map();
    let prog = counting_program(&map);
    let id = tracefs::tracepoint_id("syscalls", "sys_enter_getppid").expect("tracepoint id");
    let event = perf::tracepoint(id, -1, 0).expect("perf_event_open");
    let link = bpf::link_create(
        prog.as_fd(),
        event.as_raw_fd() as u32,
        BPF_PERF_EVENT,
        0,
        [0; 6],
    )
    .expect("link create");
    let info = bpf::link_info(link.as_fd()).expect("link info");
    assert_eq!(
        info.prog_id,
        bpf::prog_info(prog.as_fd()).expect("prog info").id
    );
    getppid_times(20);
    assert!(count(&map) >= 20);
    drop(link);
    drop(event);
    let settled = count(&map);
    getppid_times(20);
    assert_eq!(count(&map), settled);
}

#[test]
fn kprobes_absent_are_reported_as_such() {
    // This kernel is built without CONFIG_KPROBES; elsewhere the PMU exists and this checks
    // the type number instead.
    match perf::probe_pmu("kprobe") {
        Ok((ty, _)) => assert!(ty > 0),
        Err(e) => assert!(e.to_string().contains("CONFIG_KPROBES off"), "{e}"),
    }
    let (ty, bit) = perf::probe_pmu("uprobe").expect("uprobe PMU");
    assert!(ty > 0);
    assert_eq!(bit, Some(0));
}
