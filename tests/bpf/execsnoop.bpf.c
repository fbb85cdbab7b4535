// SPDX-License-Identifier: GPL-2.0
/* execsnoop: report every execve with its parent pid, uid and return value. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.h"

const volatile int target_uid = -1;
const volatile bool ignore_failed = true;

extern int LINUX_KERNEL_VERSION __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, pid_t);
	__type(value, struct exec_event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static const struct exec_event empty_event = {};
__u64 exec_count = 0;

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task;
	struct exec_event *event;
	const char *filename;
	__u64 id = bpf_get_current_pid_tgid();
	pid_t pid = id >> 32;
	uid_t uid = (uid_t)bpf_get_current_uid_gid();

	if (target_uid != -1 && target_uid != (int)uid)
		return 0;
	if (LINUX_KERNEL_VERSION < KERNEL_VERSION(5, 8, 0))
		return 0;

	if (bpf_map_update_elem(&execs, &pid, &empty_event, BPF_NOEXIST))
		return 0;
	event = bpf_map_lookup_elem(&execs, &pid);
	if (!event)
		return 0;

	event->pid = pid;
	event->uid = uid;
	task = (struct task_struct *)bpf_get_current_task();
	event->ppid = BPF_CORE_READ(task, real_parent, tgid);
	filename = (const char *)ctx->args[0];
	bpf_probe_read_user_str(event->filename, sizeof(event->filename), filename);
	__sync_fetch_and_add(&exec_count, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;
	struct exec_event *event, *out;
	int ret = ctx->ret;

	event = bpf_map_lookup_elem(&execs, &pid);
	if (!event)
		return 0;
	if (ignore_failed && ret < 0)
		goto cleanup;

	out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out)
		goto cleanup;
	__builtin_memcpy(out, event, sizeof(*out));
	out->retval = ret;
	bpf_get_current_comm(out->comm, sizeof(out->comm));
	bpf_ringbuf_submit(out, 0);
cleanup:
	bpf_map_delete_elem(&execs, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
