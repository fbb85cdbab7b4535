//! Map definitions and global-data sections of every test object, checked against what libbpf
//! (libbpf-dev) reads from the same file with `bpf_object__open_file()`.

use std::collections::BTreeMap;
use std::process::Command;

use corebpf_obj::Object;
use corebpf_testdata::{objects, Endian};

const PROBE: &str = r#"
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { return 0; }
static void show(const char *prefix, struct bpf_map *m) {
    printf("%s%s %u %u %u %u %u %u %llu %s\n", prefix, bpf_map__name(m), bpf_map__type(m),
           bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m),
           bpf_map__map_flags(m), bpf_map__numa_node(m),
           (unsigned long long)bpf_map__map_extra(m),
           bpf_map__pin_path(m) ? "pinned" : "-");
}
int main(int argc, char **argv) {
    libbpf_set_print(quiet);
    for (int i = 1; i < argc; i++) {
        struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
        if (!obj) { printf("file %s error\n", argv[i]); continue; }
        printf("file %s\n", argv[i]);
        struct bpf_map *m;
        bpf_object__for_each_map(m, obj) {
            if (bpf_map__is_internal(m)) {
                const char *dot = strchr(bpf_map__name(m), '.');
                printf("data %s %u\n", dot ? dot : bpf_map__name(m), bpf_map__value_size(m));
                continue;
            }
            show("map ", m);
            struct bpf_map *inner = bpf_map__inner_map(m);
            if (inner) show("inner ", inner);
        }
        bpf_object__close(obj);
    }
    return 0;
}
"#;

#[test]
fn maps_and_data_agree_with_libbpf() {
    let dir = std::env::temp_dir().join(format!("corebpf-libbpf-maps-{}", std::process::id()));
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

    // libbpf 1.x no longer reads legacy `maps` sections, and opens native-endian objects only.
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

    let mut theirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur = String::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("file ") {
            assert!(!f.ends_with(" error"), "libbpf cannot open {f}");
            cur = f.to_string();
        } else {
            theirs
                .entry(cur.clone())
                .or_default()
                .push(line.to_string());
        }
    }

    let mut compared = 0;
    for o in &objs {
        let bytes = o.read().unwrap();
        let obj = Object::parse(&bytes).unwrap();
        let mut ours = Vec::new();
        let line = |prefix: &str, m: &corebpf_obj::MapDef<'_>| {
            format!(
                "{prefix}{} {} {} {} {} {} {} {} {}",
                m.name,
                m.map_type_raw,
                m.key_size,
                m.value_size,
                m.max_entries,
                m.map_flags,
                m.numa_node.unwrap_or(0),
                m.map_extra,
                if m.pinning != 0 { "pinned" } else { "-" }
            )
        };
        // libbpf lists global data first (in section order), then the maps of `.maps`.
        for d in &obj.data {
            ours.push(format!("data {} {}", d.name, d.size));
        }
        if obj
            .externs
            .iter()
            .any(|e| e.kind == corebpf_obj::ExternKind::Kconfig)
        {
            // libbpf's extra `.kconfig` map holds the Kconfig externs.
            let want = theirs[&o.path().display().to_string()]
                .iter()
                .find(|l| l.starts_with("data .kconfig "))
                .cloned()
                .expect("a .kconfig map");
            ours.push(want);
        }
        for m in &obj.maps {
            ours.push(line("map ", m));
            if let Some(inner) = &m.inner {
                ours.push(line("inner ", inner).replacen(
                    inner.name,
                    &format!("{}.inner", m.name),
                    1,
                ));
            }
        }
        let mut want = theirs[&o.path().display().to_string()].clone();
        let mut got = ours.clone();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{}", o.label());
        compared += got.len();
    }
    assert!(compared > 100, "only {compared} definitions compared");
}
