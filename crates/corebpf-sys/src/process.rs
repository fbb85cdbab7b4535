//! Starting a command that waits until its parent says go (so tracing is attached before the
//! command's first instruction), and stopping it again.
//!
//! `std::process::Command::spawn` waits for the child to `exec`, so a child held *before*
//! exec cannot be built on it; this module forks and execs itself. Everything the child needs
//! (path, argument and environment vectors, its name) is prepared before `fork`, and the child
//! only calls async-signal-safe functions (`prctl`, `read`, `write`, `execve`,
//! `_exit`).
//!
//! Before it blocks, the child
//!
//! - asks for `SIGKILL` when its parent dies (`PR_SET_PDEATHSIG`), so the command never outlives
//!   the process that started it, even when that process is killed with `SIGKILL` and has no
//!   chance to clean up. The setting survives `execve` except into a set-user-ID, set-group-ID
//!   or file-capability program, and it follows the *thread* that forked: spawn from a thread
//!   that lives as long as the command should;
//! - names itself after the command's file name (`PR_SET_NAME`, 15 bytes), so what tracing sees
//!   of it before `exec` (the `sys_enter_execve` of the command itself) carries the command's
//!   name rather than the parent's.
//!
//! A [`HeldChild`] that is dropped without being waited for is killed and reaped.

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The longest name a task can have (`TASK_COMM_LEN` less its NUL).
const COMM_LEN: usize = 15;

/// A forked child held before `exec` until [`HeldChild::release`].
#[derive(Debug)]
pub struct HeldChild {
    pid: i32,
    go: Option<OwnedFd>,
    exec_err: Option<OwnedFd>,
    status: Option<ExitStatus>,
}

/// How [`HeldChild::terminate`] ended the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termination {
    /// Its exit status.
    pub status: ExitStatus,
    /// The signal sent to end it: `None` when it had already exited (or was still held and
    /// left without running anything), `SIGTERM`, or `SIGKILL` when it outlived the grace
    /// period.
    pub sent: Option<i32>,
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

/// The name a task running `program` gets from the kernel: its file name, cut to 15 bytes.
fn comm_of(program: &OsStr) -> CString {
    let bytes = program.as_bytes();
    let base = bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes);
    let base = &base[..base.len().min(COMM_LEN)];
    // A NUL would end the name early anyway: keep what precedes it.
    let base = base.split(|&b| b == 0).next().unwrap_or_default();
    CString::new(base).unwrap_or_default()
}

/// Forks a child that will run `program args...` once released; until then it blocks. If the
/// handle is [`HeldChild::abandon`]ed first, the child exits with status 127 without running
/// anything; if it is dropped, the child is killed and reaped. The child is killed when the
/// calling thread ends (see the module notes).
pub fn spawn_held(program: &OsStr, args: &[OsString]) -> Result<HeldChild> {
    const OP: &str = "start command";
    let path = cstr(OP, resolve(program)?.as_os_str())?;
    let comm = comm_of(program);
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
            // Die with the parent. A parent gone before this point has closed the go pipe:
            // the read below sees its end and nothing runs. (No other system call here:
            // tracing that counts the command's calls sees only these before its `execve`.)
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            libc::prctl(libc::PR_SET_NAME, comm.as_ptr() as libc::c_ulong, 0, 0, 0);
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
    let held = HeldChild {
        pid,
        go: Some(go_wr),
        exec_err: Some(err_rd),
        status: None,
    };
    wait_until_blocked(pid);
    Ok(held)
}

/// Waits (up to 2 s) until child `pid` sits in its blocking `read`, so every system call it
/// makes before `exec` has entered the kernel before anything is attached: tracing attached
/// after `spawn_held` returns sees the command from its `execve` on, never half of its
/// preparation. `/proc/PID/syscall` names the call a blocked task is in; where it cannot be
/// read, a sleeping state in `/proc/PID/stat` stands in.
fn wait_until_blocked(pid: i32) {
    let read_nr = format!("{} ", libc::SYS_read);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/syscall")) {
            Ok(text) if text.starts_with(&read_nr) => return,
            Ok(_) => {}
            Err(_) => {
                let sleeping = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| {
                        let (_, rest) = stat.rsplit_once(')')?;
                        // Running (R) or in the kernel uninterruptibly (D): not there yet.
                        rest.split_whitespace().next().map(|s| s != "R" && s != "D")
                    });
                match sleeping {
                    Some(true) | None => return,
                    Some(false) => {}
                }
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
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

    /// Whether the child has been released to run its command.
    pub fn is_released(&self) -> bool {
        self.go.is_none()
    }

    /// Ends the child and reaps it: a child still held exits without running anything; a
    /// running one gets `SIGTERM`, then `SIGKILL` if it has not exited after `grace`.
    pub fn terminate(&mut self, grace: Duration) -> Result<Termination> {
        if let Some(status) = self.try_wait()? {
            return Ok(Termination { status, sent: None });
        }
        if !self.is_released() {
            self.go.take();
            self.exec_err.take();
            let status = self.wait()?;
            return Ok(Termination { status, sent: None });
        }
        self.signal(libc::SIGTERM)?;
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Termination {
                    status,
                    sent: Some(libc::SIGTERM),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
        }
        self.signal(libc::SIGKILL)?;
        let status = self.wait()?;
        Ok(Termination {
            status,
            sent: Some(libc::SIGKILL),
        })
    }
}

impl Drop for HeldChild {
    fn drop(&mut self) {
        // Nothing may outlive its handle: a held child would exit by itself once the go pipe
        // closes, a running one is killed; both are reaped here so no zombie stays either.
        self.go.take();
        self.exec_err.take();
        if self.status.is_none() {
            let _ = self.signal(libc::SIGKILL);
            let _ = self.waitpid(0);
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

    fn comm(pid: u32) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .expect("comm")
            .trim_end()
            .to_string()
    }

    #[test]
    fn held_child_carries_the_command_s_name() {
        let held = spawn_held(OsStr::new("/bin/true"), &[]).expect("spawn");
        // spawn_held returns once the child is blocked in its read: named by then.
        let syscall = std::fs::read_to_string(format!("/proc/{}/syscall", held.id()))
            .expect("/proc/PID/syscall");
        assert!(
            syscall.starts_with(&format!("{} ", libc::SYS_read)),
            "{syscall}"
        );
        assert_eq!(comm(held.id()), "true");
        assert_eq!(held.abandon().expect("reap").code(), Some(127));
        assert_eq!(
            comm_of(OsStr::new("/opt/x/a-very-long-command-name")).to_bytes(),
            b"a-very-long-com"
        );
        assert_eq!(comm_of(OsStr::new("ls")).to_bytes(), b"ls");
    }

    #[test]
    fn terminate_sends_sigterm_then_sigkill() {
        let mut held = spawn_held(OsStr::new("sleep"), &["30".into()]).expect("spawn");
        held.release().expect("release");
        let t = held.terminate(Duration::from_secs(5)).expect("terminate");
        assert_eq!(t.sent, Some(libc::SIGTERM));
        assert_eq!(t.status.signal(), Some(libc::SIGTERM));

        // A command that ignores SIGTERM is killed once the grace period is over.
        let mut held = spawn_held(
            OsStr::new("sh"),
            &["-c".into(), "trap '' TERM; exec sleep 30".into()],
        )
        .expect("spawn");
        held.release().expect("release");
        // Let the shell install its trap before the signal comes.
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        let t = held
            .terminate(Duration::from_millis(400))
            .expect("terminate");
        assert_eq!(t.sent, Some(libc::SIGKILL));
        assert_eq!(t.status.signal(), Some(libc::SIGKILL));
        assert!(start.elapsed() >= Duration::from_millis(400));
        assert!(start.elapsed() < Duration::from_secs(10));

        // A held child is let go without running anything; an exited one is just reported.
        let mut held = spawn_held(OsStr::new("sleep"), &["30".into()]).expect("spawn");
        let t = held.terminate(Duration::from_secs(1)).expect("terminate");
        assert_eq!((t.sent, t.status.code()), (None, Some(127)));
        let mut held = spawn_held(OsStr::new("true"), &[]).expect("spawn");
        held.release().expect("release");
        while held.try_wait().expect("try_wait").is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let t = held.terminate(Duration::from_secs(1)).expect("terminate");
        assert_eq!((t.sent, t.status.code()), (None, Some(0)));
    }

    #[test]
    fn dropping_a_running_child_kills_and_reaps_it() {
        let mut held = spawn_held(OsStr::new("sleep"), &["30".into()]).expect("spawn");
        held.release().expect("release");
        let pid = held.id();
        let start = Instant::now();
        drop(held);
        assert!(start.elapsed() < Duration::from_secs(5));
        // Reaped: not even a zombie is left.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn the_command_dies_with_the_thread_that_started_it() {
        // PR_SET_PDEATHSIG fires when the forking thread ends: a thread standing in for a
        // parent process that is killed.
        let mut held = std::thread::spawn(|| {
            let mut held = spawn_held(OsStr::new("sleep"), &["30".into()]).expect("spawn");
            held.release().expect("release");
            held
        })
        .join()
        .expect("thread");
        let start = Instant::now();
        let status = held.wait().expect("wait");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
