//! The kernel boundary: bpf(2), perf_event_open, tracefs, netlink, feature probes.
//!
//! Every `unsafe` block of corebpf lives in this crate.
