//! The Linux release that first offered a kfunc, for the error an object gets on an older
//! kernel: "kernel function not found" alone does not say whether the name is wrong or the
//! kernel too old.
//!
//! Only kfuncs whose release is certain are listed; others get no hint.

/// `(kfunc, first release)`, sorted by name.
const KFUNCS: &[(&str, &str)] = &[
    ("bpf_cast_to_kern_ctx", "6.2"),
    ("bpf_cgroup_acquire", "6.2"),
    ("bpf_cgroup_from_id", "6.3"),
    ("bpf_cgroup_release", "6.2"),
    ("bpf_dynptr_from_skb", "6.3"),
    ("bpf_dynptr_from_xdp", "6.3"),
    ("bpf_dynptr_slice", "6.3"),
    ("bpf_dynptr_slice_rdwr", "6.3"),
    ("bpf_iter_css_task_destroy", "6.7"),
    ("bpf_iter_css_task_new", "6.7"),
    ("bpf_iter_css_task_next", "6.7"),
    ("bpf_iter_num_destroy", "6.4"),
    ("bpf_iter_num_new", "6.4"),
    ("bpf_iter_num_next", "6.4"),
    ("bpf_iter_task_vma_destroy", "6.7"),
    ("bpf_iter_task_vma_new", "6.7"),
    ("bpf_iter_task_vma_next", "6.7"),
    ("bpf_map_sum_elem_count", "6.6"),
    ("bpf_obj_drop_impl", "6.2"),
    ("bpf_obj_new_impl", "6.2"),
    ("bpf_rcu_read_lock", "6.2"),
    ("bpf_rcu_read_unlock", "6.2"),
    ("bpf_rdonly_cast", "6.2"),
    ("bpf_task_acquire", "6.2"),
    ("bpf_task_from_pid", "6.3"),
    ("bpf_task_release", "6.2"),
    ("bpf_throw", "6.7"),
];

/// The release that added kfunc `name`, when known.
pub(crate) fn kfunc(name: &str) -> Option<&'static str> {
    KFUNCS
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| KFUNCS[i].1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(super::KFUNCS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(super::kfunc("bpf_iter_num_new"), Some("6.4"));
        assert_eq!(super::kfunc("bpf_task_acquire"), Some("6.2"));
        assert_eq!(super::kfunc("bpf_no_such_kfunc"), None);
    }
}
