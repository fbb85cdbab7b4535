//! Programs of every test object (name, section, program type, expected attach type, size),
//! checked against libbpf's view of the same file (`bpf_object__for_each_program`).

use std::process::Command;

use corebpf_obj::Object;
use corebpf_testdata::{objects, Endian};

const PROBE: &str = r#"
#include <stdio.h>
#include <bpf/libbpf.h>
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { return 0; }
int main(int argc, char **argv) {
    libbpf_set_print(quiet);
    for (int i = 1; i < argc; i++) {
        struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
        if (!obj) { printf("@@file %s error\n", argv[i]); continue; }
        printf("@@file %s\n", argv[i]);
        struct bpf_program *p;
        bpf_object__for_each_program(p, obj)
            printf("%s %s %u %u %zu\n", bpf_program__name(p), bpf_program__section_name(p),
                   bpf_program__type(p), bpf_program__expected_attach_type(p),
                   bpf_program__insn_cnt(p));
        bpf_object__close(obj);
    }
    return 0;
}
"#;

#[test]
fn programs_agree_with_libbpf() {
    let dir = std::env::temp_dir().join(format!("corebpf-libbpf-progs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, bin) = (dir.join("probe.c"), dir.join("probe"));
    std::fs::write(&src, PROBE).unwrap();
    let st = Command::new("clang-19")
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .arg("-lbpf")
        .status()
        .unwrap_or_else(|e| panic!("cannot run clang-19 ({e}): install clang-19"));
    assert!(
        st.success(),
        "building the libbpf probe failed: install libbpf-dev"
    );
    let objs: Vec<_> = objects()
        .iter()
        .filter(|o| o.endian == Endian::Little && o.name != "legacy_maps")
        .collect();
    let out = Command::new(&bin)
        .args(objs.iter().map(|o| o.path()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8(out.stdout).unwrap();

    let mut compared = 0;
    for (o, block) in objs.iter().zip(text.split("@@file ").skip(1)) {
        let mut lines = block.lines();
        let header = lines.next().unwrap();
        assert_eq!(
            header,
            o.path().display().to_string(),
            "libbpf could not open {}",
            o.label()
        );
        let bytes = o.read().unwrap();
        let obj = Object::parse(&bytes).unwrap();
        let ours: Vec<_> = obj.programs().collect();
        let theirs: Vec<Vec<&str>> = lines.map(|l| l.split(' ').collect()).collect();
        assert_eq!(ours.len(), theirs.len(), "{}: program count", o.label());
        for (p, t) in ours.iter().zip(&theirs) {
            assert_eq!((p.name, p.section_name), (t[0], t[1]), "{}", o.label());
            // libbpf counts the program's own instruction slots before subprograms are appended.
            assert_eq!(
                p.insns.len() / 8,
                t[4].parse::<usize>().unwrap(),
                "{} {}",
                o.label(),
                p.name
            );
            if t[2] == "0" {
                // A section name newer than the installed libbpf (e.g. tcx/egress).
                continue;
            }
            let k = p.kind.unwrap();
            let attach = k.expected_attach_type.map_or(0, |a| a.as_raw());
            assert_eq!(
                (k.prog_type.as_raw().to_string(), attach.to_string()),
                (t[2].to_string(), t[3].to_string()),
                "{} {}",
                o.label(),
                p.name
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "only {compared} programs compared");
}
