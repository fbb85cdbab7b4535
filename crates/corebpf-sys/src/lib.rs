//! The kernel boundary: bpf(2), perf_event_open, tracefs, netlink, feature probes.
//!
//! Every `unsafe` block of corebpf lives in this crate. Each wrapper takes typed Rust values,
//! fills the kernel's attribute structure, and returns owned file descriptors or an [`Error`]
//! naming the operation and the kernel's answer.

pub mod bpf;
pub mod cgroup;
pub mod epoll;
mod error;
pub mod link;
pub mod mmap;
pub mod netlink;
pub mod netlink_query;
pub mod perf;
pub mod probe;
pub mod probe_features;
pub mod process;
pub mod tracefs;
pub mod user_ring;

pub use error::{Error, Result};
