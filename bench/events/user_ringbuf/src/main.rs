//! corebpf's side of bench/events/user_ringbuf.sh: produces N samples of SIZE bytes into the
//! user ring buffer of tests/bpf/user_ringbuf.bpf.c with `UserRingBuf::reserve`/`submit`,
//! draining with BPF_PROG_TEST_RUN of its syscall program whenever the ring is full, exactly as
//! the libbpf peer (user_ringbuf_peer.c) does. Prints the same line as the peer.
//!
//! usage: corebpf-user-ringbuf-bench OBJECT N SIZE

use std::time::{Duration, Instant};

use corebpf::user_ringbuf::UserRingBuf;
use corebpf::OpenObject;
use corebpf_sys::bpf;

fn main() {
    if let Err(e) = run() {
        eprintln!("corebpf-user-ringbuf-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, object, n, size] = args.as_slice() else {
        return Err("usage: corebpf-user-ringbuf-bench OBJECT N SIZE".into());
    };
    let n: u64 = n.parse()?;
    let size: usize = size.parse()?;
    if !(8..=8 + 256).contains(&size) {
        return Err("SIZE must be 8..264".into());
    }
    let payload = (size - 8) as u32;
    let obj = OpenObject::open(object)?.load()?;
    let prog = obj
        .program("drain_user_rb")
        .ok_or("no program drain_user_rb")?;
    let map = obj.map("user_rb").ok_or("no map user_rb")?;
    let rb = UserRingBuf::new(map)?;
    let mut in_drain = Duration::ZERO;
    let mut drain = || -> Result<u64, corebpf_sys::Error> {
        let t0 = Instant::now();
        let r = bpf::prog_test_run(prog.fd(), &[], None, 0)?;
        in_drain += t0.elapsed();
        Ok(u64::from(r.retval))
    };
    let (mut drained, mut drains) = (0u64, 0u64);
    let t0 = Instant::now();
    for i in 0..n {
        let mut s = match rb.reserve(size)? {
            Some(s) => s,
            None => {
                drained += drain()?;
                drains += 1;
                rb.reserve(size)?.ok_or("no room after a drain")?
            }
        };
        s[0..4].copy_from_slice(&(i as u32).to_ne_bytes());
        s[4..8].copy_from_slice(&payload.to_ne_bytes());
        s[8..].fill(i as u8);
        s.submit();
    }
    drained += drain()?;
    drains += 1;
    let total = t0.elapsed();
    if drained != n {
        return Err(format!("the BPF side drained {drained} of {n} samples").into());
    }
    let ns = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "corebpf: {n} samples of {size} bytes, drained={drained} in {drains} drains, producer: \
         {:.1} ns/sample, drain: {:.1} ns/sample, total {:.3} M samples/s",
        ns(total - in_drain),
        ns(in_drain),
        n as f64 / total.as_secs_f64() / 1e6
    );
    Ok(())
}
