//! Perf buffer reading: samples from `bpf_perf_event_output` on every CPU, and lost-sample
//! counts equal to the outputs the program saw fail.

#[path = "attach_progs/support.rs"]
mod support;

use std::time::Duration;

use corebpf::perfbuf::{PerfBuf, PerfBufOptions};
use support::*;

fn getsid_n(n: u64) {
    for _ in 0..n {
        // SAFETY: getsid(0) has no pointer arguments.
        unsafe { libc::getsid(0) };
    }
}

#[test]
fn every_sample_delivered_in_order() {
    let _serial = serial();
    const N: u64 = 20_000;
    let (obj, globals) = load_with_globals("events", &[]);
    let _link = obj.program("pb_event").unwrap().attach().expect("attach");
    let mut seqs = Vec::new();
    let mut lost = 0;
    {
        let mut pb = PerfBuf::new(
            obj.map("pb").unwrap().fd(),
            PerfBufOptions::default(),
            |_cpu, b| seqs.push(parse_event(b).seq),
            |_cpu, n| lost += n,
        )
        .expect("perf buffer");
        for _ in 0..(N / 1000) {
            getsid_n(1000);
            pb.consume();
        }
        while pb.poll(Some(Duration::from_millis(20))).unwrap() > 0 {}
    }
    let failed = global_u64(&obj, &globals, "output_failed");
    assert_eq!(failed, 0);
    assert_eq!(lost, 0);
    assert_eq!(seqs.len() as u64, N);
    seqs.sort_unstable();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn lost_samples_equal_failed_outputs() {
    let _serial = serial();
    const N: u64 = 50_000;
    let (obj, globals) = load_with_globals("events", &[]);
    let _link = obj.program("pb_event").unwrap().attach().expect("attach");
    let mut got = 0u64;
    let mut lost = 0u64;
    {
        let mut pb = PerfBuf::new(
            obj.map("pb").unwrap().fd(),
            PerfBufOptions {
                pages_per_cpu: 1,
                wakeup_events: 1,
            },
            |_cpu, _b| got += 1,
            |_cpu, n| lost += n,
        )
        .expect("perf buffer");
        getsid_n(N); // no consumer while producing: the 4 KiB rings overflow
        pb.consume();
        getsid_n(1); // a successful output after the overflow emits the lost record
        while pb.poll(Some(Duration::from_millis(20))).unwrap() > 0 {}
        let reported = pb.lost();
        drop(pb);
        assert_eq!(reported, lost);
    }
    let failed = global_u64(&obj, &globals, "output_failed");
    assert!(failed > 0);
    assert_eq!(lost, failed, "lost samples reported = outputs that failed");
    assert_eq!(got + failed, N + 1);
}

#[test]
fn boxed_callbacks_deliver_every_sample() {
    let _serial = serial();
    const N: u64 = 5_000;
    let (obj, globals) = load_with_globals("events", &[]);
    let _link = obj.program("pb_event").unwrap().attach().expect("attach");
    let mut seqs = Vec::new();
    let mut lost = 0;
    {
        // Type-erased readers share one type, whatever their callbacks.
        let mut readers: Vec<PerfBuf<'_>> = vec![PerfBuf::new(
            obj.map("pb").unwrap().fd(),
            PerfBufOptions::default(),
            |_cpu, b: &[u8]| seqs.push(parse_event(b).seq),
            |_cpu, n| lost += n,
        )
        .expect("perf buffer")
        .into_boxed()];
        getsid_n(N);
        for pb in &mut readers {
            pb.consume();
            while pb.poll(Some(Duration::from_millis(20))).unwrap() > 0 {}
        }
    }
    assert_eq!(global_u64(&obj, &globals, "output_failed"), 0);
    assert_eq!(lost, 0);
    assert_eq!(seqs.len() as u64, N);
    seqs.sort_unstable();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}
