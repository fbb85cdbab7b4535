//! Shared memory with the kernel: the BPF ring buffer and perf event rings.
//!
//! The readers here hand out borrowed record bytes; the pointer arithmetic and the
//! acquire/release ordering with the kernel's producer stay inside this module.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::{Error, Result};

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as usize
    } else {
        4096
    }
}

/// An owned `mmap` of a file descriptor, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory; all access to it goes through atomics or through
// reads of bytes the kernel has published (see the readers below).
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` at `offset`, shared, readable and, if `write`, writable.
    pub fn new(fd: BorrowedFd<'_>, len: usize, offset: usize, write: bool) -> Result<Mapping> {
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        // SAFETY: a fresh shared mapping chosen by the kernel (addr NULL); the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::Syscall {
                op: "mmap",
                source: io::Error::last_os_error(),
            });
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| Error::InvalidArgument {
            op: "mmap",
            problem: "the kernel returned a null mapping".into(),
        })?;
        Ok(Mapping { ptr, len })
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never, for mappings made by [`Mapping::new`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(
            off % 8 == 0 && off + 8 <= self.len,
            "u64 at {off} outside a {}-byte mapping",
            self.len
        );
        // SAFETY: in bounds and 8-byte aligned (checked above; the mapping is page aligned); the
        // memory lives as long as `self` and is only accessed atomically at this offset.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU64>() }
    }

    /// The address `off` bytes into the mapping, for readers that check their own bounds.
    fn at(&self, off: usize) -> *const u8 {
        assert!(
            off <= self.len,
            "offset {off} outside a {}-byte mapping",
            self.len
        );
        // SAFETY: at most one past the end of the mapping (checked above).
        unsafe { self.ptr.as_ptr().add(off) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; nothing borrows the mapping now.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

const RINGBUF_BUSY: u32 = 1 << 31;
const RINGBUF_DISCARD: u32 = 1 << 30;
const RINGBUF_HDR: usize = 8;

/// What one [`RingBufReader::consume`] call saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Consumed {
    /// Records handed to the callback.
    pub records: u64,
    /// Records the producer discarded (`bpf_ringbuf_discard`).
    pub discarded: u64,
}

/// The consumer side of a `BPF_MAP_TYPE_RINGBUF` map.
#[derive(Debug)]
pub struct RingBufReader {
    consumer: Mapping,
    producer: Mapping,
    mask: u64,
    size: usize,
    page: usize,
}

impl RingBufReader {
    /// Maps the ring buffer map `fd` whose `max_entries` (data size, a power of two) is `size`.
    pub fn new(fd: BorrowedFd<'_>, size: u32) -> Result<RingBufReader> {
        if !size.is_power_of_two() || size < 8 {
            return Err(Error::InvalidArgument {
                op: "ring buffer mmap",
                problem: format!("size {size} is not a power of two of at least 8"),
            });
        }
        let page = page_size();
        let consumer = Mapping::new(fd, page, 0, true)?;
        // The data pages are mapped twice in a row, so a record that wraps reads contiguously.
        let producer = Mapping::new(fd, page + 2 * size as usize, page, false)?;
        Ok(RingBufReader {
            consumer,
            producer,
            mask: u64::from(size) - 1,
            size: size as usize,
            page,
        })
    }

    /// Bytes published but not yet consumed.
    pub fn pending(&self) -> u64 {
        let cons = self.consumer.u64_at(0).load(Ordering::Acquire);
        let prod = self.producer.u64_at(0).load(Ordering::Acquire);
        prod.saturating_sub(cons)
    }

    /// Hands every committed record to `f`, in order, until the ring is empty, a record is still
    /// being written, or `f` returns `false`; publishes the new consumer position once.
    ///
    /// The producer position is read (acquire) once per pass over the published records and
    /// the consumer position written (release) once per call; each record's header is read
    /// with acquire ordering, which is what makes its bytes visible once its busy bit clears.
    #[inline]
    pub fn consume(&mut self, mut f: impl FnMut(&[u8]) -> bool) -> Consumed {
        let mut done = Consumed::default();
        let cons_pos = self.consumer.u64_at(0);
        let prod_pos = self.producer.u64_at(0);
        let start = cons_pos.load(Ordering::Relaxed);
        let mut cons = start;
        let mut prod = prod_pos.load(Ordering::Acquire);
        // The data area: `size` bytes mapped twice after the producer page.
        let data = self.producer.at(self.page);
        let size = self.size;
        if cons & 7 != 0 {
            // Positions are multiples of 8; anything else was not written by this reader.
            cons_pos.store(prod, Ordering::Release);
            return done;
        }
        'outer: loop {
            while cons < prod {
                let off = (cons & self.mask) as usize;
                // SAFETY: `off` is below `size` and a multiple of 8 (so is `cons`, checked on
                // entry and advanced in multiples of 8), so the 4-byte header lies within the
                // doubly mapped `2 * size` data bytes and is aligned. The kernel writes it
                // atomically; it is only read atomically here.
                let hdr = unsafe { &*data.add(off).cast::<AtomicU32>() }.load(Ordering::Acquire);
                if hdr & RINGBUF_BUSY != 0 {
                    break 'outer;
                }
                if prod - cons > PREFETCH_AHEAD as u64 {
                    prefetch(data, (off + PREFETCH_AHEAD) & (size - 1));
                }
                let len = (hdr & !(RINGBUF_BUSY | RINGBUF_DISCARD)) as usize;
                let total = (len + RINGBUF_HDR + 7) & !7;
                if len > size || total as u64 > prod - cons {
                    // Not a record the kernel could have committed: skip what is published
                    // rather than read outside it or loop.
                    cons = prod;
                    break 'outer;
                }
                let keep_going = if hdr & RINGBUF_DISCARD != 0 {
                    done.discarded += 1;
                    true
                } else {
                    done.records += 1;
                    // SAFETY: `off + 8 + len <= 2 * size` (off < size, len <= size), inside the
                    // double mapping; the producer committed these bytes (busy bit clear, read
                    // with acquire) and does not reuse them before the consumer position moves
                    // past them, which happens only after `f` returns.
                    f(unsafe { std::slice::from_raw_parts(data.add(off + RINGBUF_HDR), len) })
                };
                cons += total as u64;
                if !keep_going {
                    break 'outer;
                }
            }
            // Records may have been committed while we read; look once more before returning.
            let newer = prod_pos.load(Ordering::Acquire);
            if newer == prod {
                break;
            }
            prod = newer;
        }
        if cons != start {
            // Only a moved position is written: the producer reads this line on every reserve,
            // and a consumer polling an empty ring should not pull it away.
            cons_pos.store(cons, Ordering::Release);
        }
        done
    }
}

/// How far ahead of the record being read the readers ask for the ring's bytes. The kernel
/// wrote them, possibly long ago; a consumer that catches up on a full ring otherwise waits on
/// the hardware prefetcher, which stops at every page boundary. Only published bytes are
/// asked for: lines the producer is about to write would be pulled away from it.
const PREFETCH_AHEAD: usize = 2048;

/// Asks for the cache line at `data + off` (`off` inside the ring) to be brought in.
#[inline(always)]
fn prefetch(data: *const u8, off: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch hint reads nothing and never faults; `off` is inside the mapping.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            data.wrapping_add(off).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, off);
}

const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;

/// One record from a perf ring.
#[derive(Debug, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    /// A `PERF_SAMPLE_RAW` sample: the bytes the BPF program passed to `bpf_perf_event_output`.
    Sample(&'a [u8]),
    /// The kernel dropped this many samples because the ring was full.
    Lost(u64),
    /// Another record type, by number.
    Other(u32),
}

/// The reader of one CPU's perf event ring (`1 + 2^n` pages mapped from a perf event fd).
#[derive(Debug)]
pub struct PerfRing {
    map: Mapping,
    data_size: usize,
    page: usize,
    scratch: Vec<u8>,
}

impl PerfRing {
    /// Maps `data_pages` (a power of two) pages of ring after the control page.
    pub fn new(event: BorrowedFd<'_>, data_pages: usize) -> Result<PerfRing> {
        if !data_pages.is_power_of_two() {
            return Err(Error::InvalidArgument {
                op: "perf ring mmap",
                problem: format!("{data_pages} data pages is not a power of two"),
            });
        }
        let page = page_size();
        let map = Mapping::new(event, page * (data_pages + 1), 0, true)?;
        Ok(PerfRing {
            map,
            data_size: page * data_pages,
            page,
            scratch: Vec::new(),
        })
    }

    /// Whether unread records are waiting.
    pub fn has_data(&self) -> bool {
        let head = self.map.u64_at(DATA_HEAD).load(Ordering::Acquire);
        let tail = self.map.u64_at(DATA_TAIL).load(Ordering::Relaxed);
        head != tail
    }

    /// Hands every record to `f` in order and publishes the new tail once; returns the count.
    ///
    /// `data_head` is read (acquire) once and `data_tail` written (release) once per call, as
    /// the perf ring protocol allows; records are handed out in place, and only one that wraps
    /// around the ring end is copied (into a buffer kept between calls).
    #[inline]
    pub fn consume(&mut self, mut f: impl FnMut(PerfRecord<'_>)) -> u64 {
        let head = self.map.u64_at(DATA_HEAD).load(Ordering::Acquire);
        let start = self.map.u64_at(DATA_TAIL).load(Ordering::Relaxed);
        let mut tail = start;
        let size = self.data_size;
        let mask = size - 1;
        let data = self.map.at(self.page);
        let mut n = 0;
        if head.wrapping_sub(tail) > size as u64 {
            // More published than the ring holds (or a tail past the head): not a state the
            // kernel leaves a non-overwriting ring in. Skip it rather than read garbage.
            self.map.u64_at(DATA_TAIL).store(head, Ordering::Release);
            return 0;
        }
        while tail != head {
            let off = tail as usize & mask;
            let (ty, rec) = if off + 8 <= size {
                // SAFETY: `off + 8 <= size`: inside the data pages; published bytes (below
                // `head`, read with acquire) that the kernel leaves alone until the tail moves.
                unsafe {
                    (
                        data.add(off).cast::<u32>().read_unaligned(),
                        usize::from(data.add(off + 6).cast::<u16>().read_unaligned()),
                    )
                }
            } else {
                self.wrapped_header(off)
            };
            if head - tail > PREFETCH_AHEAD as u64 {
                prefetch(data, (off + PREFETCH_AHEAD) & mask);
            }
            if rec < 8 || rec as u64 > head - tail {
                // A corrupt header: skip everything published so far rather than loop.
                tail = head;
                break;
            }
            if off + rec <= size {
                // The common case: the record does not wrap, so hand out the ring's bytes.
                // SAFETY: `off + rec <= size`: inside the data pages; published and stable
                // until the tail moves, which happens after `f` returns.
                let body = unsafe { std::slice::from_raw_parts(data.add(off + 8), rec - 8) };
                Self::deliver(ty, body, &mut f);
            } else {
                self.deliver_wrapped((off + 8) & mask, ty, rec - 8, &mut f);
            }
            tail += rec as u64;
            n += 1;
        }
        if tail != start {
            self.map.u64_at(DATA_TAIL).store(tail, Ordering::Release);
        }
        n
    }

    /// The type and size of a record whose header the ring end splits.
    #[cold]
    fn wrapped_header(&self, off: usize) -> (u32, usize) {
        let mut hdr = [0u8; 8];
        self.copy_out(off, &mut hdr);
        (
            u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]),
            usize::from(u16::from_ne_bytes([hdr[6], hdr[7]])),
        )
    }

    /// Hands over a record whose body the ring end splits, copied whole into the scratch
    /// buffer.
    #[cold]
    #[inline(never)]
    fn deliver_wrapped(
        &mut self,
        off: usize,
        ty: u32,
        len: usize,
        f: &mut impl FnMut(PerfRecord<'_>),
    ) {
        let mut body = std::mem::take(&mut self.scratch);
        body.resize(len, 0);
        self.copy_out(off, &mut body);
        Self::deliver(ty, &body, f);
        self.scratch = body;
    }

    #[inline(always)]
    fn deliver(ty: u32, body: &[u8], f: &mut impl FnMut(PerfRecord<'_>)) {
        match (ty, body) {
            (PERF_RECORD_SAMPLE, [a, b, c, d, raw @ ..]) => {
                let len = u32::from_ne_bytes([*a, *b, *c, *d]) as usize;
                f(PerfRecord::Sample(raw.get(..len).unwrap_or(raw)));
            }
            (PERF_RECORD_LOST, [_, _, _, _, _, _, _, _, l0, l1, l2, l3, l4, l5, l6, l7, ..]) => {
                f(PerfRecord::Lost(u64::from_ne_bytes([
                    *l0, *l1, *l2, *l3, *l4, *l5, *l6, *l7,
                ])));
            }
            (other, _) => f(PerfRecord::Other(other)),
        }
    }

    /// Copies `out.len()` (at most the ring size) ring bytes from data offset `off`, wrapping
    /// at the end.
    #[cold]
    fn copy_out(&self, off: usize, out: &mut [u8]) {
        let first = out.len().min(self.data_size - off);
        let rest = (out.len() - first).min(off);
        let data = self.map.at(self.page);
        // SAFETY: `off + first <= data_size` and `rest <= off < data_size`: both pieces lie in
        // the data pages, and `first + rest <= out.len()`; published bytes, as in `consume`.
        unsafe {
            std::ptr::copy_nonoverlapping(data.add(off), out.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(data, out.as_mut_ptr().add(first), rest);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The readers on rings laid out in a memfd as the kernel lays them out, for the states a
    //! kernel producer does not readily produce: records and headers split by the ring end at
    //! chosen offsets, busy and discarded records, and corrupt positions and headers.

    use std::fs::File;
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::FileExt;

    use super::*;

    fn memfd(len: usize) -> File {
        // SAFETY: a valid C string; the result is checked before use.
        let fd = unsafe { libc::memfd_create(c"mmap-test".as_ptr(), 0) };
        assert!(fd >= 0, "memfd_create: {}", io::Error::last_os_error());
        // SAFETY: a fresh descriptor owned by nothing else.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        file.set_len(len as u64).expect("size the memfd");
        file
    }

    fn put_u64(f: &File, off: usize, v: u64) {
        f.write_all_at(&v.to_ne_bytes(), off as u64).expect("write");
    }

    /// A perf record: header (type, misc 0, size) and body.
    fn perf_record(ty: u32, body: &[u8]) -> Vec<u8> {
        let mut r = ty.to_ne_bytes().to_vec();
        r.extend_from_slice(&0u16.to_ne_bytes());
        r.extend_from_slice(&((8 + body.len()) as u16).to_ne_bytes());
        r.extend_from_slice(body);
        r
    }

    /// A `PERF_SAMPLE_RAW` body: u32 size, the bytes, zero padding to 8 bytes after the size.
    fn raw_sample(bytes: &[u8]) -> Vec<u8> {
        let raw = (4 + bytes.len()).next_multiple_of(8) - 4;
        let mut b = (raw as u32).to_ne_bytes().to_vec();
        b.extend_from_slice(bytes);
        b.resize(4 + raw, 0);
        b
    }

    /// Writes `records` into a one-page perf ring starting at position `start` (wrapping at
    /// the end), sets the tail to `start` and the head past them; returns the reader and file.
    fn perf_ring(start: u64, records: &[Vec<u8>]) -> (PerfRing, File) {
        let page = page_size();
        let f = memfd(2 * page);
        let mut pos = start;
        for r in records {
            for (i, b) in r.iter().enumerate() {
                let off = page + ((pos as usize + i) % page);
                f.write_all_at(&[*b], off as u64).expect("write");
            }
            pos += r.len() as u64;
        }
        put_u64(&f, DATA_TAIL, start);
        put_u64(&f, DATA_HEAD, pos);
        (PerfRing::new(f.as_fd(), 1).expect("map"), f)
    }

    fn collect(ring: &mut PerfRing) -> (Vec<String>, u64) {
        let mut seen = Vec::new();
        let n = ring.consume(|r| {
            seen.push(match r {
                PerfRecord::Sample(b) => format!("sample {b:?}"),
                PerfRecord::Lost(n) => format!("lost {n}"),
                PerfRecord::Other(t) => format!("other {t}"),
            })
        });
        (seen, n)
    }

    fn tail(f: &File) -> u64 {
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, DATA_TAIL as u64).expect("read");
        u64::from_ne_bytes(b)
    }

    #[test]
    fn perf_records_in_order_with_lost_and_other_records() {
        let lost = [7u64.to_ne_bytes(), 3u64.to_ne_bytes()].concat();
        let recs = [
            perf_record(PERF_RECORD_SAMPLE, &raw_sample(&[1, 2, 3])),
            perf_record(PERF_RECORD_LOST, &lost),
            perf_record(PERF_RECORD_SAMPLE, &raw_sample(&[9; 12])),
            perf_record(17, &[0; 8]),
        ];
        let (mut ring, f) = perf_ring(64, &recs);
        assert!(ring.has_data());
        let (seen, n) = collect(&mut ring);
        // The raw size word counts the padding the kernel adds, so samples carry it.
        assert_eq!(
            seen,
            [
                "sample [1, 2, 3, 0]".to_string(),
                "lost 3".into(),
                format!("sample {:?}", [9u8; 12]),
                "other 17".into()
            ]
        );
        assert_eq!(n, 4);
        assert_eq!(
            tail(&f),
            64 + recs.iter().map(|r| r.len() as u64).sum::<u64>()
        );
        assert!(!ring.has_data());
        assert_eq!(collect(&mut ring), (vec![], 0));
    }

    #[test]
    fn perf_records_split_by_the_ring_end_arrive_whole() {
        let page = page_size() as u64;
        let body: Vec<u8> = (0..36).collect();
        let rec = perf_record(PERF_RECORD_SAMPLE, &raw_sample(&body));
        // Body split (header just before the end), header split, and a record ending exactly
        // at the end, over many laps of the ring.
        for start in [page - 8, page - 4, page - 48, 5 * page - 16, (1 << 40) - 24] {
            let (mut ring, f) = perf_ring(start, &[rec.clone(), rec.clone()]);
            let (seen, n) = collect(&mut ring);
            let want = format!("sample {body:?}");
            assert_eq!(seen, [want.clone(), want], "start {start}");
            assert_eq!(n, 2);
            assert_eq!(tail(&f), start + 2 * rec.len() as u64);
        }
    }

    #[test]
    fn corrupt_perf_headers_and_positions_are_skipped() {
        let page = page_size() as u64;
        let good = perf_record(PERF_RECORD_SAMPLE, &raw_sample(&[5; 4]));
        // A header smaller than itself, then a good record that must not be read as one.
        let mut zero = good.clone();
        zero[6..8].copy_from_slice(&4u16.to_ne_bytes());
        let (mut ring, f) = perf_ring(0, &[zero, good.clone()]);
        assert_eq!(collect(&mut ring), (vec![], 0));
        assert_eq!(tail(&f), 2 * good.len() as u64);
        // A size beyond what was published.
        let (mut ring, f) = perf_ring(8, &[good[..good.len() - 8].to_vec()]);
        assert_eq!(collect(&mut ring), (vec![], 0));
        assert_eq!(tail(&f), 8 + good.len() as u64 - 8);
        // More published than the ring holds, and a head behind the tail.
        for (t, h) in [(0, page + 8), (100, 50)] {
            let (mut ring, f) = perf_ring(0, &[]);
            put_u64(&f, DATA_TAIL, t);
            put_u64(&f, DATA_HEAD, h);
            assert_eq!(collect(&mut ring), (vec![], 0));
            assert_eq!(tail(&f), h);
        }
    }

    /// A ring buffer of `size` data bytes in a memfd: consumer page, producer page, data. The
    /// kernel maps the data twice for records that wrap; these tests keep records unwrapped.
    fn ring_buffer(size: usize, records: &[(u32, Vec<u8>)], cons: u64) -> (RingBufReader, File) {
        let page = page_size();
        let f = memfd(2 * page + 2 * size);
        let mut pos = cons;
        for (flags, body) in records {
            let off = 2 * page + (pos as usize % size);
            let hdr = (body.len() as u32) | flags;
            f.write_all_at(&hdr.to_ne_bytes(), off as u64)
                .expect("write");
            f.write_all_at(body, off as u64 + 8).expect("write");
            pos += (8 + body.len()).next_multiple_of(8) as u64;
        }
        put_u64(&f, 0, cons);
        put_u64(&f, page, pos);
        (RingBufReader::new(f.as_fd(), size as u32).expect("map"), f)
    }

    fn consumer_pos(f: &File) -> u64 {
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, 0).expect("read");
        u64::from_ne_bytes(b)
    }

    #[test]
    fn ring_buffer_discarded_busy_and_stopped_records() {
        let recs = [
            (0, vec![1u8, 2, 3]),
            (RINGBUF_DISCARD, vec![0; 16]),
            (0, vec![4; 8]),
            (RINGBUF_BUSY, vec![0; 8]),
            (0, vec![5; 8]),
        ];
        let (mut rb, f) = ring_buffer(1 << 12, &recs, 24);
        let mut seen = Vec::new();
        let done = rb.consume(|r| {
            seen.push(r.to_vec());
            true
        });
        // The busy record ends the pass; nothing after it is read, and it stays pending.
        assert_eq!(seen, [vec![1u8, 2, 3], vec![4; 8]]);
        assert_eq!(
            done,
            Consumed {
                records: 2,
                discarded: 1
            }
        );
        assert_eq!(consumer_pos(&f), 24 + 16 + 24 + 16);
        assert_eq!(rb.pending(), 16 + 16);

        // A callback that stops: the consumer position stays right after its record.
        let (mut rb, f) = ring_buffer(1 << 12, &recs[..3], 0);
        let done = rb.consume(|_| false);
        assert_eq!(done.records, 1);
        assert_eq!(consumer_pos(&f), 16);
    }

    #[test]
    fn corrupt_ring_buffer_lengths_and_positions_are_skipped() {
        // A length past what was published, and one larger than the ring.
        for len in [64u32, (1 << 12) + 8] {
            let (mut rb, f) = ring_buffer(1 << 12, &[(0, vec![1; 8])], 0);
            f.write_all_at(&len.to_ne_bytes(), 2 * page_size() as u64)
                .expect("write");
            let done = rb.consume(|_| true);
            assert_eq!(done, Consumed::default());
            assert_eq!(consumer_pos(&f), 16, "length {len}");
        }
        // A consumer position that is not a multiple of 8.
        let (mut rb, f) = ring_buffer(1 << 12, &[(0, vec![1; 8])], 0);
        put_u64(&f, 0, 3);
        assert_eq!(rb.consume(|_| true), Consumed::default());
        assert_eq!(consumer_pos(&f), 16);
        assert!(RingBufReader::new(f.as_fd(), 3000).is_err());
    }
}
