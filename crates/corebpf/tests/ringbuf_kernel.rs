//! Ring buffer reading against a real producer: a tracepoint program emitting one record per
//! getppid() of this process; the program counts the records it failed to reserve.

#[path = "attach_progs/support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corebpf::ringbuf::{Flow, RingBuf};
use support::*;

#[test]
fn a_million_events_none_lost_when_the_consumer_keeps_up() {
    let _serial = serial();
    const N: u64 = 1_000_000;
    let (obj, globals) = load_with_globals("events", &[]);
    let _link = obj.program("rb_event").unwrap().attach().expect("attach");
    let mut received = 0u64;
    let mut misordered = 0u64;
    let mut last: Option<u64> = None;
    let me = std::process::id();
    let mut rb = RingBuf::new(obj.map("rb").unwrap().fd(), |rec: &[u8]| {
        assert_eq!(rec.len(), 32);
        let e = parse_event(rec);
        assert_eq!(e.pid, me);
        if last.is_some_and(|l| e.seq != l + 1) {
            misordered += 1;
        }
        last = Some(e.seq);
        received += 1;
    })
    .expect("ring buffer");
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let producer = std::thread::spawn(move || {
        getppid_n(N);
        d.store(true, Ordering::Release);
    });
    let mut idle = 0;
    loop {
        let n = rb.poll(Some(Duration::from_millis(50))).expect("poll");
        if n == 0 && done.load(Ordering::Acquire) {
            idle += 1;
            if idle > 3 {
                break;
            }
        }
    }
    producer.join().unwrap();
    drop(rb);
    let failed = global_u64(&obj, &globals, "reserve_failed");
    assert_eq!(
        received + failed,
        N,
        "every event either delivered or counted as failed"
    );
    assert_eq!(
        failed, 0,
        "no reserve failures with a 4 MiB ring and a running consumer"
    );
    assert_eq!(misordered, 0);
    assert_eq!(received, N);
}

#[test]
fn a_slow_consumer_on_a_small_ring_reports_exactly_the_program_s_failures() {
    let _serial = serial();
    const N: u64 = 20_000;
    let (obj, globals) = load_with_globals("events", &[("RB_SIZE", "4096")]);
    let _link = obj.program("rb_event").unwrap().attach().expect("attach");
    let mut received = 0u64;
    let mut rb = RingBuf::new(obj.map("rb").unwrap().fd(), |_: &[u8]| {
        received += 1;
        Flow::Continue
    })
    .expect("ring buffer");
    // Produce in bursts larger than the ring (4096 / 40 = 102 records) between consumes.
    for _ in 0..(N / 500) {
        getppid_n(500);
        std::thread::sleep(Duration::from_millis(1));
        rb.consume();
    }
    rb.consume();
    drop(rb);
    let failed = global_u64(&obj, &globals, "reserve_failed");
    let dropped = N - received;
    assert!(failed > 0, "the small ring overflowed");
    assert_eq!(
        dropped, failed,
        "dropped = records the program could not reserve"
    );
}

#[test]
fn two_rings_in_one_epoll_with_discards_and_a_stopping_callback() {
    let _serial = serial();
    let (obj, _g) = load_with_globals("events", &[]);
    let _l1 = obj
        .program("rb_event")
        .unwrap()
        .attach()
        .expect("attach rb");
    let _l2 = obj
        .program("rb2_event")
        .unwrap()
        .attach()
        .expect("attach rb2");
    let mut a = 0u64;
    let mut b = Vec::new();
    {
        let mut rb = RingBuf::builder()
            .add(obj.map("rb").unwrap().fd(), |_: &[u8]| {
                a += 1;
                a < 5 // stop after the fifth record
            })
            .unwrap()
            .add(obj.map("rb2").unwrap().fd(), |r: &[u8]| {
                b.push(parse_event(r).seq);
                Flow::Continue
            })
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(rb.len(), 2);
        getppid_n(10);
        for _ in 0..10 {
            // SAFETY: getpgid(0) has no pointer arguments.
            unsafe { libc::getpgid(0) };
        }
        let n = rb.consume();
        assert_eq!(n, 5, "stopped after the fifth record of the first ring");
        assert!(rb.pending() > 0, "the rest stays in the ring");
        // The next consume hands over the rest.
        while rb.poll(Some(Duration::from_millis(10))).unwrap() > 0 {}
        assert_eq!(
            rb.discarded(),
            5,
            "odd sequence numbers were discarded by the program"
        );
    }
    assert!(a >= 10, "{a}");
    assert_eq!(b, vec![0, 2, 4, 6, 8]);
}
