// SPDX-License-Identifier: GPL-2.0
/* Rejected: a tracepoint program calls a helper only socket programs may use. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_getpgid")
int helper_not_allowed(void *ctx)
{
	__u32 word = 0;

	bpf_skb_load_bytes(ctx, 0, &word, sizeof(word)); /* FAIL */
	return word;
}

char LICENSE[] SEC("license") = "GPL";
