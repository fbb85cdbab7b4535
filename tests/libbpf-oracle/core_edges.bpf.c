// SPDX-License-Identifier: GPL-2.0
/* Relocation edge cases for the libbpf differential test, with no kernel headers: local
 * definitions of kernel types (matched by name through CO-RE, flavors stripped), fields and
 * types and enum values the kernel lacks (poisoned instructions or zero results), bitfields,
 * type ids, a weak kfunc that does not exist, callbacks, and subprograms shared by programs
 * of different sections. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
	long corebpf_no_such_field;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

struct task_struct___flavored {
	int tgid;
	int pid;
} __attribute__((preserve_access_index));

struct sk_buff {
	__u8 pkt_type:3;
	__u32 len;
	__u16 protocol;
} __attribute__((preserve_access_index));

struct corebpf_no_such_type {
	int x;
};

enum bpf_map_type___local {
	BPF_MAP_TYPE_RINGBUF___local = 3,
	BPF_MAP_TYPE_COREBPF_NONE___local = 4,
	BPF_MAP_TYPE_ARRAY___local = 1,
};

extern void bpf_corebpf_no_such_kfunc(void) __ksym __weak;

__u64 out[16];
static volatile __u32 counter;

__noinline int shared_helper(int x)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	return x + BPF_CORE_READ(t, real_parent, tgid);
}

static int loop_cb(__u32 index, void *ctx)
{
	counter += index;
	return index > 5;
}

static __noinline int local_static(struct task_struct *t)
{
	return bpf_core_field_exists(t->corebpf_no_such_field) + BPF_CORE_READ(t, pid);
}

SEC("raw_tp/sys_enter")
int core_edges(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___flavored *f = (void *)t;

	out[0] = BPF_CORE_READ(t, corebpf_no_such_field);
	out[1] = bpf_core_field_exists(t->corebpf_no_such_field);
	out[2] = BPF_CORE_READ(f, pid) + bpf_core_field_offset(f->tgid);
	out[3] = bpf_core_type_exists(struct corebpf_no_such_type);
	out[4] = bpf_core_type_id_kernel(struct task_struct);
	out[5] = bpf_core_type_id_local(struct task_struct___flavored);
	out[6] = bpf_core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_RINGBUF___local);
	out[7] = bpf_core_enum_value_exists(enum bpf_map_type___local,
					    BPF_MAP_TYPE_COREBPF_NONE___local);
	out[8] = bpf_core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_COREBPF_NONE___local);
	out[9] = bpf_core_type_size(struct task_struct) + bpf_core_field_size(t->tgid);
	out[10] = local_static(t) + shared_helper(2);
	bpf_loop(10, loop_cb, 0, 0);
	if (bpf_corebpf_no_such_kfunc)
		bpf_corebpf_no_such_kfunc();
	return 0;
}

SEC("socket")
int skb_bits(struct sk_buff *skb)
{
	out[12] = BPF_CORE_READ_BITFIELD(skb, pkt_type);
	out[13] = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_SIGNED) + bpf_core_field_size(skb->protocol);
	out[14] = BPF_CORE_READ(skb, len) + shared_helper(3);
	bpf_loop(3, loop_cb, 0, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
