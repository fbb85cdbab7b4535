// SPDX-License-Identifier: GPL-2.0
/* Target of the freplace and fentry/fexit-on-a-program checks: a tracepoint program on sync(2)
 * asks the global subprogram `decide` for a verdict and counts the verdicts it gets. Left
 * alone, `decide` answers 1; freplace.bpf.c replaces it with one that answers 2, and
 * freplace_trace.bpf.c watches its calls. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

u64 decided_one = 0;
u64 decided_two = 0;
u64 decided_other = 0;

/* Global and never inlined: verified on its own, replaceable by an extension program and
 * traceable by fentry/fexit. */
__noinline int decide(int tgid)
{
	return tgid > 0 ? 1 : 3;
}

/* A static function: not replaceable (the loader says so before the kernel does). */
static __noinline u64 weight(u64 pid_tgid)
{
	return pid_tgid != 0;
}

SEC("tp/syscalls/sys_enter_sync")
int count_sync(void *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	int verdict = decide(pid_tgid >> 32);

	if (verdict == 1)
		__sync_fetch_and_add(&decided_one, weight(pid_tgid));
	else if (verdict == 2)
		__sync_fetch_and_add(&decided_two, weight(pid_tgid));
	else
		__sync_fetch_and_add(&decided_other, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
