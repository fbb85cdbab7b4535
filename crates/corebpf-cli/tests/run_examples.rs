//! `corebpf run` on the example programs around real commands, as root: JSON output checked
//! against strace's syscall counts and the commands' own facts, `--set` of strings, enums and
//! `@child`, histograms, `.bpf.o` input, error messages, and that no program, map or link of a
//! run is left in the kernel afterwards (checked with bpftool).
//!
//! Kernel tests run one at a time (they compare the kernel's object sets).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn corebpf() -> &'static str {
    env!("CARGO_BIN_EXE_corebpf")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> PathBuf {
    workspace().join("examples").join(format!("{name}.bpf.c"))
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-run-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kernel objects by kind, as bpftool lists them: (id, name) pairs.
fn bpftool_ids(kind: &str) -> BTreeSet<(u64, String)> {
    let out = Command::new("bpftool")
        .args([kind, "show", "-j"])
        .output()
        .expect("bpftool must be installed (apt-get install bpftool)");
    assert!(
        out.status.success(),
        "bpftool {kind} show: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Array(Vec::new()));
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let id = o.get("id")?.as_u64()?;
            let name = match kind {
                // Links are named by their program.
                "link" => format!("prog {}", o.get("prog_id")?.as_u64()?),
                _ => o
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            };
            Some((id, name))
        })
        .collect()
}

struct Snapshot {
    progs: BTreeSet<(u64, String)>,
    maps: BTreeSet<(u64, String)>,
    links: BTreeSet<(u64, String)>,
}

fn snapshot() -> Snapshot {
    Snapshot {
        progs: bpftool_ids("prog"),
        maps: bpftool_ids("map"),
        links: bpftool_ids("link"),
    }
}

/// Checks that nothing named like the run's programs and maps appeared since `before`, and
/// that no new link points at a program that appeared since.
fn assert_nothing_left(before: &Snapshot, progs: &[&str], maps: &[&str]) {
    // The kernel frees maps and programs after an RCU grace period: give it a moment.
    for _ in 0..50 {
        if leftovers(before, progs, maps).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if let Err(e) = leftovers(before, progs, maps) {
        panic!("{e}");
    }
}

fn leftovers(before: &Snapshot, progs: &[&str], maps: &[&str]) -> Result<(), String> {
    let after = snapshot();
    let new_progs: Vec<_> = after.progs.difference(&before.progs).collect();
    let leaked: Vec<_> = new_progs
        .iter()
        .filter(|(_, n)| {
            progs
                .iter()
                .any(|p| p.starts_with(n.as_str()) && !n.is_empty())
        })
        .collect();
    if !leaked.is_empty() {
        return Err(format!("programs left in the kernel: {leaked:?}"));
    }
    let leaked: Vec<_> = after
        .maps
        .difference(&before.maps)
        .filter(|(_, n)| {
            maps.iter()
                .any(|m| m.starts_with(n.as_str()) && !n.is_empty())
        })
        .collect();
    if !leaked.is_empty() {
        return Err(format!("maps left in the kernel: {leaked:?}"));
    }
    let new_prog_ids: BTreeSet<String> = new_progs
        .iter()
        .map(|(id, _)| format!("prog {id}"))
        .collect();
    let leaked: Vec<_> = after
        .links
        .difference(&before.links)
        .filter(|(_, p)| new_prog_ids.contains(p))
        .collect();
    if !leaked.is_empty() {
        return Err(format!("links left in the kernel: {leaked:?}"));
    }
    Ok(())
}

fn run(args: &[&str]) -> Output {
    Command::new(corebpf())
        .arg("run")
        .args(args)
        .output()
        .expect("run corebpf")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON lines of a successful run.
fn json_lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "corebpf run failed: {}", stderr(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn global<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["global"] == name)
        .map(|l| &l["value"])
        .unwrap_or_else(|| panic!("no global {name} in {lines:?}"))
}

fn exit_line(lines: &[Value]) -> &Value {
    lines
        .iter()
        .find(|l| l.get("exit").is_some() || l.get("signal").is_some())
        .expect("the command's exit is reported")
}

/// Builds a native helper from C with clang-19 (the same compiler the BPF side uses).
fn native(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let bin = dir.join(name);
    let out = Command::new("clang-19")
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("clang-19 must be installed (apt-get install clang-19)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Total syscalls of `cmd` as strace counts them (`-c`: execve counted, exit_group not).
fn strace_count(cmd: &[&str], only: Option<&str>) -> u64 {
    let mut c = Command::new("strace");
    c.args(["-f", "-c", "-o", "/dev/stdout"]);
    if let Some(s) = only {
        c.arg(format!("-etrace={s}"));
    }
    let out = c
        .args(cmd)
        .output()
        .expect("strace must be installed (apt-get install strace)");
    // strace exits with the command's status; the summary is what counts.
    let text = String::from_utf8_lossy(&out.stdout);
    let total = text
        .lines()
        .find(|l| l.trim_end().ends_with("total"))
        .unwrap_or_else(|| panic!("no total in strace output:\n{text}"));
    // "100.00    0.000000           0        29         1 total": calls is the 4th column.
    total.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[test]
fn execsnoop_events_are_decoded() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = snapshot();
    let mut child = Command::new(corebpf())
        .args(["run", "--json"])
        .arg(example("execsnoop"))
        .args(["--", "/bin/echo", "corebpf-run-test"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let runner_pid = u64::from(child.id());
    let _ = &mut child;
    let out = child.wait_with_output().unwrap();
    let lines = json_lines(&out);
    let ev = lines
        .iter()
        .find(|l| l["event"] == "events" && l["data"]["filename"] == "/bin/echo")
        .unwrap_or_else(|| panic!("no exec event of /bin/echo in {lines:?}"));
    // The held command is a child of the runner; before exec it already has its own name.
    assert_eq!(ev["data"]["ppid"].as_u64(), Some(runner_pid));
    assert_eq!(ev["data"]["comm"], "echo");
    assert_eq!(ev["data"]["uid"].as_u64(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("corebpf-run-test\n"));
    assert_eq!(exit_line(&lines)["exit"], 0);
    assert_nothing_left(&before, &["handle_execve"], &["events"]);
}

#[test]
fn syscall_counts_per_process_match_strace() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let want = strace_count(&["/bin/true"], None);
    let before = snapshot();
    let out = run(&[
        "--json",
        example("procsyscalls").to_str().unwrap(),
        "--",
        "/bin/true",
    ]);
    let lines = json_lines(&out);
    let map = lines
        .iter()
        .find(|l| l["map"] == "syscalls")
        .expect("the syscalls map is printed");
    let entries = map["entries"].as_array().unwrap();
    let mine: Vec<&Value> = entries
        .iter()
        .filter(|e| e["key"]["comm"] == "true")
        .collect();
    assert!(!mine.is_empty(), "no entry for true in {entries:?}");
    // The held command is named `true` before its execve: every syscall strace counts
    // (execve included) plus exit_group, which strace -c leaves out.
    let child_entry = mine
        .iter()
        .max_by_key(|e| e["key"]["pid"].as_u64())
        .unwrap();
    assert_eq!(child_entry["value"].as_u64(), Some(want + 1), "{entries:?}");
    assert_nothing_left(&before, &["count_syscall"], &["syscalls"]);
}

const GETPPID_LOOP: &str = r#"
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	for (int i = 0; i < n; i++)
		getppid();
	return 3;
}
"#;

#[test]
fn two_programs_on_one_tracepoint() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("two");
    let bin = native(&dir, "getppid_loop", GETPPID_LOOP);
    let bin = bin.to_str().unwrap();
    let want = strace_count(&[bin, "250"], Some("getppid"));
    assert!(want >= 250);
    let before = snapshot();
    let out = run(&[
        "--json",
        example("twoprobes").to_str().unwrap(),
        "--set",
        "target_pid=@child",
        "--",
        bin,
        "250",
    ]);
    let lines = json_lines(&out);
    assert_eq!(global(&lines, "first_hits").as_u64(), Some(want));
    assert_eq!(global(&lines, "second_hits").as_u64(), Some(2 * want));
    assert_eq!(
        exit_line(&lines)["exit"],
        3,
        "the command's status is reported"
    );
    assert_nothing_left(
        &before,
        &["first", "second"],
        &["twoprobes.bss", "twoprobes.rodata"],
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn check_greeting(lines: &[Value], greeting: &str, mood: &str, loud: bool) {
    assert_eq!(global(lines, "seen_greeting"), greeting);
    assert_eq!(global(lines, "seen_mood"), mood);
    assert_eq!(global(lines, "seen_loud"), loud);
    assert_eq!(global(lines, "execs"), 1);
    assert_eq!(global(lines, "countdown"), -2);
    // The command (/bin/true) is named before its execve fires.
    assert_eq!(global(lines, "exec_comm"), "true");
}

#[test]
fn globals_set_from_the_command_line() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = snapshot();
    let src = example("greeting");
    let src = src.to_str().unwrap();
    // Defaults.
    let lines = json_lines(&run(&[
        "--json",
        src,
        "--set",
        "target_pid=@child",
        "--",
        "/bin/true",
    ]));
    check_greeting(&lines, "hello", "MOOD_CALM", false);
    // A string, an enum by name, a bool.
    let lines = json_lines(&run(&[
        "--json",
        src,
        "--set",
        "greeting=howdy partner",
        "--set",
        "mood=MOOD_GRUMPY",
        "--set",
        "loud=true",
        "--set",
        "target_pid=@child",
        "--",
        "/bin/true",
    ]));
    check_greeting(&lines, "howdy partner", "MOOD_GRUMPY", true);
    // An enum by number, a string of exactly the array's length less its NUL.
    let lines = json_lines(&run(&[
        "--json",
        src,
        "--set",
        "mood=2",
        "--set",
        "greeting=fifteen chars!!",
        "--set",
        "target_pid=@child",
        "--",
        "/bin/true",
    ]));
    check_greeting(&lines, "fifteen chars!!", "MOOD_CHEERFUL", false);
    assert_nothing_left(
        &before,
        &["on_execve"],
        &["greeting.bss", "greeting.data", "greeting.rodata"],
    );
}

#[test]
fn bad_set_values_fail_before_the_command_runs() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("badset");
    let marker = dir.join("ran");
    let src = example("greeting");
    let src = src.to_str().unwrap();
    let cases: [(&str, &str); 5] = [
        (
            "mood=MOOD_HAPPY",
            "corebpf: --set mood=MOOD_HAPPY: `MOOD_HAPPY` is not an enumerator of enum mood \
             (MOOD_CALM, MOOD_CHEERFUL, MOOD_GRUMPY)\n",
        ),
        (
            "nosuch=1",
            "corebpf: --set nosuch=1: the program has no global variable `nosuch`\n",
        ),
        (
            "greeting=seventeen chars!!",
            "corebpf: --set greeting=seventeen chars!!: string of 17 bytes does not fit char[16]\n",
        ),
        (
            "target_pid=-1",
            "corebpf: --set target_pid=-1: -1 does not fit a unsigned 32-bit integer \
             (0..=4294967295)\n",
        ),
        (
            "loud=maybe",
            "corebpf: --set loud=maybe: `maybe` is not a bool (true/false)\n",
        ),
    ];
    for (set, message) in cases {
        let out = run(&[src, "--set", set, "--", "touch", marker.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{set}");
        assert_eq!(stderr(&out), message);
        assert!(
            !marker.exists(),
            "the command ran although --set {set} failed"
        );
    }
    let out = run(&[src, "--set", "target_pid=@child"]);
    assert_eq!(
        stderr(&out),
        "corebpf: --set target_pid=@child: @child needs a command after --\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn log2_histogram_of_a_sleep() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = snapshot();
    let src = example("nanosleeplat");
    let lines = json_lines(&run(&[
        "--json",
        src.to_str().unwrap(),
        "--set",
        "target_pid=@child",
        "--",
        "sleep",
        "0.05",
    ]));
    let hist = lines
        .iter()
        .find(|l| l["hist"] == "sleep_usecs")
        .expect("the histogram is printed");
    let buckets = hist["buckets"].as_array().unwrap();
    let total: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 1, "one sleep: {buckets:?}");
    let last = buckets.last().unwrap();
    assert_eq!(last["count"], 1);
    // 50 ms = 50000 us lies in [32768, 65536) unless the sleep overran a lot.
    let lo = last["lo"].as_u64().unwrap();
    assert!(lo >= 32768, "{last}");
    assert_eq!(last["hi"].as_u64(), Some(lo * 2));
    // Buckets are [0,1), [1,2), [2,4), ... contiguous from zero.
    for (i, b) in buckets.iter().enumerate().skip(1) {
        assert_eq!(b["lo"].as_u64(), Some(1 << (i - 1)));
    }
    // The start map (a hash) is printed too, empty after the sleep returned.
    let start = lines.iter().find(|l| l["map"] == "start").unwrap();
    assert_eq!(start["entries"], Value::Array(Vec::new()));
    assert_nothing_left(
        &before,
        &[
            "nanosleep_enter",
            "nanosleep_exit",
            "clock_nanosleep_enter",
            "clock_nanosleep_exit",
        ],
        &["start", "sleep_usecs"],
    );

    // Text output: bcc's layout.
    let out = run(&[
        src.to_str().unwrap(),
        "--set",
        "target_pid=@child",
        "--",
        "sleep",
        "0.05",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sleep_usecs:\n"), "{text}");
    assert!(text.contains(" : count    distribution\n"), "{text}");
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("[32768, 65536)") || l.contains(&format!("[{lo}, ")))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.ends_with(&format!("|{}|", "*".repeat(40))), "{row}");
}

#[test]
fn object_input_and_interval_dumps() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("obj");
    let obj = dir.join("twoprobes.bpf.o");
    corebpf::compile::compile(&example("twoprobes"), &obj, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let bin = native(&dir, "getppid_loop", GETPPID_LOOP);
    let script = format!("sleep 0.5; exec {} 40", bin.display());
    // sh asks for its parent's pid too; sleep (another process) does not.
    let want = strace_count(&["sh", "-c", &script], Some("getppid"));
    let before = snapshot();
    let lines = json_lines(&run(&[
        "--json",
        "--interval",
        "0.2",
        obj.to_str().unwrap(),
        "--set",
        "target_pid=@child",
        "--",
        "sh",
        "-c",
        &script,
    ]));
    // Interval dumps while sh sleeps (only sh's own getppid counted yet), then the final one.
    let firsts: Vec<u64> = lines
        .iter()
        .filter(|l| l["global"] == "first_hits")
        .map(|l| l["value"].as_u64().unwrap())
        .collect();
    assert!(firsts.len() >= 3, "{firsts:?}");
    assert!(firsts.first() < Some(&40), "{firsts:?}");
    assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{firsts:?}");
    assert_eq!(firsts.last(), Some(&want));
    assert_nothing_left(&before, &["first", "second"], &["twoprobes.bss"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn interrupt_ends_the_run_cleanly() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = snapshot();
    let child = Command::new(corebpf())
        .args(["run", "--json"])
        .arg(example("procsyscalls"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let lines = json_lines(&out);
    let map = lines
        .iter()
        .find(|l| l["map"] == "syscalls")
        .expect("final dump");
    assert!(!map["entries"].as_array().unwrap().is_empty());
    assert_nothing_left(&before, &["count_syscall"], &["syscalls"]);
}

#[test]
fn duration_without_command() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let start = std::time::Instant::now();
    let lines = json_lines(&run(&[
        "--json",
        "--duration",
        "1",
        example("twoprobes").to_str().unwrap(),
    ]));
    assert!(start.elapsed() >= std::time::Duration::from_secs(1));
    let first = global(&lines, "first_hits").as_u64().unwrap();
    assert_eq!(global(&lines, "second_hits").as_u64(), Some(2 * first));
}

#[test]
fn user_errors_get_one_sentence() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("errors");
    // A tracepoint this kernel does not have.
    let src = dir.join("notp.bpf.c");
    std::fs::write(
        &src,
        "#include \"vmlinux.h\"\n#include <corebpf/bpf.h>\n\
         SEC(\"tracepoint/syscalls/sys_enter_no_such_call\") int nope(void *ctx) { return 0; }\n\
         COREBPF_LICENSE(\"GPL\");\n",
    )
    .unwrap();
    let out = run(&[src.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with(
            "corebpf: no program attached: tracepoint syscalls/sys_enter_no_such_call: \
             tracepoint id: tracepoint syscalls/sys_enter_no_such_call does not exist in this \
             kernel (no /sys/kernel/tracing/events/syscalls/sys_enter_no_such_call/id)\n"
        ),
        "{}",
        stderr(&out)
    );
    // A compile error shows clang's diagnostics.
    let bad = dir.join("bad.bpf.c");
    std::fs::write(&bad, "int f(void) { return undeclared_thing; }\n").unwrap();
    let out = run(&[bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("use of undeclared identifier 'undeclared_thing'"),
        "{}",
        stderr(&out)
    );
    // No clang on PATH names the package.
    let out = Command::new(corebpf())
        .args(["run", src.to_str().unwrap()])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        "corebpf: clang not found (looked for clang-19 and clang on PATH): install the Debian \
         package clang-19 (apt-get install clang-19)\n"
    );
    // A verifier rejection gets the loader's explanation.
    let rej = dir.join("rej.bpf.c");
    std::fs::write(
        &rej,
        "#include \"vmlinux.h\"\n#include <corebpf/bpf.h>\n\
         SEC(\"tracepoint/syscalls/sys_enter_getppid\") int rej(void *ctx)\n\
         { return *(volatile int *)(long)bpf_get_prandom_u32(); }\n\
         COREBPF_LICENSE(\"GPL\");\n",
    )
    .unwrap();
    let out = run(&[rej.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("program rej") && err.contains("invalid mem access"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unprivileged_user_is_told_to_be_root() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("nobody");
    let obj = dir.join("twoprobes.bpf.o");
    corebpf::compile::compile(&example("twoprobes"), &obj, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(corebpf())
        .args(["run", obj.to_str().unwrap(), "--", "true"])
        .output()
        .expect("setpriv (util-linux) must be installed");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "corebpf: corebpf run needs root (CAP_BPF and CAP_PERFMON)\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn perf_buffer_events_are_decoded() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("perf");
    let bin = native(&dir, "getppid_loop", GETPPID_LOOP);
    let bin = bin.to_str().unwrap();
    let want = strace_count(&[bin, "30"], Some("getppid"));
    let src = dir.join("perfev.bpf.c");
    std::fs::write(
        &src,
        r#"#include "vmlinux.h"
#include <corebpf/bpf.h>
const volatile __u32 target_pid = 0;
struct ppid_event { __u32 pid; __s16 seq; char comm[16]; };
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_out SEC(".maps");
COREBPF_EVENT(perf_out, struct ppid_event);
__s32 seq = -5;
SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct ppid_event e = {};
	e.pid = bpf_get_current_pid_tgid() >> 32;
	if (e.pid != target_pid)
		return 0;
	e.seq = seq++;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &perf_out, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
COREBPF_LICENSE("GPL");
"#,
    )
    .unwrap();
    let before = snapshot();
    let child = Command::new(corebpf())
        .args(["run", "--json"])
        .arg(&src)
        .args(["--set", "target_pid=@child", "--", bin, "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = json_lines(&out);
    let events: Vec<&Value> = lines.iter().filter(|l| l["event"] == "perf_out").collect();
    assert_eq!(events.len() as u64, want, "{lines:?}");
    let pid = events[0]["data"]["pid"].as_u64().unwrap();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["data"]["comm"], "getppid_loop");
        assert_eq!(e["data"]["pid"].as_u64(), Some(pid));
        // Signed fields decode as signed numbers, in order (one CPU at a time per process).
        assert_eq!(e["data"]["seq"].as_i64(), Some(i as i64 - 5));
    }
    assert_eq!(global(&lines, "seq").as_i64(), Some(want as i64 - 5));
    assert_eq!(exit_line(&lines)["exit"], 3);
    assert_nothing_left(&before, &["on_getppid"], &["perf_out", "perfev.bss"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn programs_that_cannot_auto_attach_are_skipped() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("skip");
    let src = dir.join("mixed.bpf.c");
    std::fs::write(
        &src,
        "#include \"vmlinux.h\"\n#include <corebpf/bpf.h>\n\
         __u64 hits;\n\
         SEC(\"xdp\") int pass_all(struct xdp_md *ctx) { return XDP_PASS; }\n\
         SEC(\"tracepoint/syscalls/sys_enter_execve\") int on_exec(void *ctx)\n\
         { __sync_fetch_and_add(&hits, 1); return 0; }\n\
         COREBPF_LICENSE(\"GPL\");\n",
    )
    .unwrap();
    let before = snapshot();
    let out = run(&["--json", src.to_str().unwrap(), "--", "/bin/true"]);
    let lines = json_lines(&out);
    assert!(global(&lines, "hits").as_u64() >= Some(1));
    assert_eq!(
        stderr(&out),
        "corebpf run: program pass_all not attached (skipped): program pass_all (section xdp): \
         xdp programs attach to an interface (attach::xdp)\n"
    );
    assert_nothing_left(&before, &["pass_all", "on_exec"], &["mixed.bss"]);
    std::fs::remove_dir_all(&dir).ok();
}
