// SPDX-License-Identifier: GPL-2.0
/* Old-style map definitions in a `maps` section (struct bpf_map_def records), as objects
 * written for older loaders still carry them. Needs no kernel headers: also built big-endian. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct legacy_map_def SEC("maps") pkt_count = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 64,
};

struct legacy_map_def SEC("maps") proto_bytes = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int count_by_proto(struct __sk_buff *skb)
{
	__u32 proto = skb->protocol;
	__u32 idx = proto & 63;
	__u64 *count, len = skb->len;

	count = bpf_map_lookup_elem(&pkt_count, &idx);
	if (count)
		__sync_fetch_and_add(count, 1);
	count = bpf_map_lookup_elem(&proto_bytes, &proto);
	if (count)
		__sync_fetch_and_add(count, len);
	else
		bpf_map_update_elem(&proto_bytes, &proto, &len, BPF_ANY);
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
__u32 _version SEC("version") = 0x060c00;
