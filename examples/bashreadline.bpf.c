// SPDX-License-Identifier: GPL-2.0
/* bashreadline: the command lines bash reads, from a return probe on readline(). */
#include "vmlinux.h"
#include <corebpf/bpf.h>

struct line_event {
	__u32 pid;
	char comm[16];
	char line[200];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} lines SEC(".maps");

COREBPF_EVENT(lines, struct line_event);

SEC("uretprobe//bin/bash:readline")
int BPF_URETPROBE(on_readline_return, const char *ret)
{
	struct line_event e = {};

	if (!ret)
		return 0;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_probe_read_user_str(e.line, sizeof(e.line), ret);
	bpf_perf_event_output(ctx, &lines, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

COREBPF_LICENSE("GPL");
