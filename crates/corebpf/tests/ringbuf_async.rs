//! The tokio readers (feature `tokio`): ring buffer and perf buffer records delivered to an
//! async task while a producer thread runs.

// Each test holds the cross-test lock for its whole run on its own single-threaded runtime:
// nothing else on that runtime can wait for the lock.
#![allow(clippy::await_holding_lock)]

#[path = "attach_progs/support.rs"]
mod support;

use std::time::Duration;

use corebpf::perfbuf::{PerfBuf, PerfBufOptions};
use corebpf::ringbuf::RingBuf;
use support::*;

#[tokio::test(flavor = "current_thread")]
async fn ring_buffer_records_arrive_in_an_async_task() {
    let _serial = serial();
    const N: u64 = 100_000;
    let (obj, globals) = load_with_globals("events", &[]);
    let _link = obj.program("rb_event").unwrap().attach().expect("attach");
    let mut seqs = 0u64;
    let mut next = 0u64;
    let mut rb = RingBuf::new(obj.map("rb").unwrap().fd(), |r: &[u8]| {
        assert_eq!(parse_event(r).seq, next);
        next += 1;
        seqs += 1;
    })
    .unwrap()
    .into_async()
    .expect("register with tokio");
    let producer = std::thread::spawn(|| getppid_n(N));
    let mut total = 0;
    while total < N {
        total += tokio::time::timeout(Duration::from_secs(5), rb.next_batch())
            .await
            .expect("records within 5 s")
            .expect("ring buffer");
    }
    producer.join().unwrap();
    drop(rb);
    assert_eq!(total, N);
    assert_eq!(seqs, N);
    assert_eq!(global_u64(&obj, &globals, "reserve_failed"), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn perf_buffer_samples_arrive_in_an_async_task() {
    let _serial = serial();
    const N: u64 = 2_000;
    let (obj, _g) = load_with_globals("events", &[]);
    let _link = obj.program("pb_event").unwrap().attach().expect("attach");
    let mut got = 0u64;
    let mut pb = PerfBuf::new(
        obj.map("pb").unwrap().fd(),
        PerfBufOptions::default(),
        |_c, _r| got += 1,
        |_c, _l| {},
    )
    .unwrap()
    .into_async()
    .expect("register with tokio");
    let producer = std::thread::spawn(|| {
        for _ in 0..N {
            // SAFETY: getsid(0) has no pointer arguments.
            unsafe { libc::getsid(0) };
        }
    });
    let mut total = 0;
    while total < N {
        total += tokio::time::timeout(Duration::from_secs(5), pb.next_batch())
            .await
            .expect("samples within 5 s")
            .expect("perf buffer");
    }
    producer.join().unwrap();
    assert_eq!(pb.lost(), 0);
    drop(pb);
    assert_eq!(got, N);
}
