//! `corebpf link`: BPF links in the running kernel — type, program, and what each is attached
//! to (tracepoint name, attach type, target object and BTF ids, cgroup id, ifindex, netns, …).

use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::BorrowedFd;

use anyhow::Result;
use corebpf_sys::bpf::{self, attr::LinkInfo, ObjKind};
use serde_json::{json, Map as JsonMap, Value};

use crate::introspect;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    out: introspect::JsonArgs,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Every link.
    #[command(alias = "show")]
    List {
        /// Only this link.
        id: Option<u32>,
    },
}

pub fn run(args: Args) -> Result<()> {
    let json = args.out.wanted();
    match args.command {
        Cmd::List { id } => list(id, json, args.out.pretty),
    }
}

/// The type-specific part of the info, as bytes.
fn extra_bytes(info: &LinkInfo) -> Vec<u8> {
    info.extra.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// Link info, with the name strings some link types report through a user buffer.
fn link_info_named(fd: BorrowedFd<'_>) -> Result<(LinkInfo, Option<String>)> {
    let first = bpf::link_info(fd)?;
    let ty = introspect::link_types().name(first.link_type);
    // Where the (pointer, length) pair of the name lives inside the union, by link type.
    let slot = match ty.as_str() {
        "raw_tracepoint" | "iter" => Some(0usize),
        // perf_event: `type` then a union whose first member is the name pointer.
        "perf_event" => Some(1usize),
        _ => None,
    };
    let Some(slot) = slot else {
        return Ok((first, None));
    };
    let mut buf = vec![0u8; 512];
    let mut info = LinkInfo::default();
    info.extra[slot] = buf.as_mut_ptr() as u64;
    info.extra[slot + 1] = buf.len() as u64;
    if bpf::obj_info(fd, &mut info).is_err() {
        return Ok((first, None));
    }
    let name = bpf::attr::name_str(&buf);
    Ok((info, (!name.is_empty()).then_some(name)))
}

/// One link's description as bpftool's `link show -j` shapes it.
pub fn link_json(id: u32, fd: BorrowedFd<'_>) -> Result<Value> {
    let (info, name) = link_info_named(fd)?;
    let ty = introspect::link_types().name(info.link_type);
    let e = extra_bytes(&info);
    let attach = |v: u32| json!(introspect::attach_types().name(v));
    let mut m = JsonMap::new();
    m.insert("id".into(), json!(id));
    m.insert("type".into(), json!(ty));
    m.insert("prog_id".into(), json!(info.prog_id));
    match ty.as_str() {
        "raw_tracepoint" => {
            m.insert("tp_name".into(), json!(name.unwrap_or_default()));
        }
        "tracing" => {
            m.insert("attach_type".into(), attach(u32_at(&e, 0)));
            m.insert("target_obj_id".into(), json!(u32_at(&e, 4)));
            m.insert("target_btf_id".into(), json!(u32_at(&e, 8)));
        }
        "cgroup" => {
            m.insert("cgroup_id".into(), json!(u64_at(&e, 0)));
            m.insert("attach_type".into(), attach(u32_at(&e, 8)));
        }
        "iter" => {
            m.insert("target_name".into(), json!(name.unwrap_or_default()));
            let map_id = u32_at(&e, 12);
            if map_id != 0 {
                m.insert("map_id".into(), json!(map_id));
            }
        }
        "netns" => {
            m.insert("netns_ino".into(), json!(u32_at(&e, 0)));
            m.insert("attach_type".into(), attach(u32_at(&e, 4)));
        }
        "xdp" => {
            m.insert("ifindex".into(), json!(u32_at(&e, 0)));
        }
        "tcx" | "netkit" => {
            m.insert("ifindex".into(), json!(u32_at(&e, 0)));
            m.insert("attach_type".into(), attach(u32_at(&e, 4)));
        }
        "sockmap" => {
            m.insert("map_id".into(), json!(u32_at(&e, 0)));
            m.insert("attach_type".into(), attach(u32_at(&e, 4)));
        }
        "struct_ops" => {
            m.insert("map_id".into(), json!(u32_at(&e, 0)));
        }
        "netfilter" => {
            m.insert("pf".into(), json!(u32_at(&e, 0)));
            m.insert("hook".into(), json!(u32_at(&e, 4)));
            m.insert("prio".into(), json!(u32_at(&e, 8) as i32));
            m.insert("flags".into(), json!(u32_at(&e, 12)));
        }
        "kprobe_multi" => {
            m.insert("func_cnt".into(), json!(u32_at(&e, 8)));
            m.insert("missed".into(), json!(u64_at(&e, 16)));
        }
        "uprobe_multi" => {
            m.insert("func_cnt".into(), json!(u32_at(&e, 36)));
            m.insert("pid".into(), json!(u32_at(&e, 44)));
        }
        "perf_event" => {
            // enum bpf_perf_event_type
            let kind = u32_at(&e, 0);
            let kind_name = match kind {
                1 => "uprobe",
                2 => "uretprobe",
                3 => "kprobe",
                4 => "kretprobe",
                5 => "tracepoint",
                6 => "event",
                _ => "unspec",
            };
            m.insert("event_type".into(), json!(kind_name));
            match kind {
                1 | 2 => {
                    m.insert("file".into(), json!(name.unwrap_or_default()));
                    m.insert("offset".into(), json!(u32_at(&e, 20)));
                    m.insert("cookie".into(), json!(u64_at(&e, 24)));
                }
                3 | 4 => {
                    m.insert("func".into(), json!(name.unwrap_or_default()));
                    m.insert("offset".into(), json!(u32_at(&e, 20)));
                    m.insert("addr".into(), json!(u64_at(&e, 24)));
                    m.insert("missed".into(), json!(u64_at(&e, 32)));
                }
                5 => {
                    m.insert("tracepoint".into(), json!(name.unwrap_or_default()));
                    m.insert("cookie".into(), json!(u64_at(&e, 24)));
                }
                6 => {
                    m.insert("config".into(), json!(u64_at(&e, 8)));
                    m.insert("type".into(), json!(u32_at(&e, 16)));
                    m.insert("event_type".into(), json!("event"));
                }
                _ => {}
            }
            // `type` above is the link's; keep it.
            m.insert("type".into(), json!(ty));
        }
        _ => {}
    }
    Ok(Value::Object(m))
}

fn list(only: Option<u32>, json: bool, pretty: bool) -> Result<()> {
    let all = introspect::describe_each(ObjKind::Link, only, link_json)?;
    if json {
        return introspect::print_listing(all, only.is_some(), pretty);
    }
    let mut out = String::new();
    for l in &all {
        let _ = write!(
            out,
            "{}: {}  prog {}",
            l["id"],
            l["type"].as_str().unwrap_or("?"),
            l["prog_id"]
        );
        if let Value::Object(m) = l {
            for (k, v) in m {
                if matches!(k.as_str(), "id" | "type" | "prog_id") {
                    continue;
                }
                match v {
                    Value::String(s) => {
                        let _ = write!(out, "  {k} {s}");
                    }
                    other => {
                        let _ = write!(out, "  {k} {other}");
                    }
                }
            }
        }
        out.push('\n');
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
