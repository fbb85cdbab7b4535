//! `corebpf btf list`: BTF objects loaded in the running kernel (vmlinux, modules, programs'
//! and maps' BTF), with the programs and maps that use each.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::AsFd;

use anyhow::Result;
use corebpf_sys::bpf::{self, ObjKind};
use serde_json::{json, Value};

use crate::introspect;

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only this BTF object.
    id: Option<u32>,
    #[command(flatten)]
    out: introspect::JsonArgs,
}

pub fn run(args: ListArgs) -> Result<()> {
    let objs = match args.id {
        Some(id) => vec![(id, introspect::open(ObjKind::Btf, id)?)],
        None => introspect::open_all(ObjKind::Btf)?,
    };
    // Who uses which BTF.
    let mut progs: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (id, fd) in introspect::open_all(ObjKind::Prog)? {
        if let Ok(info) = bpf::prog_info(fd.as_fd()) {
            if info.btf_id != 0 {
                progs.entry(info.btf_id).or_default().push(id);
            }
        }
    }
    let mut maps: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (id, fd) in introspect::open_all(ObjKind::Map)? {
        if let Ok(info) = bpf::map_info(fd.as_fd()) {
            if info.btf_id != 0 {
                maps.entry(info.btf_id).or_default().push(id);
            }
        }
    }
    let mut all = Vec::with_capacity(objs.len());
    for (id, fd) in &objs {
        let (info, name) = bpf::btf_info(fd.as_fd())?;
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(id));
        m.insert("size".into(), json!(info.btf_size));
        m.insert(
            "prog_ids".into(),
            json!(progs.get(id).cloned().unwrap_or_default()),
        );
        m.insert(
            "map_ids".into(),
            json!(maps.get(id).cloned().unwrap_or_default()),
        );
        m.insert("kernel".into(), json!(info.kernel_btf != 0));
        if !name.is_empty() {
            m.insert("name".into(), json!(name));
        }
        all.push(Value::Object(m));
    }
    if args.out.wanted() {
        return introspect::print_listing(all, args.id.is_some(), args.out.pretty);
    }
    let mut out = String::new();
    for b in &all {
        let _ = write!(out, "{}: ", b["id"]);
        if let (Some(n), true) = (b["name"].as_str(), b["kernel"].as_bool() == Some(true)) {
            let _ = write!(out, "name [{n}]  ");
        } else if let Some(n) = b["name"].as_str() {
            let _ = write!(out, "name {n}  ");
        } else {
            out.push_str("name <anon>  ");
        }
        let _ = write!(out, "size {}B", b["size"]);
        let ids = |k: &str| -> Vec<String> {
            b[k].as_array()
                .map(|a| a.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default()
        };
        let (p, m) = (ids("prog_ids"), ids("map_ids"));
        if !p.is_empty() {
            let _ = write!(out, "  prog_ids {}", p.join(","));
        }
        if !m.is_empty() {
            let _ = write!(out, "  map_ids {}", m.join(","));
        }
        out.push('\n');
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
