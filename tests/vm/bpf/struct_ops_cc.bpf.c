// SPDX-License-Identifier: GPL-2.0
/* A TCP congestion control written as struct_ops: Reno through the kernel's own Reno kfuncs,
 * counting how often the kernel calls each member. Registered under the name "corebpf_reno";
 * built with -DCOREBPF_STRUCT_OPS_LINK it is declared in .struct_ops.link instead, registered
 * through a BPF link, under the name "corebpf_renol" (struct_ops_link.bpf.c).
 *
 * Compiled against the build host's vmlinux.h: loading it on another kernel (the 6.1 guest)
 * translates the struct's members by name to that kernel's layout. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

u64 init_calls = 0;
u64 ssthresh_calls = 0;
u64 cong_avoid_calls = 0;
u64 undo_cwnd_calls = 0;
u64 set_state_calls = 0;
u64 cwnd_event_calls = 0;

SEC("struct_ops/reno_init")
void BPF_PROG(reno_init, struct sock *sk)
{
	__sync_fetch_and_add(&init_calls, 1);
}

SEC("struct_ops/reno_ssthresh")
__u32 BPF_PROG(reno_ssthresh, struct sock *sk)
{
	__sync_fetch_and_add(&ssthresh_calls, 1);
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/reno_cong_avoid")
void BPF_PROG(reno_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoid_calls, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/reno_undo_cwnd")
__u32 BPF_PROG(reno_undo_cwnd, struct sock *sk)
{
	__sync_fetch_and_add(&undo_cwnd_calls, 1);
	return tcp_reno_undo_cwnd(sk);
}

SEC("struct_ops/reno_set_state")
void BPF_PROG(reno_set_state, struct sock *sk, __u8 new_state)
{
	__sync_fetch_and_add(&set_state_calls, 1);
}

SEC("struct_ops/reno_cwnd_event")
void BPF_PROG(reno_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	__sync_fetch_and_add(&cwnd_event_calls, 1);
}

#ifdef COREBPF_STRUCT_OPS_LINK
SEC(".struct_ops.link")
struct tcp_congestion_ops corebpf_renol = {
	.name = "corebpf_renol",
#else
SEC(".struct_ops")
struct tcp_congestion_ops corebpf_reno = {
	.name = "corebpf_reno",
#endif
	.init = (void *)reno_init,
	.ssthresh = (void *)reno_ssthresh,
	.cong_avoid = (void *)reno_cong_avoid,
	.undo_cwnd = (void *)reno_undo_cwnd,
	.set_state = (void *)reno_set_state,
	.cwnd_event = (void *)reno_cwnd_event,
};
