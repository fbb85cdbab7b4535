// SPDX-License-Identifier: GPL-2.0
/* Global data in every kind of section: .data, .rodata (const volatile), .bss, and custom
 * .data.* / .rodata.* sections. A socket filter that uses them. No kernel headers needed. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* .rodata: set by the loader before load, constant afterwards. */
const volatile __u32 snap_len = 96;
const volatile __u16 match_proto = 0x0800;
const volatile char greeting[16] = "corebpf";

/* .data */
__u64 checksum = 0x5a5a;
int generation = 1;

/* .bss */
__u64 packets_seen;
__u64 bytes_seen;
struct {
	__u32 min_len;
	__u32 max_len;
} len_range;

/* Custom sections: become their own maps at load time. */
__u32 sample_rate SEC(".data.tuning") = 100;
__u32 drop_budget SEC(".data.tuning") = 5;
const volatile __u32 lookup_table[8] SEC(".rodata.table") = { 1, 2, 4, 8, 16, 32, 64, 128 };

static __u64 mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h;
}

SEC("socket")
int filter_globals(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	packets_seen++;
	bytes_seen += len;
	if (!len_range.min_len || len < len_range.min_len)
		len_range.min_len = len;
	if (len > len_range.max_len)
		len_range.max_len = len;
	checksum = mix(checksum, len + lookup_table[len & 7]);
	if (sample_rate && packets_seen % sample_rate == 0)
		generation++;
	if (skb->protocol != bpf_htons(match_proto)) {
		if (drop_budget) {
			drop_budget--;
			return 0;
		}
	}
	return len < snap_len ? len : snap_len;
}

char _license[] SEC("license") = "GPL";
