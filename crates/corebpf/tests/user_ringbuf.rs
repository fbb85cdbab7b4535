//! The user ring buffer producer against the kernel's consumer: tests/bpf/user_ringbuf.bpf.c
//! is a syscall program, run with BPF_PROG_TEST_RUN, that drains `user_rb` with
//! `bpf_user_ringbuf_drain` and records in .bss what its callback saw (count, sums, the last
//! sample's payload, samples whose size differed from what their header announced).
//!
//! The expected values are computed here from what was submitted; the kernel's drain is the
//! oracle of the record format (header bits, lengths, alignment, positions).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corebpf::user_ringbuf::UserRingBuf;
use corebpf::{AttachError, GlobalVar, Object, OpenObject};
use corebpf_sys::bpf::{self, ObjKind};
use corebpf_testdata::Cpu;

/// The ring's data size in user_ringbuf.bpf.c.
const RING: u64 = 16384;
const MAX_PAYLOAD: usize = 256;

/// The tests count this process's fds and mappings: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

struct Loaded {
    obj: Object,
    globals: Vec<GlobalVar>,
}

fn load() -> Loaded {
    let open = OpenObject::open(corebpf_testdata::object("user_ringbuf", Cpu::V3))
        .expect("open user_ringbuf object");
    let globals = open.globals().to_vec();
    let obj = open
        .load()
        .unwrap_or_else(|e| panic!("load user_ringbuf (these tests need root): {e}"));
    Loaded { obj, globals }
}

/// Runs the draining program once; returns what `bpf_user_ringbuf_drain` returned.
fn drain(prog: BorrowedFd<'_>) -> u32 {
    bpf::prog_test_run(prog, &[], None, 0)
        .expect("BPF_PROG_TEST_RUN of the syscall program")
        .retval
}

/// What the BPF callback recorded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    samples_seen: u64,
    seq_sum: u64,
    payload_bytes: u64,
    byte_sum: u64,
    bad_samples: u64,
    size_mismatch: u64,
    last_seq: u32,
    last_len: u32,
    last_payload: Vec<u8>,
    drains: u64,
    last_drain_ret: i64,
}

impl Loaded {
    fn prog(&self) -> BorrowedFd<'_> {
        self.obj
            .program("drain_user_rb")
            .expect("program drain_user_rb")
            .fd()
    }

    fn ring(&self) -> UserRingBuf {
        UserRingBuf::new(self.obj.map("user_rb").expect("map user_rb")).expect("user ring buffer")
    }

    fn bss_map(&self) -> &corebpf::Map {
        self.obj
            .maps()
            .iter()
            .find(|m| m.section() == Some(".bss"))
            .expect(".bss map")
    }

    fn var(&self, name: &str) -> &GlobalVar {
        self.globals
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("global {name}"))
    }

    fn seen(&self) -> Seen {
        let bss = self
            .bss_map()
            .lookup(&0u32.to_ne_bytes())
            .expect("lookup .bss")
            .expect(".bss value");
        let bytes = |name: &str| {
            let g = self.var(name);
            bss[g.offset as usize..(g.offset + g.size) as usize].to_vec()
        };
        let u64_of = |name: &str| u64::from_ne_bytes(bytes(name).try_into().expect("8 bytes"));
        let u32_of = |name: &str| u32::from_ne_bytes(bytes(name).try_into().expect("4 bytes"));
        let last_len = u32_of("last_len");
        let mut last_payload = bytes("last_payload");
        last_payload.truncate(last_len as usize);
        Seen {
            samples_seen: u64_of("samples_seen"),
            seq_sum: u64_of("seq_sum"),
            payload_bytes: u64_of("payload_bytes"),
            byte_sum: u64_of("byte_sum"),
            bad_samples: u64_of("bad_samples"),
            size_mismatch: u64_of("size_mismatch"),
            last_seq: u32_of("last_seq"),
            last_len,
            last_payload,
            drains: u64_of("drains"),
            last_drain_ret: u64_of("last_drain_ret") as i64,
        }
    }

    fn set_u32(&self, name: &str, v: u32) {
        let g = self.var(name);
        let map = self.bss_map();
        let mut bss = map
            .lookup(&0u32.to_ne_bytes())
            .expect("lookup .bss")
            .expect(".bss value");
        bss[g.offset as usize..g.offset as usize + 4].copy_from_slice(&v.to_ne_bytes());
        map.update(&0u32.to_ne_bytes(), &bss, 0)
            .expect("update .bss");
    }
}

/// The payload of sample `seq`: `len` bytes of a pattern that differs per sample.
fn payload(seq: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (seq as usize * 31 + j * 7 + 3) as u8)
        .collect()
}

/// Writes header (`seq`, `len`) and payload into a sample of `8 + len` bytes.
fn fill(sample: &mut [u8], seq: u32, len: usize) {
    assert_eq!(sample.len(), 8 + len);
    sample[0..4].copy_from_slice(&seq.to_ne_bytes());
    sample[4..8].copy_from_slice(&(len as u32).to_ne_bytes());
    sample[8..].copy_from_slice(&payload(seq, len));
}

/// Ring bytes a sample of `size` bytes takes: 8-byte header, rounded up to 8.
fn record(size: usize) -> u64 {
    (size as u64 + 8).div_ceil(8) * 8
}

#[test]
fn the_bpf_side_sees_exactly_the_submitted_samples() {
    let _serial = serial();
    let l = load();
    let rb = l.ring();
    assert_eq!(rb.size(), RING);
    assert_eq!(rb.name(), "user_rb");

    let mut want = Seen::default();
    let mut drained = 0u64;
    let mut drains = 0u64;
    let mut discarded = 0u64;
    let mut last_ret;
    // Sizes from 0 to 256 payload bytes, so records wrap the ring end at many offsets.
    for seq in 1..=600u32 {
        let len = (seq as usize * 37) % (MAX_PAYLOAD + 1);
        let mut sample = match rb.reserve(8 + len).expect("reserve") {
            Some(s) => s,
            None => {
                last_ret = drain(l.prog());
                drained += u64::from(last_ret);
                drains += 1;
                assert_eq!(rb.pending(), 0, "a drain takes every submitted sample");
                rb.reserve(8 + len)
                    .expect("reserve")
                    .expect("room after a drain")
            }
        };
        fill(&mut sample, seq, len);
        match seq % 10 {
            // Written, then discarded explicitly, or dropped unsubmitted.
            3 => {
                sample.discard();
                discarded += 1;
            }
            7 => {
                drop(sample);
                discarded += 1;
            }
            _ => {
                sample.submit();
                want.samples_seen += 1;
                want.seq_sum += u64::from(seq);
                want.payload_bytes += len as u64;
                want.byte_sum += payload(seq, len).iter().map(|&b| u64::from(b)).sum::<u64>();
                want.last_seq = seq;
                want.last_len = len as u32;
                want.last_payload = payload(seq, len);
            }
        }
    }
    last_ret = drain(l.prog());
    drained += u64::from(last_ret);
    drains += 1;
    assert!(drains > 3, "the samples filled the ring several times");
    assert_eq!(discarded, 120);
    assert_eq!(
        drained, 480,
        "bpf_user_ringbuf_drain counts exactly the submitted samples"
    );
    want.drains = drains;
    want.last_drain_ret = i64::from(last_ret);
    assert_eq!(l.seen(), want);
    assert_eq!(rb.pending(), 0);
}

#[test]
fn the_kernel_stops_at_a_sample_still_reserved_and_keeps_reservation_order() {
    let _serial = serial();
    let l = load();
    let rb = l.ring();
    let mut a = rb.reserve(8 + 10).unwrap().unwrap();
    let mut b = rb.reserve(8 + 20).unwrap().unwrap();
    let mut c = rb.reserve(8 + 30).unwrap().unwrap();
    fill(&mut a, 1, 10);
    fill(&mut b, 2, 20);
    fill(&mut c, 3, 30);
    assert_eq!(rb.pending(), record(18) + record(28) + record(38));
    // Submitted out of order: nothing is visible while the first one is still reserved.
    c.submit();
    b.submit();
    assert_eq!(drain(l.prog()), 0);
    assert_eq!(l.seen().samples_seen, 0);
    a.submit();
    assert_eq!(drain(l.prog()), 3);
    let seen = l.seen();
    assert_eq!(seen.samples_seen, 3);
    assert_eq!(seen.seq_sum, 6);
    assert_eq!(seen.last_seq, 3, "taken in reservation order");
    assert_eq!(seen.last_payload, payload(3, 30));
    assert_eq!((seen.bad_samples, seen.size_mismatch), (0, 0));
    assert_eq!(rb.pending(), 0);
}

#[test]
fn a_callback_that_stops_leaves_the_rest_for_the_next_drain() {
    let _serial = serial();
    let l = load();
    let rb = l.ring();
    l.set_u32("stop_after_seq", 4);
    for seq in 1..=10u32 {
        let mut s = rb.reserve(8 + 16).unwrap().unwrap();
        fill(&mut s, seq, 16);
        s.submit();
    }
    assert_eq!(drain(l.prog()), 4, "the callback returned 1 after seq 4");
    assert_eq!(l.seen().last_seq, 4);
    assert_eq!(rb.pending(), 6 * record(24));
    // The producer keeps going from the positions the partial drain left.
    for seq in 11..=12u32 {
        assert!(rb
            .write(&{
                let mut v = vec![0; 8 + 16];
                fill(&mut v, seq, 16);
                v
            })
            .unwrap());
    }
    assert_eq!(drain(l.prog()), 8);
    let seen = l.seen();
    assert_eq!(seen.samples_seen, 12);
    assert_eq!(seen.seq_sum, (1..=12).sum::<u64>());
    assert_eq!(seen.last_seq, 12);
    assert_eq!(rb.pending(), 0);
}

#[test]
fn samples_written_while_another_thread_drains_arrive_intact() {
    let _serial = serial();
    const N: u32 = 100_000;
    let l = load();
    let rb = l.ring();
    let prog: OwnedFd = l.prog().try_clone_to_owned().expect("dup prog fd");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    // The kernel consumes on the other core while this thread produces.
    let drainer = std::thread::spawn(move || {
        let mut drained = 0u64;
        let mut runs = 0u64;
        loop {
            let finished = stop.load(std::sync::atomic::Ordering::Acquire);
            drained += u64::from(drain(prog.as_fd()));
            runs += 1;
            if finished {
                return (drained, runs);
            }
        }
    });
    let mut want = Seen::default();
    let mut buf = Vec::with_capacity(8 + MAX_PAYLOAD);
    for seq in 1..=N {
        let len = (seq as usize * 13) % (MAX_PAYLOAD + 1);
        buf.resize(8 + len, 0);
        fill(&mut buf, seq, len);
        assert!(
            rb.write_blocking(&buf, Some(Duration::from_secs(10)))
                .expect("write_blocking"),
            "no room for sample {seq} within 10 s while another thread drains"
        );
        want.samples_seen += 1;
        want.seq_sum += u64::from(seq);
        want.payload_bytes += len as u64;
        want.byte_sum += payload(seq, len).iter().map(|&b| u64::from(b)).sum::<u64>();
        want.last_seq = seq;
        want.last_len = len as u32;
        want.last_payload = payload(seq, len);
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    let (drained, runs) = drainer.join().expect("drainer thread");
    assert_eq!(drained, u64::from(N));
    let seen = l.seen();
    want.drains = runs;
    // The last run may have found anything from nothing to a full ring; never an error.
    assert!(seen.last_drain_ret >= 0, "{seen:?}");
    want.last_drain_ret = seen.last_drain_ret;
    assert_eq!(seen, want);
    assert_eq!(rb.pending(), 0);
}

/// Reserves and submits `size`-byte samples (header and pattern payload) until the ring is
/// full; returns how many fit.
fn fill_ring(rb: &UserRingBuf, size: usize) -> u64 {
    let mut n = 0u64;
    while let Some(mut s) = rb.reserve(size).expect("reserve") {
        n += 1;
        fill(&mut s, n as u32, size - 8);
        s.submit();
    }
    n
}

#[test]
fn a_full_ring_refuses_until_the_bpf_side_drains() {
    let _serial = serial();
    let l = load();
    let rb = l.ring();
    let n = fill_ring(&rb, 100);
    assert_eq!(
        n,
        RING / record(100),
        "as many 112-byte records as fit 16 KiB"
    );
    assert_eq!(rb.pending(), n * record(100));
    assert!(rb.reserve(100).unwrap().is_none());
    // What is left over is smaller than one record, yet a smaller sample still fits.
    let left = RING - n * record(100);
    assert!(left < record(100) && left >= record(8), "{left}");
    let mut small = rb.reserve(8).unwrap().expect("a small sample fits");
    fill(&mut small, 999, 0);
    small.submit();
    assert_eq!(drain(l.prog()) as u64, n + 1);
    let seen = l.seen();
    assert_eq!(seen.samples_seen, n + 1);
    assert_eq!((seen.bad_samples, seen.size_mismatch), (0, 0));
    assert_eq!(rb.pending(), 0);
    assert!(
        rb.reserve(100).unwrap().is_some(),
        "room again after the drain"
    );
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let ret = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(ret, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn reserve_blocking_wakes_when_another_thread_drains() {
    let _serial = serial();
    let l = load();
    let rb = l.ring();
    let n = fill_ring(&rb, 100);
    let prog: OwnedFd = l.prog().try_clone_to_owned().expect("dup prog fd");
    let started = Instant::now();
    let drainer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drain(prog.as_fd())
    });
    let sample = rb
        .reserve_blocking(100, Some(Duration::from_secs(10)))
        .expect("reserve_blocking");
    let waited = started.elapsed();
    let drained = drainer.join().expect("drainer thread");
    assert!(sample.is_some(), "woken with room after {waited:?}");
    assert_eq!(u64::from(drained), n);
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "woke after {waited:?}, the drain came after 300 ms"
    );
}

#[test]
fn reserve_blocking_times_out_without_spinning_when_nothing_drains() {
    let _serial = serial();
    let l = load();
    let rb = l.ring();
    fill_ring(&rb, 100);
    // Some room is left (the map polls writable) but not enough for the sample: the wait must
    // sleep until the deadline rather than spin on that readiness.
    assert!(rb.pending() < RING);
    let cpu = thread_cpu_time();
    let started = Instant::now();
    let got = rb
        .reserve_blocking(100, Some(Duration::from_millis(400)))
        .expect("reserve_blocking");
    let waited = started.elapsed();
    let cpu = thread_cpu_time() - cpu;
    assert!(got.is_none(), "no room appeared");
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(3),
        "timed out after {waited:?} for a 400 ms timeout"
    );
    assert!(
        cpu < Duration::from_millis(100),
        "the wait used {cpu:?} of CPU in {waited:?}"
    );
    // A zero timeout is one attempt.
    let started = Instant::now();
    assert!(rb
        .reserve_blocking(100, Some(Duration::ZERO))
        .unwrap()
        .is_none());
    assert!(started.elapsed() < Duration::from_millis(100));
    // With room, no wait at all.
    drain(l.prog());
    assert!(rb
        .reserve_blocking(100, Some(Duration::ZERO))
        .unwrap()
        .is_some());
}

#[test]
fn sizes_the_ring_cannot_hold_and_second_producers_are_errors() {
    let _serial = serial();
    let l = load();
    let rb = l.ring();
    let max = rb.max_sample_size();
    assert_eq!(max as u64, RING - 8);
    for size in [max + 1, RING as usize, usize::MAX] {
        let err = rb.reserve(size).expect_err("larger than the ring");
        let text = err.to_string();
        assert!(matches!(err, AttachError::Map { .. }), "{err:?}");
        assert!(
            text.contains("user_rb")
                && text.contains(&format!("{size} bytes"))
                && text.contains(&format!("at most {max} bytes")),
            "{text}"
        );
        let err = rb
            .reserve_blocking(size, None)
            .expect_err("larger than the ring, not a wait");
        assert!(matches!(err, AttachError::Map { .. }), "{err:?}");
    }
    // The largest sample fills the whole ring; the kernel reports its exact size.
    let mut s = rb
        .reserve(max)
        .unwrap()
        .expect("the largest sample fits an empty ring");
    assert_eq!(s.len(), max);
    s[0..4].copy_from_slice(&1u32.to_ne_bytes());
    s[4..8].copy_from_slice(&0u32.to_ne_bytes());
    s.submit();
    assert_eq!(rb.pending(), RING);
    assert!(
        rb.reserve(0).unwrap().is_none(),
        "not even an empty sample fits a full ring"
    );
    assert_eq!(drain(l.prog()), 1);
    let seen = l.seen();
    assert_eq!(
        (seen.samples_seen, seen.size_mismatch),
        (1, 1),
        "the sample is {max} bytes, not the 8 its header announces"
    );
    // An empty sample is a valid sample of size 0, which our callback cannot read a header of.
    rb.reserve(0).unwrap().expect("empty sample").submit();
    assert_eq!(drain(l.prog()), 1);
    assert_eq!(l.seen().bad_samples, 1);

    // One producer per map.
    let err = UserRingBuf::new(l.obj.map("user_rb").unwrap()).expect_err("second producer");
    assert!(err.to_string().contains("already has a producer"), "{err}");
    drop(rb);
    let rb = l.ring();
    // The new producer continues at the positions the first one left.
    assert!(rb
        .write(&{
            let mut v = vec![0; 8 + 5];
            fill(&mut v, 9, 5);
            v
        })
        .unwrap());
    assert_eq!(drain(l.prog()), 1);
    assert_eq!(l.seen().last_seq, 9);

    // Not a user ring buffer.
    let err = UserRingBuf::new(l.bss_map()).expect_err(".bss is an array");
    assert!(
        err.to_string().contains("is not a user ring buffer"),
        "{err}"
    );
}

/// This process's fds and the lines of its memory map that map a BPF map.
fn fds_and_map_mappings() -> (usize, usize) {
    let fds = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count();
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    (fds, maps.lines().filter(|l| l.contains("bpf-map")).count())
}

#[test]
fn dropping_the_producer_leaves_no_fds_mappings_or_maps() {
    let _serial = serial();
    let before = fds_and_map_mappings();
    let id;
    {
        let l = load();
        id = l.obj.map("user_rb").unwrap().info().expect("map info").id;
        let rb = l.ring();
        let during = fds_and_map_mappings();
        assert!(
            during.1 >= 2,
            "consumer and producer pages are mapped: {during:?}"
        );
        let kept = rb.reserve(64).unwrap().expect("reserve");
        rb.write(&[0u8; 8]).unwrap();
        drop(kept);
        drop(rb);
        drop(l);
    }
    assert_eq!(
        fds_and_map_mappings(),
        before,
        "fds or mappings left behind"
    );
    // The kernel frees the map from a work queue once the last reference is gone.
    for _ in 0..50 {
        if bpf::fd_by_id(ObjKind::Map, id).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("map id {id} still exists after the producer and the object were dropped");
}
