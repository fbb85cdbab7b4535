// SPDX-License-Identifier: GPL-2.0
/* Guest-only: BPF trampoline programs a stock Debian 6.1 kernel accepts (fentry, fexit,
 * fmod_ret, lsm, tp_btf), compiled against the build host's vmlinux.h so that loading them in
 * the guest relocates every field access against 6.1's BTF. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

u64 unlink_calls = 0;
u64 unlink_failed = 0;
u64 forks = 0;
u32 denied_execs = 0;
u32 last_exec_pid = 0;
const volatile u32 protected_uid = 65534;

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_entry, int dfd, struct filename *name)
{
	__sync_fetch_and_add(&unlink_calls, 1);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_exit, int dfd, struct filename *name, long ret)
{
	if (ret)
		__sync_fetch_and_add(&unlink_failed, 1);
	return 0;
}

SEC("fmod_ret/security_task_alloc")
int BPF_PROG(task_alloc_ret, struct task_struct *task, unsigned long clone_flags, int ret)
{
	__sync_fetch_and_add(&forks, 1);
	return ret;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(deny_nobody_exec, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	if ((u32)bpf_get_current_uid_gid() == protected_uid) {
		__sync_fetch_and_add(&denied_execs, 1);
		return -1;
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_seen, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	last_exec_pid = BPF_CORE_READ(p, tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
