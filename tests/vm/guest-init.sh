#!/bin/busybox sh
# /init of the test guest: mount the kernel file systems, run guest-tests.sh, report on the
# serial console between @@COREBPF-VM markers, copy files out (virtio disk, or the second
# serial port), and power off. Every result line starts with "@@COREBPF-VM ".

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
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null

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

# tfail NAME TEXT COMMAND [ARGS...]: COMMAND must fail, naming the reason (TEXT) on stderr.
tfail() {
	local name=$1 text=$2
	shift 2
	local start end rc
	start=$(cut -d' ' -f1 /proc/uptime)
	timeout "$STEP_TIMEOUT" "$@" >"/tmp/$name.out" 2>"/tmp/$name.err"
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	if [ $rc != 0 ] && [ $rc != 124 ] && grep -qF -- "$text" "/tmp/$name.err"; then
		PASS=$((PASS + 1))
		mark "TEST $name PASS rc=$rc start=$start end=$end expected-failure"
	else
		FAIL=$((FAIL + 1))
		mark "TEST $name FAIL rc=$rc start=$start end=$end expected a failure naming: $text"
		echo "--- $name: $*"
		tail -n 20 "/tmp/$name.out" | sed 's/^/| /'
		tail -n 40 "/tmp/$name.err" | sed 's/^/! /'
	fi
}

# send NAME PATH: copy a file to the host. Files are collected in /out and written at the end
# as a tar archive to the virtio disk, or base64 over the second serial port without one.
send() {
	local name=$1 path=$2
	if [ ! -r "$path" ]; then
		FAIL=$((FAIL + 1))
		mark "TEST send-$name FAIL rc=1 missing $path"
		return
	fi
	cp "$path" "/out/$name"
	mark "FILE $name bytes=$(wc -c <"/out/$name") sha256=$(sha256sum <"/out/$name" | cut -d' ' -f1)"
}

flush_files() {
	if [ -b /dev/vda ]; then
		tar -cf /dev/vda -C /out . && sync && mark "FILES channel=disk" && return
	fi
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	for f in /out/*; do
		[ -e "$f" ] || continue
		echo "@@COREBPF-FILE BEGIN ${f##*/}"
		gzip -c -1 <"$f" | base64
		echo "@@COREBPF-FILE END ${f##*/}"
	done >/dev/ttyS1
	mark "FILES channel=serial"
}

# The output disk: virtio modules from the kernel package, in dependency order.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
	[ -e "/modules/$m.ko" ] && insmod "/modules/$m.ko" 2>/dev/null
done
for _ in $(seq 25); do
	[ -b /dev/vda ] && break
	sleep 0.2
done
mkdir -p /out

mark "BEGIN kernel=$(uname -r) arch=$(uname -m) uptime=$(cut -d' ' -f1 /proc/uptime)"
. /vm/guest-tests.sh
flush_files
mark "END pass=$PASS fail=$FAIL uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
