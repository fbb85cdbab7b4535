//! Starting a command that waits until its parent says go (so tracing is attached before the
//! command's first instruction).

use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use crate::{Error, Result};

/// A started child held before `exec` until [`HeldChild::release`].
#[derive(Debug)]
pub struct HeldChild {
    pub child: Child,
    go: Option<OwnedFd>,
}

impl HeldChild {
    /// The child's process id (valid before release: the process exists, not yet exec'ed).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Lets the child run its command.
    pub fn release(&mut self) -> io::Result<()> {
        if let Some(fd) = self.go.take() {
            let mut f = std::fs::File::from(fd);
            f.write_all(b"g")?;
        }
        Ok(())
    }
}

impl HeldChild {
    /// Gives up on the command: closing the pipe unwritten makes the child exit (status 127)
    /// without running it. Returns the child for the caller to reap. (Dropping a `HeldChild`
    /// has the same effect on the child.)
    pub fn abandon(self) -> Child {
        let HeldChild { child, go } = self;
        drop(go);
        child
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid 2-element array for pipe2 to fill.
    let ret = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if ret < 0 {
        return Err(Error::Syscall {
            op: "pipe",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: pipe2 returned two new descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Spawns `cmd`, which blocks before `exec` until [`HeldChild::release`]; if the parent goes
/// away (or drops the handle) first, the child exits with status 127 without running it.
pub fn spawn_held(cmd: &mut Command) -> Result<HeldChild> {
    let (rd, wr) = pipe()?;
    let rd_raw = rd.as_raw_fd();
    // SAFETY: the hook runs in the forked child before exec and only calls the
    // async-signal-safe read(2) and _exit(2) on a descriptor inherited from the parent.
    unsafe {
        cmd.pre_exec(move || {
            let mut b = [0u8; 1];
            let n = libc::read(rd_raw, b.as_mut_ptr().cast(), 1);
            if n != 1 {
                libc::_exit(127);
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|source| Error::Syscall {
        op: "spawn command",
        source,
    })?;
    drop(rd);
    Ok(HeldChild {
        child,
        go: Some(wr),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn held_child_waits_for_release() {
        let dir = std::env::temp_dir().join(format!("corebpf-held-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let mut cmd = Command::new("touch");
        cmd.arg(&dir);
        let mut held = spawn_held(&mut cmd).expect("spawn");
        std::thread::sleep(Duration::from_millis(200));
        assert!(!dir.exists(), "the command ran before release");
        held.release().expect("release");
        let status = held.child.wait().expect("wait");
        assert!(status.success());
        assert!(dir.exists());
        std::fs::remove_file(&dir).ok();
    }

    #[test]
    fn abandoned_child_never_runs_its_command() {
        let start = Instant::now();
        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        let held = spawn_held(&mut cmd).expect("spawn");
        let mut child = held.abandon();
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(127));
        assert!(start.elapsed() < Duration::from_secs(4));
    }
}
