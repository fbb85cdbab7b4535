#!/bin/sh
# Guest check: BPF programs attached to a function of another loaded BPF program.
# tests/vm/bpf/freplace_target.bpf.c counts, per sync(2), the verdict of its global function
# `decide` (1). With `corebpf run` holding the target attached, this script (run again as the
# held command, argument `inside`) finds the target's id and
#   - calls sync 3 times (verdict 1),
#   - runs freplace.bpf.c (`decide` replaced: verdict 2) with --attach-target id:N around
#     5 syncs,
#   - runs freplace_trace.bpf.c (fentry + fexit on `decide`) around 4 syncs and checks its
#     counters,
#   - calls sync 7 times after both links are gone (verdict 1 again).
# After each step the target's counters (its .bss map, read with `corebpf map dump`) must be
# exactly the verdicts so far, and at exit 14 (3 + 4 + 7) ones and 5 twos. Last, the target
# loaded and pinned on bpffs serves as a `pinned:` target for `corebpf load` and `run`.
set -u
bpf=${FREPLACE_BPF:-/vm/bpf}
value() {
	# value NAME FILE: the number in a `NAME = N` line of corebpf run's output.
	sed -n "s/^$1 = \([0-9-]*\)\$/\1/p" "$2"
}
fail=0
expect() {
	# expect NAME WANT FILE
	if [ "$(value "$1" "$3")" != "$2" ]; then
		echo "$1: expected $2, got '$(value "$1" "$3")' ($3)" >&2
		fail=1
	fi
}
# counters MAP_ID: decided_one, decided_two and decided_other of the target's .bss map, read
# with `corebpf map dump --json` (bpftool's shape: the value as a list of hex bytes).
counters() {
	# shellcheck disable=SC2046
	set -- $(corebpf map dump --json "$1" | sed -n 's/.*"value":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' ' ')
	[ $# -ge 24 ] || { echo "cannot read the counters"; return; }
	out=
	for _ in 1 2 3; do
		v=0
		m=1
		for _ in 1 2 3 4 5 6 7 8; do
			v=$((v + $1 * m))
			m=$((m * 256))
			shift
		done
		out="$out${out:+ }$v"
	done
	echo "$out"
}
# phase NAME MAP_ID WANT: the counters now must be WANT ("ONE TWO OTHER").
phase() {
	got=$(counters "$2")
	echo "after $1: $got"
	if [ "$got" != "$3" ]; then
		echo "after $1: target counters $got, expected $3 (decided_one decided_two decided_other)" >&2
		fail=1
	fi
}
# links_to FILE PROG_ID BTF_ID: how many tracing links listed in FILE (`corebpf link list
# --json`) attach to function BTF_ID of program PROG_ID.
links_to() {
	tr -d ' \n\t' <"$1" | tr '{' '\n' | grep '"type":"tracing"' |
		grep "\"target_obj_id\":$2[,}]" | grep -c "\"target_btf_id\":$3[,}]"
}
# expect_links WHEN FILE PROG_ID BTF_ID WANT
expect_links() {
	got=$(links_to "$2" "$3" "$4")
	echo "$1: $got link(s) to decide"
	if [ "$got" != "$5" ]; then
		echo "$1: $got tracing links to BTF function $4 of program $3, expected $5" >&2
		cat "$2" >&2
		fail=1
	fi
}
syncs() {
	i=0
	while [ $i -lt "$1" ]; do
		sync
		i=$((i + 1))
	done
}

if [ "${1:-}" = inside ]; then
	# The newest tracepoint program named count_sync: the one `corebpf run` just attached.
	id=$(corebpf prog list | sed -n 's/^\([0-9]*\): tracepoint  *name count_sync .*/\1/p' | tail -n 1)
	echo 1 >/tmp/freplace-inside.status
	[ -n "$id" ] || { echo "target program count_sync not found in corebpf prog list" >&2; exit 1; }
	map=$(corebpf map list | sed -n 's/^\([0-9]*\): array  *name freplace\.bss .*/\1/p' | tail -n 1)
	[ -n "$map" ] || { echo "the target's .bss map not found in corebpf map list" >&2; exit 1; }
	# `corebpf load` of the extension (not attached) names the function it resolved.
	corebpf load $bpf/freplace.o --attach-target "id:$id" >/tmp/freplace-load-id.out 2>&1 ||
		{ cat /tmp/freplace-load-id.out >&2; echo "load with --attach-target id:$id failed" >&2; exit 1; }
	btf=$(sed -n "s/.*attach_btf_id \([0-9]*\)  target decide of program count_sync (id $id).*/\1/p" /tmp/freplace-load-id.out)
	[ -n "$btf" ] || { cat /tmp/freplace-load-id.out >&2; echo "corebpf load did not name decide of program $id" >&2; exit 1; }
	echo "target program id $id, .bss map id $map, decide is BTF id $btf"
	syncs 3
	phase "3 syncs" "$map" "3 0 0"
	corebpf run $bpf/freplace.o --attach-target "id:$id" -- sh -c 'sync; sync; sync; sync; sync; corebpf link list --json >/tmp/freplace-links-ext.json' \
		>/tmp/freplace-ext.out 2>&1 || { cat /tmp/freplace-ext.out >&2; echo "freplace run failed" >&2; exit 1; }
	phase "5 syncs with decide replaced" "$map" "3 5 0"
	expect_links "while freplace ran" /tmp/freplace-links-ext.json "$id" "$btf" 1
	corebpf run $bpf/freplace_trace.o --attach-target "id:$id" -- sh -c 'sync; sync; sync; sync; corebpf link list --json >/tmp/freplace-links-trace.json' \
		>/tmp/freplace-trace.out 2>&1 || { cat /tmp/freplace-trace.out >&2; echo "fentry/fexit run failed" >&2; exit 1; }
	cat /tmp/freplace-trace.out
	expect decide_entries 4 /tmp/freplace-trace.out
	expect decide_exits 4 /tmp/freplace-trace.out
	expect last_verdict 1 /tmp/freplace-trace.out
	[ "$(value last_tgid /tmp/freplace-trace.out)" -gt 1 ] 2>/dev/null ||
		{ echo "fentry did not see decide's argument (last_tgid)" >&2; fail=1; }
	phase "4 syncs traced by fentry/fexit" "$map" "7 5 0"
	expect_links "while fentry/fexit ran" /tmp/freplace-links-trace.json "$id" "$btf" 2
	corebpf link list --json >/tmp/freplace-links-after.json
	expect_links "after both runs" /tmp/freplace-links-after.json "$id" "$btf" 0
	syncs 7
	phase "7 more syncs, no extension" "$map" "14 5 0"
	echo $fail >/tmp/freplace-inside.status
	exit $fail
fi

corebpf run $bpf/freplace_target.o -- sh "$0" inside >/tmp/freplace-target.out 2>&1
rc=$?
cat /tmp/freplace-target.out
[ $rc = 0 ] || { echo "corebpf run of the target failed (status $rc)" >&2; fail=1; }
[ "$(cat /tmp/freplace-inside.status 2>/dev/null)" = 0 ] ||
	{ echo "the checks inside the target's run failed (see above)" >&2; fail=1; }
expect decided_one 14 /tmp/freplace-target.out
expect decided_two 5 /tmp/freplace-target.out
expect decided_other 0 /tmp/freplace-target.out

# A pinned target: loaded and pinned (not attached), then named by path.
pins=/sys/fs/bpf/freplace-target
corebpf load $bpf/freplace_target.o --pin $pins >/tmp/freplace-pin.out 2>&1 ||
	{ cat /tmp/freplace-pin.out >&2; echo "load --pin of the target failed" >&2; fail=1; }
corebpf load $bpf/freplace.o --attach-target "pinned:$pins/count_sync" >/tmp/freplace-load.out 2>&1 ||
	{ cat /tmp/freplace-load.out >&2; fail=1; }
cat /tmp/freplace-load.out
grep -q 'target decide of program count_sync' /tmp/freplace-load.out ||
	{ echo "corebpf load did not name the target function" >&2; fail=1; }
corebpf run $bpf/freplace.o --attach-target "$pins/count_sync" -- true >/tmp/freplace-run-pinned.out 2>&1 ||
	{ cat /tmp/freplace-run-pinned.out >&2; echo "run with a pinned target failed" >&2; fail=1; }
rm -rf $pins
exit $fail
