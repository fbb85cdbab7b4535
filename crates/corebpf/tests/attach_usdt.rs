//! USDT: notes parsed from a test binary (built at test time with a probe and a semaphore)
//! compared with `readelf -n`, and a real attach whose semaphore the kernel raises.

#[path = "attach_progs/support.rs"]
mod support;

use std::path::PathBuf;

use corebpf::usdt::{self, UsdtArgLoc};
use support::*;

fn build(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corebpf-usdt-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("usdt_target");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/attach_progs/usdt_target.c");
    run(
        "gcc",
        &["-O1", "-o", bin.to_str().unwrap(), src.to_str().unwrap()],
    );
    bin
}

fn readelf_field(text: &str, field: &str) -> u64 {
    let at = text
        .find(&format!("{field}: 0x"))
        .unwrap_or_else(|| panic!("{field} in readelf output"));
    let hex: String = text[at + field.len() + 4..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u64::from_str_radix(&hex, 16).unwrap()
}

#[test]
fn notes_match_readelf_and_the_semaphore_enables_the_probe() {
    let _serial = serial();
    let bin = build("attach");
    let probes = usdt::probes(&bin).expect("parse notes");
    assert_eq!(probes.len(), 1);
    let p = &probes[0];
    let out = std::process::Command::new("readelf")
        .arg("-n")
        .arg(&bin)
        .output()
        .expect("readelf (binutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("Provider: {}", p.provider)) && p.provider == "corebpf");
    assert!(text.contains(&format!("Name: {}", p.name)) && p.name == "tick");
    assert_eq!(p.pc, readelf_field(&text, "Location"));
    assert_eq!(p.base, readelf_field(&text, "Base"));
    assert_eq!(p.semaphore, readelf_field(&text, "Semaphore"));
    assert!(text.contains(&format!("Arguments: {}", p.args_spec)));
    assert_eq!(p.args.len(), 3);
    assert_eq!(
        (p.args[0].size, p.args[0].signed, &p.args[0].loc),
        (4, true, &UsdtArgLoc::Const(-7))
    );
    assert_eq!(p.args[1].loc, UsdtArgLoc::Reg("rdi".into()));
    assert_eq!(
        p.args[2].loc,
        UsdtArgLoc::Mem {
            reg: "rbp".into(),
            offset: -12
        }
    );

    // Without an attached probe the semaphore is 0 and the probe site is skipped.
    let o = std::process::Command::new(&bin).arg("5").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "0");

    let obj = load("hooks", &[]);
    let link = corebpf::attach::usdt(
        obj.program("on_uprobe").unwrap().fd(),
        bin.to_str().unwrap(),
        "corebpf",
        "tick",
        None,
    )
    .expect("attach usdt");
    assert_eq!(link.members().len(), 1);
    let o = std::process::Command::new(&bin).arg("6").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "6",
        "the kernel raised the semaphore"
    );
    assert_eq!(count(&obj, slot::UPROBE), 6);
    drop(link);
    let o = std::process::Command::new(&bin).arg("2").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "0",
        "semaphore dropped with the link"
    );
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}

#[test]
fn damaged_notes_give_errors_not_panics() {
    let bin = build("damaged");
    let data = std::fs::read(&bin).unwrap();
    // Truncations and byte flips over the whole file: errors or probes, never a panic.
    for cut in (0..data.len()).step_by(97) {
        let _ = usdt::probes_in(&data[..cut]);
    }
    let mut d = data.clone();
    for i in (0..d.len()).step_by(13) {
        d[i] ^= 0xff;
        let _ = usdt::probes_in(&d);
        d[i] ^= 0xff;
    }
    assert!(usdt::probes_in(&data).unwrap().len() == 1);
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}
