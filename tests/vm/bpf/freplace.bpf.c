// SPDX-License-Identifier: GPL-2.0
/* An extension program: replaces `decide` of freplace_target.bpf.c (same prototype) with one
 * whose verdict is always 2. Attached with `corebpf run --attach-target`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("freplace/decide")
int decide_two(int tgid)
{
	return 2;
}

char LICENSE[] SEC("license") = "GPL";
