// SPDX-License-Identifier: GPL-2.0
/*
 * libbpf reference for corebpf's link stage.
 *
 * usage: oracle [-b TARGET_BTF] [-k KCONFIG_FILE] [-n ITERS] OBJ...
 *
 * Opens and loads every object with libbpf (libbpf-dev 1.1). This executable defines
 * syscall(), so libbpf's bpf() calls come here: map creation, BTF loading and feature
 * probes go to the kernel; a program load is not passed on — its attributes (instructions,
 * func_info, line_info, the maps behind LD imm64 fds) are printed and a placeholder fd is
 * returned, so every program of the object "loads" and nothing program-related stays in
 * the kernel. Output per object:
 *   @@open PATH
 *   @@order NAME | @@skip NAME   programs in load order (skip: type unknown to libbpf 1.1)
 *   @@object PATH OK|ERR  (after the object's records)
 *   @@prog NAME TYPE EXPECTED_ATTACH INSN_CNT ATTACH_BTF_ID
 *   i IDX HEX16            one per instruction slot (raw bytes, host order)
 *   m IDX MAPNAME          LD imm64 slot whose fd is map MAPNAME
 *   f INSN_OFF TYPE_ID     func_info
 *   l INSN_OFF FILE LINE LINE_COL   line_info
 *   @@map NAME TYPE KEY VALUE MAX FLAGS BTF_KEY BTF_VALUE
 *   @@value NAME HEX       initial value written to key 0 of an internal map
 * With -n ITERS, it prints nothing but timing: each round opens and loads every object once;
 * the user-space time of a round is its wall time minus the time spent in bpf() syscalls
 * that reached the kernel (maps, BTF, feature probes; program loads never do).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>

#define MAX_FD 4096
static char fd_map_name[MAX_FD][BPF_OBJ_NAME_LEN];
static unsigned fd_value_size[MAX_FD];
static int quiet_mode;
static unsigned long long kernel_ns; /* in bpf() syscalls passed to the kernel */
static long (*real_syscall)(long, ...);

static unsigned long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static unsigned char fake_fd[MAX_FD];

static long fake_prog_load(union bpf_attr *a)
{
	const struct bpf_insn *insns = (const void *)(unsigned long)a->insns;
	if (!quiet_mode) {
		printf("@@prog %.*s %u %u %u %u\n", BPF_OBJ_NAME_LEN, a->prog_name, a->prog_type,
		       a->expected_attach_type, a->insn_cnt, a->attach_btf_id);
		for (unsigned i = 0; i < a->insn_cnt; i++) {
			printf("i %u ", i);
			hex((const void *)&insns[i], sizeof(insns[i]));
			printf("\n");
		}
		for (unsigned i = 0; i + 1 < a->insn_cnt; i++) {
			const struct bpf_insn *in = &insns[i];
			if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
				continue;
			if ((in->src_reg == BPF_PSEUDO_MAP_FD || in->src_reg == BPF_PSEUDO_MAP_VALUE) &&
			    in->imm >= 0 && in->imm < MAX_FD)
				printf("m %u %s\n", i, fd_map_name[in->imm]);
			i++;
		}
		const char *fi = (const void *)(unsigned long)a->func_info;
		for (unsigned i = 0; fi && i < a->func_info_cnt; i++) {
			const struct bpf_func_info *r = (const void *)(fi + i * a->func_info_rec_size);
			printf("f %u %u\n", r->insn_off, r->type_id);
		}
		const char *li = (const void *)(unsigned long)a->line_info;
		for (unsigned i = 0; li && i < a->line_info_cnt; i++) {
			const struct bpf_line_info *r = (const void *)(li + i * a->line_info_rec_size);
			printf("l %u %u %u %u\n", r->insn_off, r->file_name_off, r->line_off,
			       r->line_col);
		}
	}
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fd < MAX_FD)
		fake_fd[fd] = 1;
	return fd;
}

long syscall(long nr, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr != __NR_bpf)
		return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	int cmd = (int)a[0];
	union bpf_attr *attr = (void *)a[1];
	/* Only program loads of the object carry a name; feature probes pass none or "test". */
	if (cmd == BPF_PROG_LOAD && attr->prog_name[0] && strcmp(attr->prog_name, "test") &&
	    strcmp(attr->prog_name, "libbpf_nametest"))
		return fake_prog_load(attr);
	if (cmd == BPF_PROG_BIND_MAP)
		return 0;
	/* A program array slot set to one of the placeholder program fds. */
	if (cmd == BPF_MAP_UPDATE_ELEM && attr->value) {
		int v = *(const int *)(unsigned long)attr->value;
		if (attr->map_fd < MAX_FD && fd_value_size[attr->map_fd] == 4 && v > 0 &&
		    v < MAX_FD && fake_fd[v])
			return 0;
	}

	unsigned long long t0 = now_ns();
	long r = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	kernel_ns += now_ns() - t0;
	if (cmd == BPF_MAP_CREATE && r >= 0 && r < MAX_FD) {
		snprintf(fd_map_name[r], BPF_OBJ_NAME_LEN, "%s", attr->map_name);
		fd_value_size[r] = attr->value_size;
		if (!quiet_mode)
			printf("@@map %s %u %u %u %u %u %u %u\n", fd_map_name[r], attr->map_type,
			       attr->key_size, attr->value_size, attr->max_entries, attr->map_flags,
			       attr->btf_key_type_id, attr->btf_value_type_id);
	}
	if (cmd == BPF_MAP_UPDATE_ELEM && !quiet_mode && attr->map_fd < MAX_FD) {
		const unsigned *key = (const void *)(unsigned long)attr->key;
		if (key && *key == 0 && fd_map_name[attr->map_fd][0]) {
			printf("@@value %s ", fd_map_name[attr->map_fd]);
			hex((const void *)(unsigned long)attr->value, fd_value_size[attr->map_fd]);
			printf("\n");
		}
	}
	return r;
}

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN && !quiet_mode && getenv("ORACLE_VERBOSE"))
		return vfprintf(stderr, fmt, args);
	return 0;
}

int main(int argc, char **argv)
{
	const char *btf_path = NULL, *kconfig_path = NULL;
	char *kconfig = NULL;
	int iters = 0, opt;
	while ((opt = getopt(argc, argv, "b:k:n:")) != -1) {
		switch (opt) {
		case 'b': btf_path = optarg; break;
		case 'k': kconfig_path = optarg; break;
		case 'n': iters = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-b BTF] [-k KCONFIG] [-n ITERS] OBJ...\n", argv[0]);
			return 2;
		}
	}
	if (kconfig_path) {
		FILE *f = fopen(kconfig_path, "r");
		if (!f) { perror(kconfig_path); return 2; }
		size_t cap = 1 << 20, n = 0;
		kconfig = malloc(cap);
		n = fread(kconfig, 1, cap - 1, f);
		kconfig[n] = 0;
		fclose(f);
	}
	libbpf_set_print(print_fn);
	quiet_mode = iters > 0;
	int rounds = iters > 0 ? iters : 1;
	unsigned long long *user = calloc(rounds, sizeof(*user));
	for (int it = 0; it < rounds; it++) {
		unsigned long long r0 = now_ns();
		kernel_ns = 0;
		for (int i = optind; i < argc; i++) {
			LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = btf_path,
				    .kconfig = kconfig);
			struct bpf_object *obj = bpf_object__open_file(argv[i], &oo);
			if (!obj) {
				if (!quiet_mode)
					printf("@@object %s ERR open\n", argv[i]);
				continue;
			}
			struct bpf_program *p;
			if (!quiet_mode)
				printf("@@open %s\n", argv[i]);
			bpf_object__for_each_program(p, obj) {
				/* Section names newer than this libbpf (tcx/...) have no type. */
				if (bpf_program__type(p) == BPF_PROG_TYPE_UNSPEC) {
					bpf_program__set_autoload(p, false);
					if (!quiet_mode)
						printf("@@skip %s\n", bpf_program__name(p));
				} else if (!quiet_mode) {
					printf("@@order %s\n", bpf_program__name(p));
				}
			}
			/* Pinned maps are created fresh and not pinned: the oracle leaves nothing behind
			 * and does not pick up maps pinned by others. */
			struct bpf_map *m;
			bpf_object__for_each_map(m, obj)
				if (bpf_map__pin_path(m))
					bpf_map__set_pin_path(m, NULL);
			int err = bpf_object__load(obj);
			if (!quiet_mode)
				printf("@@object %s %s %d\n", argv[i], err ? "ERR" : "OK", err);
			bpf_object__close(obj);
		}
		user[it] = now_ns() - r0 - kernel_ns;
	}
	if (quiet_mode) {
		/* User-space time per round (all objects once), bpf() syscalls excluded. */
		for (int i = 1; i < rounds; i++)
			for (int j = i; j > 0 && user[j - 1] > user[j]; j--) {
				unsigned long long t = user[j];
				user[j] = user[j - 1];
				user[j - 1] = t;
			}
		printf("rounds %d user_ns_min %llu user_ns_median %llu\n", rounds, user[0],
		       user[rounds / 2]);
	}
	free(user);
	fflush(stdout);
	return 0;
}
