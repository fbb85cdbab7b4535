// SPDX-License-Identifier: GPL-2.0
/* Networking hooks on skbs: tc (direct action and tcx), cgroup_skb ingress/egress,
 * a socket filter and cgroup socket hooks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

enum dir { DIR_INGRESS, DIR_EGRESS, DIR_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DIR_MAX * 2);
	__type(key, u32);
	__type(value, u64);
} byte_counts SEC(".maps");

const volatile u32 blocked_port = 0;
u64 dropped = 0;

static __always_inline void account(u32 slot, u64 bytes)
{
	u64 *v = bpf_map_lookup_elem(&byte_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, bytes);
}

SEC("tc")
int tc_ingress_count(struct __sk_buff *skb)
{
	account(DIR_INGRESS * 2 + (skb->protocol == bpf_htons(ETH_P_IPV6)), skb->len);
	return TC_ACT_OK;
}

SEC("tcx/egress")
int tcx_egress_filter(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *udp;

	account(DIR_EGRESS * 2, skb->len);
	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (iph->protocol != IPPROTO_UDP || iph->ihl != 5)
		return TC_ACT_OK;
	udp = (void *)(iph + 1);
	if ((void *)(udp + 1) > data_end)
		return TC_ACT_OK;
	if (blocked_port && udp->dest == bpf_htons(blocked_port)) {
		__sync_fetch_and_add(&dropped, 1);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

SEC("cgroup_skb/ingress")
int cgroup_ingress(struct __sk_buff *skb)
{
	account(DIR_INGRESS * 2 + 1, skb->len);
	return 1;
}

SEC("cgroup_skb/egress")
int cgroup_egress(struct __sk_buff *skb)
{
	account(DIR_EGRESS * 2 + 1, skb->len);
	return 1;
}

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	return sk->type != 3 /* SOCK_RAW */;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	if (blocked_port && ctx->user_port == bpf_htons(blocked_port))
		return 0;
	return 1;
}

SEC("socket")
int socket_len(struct __sk_buff *skb)
{
	return skb->len > 1500 ? 0 : -1;
}

char LICENSE[] SEC("license") = "GPL";
