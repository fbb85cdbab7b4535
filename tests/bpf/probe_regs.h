/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probe register structures bpf_tracing.h reads, for programs built without vmlinux.h,
 * declared with preserve_access_index so that every access is relocated against the target
 * kernel's BTF. Include before <bpf/bpf_tracing.h>.
 */
#ifndef PROBE_REGS_H
#define PROBE_REGS_H

#if defined(__TARGET_ARCH_x86)
/* The kernel's register names, as its BTF (and a vmlinux.h) spells them. */
#define __VMLINUX_H__
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
} __attribute__((preserve_access_index));
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
} __attribute__((preserve_access_index));
struct pt_regs;
#else
#error "build with -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64"
#endif

#endif
