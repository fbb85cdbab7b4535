//! Verifier rejections explained: the small bad programs of tests/bpf/bad are compiled with
//! clang-19, loaded, and the error must name the failing source line (the line marked
//! `/* FAIL */` in the C source), the summary the kernel gave and the matching hint.

use std::path::{Path, PathBuf};

use corebpf::{LoadError, OpenObject};

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bpf/bad")
}

/// Compiles tests/bpf/bad/<name>.bpf.c; returns the object path.
pub fn compile(name: &str) -> PathBuf {
    let src = bad_dir().join(format!("{name}.bpf.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.bpf.o"));
    let status = std::process::Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("clang-19 is needed (apt-get install clang-19): {e}"));
    assert!(status.success(), "clang-19 failed on {}", src.display());
    out
}

/// The 1-based line number and text of the `/* FAIL */` line of the source.
fn fail_line(name: &str) -> (u32, String) {
    let text = std::fs::read_to_string(bad_dir().join(format!("{name}.bpf.c"))).expect("source");
    text.lines()
        .enumerate()
        .find(|(_, l)| l.contains("/* FAIL */"))
        .map(|(i, l)| (i as u32 + 1, l.trim().to_string()))
        .expect("a /* FAIL */ line")
}

fn check(name: &str, summary_has: &str, hint_has: &str) -> LoadError {
    let obj = compile(name);
    let err = OpenObject::open(&obj)
        .expect("open")
        .load()
        .expect_err("the verifier must refuse this program");
    let LoadError::Verifier {
        program,
        log,
        insn,
        source_line,
        hint,
        ..
    } = &err
    else {
        panic!("{name}: expected a verifier rejection, got {err}");
    };
    assert!(!program.is_empty());
    assert!(insn.is_some(), "{name}: failing instruction");
    let summary = err.verifier_summary().expect("summary");
    assert!(summary.contains(summary_has), "{name}: summary {summary:?}");
    assert!(log.contains(summary), "{name}: summary comes from the log");
    let (line, text) = fail_line(name);
    let (file, num, src) = source_line.clone().expect("source line");
    assert!(
        file.ends_with(&format!("{name}.bpf.c")),
        "{name}: file {file}"
    );
    assert_eq!(num, line, "{name}: line number");
    assert_eq!(src.trim(), text, "{name}: line text");
    let h = hint.expect("hint");
    assert!(h.contains(hint_has), "{name}: hint {h:?}");
    let shown = err.to_string();
    for part in [summary, h, text.as_str(), "verifier log"] {
        assert!(
            shown.contains(part),
            "{name}: display lacks {part:?}:\n{shown}"
        );
    }
    err
}

#[test]
fn missing_null_check() {
    check(
        "null_check",
        "invalid mem access 'map_value_or_null'",
        "missing NULL check",
    );
}

#[test]
fn unbounded_loop() {
    check("unbounded_loop", "infinite loop detected", "unbounded loop");
}

#[test]
fn helper_not_allowed_for_program_type() {
    check(
        "helper_not_allowed",
        "program of this type cannot use helper bpf_skb_load_bytes",
        "not available to this program type",
    );
}

#[test]
fn poisoned_core_relocation() {
    let obj = compile("missing_field");
    let err = OpenObject::open(&obj)
        .expect("open")
        .load()
        .expect_err("refused");
    let LoadError::Verifier {
        core_access, hint, ..
    } = &err
    else {
        panic!("expected a verifier rejection, got {err}");
    };
    assert_eq!(
        err.verifier_summary(),
        Some("invalid func unknown#195896080")
    );
    let access = core_access
        .as_deref()
        .expect("CO-RE access at the failing instruction");
    assert!(access.contains("corebpf_no_such_field"), "{access}");
    assert!(access.contains("poisoned"), "{access}");
    assert!(hint.is_some_and(|h| h.contains("CO-RE relocation could not be resolved")));
}
