#!/bin/sh
# Guest check: the kprobe family of tests/vm/bpf/kprobes.bpf.c attached with `corebpf run`
# around a command whose effects are known, then the counters it prints: one unlink that
# succeeds (of /tmp/kprobe-victim) and one that fails with ENOENT (kprobe, kretprobe and a
# kprobe at an offset on do_unlinkat), and `kill -28 123456`, whose arguments the ksyscall
# program must see and whose ESRCH the kretsyscall program must see. Then the host-built
# tests/bpf/kprobe_regs.bpf.c (registers through PT_REGS_*) around one failing unlink: its
# percpu array must hold AT_FDCWD as do_unlinkat's first argument, ENOENT as its return
# value, an instruction pointer at do_unlinkat (/proc/kallsyms) and a frame pointer just
# above the stack pointer. No program or link may be left behind.
set -u
fail=0
bad() {
	echo "$*" >&2
	fail=1
}
check() { # NAME EXPECTED OUTPUT
	got=$(echo "$3" | sed -n "s/^$1 = \(-\{0,1\}[0-9]*\)\$/\1/p")
	[ "$got" = "$2" ] || bad "$1: expected $2, got '$got'"
}
progs_before=$(corebpf prog list | wc -l)
links_before=$(corebpf link list | wc -l)

touch /tmp/kprobe-victim
out=$(corebpf run /vm/bpf/kprobes.o -- sh -c \
	'rm /tmp/kprobe-victim; unlink /tmp/no-such-file; kill -28 123456; true') || {
	echo "corebpf run failed" >&2
	exit 1
}
echo "$out"
check unlink_calls 2 "$out"
check unlink_at_cwd 2 "$out"
check unlink_victim 1 "$out"
check unlink_returns 2 "$out"
check unlink_failed 1 "$out"
check unlink_last_error -2 "$out"
check unlink_offset_calls 2 "$out"
check kill_marked 1 "$out"
check kill_sig 28 "$out"
check kill_ret -3 "$out"
[ -e /tmp/kprobe-victim ] && bad "/tmp/kprobe-victim was not removed"

out=$(corebpf run /objects/kprobe_regs.v3.o -- sh -c 'unlink /tmp/no-such-file; true') || {
	echo "corebpf run of kprobe_regs.v3.o failed" >&2
	exit 1
}
echo "$out"
# Slot 0 (kprobe): a[0] is dfd, an int sign-extended to 64 bits; slot 1 (kretprobe): ret is
# the whole return register, whose low half holds do_unlinkat's int -2.
slot0=$(echo "$out" | sed -n 's/^ *0: \[{"a":\[\([0-9]*\),.*"sp":\([0-9]*\),"ip":\([0-9]*\),"fp":\([0-9]*\),"facts":\([0-9]*\)}\]$/\1 \2 \3 \4 \5/p')
slot1_ret=$(echo "$out" | sed -n 's/^ *1: \[{.*"ret":\([0-9]*\),.*$/\1/p')
set -- $slot0
if [ $# -ne 5 ]; then
	bad "kprobe_regs: slot 0 not found in the output"
else
	[ "$1" = 18446744073709551516 ] || bad "kprobe_regs: dfd $1, expected AT_FDCWD (-100 as u64)"
	sp=$(printf '%016x' "$2")
	ip=$(printf '%016x' "$3")
	fp=$(printf '%016x' "$4")
	func=$(sed -n 's/^\([0-9a-f]*\) [tT] do_unlinkat$/\1/p' /proc/kallsyms | head -n1)
	# Compare within the low 32 bits (the high halves must be equal): busybox sh arithmetic
	# is signed 64-bit.
	low() { echo $((0x$(echo "$1" | cut -c9-16))); }
	high() { echo "$1" | cut -c1-8; }
	[ -n "$func" ] || bad "do_unlinkat not in /proc/kallsyms"
	if [ -n "$func" ]; then
		d=$(($(low "$ip") - $(low "$func")))
		[ "$(high "$ip")" = "$(high "$func")" ] && [ "$d" -ge 0 ] && [ "$d" -le 16 ] ||
			bad "kprobe_regs: ip $ip is not at do_unlinkat ($func)"
	fi
	d=$(($(low "$fp") - $(low "$sp")))
	[ "$(high "$fp")" = "$(high "$sp")" ] && [ "$d" -gt 0 ] && [ "$d" -lt 16384 ] ||
		bad "kprobe_regs: fp $fp is not just above sp $sp"
	# LINUX_KERNEL_VERSION (uname -r, as libbpf reads it) + CONFIG_HZ + CONFIG_NR_CPUS +
	# CONFIG_IPV6 (y = 1, m = 2) + an option no kernel has (0).
	rel=$(uname -r)
	maj=${rel%%.*}
	rest=${rel#*.}
	min=${rest%%.*}
	rest=${rest#*.}
	sub=$(echo "$rest" | sed 's/[^0-9].*//')
	[ "$sub" -gt 255 ] && sub=255
	cfg=/boot/config-$rel
	hz=$(sed -n 's/^CONFIG_HZ=//p' "$cfg")
	cpus=$(sed -n 's/^CONFIG_NR_CPUS=//p' "$cfg")
	case $(sed -n 's/^CONFIG_IPV6=//p' "$cfg") in y) v6=1 ;; m) v6=2 ;; *) v6=0 ;; esac
	want=$((maj * 65536 + min * 256 + sub + hz + cpus + v6))
	[ "$5" = "$want" ] || bad "kprobe_regs: facts $5, expected $want"
fi
[ "$slot1_ret" = 4294967294 ] || bad "kprobe_regs: ret '$slot1_ret', expected 4294967294 (int -2)"

[ "$(corebpf prog list | wc -l)" = "$progs_before" ] || bad "programs left behind: $(corebpf prog list)"
[ "$(corebpf link list | wc -l)" = "$links_before" ] || bad "links left behind: $(corebpf link list)"
exit $fail
