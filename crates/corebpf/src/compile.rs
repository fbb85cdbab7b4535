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
//! with an argument vector (no shell: file names are never interpreted). Both generated
//! directories live in a private cache directory: `$XDG_CACHE_HOME/corebpf`, else
//! `$HOME/.cache/corebpf`, else `/var/cache/corebpf`. `vmlinux.h` is keyed by a hash of the BTF
//! bytes, so a new kernel gets a new header and an unchanged one is generated once.
//!
//! The cache is trusted only when it is private: every directory of it is created with mode
//! 0700, and one that exists is used only when it is a real directory (not a symbolic link)
//! owned by the current user and writable by no one else ([`ensure_private_dir`];
//! [`CompileError::UnsafeCache`] otherwise). Files are written under a fresh name
//! (`O_CREAT|O_EXCL`, which never follows a link) and renamed into place. Scratch space for a
//! compile's output comes from [`PrivateTempDir`]: a new directory of unpredictable name, mode
//! 0700, removed when dropped.
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
         the current user and not be writable by group or others (remove it, or set \
         XDG_CACHE_HOME to a directory of your own)",
        path.display()
    )]
    UnsafeCache { path: PathBuf, uid: u32, mode: u32 },
    /// A directory of the cache is a symbolic link (or not a directory at all).
    #[error(
        "cache directory {} is not a directory (a symbolic link or a file): refusing to use it",
        path.display()
    )]
    NotADirectory { path: PathBuf },
    /// No private scratch directory could be made.
    #[error("creating a private temporary directory in {}: {source}", dir.display())]
    TempDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
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
    ensure_private_dir(cache)?;
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
    ensure_private_dir(&dir)?;
    write_atomic(&header, text.as_bytes(), 0o644)?;
    Ok(dir)
}

/// Writes [`HEADERS`] under `cache` (once per content); returns the include directory.
pub fn headers_dir(cache: &Path) -> Result<PathBuf, CompileError> {
    ensure_private_dir(cache)?;
    let mut key = 0u64;
    for (name, text) in HEADERS {
        key = key.rotate_left(7) ^ fnv1a64(name.as_bytes()) ^ fnv1a64(text.as_bytes());
    }
    let dir = cache.join(format!("include-{key:016x}"));
    let complete = dir.join(".complete");
    if complete.is_file() {
        return Ok(dir);
    }
    ensure_private_dir(&dir)?;
    for (name, text) in HEADERS {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            ensure_private_dir(parent)?;
        }
        write_atomic(&path, text.as_bytes(), 0o644)?;
    }
    write_atomic(&complete, b"", 0o644)?;
    Ok(dir)
}

/// Creates `dir` (and missing parents) with mode 0700; refuses a `dir` that is a symbolic
/// link, is not a directory, belongs to another user or can be written by group or others.
pub fn ensure_private_dir(dir: &Path) -> Result<(), CompileError> {
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
    check_private(dir)
}

/// Checks that `dir` is a directory (not a link to one) of the current user that no one else
/// can write.
fn check_private(dir: &Path) -> Result<(), CompileError> {
    let meta = fs::symlink_metadata(dir).map_err(|source| CompileError::Cache {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(CompileError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let uid = current_uid().map_err(|source| CompileError::Cache {
        path: dir.to_path_buf(),
        source,
    })?;
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

/// A name nobody can predict: std's `RandomState` is keyed from the operating system's random
/// source, mixed with the process id, the time and a counter.
fn unpredictable_name(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{prefix}.{:016x}", h.finish())
}

/// Writes `path` through a new file of unpredictable name (created with `O_EXCL`, so never
/// through a link) and a rename, so readers never see half a file. The file gets `mode`.
fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), CompileError> {
    let cache_err = |source| CompileError::Cache {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(unpredictable_name(&format!(".{name}")));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(cache_err)?;
    let written = f.write_all(data).and_then(|()| f.sync_data());
    drop(f);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(cache_err(e));
    }
    Ok(())
}

/// A private scratch directory: created with mode 0700 under a name nobody can predict (so no
/// one can have placed a link or a directory of their own there), removed with its contents
/// when dropped.
#[derive(Debug)]
pub struct PrivateTempDir {
    path: PathBuf,
}

impl PrivateTempDir {
    /// A new directory `PREFIX.<random>` in the system's temporary directory (`$TMPDIR`, else
    /// `/tmp`).
    pub fn new(prefix: &str) -> Result<PrivateTempDir, CompileError> {
        Self::new_in(&std::env::temp_dir(), prefix)
    }

    /// A new directory `PREFIX.<random>` in `parent`.
    pub fn new_in(parent: &Path, prefix: &str) -> Result<PrivateTempDir, CompileError> {
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..16 {
            let path = parent.join(unpredictable_name(prefix));
            // mkdir fails on anything already there, a symbolic link included.
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let dir = PrivateTempDir { path };
                    check_private(&dir.path)?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => {
                    last = e;
                    break;
                }
            }
        }
        Err(CompileError::TempDir {
            dir: parent.to_path_buf(),
            source: last,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateTempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
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
    use std::os::unix::ffi::OsStrExt;

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

    /// A BTF blob with no types: enough for a `vmlinux.h` of nothing.
    fn empty_btf() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0xeb9fu16.to_le_bytes());
        b.extend_from_slice(&[1, 0]); // version, flags
        for v in [24u32, 0, 0, 0, 1] {
            // hdr_len, type_off, type_len, str_off, str_len
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.push(0);
        b
    }

    #[test]
    fn clang_gets_an_argument_vector_not_a_shell_line() {
        let tmp = PrivateTempDir::new("corebpf-argv-test").expect("temp dir");
        let dir = tmp.path();
        let btf = dir.join("btf");
        fs::write(&btf, empty_btf()).expect("write btf");
        // A stand-in clang that records its arguments, NUL-separated.
        let record = dir.join("argv");
        let clang = dir.join("clang");
        fs::write(
            &clang,
            format!(
                "#!/bin/sh\nprintf '%s\\0' \"$@\" > '{}'\n",
                record.display()
            ),
        )
        .expect("write clang");
        fs::set_permissions(&clang, fs::Permissions::from_mode(0o755)).expect("chmod");
        // A file name a shell would split, expand and run.
        let source = dir.join("a b;touch pwned1;$(touch pwned2)`touch pwned3`>x|y.bpf.c");
        fs::write(&source, "int x;\n").expect("write source");
        let output = dir.join("out 'quoted'.o");
        let opts = CompileOptions {
            clang: Some(clang.clone()),
            kernel_btf: btf,
            cache_dir: Some(dir.join("cache")),
            defines: vec![("A".into(), Some("$(touch pwned4)".into()))],
            ..Default::default()
        };
        let compiled = compile(&source, &output, &opts).expect("compile");
        let recorded = fs::read(&record).expect("the stand-in clang ran");
        let recorded: Vec<OsString> = recorded
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| OsStr::from_bytes(a).to_os_string())
            .collect();
        assert_eq!(recorded, compiled.args);
        assert!(recorded.contains(&source.clone().into_os_string()));
        assert!(recorded.contains(&output.clone().into_os_string()));
        assert!(recorded.contains(&OsString::from("-DA=$(touch pwned4)")));
        for n in 1..=4 {
            let name = format!("pwned{n}");
            assert!(
                !dir.join(&name).exists(),
                "{name} created in {}",
                dir.display()
            );
            assert!(
                !Path::new(&name).exists(),
                "{name} created in the working directory"
            );
        }
    }

    fn chown(path: &Path, uid: u32) {
        std::os::unix::fs::lchown(path, Some(uid), None)
            .unwrap_or_else(|e| panic!("chown {} (run the tests as root): {e}", path.display()));
    }

    #[test]
    fn the_cache_must_be_private() {
        let tmp = PrivateTempDir::new("corebpf-cache-test").expect("temp dir");
        let base = tmp.path();

        // Created fresh: mode 0700, parents too.
        let fresh = base.join("a/b/cache");
        ensure_private_dir(&fresh).expect("fresh cache");
        for d in [base.join("a"), base.join("a/b"), fresh.clone()] {
            assert_eq!(fs::metadata(&d).expect("meta").mode() & 0o777, 0o700);
        }

        // Another user's directory.
        let foreign = base.join("foreign");
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&foreign)
            .expect("mkdir");
        chown(&foreign, 65534);
        let err = ensure_private_dir(&foreign).expect_err("foreign cache");
        assert!(
            matches!(err, CompileError::UnsafeCache { uid: 65534, .. }),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("is not private (owner uid 65534, mode 700)"));

        // Group- or other-writable.
        for mode in [0o770, 0o702, 0o777] {
            let open = base.join(format!("open{mode:o}"));
            fs::create_dir(&open).expect("mkdir");
            fs::set_permissions(&open, fs::Permissions::from_mode(mode)).expect("chmod");
            let err = ensure_private_dir(&open).expect_err("writable cache");
            assert!(
                matches!(err, CompileError::UnsafeCache { mode: m, .. } if m == mode),
                "{err}"
            );
        }

        // A symbolic link to a directory, even a private one, is not followed.
        let link = base.join("link");
        std::os::unix::fs::symlink(&fresh, &link).expect("symlink");
        let err = ensure_private_dir(&link).expect_err("symlinked cache");
        assert!(matches!(err, CompileError::NotADirectory { .. }), "{err}");

        // vmlinux.h is not generated into an unsafe cache.
        let btf = base.join("btf");
        fs::write(&btf, empty_btf()).expect("write btf");
        assert!(vmlinux_h_dir(&btf, &foreign).is_err());
        assert!(headers_dir(&link).is_err());
        let dir = vmlinux_h_dir(&btf, &fresh).expect("private cache");
        let header = fs::metadata(dir.join("vmlinux.h")).expect("vmlinux.h");
        assert_eq!(header.mode() & 0o777, 0o644);
    }

    #[test]
    fn files_are_replaced_not_written_through_links() {
        let tmp = PrivateTempDir::new("corebpf-write-test").expect("temp dir");
        let victim = tmp.path().join("victim");
        fs::write(&victim, "untouched").expect("write");
        let target = tmp.path().join("vmlinux.h");
        std::os::unix::fs::symlink(&victim, &target).expect("symlink");
        write_atomic(&target, b"new", 0o644).expect("write");
        assert_eq!(fs::read_to_string(&victim).expect("read"), "untouched");
        let meta = fs::symlink_metadata(&target).expect("meta");
        assert!(meta.is_file());
        assert_eq!(fs::read(&target).expect("read"), b"new");
        // No temporary file is left next to it.
        assert_eq!(fs::read_dir(tmp.path()).expect("ls").count(), 2);
    }

    #[test]
    fn private_temp_dirs_are_fresh_0700_and_removed() {
        let a = PrivateTempDir::new("corebpf-tmp-test").expect("a");
        let b = PrivateTempDir::new("corebpf-tmp-test").expect("b");
        assert_ne!(a.path(), b.path());
        let meta = fs::symlink_metadata(a.path()).expect("meta");
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o7777, 0o700);
        assert_eq!(meta.uid(), current_uid().expect("uid"));
        fs::write(a.path().join("x.o"), b"x").expect("write");
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
        assert!(b.path().exists());
    }
}
