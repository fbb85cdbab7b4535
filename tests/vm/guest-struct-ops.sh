#!/bin/sh
# Guest check: register the BPF TCP congestion control of tests/vm/bpf/struct_ops_cc.bpf.c
# (a Reno clone named corebpf_reno) with `corebpf run` around a command that makes it the
# default, fetches 4 MiB over loopback and restores the default; then check that it was listed
# in tcp_available_congestion_control while the run lasted, that its callbacks ran (init on
# each connection, cong_avoid on ACKs) and that it is gone once the run has ended.
set -u
avail=/proc/sys/net/ipv4/tcp_available_congestion_control
default=/proc/sys/net/ipv4/tcp_congestion_control
fail=0
ip link set lo up || ifconfig lo 127.0.0.1 up
mkdir -p /tmp/www
dd if=/dev/zero of=/tmp/www/big bs=65536 count=64 2>/dev/null
httpd -f -p 127.0.0.1:8080 -h /tmp/www &
httpd=$!
sleep 1
if grep -qw corebpf_reno $avail; then
	echo "corebpf_reno is registered before the run: $(cat $avail)" >&2
	fail=1
fi
prev=$(cat $default)
rm -f /tmp/cc-during /tmp/cc-fetched
out=$(corebpf run /vm/bpf/struct_ops_cc.o -- sh -c "
	cat $avail >/tmp/cc-during
	echo corebpf_reno >$default &&
		wget -q -O /tmp/fetched http://127.0.0.1:8080/big &&
		cmp -s /tmp/fetched /tmp/www/big && echo ok >/tmp/cc-fetched
	echo $prev >$default") || {
	echo "corebpf run failed" >&2
	kill $httpd
	exit 1
}
kill $httpd
echo "$out"
value() {
	echo "$out" | sed -n "s/^$1 = \([0-9]*\)\$/\1/p"
}
echo "during the run: $(cat /tmp/cc-during)"
grep -qw corebpf_reno /tmp/cc-during || { echo "corebpf_reno was not registered during the run" >&2; fail=1; }
[ -e /tmp/cc-fetched ] || { echo "the 4 MiB fetch with corebpf_reno failed" >&2; fail=1; }
[ "$(value init_calls)" -ge 1 ] 2>/dev/null || { echo "init never ran" >&2; fail=1; }
[ "$(value cong_avoid_calls)" -ge 1 ] 2>/dev/null || { echo "cong_avoid never ran" >&2; fail=1; }
if grep -qw corebpf_reno $avail; then
	echo "corebpf_reno still registered after the run: $(cat $avail)" >&2
	fail=1
fi
[ "$(cat $default)" = "$prev" ] || { echo "default congestion control not restored" >&2; fail=1; }
echo "after the run: $(cat $avail)"
exit $fail
