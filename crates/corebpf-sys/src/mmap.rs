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

    fn u32_at(&self, off: usize) -> &AtomicU32 {
        assert!(
            off % 4 == 0 && off + 4 <= self.len,
            "u32 at {off} outside a {}-byte mapping",
            self.len
        );
        // SAFETY: as in `u64_at`, for 4 bytes.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU32>() }
    }

    /// Bytes `off..off + len` of the mapping.
    fn bytes(&self, off: usize, len: usize) -> &[u8] {
        assert!(
            off.checked_add(len).is_some_and(|end| end <= self.len),
            "bytes {off}+{len} outside the mapping"
        );
        // SAFETY: in bounds (checked above); callers only read bytes the producer has published
        // and will not rewrite until the consumer position moves past them.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), len) }
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
    page: usize,
}

impl RingBufReader {
    /// Maps the ring buffer map `fd` whose `max_entries` (data size, a power of two) is `size`.
    pub fn new(fd: BorrowedFd<'_>, size: u32) -> Result<RingBufReader> {
        if !size.is_power_of_two() {
            return Err(Error::InvalidArgument {
                op: "ring buffer mmap",
                problem: format!("size {size} is not a power of two"),
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
    pub fn consume(&mut self, mut f: impl FnMut(&[u8]) -> bool) -> Consumed {
        let mut done = Consumed::default();
        let cons_pos = self.consumer.u64_at(0);
        let mut cons = cons_pos.load(Ordering::Acquire);
        let mut prod = self.producer.u64_at(0).load(Ordering::Acquire);
        'outer: loop {
            while cons < prod {
                let off = self.page + (cons & self.mask) as usize;
                let hdr = self.producer.u32_at(off).load(Ordering::Acquire);
                if hdr & RINGBUF_BUSY != 0 {
                    break 'outer;
                }
                let len = (hdr & !(RINGBUF_BUSY | RINGBUF_DISCARD)) as usize;
                let keep_going = if hdr & RINGBUF_DISCARD != 0 {
                    done.discarded += 1;
                    true
                } else {
                    done.records += 1;
                    f(self.producer.bytes(off + RINGBUF_HDR, len))
                };
                cons += ((len + RINGBUF_HDR + 7) & !7) as u64;
                if !keep_going {
                    break 'outer;
                }
            }
            // Records may have been committed while we read; look once more before returning.
            let newer = self.producer.u64_at(0).load(Ordering::Acquire);
            if newer == prod {
                break;
            }
            prod = newer;
        }
        cons_pos.store(cons, Ordering::Release);
        done
    }
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
    pub fn consume(&mut self, mut f: impl FnMut(PerfRecord<'_>)) -> u64 {
        let head = self.map.u64_at(DATA_HEAD).load(Ordering::Acquire);
        let mut tail = self.map.u64_at(DATA_TAIL).load(Ordering::Relaxed);
        let mask = (self.data_size - 1) as u64;
        let mut n = 0;
        while tail < head {
            let off = (tail & mask) as usize;
            let mut hdr = [0u8; 8];
            self.copy_out(off, &mut hdr);
            let ty = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let size = u16::from_ne_bytes([hdr[6], hdr[7]]) as usize;
            if size < 8 || size > self.data_size || size as u64 > head - tail {
                // A corrupt header: skip everything published so far rather than loop.
                tail = head;
                break;
            }
            let body_off = (off + 8) & mask as usize;
            let body_len = size - 8;
            if body_off + body_len <= self.data_size {
                // The common case: the record does not wrap, so hand out the ring's bytes.
                Self::deliver(ty, self.map.bytes(self.page + body_off, body_len), &mut f);
            } else {
                let mut body = std::mem::take(&mut self.scratch);
                body.resize(body_len, 0);
                self.copy_out(body_off, &mut body);
                Self::deliver(ty, &body, &mut f);
                self.scratch = body;
            }
            tail += size as u64;
            n += 1;
        }
        self.map.u64_at(DATA_TAIL).store(tail, Ordering::Release);
        n
    }

    fn deliver(ty: u32, body: &[u8], f: &mut impl FnMut(PerfRecord<'_>)) {
        match ty {
            PERF_RECORD_SAMPLE if body.len() >= 4 => {
                let raw = u32::from_ne_bytes([body[0], body[1], body[2], body[3]]) as usize;
                let end = (4 + raw).min(body.len());
                f(PerfRecord::Sample(&body[4..end]));
            }
            PERF_RECORD_LOST if body.len() >= 16 => {
                let mut lost = [0u8; 8];
                lost.copy_from_slice(&body[8..16]);
                f(PerfRecord::Lost(u64::from_ne_bytes(lost)));
            }
            other => f(PerfRecord::Other(other)),
        }
    }

    /// Copies `out.len()` ring bytes starting at data offset `off`, wrapping at the end.
    fn copy_out(&self, off: usize, out: &mut [u8]) {
        let first = out.len().min(self.data_size - off);
        out[..first].copy_from_slice(self.map.bytes(self.page + off, first));
        let rest = out.len() - first;
        if rest > 0 {
            out[first..].copy_from_slice(self.map.bytes(self.page, rest));
        }
    }
}
