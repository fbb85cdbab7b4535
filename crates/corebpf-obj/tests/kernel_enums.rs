//! The kernel's own enums (from this machine's BTF, via the generated vmlinux.h) agree with
//! the numbers in this crate.

use std::collections::HashMap;

use corebpf_obj::{AttachType, MapType, ProgType};

fn kernel_enum(text: &str, name: &str) -> HashMap<String, u32> {
    let start = text
        .find(&format!("enum {name} {{"))
        .unwrap_or_else(|| panic!("enum {name} not in vmlinux.h"));
    let body = &text[start..];
    let body = &body[..body.find("};").unwrap()];
    body.lines()
        .skip(1)
        .filter_map(|l| {
            let (k, v) = l.trim().trim_end_matches(',').split_once(" = ")?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[test]
fn numbers_match_the_running_kernel() {
    let text = std::fs::read_to_string(corebpf_testdata::vmlinux_header()).unwrap();
    let progs = kernel_enum(&text, "bpf_prog_type");
    for t in ProgType::ALL {
        let key = format!("BPF_PROG_TYPE_{}", t.name().to_uppercase());
        assert_eq!(progs.get(&key), Some(&t.as_raw()), "{key}");
    }
    let attach = kernel_enum(&text, "bpf_attach_type");
    for t in AttachType::ALL {
        let key = format!("BPF_{}", t.name().to_uppercase());
        assert_eq!(attach.get(&key), Some(&t.as_raw()), "{key}");
    }
    let maps = kernel_enum(&text, "bpf_map_type");
    for t in MapType::ALL {
        let key = format!("BPF_MAP_TYPE_{}", t.name().to_uppercase());
        assert_eq!(maps.get(&key), Some(&t.as_raw()), "{key}");
    }
}
