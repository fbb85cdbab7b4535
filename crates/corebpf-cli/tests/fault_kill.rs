//! `corebpf run` when it is stopped from outside: killed with SIGKILL while events stream, or
//! ended by SIGINT, SIGTERM or `--duration`, and when it fails after starting its command.
//! Whatever the way out, the command it started must be gone and every program, map and link
//! it created must leave the kernel. The ids checked are exactly the runner's own, read from
//! its `/proc/PID/fdinfo` while it runs, and looked up afterwards in `bpftool -j` listings.
//!
//! Needs root, clang-19 and bpftool. Tests run one at a time.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

/// A tracepoint program with an event stream (ring buffer), a hash map and a global: one
/// event and one count per execve, keyed by the calling process.
const SNOOP: &str = r#"
#include "vmlinux.h"
#include <corebpf/bpf.h>

struct exec_event {
	__u32 pid;
	__u32 ppid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} fault_events SEC(".maps");

COREBPF_EVENT(fault_events, struct exec_event);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} fault_counts SEC(".maps");

__u64 fault_execs = 0;

SEC("tracepoint/syscalls/sys_enter_execve")
int fault_on_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n;
	struct exec_event *e;

	__sync_fetch_and_add(&fault_execs, 1);
	n = bpf_map_lookup_elem(&fault_counts, &pid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&fault_counts, &pid, &one, BPF_ANY);
	e = bpf_ringbuf_reserve(&fault_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

COREBPF_LICENSE("GPL");
"#;

/// A command that keeps exec'ing: an event source that never stops by itself.
const BUSY: [&str; 3] = ["sh", "-c", "while :; do /bin/true; done"];

fn corebpf() -> &'static str {
    env!("CARGO_BIN_EXE_corebpf")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fault-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn snoop_source() -> PathBuf {
    let src = scratch("src").join("faultsnoop.bpf.c");
    std::fs::write(&src, SNOOP).expect("write source");
    src
}

/// The kernel objects an fd table holds, by kind.
#[derive(Debug, Default, Clone)]
struct Ids {
    progs: BTreeSet<u64>,
    maps: BTreeSet<u64>,
    links: BTreeSet<u64>,
}

impl Ids {
    fn is_empty(&self) -> bool {
        self.progs.is_empty() && self.maps.is_empty() && self.links.is_empty()
    }
}

fn fdinfo_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
}

/// The programs, maps and links process `pid` holds open, from `/proc/PID/fd` and `fdinfo`.
fn held_ids(pid: u32) -> Ids {
    let mut ids = Ids::default();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return ids;
    };
    for e in dir.flatten() {
        let Ok(target) = std::fs::read_link(e.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        let info = std::fs::read_to_string(format!(
            "/proc/{pid}/fdinfo/{}",
            e.file_name().to_string_lossy()
        ))
        .unwrap_or_default();
        match target.as_str() {
            "anon_inode:bpf-prog" => ids.progs.extend(fdinfo_field(&info, "prog_id:")),
            "anon_inode:bpf-map" => ids.maps.extend(fdinfo_field(&info, "map_id:")),
            "anon_inode:bpf_link" => ids.links.extend(fdinfo_field(&info, "link_id:")),
            _ => {}
        }
    }
    ids
}

/// Ids of every object of `kind` in the kernel, from `bpftool -j KIND show`.
fn bpftool_ids(kind: &str) -> BTreeSet<u64> {
    let out = Command::new("bpftool")
        .args(["-j", kind, "show"])
        .output()
        .expect("bpftool must be installed (apt-get install bpftool)");
    assert!(
        out.status.success(),
        "bpftool {kind} show: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("id")?.as_u64())
        .collect()
}

/// Of `ids`, those still in the kernel.
fn still_in_kernel(ids: &Ids) -> Ids {
    Ids {
        progs: ids
            .progs
            .intersection(&bpftool_ids("prog"))
            .copied()
            .collect(),
        maps: ids
            .maps
            .intersection(&bpftool_ids("map"))
            .copied()
            .collect(),
        links: ids
            .links
            .intersection(&bpftool_ids("link"))
            .copied()
            .collect(),
    }
}

/// Waits (the kernel frees objects from a work queue after the last reference goes) until none
/// of `ids` is in the kernel.
fn assert_released(ids: &Ids) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = still_in_kernel(ids);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left in the kernel 10 s after corebpf ended: {left:?} (of {ids:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether process `pid` is alive: it exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn assert_gone(pid: u32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "{what} (pid {pid}) still runs 5 s after corebpf ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `corebpf run --json` in progress, its stdout read line by line on a thread.
struct Runner {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<Value>,
}

impl Runner {
    fn start(args: &[&str]) -> Runner {
        let mut child = Command::new(corebpf())
            .args(["run", "--json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start corebpf");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Runner {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads output until `want` matches a line (within 60 s: the first run compiles).
    fn wait_for(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    self.seen.push(v.clone());
                    if want(&v) {
                        return v;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let out = self.child.wait_with_output_now();
                    panic!("no {what} from corebpf run within 60 s; stderr:\n{out}");
                }
            }
        }
    }

    /// Waits for the exec event of the command itself (the runner's child) and returns the
    /// command's pid, checking that the event already carries the command's name.
    fn command_pid(&mut self, comm: &str) -> u32 {
        let runner = u64::from(self.pid());
        let ev = self.wait_for("exec event of the command", |v| {
            v["event"] == "fault_events" && v["data"]["ppid"].as_u64() == Some(runner)
        });
        assert_eq!(
            ev["data"]["comm"], comm,
            "the command's own execve is seen under its name: {ev}"
        );
        let pid = ev["data"]["pid"].as_u64().expect("pid");
        u32::try_from(pid).expect("pid fits")
    }

    /// Waits until events from the command's children flow.
    fn wait_for_stream(&mut self, command: u32) {
        for _ in 0..3 {
            self.wait_for("events from the command's children", |v| {
                v["event"] == "fault_events" && v["data"]["ppid"].as_u64() == Some(command.into())
            });
        }
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(st.success(), "kill -{sig}");
    }

    /// Waits for corebpf to end; returns its status, every JSON line and its stderr.
    fn finish(mut self) -> (ExitStatus, Vec<Value>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "corebpf run did not end in 30 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        // The rest of the output, up to the end of the pipe (which the command and its
        // children hold too: a command left behind would keep it open).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        self.seen.push(v);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("corebpf's stdout still open 10 s after it ended: a process holds it")
                }
            }
        }
        let err = self.child.wait_with_output_now();
        (status, self.seen, err)
    }
}

trait StderrNow {
    fn wait_with_output_now(&mut self) -> String;
}

impl StderrNow for Child {
    /// The stderr of an ended child.
    fn wait_with_output_now(&mut self) -> String {
        use std::io::Read;
        let _ = self.wait();
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

#[test]
fn sigkill_leaves_no_command_and_no_kernel_object() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let src = snoop_source();
    let mut args = vec![src.to_str().expect("utf-8"), "--"];
    args.extend(BUSY);
    let mut runner = Runner::start(&args);
    let command = runner.command_pid("sh");
    runner.wait_for_stream(command);
    let ids = held_ids(runner.pid());
    assert_eq!(ids.progs.len(), 1, "one program: {ids:?}");
    // The ring buffer, the hash map and .bss.
    assert!(ids.maps.len() >= 3, "{ids:?}");
    assert!(alive(command));

    runner.signal("KILL");
    let (status, _, _) = runner.finish();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9));
    // The command got SIGKILL from the kernel when its parent died (PR_SET_PDEATHSIG).
    assert_gone(command, "the command");
    assert_released(&ids);
}

/// SIGINT and SIGTERM: the command is stopped, the final maps and globals printed, the end
/// reported, everything detached, exit status 0.
fn signal_ends_the_run_cleanly(sig: &str) {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let src = snoop_source();
    let mut args = vec![src.to_str().expect("utf-8"), "--"];
    args.extend(BUSY);
    let mut runner = Runner::start(&args);
    let command = runner.command_pid("sh");
    runner.wait_for_stream(command);
    let ids = held_ids(runner.pid());
    assert!(!ids.progs.is_empty() && !ids.maps.is_empty(), "{ids:?}");

    runner.signal(sig);
    let (status, lines, stderr) = runner.finish();
    assert_eq!(
        status.code(),
        Some(0),
        "corebpf run after SIG{sig}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // How the command ended: SIGTERM from corebpf (or SIGKILL after the grace period).
    let end = lines
        .iter()
        .find(|l| l.get("command").is_some())
        .unwrap_or_else(|| panic!("no report of the command's end in {lines:?}"));
    assert_eq!(end["command"], "sh", "{end}");
    assert_eq!(end["stopped_by"], format!("SIG{sig}"), "{end}");
    assert!(
        end["signal"] == 15 || end["signal"] == 9,
        "the command ended by corebpf's signal: {end}"
    );

    // The final maps: the command's own execve counted once under its pid; the global counts
    // at least every event printed (other processes exec too, and a few of their events may
    // come after the last read).
    let counts = lines
        .iter()
        .find(|l| l["map"] == "fault_counts")
        .unwrap_or_else(|| panic!("no final dump of fault_counts in {lines:?}"));
    let entries = counts["entries"].as_array().expect("entries");
    let mine = entries
        .iter()
        .find(|e| e["key"].as_u64() == Some(command.into()))
        .unwrap_or_else(|| panic!("no count for the command (pid {command}) in {entries:?}"));
    assert_eq!(mine["value"], 1, "{mine}");
    let execs = lines
        .iter()
        .find(|l| l["global"] == "fault_execs")
        .and_then(|l| l["value"].as_u64())
        .unwrap_or_else(|| panic!("no global fault_execs in {lines:?}"));
    let events = lines
        .iter()
        .filter(|l| l["event"] == "fault_events")
        .count() as u64;
    assert!(
        events >= 4 && execs >= events,
        "{events} events, {execs} execs"
    );
    let children: u64 = entries
        .iter()
        .filter(|e| e["key"].as_u64() != Some(command.into()))
        .filter_map(|e| e["value"].as_u64())
        .sum();
    assert!(
        children >= 3,
        "the command's children were counted: {entries:?}"
    );

    assert_gone(command, "the command");
    assert_released(&ids);
}

#[test]
fn sigint_stops_the_command_prints_maps_and_detaches() {
    signal_ends_the_run_cleanly("INT");
}

#[test]
fn sigterm_stops_the_command_prints_maps_and_detaches() {
    signal_ends_the_run_cleanly("TERM");
}

#[test]
fn duration_stops_the_command() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let src = snoop_source();
    let src = src.to_str().expect("utf-8");

    // A command that would run for a minute ends with the run, by SIGTERM.
    let start = Instant::now();
    let out = Command::new(corebpf())
        .args(["run", "--duration", "1", src, "--", "sleep", "60"])
        .output()
        .expect("run corebpf");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30));
    let line = err
        .lines()
        .find(|l| l.starts_with("corebpf run: sleep (pid "))
        .unwrap_or_else(|| panic!("no report of the command's end:\n{err}"));
    assert!(
        line.ends_with(") stopped after --duration: killed by SIGTERM"),
        "{line}"
    );
    let pid: u32 = line["corebpf run: sleep (pid ".len()..]
        .split(')')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("pid in the report");
    assert_gone(pid, "sleep");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("fault_counts:"),
        "final maps printed:\n{stdout}"
    );

    // One that ignores SIGTERM gets SIGKILL after the grace period (1 s).
    let mut runner = Runner::start(&[
        "--duration",
        "1",
        src,
        "--",
        "sh",
        "-c",
        "trap '' TERM; while :; do sleep 0.05; done",
    ]);
    let command = runner.command_pid("sh");
    let (status, lines, stderr) = runner.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let end = lines
        .iter()
        .find(|l| l.get("command").is_some())
        .unwrap_or_else(|| panic!("no report of the command's end in {lines:?}"));
    assert_eq!(end["signal"], 9, "{end}");
    assert_eq!(end["stopped_by"], "--duration", "{end}");
    assert_gone(command, "the command ignoring SIGTERM");
}

#[test]
fn a_failed_attach_never_runs_the_command() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("attach");
    let src = dir.join("notp.bpf.c");
    std::fs::write(
        &src,
        "#include \"vmlinux.h\"\n#include <corebpf/bpf.h>\n\
         SEC(\"tracepoint/syscalls/sys_enter_no_such_call\") int nope(void *ctx) { return 0; }\n\
         COREBPF_LICENSE(\"GPL\");\n",
    )
    .expect("write");
    let marker = dir.join("the-command-ran");
    let out = Command::new(corebpf())
        .arg("run")
        .arg(&src)
        .arg("--")
        .arg("touch")
        .arg(&marker)
        .output()
        .expect("run corebpf");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("corebpf: no program attached: "), "{err}");
    assert!(
        !marker.exists(),
        "the command ran although nothing was attached"
    );
    // No process of the command is left (held or otherwise): none has the marker in its
    // command line.
    let marker_text = marker.to_string_lossy().into_owned();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&marker_text))
        .collect();
    assert!(left.is_empty(), "processes left: {left:?}");
}

#[test]
fn a_closed_output_ends_the_run() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let src = snoop_source();
    // `corebpf run ... | head -1`: once the reader is gone, the run ends as on SIGTERM.
    let mut child = Command::new(corebpf())
        .arg("run")
        .arg(&src)
        .arg("--")
        .args(BUSY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start corebpf");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read");
    assert!(first.starts_with("fault_events: "), "{first}");
    drop(stdout);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "corebpf run still runs 30 s after its output closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let err = child.wait_with_output_now();
    assert_eq!(status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("corebpf run: sh (pid "))
        .unwrap_or_else(|| panic!("no report of the command's end:\n{err}"));
    assert!(
        line.contains(") stopped after standard output closed: killed by SIG"),
        "{line}"
    );
    let pid: u32 = line["corebpf run: sh (pid ".len()..]
        .split(')')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("pid in the report");
    assert_gone(pid, "the command");
}
