// SPDX-License-Identifier: GPL-2.0
/* Guest-only: kprobe targets a kernel with kprobes refuses, each of which corebpf must name
 * (guest-tests.sh): a function the kernel lacks, an offset inside an instruction (do_unlinkat
 * starts with a 5-byte ftrace call), a return probe with an offset, and a syscall the kernel
 * lacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("kprobe/corebpf_no_such_function")
int no_such_function(struct pt_regs *ctx)
{
	return 0;
}

SEC("kprobe/do_unlinkat+1")
int mid_instruction(struct pt_regs *ctx)
{
	return 0;
}

/* Return probes take no offset (refused before the kernel is asked). */
SEC("kretprobe/do_unlinkat+5")
int return_offset(struct pt_regs *ctx)
{
	return 0;
}

SEC("ksyscall/corebpf_no_such_syscall")
int BPF_KSYSCALL(no_such_syscall)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
