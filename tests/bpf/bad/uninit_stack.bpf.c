// SPDX-License-Identifier: GPL-2.0
/* Rejected (for loaders without CAP_PERFMON, which may not read uninitialized stack): half of
 * a stack value is never written before a helper reads all of it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct pair {
	__u32 lo;
	__u32 hi;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct pair);
} pairs SEC(".maps");

SEC("socket")
int uninit_stack(struct __sk_buff *skb)
{
	__u32 key = 1;
	struct pair p;

	p.lo = bpf_get_prandom_u32();
	bpf_map_update_elem(&pairs, &key, &p, BPF_ANY); /* FAIL */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
