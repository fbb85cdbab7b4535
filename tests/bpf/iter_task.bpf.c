// SPDX-License-Identifier: GPL-2.0
/* A task iterator printing one line per task, and a sampling profiler on perf events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct stack_key {
	u32 pid;
	s32 kern_stack;
	s32 user_stack;
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__type(key, u32);
	__uint(value_size, 64 * sizeof(u64));
} stackmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct stack_key);
	__type(value, u64);
} samples SEC(".maps");

u32 tasks_seen = 0;
const volatile bool kernel_only = false;

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	static const char header[] = "    tgid      pid comm\n";

	if (!task) {
		BPF_SEQ_PRINTF(seq, "%u tasks\n", tasks_seen);
		return 0;
	}
	if (ctx->meta->seq_num == 0)
		bpf_seq_write(seq, header, sizeof(header) - 1);
	tasks_seen++;
	BPF_SEQ_PRINTF(seq, "%8d %8d %s\n", task->tgid, task->pid, task->comm);
	return 0;
}

SEC("perf_event")
int profile(struct bpf_perf_event_data *ctx)
{
	struct stack_key key = {};
	u64 *count, one = 1;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.kern_stack = bpf_get_stackid(&ctx->regs, &stackmap, 0);
	key.user_stack = kernel_only ? -1 : bpf_get_stackid(&ctx->regs, &stackmap, BPF_F_USER_STACK);
	count = bpf_map_lookup_elem(&samples, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&samples, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
