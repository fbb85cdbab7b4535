//! A small epoll wrapper: wait for any of several fds (ring buffers, perf rings) to be readable.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::{Error, Result};

/// An epoll instance; each registered fd carries a caller-chosen token.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    pub fn new() -> Result<Epoll> {
        // SAFETY: epoll_create1 has no pointer arguments.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(Error::Syscall {
                op: "epoll_create",
                source: io::Error::last_os_error(),
            });
        }
        Ok(Epoll {
            // SAFETY: a new fd owned by nothing else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            events: Vec::new(),
        })
    }

    /// Watches `fd` for readability, reporting `token` when it is.
    pub fn add(&mut self, fd: BorrowedFd<'_>, token: u64) -> Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: both fds are open and `ev` is a valid epoll_event for the call.
        let ret = unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut ev,
            )
        };
        if ret < 0 {
            return Err(Error::Syscall {
                op: "epoll_ctl",
                source: io::Error::last_os_error(),
            });
        }
        self.events.push(libc::epoll_event { events: 0, u64: 0 });
        Ok(())
    }

    /// Waits up to `timeout` (forever for `None`) and returns the tokens of ready fds.
    /// An interrupted wait (EINTR) returns no tokens.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<u64>> {
        Ok(self.wait_tokens(timeout)?.collect())
    }

    /// [`Epoll::wait`] without allocating: the tokens of the ready fds, read from the event
    /// buffer this instance keeps.
    pub fn wait_tokens(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<impl ExactSizeIterator<Item = u64> + '_> {
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        if self.events.is_empty() {
            self.events.push(libc::epoll_event { events: 0, u64: 0 });
        }
        // SAFETY: `events` is a live buffer of `len` epoll_event structures.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                self.events.as_mut_ptr(),
                self.events.len() as i32,
                ms,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(Error::Syscall {
                    op: "epoll_wait",
                    source: e,
                });
            }
        }
        let ready = usize::try_from(n).unwrap_or(0).min(self.events.len());
        Ok(self.events[..ready].iter().map(|e| e.u64))
    }
}
