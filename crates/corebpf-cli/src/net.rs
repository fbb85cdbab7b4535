//! `corebpf net`: networking programs per interface — XDP (rtnetlink `IFLA_XDP`), tcx
//! (`BPF_PROG_QUERY` on the interface index) and cls_bpf filters on clsact hooks
//! (`RTM_GETTFILTER`) — and the network namespace's flow dissector.

use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::AsFd;

use anyhow::{Context, Result};
use corebpf_sys::bpf::{self, ObjKind};
use corebpf_sys::netlink_query::{self, TC_EGRESS, TC_INGRESS};
use serde_json::{json, Value};

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
    /// XDP and tc programs of every interface (or of DEV).
    #[command(alias = "show")]
    List {
        /// Only this interface (name).
        #[arg(long)]
        dev: Option<String>,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Cmd::List { dev } => list(dev.as_deref(), args.out.wanted(), args.out.pretty),
    }
}

fn prog_name(id: u32) -> String {
    bpf::fd_by_id(ObjKind::Prog, id)
        .ok()
        .and_then(|fd| bpf::prog_info(fd.as_fd()).ok())
        .map(|i| introspect::name(&i.name))
        .unwrap_or_default()
}

/// The XDP and tc attachments of this network namespace, as bpftool's `net list -j` shapes
/// them (one object with `xdp`, `tc` and `flow_dissector` arrays).
pub fn net_json(dev: Option<&str>) -> Result<Value> {
    let ifaces = netlink_query::interfaces().context("listing interfaces over rtnetlink")?;
    let mut xdp = Vec::new();
    let mut tc = Vec::new();
    let tcx = [
        (
            "tcx/ingress",
            introspect::attach_types().value("tcx_ingress"),
        ),
        ("tcx/egress", introspect::attach_types().value("tcx_egress")),
    ];
    for i in ifaces.iter().filter(|i| dev.map_or(true, |d| d == i.name)) {
        let x = &i.xdp;
        for (mode, id) in [
            ("driver", x.drv_prog_id),
            ("generic", x.skb_prog_id),
            ("offload", x.hw_prog_id),
        ] {
            if id != 0 {
                xdp.push(json!({"devname": i.name, "ifindex": i.ifindex, "mode": mode, "id": id, "name": prog_name(id)}));
            }
        }
        // Kernels that report only one id.
        if x.prog_id != 0 && x.drv_prog_id == 0 && x.skb_prog_id == 0 && x.hw_prog_id == 0 {
            let mode = match x.attached {
                1 => "driver",
                2 => "generic",
                3 => "offload",
                _ => "unknown",
            };
            xdp.push(json!({"devname": i.name, "ifindex": i.ifindex, "mode": mode, "id": x.prog_id, "name": prog_name(x.prog_id)}));
        }
        for (kind, at) in tcx {
            let Some(at) = at else { continue };
            // EINVAL: this kernel has no tcx; EPERM/EACCES: not privileged (an error); other
            // errors: nothing attached.
            let ids = match netlink_query::prog_query_ifindex(i.ifindex, at) {
                Ok((ids, _)) => ids,
                Err(e) if matches!(e.errno(), Some(1 | 13)) => {
                    return Err(e).context("querying tcx programs (needs root or CAP_NET_ADMIN)")
                }
                Err(_) => Vec::new(),
            };
            {
                for id in ids {
                    tc.push(json!({"devname": i.name, "ifindex": i.ifindex, "kind": kind, "name": prog_name(id), "id": id}));
                }
            }
        }
        for (kind, parent) in [("clsact/ingress", TC_INGRESS), ("clsact/egress", TC_EGRESS)] {
            let filters = netlink_query::tc_filters(i.ifindex, parent)
                .with_context(|| format!("tc filters of {}", i.name))?;
            for f in filters.iter().filter(|f| f.kind == "bpf") {
                let mut e = json!({"devname": i.name, "ifindex": i.ifindex, "kind": kind});
                if let Some(n) = &f.name {
                    e["name"] = json!(n);
                }
                if let Some(id) = f.prog_id {
                    e["id"] = json!(id);
                }
                if let Some(t) = &f.tag {
                    e["tag"] = json!(introspect::hex(t));
                }
                e["prio"] = json!(f.prio);
                e["handle"] = json!(format!("0x{:x}", f.handle));
                if f.direct_action {
                    e["direct_action"] = json!(true);
                }
                tc.push(e);
            }
        }
    }
    let mut flow = Vec::new();
    if let Some(at) = introspect::attach_types().value("flow_dissector") {
        if let Ok(ns) = std::fs::File::open("/proc/self/ns/net") {
            if let Ok((_, ids)) = bpf::prog_query(ns.as_fd(), at, 0) {
                for id in ids {
                    flow.push(json!({"id": id, "name": prog_name(id)}));
                }
            }
        }
    }
    Ok(json!({"xdp": xdp, "tc": tc, "flow_dissector": flow}))
}

fn list(dev: Option<&str>, json: bool, pretty: bool) -> Result<()> {
    let v = net_json(dev)?;
    if json {
        return introspect::print_json(&Value::Array(vec![v]), pretty);
    }
    let mut out = String::from("xdp:\n");
    for e in v["xdp"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{}({}) {} id {}",
            e["devname"].as_str().unwrap_or(""),
            e["ifindex"],
            e["mode"].as_str().unwrap_or(""),
            e["id"]
        );
    }
    out.push_str("\ntc:\n");
    for e in v["tc"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "{}({}) {} {}",
            e["devname"].as_str().unwrap_or(""),
            e["ifindex"],
            e["kind"].as_str().unwrap_or(""),
            e["name"].as_str().unwrap_or("")
        );
        if let Some(id) = e.get("id") {
            let _ = write!(out, " prog_id {id}");
        }
        if e["direct_action"].as_bool() == Some(true) {
            out.push_str(" direct-action");
        }
        out.push('\n');
    }
    out.push_str("\nflow_dissector:\n");
    for e in v["flow_dissector"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "id {} name {}",
            e["id"],
            e["name"].as_str().unwrap_or("")
        );
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}
