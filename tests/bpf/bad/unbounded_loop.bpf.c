// SPDX-License-Identifier: GPL-2.0
/* Rejected: a loop whose exit depends on nothing the loop changes. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

volatile __u32 stop;

SEC("tp/syscalls/sys_enter_getpgid")
int unbounded_loop(void *ctx)
{
	__u32 spins = 0;

	while (!stop) /* FAIL */
		spins |= 1;
	return spins;
}

char LICENSE[] SEC("license") = "GPL";
