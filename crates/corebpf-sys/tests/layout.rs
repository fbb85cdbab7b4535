//! Every attribute and info field sits where the C compiler puts it in the system's
//! `<linux/bpf.h>` (fields newer than that header are checked by the kernel tests instead).

use std::mem::offset_of;
use std::process::Command;

use corebpf_sys::bpf::attr::*;

macro_rules! fields {
    ($($rust:ty, $field:ident => $c:literal;)*) => {
        vec![$((offset_of!($rust, $field), $c)),*]
    };
}

#[test]
fn attr_layout_matches_linux_uapi_header() {
    let table: Vec<(usize, &str)> = fields![
        MapCreateAttr, map_type => "offsetof(union bpf_attr, map_type)";
        MapCreateAttr, inner_map_fd => "offsetof(union bpf_attr, inner_map_fd)";
        MapCreateAttr, map_name => "offsetof(union bpf_attr, map_name)";
        MapCreateAttr, map_ifindex => "offsetof(union bpf_attr, map_ifindex)";
        MapCreateAttr, btf_vmlinux_value_type_id => "offsetof(union bpf_attr, btf_vmlinux_value_type_id)";
        MapCreateAttr, map_extra => "offsetof(union bpf_attr, map_extra)";
        MapElemAttr, map_fd => "offsetof(union bpf_attr, map_fd)";
        MapElemAttr, key => "offsetof(union bpf_attr, key)";
        MapElemAttr, value => "offsetof(union bpf_attr, value)";
        MapElemAttr, flags => "offsetof(union bpf_attr, flags)";
        MapBatchAttr, count => "offsetof(union bpf_attr, batch.count)";
        MapBatchAttr, map_fd => "offsetof(union bpf_attr, batch.map_fd)";
        MapBatchAttr, flags => "offsetof(union bpf_attr, batch.flags)";
        ProgLoadAttr, insns => "offsetof(union bpf_attr, insns)";
        ProgLoadAttr, log_buf => "offsetof(union bpf_attr, log_buf)";
        ProgLoadAttr, prog_name => "offsetof(union bpf_attr, prog_name)";
        ProgLoadAttr, expected_attach_type => "offsetof(union bpf_attr, expected_attach_type)";
        ProgLoadAttr, func_info => "offsetof(union bpf_attr, func_info)";
        ProgLoadAttr, line_info => "offsetof(union bpf_attr, line_info)";
        ProgLoadAttr, attach_btf_id => "offsetof(union bpf_attr, attach_btf_id)";
        ProgLoadAttr, attach_fd => "offsetof(union bpf_attr, attach_prog_fd)";
        ProgLoadAttr, core_relo_cnt => "offsetof(union bpf_attr, core_relo_cnt)";
        ProgLoadAttr, fd_array => "offsetof(union bpf_attr, fd_array)";
        ProgLoadAttr, core_relo_rec_size => "offsetof(union bpf_attr, core_relo_rec_size)";
        ObjAttr, pathname => "offsetof(union bpf_attr, pathname)";
        ObjAttr, file_flags => "offsetof(union bpf_attr, file_flags)";
        ProgAttachAttr, replace_bpf_fd => "offsetof(union bpf_attr, replace_bpf_fd)";
        TestRunAttr, data_out => "offsetof(union bpf_attr, test.data_out)";
        TestRunAttr, ctx_out => "offsetof(union bpf_attr, test.ctx_out)";
        TestRunAttr, batch_size => "offsetof(union bpf_attr, test.batch_size)";
        GetIdAttr, next_id => "offsetof(union bpf_attr, next_id)";
        GetIdAttr, open_flags => "offsetof(union bpf_attr, open_flags)";
        InfoAttr, info => "offsetof(union bpf_attr, info.info)";
        QueryAttr, prog_ids => "offsetof(union bpf_attr, query.prog_ids)";
        QueryAttr, prog_cnt => "offsetof(union bpf_attr, query.prog_cnt)";
        QueryAttr, prog_attach_flags => "offsetof(union bpf_attr, query.prog_attach_flags)";
        RawTracepointAttr, prog_fd => "offsetof(union bpf_attr, raw_tracepoint.prog_fd)";
        BtfLoadAttr, btf_log_level => "offsetof(union bpf_attr, btf_log_level)";
        LinkCreateAttr, flags => "offsetof(union bpf_attr, link_create.flags)";
        LinkCreateAttr, extra => "offsetof(union bpf_attr, link_create.target_btf_id)";
        KprobeMultiLinkAttr, attach_type => "offsetof(union bpf_attr, link_create.attach_type)";
        KprobeMultiLinkAttr, link_flags => "offsetof(union bpf_attr, link_create.flags)";
        KprobeMultiLinkAttr, flags => "offsetof(union bpf_attr, link_create.kprobe_multi.flags)";
        KprobeMultiLinkAttr, cnt => "offsetof(union bpf_attr, link_create.kprobe_multi.cnt)";
        KprobeMultiLinkAttr, syms => "offsetof(union bpf_attr, link_create.kprobe_multi.syms)";
        KprobeMultiLinkAttr, addrs => "offsetof(union bpf_attr, link_create.kprobe_multi.addrs)";
        KprobeMultiLinkAttr, cookies => "offsetof(union bpf_attr, link_create.kprobe_multi.cookies)";
        LinkUpdateAttr, old_prog_fd => "offsetof(union bpf_attr, link_update.old_prog_fd)";
        ProgBindMapAttr, map_fd => "offsetof(union bpf_attr, prog_bind_map.map_fd)";
        ProgInfo, tag => "offsetof(struct bpf_prog_info, tag)";
        ProgInfo, jited_prog_insns => "offsetof(struct bpf_prog_info, jited_prog_insns)";
        ProgInfo, map_ids => "offsetof(struct bpf_prog_info, map_ids)";
        ProgInfo, name => "offsetof(struct bpf_prog_info, name)";
        ProgInfo, ifindex => "offsetof(struct bpf_prog_info, ifindex)";
        ProgInfo, netns_dev => "offsetof(struct bpf_prog_info, netns_dev)";
        ProgInfo, btf_id => "offsetof(struct bpf_prog_info, btf_id)";
        ProgInfo, line_info => "offsetof(struct bpf_prog_info, line_info)";
        ProgInfo, prog_tags => "offsetof(struct bpf_prog_info, prog_tags)";
        ProgInfo, recursion_misses => "offsetof(struct bpf_prog_info, recursion_misses)";
        ProgInfo, attach_btf_id => "offsetof(struct bpf_prog_info, attach_btf_id)";
        MapInfo, name => "offsetof(struct bpf_map_info, name)";
        MapInfo, netns_dev => "offsetof(struct bpf_map_info, netns_dev)";
        MapInfo, btf_value_type_id => "offsetof(struct bpf_map_info, btf_value_type_id)";
        MapInfo, map_extra => "offsetof(struct bpf_map_info, map_extra)";
        BtfInfo, name => "offsetof(struct bpf_btf_info, name)";
        BtfInfo, kernel_btf => "offsetof(struct bpf_btf_info, kernel_btf)";
        LinkInfo, extra => "offsetof(struct bpf_link_info, raw_tracepoint)";
    ];
    let sizes: Vec<(usize, &str)> = vec![
        (
            std::mem::size_of::<ProgInfo>(),
            "sizeof(struct bpf_prog_info)",
        ),
        (
            std::mem::size_of::<MapInfo>(),
            "sizeof(struct bpf_map_info)",
        ),
        (
            std::mem::size_of::<BtfInfo>(),
            "sizeof(struct bpf_btf_info)",
        ),
    ];
    let all: Vec<_> = table.iter().chain(sizes.iter()).collect();
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <linux/bpf.h>\nint main(void) {\n",
    );
    for (_, expr) in &all {
        c.push_str(&format!("    printf(\"%zu\\n\", (size_t){expr});\n"));
    }
    c.push_str("    return 0;\n}\n");
    let dir = std::env::temp_dir().join(format!("corebpf-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, c).expect("write C source");
    let cc = Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .expect(
            "a C compiler (cc) is needed for the layout test: apt-get install gcc linux-libc-dev",
        );
    assert!(
        cc.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let out = Command::new(&exe).output().expect("run layout probe");
    std::fs::remove_dir_all(&dir).ok();
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let c_offsets: Vec<usize> = text.lines().map(|l| l.parse().expect("number")).collect();
    assert_eq!(c_offsets.len(), all.len());
    let mut bad = Vec::new();
    for ((rust, expr), c) in all.iter().zip(c_offsets) {
        if *rust != c {
            bad.push(format!("{expr}: C says {c}, Rust has {rust}"));
        }
    }
    assert!(bad.is_empty(), "layout mismatches:\n{}", bad.join("\n"));
}
