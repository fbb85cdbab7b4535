// SPDX-License-Identifier: GPL-2.0
/* One program per hook the attach tests trigger; each counts its runs in a slot of `counts`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

enum { C_TP, C_TP2, C_RAW_TP, C_EXEC, C_UPROBE, C_URETPROBE, C_PERF, C_XDP, C_TC, C_CONNECT,
       C_SOCKET, C_ITER, C_CLS, C_UMULTI, C_SKLOOKUP, C_TPBTF, C_SYSCTL, C_SKB_EGRESS, C_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

const volatile u32 target_tgid = 0;
volatile u32 uretval = 0;

static __always_inline void bump(u32 slot)
{
	u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_getppid(void *ctx) { if (mine()) bump(C_TP); return 0; }

SEC("tp/syscalls/sys_enter_getppid")
int tp_getppid_second(void *ctx) { if (mine()) bump(C_TP2); return 0; }

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (mine() && ctx->args[1] == 110 /* getppid on x86-64 */)
		bump(C_RAW_TP);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	if (BPF_CORE_READ(t, real_parent, tgid) == target_tgid)
		bump(C_EXEC);
	return 0;
}

SEC("uprobe")
int on_uprobe(struct pt_regs *ctx) { bump(C_UPROBE); return 0; }

SEC("uretprobe")
int on_uretprobe(struct pt_regs *ctx) { uretval = PT_REGS_RC(ctx); bump(C_URETPROBE); return 0; }

SEC("perf_event")
int on_sample(void *ctx) { bump(C_PERF); return 0; }

SEC("xdp")
int xdp_count(struct xdp_md *ctx) { bump(C_XDP); return XDP_PASS; }

SEC("tc")
int tc_count(struct __sk_buff *skb) { bump(C_TC); return 0; /* TC_ACT_OK */ }

SEC("tc")
int cls_count(struct __sk_buff *skb) { bump(C_CLS); return 0; }

SEC("cgroup/connect4")
int connect4_count(struct bpf_sock_addr *ctx) { bump(C_CONNECT); return 1; }

SEC("socket")
int socket_count(struct __sk_buff *skb) { bump(C_SOCKET); return skb->len; }

SEC("iter/task")
int iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	bump(C_ITER);
	if (task->tgid == target_tgid && task->pid == task->tgid)
		BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", task->tgid, task->comm);
	return 0;
}

SEC("uprobe.multi")
int on_uprobe_multi(struct pt_regs *ctx) { bump(C_UMULTI); return 0; }

SEC("sk_lookup")
int sk_lookup_count(struct bpf_sk_lookup *ctx)
{
	if (ctx->local_port == 5556)
		bump(C_SKLOOKUP);
	return SK_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} sock_map SEC(".maps");

SEC("sk_skb/stream_verdict")
int sk_verdict(struct __sk_buff *skb) { return SK_PASS; }

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	if (mine() && id == 110 /* getppid */)
		bump(C_TPBTF);
	return 0;
}

SEC("cgroup/sysctl")
int sysctl_count(struct bpf_sysctl *ctx)
{
	if (!ctx->write)
		bump(C_SYSCTL);
	return 1;
}

SEC("cgroup_skb/egress")
int skb_egress_count(struct __sk_buff *skb)
{
	bump(C_SKB_EGRESS);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
