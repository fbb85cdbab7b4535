// SPDX-License-Identifier: GPL-2.0
/* BTF-defined maps of many types: plain, per-CPU, LRU, ring and perf buffers, a bloom filter,
 * a stack-trace map, pinned maps, and map-in-map / program-array maps with initial slots. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct flow_key {
	u32 saddr;
	u32 daddr;
	u16 sport;
	u16 dport;
	u8 proto;
};

struct flow_counters {
	u64 packets;
	u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow_key);
	__type(value, struct flow_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u64));
	__uint(map_flags, BPF_F_NO_PREALLOC);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct flow_counters);
} percpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 512);
	__type(key, u64);
	__type(value, u32);
	__uint(numa_node, 0);
} lru_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 128);
	__type(key, u32);
	__type(value, u64);
} lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 1000);
	__type(value, u32);
	__uint(map_extra, 3);
} seen_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 127 * sizeof(u64));
} stacks SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_map);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 16);
	__type(key, u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 64);
		__type(key, u32);
		__type(value, u32);
	});
} outer_hash SEC(".maps");

int tail_a(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(u32));
	__array(values, int(struct __sk_buff *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_a },
};

SEC("socket")
int tail_a(struct __sk_buff *skb)
{
	u32 key = 1;
	u64 *val = bpf_map_lookup_elem(&counters, &key);

	if (val)
		__sync_fetch_and_add(val, 1);
	return 0;
}

SEC("socket")
int use_maps(struct __sk_buff *skb)
{
	struct flow_key fk = {};
	struct flow_counters *st, init = {};
	u32 idx = 0, port;
	u64 one = 1, *v;
	void *inner;

	fk.proto = skb->protocol;
	fk.saddr = skb->ifindex;
	fk.sport = skb->vlan_tci;
	fk.dport = skb->pkt_type;
	st = bpf_map_lookup_elem(&flows, &fk);
	if (!st) {
		bpf_map_update_elem(&flows, &fk, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&flows, &fk);
		if (!st)
			return 0;
	}
	__sync_fetch_and_add(&st->packets, 1);
	__sync_fetch_and_add(&st->bytes, skb->len);

	bpf_map_update_elem(&percpu_hash, &idx, &one, BPF_ANY);
	st = bpf_map_lookup_elem(&percpu_stats, &idx);
	if (st)
		st->packets++;
	bpf_map_update_elem(&lru_cache, &one, &idx, BPF_ANY);
	bpf_map_update_elem(&lru_percpu, &idx, &one, BPF_ANY);

	port = fk.sport;
	if (bpf_map_peek_elem(&seen_ports, &port))
		bpf_map_push_elem(&seen_ports, &port, 0);

	inner = bpf_map_lookup_elem(&outer_array, &idx);
	if (inner) {
		v = bpf_map_lookup_elem(inner, &idx);
		if (v)
			*v += 1;
	}
	inner = bpf_map_lookup_elem(&outer_hash, &idx);
	if (inner)
		bpf_map_update_elem(inner, &idx, &idx, BPF_ANY);

	bpf_ringbuf_output(&rb, &fk, sizeof(fk), 0);
	bpf_perf_event_output(skb, &perf_events, BPF_F_CURRENT_CPU, &fk, sizeof(fk));
	bpf_tail_call(skb, &jump_table, 1);
	return skb->len;
}

SEC("perf_event")
int sample_stack(void *ctx)
{
	u32 zero = 0;
	long id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	u64 *v;

	if (id < 0)
		return 0;
	v = bpf_map_lookup_elem(&counters, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
