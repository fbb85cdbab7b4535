/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * corebpf/defs.h — section placement, map definitions and common attributes for BPF
 * programs built with corebpf. Include "vmlinux.h" first: every type used here comes from it.
 *
 * Map definitions follow the `.maps` section convention understood by corebpf's loader (and by
 * libbpf): an anonymous struct whose members encode the map's attributes in their types.
 *
 *     struct {
 *         __uint(type, BPF_MAP_TYPE_HASH);
 *         __uint(max_entries, 1024);
 *         __type(key, __u32);
 *         __type(value, struct my_value);
 *     } counts SEC(".maps");
 */
#ifndef COREBPF_DEFS_H
#define COREBPF_DEFS_H

/* Places a program, map or variable in the ELF section that names its kind. */
#define SEC(name) __attribute__((section(name), used))

/* An integer attribute: the number is the length of the pointed-to array type. */
#define __uint(name, val) int (*name)[val]
/* A type attribute (key, value): the member points to the type. */
#define __type(name, val) typeof(val) *name
/* An array of inner maps or programs for map-in-map and program-array maps. */
#define __array(name, val) typeof(val) *name[]

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#ifndef __hidden
#define __hidden __attribute__((visibility("hidden")))
#endif

/* Externs resolved at load time: kernel configuration values and kernel symbols. */
#define __kconfig __attribute__((section(".kconfig")))
#define __ksym __attribute__((section(".ksyms")))
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#define __kptr __attribute__((btf_type_tag("kptr")))
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))

/* Declares the program's license; GPL-only helpers need a GPL-compatible one. */
#define COREBPF_LICENSE(text) char _license[] SEC("license") = text

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
/* Hides a value from the optimizer so the verifier sees the computation as written. */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member)                                          \
	({                                                                       \
		void *__cb_mptr = (void *)(ptr);                                 \
		((type *)(__cb_mptr - offsetof(type, member)));                  \
	})
#endif

#ifndef NULL
#define NULL ((void *)0)
#endif

#endif /* COREBPF_DEFS_H */
