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
        let mut cons = cons_pos.load(Ordering::Relaxed);
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
                prefetch(data, (off + PREFETCH_AHEAD) & (size - 1));
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
        cons_pos.store(cons, Ordering::Release);
        done
    }
}

/// How far ahead of the record being read the readers ask for the ring's bytes. The kernel
/// wrote them, possibly long ago; a consumer that catches up on a full ring otherwise waits on
/// the hardware prefetcher, which stops at every page boundary.
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
        let tail_pos = self.map.u64_at(DATA_TAIL);
        let head = self.map.u64_at(DATA_HEAD).load(Ordering::Acquire);
        let mut tail = tail_pos.load(Ordering::Relaxed);
        let size = self.data_size;
        let mask = size - 1;
        let data = self.map.at(self.page);
        let mut n = 0;
        if head.wrapping_sub(tail) > size as u64 {
            // More published than the ring holds (or a tail past the head): not a state the
            // kernel leaves a non-overwriting ring in. Skip it rather than read garbage.
            tail_pos.store(head, Ordering::Release);
            return 0;
        }
        while tail != head {
            let off = tail as usize & mask;
            let mut hdr = [0u8; 8];
            if off + 8 <= size {
                // SAFETY: `off + 8 <= size`: inside the data pages; published bytes (below
                // `head`, read with acquire) that the kernel leaves alone until the tail moves.
                hdr = unsafe { data.add(off).cast::<[u8; 8]>().read() };
            } else {
                self.copy_out(off, &mut hdr);
            }
            prefetch(data, (off + PREFETCH_AHEAD) & mask);
            let ty = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let rec = u16::from_ne_bytes([hdr[6], hdr[7]]) as usize;
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
                let mut body = std::mem::take(&mut self.scratch);
                body.resize(rec - 8, 0);
                self.copy_out((off + 8) & mask, &mut body);
                Self::deliver(ty, &body, &mut f);
                self.scratch = body;
            }
            tail += rec as u64;
            n += 1;
        }
        tail_pos.store(tail, Ordering::Release);
        n
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
