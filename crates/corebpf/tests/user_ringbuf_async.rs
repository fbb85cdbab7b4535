//! The user ring buffer producer on tokio (feature `tokio`): `reserve_async` waits on the
//! runtime's reactor for the BPF side (tests/bpf/user_ringbuf.bpf.c, run with
//! BPF_PROG_TEST_RUN from another thread) to drain the ring.

// Each test holds the cross-test lock for its whole run on its own single-threaded runtime:
// nothing else on that runtime can wait for the lock.
#![allow(clippy::await_holding_lock)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corebpf::user_ringbuf::UserRingBuf;
use corebpf::{Object, OpenObject};
use corebpf_sys::bpf;
use corebpf_testdata::Cpu;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn load() -> Object {
    OpenObject::open(corebpf_testdata::object("user_ringbuf", Cpu::V3))
        .expect("open user_ringbuf object")
        .load()
        .unwrap_or_else(|e| panic!("load user_ringbuf (these tests need root): {e}"))
}

fn prog(obj: &Object) -> BorrowedFd<'_> {
    obj.program("drain_user_rb")
        .expect("program drain_user_rb")
        .fd()
}

/// Runs the draining program once; returns how many samples it took.
fn drain(prog: BorrowedFd<'_>) -> u32 {
    bpf::prog_test_run(prog, &[], None, 0)
        .expect("BPF_PROG_TEST_RUN of the syscall program")
        .retval
}

/// Submits `size`-byte samples (header: sequence number, payload length; zero payload) until
/// the ring is full; returns how many fit.
fn fill_ring(rb: &UserRingBuf, size: usize) -> u32 {
    let mut n = 0u32;
    while let Some(mut s) = rb.reserve(size).expect("reserve") {
        n += 1;
        s[0..4].copy_from_slice(&n.to_ne_bytes());
        s[4..8].copy_from_slice(&((size - 8) as u32).to_ne_bytes());
        s[8..].fill(0);
        s.submit();
    }
    n
}

/// CPU time this thread has used (the current-thread runtime runs the test here).
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

#[tokio::test(flavor = "current_thread")]
async fn reserve_async_wakes_when_another_thread_drains() {
    let _serial = serial();
    let obj = load();
    let rb = UserRingBuf::new(obj.map("user_rb").expect("map user_rb")).expect("ring");
    // Room now: no wait.
    let started = Instant::now();
    rb.reserve_async(100)
        .await
        .expect("reserve_async")
        .discard();
    assert!(started.elapsed() < Duration::from_millis(200));

    let n = fill_ring(&rb, 100);
    let prog: OwnedFd = prog(&obj).try_clone_to_owned().expect("dup prog fd");
    let started = Instant::now();
    let drainer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drain(prog.as_fd())
    });
    let sample = tokio::time::timeout(Duration::from_secs(10), rb.reserve_async(100))
        .await
        .expect("room within 10 s of the drain")
        .expect("reserve_async");
    let waited = started.elapsed();
    assert_eq!(sample.len(), 100);
    sample.discard();
    assert_eq!(drainer.join().expect("drainer thread"), n);
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "woke after {waited:?}, the drain came after 300 ms"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn reserve_async_waits_while_nothing_drains_and_timeout_cancels_it() {
    let _serial = serial();
    let obj = load();
    let rb = UserRingBuf::new(obj.map("user_rb").expect("map user_rb")).expect("ring");
    let n = fill_ring(&rb, 100);
    let pending = rb.pending();
    // Some room is left, not enough for the sample: the task must stay parked, not spin.
    assert!(pending < 16384);
    let cpu = thread_cpu_time();
    let started = Instant::now();
    let got = tokio::time::timeout(Duration::from_millis(400), rb.reserve_async(100)).await;
    let waited = started.elapsed();
    let cpu = thread_cpu_time() - cpu;
    assert!(got.is_err(), "no room appeared, so the timeout fired");
    assert!(
        cpu < Duration::from_millis(100),
        "the wait used {cpu:?} of CPU in {waited:?}"
    );
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // The cancelled wait reserved nothing.
    assert_eq!(rb.pending(), pending);
    // A smaller sample that fits needs no drain, even after a cancelled wait.
    let small = tokio::time::timeout(Duration::from_millis(200), rb.reserve_async(8))
        .await
        .expect("an 8-byte sample fits the space left")
        .expect("reserve_async");
    small.discard();
    assert_eq!(drain(prog(&obj)), n);
    assert_eq!(rb.pending(), 0);
}
