//! Reading `BPF_MAP_TYPE_PERF_EVENT_ARRAY` maps: one BPF-output perf event and ring per CPU,
//! stored in the map at the CPU's index, all behind one epoll.

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
    _event: OwnedFd,
}

type SampleFn<'a> = Box<dyn FnMut(u32, &[u8]) + 'a>;
type LostFn<'a> = Box<dyn FnMut(u32, u64) + 'a>;

/// Consumer of a perf event array: samples and lost-sample counts per CPU.
pub struct PerfBuf<'a> {
    rings: Vec<CpuRing>,
    epoll: Epoll,
    sample: SampleFn<'a>,
    lost: LostFn<'a>,
    lost_total: u64,
}

impl std::fmt::Debug for PerfBuf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfBuf")
            .field("cpus", &self.rings.len())
            .field("lost", &self.lost_total)
            .finish()
    }
}

impl<'a> PerfBuf<'a> {
    /// Opens a ring on every online CPU and stores it in `map` at that CPU's index;
    /// `sample(cpu, bytes)` gets each record, `lost(cpu, count)` each loss report.
    pub fn new(
        map: BorrowedFd<'_>,
        opts: PerfBufOptions,
        sample: impl FnMut(u32, &[u8]) + 'a,
        lost: impl FnMut(u32, u64) + 'a,
    ) -> Result<PerfBuf<'a>, AttachError> {
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
            rings.push(CpuRing {
                cpu,
                ring,
                _event: event,
            });
        }
        Ok(PerfBuf {
            rings,
            epoll,
            sample: Box::new(sample),
            lost: Box::new(lost),
            lost_total: 0,
        })
    }

    fn drain(
        r: &mut CpuRing,
        sample: &mut SampleFn<'a>,
        lost: &mut LostFn<'a>,
        total: &mut u64,
    ) -> u64 {
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
            .wait(timeout)
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
    use std::os::fd::{AsFd, OwnedFd};

    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    use super::PerfBuf;
    use crate::link::AttachError;

    /// A [`PerfBuf`] driven by tokio. Create it inside a runtime.
    pub struct AsyncPerfBuf<'a> {
        inner: PerfBuf<'a>,
        fds: Vec<AsyncFd<OwnedFd>>,
    }

    impl std::fmt::Debug for AsyncPerfBuf<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AsyncPerfBuf")
                .field("inner", &self.inner)
                .finish()
        }
    }

    impl<'a> PerfBuf<'a> {
        /// Registers the per-CPU rings with the current tokio runtime.
        pub fn into_async(self) -> Result<AsyncPerfBuf<'a>, AttachError> {
            let fds = self
                .rings
                .iter()
                .map(|r| {
                    let fd = r._event.as_fd().try_clone_to_owned().map_err(|e| {
                        AttachError::Link(format!("perf buffer: dup event fd: {e}"))
                    })?;
                    // Sound for `OwnedFd`: it owns the descriptor, which stays open and the same
                    // for the AsyncFd's whole life (the I/O-safety condition of `register`).
                    #[allow(deprecated)]
                    AsyncFd::with_interest(fd, Interest::READABLE).map_err(|e| {
                        AttachError::Link(format!("perf buffer: register with tokio: {e}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AsyncPerfBuf { inner: self, fds })
        }
    }

    impl<'a> AsyncPerfBuf<'a> {
        /// Waits until at least one sample was handed over; returns how many were.
        pub async fn next_batch(&mut self) -> Result<u64, AttachError> {
            loop {
                let n = self.inner.consume();
                if n > 0 {
                    return Ok(n);
                }
                crate::ringbuf::wait_readable(&self.fds).await?;
            }
        }

        /// Samples reported lost so far.
        pub fn lost(&self) -> u64 {
            self.inner.lost()
        }

        /// The blocking reader back.
        pub fn into_inner(self) -> PerfBuf<'a> {
            self.inner
        }
    }
}
