#!/usr/bin/env bash
# Boot Debian's current 6.1 arm64 kernel under qemu-system-aarch64 (TCG) and check that
# `corebpf btf extract` of its Image is byte for byte the guest's /sys/kernel/btf/vmlinux
# (size and sha256, printed by the guest on its console).
#
#   tests/vm/run-arm64.sh [OUT_DIR]       (COREBPF, VM_TIMEOUT, VM_CACHE as for run.sh)
#
# The arm64 Image has no section table: the extractor finds the BTF by its header, so this is
# the check of that path against a real kernel. Needs root the first time (dpkg
# --add-architecture arm64, qemu-system-arm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.sh"
OUT=${1:-${CARGO_TARGET_DIR:-$VM_REPO/target}/vm-run-arm64}
VM_TIMEOUT=${VM_TIMEOUT:-300}

vm_require qemu-system-aarch64 qemu-system-arm
host_busybox=$(vm_busybox amd64)
busybox=$(vm_busybox arm64)
image=$(vm_fetch_kernel arm64)
corebpf=${COREBPF:-}
if [ -z "$corebpf" ]; then
	for c in "$VM_REPO/target/release/corebpf" "$VM_REPO/target/debug/corebpf"; do
		[ -x "$c" ] && { corebpf=$c; break; }
	done
fi
[ -n "$corebpf" ] && [ -x "$corebpf" ] || vm_die "no corebpf binary (build it with cargo build, or set COREBPF)"

rm -rf "$OUT"
mkdir -p "$OUT/root"/{bin,proc,sys,dev}
echo "$image" >"$OUT/image.txt"
cp "$busybox" "$OUT/root/bin/busybox"
cat >"$OUT/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
f=/sys/kernel/btf/vmlinux
echo "@@COREBPF-VM BEGIN kernel=$(uname -r) arch=$(uname -m)"
echo "@@COREBPF-VM FILE vmlinux.btf bytes=$(wc -c <$f) sha256=$(sha256sum <$f | cut -d' ' -f1)"
echo "@@COREBPF-VM END"
poweroff -f
INIT
chmod 755 "$OUT/root/init"
(cd "$OUT/root" && find . -mindepth 1 | LC_ALL=C sort | "$host_busybox" cpio -o -H newc 2>/dev/null) |
	gzip -1 >"$OUT/initramfs.cpio.gz"
rm -rf "$OUT/root"

vm_log "booting $(basename "$image") (aarch64, TCG), timeout ${VM_TIMEOUT}s"
rc=0
timeout --foreground -k 5 "$VM_TIMEOUT" qemu-system-aarch64 \
	-M virt -cpu cortex-a72 -m 1G -smp 1 -nographic -no-reboot -nodefaults \
	-kernel "$image" -initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyAMA0 panic=-1 quiet loglevel=4 rdinit=/init" \
	-serial "file:$OUT/console.log" </dev/null >"$OUT/qemu.log" 2>&1 || rc=$?
tr -d '\r' <"$OUT/console.log" | sed 's/^.*\(@@COREBPF-\)/\1/' >"$OUT/console.txt"

results=$OUT/results.txt
: >"$results"
line=$(grep '^@@COREBPF-VM FILE vmlinux.btf ' "$OUT/console.txt" || true)
if [ -z "$line" ]; then
	echo "FAIL arm64-guest-btf (no result from the guest; qemu status $rc)" >>"$results"
else
	echo "PASS arm64-guest-btf" >>"$results"
	want_bytes=$(echo "$line" | sed 's/.*bytes=\([0-9]*\).*/\1/')
	want_sha=$(echo "$line" | sed 's/.*sha256=\([0-9a-f]*\).*/\1/')
	if "$corebpf" btf extract "$image" -o "$OUT/host-vmlinux.btf" 2>"$OUT/extract.err"; then
		got_bytes=$(stat -c %s "$OUT/host-vmlinux.btf")
		got_sha=$(sha256sum <"$OUT/host-vmlinux.btf" | cut -d' ' -f1)
		if [ "$got_bytes" = "$want_bytes" ] && [ "$got_sha" = "$want_sha" ]; then
			echo "PASS arm64-extract-equals-guest-btf" >>"$results"
		else
			echo "FAIL arm64-extract-equals-guest-btf (host $got_bytes bytes $got_sha, guest $want_bytes bytes $want_sha)" >>"$results"
		fi
	else
		echo "FAIL arm64-extract-equals-guest-btf ($(cat "$OUT/extract.err"))" >>"$results"
	fi
fi
cat "$results" >&2
read -r npass nfail < <(awk '{ c[$1]++ } END { print c["PASS"]+0, c["FAIL"]+0 }' "$results")
echo "$npass passed, $nfail failed"
[ "$nfail" = 0 ]
