// SPDX-License-Identifier: GPL-2.0
/* Externs resolved by the loader: Kconfig values and kernel symbols (typeless addresses,
 * weak ones that may be missing, and kfuncs). A typed per-CPU ksym is in fentry.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern bool CONFIG_COREBPF_NOT_A_REAL_OPTION __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;

/* Typeless ksyms resolve through /proc/kallsyms, which lists data symbols only with
 * CONFIG_KALLSYMS_ALL: weak, so the program loads either way. */
extern const void bpf_prog_active __ksym __weak;  /* typeless ksym */
extern const int corebpf_missing_ksym __ksym __weak;

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern struct cgroup *bpf_cgroup_acquire(struct cgroup *cgrp) __ksym __weak;

struct kinfo {
	u32 version;
	u32 hz;
	u32 syscall_on;
	u32 fake_option;
	u32 jit;
	u32 has_missing_ksym;
	u64 prog_active_addr;
	u32 acquired;
};

struct kinfo info = {};

SEC("tp_btf/task_newtask")
int BPF_PROG(task_newtask, struct task_struct *task, u64 clone_flags)
{
	struct task_struct *acquired;

	info.version = LINUX_KERNEL_VERSION;
	info.hz = CONFIG_HZ;
	info.syscall_on = CONFIG_BPF_SYSCALL;
	info.fake_option = CONFIG_COREBPF_NOT_A_REAL_OPTION;
	info.jit = CONFIG_BPF_JIT;
	info.has_missing_ksym = &corebpf_missing_ksym != 0;
	info.prog_active_addr = (u64)&bpf_prog_active;

	acquired = bpf_task_acquire(task);
	if (acquired) {
		info.acquired++;
		bpf_task_release(acquired);
	}
	if (bpf_cgroup_acquire)
		info.acquired += 100;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
