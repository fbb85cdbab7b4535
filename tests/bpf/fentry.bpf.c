// SPDX-License-Identifier: GPL-2.0
/* BTF-typed tracing: fentry/fexit on unlink, fmod_ret, a sleepable fentry and an LSM hook. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} unlink_start SEC(".maps");

u64 unlink_ok = 0;
u64 unlink_failed = 0;
u64 total_ns = 0;
u32 denied_execs = 0;
const volatile u32 protected_uid = 65534;
u32 last_rq_cpu = 0;

/* A typed per-CPU kernel variable: needs its address from kallsyms at load time. */
extern const struct rq runqueues __ksym;

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_entry, int dfd, struct filename *name)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 ts = bpf_ktime_get_ns();

	struct rq *rq = (struct rq *)bpf_this_cpu_ptr(&runqueues);

	last_rq_cpu = rq->cpu;
	bpf_map_update_elem(&unlink_start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_exit, int dfd, struct filename *name, long ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 *tsp = bpf_map_lookup_elem(&unlink_start, &tid);

	if (!tsp)
		return 0;
	__sync_fetch_and_add(&total_ns, bpf_ktime_get_ns() - *tsp);
	if (ret)
		__sync_fetch_and_add(&unlink_failed, 1);
	else
		__sync_fetch_and_add(&unlink_ok, 1);
	bpf_map_delete_elem(&unlink_start, &tid);
	return 0;
}

SEC("fmod_ret/security_task_alloc")
int BPF_PROG(task_alloc_ret, struct task_struct *task, unsigned long clone_flags, int ret)
{
	return ret;
}

SEC("fentry.s/__x64_sys_getpgid")
int BPF_PROG(sleepable_getpgid, struct pt_regs *regs)
{
	char buf[8];

	bpf_copy_from_user(buf, sizeof(buf), (void *)PT_REGS_PARM1_CORE(regs));
	return 0;
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

char LICENSE[] SEC("license") = "GPL";
