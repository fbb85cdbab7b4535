// SPDX-License-Identifier: GPL-2.0
/* A user ring buffer consumer: a syscall program, run with BPF_PROG_TEST_RUN, drains the
 * samples user space produced into `user_rb` and records what it saw in .bss. No kernel
 * headers needed.
 *
 * A sample is a `struct urb_sample` header followed by `len` payload bytes; its size as the
 * kernel reports it must be exactly sizeof(header) + len. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define URB_MAX_PAYLOAD 256

struct urb_sample {
	__u32 seq;
	__u32 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 16384);
} user_rb SEC(".maps");

/* What the callback saw, over every drain. */
__u64 samples_seen;
__u64 seq_sum;
__u64 payload_bytes;
__u64 byte_sum;
__u64 bad_samples;
__u64 size_mismatch;
__u32 last_seq;
__u32 last_len;
__u8 last_payload[URB_MAX_PAYLOAD];

/* Per run of the program. */
__u64 drains;
__s64 last_drain_ret;

/* When non-zero, the callback stops the drain after the sample with this sequence number. */
__u32 stop_after_seq;

static long on_sample(struct bpf_dynptr *dynptr, void *ctx)
{
	struct urb_sample h;
	__u8 probe;
	__u32 len, i;
	__u64 sum = 0;

	if (bpf_dynptr_read(&h, sizeof(h), dynptr, 0, 0)) {
		bad_samples++;
		return 0;
	}
	len = h.len;
	if (len > URB_MAX_PAYLOAD) {
		bad_samples++;
		return 0;
	}
	if (bpf_dynptr_read(last_payload, len, dynptr, sizeof(h), 0)) {
		bad_samples++;
		return 0;
	}
	/* The sample must end right after the payload. */
	if (!bpf_dynptr_read(&probe, 1, dynptr, sizeof(h) + len, 0))
		size_mismatch++;
	for (i = 0; i < len && i < URB_MAX_PAYLOAD; i++)
		sum += last_payload[i];
	samples_seen++;
	seq_sum += h.seq;
	payload_bytes += len;
	byte_sum += sum;
	last_seq = h.seq;
	last_len = len;
	if (stop_after_seq && h.seq == stop_after_seq)
		return 1;
	return 0;
}

SEC("syscall")
int drain_user_rb(void *ctx)
{
	long n = bpf_user_ringbuf_drain(&user_rb, on_sample, NULL, 0);

	drains++;
	last_drain_ret = n;
	return n < 0 ? 0 : n;
}

char _license[] SEC("license") = "GPL";
