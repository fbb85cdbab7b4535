// Every BTF kind clang emits: bitfields, signed/unsigned enums and enum64, forward
// structs and unions, all modifiers, decl and type tags, variables of each linkage,
// data sections, float, __int128 and _Bool.
typedef unsigned long long u64;
typedef int s32;
enum color { RED, GREEN = 5, BLUE = -1 };
enum big { BIG_A = 0xffffffffffULL, BIG_B = 1 };
enum sbig { SB_A = -0x100000000LL, SB_B = 2 };
struct bits { unsigned int a:3, b:5; int c:7; u64 d; char e[3]; };
union u { int i; float f; double d; };
struct fwd_only;
union fwd_union;
struct __attribute__((packed)) packed { char c; int i; };
struct nested {
	struct bits b;
	union u u;
	struct fwd_only *p;
	union fwd_union *pu;
	const volatile int *cv;
	int *restrict r;
	void (*fn)(int, ...);
	enum color col;
	enum big bg;
	enum sbig sb;
	struct packed pk;
	char arr[4][5];
	__int128 wide;
	_Bool flag;
};
#define __tag1 __attribute__((btf_decl_tag("tag1")))
#define __ttag __attribute__((btf_type_tag("user")))
struct tagged { int x __tag1; int __ttag *up; } __tag1;
int global_var __tag1 = 1;
static volatile int static_var;
extern int extern_var __attribute__((weak));
struct nested gn;
struct tagged gt;
const volatile u64 ro_val = 7;

static __attribute__((noinline)) int helper(int a, struct nested *n) __tag1
{
	return a + (n ? n->b.a + n->wide : 0);
}

int global_func(s32 x) { return x * 2 + static_var; }

__attribute__((section("xdp"), used)) int prog(void *ctx)
{
	static_var++;
	return helper(global_var, &gn) + gt.x + (int)ro_val + global_func(3) + (&extern_var ? extern_var : 0);
}
char _license[] __attribute__((section("license"), used)) = "GPL";
