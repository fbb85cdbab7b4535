// SPDX-License-Identifier: GPL-2.0
/* Events for the ring/perf buffer tests: one record per getppid() of the target process;
 * the program counts the records it could not reserve or output. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef RB_SIZE
#define RB_SIZE (1 << 22)
#endif

struct event { u64 seq; u64 ts; u32 pid; u32 cpu; u64 pad; };

struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, RB_SIZE); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb2 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } pb SEC(".maps");

const volatile u32 target_tgid = 0;
u64 seq = 0, reserve_failed = 0, output_failed = 0, seq2 = 0;

static __always_inline bool mine(void) { return (bpf_get_current_pid_tgid() >> 32) == target_tgid; }

SEC("tp/syscalls/sys_enter_getppid")
int rb_event(void *ctx)
{
	if (!mine()) return 0;
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) { __sync_fetch_and_add(&reserve_failed, 1); return 0; }
	e->seq = seq++; e->ts = bpf_ktime_get_ns(); e->pid = target_tgid; e->cpu = bpf_get_smp_processor_id(); e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int rb2_event(void *ctx)
{
	if (!mine()) return 0;
	struct event *e = bpf_ringbuf_reserve(&rb2, sizeof(*e), 0);
	if (!e) return 0;
	e->seq = seq2++; e->ts = 0; e->pid = target_tgid; e->cpu = 0; e->pad = 0;
	if (e->seq % 2)
		bpf_ringbuf_discard(e, 0);
	else
		bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_getsid")
int pb_event(void *ctx)
{
	if (!mine()) return 0;
	struct event e = { .seq = seq++, .pid = target_tgid };
	if (bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		__sync_fetch_and_add(&output_failed, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
