//! The tokio plumbing shared by the async ring buffer and perf buffer readers: the readers'
//! descriptors registered with the runtime's reactor, and the consume-or-wait loop.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::task::Poll;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::link::AttachError;

/// Descriptors that become readable when records are waiting, registered with tokio.
pub(crate) struct ReadyFds {
    fds: Vec<AsyncFd<OwnedFd>>,
}

impl ReadyFds {
    /// Registers a duplicate of each of `fds` with the current runtime (`what` names the
    /// reader in errors).
    pub(crate) fn register<'f>(
        fds: impl Iterator<Item = BorrowedFd<'f>>,
        what: &str,
    ) -> Result<ReadyFds, AttachError> {
        let fds = fds
            .map(|fd| {
                let fd = fd
                    .try_clone_to_owned()
                    .map_err(|e| AttachError::Link(format!("{what}: dup fd: {e}")))?;
                // Sound for `OwnedFd`: it owns the descriptor, which stays open and the same
                // for the AsyncFd's whole life (the I/O-safety condition of `register`).
                #[allow(deprecated)]
                AsyncFd::with_interest(fd, Interest::READABLE)
                    .map_err(|e| AttachError::Link(format!("{what}: register with tokio: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if fds.is_empty() {
            return Err(AttachError::Link(format!("{what}: no rings to wait on")));
        }
        Ok(ReadyFds { fds })
    }

    /// Waits until any descriptor is readable, clearing the readiness it saw (the caller then
    /// consumes everything, so no edge is lost).
    async fn readable(&self) -> Result<(), AttachError> {
        std::future::poll_fn(|cx| {
            let mut any = false;
            for fd in &self.fds {
                match fd.poll_read_ready(cx) {
                    Poll::Ready(Ok(mut guard)) => {
                        guard.clear_ready();
                        any = true;
                    }
                    Poll::Ready(Err(e)) => {
                        return Poll::Ready(Err(AttachError::Link(format!("readiness: {e}"))))
                    }
                    Poll::Pending => {}
                }
            }
            if any {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Consumes with `consume` until it hands over at least one record, waiting for readiness
    /// in between; returns how many it handed over.
    pub(crate) async fn next_batch(
        &self,
        mut consume: impl FnMut() -> u64,
    ) -> Result<u64, AttachError> {
        loop {
            let n = consume();
            if n > 0 {
                return Ok(n);
            }
            self.readable().await?;
        }
    }
}
