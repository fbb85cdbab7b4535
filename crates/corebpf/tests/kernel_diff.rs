//! Differential test against libbpf: for every test object, the instructions the kernel holds
//! after our load (`BPF_OBJ_GET_INFO_BY_FD` xlated) equal those it holds after libbpf's load of
//! the same object (`bpftool prog loadall`), map references compared by map name.

mod common;

use std::os::fd::AsFd;
use std::path::Path;

use common::*;
use corebpf::OpenObject;
use corebpf_sys::bpf::{self, ObjKind};
use corebpf_testdata::{objects, Endian};

/// One xlated instruction with map ids replaced by map names.
#[derive(Debug, PartialEq, Eq)]
struct Slot {
    code: u8,
    regs: u8,
    off: i16,
    imm: String,
}

fn map_name(id: u32) -> String {
    let fd = bpf::fd_by_id(ObjKind::Map, id).expect("open map by id");
    let info = bpf::map_info(fd.as_fd()).expect("map info");
    format!("map:{}", bpf::attr::name_str(&info.name))
}

fn normalized(fd: std::os::fd::BorrowedFd<'_>) -> Vec<Slot> {
    let (_, insns, _) = bpf::prog_xlated(fd).expect("xlated");
    let mut out = Vec::new();
    for c in insns.chunks_exact(8) {
        let code = c[0];
        let regs = c[1];
        let off = i16::from_ne_bytes([c[2], c[3]]);
        let imm = i32::from_ne_bytes([c[4], c[5], c[6], c[7]]);
        let src = regs >> 4;
        // The first half of a map reference holds the map id (compared by name); the second
        // half keeps its value offset.
        let imm_text = if code == 0x18 && matches!(src, 1 | 2 | 5 | 6) {
            map_name(imm as u32)
        } else {
            imm.to_string()
        };
        out.push(Slot {
            code,
            regs,
            off,
            imm: imm_text,
        });
    }
    out
}

fn libbpf_load(obj: &Path, dir: &Path) {
    let out = std::process::Command::new("bpftool")
        .arg("prog")
        .arg("loadall")
        .arg(obj)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("bpftool is needed for the libbpf side: {e}"));
    assert!(
        out.status.success(),
        "bpftool prog loadall {}: {}",
        obj.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn xlated_instructions_equal_libbpfs() {
    let mut compared = 0;
    for t in objects() {
        if t.endian == Endian::Big || t.name == "fentry" {
            continue; // not loadable on this host (see kernel_load.rs)
        }
        if t.name == "legacy_maps" || t.name == "tc_cgroup" {
            // libbpf 1.1 refuses both: legacy `maps` sections are gone since 1.0, and it does not
            // know the `tcx/egress` section name (1.3+). There is nothing to compare with.
            continue;
        }
        let pins = PinDir::new("diff");
        // libbpf pins by-name maps under /sys/fs/bpf itself: the guard removes the ones it makes.
        let _by_name = corebpf_testdata::ByNamePins::new(t.name);
        let theirs = pins.path().join("libbpf");
        libbpf_load(t.path(), &theirs);
        let ours = OpenObject::open(t.path())
            .expect("open")
            .load_with(&opts(&pins))
            .unwrap_or_else(|e| panic!("{}: {e}", t.label()));
        for p in ours.programs() {
            let pinned = theirs.join(p.name());
            let fd = bpf::obj_get(&pinned.to_string_lossy())
                .unwrap_or_else(|e| panic!("{}: libbpf's {}: {e}", t.label(), p.name()));
            let a = normalized(p.fd());
            let b = normalized(fd.as_fd());
            if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
                panic!(
                    "{} program {}: xlated instruction {i} differs: ours {:?}, libbpf {:?} ({} vs {} instructions)",
                    t.label(),
                    p.name(),
                    a.get(i),
                    b.get(i),
                    a.len(),
                    b.len()
                );
            }
            compared += 1;
        }
        drop(ours);
    }
    assert!(compared >= 40, "compared {compared} programs");
}
