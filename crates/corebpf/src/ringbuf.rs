//! Reading `BPF_MAP_TYPE_RINGBUF` maps: several rings behind one epoll, a callback per ring.
//!
//! ```no_run
//! # fn f(map: &corebpf::Map) -> Result<(), corebpf::AttachError> {
//! use corebpf::ringbuf::{Flow, RingBuf};
//! let mut seen = 0u64;
//! let mut rb = RingBuf::builder()
//!     .add(map.fd(), |rec: &[u8]| { seen += rec.len() as u64; Flow::Continue })?
//!     .build()?;
//! rb.poll(Some(std::time::Duration::from_millis(100)))?;
//! # Ok(()) }
//! ```

use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

use corebpf_sys::bpf;
use corebpf_sys::epoll::Epoll;
use corebpf_sys::mmap::RingBufReader;

use crate::link::AttachError;

/// What a record callback tells the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Hand over the next record.
    Continue,
    /// Stop consuming now; the records after this one stay in the ring.
    Stop,
}

/// A bool-returning callback counts as `Continue` for `true`.
impl From<bool> for Flow {
    fn from(b: bool) -> Flow {
        if b {
            Flow::Continue
        } else {
            Flow::Stop
        }
    }
}

impl From<()> for Flow {
    fn from(_: ()) -> Flow {
        Flow::Continue
    }
}

type Callback<'a> = Box<dyn FnMut(&[u8]) -> Flow + 'a>;

struct Ring<'a> {
    reader: RingBufReader,
    callback: Callback<'a>,
    /// The map, kept open for readiness notification (epoll here, tokio's reactor in async).
    fd: OwnedFd,
}

/// Builds a [`RingBuf`] from one or more ring buffer maps.
pub struct RingBufBuilder<'a> {
    rings: Vec<Ring<'a>>,
    epoll: Result<Epoll, AttachError>,
}

impl std::fmt::Debug for RingBufBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBufBuilder")
            .field("rings", &self.rings.len())
            .finish()
    }
}

impl<'a> RingBufBuilder<'a> {
    /// Adds the ring buffer map `map` with the callback its records go to. The callback may
    /// return [`Flow`], `bool` (`false` stops) or `()`.
    pub fn add<R: Into<Flow>>(
        mut self,
        map: BorrowedFd<'_>,
        mut callback: impl FnMut(&[u8]) -> R + 'a,
    ) -> Result<Self, AttachError> {
        let info = bpf::map_info(map).map_err(AttachError::kernel("ring buffer map info"))?;
        if info.map_type != 27 {
            return Err(AttachError::Map {
                map: bpf::attr::name_str(&info.name),
                problem: format!("map type {} is not a ring buffer (27)", info.map_type),
            });
        }
        let reader = RingBufReader::new(map, info.max_entries)
            .map_err(AttachError::kernel("ring buffer mmap"))?;
        let token = self.rings.len() as u64;
        if let Ok(ep) = &mut self.epoll {
            ep.add(map, token)
                .map_err(AttachError::kernel("ring buffer epoll"))?;
        }
        let fd = map
            .try_clone_to_owned()
            .map_err(|e| AttachError::Link(format!("ring buffer: dup map fd: {e}")))?;
        self.rings.push(Ring {
            reader,
            callback: Box::new(move |r| callback(r).into()),
            fd,
        });
        Ok(self)
    }

    pub fn build(self) -> Result<RingBuf<'a>, AttachError> {
        Ok(RingBuf {
            rings: self.rings,
            epoll: self.epoll?,
            discarded: 0,
        })
    }
}

/// Consumer of one or more BPF ring buffers.
pub struct RingBuf<'a> {
    rings: Vec<Ring<'a>>,
    epoll: Epoll,
    discarded: u64,
}

impl std::fmt::Debug for RingBuf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuf")
            .field("rings", &self.rings.len())
            .field("discarded", &self.discarded)
            .finish()
    }
}

impl<'a> RingBuf<'a> {
    pub fn builder() -> RingBufBuilder<'a> {
        RingBufBuilder {
            rings: Vec::new(),
            epoll: Epoll::new().map_err(AttachError::kernel("epoll create")),
        }
    }

    /// A reader of one ring buffer map.
    pub fn new<R: Into<Flow>>(
        map: BorrowedFd<'_>,
        callback: impl FnMut(&[u8]) -> R + 'a,
    ) -> Result<RingBuf<'a>, AttachError> {
        RingBuf::builder().add(map, callback)?.build()
    }

    fn consume_ring(ring: &mut Ring<'a>, discarded: &mut u64) -> (u64, bool) {
        let mut stopped = false;
        let cb = &mut ring.callback;
        let done = ring.reader.consume(|rec| match cb(rec) {
            Flow::Continue => true,
            Flow::Stop => {
                stopped = true;
                false
            }
        });
        *discarded += done.discarded;
        (done.records, stopped)
    }

    /// Hands every committed record of every ring to its callback (no waiting); returns how
    /// many records were handed over. Each ring's consumer position is published once.
    pub fn consume(&mut self) -> u64 {
        let mut n = 0;
        for ring in &mut self.rings {
            let (got, stopped) = Self::consume_ring(ring, &mut self.discarded);
            n += got;
            if stopped {
                break;
            }
        }
        n
    }

    /// Waits up to `timeout` (forever for `None`) for records, then consumes the rings that
    /// have some; returns how many records were handed over (0 on timeout or signal).
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<u64, AttachError> {
        let ready = self
            .epoll
            .wait_tokens(timeout)
            .map_err(AttachError::kernel("ring buffer poll"))?;
        let mut n = 0;
        for token in ready {
            if let Some(ring) = self.rings.get_mut(token as usize) {
                let (got, stopped) = Self::consume_ring(ring, &mut self.discarded);
                n += got;
                if stopped {
                    break;
                }
            }
        }
        Ok(n)
    }

    /// Bytes committed but not yet consumed, over all rings.
    pub fn pending(&self) -> u64 {
        self.rings.iter().map(|r| r.reader.pending()).sum()
    }

    /// Records the BPF side discarded (`bpf_ringbuf_discard`) seen so far.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// The ring buffer maps, for callers that wait on them with their own event loop (each
    /// is readable when records are waiting).
    pub fn map_fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> + '_ {
        self.rings.iter().map(|r| std::os::fd::AsFd::as_fd(&r.fd))
    }

    /// The number of rings.
    pub fn len(&self) -> usize {
        self.rings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }
}

/// Async reading on tokio: the same rings, woken by tokio's reactor instead of a blocking
/// epoll wait (feature `tokio`).
#[cfg(feature = "tokio")]
pub use self::async_ring::AsyncRingBuf;

#[cfg(feature = "tokio")]
mod async_ring {
    use std::os::fd::AsFd;

    use super::RingBuf;
    use crate::event_async::ReadyFds;
    use crate::link::AttachError;

    /// A [`RingBuf`] driven by tokio. Create it inside a runtime.
    pub struct AsyncRingBuf<'a> {
        inner: RingBuf<'a>,
        fds: ReadyFds,
    }

    impl std::fmt::Debug for AsyncRingBuf<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AsyncRingBuf")
                .field("inner", &self.inner)
                .finish()
        }
    }

    impl<'a> RingBuf<'a> {
        /// Registers the rings with the current tokio runtime.
        pub fn into_async(self) -> Result<AsyncRingBuf<'a>, AttachError> {
            let fds = ReadyFds::register(self.rings.iter().map(|r| r.fd.as_fd()), "ring buffer")?;
            Ok(AsyncRingBuf { inner: self, fds })
        }
    }

    impl<'a> AsyncRingBuf<'a> {
        /// Waits until at least one record was handed to a callback; returns how many were.
        pub async fn next_batch(&mut self) -> Result<u64, AttachError> {
            let inner = &mut self.inner;
            self.fds.next_batch(|| inner.consume()).await
        }

        /// Consumes what is there without waiting.
        pub fn consume(&mut self) -> u64 {
            self.inner.consume()
        }

        /// The blocking reader back.
        pub fn into_inner(self) -> RingBuf<'a> {
            self.inner
        }
    }
}
