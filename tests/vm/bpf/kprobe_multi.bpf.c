// SPDX-License-Identifier: GPL-2.0
/* Guest-only: kprobe_multi links over a pattern, and a kprobe session. Debian's 6.1 kernel is
 * built without CONFIG_FPROBE, so corebpf must refuse these with the reason named
 * (guest-tests.sh). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

u64 entries = 0;
u64 returns = 0;

SEC("kprobe.multi/do_unlinka?")
int BPF_KPROBE(unlink_multi_entry)
{
	__sync_fetch_and_add(&entries, 1);
	return 0;
}

SEC("kretprobe.multi/do_*unlinkat")
int BPF_KRETPROBE(unlink_multi_exit)
{
	__sync_fetch_and_add(&returns, 1);
	return 0;
}

/* Entry and return in one program (Linux 6.10): refused naming that need. */
SEC("kprobe.session/do_unlinkat")
int unlink_session(struct pt_regs *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
