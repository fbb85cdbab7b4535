// SPDX-License-Identifier: GPL-2.0
/* Refused by the kernel at map creation: the second map (preallocated, 16 TiB) asks for far
 * more memory than any machine has, after the first was created. A loader must leave neither behind. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} leak_small SEC(".maps");

struct big {
	char bytes[65536];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 28);
	__type(key, __u32);
	__type(value, struct big);
} leak_huge SEC(".maps");

SEC("socket")
int uses_both(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *a = bpf_map_lookup_elem(&leak_small, &key);
	struct big *b = bpf_map_lookup_elem(&leak_huge, &key);

	return (a ? 1 : 0) + (b ? 2 : 0);
}

char LICENSE[] SEC("license") = "GPL";
