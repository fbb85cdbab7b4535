// SPDX-License-Identifier: GPL-2.0
/* Subprograms: static and global non-inlined functions, bounded loops, and callbacks
 * through bpf_loop() and bpf_for_each_map_elem(). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NBUCKETS 16

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NBUCKETS);
	__type(key, u32);
	__type(value, u64);
} buckets SEC(".maps");

u64 loop_sum = 0;
u64 map_sum = 0;
u32 fold_result = 0;
s32 divisor; /* set by user space; 0 means 7 */
s64 scaled = 0;

struct loop_ctx {
	u64 seed;
	u64 acc;
};

/* A static subprogram: stays in .text, called with a relative call. */
static __noinline u32 fold(u64 v)
{
	u32 h = 0;
	int i;

	for (i = 0; i < 8; i++) {
		h = (h << 5) ^ (h >> 27) ^ (u32)(v & 0xff);
		v >>= 8;
	}
	return h;
}

/* A global subprogram: verified on its own, against its BTF signature. */
__noinline int bucket_of(u32 hash)
{
	return hash % NBUCKETS;
}

/* Signed arithmetic: cpu v4 adds signed division and modulo, and sign-extending moves and
 * loads; older cpus get the same result without the division. */
static __noinline s64 scale(s64 v, s32 div)
{
#if __BPF_CPU_VERSION__ >= 4
	if (div)
		v = v / div + v % div;
#endif
	return (s64)(s8)v + (s64)(s16)(v >> 8) + (s64)(s32)(v >> 16);
}

static int loop_step(u32 index, struct loop_ctx *ctx)
{
	ctx->acc += fold(ctx->seed + index);
	return ctx->acc > (1ULL << 40);
}

static long sum_elem(struct bpf_map *map, u32 *key, u64 *val, u64 *sum)
{
	*sum += *val;
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(fold_syscall, struct pt_regs *regs, long id)
{
	struct loop_ctx lctx = { .seed = id, .acc = 0 };
	u32 key;
	u64 *slot, total = 0;

	fold_result = fold(id);
	key = bucket_of(fold_result);
	slot = bpf_map_lookup_elem(&buckets, &key);
	if (slot)
		__sync_fetch_and_add(slot, 1);

	bpf_loop(32, loop_step, &lctx, 0);
	loop_sum += lctx.acc;

	bpf_for_each_map_elem(&buckets, sum_elem, &total, 0);
	map_sum = total;
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int count_exits(struct bpf_raw_tracepoint_args *ctx)
{
	u32 key = bucket_of(fold(ctx->args[1]));
	u64 *slot = bpf_map_lookup_elem(&buckets, &key);

	scaled = scale((s64)ctx->args[1], divisor ? divisor : 7);

	if (slot)
		__sync_fetch_and_add(slot, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
