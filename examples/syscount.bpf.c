// SPDX-License-Identifier: GPL-2.0
/* syscount: system calls per process name, and syscall numbers as a linear histogram. */
#include "vmlinux.h"
#include <corebpf/bpf.h>

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct comm_key);
	__type(value, __u64);
} calls SEC(".maps");

/* Syscall numbers 0..511 in slots of 16. */
COREBPF_HIST_LINEAR(syscall_ids, 0, 16, 32);

const volatile __u32 target_pid = 0;

SEC("raw_tp/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct comm_key key = {};
	__u64 one = 1, *count;

	if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	count = bpf_map_lookup_elem(&calls, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&calls, &key, &one, BPF_NOEXIST);
	corebpf_hist_linear_add(syscall_ids, id);
	return 0;
}

COREBPF_LICENSE("GPL");
