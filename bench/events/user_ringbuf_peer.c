// SPDX-License-Identifier: GPL-2.0
/* The libbpf side of bench/events/user_ringbuf.sh: produce N samples of SIZE bytes into the
 * user ring buffer of tests/bpf/user_ringbuf.bpf.c with user_ring_buffer__reserve/submit,
 * draining with BPF_PROG_TEST_RUN of its syscall program whenever the ring is full.
 * Prints the producer's cost per sample (time outside the drains) and the drain count.
 *
 * usage: user_ringbuf_peer OBJECT N SIZE */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t drain(int prog_fd, uint64_t *in_drain)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint64_t t0 = now_ns();

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		exit(1);
	}
	*in_drain += now_ns() - t0;
	return opts.retval;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct user_ring_buffer *rb;
	uint64_t n, i, drained = 0, drains = 0, in_drain = 0, t0, total;
	uint32_t size, payload;
	int prog_fd, map_fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s OBJECT N SIZE\n", argv[0]);
		return 2;
	}
	n = strtoull(argv[2], NULL, 10);
	size = strtoul(argv[3], NULL, 10);
	if (size < 8 || size > 8 + 256) {
		fprintf(stderr, "SIZE must be 8..264\n");
		return 2;
	}
	payload = size - 8;
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "drain_user_rb"));
	map_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "user_rb"));
	rb = user_ring_buffer__new(map_fd, NULL);
	if (!rb) {
		fprintf(stderr, "user_ring_buffer__new: %s\n", strerror(errno));
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		uint32_t *s = user_ring_buffer__reserve(rb, size);

		if (!s) {
			drained += drain(prog_fd, &in_drain);
			drains++;
			s = user_ring_buffer__reserve(rb, size);
			if (!s) {
				fprintf(stderr, "no room after a drain\n");
				return 1;
			}
		}
		s[0] = (uint32_t)i;
		s[1] = payload;
		memset(s + 2, (int)(i & 0xff), payload);
		user_ring_buffer__submit(rb, s);
	}
	drained += drain(prog_fd, &in_drain);
	drains++;
	total = now_ns() - t0;
	if (drained != n) {
		fprintf(stderr, "the BPF side drained %llu of %llu samples\n",
			(unsigned long long)drained, (unsigned long long)n);
		return 1;
	}
	printf("libbpf: %llu samples of %u bytes, drained=%llu in %llu drains, producer: %.1f ns/sample, "
	       "drain: %.1f ns/sample, total %.3f M samples/s\n",
	       (unsigned long long)n, size, (unsigned long long)drained, (unsigned long long)drains,
	       (double)(total - in_drain) / n, (double)in_drain / n, n * 1e3 / total);
	user_ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
