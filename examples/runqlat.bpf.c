// SPDX-License-Identifier: GPL-2.0
/* runqlat: time tasks spend waiting on a run queue, as a log2 histogram of microseconds. */
#include "vmlinux.h"
#include <corebpf/bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} wakeup_ts SEC(".maps");

COREBPF_HIST_LOG2(runq_usecs, 26);

static __always_inline int record_wakeup(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 now = bpf_ktime_get_ns();

	if (!pid)
		return 0;
	bpf_map_update_elem(&wakeup_ts, &pid, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	return record_wakeup(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	return record_wakeup(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 pid = BPF_CORE_READ(next, pid);
	__u64 *start, delta_us;

	/* A task preempted while runnable (state 0) waits on the run queue again. */
	if (bpf_core_field_exists(prev->__state) && BPF_CORE_READ(prev, __state) == 0)
		record_wakeup(prev);
	start = bpf_map_lookup_elem(&wakeup_ts, &pid);
	if (!start)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *start) / 1000;
	corebpf_hist_log2_add(runq_usecs, delta_us);
	bpf_map_delete_elem(&wakeup_ts, &pid);
	return 0;
}

COREBPF_LICENSE("GPL");
