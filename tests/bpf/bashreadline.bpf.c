// SPDX-License-Identifier: GPL-2.0
/* uprobes: lines typed into bash (uretprobe on readline) and malloc sizes (uprobe on libc). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_LINE_SIZE 80

struct line_event {
	u32 pid;
	char comm[16];
	char line[MAX_LINE_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} lines SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} alloc_hist SEC(".maps");

SEC("uretprobe//bin/bash:readline")
int BPF_KRETPROBE(printret, const void *ret)
{
	struct line_event ev = {};
	char comm[16];

	if (!ret)
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	if (comm[0] != 'b' || comm[1] != 'a' || comm[2] != 's' || comm[3] != 'h' || comm[4] != 0)
		return 0;
	ev.pid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(&ev.comm, comm, sizeof(comm));
	bpf_probe_read_user_str(&ev.line, sizeof(ev.line), ret);
	bpf_perf_event_output(ctx, &lines, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	return 0;
}

SEC("uprobe/libc.so.6:malloc")
int BPF_KPROBE(malloc_enter, size_t size)
{
	u32 slot = 0;
	u64 one = 1, *v;

	while (size > 1 && slot < 63) {
		size >>= 1;
		slot++;
	}
	v = bpf_map_lookup_elem(&alloc_hist, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&alloc_hist, &slot, &one, BPF_NOEXIST);
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(nanosleep_enter)
{
	u32 slot = 63;
	u64 *v = bpf_map_lookup_elem(&alloc_hist, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
