//! Ring buffer and perf ring readers against real BPF programs on the getppid tracepoint.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use corebpf_sys::bpf::{self, attr::*};
use corebpf_sys::epoll::Epoll;
use corebpf_sys::mmap::{PerfRecord, PerfRing, RingBufReader};
use corebpf_sys::{perf, tracefs};

const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
const BPF_MAP_TYPE_RINGBUF: u32 = 27;
const BPF_PROG_TYPE_TRACEPOINT: u32 = 5;

fn ld_imm64(dst: u8, src: u8, imm: u64) -> [u8; 16] {
    let lo = (imm as u32).to_le_bytes();
    let hi = ((imm >> 32) as u32).to_le_bytes();
    [
        0x18,
        (src << 4) | dst,
        0,
        0,
        lo[0],
        lo[1],
        lo[2],
        lo[3],
        0,
        0,
        0,
        0,
        hi[0],
        hi[1],
        hi[2],
        hi[3],
    ]
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [code, (src << 4) | dst, o[0], o[1], i[0], i[1], i[2], i[3]]
}

/// Puts `magic` (one per program) on the stack at r10-8 and the caller's pid/tid pair at r10-16,
/// then emits both. Tests run in threads of one process, so records are matched by thread.
fn program(map: &OwnedFd, perf: bool, magic: u64) -> OwnedFd {
    let mut p: Vec<u8> = Vec::new();
    p.extend(insn(0xbf, 6, 1, 0, 0)); // r6 = r1 (ctx)
    p.extend(insn(0x85, 0, 0, 0, 14)); // call bpf_get_current_pid_tgid
    p.extend(insn(0x7b, 10, 0, -16, 0)); // *(u64 *)(r10 -16) = r0
    p.extend(ld_imm64(1, 0, magic)); // r1 = magic ll
    p.extend(insn(0x7b, 10, 1, -8, 0)); // *(u64 *)(r10 -8) = r1
    if perf {
        p.extend(insn(0xbf, 1, 6, 0, 0)); // r1 = ctx
        p.extend(ld_imm64(2, 1, map.as_raw_fd() as u64)); // r2 = map
        p.extend(ld_imm64(3, 0, 0xffff_ffff)); // r3 = BPF_F_CURRENT_CPU
        p.extend(insn(0xbf, 4, 10, 0, 0)); // r4 = r10
        p.extend(insn(0x07, 4, 0, 0, -16)); // r4 += -16
        p.extend(insn(0xb7, 5, 0, 0, 16)); // r5 = 16
        p.extend(insn(0x85, 0, 0, 0, 25)); // call bpf_perf_event_output
    } else {
        p.extend(ld_imm64(1, 1, map.as_raw_fd() as u64)); // r1 = map
        p.extend(insn(0xbf, 2, 10, 0, 0)); // r2 = r10
        p.extend(insn(0x07, 2, 0, 0, -16)); // r2 += -16
        p.extend(insn(0xb7, 3, 0, 0, 16)); // r3 = 16
        p.extend(insn(0xb7, 4, 0, 0, 0)); // r4 = 0
        p.extend(insn(0x85, 0, 0, 0, 130)); // call bpf_ringbuf_output
    }
    p.extend(insn(0xb7, 0, 0, 0, 0)); // r0 = 0
    p.extend(insn(0x95, 0, 0, 0, 0)); // exit
    bpf::prog_load(
        &p,
        &bpf::ProgLoad {
            prog_type: BPF_PROG_TYPE_TRACEPOINT,
            name: "t_emit",
            license: "GPL",
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("prog load (needs root): {e}\n{}", e.log().unwrap_or("")))
}

fn attach(prog: &OwnedFd) -> OwnedFd {
    let id = tracefs::tracepoint_id("syscalls", "sys_enter_getppid").expect("tracepoint id");
    let event = perf::tracepoint(id, -1, 0).expect("perf_event_open");
    perf::set_bpf(event.as_fd(), prog.as_fd()).expect("set bpf");
    perf::enable(event.as_fd()).expect("enable");
    event
}

fn getppid_times(n: usize) {
    for _ in 0..n {
        // SAFETY: getppid has no preconditions.
        std::hint::black_box(unsafe { libc::getppid() });
    }
}

/// `bpf_get_current_pid_tgid()` of the calling thread: tgid in the high half, tid in the low.
fn this_thread() -> u64 {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() } as u32;
    (u64::from(std::process::id()) << 32) | u64::from(tid)
}

fn ours(rec: &[u8], magic: u64) -> bool {
    rec.len() == 16
        && u64::from_ne_bytes(rec[0..8].try_into().expect("8 bytes")) == this_thread()
        && u64::from_ne_bytes(rec[8..16].try_into().expect("8 bytes")) == magic
}

#[test]
fn ring_buffer_delivers_every_record_with_epoll_wakeup() {
    let map = bpf::map_create(&MapCreateAttr {
        map_type: BPF_MAP_TYPE_RINGBUF,
        max_entries: 1 << 16,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("ringbuf create (needs root): {e}"));
    let prog = program(&map, false, 0x1111);
    let mut reader = RingBufReader::new(map.as_fd(), 1 << 16).expect("mmap ring buffer");
    let mut ep = Epoll::new().expect("epoll");
    ep.add(map.as_fd(), 7).expect("epoll add");
    let _event = attach(&prog);
    getppid_times(1000);
    assert_eq!(
        ep.wait(Some(Duration::from_secs(5))).expect("wait"),
        vec![7]
    );
    let mut mine = 0;
    let mut total = 0;
    while reader.pending() > 0 {
        let got = reader.consume(|rec| {
            if ours(rec, 0x1111) {
                mine += 1;
            }
            true
        });
        total += got.records;
        if got.records == 0 {
            break;
        }
    }
    assert_eq!(mine, 1000, "records from this process (of {total} in all)");
    assert_eq!(reader.pending(), 0);
}

#[test]
fn ring_buffer_consume_stops_when_asked_and_resumes() {
    let map = bpf::map_create(&MapCreateAttr {
        map_type: BPF_MAP_TYPE_RINGBUF,
        max_entries: 1 << 16,
        ..Default::default()
    })
    .expect("ringbuf create");
    let prog = program(&map, false, 0x2222);
    let mut reader = RingBufReader::new(map.as_fd(), 1 << 16).expect("mmap");
    let event = attach(&prog);
    getppid_times(10);
    drop(event);
    let mut seen = 0;
    let first = reader.consume(|rec| {
        seen += usize::from(ours(rec, 0x2222));
        false
    });
    assert_eq!(first.records, 1);
    reader.consume(|rec| {
        seen += usize::from(ours(rec, 0x2222));
        true
    });
    assert_eq!(seen, 10);
}

#[test]
fn ring_buffer_size_must_be_a_power_of_two() {
    let map = bpf::map_create(&MapCreateAttr {
        map_type: BPF_MAP_TYPE_RINGBUF,
        max_entries: 1 << 16,
        ..Default::default()
    })
    .expect("ringbuf create");
    let err = RingBufReader::new(map.as_fd(), 3000).expect_err("not a power of two");
    assert!(err.to_string().contains("not a power of two"), "{err}");
}

#[test]
fn perf_rings_deliver_samples_per_cpu() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let possible =
        std::fs::read_to_string("/sys/devices/system/cpu/possible").expect("possible cpus");
    let max_cpu: u32 = possible
        .trim()
        .rsplit(['-', ','])
        .next()
        .and_then(|n| n.parse().ok())
        .expect("cpu list");
    let map = bpf::map_create(&MapCreateAttr {
        map_type: BPF_MAP_TYPE_PERF_EVENT_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: max_cpu + 1,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("perf event array create (needs root): {e}"));
    let mut rings = Vec::new();
    let mut events = Vec::new();
    let mut ep = Epoll::new().expect("epoll");
    for cpu in 0..cpus {
        let attr = perf::PerfEventAttr {
            type_: perf::kind::SOFTWARE,
            config: perf::sw::BPF_OUTPUT,
            sample_type: perf::SAMPLE_RAW,
            sample_period: 1,
            wakeup_events: 1,
            ..Default::default()
        };
        let ev = perf::perf_event_open(&attr, -1, cpu as i32).expect("bpf output event");
        let ring = PerfRing::new(ev.as_fd(), 64).expect("mmap perf ring");
        bpf::map_update_elem(
            map.as_fd(),
            &cpu.to_ne_bytes(),
            &(ev.as_raw_fd() as u32).to_ne_bytes(),
            0,
        )
        .expect("map update");
        perf::enable(ev.as_fd()).expect("enable");
        ep.add(ev.as_fd(), u64::from(cpu)).expect("epoll add");
        rings.push(ring);
        events.push(ev);
    }
    let prog = program(&map, true, 0x3333);
    let _event = attach(&prog);
    getppid_times(200);
    let ready = ep.wait(Some(Duration::from_secs(5))).expect("wait");
    assert!(!ready.is_empty(), "no perf ring woke up");
    let mut mine = 0;
    let mut lost = 0;
    for ring in &mut rings {
        ring.consume(|rec| match rec {
            PerfRecord::Sample(raw) => {
                // Raw samples are padded to 8 bytes after the u32 size; ours are 16 bytes + pad.
                if raw.len() >= 16 && ours(&raw[..16], 0x3333) {
                    mine += 1;
                }
            }
            PerfRecord::Lost(n) => lost += n,
            PerfRecord::Other(_) => {}
        });
    }
    assert_eq!(mine + lost, 200, "samples {mine}, lost {lost}");
}

#[test]
fn perf_ring_records_that_wrap_the_ring_end_arrive_whole() {
    let possible =
        std::fs::read_to_string("/sys/devices/system/cpu/possible").expect("possible cpus");
    let max_cpu: u32 = possible
        .trim()
        .rsplit(['-', ','])
        .next()
        .and_then(|n| n.parse().ok())
        .expect("cpu list");
    let map = bpf::map_create(&MapCreateAttr {
        map_type: BPF_MAP_TYPE_PERF_EVENT_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: max_cpu + 1,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("perf event array create (needs root): {e}"));
    // One data page per CPU: 32-byte records wrap around its end every 128 records.
    let mut rings = Vec::new();
    let mut events = Vec::new();
    for cpu in 0..=max_cpu {
        let attr = perf::PerfEventAttr {
            type_: perf::kind::SOFTWARE,
            config: perf::sw::BPF_OUTPUT,
            sample_type: perf::SAMPLE_RAW,
            sample_period: 1,
            wakeup_events: 1,
            ..Default::default()
        };
        let Ok(ev) = perf::perf_event_open(&attr, -1, cpu as i32) else {
            continue;
        };
        rings.push(PerfRing::new(ev.as_fd(), 1).expect("mmap one-page perf ring"));
        bpf::map_update_elem(
            map.as_fd(),
            &cpu.to_ne_bytes(),
            &(ev.as_raw_fd() as u32).to_ne_bytes(),
            0,
        )
        .expect("map update");
        perf::enable(ev.as_fd()).expect("enable");
        events.push(ev);
    }
    let prog = program(&map, true, 0x4444);
    let _event = attach(&prog);
    let (mut mine, mut lost) = (0u64, 0u64);
    for _ in 0..20 {
        getppid_times(50);
        for ring in &mut rings {
            ring.consume(|rec| match rec {
                PerfRecord::Sample(raw) => {
                    if raw.len() >= 16 && ours(&raw[..16], 0x4444) {
                        mine += 1;
                    }
                }
                PerfRecord::Lost(n) => lost += n,
                PerfRecord::Other(_) => {}
            });
        }
    }
    // Lost counts cover every process's samples; ours all arrived or were counted lost.
    assert!(mine + lost >= 1000, "samples {mine}, lost {lost}");
    assert!(mine > 300, "too few samples survived: {mine}");
}
