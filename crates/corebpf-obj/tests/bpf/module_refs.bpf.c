// SPDX-License-Identifier: GPL-2.0
/* References into a kernel module's split BTF (bpf_testmod): a kfunc, a typed per-CPU ksym
 * and CO-RE accesses to module structs, one through a flavor. No kernel headers needed. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* A definition, not a declaration: a kfunc prototype is compatible only when each pointed-to
 * type has the kernel's kind (a forward declaration is not a struct). */
struct sock {
	int unused;
};

extern __u64 bpf_kfunc_call_test1(struct sock *sk, __u32 a, __u64 b, __u32 c, __u64 d) __ksym;
extern const int bpf_testmod_ksym_percpu __ksym;

struct bpf_testmod_ops3 {
	void *test_2;
} __attribute__((preserve_access_index));

struct bpf_testmod_multi_st_ops___local {
	int id;
} __attribute__((preserve_access_index));

__u64 out[4];

SEC("tc")
int module_refs(void *ctx)
{
	struct bpf_testmod_ops3 *ops = ctx;
	struct bpf_testmod_multi_st_ops___local *st = ctx;

	out[0] = (__u64)BPF_CORE_READ(ops, test_2);
	out[1] = BPF_CORE_READ(st, id);
	out[2] = *(const int *)bpf_this_cpu_ptr(&bpf_testmod_ksym_percpu);
	out[3] = bpf_kfunc_call_test1(0, 1, 2, 3, 4);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
