/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * corebpf/helpers.h — declarations of the kernel's BPF helper functions.
 *
 * A helper is called through a constant function pointer whose value is the helper's id in the
 * kernel's `enum bpf_func_id`; clang turns such a call into `call <id>`. Each line below is
 * COREBPF_HELPER(id, return type, name, parameters). corebpf's tests check every id against the
 * running kernel's `enum bpf_func_id`. Include "vmlinux.h" first.
 */
#ifndef COREBPF_HELPERS_H
#define COREBPF_HELPERS_H

#define COREBPF_HELPER(id, ret, name, ...) static ret (*const name)(__VA_ARGS__) = (void *)(id)

/* Maps. */
COREBPF_HELPER(1, void *, bpf_map_lookup_elem, void *map, const void *key);
COREBPF_HELPER(2, long, bpf_map_update_elem, void *map, const void *key, const void *value, __u64 flags);
COREBPF_HELPER(3, long, bpf_map_delete_elem, void *map, const void *key);
COREBPF_HELPER(87, long, bpf_map_push_elem, void *map, const void *value, __u64 flags);
COREBPF_HELPER(88, long, bpf_map_pop_elem, void *map, void *value);
COREBPF_HELPER(89, long, bpf_map_peek_elem, void *map, void *value);
COREBPF_HELPER(164, long, bpf_for_each_map_elem, void *map, void *callback_fn, void *callback_ctx, __u64 flags);
COREBPF_HELPER(195, void *, bpf_map_lookup_percpu_elem, void *map, const void *key, __u32 cpu);
COREBPF_HELPER(12, long, bpf_tail_call, void *ctx, void *prog_array_map, __u32 index);

/* Memory access. */
COREBPF_HELPER(4, long, bpf_probe_read, void *dst, __u32 size, const void *unsafe_ptr);
COREBPF_HELPER(45, long, bpf_probe_read_str, void *dst, __u32 size, const void *unsafe_ptr);
COREBPF_HELPER(112, long, bpf_probe_read_user, void *dst, __u32 size, const void *unsafe_ptr);
COREBPF_HELPER(113, long, bpf_probe_read_kernel, void *dst, __u32 size, const void *unsafe_ptr);
COREBPF_HELPER(114, long, bpf_probe_read_user_str, void *dst, __u32 size, const void *unsafe_ptr);
COREBPF_HELPER(115, long, bpf_probe_read_kernel_str, void *dst, __u32 size, const void *unsafe_ptr);
COREBPF_HELPER(36, long, bpf_probe_write_user, void *dst, const void *src, __u32 len);
COREBPF_HELPER(148, long, bpf_copy_from_user, void *dst, __u32 size, const void *user_ptr);
COREBPF_HELPER(191, long, bpf_copy_from_user_task, void *dst, __u32 size, const void *user_ptr, struct task_struct *tsk, __u64 flags);
COREBPF_HELPER(182, long, bpf_strncmp, const char *s1, __u32 s1_sz, const char *s2);
COREBPF_HELPER(105, long, bpf_strtol, const char *buf, unsigned long buf_len, __u64 flags, long *res);
COREBPF_HELPER(106, long, bpf_strtoul, const char *buf, unsigned long buf_len, __u64 flags, unsigned long *res);

/* Time, identity, randomness. */
COREBPF_HELPER(5, __u64, bpf_ktime_get_ns, void);
COREBPF_HELPER(125, __u64, bpf_ktime_get_boot_ns, void);
COREBPF_HELPER(160, __u64, bpf_ktime_get_coarse_ns, void);
COREBPF_HELPER(118, __u64, bpf_jiffies64, void);
COREBPF_HELPER(7, __u32, bpf_get_prandom_u32, void);
COREBPF_HELPER(8, __u32, bpf_get_smp_processor_id, void);
COREBPF_HELPER(42, long, bpf_get_numa_node_id, void);
COREBPF_HELPER(14, __u64, bpf_get_current_pid_tgid, void);
COREBPF_HELPER(15, __u64, bpf_get_current_uid_gid, void);
COREBPF_HELPER(16, long, bpf_get_current_comm, void *buf, __u32 size_of_buf);
COREBPF_HELPER(35, __u64, bpf_get_current_task, void);
COREBPF_HELPER(158, struct task_struct *, bpf_get_current_task_btf, void);
COREBPF_HELPER(80, __u64, bpf_get_current_cgroup_id, void);
COREBPF_HELPER(123, __u64, bpf_get_current_ancestor_cgroup_id, int ancestor_level);
COREBPF_HELPER(120, long, bpf_get_ns_current_pid_tgid, __u64 dev, __u64 ino, struct bpf_pidns_info *nsdata, __u32 size);
COREBPF_HELPER(109, long, bpf_send_signal, __u32 sig);
COREBPF_HELPER(117, long, bpf_send_signal_thread, __u32 sig);

/* Tracing. */
COREBPF_HELPER(6, long, bpf_trace_printk, const char *fmt, __u32 fmt_size, ...);
COREBPF_HELPER(177, long, bpf_trace_vprintk, const char *fmt, __u32 fmt_size, const void *data, __u32 data_len);
COREBPF_HELPER(165, long, bpf_snprintf, char *str, __u32 str_size, const char *fmt, __u64 *data, __u32 data_len);
COREBPF_HELPER(27, long, bpf_get_stackid, void *ctx, void *map, __u64 flags);
COREBPF_HELPER(67, long, bpf_get_stack, void *ctx, void *buf, __u32 size, __u64 flags);
COREBPF_HELPER(141, long, bpf_get_task_stack, struct task_struct *task, void *buf, __u32 size, __u64 flags);
COREBPF_HELPER(173, __u64, bpf_get_func_ip, void *ctx);
COREBPF_HELPER(174, __u64, bpf_get_attach_cookie, void *ctx);
COREBPF_HELPER(183, long, bpf_get_func_arg, void *ctx, __u32 n, __u64 *value);
COREBPF_HELPER(184, long, bpf_get_func_ret, void *ctx, __u64 *value);
COREBPF_HELPER(185, long, bpf_get_func_arg_cnt, void *ctx);
COREBPF_HELPER(175, struct pt_regs *, bpf_task_pt_regs, struct task_struct *task);
COREBPF_HELPER(147, long, bpf_d_path, struct path *path, char *buf, __u32 sz);
COREBPF_HELPER(126, long, bpf_seq_printf, struct seq_file *m, const char *fmt, __u32 fmt_size, const void *data, __u32 data_len);
COREBPF_HELPER(127, long, bpf_seq_write, struct seq_file *m, const void *data, __u32 len);
COREBPF_HELPER(22, __u64, bpf_perf_event_read, void *map, __u64 flags);
COREBPF_HELPER(55, long, bpf_perf_event_read_value, void *map, __u64 flags, struct bpf_perf_event_value *buf, __u32 buf_size);
COREBPF_HELPER(56, long, bpf_perf_prog_read_value, struct bpf_perf_event_data *ctx, struct bpf_perf_event_value *buf, __u32 buf_size);
COREBPF_HELPER(153, void *, bpf_per_cpu_ptr, const void *percpu_ptr, __u32 cpu);
COREBPF_HELPER(154, void *, bpf_this_cpu_ptr, const void *percpu_ptr);
COREBPF_HELPER(181, long, bpf_loop, __u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags);
COREBPF_HELPER(180, long, bpf_find_vma, struct task_struct *task, __u64 addr, void *callback_fn, void *callback_ctx, __u64 flags);

/* Event output. */
COREBPF_HELPER(25, long, bpf_perf_event_output, void *ctx, void *map, __u64 flags, void *data, __u64 size);
COREBPF_HELPER(130, long, bpf_ringbuf_output, void *ringbuf, void *data, __u64 size, __u64 flags);
COREBPF_HELPER(131, void *, bpf_ringbuf_reserve, void *ringbuf, __u64 size, __u64 flags);
COREBPF_HELPER(132, void, bpf_ringbuf_submit, void *data, __u64 flags);
COREBPF_HELPER(133, void, bpf_ringbuf_discard, void *data, __u64 flags);
COREBPF_HELPER(134, __u64, bpf_ringbuf_query, void *ringbuf, __u64 flags);

/* Storage and synchronisation. */
COREBPF_HELPER(81, void *, bpf_get_local_storage, void *map, __u64 flags);
COREBPF_HELPER(107, void *, bpf_sk_storage_get, void *map, void *sk, void *value, __u64 flags);
COREBPF_HELPER(108, long, bpf_sk_storage_delete, void *map, void *sk);
COREBPF_HELPER(156, void *, bpf_task_storage_get, void *map, struct task_struct *task, void *value, __u64 flags);
COREBPF_HELPER(157, long, bpf_task_storage_delete, void *map, struct task_struct *task);
COREBPF_HELPER(93, long, bpf_spin_lock, struct bpf_spin_lock *lock);
COREBPF_HELPER(94, long, bpf_spin_unlock, struct bpf_spin_lock *lock);
COREBPF_HELPER(194, void *, bpf_kptr_xchg, void *map_value, void *ptr);

/* Packets: socket buffers. */
COREBPF_HELPER(9, long, bpf_skb_store_bytes, struct __sk_buff *skb, __u32 offset, const void *from, __u32 len, __u64 flags);
COREBPF_HELPER(26, long, bpf_skb_load_bytes, const void *skb, __u32 offset, void *to, __u32 len);
COREBPF_HELPER(68, long, bpf_skb_load_bytes_relative, const void *skb, __u32 offset, void *to, __u32 len, __u32 start_header);
COREBPF_HELPER(10, long, bpf_l3_csum_replace, struct __sk_buff *skb, __u32 offset, __u64 from, __u64 to, __u64 size);
COREBPF_HELPER(11, long, bpf_l4_csum_replace, struct __sk_buff *skb, __u32 offset, __u64 from, __u64 to, __u64 flags);
COREBPF_HELPER(28, __s64, bpf_csum_diff, __be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed);
COREBPF_HELPER(13, long, bpf_clone_redirect, struct __sk_buff *skb, __u32 ifindex, __u64 flags);
COREBPF_HELPER(23, long, bpf_redirect, __u32 ifindex, __u64 flags);
COREBPF_HELPER(51, long, bpf_redirect_map, void *map, __u64 key, __u64 flags);
COREBPF_HELPER(152, long, bpf_redirect_neigh, __u32 ifindex, struct bpf_redir_neigh *params, int plen, __u64 flags);
COREBPF_HELPER(155, long, bpf_redirect_peer, __u32 ifindex, __u64 flags);
COREBPF_HELPER(17, __u32, bpf_get_cgroup_classid, struct __sk_buff *skb);
COREBPF_HELPER(18, long, bpf_skb_vlan_push, struct __sk_buff *skb, __be16 vlan_proto, __u16 vlan_tci);
COREBPF_HELPER(19, long, bpf_skb_vlan_pop, struct __sk_buff *skb);
COREBPF_HELPER(31, long, bpf_skb_change_proto, struct __sk_buff *skb, __be16 proto, __u64 flags);
COREBPF_HELPER(32, long, bpf_skb_change_type, struct __sk_buff *skb, __u32 type);
COREBPF_HELPER(38, long, bpf_skb_change_tail, struct __sk_buff *skb, __u32 len, __u64 flags);
COREBPF_HELPER(39, long, bpf_skb_pull_data, struct __sk_buff *skb, __u32 len);
COREBPF_HELPER(43, long, bpf_skb_change_head, struct __sk_buff *skb, __u32 len, __u64 flags);
COREBPF_HELPER(50, long, bpf_skb_adjust_room, struct __sk_buff *skb, __s32 len_diff, __u32 mode, __u64 flags);
COREBPF_HELPER(34, __u32, bpf_get_hash_recalc, struct __sk_buff *skb);
COREBPF_HELPER(46, __u64, bpf_get_socket_cookie, void *ctx);
COREBPF_HELPER(47, __u32, bpf_get_socket_uid, struct __sk_buff *skb);
COREBPF_HELPER(79, __u64, bpf_skb_cgroup_id, struct __sk_buff *skb);
COREBPF_HELPER(83, __u64, bpf_skb_ancestor_cgroup_id, struct __sk_buff *skb, int ancestor_level);
COREBPF_HELPER(69, long, bpf_fib_lookup, void *ctx, struct bpf_fib_lookup *params, int plen, __u32 flags);
COREBPF_HELPER(163, long, bpf_check_mtu, void *ctx, __u32 ifindex, __u32 *mtu_len, __s32 len_diff, __u64 flags);
COREBPF_HELPER(192, long, bpf_skb_set_tstamp, struct __sk_buff *skb, __u64 tstamp, __u32 tstamp_type);

/* Packets: XDP. */
COREBPF_HELPER(44, long, bpf_xdp_adjust_head, struct xdp_md *xdp_md, int delta);
COREBPF_HELPER(54, long, bpf_xdp_adjust_meta, struct xdp_md *xdp_md, int delta);
COREBPF_HELPER(65, long, bpf_xdp_adjust_tail, struct xdp_md *xdp_md, int delta);
COREBPF_HELPER(188, __u64, bpf_xdp_get_buff_len, struct xdp_md *xdp_md);
COREBPF_HELPER(189, long, bpf_xdp_load_bytes, struct xdp_md *xdp_md, __u32 offset, void *buf, __u32 len);
COREBPF_HELPER(190, long, bpf_xdp_store_bytes, struct xdp_md *xdp_md, __u32 offset, void *buf, __u32 len);

/* Sockets. */
COREBPF_HELPER(84, struct bpf_sock *, bpf_sk_lookup_tcp, void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags);
COREBPF_HELPER(85, struct bpf_sock *, bpf_sk_lookup_udp, void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags);
COREBPF_HELPER(86, long, bpf_sk_release, void *sock);
COREBPF_HELPER(95, struct bpf_sock *, bpf_sk_fullsock, struct bpf_sock *sk);
COREBPF_HELPER(96, struct bpf_tcp_sock *, bpf_tcp_sock, struct bpf_sock *sk);
COREBPF_HELPER(124, long, bpf_sk_assign, void *ctx, void *sk, __u64 flags);
COREBPF_HELPER(49, long, bpf_setsockopt, void *bpf_socket, int level, int optname, void *optval, int optlen);
COREBPF_HELPER(57, long, bpf_getsockopt, void *bpf_socket, int level, int optname, void *optval, int optlen);
COREBPF_HELPER(122, __u64, bpf_get_netns_cookie, void *ctx);
COREBPF_HELPER(53, long, bpf_sock_map_update, struct bpf_sock_ops *skops, void *map, void *key, __u64 flags);
COREBPF_HELPER(70, long, bpf_sock_hash_update, struct bpf_sock_ops *skops, void *map, void *key, __u64 flags);
COREBPF_HELPER(52, long, bpf_sk_redirect_map, struct __sk_buff *skb, void *map, __u32 key, __u64 flags);
COREBPF_HELPER(72, long, bpf_sk_redirect_hash, struct __sk_buff *skb, void *map, void *key, __u64 flags);
COREBPF_HELPER(60, long, bpf_msg_redirect_map, struct sk_msg_md *msg, void *map, __u32 key, __u64 flags);
COREBPF_HELPER(71, long, bpf_msg_redirect_hash, struct sk_msg_md *msg, void *map, void *key, __u64 flags);
COREBPF_HELPER(137, struct tcp_sock *, bpf_skc_to_tcp_sock, void *sk);
COREBPF_HELPER(136, struct tcp6_sock *, bpf_skc_to_tcp6_sock, void *sk);
COREBPF_HELPER(140, struct udp6_sock *, bpf_skc_to_udp6_sock, void *sk);
COREBPF_HELPER(162, struct socket *, bpf_sock_from_file, struct file *file);

/* Dynamic pointers and timers. */
COREBPF_HELPER(197, long, bpf_dynptr_from_mem, void *data, __u32 size, __u64 flags, struct bpf_dynptr *ptr);
COREBPF_HELPER(198, long, bpf_ringbuf_reserve_dynptr, void *ringbuf, __u32 size, __u64 flags, struct bpf_dynptr *ptr);
COREBPF_HELPER(199, void, bpf_ringbuf_submit_dynptr, struct bpf_dynptr *ptr, __u64 flags);
COREBPF_HELPER(200, void, bpf_ringbuf_discard_dynptr, struct bpf_dynptr *ptr, __u64 flags);
COREBPF_HELPER(201, long, bpf_dynptr_read, void *dst, __u32 len, const struct bpf_dynptr *src, __u32 offset, __u64 flags);
COREBPF_HELPER(202, long, bpf_dynptr_write, const struct bpf_dynptr *dst, __u32 offset, void *src, __u32 len, __u64 flags);
COREBPF_HELPER(203, void *, bpf_dynptr_data, const struct bpf_dynptr *ptr, __u32 offset, __u32 len);
COREBPF_HELPER(169, long, bpf_timer_init, struct bpf_timer *timer, void *map, __u64 flags);
COREBPF_HELPER(170, long, bpf_timer_set_callback, struct bpf_timer *timer, void *callback_fn);
COREBPF_HELPER(171, long, bpf_timer_start, struct bpf_timer *timer, __u64 nsecs, __u64 flags);
COREBPF_HELPER(172, long, bpf_timer_cancel, struct bpf_timer *timer);

/* cgroup programs. */
COREBPF_HELPER(186, int, bpf_get_retval, void);
COREBPF_HELPER(187, int, bpf_set_retval, int retval);
COREBPF_HELPER(101, long, bpf_sysctl_get_name, struct bpf_sysctl *ctx, char *buf, unsigned long buf_len, __u64 flags);
COREBPF_HELPER(102, long, bpf_sysctl_get_current_value, struct bpf_sysctl *ctx, char *buf, unsigned long buf_len);

/*
 * Prints to the trace pipe (/sys/kernel/tracing/trace_pipe): up to three arguments with
 * bpf_trace_printk, more with bpf_trace_vprintk.
 */
#define bpf_printk(fmt, ...)                                                          \
	({                                                                            \
		static const char __cb_fmt[] = fmt;                                   \
		bpf_trace_printk(__cb_fmt, sizeof(__cb_fmt), ##__VA_ARGS__);          \
	})

#endif /* COREBPF_HELPERS_H */
