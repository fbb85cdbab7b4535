// SPDX-License-Identifier: GPL-2.0
/* Guest-only: the kprobe family on a kernel with kprobes (the build host has none). Run by
 * guest-kprobe.sh around a known command; every counter below has an exact expected value.
 * Compiled against the build host's vmlinux.h, so struct filename is CO-RE relocated against
 * 6.1 and BPF_KSYSCALL reads the syscall arguments through the LINUX_HAS_SYSCALL_WRAPPER
 * extern corebpf decides from the kernel's BTF. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define AT_FDCWD -100
/* The pid the shell's `kill -28 123456` names: above pid_max, so the call fails with ESRCH. */
#define MARK_PID 123456

/* kprobe/kretprobe on do_unlinkat */
u64 unlink_calls = 0;
u64 unlink_at_cwd = 0;
u64 unlink_victim = 0;
u64 unlink_returns = 0;
u64 unlink_failed = 0;
long unlink_last_error = 0;
/* kprobe at an offset into do_unlinkat: past the 5-byte ftrace call every traced function of
 * an x86-64 kernel without IBT starts with, so a breakpoint rather than an ftrace probe. */
u64 unlink_offset_calls = 0;
/* ksyscall/kretsyscall on kill */
u64 kill_marked = 0;
long kill_sig = -1;
u32 kill_tid = 0;
long kill_ret = 1;

static const char victim[] = "/tmp/kprobe-victim";

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(unlink_entry, int dfd, struct filename *name)
{
	char buf[sizeof(victim)];
	const char *path;
	int i;

	__sync_fetch_and_add(&unlink_calls, 1);
	if (dfd == AT_FDCWD)
		__sync_fetch_and_add(&unlink_at_cwd, 1);
	path = BPF_CORE_READ(name, name);
	if (bpf_probe_read_kernel_str(buf, sizeof(buf), path) != sizeof(victim))
		return 0;
	for (i = 0; i < sizeof(victim); i++)
		if (buf[i] != victim[i])
			return 0;
	__sync_fetch_and_add(&unlink_victim, 1);
	return 0;
}

/* do_unlinkat returns int: the upper half of the return register is not its sign. */
SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(unlink_exit, int ret)
{
	__sync_fetch_and_add(&unlink_returns, 1);
	if (ret) {
		__sync_fetch_and_add(&unlink_failed, 1);
		unlink_last_error = ret;
	}
	return 0;
}

SEC("kprobe/do_unlinkat+5")
int unlink_offset(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&unlink_offset_calls, 1);
	return 0;
}

SEC("ksyscall/kill")
int BPF_KSYSCALL(kill_entry, pid_t pid, int sig)
{
	if (pid != MARK_PID)
		return 0;
	__sync_fetch_and_add(&kill_marked, 1);
	kill_sig = sig;
	kill_tid = (u32)bpf_get_current_pid_tgid();
	return 0;
}

SEC("kretsyscall/kill")
int BPF_KRETPROBE(kill_exit, long ret)
{
	if (kill_tid && kill_tid == (u32)bpf_get_current_pid_tgid())
		kill_ret = ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
