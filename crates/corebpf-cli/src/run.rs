//! `corebpf run`: compile (or open) a BPF program, set its globals, start a command held
//! until everything is attached, load, attach every program by its section name, print the
//! events it sends (decoded with BTF), and at the end (and every `--interval`) its maps,
//! globals and histograms.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use corebpf::maps::format_value;
use corebpf::perfbuf::{PerfBuf, PerfBufOptions};
use corebpf::ringbuf::RingBuf;
use corebpf::{LoadError, LoadOptions, Object, OpenObject};
use corebpf_btf::{Btf, TypeKind};
use corebpf_sys::process::{spawn_held, HeldChild, Termination};
use serde_json::{json, Value};

use crate::run_hist::{self, HistKind};

/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
const MAP_PERF_EVENT_ARRAY: u32 = 4;
/// `BPF_MAP_TYPE_RINGBUF`.
const MAP_RINGBUF: u32 = 27;
/// How long one wait for events lasts before the runner checks signals, the command and
/// timers again.
const TICK: Duration = Duration::from_millis(10);
/// How long the command has to exit after `SIGTERM` before it gets `SIGKILL`.
const GRACE: Duration = Duration::from_secs(1);

/// Run a BPF program: compile or open, load, attach, stream its events, print its maps.
#[derive(clap::Args)]
pub struct Args {
    /// A BPF C source (`.bpf.c`, compiled with clang against this kernel's vmlinux.h) or a
    /// BPF object (`.bpf.o`).
    pub file: PathBuf,
    /// Set a global variable before load, typed by BTF: integers (decimal or 0x hex), bools,
    /// enumerator names or numbers, strings for char arrays; `@child` is the command's PID.
    /// Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Print maps, globals and histograms every SECS seconds (and at exit).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<f64>,
    /// One JSON object per line: events, maps, globals, histograms.
    #[arg(long)]
    pub json: bool,
    /// Relocate against this BTF file (raw or .gz) instead of the running kernel's.
    #[arg(long, value_name = "FILE")]
    pub target_btf: Option<PathBuf>,
    /// The loaded BPF program that freplace programs (and fentry/fexit/fmod_ret programs whose
    /// function is not the kernel's) attach to: `id:N`, `pinned:PATH` or a path on bpffs.
    #[arg(long, value_name = "TARGET")]
    pub attach_target: Option<String>,
    /// The command to run, held until every program is attached; the run ends when it exits.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// A capability: its bit number and name.
pub(crate) type Cap = (u32, &'static str);
pub(crate) const CAP_SYS_ADMIN: Cap = (21, "CAP_SYS_ADMIN");
pub(crate) const CAP_PERFMON: Cap = (38, "CAP_PERFMON");
pub(crate) const CAP_BPF: Cap = (39, "CAP_BPF");

/// Which of `needed` this process lacks, from its effective set in `/proc/self/status`.
/// CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, as it does in the kernel. Nothing is
/// missing when the set cannot be read (the kernel decides then).
pub(crate) fn missing_caps(needed: &[Cap]) -> Vec<&'static str> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Vec::new();
    };
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    else {
        return Vec::new();
    };
    let has = |cap: Cap| eff & (1u64 << cap.0) != 0;
    needed
        .iter()
        .filter(|&&cap| !has(cap) && (cap == CAP_SYS_ADMIN || !has(CAP_SYS_ADMIN)))
        .map(|cap| cap.1)
        .collect()
}

/// `corebpf COMMAND needs root (CAP_X and CAP_Y)`, naming the missing capabilities.
pub(crate) fn needs_root(command: &str, missing: &[&str]) -> String {
    format!("corebpf {command} needs root ({})", missing.join(" and "))
}

/// The object name for a source or object path: the file name up to its first dot.
fn stem(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .and_then(|f| f.split('.').next().map(str::to_string))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "prog".into())
}

/// The object bytes of `file`: compiled when it is C source, read otherwise.
fn object_bytes(file: &Path) -> anyhow::Result<Vec<u8>> {
    let is_c = file.extension().is_some_and(|e| e == "c");
    if !is_c {
        return std::fs::read(file).with_context(|| format!("reading {}", file.display()));
    }
    if !file.exists() {
        bail!("{}: no such file", file.display());
    }
    // The object goes to a fresh private directory: nobody else can swap it before it is read.
    let dir = corebpf::compile::PrivateTempDir::new("corebpf-run")?;
    let out = dir.path().join(format!("{}.bpf.o", stem(file)));
    let mut opts = corebpf::compile::CompileOptions::default();
    // With vmlinux.h precompiled, clang parses only the program: the compile drops from most
    // of a second to about a tenth. Any trouble with the precompiled header falls back to a
    // plain compile.
    let pch = precompiled_vmlinux(&opts);
    if let Some(pch) = &pch {
        opts.extra_args = vec!["-include-pch".into(), pch.clone().into()];
    }
    let mut compiled = corebpf::compile::compile(file, &out, &opts);
    if let (Err(corebpf::compile::CompileError::Clang { diagnostics, .. }), Some(pch)) =
        (&compiled, &pch)
    {
        // A header clang no longer accepts (another clang build, a changed vmlinux.h) is
        // rebuilt next time; errors in the program itself are reported from a plain compile.
        if diagnostics.contains("precompiled") || diagnostics.contains(".pch") {
            let _ = std::fs::remove_file(pch);
        }
        compiled = corebpf::compile::compile(file, &out, &Default::default());
    }
    let bytes = compiled.map_err(anyhow::Error::from).and_then(|c| {
        if !c.diagnostics.trim().is_empty() {
            eprint!("{}", c.diagnostics);
        }
        std::fs::read(&c.object).with_context(|| format!("reading {}", c.object.display()))
    });
    drop(dir);
    bytes
}

/// A precompiled `vmlinux.h` for compiles with `opts` (built once into the cache), or `None`
/// when it cannot be had (the compile then parses the header itself).
fn precompiled_vmlinux(opts: &corebpf::compile::CompileOptions) -> Option<PathBuf> {
    use std::hash::{Hash, Hasher};
    let clang = corebpf::compile::find_clang().ok()?;
    let cache = corebpf::compile::default_cache_dir();
    let vmlinux = corebpf::compile::vmlinux_h_dir(&opts.kernel_btf, &cache).ok()?;
    let headers = corebpf::compile::headers_dir(&cache).ok()?;
    let args: Vec<OsString> = vec![
        "-g".into(),
        format!("-O{}", opts.opt_level).into(),
        "-target".into(),
        "bpf".into(),
        "-D__TARGET_ARCH_x86".into(),
        format!("-mcpu={}", opts.cpu).into(),
        "-I".into(),
        vmlinux.clone().into(),
        "-I".into(),
        headers.into(),
        "-x".into(),
        "c-header".into(),
    ];
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&clang, &args).hash(&mut h);
    let dir = cache.join("run-pch");
    let pch = dir.join(format!("vmlinux-{:016x}.pch", h.finish()));
    if pch.exists() {
        return Some(pch);
    }
    // Inside the private cache, itself checked private; the header is built under a name of
    // this process and renamed into place.
    corebpf::compile::ensure_private_dir(&dir).ok()?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    let ok = Command::new(&clang)
        .args(&args)
        .arg(vmlinux.join("vmlinux.h"))
        .arg("-o")
        .arg(&tmp)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok && std::fs::rename(&tmp, &pch).is_ok() {
        return Some(pch);
    }
    let _ = std::fs::remove_file(&tmp);
    None
}

/// Checks `text` against an enum global before the library encodes it, so a wrong enumerator
/// gets a message listing the right ones.
fn check_enum(btf: &Btf<'_>, ty: u32, text: &str) -> Result<(), String> {
    let Ok(t) = btf.resolve(ty) else {
        return Ok(());
    };
    let names: Vec<&str> = match &t.kind {
        TypeKind::Enum { values, .. } => values.iter().map(|v| v.name).collect(),
        TypeKind::Enum64 { values, .. } => values.iter().map(|v| v.name).collect(),
        _ => return Ok(()),
    };
    let text = text.trim();
    let numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if numeric || names.contains(&text) {
        return Ok(());
    }
    let type_name = if t.name.is_empty() {
        "enum".to_string()
    } else {
        format!("enum {}", t.name)
    };
    Err(format!(
        "`{text}` is not an enumerator of {type_name} ({})",
        names.join(", ")
    ))
}

/// Applies every `--set NAME=VALUE`.
fn apply_sets(
    open: &mut OpenObject,
    btf: Option<&Btf<'_>>,
    sets: &[String],
    child: Option<u32>,
) -> anyhow::Result<()> {
    for s in sets {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("--set {s}: expected NAME=VALUE"))?;
        let name = name.trim();
        let value = if value.trim() == "@child" {
            match child {
                Some(pid) => pid.to_string(),
                None => bail!("--set {s}: @child needs a command after --"),
            }
        } else {
            value.to_string()
        };
        let global = open.globals().iter().find(|g| g.name == name).cloned();
        let Some(global) = global else {
            bail!("--set {s}: the program has no global variable `{name}`");
        };
        if let (Some(btf), Some(ty)) = (btf, global.type_id) {
            check_enum(btf, ty, &value).map_err(|p| anyhow!("--set {s}: {p}"))?;
        }
        open.set_global_str(name, &value).map_err(|e| match e {
            LoadError::Global { problem, .. } => anyhow!("--set {s}: {problem}"),
            other => anyhow!("--set {s}: {other}"),
        })?;
    }
    Ok(())
}

/// Where output goes: text for people or JSON lines.
#[derive(Clone, Copy)]
struct Out {
    json: bool,
}

/// Set when standard output is gone (`corebpf run ... | head` after head exits): the run ends
/// as it would on SIGTERM.
static OUTPUT_CLOSED: AtomicBool = AtomicBool::new(false);

impl Out {
    fn line(&self, text: &str) {
        let mut o = io::stdout().lock();
        let written = o
            .write_all(text.as_bytes())
            .and_then(|()| o.write_all(b"\n"))
            .and_then(|()| o.flush());
        if written.is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
            OUTPUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }

    fn json(&self, v: &Value) {
        self.line(&v.to_string());
    }
}

/// A value in text output: strings bare, everything else as compact JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One event as text: `MAP: field=value ...`.
fn event_text(map: &str, data: &Value) -> String {
    match data {
        Value::Object(o) => {
            let fields: Vec<String> = o.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect();
            format!("{map}: {}", fields.join(" "))
        }
        other => format!("{map}: {}", plain(other)),
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes and prints one event record of map `map`.
fn print_event(out: Out, btf: Option<&Btf<'_>>, ty: Option<u32>, map: &str, rec: &[u8]) {
    let data = match (btf, ty) {
        (Some(btf), Some(ty)) => format_value(btf, ty, rec, 0),
        _ => Value::String(hex_string(rec)),
    };
    if out.json {
        out.json(&json!({"event": map, "data": data}));
    } else {
        out.line(&event_text(map, &data));
    }
}

/// A global of a writable data section, to print.
struct Global {
    name: String,
    section: String,
    offset: usize,
    size: usize,
    type_id: Option<u32>,
}

/// Prints every map (except event maps), histogram and `.data`/`.bss` global.
fn dump(out: Out, obj: &Object, btf: Option<&Btf<'_>>, globals: &[Global]) {
    for map in obj.maps() {
        if map.section().is_some() {
            continue;
        }
        let ty = map.map_type_raw();
        // Event streams, and struct_ops maps (their value is the registered struct).
        if ty == MAP_RINGBUF
            || ty == MAP_PERF_EVENT_ARRAY
            || ty == corebpf::struct_ops::MAP_TYPE_STRUCT_OPS
        {
            continue;
        }
        let name = map.object_name();
        if let Some(kind) = btf.and_then(|b| run_hist::hist_kind(b, name)) {
            dump_hist(out, map, name, kind);
            continue;
        }
        match map.to_json() {
            Ok(Value::Array(entries)) => {
                if out.json {
                    out.json(&json!({"map": name, "entries": entries}));
                } else {
                    let mut text = format!("{name}:");
                    if entries.is_empty() {
                        text.push_str("\n  (empty)");
                    }
                    for e in &entries {
                        let k = e.get("key").map(plain).unwrap_or_default();
                        let v = e.get("value").map(plain).unwrap_or_default();
                        text.push_str(&format!("\n  {k}: {v}"));
                    }
                    out.line(&text);
                }
            }
            Ok(other) => out.json(&json!({"map": name, "entries": other})),
            Err(e) => eprintln!("corebpf run: map {name}: {e}"),
        }
    }
    for g in globals {
        let Some(map) = obj.maps().iter().find(|m| m.section() == Some(&g.section)) else {
            continue;
        };
        let value = match map.lookup(&0u32.to_ne_bytes()) {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("corebpf run: global {}: {e}", g.name);
                continue;
            }
        };
        let Some(bytes) = value.get(g.offset..g.offset.saturating_add(g.size)) else {
            continue;
        };
        let v = match (btf, g.type_id) {
            (Some(btf), Some(ty)) => format_value(btf, ty, bytes, 0),
            _ => Value::String(hex_string(bytes)),
        };
        if out.json {
            out.json(&json!({"global": g.name, "value": v}));
        } else {
            out.line(&format!("{} = {}", g.name, plain(&v)));
        }
    }
}

fn dump_hist(out: Out, map: &corebpf::Map, name: &str, kind: HistKind) {
    let mut counts = Vec::with_capacity(map.max_entries() as usize);
    for slot in 0..map.max_entries() {
        let v = match map.lookup(&slot.to_ne_bytes()) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("corebpf run: histogram {name}: {e}");
                return;
            }
        };
        let n = v
            .and_then(|b| b.get(..8).and_then(|b| b.try_into().ok()))
            .map_or(0, u64::from_ne_bytes);
        counts.push(n);
    }
    let buckets = run_hist::buckets(kind, &counts);
    if out.json {
        out.json(&run_hist::json(name, &buckets));
    } else {
        out.line(run_hist::text(name, &buckets).trim_end());
    }
}

/// The command, started before load (so its PID can be set in globals) and held before it
/// runs anything until every program is attached.
struct Child {
    held: HeldChild,
    program: String,
    /// Released to run the command.
    released: bool,
}

impl Child {
    fn start(command: &[OsString]) -> anyhow::Result<Option<Child>> {
        let Some((program, args)) = command.split_first() else {
            return Ok(None);
        };
        let name = program.to_string_lossy().into_owned();
        let held = spawn_held(program, args).with_context(|| format!("starting {name}"))?;
        Ok(Some(Child {
            held,
            program: name,
            released: false,
        }))
    }

    fn pid(&self) -> u32 {
        self.held.id()
    }

    /// Lets the command run.
    fn release(&mut self) -> anyhow::Result<()> {
        self.released = true;
        self.held
            .release()
            .with_context(|| format!("cannot run {}", self.program))
    }

    /// The exit status, once the command has exited.
    fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.held.try_wait()?)
    }

    /// Ends the command (`SIGTERM`, then `SIGKILL` after [`GRACE`]) and reaps it.
    fn terminate(&mut self) -> anyhow::Result<Termination> {
        self.held
            .terminate(GRACE)
            .with_context(|| format!("stopping {}", self.program))
    }
}

/// How a run ended.
enum End {
    /// corebpf got this signal (SIGINT, SIGTERM or SIGHUP).
    Signal(i32),
    Duration,
    /// Standard output was closed by its reader.
    OutputClosed,
    Command(ExitStatus),
}

impl End {
    /// Why corebpf ended the run itself, for the report.
    fn reason(&self) -> Option<String> {
        match self {
            End::Signal(sig) => Some(signal_name(*sig)),
            End::Duration => Some("--duration".into()),
            End::OutputClosed => Some("standard output closed".into()),
            End::Command(_) => None,
        }
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        signal_hook::consts::SIGHUP => "SIGHUP".into(),
        signal_hook::consts::SIGINT => "SIGINT".into(),
        signal_hook::consts::SIGKILL => "SIGKILL".into(),
        signal_hook::consts::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

/// How the command ended, in words: `exited with status 3`, `killed by SIGTERM`.
fn status_text(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by {}", signal_name(s)),
        (None, None) => status.to_string(),
    }
}

fn exit_code(status: ExitStatus) -> Value {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => json!({"exit": c}),
        (None, Some(s)) => json!({"signal": s}),
        (None, None) => json!({}),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let missing = missing_caps(&[CAP_BPF, CAP_PERFMON]);
    if !missing.is_empty() {
        bail!("{}", needs_root("run", &missing));
    }
    let out = Out { json: args.json };
    let secs = |what: &str, v: Option<f64>| -> anyhow::Result<Option<Duration>> {
        match v {
            None => Ok(None),
            Some(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s))),
            Some(s) => bail!("--{what} {s}: expected a positive number of seconds"),
        }
    };
    let duration = secs("duration", args.duration)?;
    let interval = secs("interval", args.interval)?;

    let bytes = object_bytes(&args.file)?;
    // The object's BTF, kept for decoding events, maps and globals after load.
    let meta =
        corebpf_obj::Object::parse(&bytes).map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    let btf = meta.btf.as_ref();
    let mut open = OpenObject::open_bytes(&stem(&args.file), bytes.clone())?;

    let globals: Vec<Global> = open
        .globals()
        .iter()
        .filter(|g| {
            (g.section.starts_with(".data") || g.section.starts_with(".bss"))
                && !g.name.starts_with("__corebpf")
        })
        .filter_map(|g| {
            Some(Global {
                name: g.name.clone(),
                section: g.section.clone(),
                offset: usize::try_from(g.offset).ok()?,
                size: usize::try_from(g.size).ok()?,
                type_id: g.type_id,
            })
        })
        .collect();

    // The signal that ends the run (0: none yet). The command started below dies with this
    // process if it is killed outright (the held child asks for PR_SET_PDEATHSIG); these
    // signals end the run in order instead: command stopped, final maps printed, programs
    // detached.
    let term = Arc::new(AtomicUsize::new(0));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(sig, Arc::clone(&term), sig as usize)
            .context("installing signal handler")?;
    }

    let mut child = Child::start(&args.command)?;
    apply_sets(&mut open, btf, &args.set, child.as_ref().map(Child::pid))?;

    if let Some(t) = &args.attach_target {
        open.set_default_attach_target(corebpf::AttachTarget::parse(t)?)
            .with_context(|| format!("--attach-target {t}"))?;
    }
    let opts = LoadOptions {
        target_btf: args.target_btf.clone(),
        ..Default::default()
    };
    let obj = open
        .load_with(&opts)
        .with_context(|| format!("loading {}", args.file.display()))?;
    for w in obj.warnings() {
        eprintln!("corebpf run: warning: {w}");
    }

    let mut links = Vec::new();
    let mut failures = Vec::new();
    for prog in obj.programs() {
        // struct_ops programs run through their map, registered below.
        if prog.prog_type() == Some(corebpf::obj::ProgType::StructOps) {
            continue;
        }
        match prog.attach() {
            Ok(link) => links.push(link),
            Err(e) => failures.push((prog.name().to_string(), e)),
        }
    }
    for ops in obj.struct_ops() {
        match obj.attach_struct_ops(ops.name()) {
            Ok(link) => links.push(link),
            Err(e) => failures.push((ops.name().to_string(), e)),
        }
    }
    if links.is_empty() {
        let mut failures = failures.into_iter();
        match failures.next() {
            Some((_, first)) => {
                for (name, e) in failures {
                    eprintln!("corebpf run: program {name} not attached either: {e}");
                }
                bail!("no program attached: {first}");
            }
            None => bail!("the object has no programs"),
        }
    }
    for (name, e) in &failures {
        eprintln!("corebpf run: program {name} not attached (skipped): {e}");
    }

    // Event streams: every ring buffer in one reader, every perf event array in its own.
    let mut ring = None;
    let mut perfs = Vec::new();
    {
        let mut builder = RingBuf::builder();
        let mut rings = 0;
        for map in obj.maps() {
            let name = map.object_name().to_string();
            let ty = btf.and_then(|b| run_hist::event_type(b, &name));
            match map.map_type_raw() {
                MAP_RINGBUF => {
                    builder = builder
                        .add(map.fd(), move |rec: &[u8]| {
                            print_event(out, btf, ty, &name, rec)
                        })
                        .with_context(|| format!("reading ring buffer {}", map.object_name()))?;
                    rings += 1;
                }
                MAP_PERF_EVENT_ARRAY => {
                    let lost_name = name.clone();
                    let perf = PerfBuf::new(
                        map.fd(),
                        PerfBufOptions::default(),
                        move |_cpu, rec: &[u8]| print_event(out, btf, ty, &name, rec),
                        move |cpu, n| {
                            eprintln!("corebpf run: {lost_name}: {n} events lost on CPU {cpu}")
                        },
                    )
                    .with_context(|| format!("reading perf buffer {}", map.object_name()))?;
                    perfs.push(perf);
                }
                _ => {}
            }
        }
        if rings > 0 {
            ring = Some(builder.build().context("reading ring buffers")?);
        }
    }

    // A signal that came during setup ends the run before the command starts.
    if let Some(c) = &mut child {
        if term.load(Ordering::Relaxed) == 0 {
            c.release()?;
        }
    }
    let start = Instant::now();
    let mut next_dump = interval.map(|i| start + i);
    let end = loop {
        let sig = term.load(Ordering::Relaxed);
        if sig != 0 {
            break End::Signal(sig as i32);
        }
        if OUTPUT_CLOSED.load(Ordering::Relaxed) {
            break End::OutputClosed;
        }
        if duration.is_some_and(|d| start.elapsed() >= d) {
            break End::Duration;
        }
        if let Some(c) = &mut child {
            if let Some(status) = c.try_wait()? {
                break End::Command(status);
            }
        }
        let mut waited = false;
        if let Some(r) = &mut ring {
            match r.poll(Some(TICK)) {
                Ok(_) => waited = true,
                Err(e) if e.errno() == Some(4) => {}
                Err(e) => return Err(anyhow!(e).context("reading events")),
            }
        }
        for p in &mut perfs {
            let timeout = if waited { Duration::ZERO } else { TICK };
            match p.poll(Some(timeout)) {
                Ok(_) => waited = true,
                Err(e) if e.errno() == Some(4) => {}
                Err(e) => return Err(anyhow!(e).context("reading events")),
            }
        }
        if !waited {
            std::thread::sleep(TICK);
        }
        if let (Some(at), Some(every)) = (next_dump, interval) {
            if Instant::now() >= at {
                dump(out, &obj, btf, &globals);
                next_dump = Some(at + every);
            }
        }
    };

    // When corebpf ends the run, the command goes first, so the final maps hold all it did.
    let stopped = match (&end, &mut child) {
        (End::Command(_), _) | (_, None) => None,
        (_, Some(c)) => Some(c.terminate()?),
    };

    // Events written before the end are still in the buffers.
    if let Some(r) = &mut ring {
        r.consume();
    }
    for p in &mut perfs {
        p.consume();
    }
    dump(out, &obj, btf, &globals);

    drop(ring);
    drop(perfs);
    // Closing a link detaches its program.
    drop(links);
    drop(obj);

    let Some(c) = &child else {
        return Ok(());
    };
    if !c.released {
        // Stopped during setup: the command never ran.
        let reason = end.reason().unwrap_or_default();
        if out.json {
            out.json(&json!({"command": c.program, "started": false, "stopped_by": reason}));
        } else {
            eprintln!(
                "corebpf run: {} not started ({reason} came first)",
                c.program
            );
        }
        return Ok(());
    }
    let (status, reason) = match (&end, stopped) {
        (End::Command(status), _) => (*status, None),
        (_, Some(t)) => (t.status, t.sent.and(end.reason())),
        (_, None) => return Ok(()),
    };
    if out.json {
        let mut v = exit_code(status);
        if let Value::Object(o) = &mut v {
            o.insert("command".into(), Value::String(c.program.clone()));
            if let Some(r) = &reason {
                o.insert("stopped_by".into(), Value::String(r.clone()));
            }
        }
        out.json(&v);
    } else {
        match &reason {
            Some(r) => eprintln!(
                "corebpf run: {} (pid {}) stopped after {r}: {}",
                c.program,
                c.pid(),
                status_text(status)
            ),
            None => eprintln!("corebpf run: {} {}", c.program, status_text(status)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_text_lists_fields() {
        let v = json!({"pid": 7, "comm": "true", "args": [1, 2]});
        // Fields in the order the struct declares them.
        assert_eq!(
            event_text("events", &v),
            "events: pid=7 comm=true args=[1,2]"
        );
        assert_eq!(event_text("e", &json!("00ff")), "e: 00ff");
        assert_eq!(hex_string(&[0, 255, 16]), "00ff10");
    }

    #[test]
    fn stems() {
        assert_eq!(stem(Path::new("examples/execsnoop.bpf.c")), "execsnoop");
        assert_eq!(stem(Path::new("/tmp/x.bpf.o")), "x");
    }
}
