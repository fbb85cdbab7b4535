//! The clang driver: compiles a BPF C program against the running kernel's types.
//!
//! [`compile`] finds `clang-19` (then `clang`) on `PATH`, generates `vmlinux.h` from the
//! kernel's BTF (`/sys/kernel/btf/vmlinux`) with corebpf's own C dumper, writes corebpf's BPF
//! headers ([`HEADERS`], embedded in the library) next to it, and runs
//!
//! ```text
//! clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -mcpu=v3 -I<vmlinux dir> -I<headers dir> -c FILE -o OUT
//! ```
//!
//! with an argument vector (no shell). Both generated directories live in a private cache
//! directory (mode 0700): `$XDG_CACHE_HOME/corebpf`, else `$HOME/.cache/corebpf`, else
//! `/var/cache/corebpf`. `vmlinux.h` is keyed by a hash of the BTF bytes, so a new kernel gets a
//! new header and an unchanged one is generated once.
//!
//! A program includes them as
//!
//! ```c
//! #include "vmlinux.h"
//! #include <corebpf/bpf.h>
//! ```
//!
//! When clang fails, [`CompileError::Clang`] carries its diagnostics verbatim; warnings of a
//! successful compile are returned in [`Compiled::diagnostics`].

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The clang executables tried, in order.
pub const CLANG_NAMES: [&str; 2] = ["clang-19", "clang"];

/// Where the running kernel publishes its BTF.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// corebpf's BPF C headers: `(path under the include directory, contents)`.
pub const HEADERS: [(&str, &str); 6] = [
    ("corebpf/bpf.h", include_str!("../include/corebpf/bpf.h")),
    ("corebpf/defs.h", include_str!("../include/corebpf/defs.h")),
    (
        "corebpf/helpers.h",
        include_str!("../include/corebpf/helpers.h"),
    ),
    (
        "corebpf/core_read.h",
        include_str!("../include/corebpf/core_read.h"),
    ),
    (
        "corebpf/tracing.h",
        include_str!("../include/corebpf/tracing.h"),
    ),
    (
        "corebpf/corebpf.h",
        include_str!("../include/corebpf/corebpf.h"),
    ),
];

/// Why a compile did not produce an object.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// No clang on `PATH`.
    #[error(
        "clang not found (looked for clang-19 and clang on PATH): install the Debian package \
         clang-19 (apt-get install clang-19)"
    )]
    ClangNotFound,
    /// clang could not be started.
    #[error("cannot run {clang}: {source}")]
    Spawn {
        clang: PathBuf,
        #[source]
        source: io::Error,
    },
    /// clang ran and failed; `diagnostics` is its standard error, unchanged.
    #[error("clang failed to compile {}:\n{diagnostics}", source_file.display())]
    Clang {
        source_file: PathBuf,
        status: Option<i32>,
        diagnostics: String,
    },
    /// The kernel BTF could not be read.
    #[error("reading kernel BTF {}: {source}", path.display())]
    ReadBtf {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The kernel BTF could not be turned into a C header.
    #[error("generating vmlinux.h from {}: {source}", path.display())]
    Header {
        path: PathBuf,
        #[source]
        source: corebpf_btf::c_dump::CDumpError,
    },
    /// The cache directory could not be created or written.
    #[error("cache directory {}: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The cache directory exists but may be written by others.
    #[error(
        "cache directory {} is not private (owner uid {uid}, mode {mode:o}): it must belong to \
         the current user and not be writable by group or others",
        path.display()
    )]
    UnsafeCache { path: PathBuf, uid: u32, mode: u32 },
}

/// How to compile.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// The clang to run; `None` searches `PATH` for [`CLANG_NAMES`].
    pub clang: Option<PathBuf>,
    /// The BPF CPU version (`-mcpu=`): `v1` … `v4`.
    pub cpu: String,
    /// Optimization level (`-O`): BPF programs need at least 1 to pass the verifier.
    pub opt_level: u8,
    /// The BTF `vmlinux.h` is generated from.
    pub kernel_btf: PathBuf,
    /// The cache directory; `None` uses [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// More include directories, searched after corebpf's.
    pub include_dirs: Vec<PathBuf>,
    /// `-D` definitions: `("NAME", None)` or `("NAME", Some("VALUE"))`.
    pub defines: Vec<(String, Option<String>)>,
    /// Arguments passed to clang as given, before the source file.
    pub extra_args: Vec<OsString>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            clang: None,
            cpu: "v3".to_string(),
            opt_level: 2,
            kernel_btf: PathBuf::from(KERNEL_BTF),
            cache_dir: None,
            include_dirs: Vec::new(),
            defines: Vec::new(),
            extra_args: Vec::new(),
        }
    }
}

/// A successful compile.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The object written.
    pub object: PathBuf,
    /// clang's standard error (warnings), unchanged; empty when clang said nothing.
    pub diagnostics: String,
    /// The clang that ran.
    pub clang: PathBuf,
    /// The full argument vector clang ran with (without the program name).
    pub args: Vec<OsString>,
}

/// Compiles `source` into the BPF object `output`.
pub fn compile(
    source: &Path,
    output: &Path,
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let clang = match &opts.clang {
        Some(c) => c.clone(),
        None => find_clang()?,
    };
    let cache = match &opts.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir(),
    };
    let vmlinux_dir = vmlinux_h_dir(&opts.kernel_btf, &cache)?;
    let headers_dir = headers_dir(&cache)?;
    let args = clang_args(source, output, opts, &vmlinux_dir, &headers_dir);
    let out = Command::new(&clang)
        .args(&args)
        .output()
        .map_err(|source| CompileError::Spawn {
            clang: clang.clone(),
            source,
        })?;
    let diagnostics = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(CompileError::Clang {
            source_file: source.to_path_buf(),
            status: out.status.code(),
            diagnostics,
        });
    }
    Ok(Compiled {
        object: output.to_path_buf(),
        diagnostics,
        clang,
        args,
    })
}

/// The argument vector for one compile.
fn clang_args(
    source: &Path,
    output: &Path,
    opts: &CompileOptions,
    vmlinux_dir: &Path,
    headers_dir: &Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-g".into(),
        format!("-O{}", opts.opt_level).into(),
        "-target".into(),
        "bpf".into(),
        "-D__TARGET_ARCH_x86".into(),
        format!("-mcpu={}", opts.cpu).into(),
    ];
    for (name, value) in &opts.defines {
        args.push(match value {
            Some(v) => format!("-D{name}={v}").into(),
            None => format!("-D{name}").into(),
        });
    }
    for dir in [vmlinux_dir, headers_dir]
        .into_iter()
        .chain(opts.include_dirs.iter().map(PathBuf::as_path))
    {
        let mut a = OsString::from("-I");
        a.push(dir);
        args.push(a);
    }
    args.extend(opts.extra_args.iter().cloned());
    args.push("-c".into());
    args.push(source.into());
    args.push("-o".into());
    args.push(output.into());
    args
}

/// Finds clang on `PATH`: the first of [`CLANG_NAMES`] that exists as an executable file.
pub fn find_clang() -> Result<PathBuf, CompileError> {
    find_clang_in(&std::env::var_os("PATH").unwrap_or_default())
}

/// Finds clang in the directories of a `PATH`-style list.
pub fn find_clang_in(path: &OsStr) -> Result<PathBuf, CompileError> {
    for name in CLANG_NAMES {
        for dir in std::env::split_paths(path) {
            let candidate = dir.join(name);
            if let Ok(meta) = fs::metadata(&candidate) {
                if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                    return Ok(candidate);
                }
            }
        }
    }
    Err(CompileError::ClangNotFound)
}

/// The cache directory: `$XDG_CACHE_HOME/corebpf`, `$HOME/.cache/corebpf` or
/// `/var/cache/corebpf`.
pub fn default_cache_dir() -> PathBuf {
    let nonempty = |v: Option<OsString>| v.filter(|v| !v.is_empty());
    if let Some(xdg) = nonempty(std::env::var_os("XDG_CACHE_HOME")) {
        return PathBuf::from(xdg).join("corebpf");
    }
    if let Some(home) = nonempty(std::env::var_os("HOME")) {
        return PathBuf::from(home).join(".cache").join("corebpf");
    }
    PathBuf::from("/var/cache/corebpf")
}

/// Generates (once per distinct BTF) `vmlinux.h` from `kernel_btf` under `cache`; returns the
/// directory holding it.
pub fn vmlinux_h_dir(kernel_btf: &Path, cache: &Path) -> Result<PathBuf, CompileError> {
    let btf = fs::read(kernel_btf).map_err(|source| CompileError::ReadBtf {
        path: kernel_btf.to_path_buf(),
        source,
    })?;
    private_dir(cache)?;
    // The generator's version is part of the key: a newer dumper regenerates the header.
    let key = fnv1a64(&btf) ^ fnv1a64(env!("CARGO_PKG_VERSION").as_bytes());
    let dir = cache.join(format!("vmlinux-{key:016x}"));
    let header = dir.join("vmlinux.h");
    if header.is_file() {
        return Ok(dir);
    }
    let text =
        corebpf_btf::c_dump::vmlinux_header(&btf).map_err(|source| CompileError::Header {
            path: kernel_btf.to_path_buf(),
            source,
        })?;
    private_dir(&dir)?;
    write_atomic(&header, text.as_bytes())?;
    Ok(dir)
}

/// Writes [`HEADERS`] under `cache` (once per content); returns the include directory.
pub fn headers_dir(cache: &Path) -> Result<PathBuf, CompileError> {
    private_dir(cache)?;
    let mut key = 0u64;
    for (name, text) in HEADERS {
        key = key.rotate_left(7) ^ fnv1a64(name.as_bytes()) ^ fnv1a64(text.as_bytes());
    }
    let dir = cache.join(format!("include-{key:016x}"));
    let complete = dir.join(".complete");
    if complete.is_file() {
        return Ok(dir);
    }
    private_dir(&dir)?;
    for (name, text) in HEADERS {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            private_dir(parent)?;
        }
        write_atomic(&path, text.as_bytes())?;
    }
    write_atomic(&complete, b"")?;
    Ok(dir)
}

/// Creates `dir` with mode 0700 if missing; refuses one that others could write into.
fn private_dir(dir: &Path) -> Result<(), CompileError> {
    let cache_err = |source| CompileError::Cache {
        path: dir.to_path_buf(),
        source,
    };
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(cache_err(e)),
    }
    let meta = fs::symlink_metadata(dir).map_err(cache_err)?;
    if !meta.is_dir() {
        return Err(cache_err(io::Error::other("exists and is not a directory")));
    }
    let uid = current_uid().map_err(cache_err)?;
    if meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(CompileError::UnsafeCache {
            path: dir.to_path_buf(),
            uid: meta.uid(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

/// The effective uid of this process: the kernel makes `/proc/self` belong to it.
fn current_uid() -> io::Result<u32> {
    fs::metadata("/proc/self").map(|m| m.uid())
}

/// Writes `path` through a temporary file and a rename, so readers never see half a file.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CompileError> {
    let cache_err = |source| CompileError::Cache {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(cache_err)?;
    f.write_all(data).map_err(cache_err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(cache_err)
}

/// 64-bit FNV-1a: a stable hash for cache keys (not for security).
fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // Published FNV-1a 64-bit test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn argument_vector_has_the_documented_shape() {
        let opts = CompileOptions {
            defines: vec![("X".into(), Some("1".into())), ("Y".into(), None)],
            ..Default::default()
        };
        let args = clang_args(
            Path::new("a.bpf.c"),
            Path::new("a.o"),
            &opts,
            Path::new("/c/v"),
            Path::new("/c/i"),
        );
        let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
        assert_eq!(
            args,
            [
                "-g",
                "-O2",
                "-target",
                "bpf",
                "-D__TARGET_ARCH_x86",
                "-mcpu=v3",
                "-DX=1",
                "-DY",
                "-I/c/v",
                "-I/c/i",
                "-c",
                "a.bpf.c",
                "-o",
                "a.o"
            ]
        );
    }
}
