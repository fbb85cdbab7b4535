//! Writing to `BPF_MAP_TYPE_USER_RINGBUF` maps: user space produces samples, a BPF program
//! consumes them with `bpf_user_ringbuf_drain`.
//!
//! ```no_run
//! # fn f(map: &corebpf::Map) -> Result<(), corebpf::AttachError> {
//! use corebpf::user_ringbuf::UserRingBuf;
//! let rb = UserRingBuf::new(map)?;
//! if let Some(mut sample) = rb.reserve(16)? {
//!     sample[..8].copy_from_slice(&42u64.to_ne_bytes());
//!     sample.submit();
//! }
//! // Wait up to 100 ms for the BPF side to make room.
//! if let Some(mut sample) = rb.reserve_blocking(16, Some(std::time::Duration::from_millis(100)))? {
//!     sample.fill(0);
//!     sample.submit();
//! }
//! # Ok(()) }
//! ```
//!
//! The BPF side sees samples in the order they were reserved and stops at the first one that
//! is reserved but not yet submitted. A [`Sample`] dropped without [`Sample::submit`] is
//! discarded: the BPF side skips it. Samples are 8-byte aligned in the ring with an 8-byte
//! header, so a sample of `n` bytes takes `(n + 8)` rounded up to 8 bytes of the ring.
//!
//! A user ring buffer has one producer: [`UserRingBuf`] is `Send` but not `Sync`, a second
//! `UserRingBuf` of the same map in one process is refused, and no other process may write the
//! map meanwhile. Several samples may be reserved at once and submitted in any order; a
//! [`Sample`] borrows its ring and stays on the thread that reserved it.

use std::ops::{Deref, DerefMut};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use corebpf_sys::bpf;
use corebpf_sys::user_ring::{Reserved, UserRingWriter};

use crate::link::AttachError;
use crate::Map;

/// `enum bpf_map_type`'s `BPF_MAP_TYPE_USER_RINGBUF`.
const USER_RINGBUF: u32 = 31;

/// The producer of one user ring buffer map.
#[derive(Debug)]
pub struct UserRingBuf {
    writer: UserRingWriter,
    name: String,
    /// The map registered with tokio's reactor, on the first async reserve.
    #[cfg(feature = "tokio")]
    reactor: std::cell::OnceCell<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl UserRingBuf {
    /// Opens the loaded map `map`, which must be a user ring buffer.
    pub fn new(map: &Map) -> Result<UserRingBuf, AttachError> {
        UserRingBuf::from_fd(map.fd())
    }

    /// Opens the user ring buffer map behind `fd` (for instance one opened from a pin).
    pub fn from_fd(fd: BorrowedFd<'_>) -> Result<UserRingBuf, AttachError> {
        let info = bpf::map_info(fd).map_err(AttachError::kernel("user ring buffer map info"))?;
        let name = bpf::attr::name_str(&info.name);
        if info.map_type != USER_RINGBUF {
            return Err(AttachError::Map {
                map: name,
                problem: format!(
                    "map type {} is not a user ring buffer ({USER_RINGBUF})",
                    info.map_type
                ),
            });
        }
        let writer = UserRingWriter::new(fd, info.id, info.max_entries)
            .map_err(|e| sys_error(&name, "open", e))?;
        Ok(UserRingBuf {
            writer,
            name,
            #[cfg(feature = "tokio")]
            reactor: std::cell::OnceCell::new(),
        })
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ring's data size in bytes (the map's `max_entries`).
    pub fn size(&self) -> u64 {
        self.writer.ring_size()
    }

    /// The largest sample [`reserve`](Self::reserve) accepts.
    #[inline]
    pub fn max_sample_size(&self) -> usize {
        self.writer.max_sample_size() as usize
    }

    /// Ring bytes reserved or submitted that the BPF side has not drained yet, headers and
    /// padding included.
    pub fn pending(&self) -> u64 {
        self.writer.pending()
    }

    /// The map, for waiting with another event loop: it polls writable while the ring is
    /// not full.
    pub fn map_fd(&self) -> BorrowedFd<'_> {
        self.writer.map_fd()
    }

    /// Reserves a sample of `size` bytes; `Ok(None)` when the ring has no room for it now.
    /// A size the ring can never hold is an error. The sample's bytes are not cleared: they
    /// hold what an earlier sample left there.
    #[inline(always)]
    pub fn reserve(&self, size: usize) -> Result<Option<Sample<'_>>, AttachError> {
        let size = self.sample_size(size)?;
        self.writer
            .reserve(size)
            .map(|r| r.map(|inner| Sample { inner }))
            .map_err(|e| sys_error(&self.name, "reserve", e))
    }

    /// Reserves a sample of `size` bytes, waiting up to `timeout` (forever for `None`) for
    /// the BPF side to drain enough of the ring; `Ok(None)` when the time ran out.
    ///
    /// The wait ends when a `bpf_user_ringbuf_drain` call consumed samples (the kernel then
    /// wakes producers) — a program that drains with `BPF_RB_NO_WAKEUP` wakes nobody, and
    /// the wait lasts until `timeout`.
    pub fn reserve_blocking(
        &self,
        size: usize,
        timeout: Option<Duration>,
    ) -> Result<Option<Sample<'_>>, AttachError> {
        let size = self.sample_size(size)?;
        let deadline = timeout.map(|t| Instant::now().checked_add(t));
        loop {
            if let Some(inner) = self
                .writer
                .reserve(size)
                .map_err(|e| sys_error(&self.name, "reserve", e))?
            {
                return Ok(Some(Sample { inner }));
            }
            let remaining = match deadline {
                None | Some(None) => None,
                Some(Some(d)) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    Some(left)
                }
            };
            self.writer
                .wait_for_space(remaining)
                .map_err(|e| sys_error(&self.name, "wait for space", e))?;
        }
    }

    /// Writes `bytes` as one sample; `Ok(false)` when the ring has no room for it now.
    #[inline]
    pub fn write(&self, bytes: &[u8]) -> Result<bool, AttachError> {
        Ok(match self.reserve(bytes.len())? {
            Some(mut s) => {
                s.copy_from_slice(bytes);
                s.submit();
                true
            }
            None => false,
        })
    }

    /// Writes `bytes` as one sample, waiting up to `timeout` for room like
    /// [`reserve_blocking`](Self::reserve_blocking); `Ok(false)` when the time ran out.
    pub fn write_blocking(
        &self,
        bytes: &[u8],
        timeout: Option<Duration>,
    ) -> Result<bool, AttachError> {
        Ok(match self.reserve_blocking(bytes.len(), timeout)? {
            Some(mut s) => {
                s.copy_from_slice(bytes);
                s.submit();
                true
            }
            None => false,
        })
    }

    #[inline(always)]
    fn sample_size(&self, size: usize) -> Result<u32, AttachError> {
        match u32::try_from(size) {
            Ok(s) if size <= self.max_sample_size() => Ok(s),
            _ => Err(self.too_big(size)),
        }
    }

    #[cold]
    fn too_big(&self, size: usize) -> AttachError {
        AttachError::Map {
            map: self.name.clone(),
            problem: format!(
                "a sample of {size} bytes does not fit this {}-byte user ring buffer: at most {} \
                 bytes per sample (each takes an 8-byte header, rounded up to 8)",
                self.size(),
                self.max_sample_size()
            ),
        }
    }
}

/// Waiting for room on tokio's reactor (feature `tokio`).
#[cfg(feature = "tokio")]
impl UserRingBuf {
    /// Reserves a sample of `size` bytes, waiting on the current tokio runtime's reactor until
    /// the BPF side has drained enough of the ring. Wrap it in `tokio::time::timeout` for a
    /// deadline: dropping the future reserves nothing. The first call registers the map with
    /// the runtime it runs in; later calls must run in that runtime too.
    pub async fn reserve_async(&self, size: usize) -> Result<Sample<'_>, AttachError> {
        let size = self.sample_size(size)?;
        let fd = self.reactor()?;
        loop {
            if let Some(inner) = self.try_reserve(size)? {
                return Ok(Sample { inner });
            }
            let mut guard = fd.writable().await.map_err(|e| {
                AttachError::Link(format!("user ring buffer {}: readiness: {e}", self.name))
            })?;
            // Look again under the guard: a drain after the failed attempt is either seen here
            // or leaves a readiness event that `clear_ready` keeps.
            if let Some(inner) = self.try_reserve(size)? {
                return Ok(Sample { inner });
            }
            guard.clear_ready();
        }
    }

    fn try_reserve(&self, size: u32) -> Result<Option<Reserved<'_>>, AttachError> {
        self.writer
            .reserve(size)
            .map_err(|e| sys_error(&self.name, "reserve", e))
    }

    fn reactor(&self) -> Result<&tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>, AttachError> {
        if let Some(fd) = self.reactor.get() {
            return Ok(fd);
        }
        let fd = self.writer.map_fd().try_clone_to_owned().map_err(|e| {
            AttachError::Link(format!("user ring buffer {}: dup map fd: {e}", self.name))
        })?;
        // The `OwnedFd` owns the descriptor, which stays open and the same for the AsyncFd's
        // whole life (the I/O-safety condition of registering it).
        #[allow(deprecated)]
        let fd = tokio::io::unix::AsyncFd::with_interest(fd, tokio::io::Interest::WRITABLE)
            .map_err(|e| {
                AttachError::Link(format!(
                    "user ring buffer {}: register with tokio: {e}",
                    self.name
                ))
            })?;
        Ok(self.reactor.get_or_init(|| fd))
    }
}

/// A sample reserved in a [`UserRingBuf`]: its bytes, to fill before [`Sample::submit`].
/// Dropped without submitting, it is discarded. A sample leaked with `std::mem::forget` stays
/// reserved for good, and the BPF side never gets past it.
#[derive(Debug)]
pub struct Sample<'a> {
    inner: Reserved<'a>,
}

impl Sample<'_> {
    /// Hands the sample to the BPF side.
    #[inline]
    pub fn submit(self) {
        self.inner.submit();
    }

    /// Gives its space back; the BPF side skips it.
    #[inline]
    pub fn discard(self) {
        self.inner.discard();
    }
}

impl Deref for Sample<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.inner.as_slice()
    }
}

impl DerefMut for Sample<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.inner.as_mut_slice()
    }
}

/// A kernel-boundary error of user ring buffer `map`: a refused argument names the map and the
/// problem, a failed call the operation and the kernel's answer.
#[cold]
#[inline(never)]
fn sys_error(map: &str, what: &str, e: corebpf_sys::Error) -> AttachError {
    match e {
        corebpf_sys::Error::InvalidArgument { problem, .. } => AttachError::Map {
            map: map.to_string(),
            problem,
        },
        source => AttachError::Kernel {
            what: format!("user ring buffer {map}: {what}"),
            source,
        },
    }
}
