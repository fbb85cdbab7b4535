// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_KSYSCALL: syscall arguments through the syscall wrapper's pt_regs or directly, chosen by
 * the LINUX_HAS_SYSCALL_WRAPPER kconfig extern (on arm64 the first argument of the direct
 * path is pt_regs.orig_x0, through bpf_tracing.h's pt_regs___arm64 flavor). Built by the
 * libbpf differential tests for x86 and arm64 (-D__TARGET_ARCH_*). Not in tests/bpf: libbpf
 * decides LINUX_HAS_SYSCALL_WRAPPER by creating a kprobe, so on a kernel without kprobes it
 * and corebpf (which looks for the wrapper in the kernel's BTF) load different code.
 */
#include <linux/bpf.h>
#include <linux/types.h>

#include "../bpf/probe_regs.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct call {
	__u64 a[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct call);
} calls SEC(".maps");

SEC("ksyscall/openat")
int BPF_KSYSCALL(openat_enter, int dfd, const char *path, int flags, unsigned short mode)
{
	__u32 k = 0;
	struct call *c = bpf_map_lookup_elem(&calls, &k);

	if (!c)
		return 0;
	c->a[0] = dfd;
	c->a[1] = (__u64)path;
	c->a[2] = flags;
	c->a[3] = mode;
	return 0;
}

SEC("ksyscall/pwrite64")
int BPF_KSYSCALL(pwrite_enter, unsigned int fd, const char *buf, unsigned long count, long pos)
{
	__u32 k = 1;
	struct call *c = bpf_map_lookup_elem(&calls, &k);

	if (!c)
		return 0;
	c->a[0] = fd;
	c->a[1] = (__u64)buf;
	c->a[2] = count;
	c->a[3] = pos;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
