// SPDX-License-Identifier: GPL-2.0
/* Objects that cannot be linked, one per -D case; each must give a named error. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifdef ARRAY_KEY8
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, __u64);
} bad_array SEC(".maps");
#define USE_MAP &bad_array
#endif

#ifdef RINGBUF_KEY
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
	__type(key, int);
	__type(value, int);
} bad_rb SEC(".maps");
#define USE_MAP &bad_rb
#endif

#ifdef PROG_ARRAY_VALUE8
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, 4);
	__uint(value_size, 8);
} bad_progs SEC(".maps");
#define USE_MAP &bad_progs
#endif

#ifdef UNDEFINED_FUNC
extern int corebpf_undefined(int x);
#endif

#ifdef STRONG_KCONFIG
extern int CONFIG_COREBPF_NOT_SET __kconfig;
#endif

#ifdef MISSING_KSYM
extern const int corebpf_no_such_variable __ksym;
#endif

#ifdef MISSING_KFUNC
extern void corebpf_no_such_kfunc(void) __ksym;
#endif

__u64 out;

SEC("socket")
int prog(void *ctx)
{
#ifdef USE_MAP
	int zero = 0;
	out = (__u64)bpf_map_lookup_elem(USE_MAP, &zero);
#endif
#ifdef UNDEFINED_FUNC
	out = corebpf_undefined(1);
#endif
#ifdef STRONG_KCONFIG
	out = CONFIG_COREBPF_NOT_SET;
#endif
#ifdef MISSING_KSYM
	out = (__u64)&corebpf_no_such_variable;
#endif
#ifdef MISSING_KFUNC
	corebpf_no_such_kfunc();
#endif
#ifdef CALL_NOWHERE
	/* A BPF-to-BPF call (src_reg 1) 100 instructions ahead, with no relocation. */
	asm volatile(".byte 0x85, 0x10, 0, 0, 100, 0, 0, 0" ::: "r0", "r1", "r2", "r3", "r4", "r5");
#endif
#ifdef CALLBACK_NO_RELOC
	/* An LD imm64 of a function address (src_reg 4) with no relocation. */
	asm volatile(".byte 0x18, 0x41, 0, 0, 0, 0, 0, 0\n.byte 0, 0, 0, 0, 0, 0, 0, 0" ::: "r1");
#endif
	return 0;
}

#ifdef SPLIT_LDIMM64
/* A function whose last slot is the first half of a map load: the symbol's size ends it
 * before the second half. */
asm(".pushsection socket, \"ax\", @progbits\n"
    ".globl split_load\n"
    ".type split_load, @function\n"
    "split_load:\n"
    "r0 = 0\n"
    "r1 = out ll\n"
    "exit\n"
    ".size split_load, 16\n"
    ".popsection\n");
#endif

char LICENSE[] SEC("license") = "GPL";
