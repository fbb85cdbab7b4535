#!/bin/sh
# Guest check: attach the trampoline programs of tests/vm/bpf/trampoline.bpf.c with
# `corebpf run` around a command whose effects are known, then check the counters it prints:
# one unlink that succeeds and one that fails (fentry + fexit on do_unlinkat), one exec as
# uid 65534 that the LSM program denies, the exec tracepoint (tp_btf) and the task_alloc
# fmod_ret program seeing the shell's forks.
set -u
mkdir -p /etc
echo 'root:x:0:0:root:/root:/bin/sh' >>/etc/passwd
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
echo 'nogroup:x:65534:' >>/etc/group
touch /tmp/victim
out=$(corebpf run /vm/bpf/trampoline.o -- sh -c \
	'rm /tmp/victim; unlink /tmp/no-such-file; su -s /bin/true nobody; true') || {
	echo "corebpf run failed"
	exit 1
}
echo "$out"
value() {
	echo "$out" | sed -n "s/^$1 = \([0-9]*\)\$/\1/p"
}
fail=0
expect() {
	if [ "$(value "$1")" != "$2" ]; then
		echo "$1: expected $2, got '$(value "$1")'" >&2
		fail=1
	fi
}
expect unlink_calls 2
expect unlink_failed 1
expect denied_execs 1
[ -e /tmp/victim ] && { echo "/tmp/victim was not removed" >&2; fail=1; }
[ "$(value last_exec_pid)" -gt 1 ] 2>/dev/null || { echo "last_exec_pid not set" >&2; fail=1; }
[ "$(value forks)" -ge 1 ] 2>/dev/null || { echo "no fork seen by fmod_ret/security_task_alloc" >&2; fail=1; }
exit $fail
