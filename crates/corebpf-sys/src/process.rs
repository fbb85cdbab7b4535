//! Starting a command that waits until its parent says go (so tracing is attached before the
//! command's first instruction).
//!
//! `std::process::Command::spawn` waits for the child to `exec`, so a child held *before*
//! exec cannot be built on it; this module forks and execs itself. Everything the child needs
//! (path, argument and environment vectors) is prepared before `fork`, and the child only calls
//! async-signal-safe functions (`read`, `write`, `execve`, `_exit`).

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use crate::{Error, Result};

/// A forked child held before `exec` until [`HeldChild::release`].
#[derive(Debug)]
pub struct HeldChild {
    pid: i32,
    go: Option<OwnedFd>,
    exec_err: Option<OwnedFd>,
    status: Option<ExitStatus>,
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

fn cstr(op: &'static str, s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::InvalidArgument {
        op,
        problem: format!("{s:?} contains a NUL byte"),
    })
}

/// `program` as given when it has a slash, else the first executable match on `PATH`.
fn resolve(program: &OsStr) -> Result<PathBuf> {
    let p = Path::new(program);
    if program.as_bytes().contains(&b'/') {
        return Ok(p.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let cand = dir.join(p);
        if let Ok(meta) = std::fs::metadata(&cand) {
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(cand);
            }
        }
    }
    Err(Error::InvalidArgument {
        op: "start command",
        problem: format!("{} not found on PATH", p.display()),
    })
}

/// Forks a child that will run `program args...` once released; until then it blocks. If the
/// handle is dropped (or [`HeldChild::abandon`]ed) first, the child exits with status 127
/// without running anything.
pub fn spawn_held(program: &OsStr, args: &[OsString]) -> Result<HeldChild> {
    const OP: &str = "start command";
    let path = cstr(OP, resolve(program)?.as_os_str())?;
    let mut argv_c = vec![cstr(OP, program)?];
    for a in args {
        argv_c.push(cstr(OP, a)?);
    }
    let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let env_c: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            CString::new(kv.as_bytes()).ok()
        })
        .collect();
    let mut envp: Vec<*const libc::c_char> = env_c.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    let (go_rd, go_wr) = pipe()?;
    let (err_rd, err_wr) = pipe()?;
    // SAFETY: fork has no preconditions; the child branch below only uses async-signal-safe
    // calls on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::Syscall {
            op: "fork",
            source: io::Error::last_os_error(),
        });
    }
    if pid == 0 {
        // SAFETY: in the child: the descriptors are open, the buffers and vectors were built
        // before fork and stay valid until execve or _exit.
        unsafe {
            libc::close(go_wr.as_raw_fd());
            let mut b = [0u8; 1];
            if libc::read(go_rd.as_raw_fd(), b.as_mut_ptr().cast(), 1) != 1 {
                libc::_exit(127);
            }
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            let errno = *libc::__errno_location();
            let bytes = errno.to_ne_bytes();
            libc::write(err_wr.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127);
        }
    }
    drop(go_rd);
    drop(err_wr);
    Ok(HeldChild {
        pid,
        go: Some(go_wr),
        exec_err: Some(err_rd),
        status: None,
    })
}

impl HeldChild {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child run its command; an error says why `exec` failed (the child is reaped).
    pub fn release(&mut self) -> Result<()> {
        if let Some(fd) = self.go.take() {
            let mut f = std::fs::File::from(fd);
            f.write_all(b"g").map_err(|source| Error::Syscall {
                op: "release command",
                source,
            })?;
        }
        if let Some(fd) = self.exec_err.take() {
            let mut f = std::fs::File::from(fd);
            let mut buf = Vec::new();
            // EOF without data: execve succeeded (the pipe closed on exec).
            f.read_to_end(&mut buf).map_err(|source| Error::Syscall {
                op: "release command",
                source,
            })?;
            if buf.len() >= 4 {
                let errno = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let _ = self.wait();
                return Err(Error::Syscall {
                    op: "exec command",
                    source: io::Error::from_raw_os_error(errno),
                });
            }
        }
        Ok(())
    }

    fn waitpid(&mut self, flags: i32) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut status = 0i32;
        loop {
            // SAFETY: `status` is a valid out-pointer; `pid` is our unreaped child.
            let ret = unsafe { libc::waitpid(self.pid, &mut status, flags) };
            if ret < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(Error::Syscall {
                    op: "wait for command",
                    source: e,
                });
            }
            if ret == 0 {
                return Ok(None);
            }
            let s = ExitStatus::from_raw(status);
            self.status = Some(s);
            return Ok(Some(s));
        }
    }

    /// Waits for the child to exit.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.go.take();
        loop {
            if let Some(s) = self.waitpid(0)? {
                return Ok(s);
            }
        }
    }

    /// The exit status if the child has exited, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.waitpid(libc::WNOHANG)
    }

    /// Sends `signal` to the child (if it has not been reaped).
    pub fn signal(&self, signal: i32) -> Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // SAFETY: kill has no memory arguments.
        if unsafe { libc::kill(self.pid, signal) } < 0 {
            return Err(Error::Syscall {
                op: "signal command",
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Gives up on the command: the child exits (status 127) without running it; returns its
    /// status once reaped.
    pub fn abandon(mut self) -> Result<ExitStatus> {
        self.go.take();
        self.exec_err.take();
        self.wait()
    }
}

impl Drop for HeldChild {
    fn drop(&mut self) {
        // A held child exits on its own once the go pipe closes; reap it if it already has.
        self.go.take();
        if self.status.is_none() {
            let _ = self.waitpid(libc::WNOHANG);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn held_child_waits_for_release() {
        let file = std::env::temp_dir().join(format!("corebpf-held-{}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let mut held =
            spawn_held(OsStr::new("touch"), &[file.clone().into_os_string()]).expect("spawn");
        std::thread::sleep(Duration::from_millis(200));
        assert!(!file.exists(), "the command ran before release");
        assert_eq!(held.try_wait().expect("try_wait"), None);
        held.release().expect("release");
        assert!(held.wait().expect("wait").success());
        assert!(file.exists());
        std::fs::remove_file(&file).ok();
    }

    #[test]
    fn abandoned_child_never_runs_its_command() {
        let start = Instant::now();
        let held = spawn_held(OsStr::new("sleep"), &["5".into()]).expect("spawn");
        assert_eq!(held.abandon().expect("reap").code(), Some(127));
        assert!(start.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn exec_failure_is_reported_at_release() {
        let mut held = spawn_held(OsStr::new("/nonexistent/corebpf-cmd"), &[]).expect("spawn");
        let err = held.release().expect_err("exec must fail");
        assert_eq!(err.errno(), Some(libc::ENOENT), "{err}");
        assert!(spawn_held(OsStr::new("corebpf-no-such-command"), &[]).is_err());
    }
}
