/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * corebpf/core_read.h — CO-RE (compile once, run everywhere) reads of kernel memory.
 *
 * Every access written here becomes a BTF relocation (clang's __builtin_preserve_* builtins):
 * the loader rewrites the field offset, size or existence test for the running kernel's layout.
 *
 *     pid_t ppid = BPF_CORE_READ(task, real_parent, tgid);   // task->real_parent->tgid
 *     if (bpf_core_field_exists(task->loginuid)) ...
 */
#ifndef COREBPF_CORE_READ_H
#define COREBPF_CORE_READ_H

/* What a field relocation asks for (clang's __builtin_preserve_field_info kinds). */
#define __CB_FIELD_BYTE_OFFSET 0
#define __CB_FIELD_BYTE_SIZE 1
#define __CB_FIELD_EXISTS 2
#define __CB_FIELD_SIGNED 3
#define __CB_FIELD_LSHIFT_U64 4
#define __CB_FIELD_RSHIFT_U64 5

/* Argument counting and pasting for the variadic forms below (1 to 9 arguments). */
#define __cb_cat(a, b) __cb_cat_(a, b)
#define __cb_cat_(a, b) a##b
#define __cb_count(...) __cb_count_(__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define __cb_count_(_1, _2, _3, _4, _5, _6, _7, _8, _9, n, ...) n

/* Reads `sz` bytes of kernel memory at `src`, relocating the address computation. */
#define bpf_core_read(dst, sz, src)                                                     \
	bpf_probe_read_kernel(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user(dst, sz, src)                                                \
	bpf_probe_read_user(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_str(dst, sz, src)                                                 \
	bpf_probe_read_kernel_str(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user_str(dst, sz, src)                                            \
	bpf_probe_read_user_str(dst, sz, (const void *)__builtin_preserve_access_index(src))

/* Field queries: pass `ptr->field` or (type, field). */
#define __cb_field_ref1(f) f
#define __cb_field_ref2(type, f) (((typeof(type) *)0)->f)
#define __cb_field_ref(...) __cb_cat(__cb_field_ref, __cb_count(__VA_ARGS__))(__VA_ARGS__)

#define bpf_core_field_exists(...)                                                     \
	__builtin_preserve_field_info(__cb_field_ref(__VA_ARGS__), __CB_FIELD_EXISTS)
#define bpf_core_field_size(...)                                                       \
	__builtin_preserve_field_info(__cb_field_ref(__VA_ARGS__), __CB_FIELD_BYTE_SIZE)
#define bpf_core_field_offset(...)                                                     \
	__builtin_preserve_field_info(__cb_field_ref(__VA_ARGS__), __CB_FIELD_BYTE_OFFSET)

/* Type queries. */
#define bpf_core_type_id_local(type) __builtin_btf_type_id(*(typeof(type) *)0, 0)
#define bpf_core_type_id_kernel(type) __builtin_btf_type_id(*(typeof(type) *)0, 1)
#define bpf_core_type_exists(type) __builtin_preserve_type_info(*(typeof(type) *)0, 0)
#define bpf_core_type_size(type) __builtin_preserve_type_info(*(typeof(type) *)0, 1)
#define bpf_core_type_matches(type) __builtin_preserve_type_info(*(typeof(type) *)0, 2)

/* Enumerator queries: bpf_core_enum_value(enum task_state, TASK_RUNNING). */
#define bpf_core_enum_value_exists(enum_type, value)                                   \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)value, 0)
#define bpf_core_enum_value(enum_type, value)                                          \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)value, 1)

/* Reads a bitfield (or any integer field) through bpf_probe_read_kernel: `ptr->field`. */
#define BPF_CORE_READ_BITFIELD_PROBED(ptr, field)                                      \
	({                                                                             \
		unsigned long long __cb_val = 0;                                       \
		bpf_probe_read_kernel(&__cb_val,                                       \
				      __builtin_preserve_field_info((ptr)->field,      \
								    __CB_FIELD_BYTE_SIZE), \
				      (const void *)(ptr) +                            \
					      __builtin_preserve_field_info(           \
						      (ptr)->field,                    \
						      __CB_FIELD_BYTE_OFFSET));        \
		__cb_val <<= __builtin_preserve_field_info((ptr)->field,               \
							  __CB_FIELD_LSHIFT_U64);     \
		if (__builtin_preserve_field_info((ptr)->field, __CB_FIELD_SIGNED))    \
			__cb_val = ((long long)__cb_val) >>                            \
				   __builtin_preserve_field_info((ptr)->field,          \
								 __CB_FIELD_RSHIFT_U64); \
		else                                                                   \
			__cb_val = __cb_val >> __builtin_preserve_field_info(           \
						       (ptr)->field,                   \
						       __CB_FIELD_RSHIFT_U64);          \
		__cb_val;                                                              \
	})

/*
 * One step of a read chain: the value of `p->f`, read with bpf_probe_read_kernel from the
 * relocated address. `p` may itself be a step; it is evaluated first, into a local, because
 * clang does not nest __builtin_preserve_access_index.
 */
/* The type of an expression without const/volatile: the read fills a writable local. */
#if defined(__clang_major__) && __clang_major__ >= 19
#define __cb_unqual(x) __typeof_unqual__(x)
#else
#define __cb_unqual(x) typeof(x)
#endif

#define __cb_step_with(read, p, f)                                                     \
	({                                                                             \
		typeof(p) __cb_p = (p);                                                \
		__cb_unqual(__cb_p->f) __cb_v;                                         \
		read(&__cb_v, sizeof(__cb_v), &__cb_p->f);                             \
		__cb_v;                                                                \
	})
#define __cb_step(p, f) __cb_step_with(bpf_core_read, p, f)
#define __cb_user_step(p, f) __cb_step_with(bpf_core_read_user, p, f)

#define __cb_chain1(S, s, a) S(s, a)
#define __cb_chain2(S, s, a, b) S(S(s, a), b)
#define __cb_chain3(S, s, a, b, c) S(S(S(s, a), b), c)
#define __cb_chain4(S, s, a, b, c, d) S(S(S(S(s, a), b), c), d)
#define __cb_chain5(S, s, a, b, c, d, e) S(S(S(S(S(s, a), b), c), d), e)
#define __cb_chain6(S, s, a, b, c, d, e, f) S(__cb_chain5(S, s, a, b, c, d, e), f)
#define __cb_chain7(S, s, a, b, c, d, e, f, g) S(__cb_chain6(S, s, a, b, c, d, e, f), g)
#define __cb_chain8(S, s, a, b, c, d, e, f, g, h) S(__cb_chain7(S, s, a, b, c, d, e, f, g), h)
#define __cb_chain9(S, s, a, b, c, d, e, f, g, h, i)                                     \
	S(__cb_chain8(S, s, a, b, c, d, e, f, g, h), i)

/*
 * BPF_CORE_READ(src, a, b, c) is src->a->b->c with every dereference a relocated probe read
 * (up to nine fields). The last field must not be an array: use BPF_CORE_READ_STR_INTO or
 * bpf_core_read for those.
 */
#define BPF_CORE_READ(src, ...)                                                        \
	__cb_cat(__cb_chain, __cb_count(__VA_ARGS__))(__cb_step, (src), __VA_ARGS__)
/* The same for user memory (the pointers in the chain are user addresses). */
#define BPF_CORE_READ_USER(src, ...)                                                   \
	__cb_cat(__cb_chain, __cb_count(__VA_ARGS__))(__cb_user_step, (src), __VA_ARGS__)

/* Stores the chain's value in *dst (evaluates to 0, for use in conditions). */
#define BPF_CORE_READ_INTO(dst, src, ...)                                              \
	({                                                                             \
		*(dst) = BPF_CORE_READ(src, __VA_ARGS__);                              \
		0;                                                                     \
	})

/*
 * Copies the string held in an array field into the array `dst`:
 * BPF_CORE_READ_STR_INTO(buf, task, comm). Returns the length copied (with the NUL) or a
 * negative error.
 */
#define BPF_CORE_READ_STR_INTO(dst, src, field)                                        \
	bpf_core_read_str(dst, sizeof(dst), &(src)->field)

#endif /* COREBPF_CORE_READ_H */
