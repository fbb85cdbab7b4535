// SPDX-License-Identifier: GPL-2.0
/* struct_ops with a local struct that is not the kernel's: its own declaration of
 * tcp_congestion_ops (a subset of the members, in another order; no vmlinux.h), so loading it
 * must place every member by name in the kernel's layout. Variants:
 *   -DCOREBPF_FLAVOR         the struct named tcp_congestion_ops___corebpf (a CO-RE flavor)
 *   -DCOREBPF_EXTRA_MEMBER   a member the kernel's struct does not have, set non-zero
 *   -DCOREBPF_UNKNOWN_TYPE   a struct the kernel does not have
 *   -DCOREBPF_NO_WRAPPER     a kernel struct (tcp_ulp_ops) the kernel cannot take as struct_ops
 *   -DCOREBPF_UNREFERENCED   a struct_ops program no member names */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Only pointed to: the kernel type of the same name stands behind it. */
struct sock {
	int __opaque;
};

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

#if defined(COREBPF_UNKNOWN_TYPE)
#define OPS corebpf_no_such_ops
#elif defined(COREBPF_NO_WRAPPER)
#define OPS tcp_ulp_ops
#elif defined(COREBPF_FLAVOR)
#define OPS tcp_congestion_ops___corebpf
#else
#define OPS tcp_congestion_ops
#endif

struct OPS {
	char name[16];
	__u32 flags;
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*ssthresh)(struct sock *sk);
#ifdef COREBPF_EXTRA_MEMBER
	__u64 corebpf_extra;
#endif
};

__u64 acks = 0;

SEC("struct_ops/layout_ssthresh")
__u32 BPF_PROG(layout_ssthresh, struct sock *sk)
{
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/layout_cong_avoid")
void BPF_PROG(layout_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&acks, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/layout_undo_cwnd")
__u32 BPF_PROG(layout_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

#ifdef COREBPF_UNREFERENCED
SEC("struct_ops/layout_unused")
__u32 BPF_PROG(layout_unused, struct sock *sk)
{
	return 2;
}
#endif

SEC(".struct_ops")
struct OPS corebpf_layout = {
	.cong_avoid = (void *)layout_cong_avoid,
	.name = "corebpf_layout",
	.ssthresh = (void *)layout_ssthresh,
	/* TCP_CONG_NON_RESTRICTED: any user may select it. */
	.flags = 1,
	.undo_cwnd = (void *)layout_undo_cwnd,
#ifdef COREBPF_EXTRA_MEMBER
	.corebpf_extra = 7,
#endif
};
