/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* C declarations that exercise every corner of the BTF -> C conversion. clang -g -target bpf
 * turns them into BTF; the header generated from that BTF must compile and reproduce every
 * size and offset. */

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

/* Forward declarations in a pointer cycle, and one struct embedding the other by value. */
struct cyc_b;
struct cyc_a {
	struct cyc_b *b;
	int x;
};
struct cyc_b {
	struct cyc_a *a;
	struct cyc_a embedded;
	struct cyc_b *self;
};

/* Bitfields of several widths and base types, straddling and filling units. */
struct bits {
	unsigned int a : 3;
	unsigned int b : 5;
	int c : 20;
	unsigned long long d : 40;
	char e;
	unsigned short f : 9;
	u64 g : 1;
	long long h : 63;
	u8 tail : 2;
};

/* Packed structs, one holding a bitfield that crosses an int boundary, and a natural struct
 * embedding a packed one at an odd offset. */
struct packed_s {
	char c;
	long l;
	short s;
} __attribute__((packed));

struct packed_bits {
	char c;
	unsigned int x : 20;
	unsigned int y : 20;
} __attribute__((packed));

struct packed_outer {
	char c;
	struct packed_s p;
	int x;
	struct packed_bits pb;
};

/* Anonymous nested unions and structs, named anonymous members, anonymous enum member. */
struct nested {
	int kind;
	union {
		struct {
			int a, b;
		} ab;
		struct {
			long c;
			short d;
		};
		unsigned long long raw;
		union {
			char bytes[12];
			u32 words[3];
		};
	};
	struct {
		union {
			int i;
			float f;
		};
		enum {
			NESTED_RED = 1,
			NESTED_BLUE = 2,
		} color;
	} inner;
	struct {
		struct {
			char deep;
		} *ptr_to_anon;
	} holder;
};

/* Enums: 64-bit values, packed (1- and 2-byte), negative values, signed 64-bit. */
enum e64 {
	E64_A = 1,
	E64_BIG = 0x1234567890ULL,
	E64_MAX = 0xffffffffffffffffULL,
};

enum e64s {
	E64S_NEG = -0x100000000LL,
	E64S_POS = 5,
};

enum __attribute__((packed)) e8 {
	E8_A = 1,
	E8_B = 200,
};

enum __attribute__((packed)) e16 {
	E16_A = 1,
	E16_B = 0x1234,
};

enum neg {
	NEG_A = -5,
	NEG_B = 7,
};

struct enum_holder {
	enum e8 small;
	enum e16 mid;
	enum e64 wide;
	enum e64s wide_signed;
	enum neg n;
	enum e8 arr[3];
};

/* Function pointers: typedef'd, with varargs, in arrays, returning pointers to arrays, and
 * taking other function pointers. */
typedef int (*handler_t)(void *ctx, const char *name, ...);
typedef void fn_t(int);

struct fnptrs {
	handler_t h;
	void (*cb)(int, struct cyc_a *);
	int (*table[4])(long);
	int (*(*getter)(void))[3];
	void (*(*register_cb)(int, void (*)(int)))(int);
	fn_t *plain;
	const char *const *names;
	volatile int *restrict vp;
	const volatile u64 cv;
	char *strs[2][3];
	int m[3][4][5];
};

/* Alignment: over-aligned members and structs, a union bigger than its members. */
struct aligned_member {
	char c;
	int x __attribute__((aligned(16)));
	char after;
};

struct cacheline {
	int a;
} __attribute__((aligned(64)));

struct uses_cacheline {
	char c;
	struct cacheline cl;
	struct cacheline pair[2];
	char tail;
};

union big_union {
	char c[6];
} __attribute__((aligned(8)));

union huge_union {
	char c[3];
	short s;
} __attribute__((aligned(32)));

struct holds_unions {
	char c;
	union big_union b;
	union huge_union h;
};

/* 128-bit integers, floats, flexible array member, zero-size arrays. */
struct wide {
	char c;
	__int128 big;
	unsigned __int128 ubig;
	double d;
	float f;
};

struct flex {
	u32 len;
	u8 data[];
};

struct zero_len {
	u64 head;
	char pad[0];
};

/* A typedef of an anonymous struct, and a typedef chain. */
typedef struct {
	u32 lo, hi;
} pair_t;
typedef pair_t pair2_t;
typedef const pair2_t cpair_t;

struct uses_typedefs {
	pair_t p;
	pair2_t q;
	cpair_t *r;
	handler_t hs[2];
};

/* Type tags on pointers (the kernel's __user, __rcu, ...). */
#define __tag_user __attribute__((btf_type_tag("user")))
#define __tag_rcu __attribute__((btf_type_tag("rcu")))

struct tagged {
	int __tag_user *uptr;
	struct cyc_a __tag_rcu *rcu_ptr;
	char __tag_user *__tag_rcu *both;
};

struct cyc_b g_cyc_b;
struct bits g_bits;
struct packed_outer g_packed_outer;
struct nested g_nested;
struct enum_holder g_enum_holder;
struct fnptrs g_fnptrs;
struct aligned_member g_aligned_member;
struct uses_cacheline g_uses_cacheline;
struct holds_unions g_holds_unions;
struct wide g_wide;
struct flex g_flex;
struct zero_len g_zero_len;
struct uses_typedefs g_uses_typedefs;
struct tagged g_tagged;

int edge_func(struct fnptrs *f, enum e64 e)
{
	return f->m[1][2][3] + (int)e;
}
