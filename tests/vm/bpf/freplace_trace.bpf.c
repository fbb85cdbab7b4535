// SPDX-License-Identifier: GPL-2.0
/* fentry and fexit on `decide`, a function of the loaded freplace_target.bpf.c program (not of
 * the kernel): counts its calls and keeps the last argument and verdict. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

u64 decide_entries = 0;
u64 decide_exits = 0;
int last_tgid = 0;
int last_verdict = 0;

SEC("fentry/decide")
int BPF_PROG(decide_entry, int tgid)
{
	__sync_fetch_and_add(&decide_entries, 1);
	last_tgid = tgid;
	return 0;
}

SEC("fexit/decide")
int BPF_PROG(decide_exit, int tgid, int verdict)
{
	__sync_fetch_and_add(&decide_exits, 1);
	last_verdict = verdict;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
