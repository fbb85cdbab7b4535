// SPDX-License-Identifier: GPL-2.0
/* nanosleeplat: how long nanosleep and clock_nanosleep calls take, as a log2 histogram of
 * microseconds, for one process (`--set target_pid=@child`) or all. */
#include "vmlinux.h"
#include <corebpf/bpf.h>

const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

COREBPF_HIST_LOG2(sleep_usecs, 32);

static __always_inline int enter(void)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tid = (__u32)id;

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	bpf_map_update_elem(&start, &tid, &now, BPF_ANY);
	return 0;
}

static __always_inline int leave(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *t0 = bpf_map_lookup_elem(&start, &tid);

	if (!t0)
		return 0;
	corebpf_hist_log2_add(sleep_usecs, (bpf_ktime_get_ns() - *t0) / 1000);
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_nanosleep")
int nanosleep_enter(void *ctx) { return enter(); }

SEC("tracepoint/syscalls/sys_exit_nanosleep")
int nanosleep_exit(void *ctx) { return leave(); }

SEC("tracepoint/syscalls/sys_enter_clock_nanosleep")
int clock_nanosleep_enter(void *ctx) { return enter(); }

SEC("tracepoint/syscalls/sys_exit_clock_nanosleep")
int clock_nanosleep_exit(void *ctx) { return leave(); }

COREBPF_LICENSE("GPL");
