//! Event throughput benchmark, the same job as the libbpf peer `evbench`: N `getppid()` calls
//! from a producer pinned to CPU 0; the BPF program (tracepoint sys_enter_getppid, this
//! process only) emits a 32-byte event into a ring buffer or perf buffer; a consumer thread
//! pinned to CPU 1 drains it.
//!
//! usage: evbench MODE N [SIZE [OBJECT]]   (OBJECT defaults to ./evbench.bpf.o)
//!   MODE: none | count | rb | pb | rb-busy | pb-busy | rb-nowake | pb-w64 | rb-drain | pb-drain
//!   SIZE: as the peer's third argument, the buffer size: data pages per CPU for the perf
//!         buffer modes (default 64); for the ring buffer modes the map's size, which is the
//!         object's 4 MiB (maps are not resized before load, so another size is an error).
//!         0 means the default.
//! Output lines match the peer's, so run.sh can compare them field by field.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use corebpf::perfbuf::{PerfBuf, PerfBufOptions};
use corebpf::ringbuf::RingBuf;
use corebpf::{GlobalVar, Object, OpenObject};

fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_setaffinity reads `set` only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn getppid() {
    // SAFETY: getppid has no arguments.
    unsafe { libc::getppid() };
}

/// What the consumer saw. Cells, so that the record and lost-sample callbacks and the loop
/// around them share it without a run-time borrow check (the peer keeps these in globals).
struct Tally {
    received: Cell<u64>,
    lost: Cell<u64>,
    misordered: Cell<u64>,
    last_seq: Cell<u64>,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            received: Cell::new(0),
            lost: Cell::new(0),
            misordered: Cell::new(0),
            last_seq: Cell::new(u64::MAX),
        }
    }
}

impl Tally {
    #[inline]
    fn got(&self, rec: &[u8]) {
        let seq = rec
            .get(16..24)
            .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])));
        let last = self.last_seq.get();
        if last != u64::MAX && seq != last.wrapping_add(1) {
            self.misordered.set(self.misordered.get() + 1);
        }
        self.last_seq.set(seq);
        self.received.set(self.received.get() + 1);
    }

    fn add_lost(&self, n: u64) {
        self.lost.set(self.lost.get() + n);
    }
}

fn global(obj: &Object, globals: &[GlobalVar], name: &str) -> u64 {
    let Some(g) = globals.iter().find(|g| g.name == name) else {
        return 0;
    };
    let Some(m) = obj
        .maps()
        .iter()
        .find(|m| m.section() == Some(g.section.as_str()))
    else {
        return 0;
    };
    let Ok(Some(v)) = m.lookup(&0u32.to_ne_bytes()) else {
        return 0;
    };
    let off = g.offset as usize;
    v.get(off..off + 8)
        .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
}

fn secs(t: Instant, base: Instant) -> f64 {
    t.duration_since(base).as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: {} none|count|rb|pb|rb-busy|pb-busy|rb-nowake|pb-w64|rb-drain|pb-drain N [size [object]]", args[0]);
        std::process::exit(1);
    }
    let mode = args[1].as_str();
    let n: u64 = args[2].parse()?;
    let size: u64 = match args.get(3) {
        Some(s) => s.parse().map_err(|e| format!("size {s:?}: {e}"))?,
        None => 0,
    };
    let object = args.get(4).map_or("evbench.bpf.o", String::as_str);
    let drain = mode.contains("drain");
    let use_rb = mode.starts_with("rb");
    let use_pb = mode.starts_with("pb");
    let use_count = mode == "count";
    let busy = mode.contains("busy") || mode.contains("nowake");
    pin(0);

    let mut loaded: Option<(Object, Vec<GlobalVar>)> = None;
    let mut _link = None;
    if use_rb || use_pb || use_count {
        let mut open = OpenObject::open(object)?;
        open.set_global("target_pid", &(std::process::id() as i32).to_ne_bytes())?;
        let globals = open.globals().to_vec();
        let obj = open.load()?;
        let pname = if mode == "rb-nowake" || mode == "rb-drain" {
            "tp_rb_nw"
        } else if use_rb {
            "tp_rb"
        } else if use_pb {
            "tp_pb"
        } else {
            "tp_count"
        };
        _link = Some(obj.program(pname).ok_or("program missing")?.attach()?);
        loaded = Some((obj, globals));
    }
    let rb_bytes = match &loaded {
        Some((obj, _)) if use_rb => u64::from(obj.map("rb").ok_or("rb map")?.max_entries()),
        _ => 0,
    };
    if use_rb && size != 0 && size != rb_bytes {
        return Err(format!(
            "ring buffer size {size}: the map is the object's {rb_bytes} bytes (maps are not resized before load)"
        )
        .into());
    }
    let pb_pages = if size == 0 { 64 } else { size as usize };
    let buf_size = if use_rb {
        rb_bytes
    } else if use_pb {
        pb_pages as u64
    } else {
        0
    };
    let pb_opts = PerfBufOptions {
        pages_per_cpu: pb_pages,
        wakeup_events: match mode {
            "pb-w64" => 64,
            "pb-drain" => 1 << 30,
            _ => 1,
        },
    };

    let done = AtomicBool::new(false);
    let t_last_ns = AtomicU64::new(0);
    let t0 = Instant::now();
    let start_ns = AtomicU64::new(0);
    let (t_prod_scope, tally) = std::thread::scope(
        |s| -> Result<(f64, Tally), Box<dyn std::error::Error + Send + Sync>> {
            let consumer = if (use_rb || use_pb) && !drain {
                let (obj, globals) = loaded.as_ref().ok_or("no object")?;
                let done = &done;
                let t_last_ns = &t_last_ns;
                Some(s.spawn(move || -> Result<Tally, String> {
                    pin(1);
                    let t = Tally::default();
                    let mut rb = None;
                    let mut pb = None;
                    if use_rb {
                        let map = obj.map("rb").ok_or("rb map")?;
                        rb = Some(
                            RingBuf::new(map.fd(), |r: &[u8]| t.got(r))
                                .map_err(|e| e.to_string())?,
                        );
                    } else {
                        let map = obj.map("pb").ok_or("pb map")?;
                        pb = Some(
                            PerfBuf::new(
                                map.fd(),
                                pb_opts,
                                |_c, r: &[u8]| t.got(r),
                                |_c, l| t.add_lost(l),
                            )
                            .map_err(|e| e.to_string())?,
                        );
                    }
                    let mut idle_since: Option<Instant> = None;
                    loop {
                        let got = match (&mut rb, &mut pb) {
                            (Some(rb), _) if busy => rb.consume(),
                            (Some(rb), _) => rb
                                .poll(Some(Duration::from_millis(10)))
                                .map_err(|e| e.to_string())?,
                            (None, Some(pb)) if busy => pb.consume(),
                            (None, Some(pb)) => pb
                                .poll(Some(Duration::from_millis(10)))
                                .map_err(|e| e.to_string())?,
                            _ => 0,
                        };
                        if got > 0 {
                            t_last_ns.store(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                            idle_since = None;
                        }
                        let (received, lost) = (t.received.get(), t.lost.get());
                        if received + lost >= n {
                            break;
                        }
                        if done.load(Ordering::Acquire) {
                            if received + lost + global(obj, globals, "drops") >= n {
                                break;
                            }
                            match idle_since {
                                None => idle_since = Some(Instant::now()),
                                Some(t) if t.elapsed() > Duration::from_secs(1) => break,
                                _ => {}
                            }
                        }
                    }
                    drop(rb);
                    drop(pb);
                    Ok(t)
                }))
            } else {
                None
            };
            if drain {
                return Ok((0.0, Tally::default()));
            }
            std::thread::sleep(Duration::from_millis(100));
            let start = t0.elapsed();
            start_ns.store(start.as_nanos() as u64, Ordering::Relaxed);
            let p0 = Instant::now();
            for _ in 0..n {
                getppid();
            }
            let t_prod = p0.elapsed().as_secs_f64();
            done.store(true, Ordering::Release);
            let t = match consumer {
                Some(h) => h.join().map_err(|_| "consumer panicked")??,
                None => Tally::default(),
            };
            Ok((t_prod, t))
        },
    )
    .map_err(|e| e.to_string())?;

    let bss = |name: &str| loaded.as_ref().map_or(0, |(o, g)| global(o, g, name));
    if drain {
        let (obj, _) = loaded.as_ref().ok_or("no object")?;
        let produce = || {
            std::thread::sleep(Duration::from_millis(100));
            let p0 = Instant::now();
            for _ in 0..n {
                getppid();
            }
            p0.elapsed().as_secs_f64()
        };
        // The reader exists before producing (the perf rings must), as in the peer.
        let (t_prod, dt) = if use_rb {
            let mut rb = RingBuf::new(obj.map("rb").ok_or("rb")?.fd(), |r: &[u8]| tally.got(r))?;
            let t_prod = produce();
            let d0 = Instant::now();
            rb.consume();
            (t_prod, d0.elapsed().as_secs_f64())
        } else {
            let mut pb = PerfBuf::new(
                obj.map("pb").ok_or("pb")?.fd(),
                pb_opts,
                |_c, r: &[u8]| tally.got(r),
                |_c, l| tally.add_lost(l),
            )?;
            let t_prod = produce();
            let d0 = Instant::now();
            pb.consume();
            (t_prod, d0.elapsed().as_secs_f64())
        };
        let t = &tally;
        let _ = t_prod_scope;
        println!(
            "mode={mode:<7} N={n} producer(no consumer running): {:.1} ns/syscall | drain: received={} drops(bpf)={} lost(perf)={} misordered={} in {:.3} ms = {:.1} ns/event ({:.1} M events/s) user-space consume only | size={buf_size}",
            t_prod / n as f64 * 1e9,
            t.received.get(),
            bss("drops"),
            t.lost.get(),
            t.misordered.get(),
            dt * 1e3,
            dt / t.received.get().max(1) as f64 * 1e9,
            t.received.get() as f64 / dt / 1e6
        );
        return Ok(());
    }
    let t_prod = t_prod_scope;
    let drops = bss("drops");
    let cnt = bss("count");
    let buf = if use_rb {
        "rb"
    } else if use_pb {
        "pb"
    } else {
        "-"
    };
    print!(
        "mode={mode:<7} N={n} buf={buf} | producer: {:.1} ns/syscall ({:.2} M syscalls/s)",
        t_prod / n as f64 * 1e9,
        n as f64 / t_prod / 1e6
    );
    if use_count {
        print!(" | bpf count={cnt}");
    }
    if use_rb || use_pb {
        let start = Duration::from_nanos(start_ns.load(Ordering::Relaxed));
        let last = Duration::from_nanos(t_last_ns.load(Ordering::Relaxed));
        let span = secs(t0 + last, t0 + start);
        println!(
            " | consumer: received={} drops(bpf)={drops} lost(perf)={} misordered={}, {:.3} M events/s delivered ({:.1} ns/event, span {:.3} s) | size={buf_size}",
            tally.received.get(),
            tally.lost.get(),
            tally.misordered.get(),
            tally.received.get() as f64 / span / 1e6,
            span / tally.received.get().max(1) as f64 * 1e9,
            span,
        );
    } else {
        println!(" | size=0");
    }
    Ok(())
}
