//! User-space consume cost of the event readers on synthetic rings, without a kernel producer:
//! a perf event ring and a BPF ring buffer laid out in a memfd exactly as the kernel lays them
//! out (control page(s), then records), filled once and consumed again and again by rewinding
//! the consumer position. Prints the median and minimum ns per record over the rounds.
//!
//! usage: evdrain [ROUNDS] [EVENT_BYTES]   (defaults 200 rounds, 32-byte events)

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use corebpf::perfbuf::SampleFn;
use corebpf_sys::mmap::{page_size, PerfRecord, PerfRing, RingBufReader};

/// A shared writable mapping of the whole memfd, for filling records and rewinding positions.
struct Raw {
    ptr: *mut u8,
    len: usize,
}

impl Raw {
    fn new(fd: &OwnedFd, len: usize) -> Raw {
        // SAFETY: a fresh shared mapping of a memfd of at least `len` bytes; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap memfd");
        Raw {
            ptr: ptr.cast(),
            len,
        }
    }

    fn put(&self, off: usize, bytes: &[u8]) {
        assert!(off + bytes.len() <= self.len);
        // SAFETY: in bounds (checked above); nothing reads these bytes concurrently.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(off), bytes.len()) }
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(off % 8 == 0 && off + 8 <= self.len);
        // SAFETY: in bounds and aligned (checked above; the mapping is page aligned).
        unsafe { &*self.ptr.add(off).cast::<AtomicU64>() }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: exactly the region mmap returned.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn memfd(len: usize) -> OwnedFd {
    // SAFETY: the name is a valid C string; the result is checked.
    let fd = unsafe { libc::memfd_create(c"evdrain".as_ptr(), 0) };
    assert!(fd >= 0, "memfd_create");
    // SAFETY: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain ftruncate on our descriptor.
    let r = unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) };
    assert_eq!(r, 0, "ftruncate");
    fd
}

fn event(seq: u64, bytes: usize) -> Vec<u8> {
    let mut e = vec![0u8; bytes];
    e[16..24].copy_from_slice(&seq.to_ne_bytes());
    e
}

#[derive(Default)]
struct Tally {
    received: u64,
    last: u64,
    misordered: u64,
}

impl Tally {
    #[inline]
    fn got(&mut self, rec: &[u8]) {
        let seq = rec
            .get(16..24)
            .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])));
        if seq != self.last.wrapping_add(1) {
            self.misordered += 1;
        }
        self.last = seq;
        self.received += 1;
    }
}

fn report(what: &str, per_record: &mut [f64], records: u64) {
    per_record.sort_by(f64::total_cmp);
    println!(
        "{what:<28} {records:>6} records/round  median {:6.2} ns/record  min {:6.2}",
        per_record[per_record.len() / 2],
        per_record[0]
    );
}

fn perf_ring(rounds: usize, ev_bytes: usize) {
    let page = page_size();
    let pages = 64;
    let data = page * pages;
    let fd = memfd(page + data);
    let raw = Raw::new(&fd, page + data);
    // PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW: header, u32 size, the bytes padded to 8.
    let raw_size = (4 + ev_bytes).next_multiple_of(8) - 4;
    let rec_size = 8 + 4 + raw_size;
    let count = data / rec_size;
    let mut off = 0;
    for i in 0..count {
        let mut rec = Vec::with_capacity(rec_size);
        rec.extend_from_slice(&9u32.to_ne_bytes());
        rec.extend_from_slice(&0u16.to_ne_bytes());
        rec.extend_from_slice(&(rec_size as u16).to_ne_bytes());
        rec.extend_from_slice(&(raw_size as u32).to_ne_bytes());
        rec.extend_from_slice(&event(i as u64 + 1, raw_size));
        raw.put(page + off, &rec);
        off += rec_size;
    }
    raw.u64_at(1024).store(off as u64, Ordering::Release);
    let mut ring = PerfRing::new(fd.as_fd(), pages).expect("perf ring");
    let mut ns = Vec::with_capacity(rounds);
    let mut t = Tally::default();
    for _ in 0..rounds {
        raw.u64_at(1032).store(0, Ordering::Release);
        t.last = 0;
        let t0 = Instant::now();
        ring.consume(|rec| match rec {
            PerfRecord::Sample(b) => t.got(b),
            PerfRecord::Lost(_) | PerfRecord::Other(_) => {}
        });
        ns.push(t0.elapsed().as_nanos() as f64 / count as f64);
    }
    assert_eq!(t.received, (count * rounds) as u64);
    assert_eq!(t.misordered, 0);
    report("PerfRing::consume", &mut ns, count as u64);

    // The same through a boxed callback, as a type-erased consumer would call it.
    let mut ns = Vec::with_capacity(rounds);
    let mut t = Tally::default();
    {
        let mut cb: SampleFn<'_> = Box::new(|_cpu, b| t.got(b));
        for _ in 0..rounds {
            raw.u64_at(1032).store(0, Ordering::Release);
            let t0 = Instant::now();
            ring.consume(|rec| {
                if let PerfRecord::Sample(b) = rec {
                    cb(0, b)
                }
            });
            ns.push(t0.elapsed().as_nanos() as f64 / count as f64);
        }
    }
    assert_eq!(t.received, (count * rounds) as u64);
    report("PerfRing::consume, dyn FnMut", &mut ns, count as u64);
}

fn ring_buffer(rounds: usize, ev_bytes: usize) {
    let page = page_size();
    let size = 1usize << 22;
    let fd = memfd(2 * page + 2 * size);
    let raw = Raw::new(&fd, 2 * page + size);
    let rec_size = (8 + ev_bytes).next_multiple_of(8);
    let count = size / rec_size;
    let mut off = 0;
    for i in 0..count {
        let mut rec = Vec::with_capacity(rec_size);
        rec.extend_from_slice(&(ev_bytes as u32).to_ne_bytes());
        rec.extend_from_slice(&0u32.to_ne_bytes());
        rec.extend_from_slice(&event(i as u64 + 1, rec_size - 8));
        raw.put(2 * page + off, &rec);
        off += rec_size;
    }
    raw.u64_at(page).store(off as u64, Ordering::Release);
    let mut rb = RingBufReader::new(fd.as_fd(), size as u32).expect("ring buffer");
    let mut ns = Vec::with_capacity(rounds);
    let mut t = Tally::default();
    for _ in 0..rounds {
        raw.u64_at(0).store(0, Ordering::Release);
        t.last = 0;
        let t0 = Instant::now();
        rb.consume(|rec| {
            t.got(rec);
            true
        });
        ns.push(t0.elapsed().as_nanos() as f64 / count as f64);
    }
    assert_eq!(t.received, (count * rounds) as u64);
    assert_eq!(t.misordered, 0);
    report("RingBufReader::consume", &mut ns, count as u64);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let ev_bytes: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(32);
    assert!(
        ev_bytes >= 24,
        "events carry a sequence number at bytes 16..24"
    );
    perf_ring(rounds, ev_bytes);
    ring_buffer(rounds.div_ceil(10), ev_bytes);
}
