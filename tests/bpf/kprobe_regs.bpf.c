// SPDX-License-Identifier: GPL-2.0
/*
 * Probe arguments read through bpf_tracing.h's PT_REGS_* macros, whose register layout depends
 * on the architecture the object is built for (__TARGET_ARCH_x86 or __TARGET_ARCH_arm64). No
 * vmlinux.h: probe_regs.h declares the register structures with preserve_access_index, so every
 * register access is a CO-RE field relocation resolved against the target kernel's BTF
 * (struct pt_regs on x86, struct user_pt_regs on arm64). Kconfig externs of several sizes
 * check the byte order of the .kconfig map. (BPF_KSYSCALL, whose code depends on how
 * LINUX_HAS_SYSCALL_WRAPPER is probed, is in tests/libbpf-oracle/syscall_regs.bpf.c.)
 */
#include <linux/bpf.h>
#include <linux/types.h>

#include "probe_regs.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern unsigned long long CONFIG_NR_CPUS __kconfig __weak;
extern enum libbpf_tristate CONFIG_IPV6 __kconfig __weak;
extern unsigned short CONFIG_NOT_IN_ANY_CONFIG __kconfig __weak;

struct args {
	__u64 a[5];
	__u64 ret, sp, ip, fp;
	__u64 facts;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct args);
} seen SEC(".maps");

static __always_inline struct args *slot(__u32 k)
{
	return bpf_map_lookup_elem(&seen, &k);
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(unlink_enter, int dfd, void *name)
{
	struct args *s = slot(0);

	if (!s)
		return 0;
	s->a[0] = dfd;
	s->a[1] = (__u64)name;
	s->a[2] = PT_REGS_PARM3(ctx);
	s->a[3] = PT_REGS_PARM4(ctx);
	s->a[4] = PT_REGS_PARM5(ctx);
	s->sp = PT_REGS_SP(ctx);
	s->ip = PT_REGS_IP(ctx);
	s->fp = PT_REGS_FP(ctx);
	s->facts = LINUX_KERNEL_VERSION + CONFIG_HZ + CONFIG_NR_CPUS + CONFIG_IPV6 +
		   CONFIG_NOT_IN_ANY_CONFIG;
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(unlink_exit, long ret)
{
	struct args *s = slot(1);

	if (s)
		s->ret = ret;
	return 0;
}

/* The same registers through bpf_probe_read_kernel (the _CORE variants). */
SEC("uprobe")
int uprobe_core(struct pt_regs *ctx)
{
	struct args *s = slot(3);

	if (!s)
		return 0;
	s->a[0] = PT_REGS_PARM1_CORE(ctx);
	s->a[1] = PT_REGS_PARM2_CORE(ctx);
	s->a[4] = PT_REGS_PARM5_CORE(ctx);
	s->ret = PT_REGS_RC_CORE(ctx);
	s->sp = PT_REGS_SP_CORE(ctx);
	s->ip = PT_REGS_IP_CORE(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
