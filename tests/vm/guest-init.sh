#!/bin/busybox sh
# /init of the test guest: mount the kernel file systems, run guest-tests.sh, report on the
# serial console between @@COREBPF-VM markers, copy files out on the second serial port, and
# power off. Every result line starts with "@@COREBPF-VM ".

/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin
export HOME=/root
mkdir -p /proc /sys /dev /tmp /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

PASS=0
FAIL=0
STEP_TIMEOUT=${STEP_TIMEOUT:-120}

mark() {
	echo "@@COREBPF-VM $*"
}

# t NAME COMMAND [ARGS...]: run one guest test; its standard output is kept in /tmp/NAME.out
# and summarised (size, sha256) so the host can compare it with an oracle's output.
t() {
	local name=$1
	shift
	local start end rc
	start=$(cut -d' ' -f1 /proc/uptime)
	timeout "$STEP_TIMEOUT" "$@" >"/tmp/$name.out" 2>"/tmp/$name.err"
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	local sum size
	sum=$(sha256sum <"/tmp/$name.out" | cut -d' ' -f1)
	size=$(wc -c <"/tmp/$name.out")
	if [ $rc = 0 ]; then
		PASS=$((PASS + 1))
		mark "TEST $name PASS rc=0 start=$start end=$end stdout_bytes=$size stdout_sha256=$sum"
	else
		FAIL=$((FAIL + 1))
		mark "TEST $name FAIL rc=$rc start=$start end=$end stdout_bytes=$size stdout_sha256=$sum"
		echo "--- $name: $*"
		tail -n 20 "/tmp/$name.out" | sed 's/^/| /'
		tail -n 40 "/tmp/$name.err" | sed 's/^/! /'
	fi
}

# send NAME PATH: copy a file to the host over the second serial port (gzip + base64).
send() {
	local name=$1 path=$2
	if [ ! -r "$path" ]; then
		FAIL=$((FAIL + 1))
		mark "TEST send-$name FAIL rc=1 missing $path"
		return
	fi
	local sum size
	sum=$(sha256sum <"$path" | cut -d' ' -f1)
	size=$(wc -c <"$path")
	{
		echo "@@COREBPF-FILE BEGIN $name"
		gzip -c -1 <"$path" | base64
		echo "@@COREBPF-FILE END $name"
	} >/dev/ttyS1
	mark "FILE $name bytes=$size sha256=$sum"
}

stty -F /dev/ttyS1 raw -echo 2>/dev/null
mark "BEGIN kernel=$(uname -r) arch=$(uname -m) uptime=$(cut -d' ' -f1 /proc/uptime)"
. /vm/guest-tests.sh
mark "END pass=$PASS fail=$FAIL uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
