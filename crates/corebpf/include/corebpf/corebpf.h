/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * corebpf/corebpf.h — markers `corebpf run` reads from a program's BTF, and histogram helpers.
 *
 * COREBPF_EVENT(map, type)
 *     Names the C type of the records a ring buffer or perf event array map carries, so the
 *     runner decodes and prints each record by its BTF fields. It defines a variable
 *     `__corebpf_event__<map>` of type `type *` in the `.corebpf.meta` section; the section
 *     holds only such markers and is never loaded into the kernel.
 *
 * COREBPF_HIST_LOG2(name, slots)
 *     An array map `name` of `slots` u64 counters (u32 keys) whose value type is the typedef
 *     `corebpf_hist_log2_slot`: slot i counts values v with 2^(i-1) <= v < 2^i (slot 0: v = 0).
 *     Add with corebpf_hist_log2_add(name, v). The runner prints it as a log2 histogram.
 *
 * COREBPF_HIST_LINEAR(name, min, step, slots)
 *     An array map `name` of `slots` u64 counters with value type `corebpf_hist_linear_slot`:
 *     slot i counts values in [min + i*step, min + (i+1)*step); values below `min` go to slot 0,
 *     values past the end to the last slot. `min` and `step` are recorded in the marker
 *     variable `__corebpf_hist__<name>` in `.corebpf.meta` (as the lengths of the array types
 *     its members point to; both must be non-negative, `step` positive).
 *     Add with corebpf_hist_linear_add(name, v).
 */
#ifndef COREBPF_COREBPF_H
#define COREBPF_COREBPF_H

#define COREBPF_META_SEC ".corebpf.meta"

#define COREBPF_EVENT(map, type)                                                         \
	typeof(type) *__corebpf_event__##map __attribute__((section(COREBPF_META_SEC), used))

typedef __u64 corebpf_hist_log2_slot;
typedef __u64 corebpf_hist_linear_slot;

#define COREBPF_HIST_LOG2(name, slots)                                                   \
	struct {                                                                         \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                        \
		__uint(max_entries, slots);                                              \
		__type(key, __u32);                                                      \
		__type(value, corebpf_hist_log2_slot);                                   \
	} name SEC(".maps")

#define COREBPF_HIST_LINEAR(name, lo, width, count)                                      \
	struct {                                                                         \
		__uint(min, lo);                                                         \
		__uint(step, width);                                                     \
		__uint(slots, count);                                                    \
	} __corebpf_hist__##name __attribute__((section(COREBPF_META_SEC), used));      \
	struct {                                                                         \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                        \
		__uint(max_entries, count);                                              \
		__type(key, __u32);                                                      \
		__type(value, corebpf_hist_linear_slot);                                 \
	} name SEC(".maps")

/* floor(log2(v)) for v > 0, 0 for v = 0, without loops (the verifier sees straight code). */
static __always_inline __u32 corebpf_log2(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 corebpf_log2l(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return corebpf_log2(hi) + 32;
	return corebpf_log2((__u32)v);
}

/* The log2 histogram slot of `v`: 0 for 0, else floor(log2(v)) + 1, clamped to slots - 1. */
static __always_inline __u32 corebpf_hist_log2_slot_of(__u64 v, __u32 slots)
{
	__u32 slot = v ? corebpf_log2l(v) + 1 : 0;

	return slot < slots ? slot : slots - 1;
}

#define corebpf_hist_log2_add(map, v)                                                    \
	({                                                                               \
		__u32 __cb_key = corebpf_hist_log2_slot_of(                              \
			(v), sizeof(*(map).max_entries) / sizeof((*(map).max_entries)[0])); \
		__u64 *__cb_cnt = bpf_map_lookup_elem(&(map), &__cb_key);                \
		if (__cb_cnt)                                                            \
			__sync_fetch_and_add(__cb_cnt, 1);                               \
	})

#define corebpf_hist_linear_add(map, v)                                                  \
	({                                                                               \
		__u64 __cb_min = sizeof(*__corebpf_hist__##map.min) /                    \
				 sizeof((*__corebpf_hist__##map.min)[0]);                 \
		__u64 __cb_step = sizeof(*__corebpf_hist__##map.step) /                  \
				  sizeof((*__corebpf_hist__##map.step)[0]);               \
		__u64 __cb_n = sizeof(*__corebpf_hist__##map.slots) /                    \
			       sizeof((*__corebpf_hist__##map.slots)[0]);                 \
		__u64 __cb_v = (v);                                                      \
		__u32 __cb_key = __cb_v < __cb_min ? 0 : (__cb_v - __cb_min) / __cb_step; \
		if (__cb_key >= __cb_n)                                                  \
			__cb_key = __cb_n - 1;                                           \
		__u64 *__cb_cnt = bpf_map_lookup_elem(&(map), &__cb_key);                \
		if (__cb_cnt)                                                            \
			__sync_fetch_and_add(__cb_cnt, 1);                               \
	})

#endif /* COREBPF_COREBPF_H */
