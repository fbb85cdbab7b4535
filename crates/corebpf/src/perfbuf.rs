//! Reading `BPF_MAP_TYPE_PERF_EVENT_ARRAY` maps: one BPF-output perf event and ring per CPU,
//! stored in the map at the CPU's index, all behind one epoll.

use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use corebpf_sys::bpf;
use corebpf_sys::epoll::Epoll;
use corebpf_sys::mmap::{PerfRecord, PerfRing};
use corebpf_sys::perf;

use crate::link::AttachError;

/// Options of a [`PerfBuf`].
#[derive(Debug, Clone, Copy)]
pub struct PerfBufOptions {
    /// Data pages per CPU (a power of two).
    pub pages_per_cpu: usize,
    /// Wake the reader after this many samples (1: every sample).
    pub wakeup_events: u32,
}

impl Default for PerfBufOptions {
    fn default() -> Self {
        PerfBufOptions {
            pages_per_cpu: 64,
            wakeup_events: 1,
        }
    }
}

struct CpuRing {
    cpu: u32,
    ring: PerfRing,
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    event: OwnedFd,
}

/// The type-erased sample callback of a [`PerfBuf`] made with [`PerfBuf::into_boxed`].
pub type SampleFn<'a> = Box<dyn FnMut(u32, &[u8]) + 'a>;
/// The type-erased lost-sample callback of a [`PerfBuf`] made with [`PerfBuf::into_boxed`].
pub type LostFn<'a> = Box<dyn FnMut(u32, u64) + 'a>;

/// Consumer of a perf event array: samples and lost-sample counts per CPU.
///
/// The callbacks are type parameters, so each record reaches them through a direct (usually
/// inlined) call; [`PerfBuf::into_boxed`] erases them when readers of different callbacks
/// must share one type (the defaults `S` and `L` name that type).
pub struct PerfBuf<'a, S = SampleFn<'a>, L = LostFn<'a>> {
    rings: Vec<CpuRing>,
    epoll: Epoll,
    sample: S,
    lost: L,
    lost_total: u64,
    _callbacks: PhantomData<&'a ()>,
}

impl<S, L> std::fmt::Debug for PerfBuf<'_, S, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfBuf")
            .field("cpus", &self.rings.len())
            .field("lost", &self.lost_total)
            .finish()
    }
}

impl<'a, S, L> PerfBuf<'a, S, L>
where
    S: FnMut(u32, &[u8]) + 'a,
    L: FnMut(u32, u64) + 'a,
{
    /// Opens a ring on every online CPU and stores it in `map` at that CPU's index;
    /// `sample(cpu, bytes)` gets each record, `lost(cpu, count)` each loss report.
    pub fn new(
        map: BorrowedFd<'_>,
        opts: PerfBufOptions,
        sample: S,
        lost: L,
    ) -> Result<Self, AttachError> {
        let info = bpf::map_info(map).map_err(AttachError::kernel("perf buffer map info"))?;
        if info.map_type != 4 {
            return Err(AttachError::Map {
                map: bpf::attr::name_str(&info.name),
                problem: format!("map type {} is not a perf event array (4)", info.map_type),
            });
        }
        let mut epoll = Epoll::new().map_err(AttachError::kernel("epoll create"))?;
        let mut rings = Vec::new();
        for cpu in crate::attach::online_cpus()? {
            if cpu >= info.max_entries {
                continue;
            }
            let attr = perf::PerfEventAttr {
                type_: perf::kind::SOFTWARE,
                config: perf::sw::BPF_OUTPUT,
                sample_period: 1,
                sample_type: perf::SAMPLE_RAW,
                wakeup_events: opts.wakeup_events.max(1),
                ..Default::default()
            };
            let what = format!("perf buffer event on CPU {cpu}");
            let event = perf::perf_event_open(&attr, -1, cpu as i32)
                .map_err(AttachError::kernel(what.clone()))?;
            let ring = PerfRing::new(event.as_fd(), opts.pages_per_cpu)
                .map_err(AttachError::kernel(what.clone()))?;
            let fd = event.as_raw_fd() as u32;
            bpf::map_update_elem(map, &cpu.to_ne_bytes(), &fd.to_ne_bytes(), 0)
                .map_err(AttachError::kernel(what.clone()))?;
            perf::enable(event.as_fd()).map_err(AttachError::kernel(what.clone()))?;
            epoll
                .add(event.as_fd(), rings.len() as u64)
                .map_err(AttachError::kernel(what))?;
            rings.push(CpuRing { cpu, ring, event });
        }
        Ok(PerfBuf {
            rings,
            epoll,
            sample,
            lost,
            lost_total: 0,
            _callbacks: PhantomData,
        })
    }

    /// The same reader with its callbacks boxed, so that readers made with different
    /// callbacks have one type.
    pub fn into_boxed(self) -> PerfBuf<'a> {
        PerfBuf {
            rings: self.rings,
            epoll: self.epoll,
            sample: Box::new(self.sample),
            lost: Box::new(self.lost),
            lost_total: self.lost_total,
            _callbacks: PhantomData,
        }
    }

    #[inline]
    fn drain(r: &mut CpuRing, sample: &mut S, lost: &mut L, total: &mut u64) -> u64 {
        let cpu = r.cpu;
        let mut n = 0;
        r.ring.consume(|rec| match rec {
            PerfRecord::Sample(b) => {
                n += 1;
                sample(cpu, b)
            }
            PerfRecord::Lost(c) => {
                *total += c;
                lost(cpu, c)
            }
            PerfRecord::Other(_) => {}
        });
        n
    }

    /// Consumes every CPU's ring without waiting; returns the samples handed over.
    pub fn consume(&mut self) -> u64 {
        let mut n = 0;
        for r in &mut self.rings {
            if r.ring.has_data() {
                n += Self::drain(r, &mut self.sample, &mut self.lost, &mut self.lost_total);
            }
        }
        n
    }

    /// Waits up to `timeout` for samples, then consumes the rings that have some.
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<u64, AttachError> {
        let ready = self
            .epoll
            .wait_tokens(timeout)
            .map_err(AttachError::kernel("perf buffer poll"))?;
        let mut n = 0;
        for t in ready {
            if let Some(r) = self.rings.get_mut(t as usize) {
                n += Self::drain(r, &mut self.sample, &mut self.lost, &mut self.lost_total);
            }
        }
        Ok(n)
    }

    /// Samples the kernel reported lost so far, over all CPUs.
    pub fn lost(&self) -> u64 {
        self.lost_total
    }

    /// The CPUs with a ring.
    pub fn cpus(&self) -> impl Iterator<Item = u32> + '_ {
        self.rings.iter().map(|r| r.cpu)
    }
}

/// Async reading on tokio (feature `tokio`).
#[cfg(feature = "tokio")]
pub use self::async_perf::AsyncPerfBuf;

#[cfg(feature = "tokio")]
mod async_perf {
    use std::os::fd::AsFd;

    use super::{LostFn, PerfBuf, SampleFn};
    use crate::event_async::ReadyFds;
    use crate::link::AttachError;

    /// A [`PerfBuf`] driven by tokio. Create it inside a runtime.
    pub struct AsyncPerfBuf<'a, S = SampleFn<'a>, L = LostFn<'a>> {
        inner: PerfBuf<'a, S, L>,
        fds: ReadyFds,
    }

    impl<S, L> std::fmt::Debug for AsyncPerfBuf<'_, S, L> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AsyncPerfBuf")
                .field("inner", &self.inner)
                .finish()
        }
    }

    impl<'a, S, L> PerfBuf<'a, S, L>
    where
        S: FnMut(u32, &[u8]) + 'a,
        L: FnMut(u32, u64) + 'a,
    {
        /// Registers the per-CPU rings with the current tokio runtime.
        pub fn into_async(self) -> Result<AsyncPerfBuf<'a, S, L>, AttachError> {
            let fds =
                ReadyFds::register(self.rings.iter().map(|r| r.event.as_fd()), "perf buffer")?;
            Ok(AsyncPerfBuf { inner: self, fds })
        }
    }

    impl<'a, S, L> AsyncPerfBuf<'a, S, L>
    where
        S: FnMut(u32, &[u8]) + 'a,
        L: FnMut(u32, u64) + 'a,
    {
        /// Waits until at least one sample was handed over; returns how many were.
        pub async fn next_batch(&mut self) -> Result<u64, AttachError> {
            let inner = &mut self.inner;
            self.fds.next_batch(|| inner.consume()).await
        }

        /// Consumes what is there without waiting.
        pub fn consume(&mut self) -> u64 {
            self.inner.consume()
        }

        /// Samples reported lost so far.
        pub fn lost(&self) -> u64 {
            self.inner.lost()
        }

        /// The blocking reader back.
        pub fn into_inner(self) -> PerfBuf<'a, S, L> {
            self.inner
        }
    }
}
