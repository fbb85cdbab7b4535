//! `corebpf run FILE.bpf.c` refuses a compile cache someone else could write into (another
//! owner, group- or other-writable, a symbolic link), before compiling or loading anything,
//! and compiles into a private scratch directory it removes afterwards.
//!
//! Needs root (to hand a directory to another user) and clang-19.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corebpf() -> &'static str {
    env!("CARGO_BIN_EXE_corebpf")
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/execsnoop.bpf.c")
}

fn run_with_cache(xdg: &Path, tmp: &Path, marker: &Path) -> Output {
    Command::new(corebpf())
        .arg("run")
        .arg(example())
        .arg("--")
        .arg("touch")
        .arg(marker)
        .env("XDG_CACHE_HOME", xdg)
        .env("TMPDIR", tmp)
        .output()
        .expect("run corebpf")
}

fn fresh(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
}

#[test]
fn an_unsafe_cache_is_refused_and_scratch_space_is_private() {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-cache");
    let tmp = base.join("tmp");
    let marker = base.join("the-command-ran");
    let xdg = base.join("xdg");
    let cache = xdg.join("corebpf");

    // Another user's cache.
    fresh(&base);
    fresh(&tmp);
    std::fs::create_dir_all(&cache).expect("mkdir");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::chown(&cache, Some(65534), None).expect("chown (needs root)");
    let out = run_with_cache(&xdg, &tmp, &marker);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "corebpf: cache directory {} is not private (owner uid 65534, mode 755): it must \
             belong to the current user and not be writable by group or others (remove it, or \
             set XDG_CACHE_HOME to a directory of your own)\n",
            cache.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));

    // Group-writable.
    std::os::unix::fs::chown(&cache, Some(0), None).expect("chown");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o775)).expect("chmod");
    let out = run_with_cache(&xdg, &tmp, &marker);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not private (owner uid 0, mode 775)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1));

    // A symbolic link, even to a private directory.
    std::fs::remove_dir(&cache).expect("rmdir");
    let real = base.join("real");
    std::fs::create_dir_all(&real).expect("mkdir");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::os::unix::fs::symlink(&real, &cache).expect("symlink");
    let out = run_with_cache(&xdg, &tmp, &marker);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "corebpf: cache directory {} is not a directory (a symbolic link or a file): \
             refusing to use it\n",
            cache.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!marker.exists(), "the command ran");
    assert_eq!(std::fs::read_dir(&real).expect("ls").count(), 0);

    // A private cache works; the scratch directory in TMPDIR is gone afterwards and the cache
    // holds only private directories.
    std::fs::remove_file(&cache).expect("rm");
    let out = run_with_cache(&xdg, &tmp, &marker);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(marker.exists());
    assert_eq!(
        std::fs::read_dir(&tmp).expect("ls").count(),
        0,
        "scratch left"
    );
    let mut dirs = vec![cache.clone()];
    while let Some(d) = dirs.pop() {
        let meta = std::fs::symlink_metadata(&d).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o700, "{}", d.display());
        for e in std::fs::read_dir(&d).expect("ls").flatten() {
            let m = std::fs::symlink_metadata(e.path()).expect("meta");
            if m.is_dir() {
                dirs.push(e.path());
            } else {
                assert!(m.is_file(), "{}", e.path().display());
                assert_eq!(m.permissions().mode() & 0o022, 0, "{}", e.path().display());
            }
        }
    }
    std::fs::remove_dir_all(&base).ok();
}
