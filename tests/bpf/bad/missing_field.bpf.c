// SPDX-License-Identifier: GPL-2.0
/* Rejected: a CO-RE read of a field no kernel has, without an existence check. The loader
 * poisons the instruction; the verifier then refuses the call it turned into. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int corebpf_no_such_field;
} __attribute__((preserve_access_index));

__u32 seen;

SEC("tp/syscalls/sys_enter_getpgid")
int missing_field(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	seen = BPF_CORE_READ(task, corebpf_no_such_field); /* FAIL */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
