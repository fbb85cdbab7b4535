// SPDX-License-Identifier: GPL-2.0
/* Rejected: the value of a map lookup is used without checking it for NULL. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} nc_counts SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int missing_null_check(void *ctx)
{
	__u32 key = bpf_get_prandom_u32() & 15;
	__u64 *count = bpf_map_lookup_elem(&nc_counts, &key);

	*count += 1; /* FAIL */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
