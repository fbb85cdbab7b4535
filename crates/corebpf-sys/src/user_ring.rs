//! The producer side of a `BPF_MAP_TYPE_USER_RINGBUF` map: user space writes samples, a BPF
//! program takes them with `bpf_user_ringbuf_drain`.
//!
//! Shared memory layout, as the kernel maps it: the first page holds the consumer position
//! (advanced by the kernel; a writable mapping of it is refused, so it is mapped read-only),
//! the second the producer position (advanced here), then the data area, mapped twice back to
//! back so that a sample wrapping past the end of the ring is contiguous in memory.
//!
//! Protocol, matching the kernel's reader:
//! - a sample starts at an 8-byte aligned position with an 8-byte header: the sample length
//!   in the low 30 bits of the first `u32`, the BUSY bit (31) while it is being written, the
//!   DISCARD bit (30) when it is to be skipped; the second `u32` is zero;
//! - reserving writes the header with BUSY set, then publishes the producer position (release)
//!   past the whole record, rounded up to 8 bytes;
//! - submitting or discarding clears BUSY (setting DISCARD for a discard) with a release store,
//!   so the payload written before is visible to the kernel when it sees the header;
//! - the kernel consumes records in order and stops at the first one still BUSY; it publishes
//!   the consumer position (release) after each record, which is read here with acquire before
//!   any reuse of the space.
//!
//! All `unsafe` of the user ring buffer lives in this module.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::mmap::page_size;
use crate::{Error, Result};

const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
/// Bytes of the record header before each sample.
pub const HEADER_SIZE: usize = 8;
/// The largest sample the kernel hands to a BPF program: a dynptr holds at most 2^24 - 1 bytes,
/// and a larger record makes `bpf_user_ringbuf_drain` fail with E2BIG without consuming it.
pub const MAX_SAMPLE_SIZE: u32 = (1 << 24) - 1;

/// A shared mapping of a map fd, unmapped on drop.
#[derive(Debug)]
struct Shared {
    ptr: NonNull<u8>,
    len: usize,
}

impl Shared {
    fn new(fd: BorrowedFd<'_>, len: usize, offset: usize, write: bool) -> Result<Shared> {
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        let offset = libc::off_t::try_from(offset).map_err(|_| Error::InvalidArgument {
            op: "user ring buffer mmap",
            problem: format!("offset {offset} does not fit off_t"),
        })?;
        // SAFETY: a fresh shared mapping placed by the kernel (addr NULL); the result is checked
        // before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::Syscall {
                op: "user ring buffer mmap",
                source: io::Error::last_os_error(),
            });
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| Error::InvalidArgument {
            op: "user ring buffer mmap",
            problem: "the kernel returned a null mapping".into(),
        })?;
        Ok(Shared { ptr, len })
    }

    /// The atomic `u64` at `off`; `off + 8 <= len` and `off % 8 == 0` are the caller's promise
    /// (only the fixed position words use it).
    #[inline]
    fn u64_at(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off % 8 == 0 && off + 8 <= self.len);
        // SAFETY: the callers pass offset 0 of a mapping of at least one page, which is in
        // bounds and 8-byte aligned (mappings are page aligned); the word is only ever accessed
        // atomically, by this process and the kernel.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU64>() }
    }

    /// The atomic `u32` at `off`, which the caller keeps 4-byte aligned and in bounds.
    #[inline]
    fn u32_at(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off % 4 == 0 && off + 4 <= self.len);
        // SAFETY: record headers sit at 8-byte aligned offsets inside the first copy of the data
        // area (the writer checks the producer position is a multiple of 8 and masks it to the
        // ring size), so the word is in bounds and aligned; headers are only accessed atomically.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU32>() }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are what mmap returned, and no borrow of the mapping outlives
        // its owner (samples borrow the writer that owns it).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Map ids that have a producer in this process: a second writer of the same ring would
/// corrupt it and alias the first one's sample memory.
static PRODUCERS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// This process's claim to be the producer of one map; released on drop.
#[derive(Debug)]
struct Claim(u32);

impl Claim {
    fn take(map_id: u32) -> Result<Claim> {
        let mut ids = PRODUCERS.lock().unwrap_or_else(|e| e.into_inner());
        if ids.contains(&map_id) {
            return Err(Error::InvalidArgument {
                op: "user ring buffer",
                problem: format!(
                    "map id {map_id} already has a producer in this process (a user ring buffer \
                     has a single producer)"
                ),
            });
        }
        ids.push(map_id);
        Ok(Claim(map_id))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut ids = PRODUCERS.lock().unwrap_or_else(|e| e.into_inner());
        ids.retain(|&id| id != self.0);
    }
}

/// The writer of one user ring buffer map: reserves samples, which are submitted or discarded.
///
/// One writer per map and process (a second one is refused); no other process may write the
/// same map. The writer is `Send` but not `Sync`: several samples may be reserved at once
/// from one thread and submitted in any order, while the kernel takes them in reservation
/// order, waiting at the first one still reserved.
#[derive(Debug)]
pub struct UserRingWriter {
    // Field order is drop order: unmap, stop waiting, close the map, then release the claim.
    consumer: Shared,
    producer: Shared,
    epoll: OwnedFd,
    map: OwnedFd,
    _claim: Claim,
    /// The data area's size in bytes (a power of two).
    size: u64,
    page: usize,
    /// The producer position: only this writer advances it; mirrors the published word.
    prod: Cell<u64>,
}

// SAFETY: the mappings are process-wide memory, usable from any thread; the writer is not
// `Sync` (the producer position is a `Cell`) and samples borrow it, so it only moves between
// threads when no sample is outstanding.
unsafe impl Send for UserRingWriter {}

impl UserRingWriter {
    /// Maps the user ring buffer `fd` (map id `map_id`, `max_entries` = data size `size`, a
    /// power of two) for writing, and registers it for "space available" wake-ups.
    pub fn new(fd: BorrowedFd<'_>, map_id: u32, size: u32) -> Result<UserRingWriter> {
        let page = page_size();
        if !size.is_power_of_two() || (size as usize) < page {
            return Err(Error::InvalidArgument {
                op: "user ring buffer",
                problem: format!(
                    "data size {size} is not a power-of-two multiple of the {page}-byte page"
                ),
            });
        }
        let claim = Claim::take(map_id)?;
        let consumer = Shared::new(fd, page, 0, false)?;
        let producer = Shared::new(fd, page + 2 * size as usize, page, true)?;
        let size = u64::from(size);
        // Continue where an earlier producer of this map left off.
        let prod = producer.u64_at(0).load(Ordering::Acquire);
        let cons = consumer.u64_at(0).load(Ordering::Acquire);
        if prod % 8 != 0 || prod < cons || prod - cons > size {
            return Err(Error::InvalidArgument {
                op: "user ring buffer",
                problem: format!(
                    "inconsistent positions: producer {prod}, consumer {cons}, ring of {size} \
                     bytes (another process writes this map?)"
                ),
            });
        }
        let epoll = epoll_for_space(fd)?;
        let map = fd.try_clone_to_owned().map_err(|source| Error::Syscall {
            op: "user ring buffer: dup map fd",
            source,
        })?;
        Ok(UserRingWriter {
            consumer,
            producer,
            epoll,
            map,
            _claim: claim,
            size,
            page,
            prod: Cell::new(prod),
        })
    }

    /// The data area's size in bytes.
    pub fn ring_size(&self) -> u64 {
        self.size
    }

    /// The largest sample that fits the ring (with its header) and the kernel's sample limit.
    #[inline]
    pub fn max_sample_size(&self) -> u32 {
        let fits = self.size - HEADER_SIZE as u64;
        u32::try_from(fits).map_or(MAX_SAMPLE_SIZE, |f| f.min(MAX_SAMPLE_SIZE))
    }

    /// Ring bytes reserved or submitted and not yet drained by the BPF side (headers and
    /// padding included).
    #[inline]
    pub fn pending(&self) -> u64 {
        let cons = self.consumer.u64_at(0).load(Ordering::Acquire);
        self.prod.get().saturating_sub(cons)
    }

    /// The map, for callers that wait for space with their own event loop (it polls writable
    /// when the ring is not full).
    pub fn map_fd(&self) -> BorrowedFd<'_> {
        self.map.as_fd()
    }

    /// The ring bytes a sample of `size` bytes takes, or why it cannot be written.
    #[inline(always)]
    pub fn record_size(&self, size: u32) -> Result<u64> {
        let total = (u64::from(size) + HEADER_SIZE as u64 + 7) & !7;
        if size > MAX_SAMPLE_SIZE || total > self.size {
            return Err(self.too_big(size, total));
        }
        Ok(total)
    }

    #[cold]
    fn too_big(&self, size: u32, total: u64) -> Error {
        let problem = if size > MAX_SAMPLE_SIZE {
            format!(
                "a sample of {size} bytes is larger than the kernel's limit of {MAX_SAMPLE_SIZE} \
                 bytes"
            )
        } else {
            format!(
                "a sample of {size} bytes needs {total} bytes with its header, the ring holds {} \
                 (at most {} bytes per sample)",
                self.size,
                self.max_sample_size()
            )
        };
        Error::InvalidArgument {
            op: "user ring buffer reserve",
            problem,
        }
    }

    #[cold]
    fn inconsistent(&self, cons: u64, prod: u64) -> Error {
        Error::InvalidArgument {
            op: "user ring buffer reserve",
            problem: format!(
                "the consumer position {cons} is not within {} bytes before the producer \
                 position {prod}",
                self.size
            ),
        }
    }

    /// Reserves `size` bytes for a sample; `None` when the ring has no room for it now. The
    /// bytes hold whatever an earlier sample left there.
    #[inline(always)]
    pub fn reserve(&self, size: u32) -> Result<Option<Reserved<'_>>> {
        let total = self.record_size(size)?;
        let cons = self.consumer.u64_at(0).load(Ordering::Acquire);
        let prod = self.prod.get();
        let used = prod.wrapping_sub(cons);
        if used > self.size {
            return Err(self.inconsistent(cons, prod));
        }
        if self.size - used < total {
            return Ok(None);
        }
        // Below the ring size, itself at most 2^31 (a power-of-two u32).
        let at = (prod & (self.size - 1)) as u32;
        let hdr_off = self.page + at as usize;
        let hdr = self.producer.u32_at(hdr_off);
        // The BUSY header must be in place before the new producer position is visible; the
        // release store of the position orders both header words before it.
        hdr.store(size | BUSY_BIT, Ordering::Relaxed);
        self.producer
            .u32_at(hdr_off + 4)
            .store(0, Ordering::Relaxed);
        let next = prod + total;
        self.prod.set(next);
        self.producer.u64_at(0).store(next, Ordering::Release);
        Ok(Some(Reserved {
            ring: self,
            at,
            len: size,
        }))
    }

    /// Waits up to `timeout` (forever for `None`) for the BPF side to drain samples. Returns
    /// `true` when it did since the last wait (the space may still be too small for the next
    /// sample), `false` on timeout or an interrupted wait.
    ///
    /// Wake-ups come from `bpf_user_ringbuf_drain` calls that consumed a sample (or passed
    /// `BPF_RB_FORCE_WAKEUP`); a program that drains with `BPF_RB_NO_WAKEUP` wakes nobody.
    pub fn wait_for_space(&self, timeout: Option<Duration>) -> Result<bool> {
        // Round up, so a sub-millisecond remainder waits instead of spinning.
        let ms = timeout.map_or(-1, |t| {
            let ms = t.as_nanos().div_ceil(1_000_000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        });
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: the epoll fd is open and `ev` is room for the one event asked for.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut ev, 1, ms) };
        if n < 0 {
            let source = io::Error::last_os_error();
            if source.raw_os_error() == Some(libc::EINTR) {
                return Ok(false);
            }
            return Err(Error::Syscall {
                op: "user ring buffer epoll_wait",
                source,
            });
        }
        Ok(n > 0)
    }

    /// Clears BUSY on the header at data offset `at`, marking the record discarded if asked.
    #[inline]
    fn commit(&self, at: u32, len: u32, discard: bool) {
        let word = if discard { len | DISCARD_BIT } else { len };
        // Release: the payload written through the sample is visible before the header says
        // the record is complete (pairs with the kernel's acquire load of the header).
        self.producer
            .u32_at(self.page + at as usize)
            .store(word, Ordering::Release);
    }
}

/// An epoll instance waiting edge-triggered for the map to become writable: each drain that
/// wakes the map's wait queue queues one event, so a wake-up between a failed reserve and the
/// wait is not lost, and a ring with some room but not enough does not make the wait spin.
fn epoll_for_space(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    // SAFETY: epoll_create1 takes no pointers.
    let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if raw < 0 {
        return Err(Error::Syscall {
            op: "user ring buffer epoll_create",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: `raw` is a new descriptor owned by nothing else.
    let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLOUT | libc::EPOLLET) as u32,
        u64: 0,
    };
    // SAFETY: both descriptors are open and `ev` is a valid epoll_event for the call.
    let ret = unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut ev,
        )
    };
    if ret < 0 {
        return Err(Error::Syscall {
            op: "user ring buffer epoll_ctl",
            source: io::Error::last_os_error(),
        });
    }
    Ok(epoll)
}

/// A reserved sample: write it through [`Reserved::as_mut_slice`], then
/// [`submit`](Reserved::submit) it; dropping it unsubmitted discards it.
#[derive(Debug)]
pub struct Reserved<'a> {
    ring: &'a UserRingWriter,
    /// The header's offset in the data area.
    at: u32,
    len: u32,
}

impl Reserved<'_> {
    /// The sample's length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the sample is empty (reserved with size 0).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sample's bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the payload lies inside the mapping (`reserve` checked the record fits the
        // ring, and the data area is mapped twice, so it never runs past the second copy); it
        // is this sample's alone while it is BUSY: the kernel stops at a BUSY record, the
        // other outstanding samples of this writer hold disjoint positions within one ring
        // length, and no other writer of the map exists in this process.
        unsafe {
            std::slice::from_raw_parts(
                self.ring
                    .producer
                    .ptr
                    .as_ptr()
                    .add(self.ring.page + self.at as usize + HEADER_SIZE),
                self.len as usize,
            )
        }
    }

    /// The sample's bytes, for writing.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes this the only view of the bytes.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.ring
                    .producer
                    .ptr
                    .as_ptr()
                    .add(self.ring.page + self.at as usize + HEADER_SIZE),
                self.len as usize,
            )
        }
    }

    /// Hands the sample to the BPF side.
    #[inline]
    pub fn submit(self) {
        self.ring.commit(self.at, self.len, false);
        // Committed: the drop that would discard it must not run (it owns nothing else).
        std::mem::forget(self);
    }

    /// Gives the space back without the BPF side seeing the sample.
    #[inline]
    pub fn discard(self) {
        self.ring.commit(self.at, self.len, true);
        std::mem::forget(self);
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.ring.commit(self.at, self.len, true);
    }
}
