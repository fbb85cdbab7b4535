// SPDX-License-Identifier: GPL-2.0
/* Built against the header corebpf generates from kernel BTF: reads a tracepoint context,
 * walks task_struct with CO-RE reads (pointers, a bitfield, an anonymous union member, an enum
 * constant) and sends a record through a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct exec_record {
	u32 pid;
	u32 ppid;
	u32 in_execve;
	u32 prio;
	u64 start_time;
	s64 signal_enum;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} records SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_record *r;

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r)
		return 0;
	r->pid = ctx->pid;
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	r->prio = BPF_CORE_READ(task, prio);
	r->start_time = BPF_CORE_READ(task, start_time);
	r->signal_enum = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
	bpf_ringbuf_submit(r, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
