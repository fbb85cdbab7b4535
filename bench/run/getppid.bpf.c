// SPDX-License-Identifier: GPL-2.0
/* The benchmark probe: getppid calls per process name, as bpftrace's
 * `tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }`. */
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
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	struct comm_key key = {};
	__u64 one = 1, *n;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}

COREBPF_LICENSE("GPL");
