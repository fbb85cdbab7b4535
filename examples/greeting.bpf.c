// SPDX-License-Identifier: GPL-2.0
/*
 * greeting: global data set from the command line. `--set greeting=... --set mood=...` writes
 * the read-only settings before load; the program copies them, with what it saw, to .bss and
 * .data at the first execve of the target process.
 */
#include "vmlinux.h"
#include <corebpf/bpf.h>

enum mood {
	MOOD_CALM = 1,
	MOOD_CHEERFUL = 2,
	MOOD_GRUMPY = 7,
};

const volatile char greeting[16] = "hello";
const volatile enum mood mood = MOOD_CALM;
const volatile __u32 target_pid = 0;
const volatile bool loud = false;

char seen_greeting[16];
enum mood seen_mood;
bool seen_loud;
char exec_comm[16];
__u32 execs = 0;
__s32 countdown = -3;

SEC("tracepoint/syscalls/sys_enter_execve")
int on_execve(void *ctx)
{
	if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	/* Byte by byte: volatile reads, so the compiler cannot fold in the initial value. */
	for (int i = 0; i < sizeof(seen_greeting); i++)
		seen_greeting[i] = greeting[i];
	seen_mood = mood;
	seen_loud = loud;
	bpf_get_current_comm(exec_comm, sizeof(exec_comm));
	__sync_fetch_and_add(&execs, 1);
	countdown++;
	return 0;
}

COREBPF_LICENSE("GPL");
