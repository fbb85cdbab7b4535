// SPDX-License-Identifier: GPL-2.0
/* Every kind of CO-RE relocation: field offsets through pointers, bitfields, existence checks,
 * enum values, type sizes and matches, and a type flavor for an older kernel layout. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Kernels before 5.14 named the state field `state`; the flavor suffix is ignored when matching. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* A type that no kernel has: its existence check resolves to 0. */
struct corebpf_missing_type {
	int nothing;
} __attribute__((preserve_access_index));

struct core_result {
	u32 tgid;
	u32 ppid;
	u64 state;
	u32 frozen;
	u32 is_child_subreaper;
	u32 has_old_state;
	u32 has_missing_type;
	u32 task_size;
	s64 ringbuf_type;
	u32 has_loop_helper;
	u32 pt_regs_matches;
	u32 mm_exists;
	u32 comm_size;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct core_result);
} results SEC(".maps");

pid_t target_tgid = 0;

static __always_inline u64 get_task_state(struct task_struct *task)
{
	if (bpf_core_field_exists(task->__state))
		return BPF_CORE_READ(task, __state);
	return BPF_CORE_READ((struct task_struct___old *)task, state);
}

SEC("tp/syscalls/sys_enter_getpgid")
int core_probe(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 key = 0;
	struct signal_struct *signal;
	struct core_result *r;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	r = bpf_map_lookup_elem(&results, &key);
	if (!r)
		return 0;

	r->tgid = BPF_CORE_READ(task, tgid);
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->state = get_task_state(task);
	r->frozen = BPF_CORE_READ_BITFIELD_PROBED(task, frozen);
	signal = BPF_CORE_READ(task, signal);
	r->is_child_subreaper = BPF_CORE_READ_BITFIELD_PROBED(signal, is_child_subreaper);
	r->has_old_state = bpf_core_field_exists(((struct task_struct___old *)task)->state);
	r->has_missing_type = bpf_core_type_exists(struct corebpf_missing_type);
	r->task_size = bpf_core_type_size(struct task_struct);
	r->ringbuf_type = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
	r->has_loop_helper = bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop);
	r->pt_regs_matches = bpf_core_type_matches(struct pt_regs);
	r->mm_exists = bpf_core_field_exists(task->mm);
	r->comm_size = bpf_core_field_size(task->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
