/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * corebpf/tracing.h — typed program arguments for tracing programs (x86_64).
 *
 *   BPF_PROG(name, args...)        tp_btf, fentry/fexit, raw_tp, lsm: the context is an array
 *                                  of u64 arguments, given names and types here.
 *   BPF_KPROBE(name, args...)      kprobe/uprobe: arguments from the registers of pt_regs.
 *   BPF_KRETPROBE(name, ret)       kretprobe/uretprobe: the return value.
 *   PT_REGS_PARM1(ctx) ... PARM6   raw register access; *_CORE variants read through CO-RE.
 */
#ifndef COREBPF_TRACING_H
#define COREBPF_TRACING_H

#if !defined(__TARGET_ARCH_x86)
#error "corebpf/tracing.h supports x86_64 only: compile with -D__TARGET_ARCH_x86"
#endif

/* x86_64 calling convention: rdi, rsi, rdx, rcx, r8, r9; return in rax. */
#define PT_REGS_PARM1(x) (((const struct pt_regs *)(x))->di)
#define PT_REGS_PARM2(x) (((const struct pt_regs *)(x))->si)
#define PT_REGS_PARM3(x) (((const struct pt_regs *)(x))->dx)
#define PT_REGS_PARM4(x) (((const struct pt_regs *)(x))->cx)
#define PT_REGS_PARM5(x) (((const struct pt_regs *)(x))->r8)
#define PT_REGS_PARM6(x) (((const struct pt_regs *)(x))->r9)
#define PT_REGS_RET(x) (((const struct pt_regs *)(x))->sp)
#define PT_REGS_FP(x) (((const struct pt_regs *)(x))->bp)
#define PT_REGS_RC(x) (((const struct pt_regs *)(x))->ax)
#define PT_REGS_SP(x) (((const struct pt_regs *)(x))->sp)
#define PT_REGS_IP(x) (((const struct pt_regs *)(x))->ip)
/* System calls pass their 4th argument in r10 (rcx is clobbered by the syscall instruction). */
#define PT_REGS_PARM4_SYSCALL(x) (((const struct pt_regs *)(x))->r10)

#define PT_REGS_PARM1_CORE(x) BPF_CORE_READ((const struct pt_regs *)(x), di)
#define PT_REGS_PARM2_CORE(x) BPF_CORE_READ((const struct pt_regs *)(x), si)
#define PT_REGS_PARM3_CORE(x) BPF_CORE_READ((const struct pt_regs *)(x), dx)
#define PT_REGS_PARM4_CORE(x) BPF_CORE_READ((const struct pt_regs *)(x), cx)
#define PT_REGS_PARM5_CORE(x) BPF_CORE_READ((const struct pt_regs *)(x), r8)
#define PT_REGS_PARM6_CORE(x) BPF_CORE_READ((const struct pt_regs *)(x), r9)
#define PT_REGS_RC_CORE(x) BPF_CORE_READ((const struct pt_regs *)(x), ax)

/* ", (void *)ctx[0], (void *)ctx[1], ..." for as many names as were given. */
#define __cb_ctx_args0()
#define __cb_ctx_args1(a) , (void *)ctx[0]
#define __cb_ctx_args2(a, b) __cb_ctx_args1(a), (void *)ctx[1]
#define __cb_ctx_args3(a, b, c) __cb_ctx_args2(a, b), (void *)ctx[2]
#define __cb_ctx_args4(a, b, c, d) __cb_ctx_args3(a, b, c), (void *)ctx[3]
#define __cb_ctx_args5(a, b, c, d, e) __cb_ctx_args4(a, b, c, d), (void *)ctx[4]
#define __cb_ctx_args6(a, b, c, d, e, f) __cb_ctx_args5(a, b, c, d, e), (void *)ctx[5]
#define __cb_ctx_args7(a, b, c, d, e, f, g) __cb_ctx_args6(a, b, c, d, e, f), (void *)ctx[6]
#define __cb_ctx_args8(a, b, c, d, e, f, g, h)                                           \
	__cb_ctx_args7(a, b, c, d, e, f, g), (void *)ctx[7]
#define __cb_ctx_args9(a, b, c, d, e, f, g, h, i)                                        \
	__cb_ctx_args8(a, b, c, d, e, f, g, h), (void *)ctx[8]

/* ", (void *)PT_REGS_PARM1(ctx), ..." likewise, for pt_regs contexts. */
#define __cb_reg_args0()
#define __cb_reg_args1(a) , (void *)PT_REGS_PARM1(ctx)
#define __cb_reg_args2(a, b) __cb_reg_args1(a), (void *)PT_REGS_PARM2(ctx)
#define __cb_reg_args3(a, b, c) __cb_reg_args2(a, b), (void *)PT_REGS_PARM3(ctx)
#define __cb_reg_args4(a, b, c, d) __cb_reg_args3(a, b, c), (void *)PT_REGS_PARM4(ctx)
#define __cb_reg_args5(a, b, c, d, e) __cb_reg_args4(a, b, c, d), (void *)PT_REGS_PARM5(ctx)
#define __cb_reg_args6(a, b, c, d, e, f) __cb_reg_args5(a, b, c, d, e), (void *)PT_REGS_PARM6(ctx)

/* Counts 0 to 9 arguments (an empty list counts 0). */
#define __cb_nargs(...) __cb_nargs_(_, ##__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define __cb_nargs_(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, n, ...) n

/*
 * The program `name` receives the raw context; the body below the macro is a separate inline
 * function that receives the typed arguments. Integer arguments are converted from the u64
 * slots, which clang reports as int-conversion: that warning is silenced for the one call.
 */
#define __CB_TYPED_PROG(name, ctxdecl, argsfn, ...)                                     \
	name(ctxdecl);                                                                   \
	static __always_inline typeof(name(0)) __cb_body_##name(ctxdecl, ##__VA_ARGS__); \
	typeof(name(0)) name(ctxdecl)                                                    \
	{                                                                                \
		_Pragma("GCC diagnostic push")                                           \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")                  \
		return __cb_body_##name(ctx argsfn);                                     \
		_Pragma("GCC diagnostic pop")                                            \
	}                                                                                \
	static __always_inline typeof(name(0)) __cb_body_##name(ctxdecl, ##__VA_ARGS__)

#define BPF_PROG(name, ...)                                                              \
	__CB_TYPED_PROG(name, unsigned long long *ctx,                                   \
			__cb_cat(__cb_ctx_args, __cb_nargs(__VA_ARGS__))(__VA_ARGS__),   \
			##__VA_ARGS__)

#define BPF_KPROBE(name, ...)                                                            \
	__CB_TYPED_PROG(name, struct pt_regs *ctx,                                        \
			__cb_cat(__cb_reg_args, __cb_nargs(__VA_ARGS__))(__VA_ARGS__),   \
			##__VA_ARGS__)

#define BPF_UPROBE(name, ...) BPF_KPROBE(name, ##__VA_ARGS__)

#define __cb_ret_args0()
#define __cb_ret_args1(a) , (void *)PT_REGS_RC(ctx)
#define BPF_KRETPROBE(name, ...)                                                         \
	__CB_TYPED_PROG(name, struct pt_regs *ctx,                                        \
			__cb_cat(__cb_ret_args, __cb_nargs(__VA_ARGS__))(__VA_ARGS__),   \
			##__VA_ARGS__)
#define BPF_URETPROBE(name, ...) BPF_KRETPROBE(name, ##__VA_ARGS__)

#endif /* COREBPF_TRACING_H */
