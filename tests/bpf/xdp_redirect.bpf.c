// SPDX-License-Identifier: GPL-2.0
/* XDP: parse Ethernet/IPv4, count per protocol, and spread flows over CPUs through a cpumap;
 * a program that runs on the remote CPU, and a multi-buffer (frags) variant. No kernel headers. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_CPUS 64

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

const volatile __u32 nr_cpus = 2;

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 *proto, __u32 *hash)
{
	struct ethhdr *eth = data;
	struct iphdr *iph;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return -1;
	*proto = iph->protocol;
	*hash = iph->saddr ^ iph->daddr;
	return 0;
}

SEC("xdp")
int xdp_cpu_spread(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 proto = 0, hash = 0, cpu;
	__u64 *count;

	if (parse_ipv4(data, data_end, &proto, &hash))
		return XDP_PASS;
	count = bpf_map_lookup_elem(&proto_count, &proto);
	if (count)
		*count += 1;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return XDP_PASS;
	cpu = nr_cpus ? hash % nr_cpus : 0;
	return bpf_redirect_map(&cpu_map, cpu, XDP_PASS);
}

SEC("xdp/cpumap")
int xdp_on_cpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 proto = 0, hash = 0;

	if (parse_ipv4(data, data_end, &proto, &hash))
		return XDP_PASS;
	if (proto == IPPROTO_ICMP)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp.frags")
int xdp_frags_tx(struct xdp_md *ctx)
{
	__u32 port = ctx->ingress_ifindex & 7;

	if (bpf_xdp_get_buff_len(ctx) > 9000)
		return XDP_DROP;
	return bpf_redirect_map(&tx_ports, port, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
