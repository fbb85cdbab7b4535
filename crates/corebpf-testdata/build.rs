//! Compiles every `tests/bpf/*.bpf.c` with clang into `OUT_DIR`, once per CPU version and, for
//! programs that need no kernel headers, once more big-endian. Generates `vmlinux.h` from the
//! running kernel's BTF first (with `corebpf_btf::c_dump`, corebpf's own BTF-to-C dumper), and a
//! Rust table of the produced objects (`objects.rs`).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const CLANG: &str = "clang-19";
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

struct Job {
    name: String,
    source: PathBuf,
    variant: &'static str,
    target: &'static str,
    cpu: &'static str,
    big_endian: bool,
    uses_vmlinux: bool,
    /// `x86` or `arm64`: the `__TARGET_ARCH_*` the program's `bpf_tracing.h` macros follow.
    arch: &'static str,
    out: PathBuf,
}

fn main() {
    if let Err(msg) = run() {
        eprintln!("corebpf-testdata: {msg}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    let src_dir = manifest
        .join("../../tests/bpf")
        .canonicalize()
        .map_err(|e| format!("tests/bpf next to the workspace root: {e}"))?;
    println!("cargo:rerun-if-changed={}", src_dir.display());
    println!("cargo:rerun-if-env-changed=COREBPF_CLANG");
    println!("cargo:rerun-if-changed=build.rs");

    let clang = std::env::var("COREBPF_CLANG").unwrap_or_else(|_| CLANG.to_string());
    check_tool(&clang, "--version", "clang-19 (`apt-get install clang-19`)")?;

    let vmlinux_h = out_dir.join("vmlinux.h");
    generate_vmlinux_h(&vmlinux_h)?;

    let mut sources: Vec<PathBuf> = fs::read_dir(&src_dir)
        .map_err(|e| format!("reading {}: {e}", src_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            println!("cargo:rerun-if-changed={}", p.display());
            p.to_string_lossy().ends_with(".bpf.c")
        })
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(format!("no *.bpf.c programs in {}", src_dir.display()));
    }

    let obj_dir = out_dir.join("bpf");
    fs::create_dir_all(&obj_dir).map_err(|e| format!("creating {}: {e}", obj_dir.display()))?;
    let mut jobs = Vec::new();
    for source in &sources {
        let file = source
            .file_name()
            .and_then(|f| f.to_str())
            .ok_or_else(|| format!("non-UTF-8 file name {}", source.display()))?;
        let name = file.trim_end_matches(".bpf.c").to_string();
        let text =
            fs::read_to_string(source).map_err(|e| format!("reading {}: {e}", source.display()))?;
        let uses_vmlinux = text.contains("\"vmlinux.h\"");
        let mut variants: Vec<(&'static str, &'static str, &'static str, bool, &'static str)> = vec![
            ("v3", "bpf", "v3", false, "x86"),
            ("v4", "bpf", "v4", false, "x86"),
        ];
        if !uses_vmlinux {
            variants.push(("v3eb", "bpfeb", "v3", true, "x86"));
        }
        // Register access through bpf_tracing.h differs per architecture; the generated
        // vmlinux.h is this host's (x86), so only programs that declare their own kernel
        // types get an arm64 build.
        if !uses_vmlinux && text.contains("<bpf/bpf_tracing.h>") {
            variants.push(("arm64.v3", "bpf", "v3", false, "arm64"));
            variants.push(("arm64.v4", "bpf", "v4", false, "arm64"));
        }
        for (variant, target, cpu, big_endian, arch) in variants {
            jobs.push(Job {
                out: obj_dir.join(format!("{name}.{variant}.o")),
                name: name.clone(),
                source: source.clone(),
                variant,
                target,
                cpu,
                big_endian,
                uses_vmlinux,
                arch,
            });
        }
    }

    compile_all(&clang, &jobs, &out_dir, &src_dir)?;
    write_table(&jobs, &out_dir.join("objects.rs"), &vmlinux_h, &src_dir)
}

fn env(key: &str) -> Result<String, String> {
    std::env::var(key).map_err(|_| format!("environment variable {key} is not set"))
}

fn check_tool(tool: &str, arg: &str, package: &str) -> Result<(), String> {
    match Command::new(tool).arg(arg).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`{tool} {arg}` failed ({}); install {package}",
            out.status
        )),
        Err(e) => Err(format!("cannot run `{tool}` ({e}); install {package}")),
    }
}

fn generate_vmlinux_h(dest: &Path) -> Result<(), String> {
    let btf = fs::read(VMLINUX_BTF).map_err(|e| {
        format!("reading {VMLINUX_BTF} ({e}): the kernel must be built with CONFIG_DEBUG_INFO_BTF")
    })?;
    let header = corebpf_btf::c_dump::vmlinux_header(&btf)
        .map_err(|e| format!("writing vmlinux.h from {VMLINUX_BTF}: {e}"))?;
    // Rewrite only when the content changed, so clang's outputs stay fresh and cheap.
    if fs::read(dest).ok().as_deref() != Some(header.as_bytes()) {
        fs::write(dest, header).map_err(|e| format!("writing {}: {e}", dest.display()))?;
    }
    Ok(())
}

fn compile_all(clang: &str, jobs: &[Job], out_dir: &Path, src_dir: &Path) -> Result<(), String> {
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                if let Err(e) = compile(clang, job, out_dir, src_dir) {
                    if let Ok(mut errs) = errors.lock() {
                        errs.push(e);
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_default();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

fn compile(clang: &str, job: &Job, out_dir: &Path, src_dir: &Path) -> Result<(), String> {
    let mut cmd = Command::new(clang);
    cmd.args(["-g", "-O2", "-Wall", "-target", job.target])
        .arg(format!("-mcpu={}", job.cpu))
        .arg(format!("-D__TARGET_ARCH_{}", job.arch))
        .arg("-I")
        .arg(src_dir)
        .arg("-I")
        .arg(out_dir);
    if !job.uses_vmlinux {
        // <linux/bpf.h> pulls <asm/types.h>, which lives under the host's multiarch directory.
        cmd.arg("-I/usr/include/x86_64-linux-gnu");
    }
    cmd.arg("-c").arg(&job.source).arg("-o").arg(&job.out);
    let out = cmd.output().map_err(|e| {
        format!("cannot run `{clang}` ({e}); install clang-19 (`apt-get install clang-19`)")
    })?;
    if !out.status.success() {
        return Err(format!(
            "compiling {} ({}, {}) failed:\n{}",
            job.source.display(),
            job.target,
            job.cpu,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if !out.stderr.is_empty() {
        println!(
            "cargo:warning={} ({}): {}",
            job.name,
            job.variant,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        );
    }
    Ok(())
}

fn write_table(jobs: &[Job], dest: &Path, vmlinux_h: &Path, src_dir: &Path) -> Result<(), String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/// `vmlinux.h` generated from this machine's kernel BTF."
    );
    let _ = writeln!(
        s,
        "pub const VMLINUX_H: &str = {:?};",
        vmlinux_h.display().to_string()
    );
    let _ = writeln!(s, "/// The directory holding the BPF C sources.");
    let _ = writeln!(
        s,
        "pub const SOURCE_DIR: &str = {:?};",
        src_dir.display().to_string()
    );
    for (table, arm64) in [("OBJECTS", false), ("ARM64_OBJECTS", true)] {
        write_objects(
            &mut s,
            table,
            jobs.iter().filter(|j| (j.arch == "arm64") == arm64),
        );
    }
    fs::write(dest, s).map_err(|e| format!("writing {}: {e}", dest.display()))
}

fn write_objects<'j>(s: &mut String, table: &str, jobs: impl Iterator<Item = &'j Job>) {
    let _ = writeln!(s, "static {table}: &[TestObject] = &[");
    for job in jobs {
        let cpu = if job.cpu == "v4" {
            "Cpu::V4"
        } else {
            "Cpu::V3"
        };
        let endian = if job.big_endian {
            "Endian::Big"
        } else {
            "Endian::Little"
        };
        let arch = if job.arch == "arm64" {
            "Arch::Arm64"
        } else {
            "Arch::X86"
        };
        let _ = writeln!(
            s,
            "    TestObject {{ name: {:?}, cpu: {cpu}, endian: {endian}, arch: {arch}, uses_vmlinux: {}, path: {:?}, source: {:?} }},",
            job.name,
            job.uses_vmlinux,
            job.out.display().to_string(),
            job.source.display().to_string()
        );
    }
    let _ = writeln!(s, "];");
}
