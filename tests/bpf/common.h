/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared definitions for the corebpf test programs. */
#ifndef COREBPF_TEST_COMMON_H
#define COREBPF_TEST_COMMON_H

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127
#define MAX_SLOTS 26

struct exec_event {
	int pid;
	int ppid;
	unsigned int uid;
	int retval;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN + 1];
};

struct open_event {
	unsigned long long ts;
	int pid;
	unsigned int uid;
	int ret;
	int flags;
	char comm[TASK_COMM_LEN];
	char fname[MAX_FILENAME_LEN + 1];
};

struct hist {
	unsigned int slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif
