// SPDX-License-Identifier: GPL-2.0
/* twoprobes: two programs on the same tracepoint, each counting in its own global. */
#include "vmlinux.h"
#include <corebpf/bpf.h>

const volatile __u32 target_pid = 0;

__u64 first_hits = 0;
__u64 second_hits = 0;

static __always_inline bool wanted(void)
{
	return !target_pid || (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int first(void *ctx)
{
	if (wanted())
		__sync_fetch_and_add(&first_hits, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int second(void *ctx)
{
	if (wanted())
		__sync_fetch_and_add(&second_hits, 2);
	return 0;
}

COREBPF_LICENSE("GPL");
