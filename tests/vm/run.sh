#!/usr/bin/env bash
# Boot Debian's current 6.1 amd64 kernel under qemu with corebpf in an initramfs, run the
# guest part of the test suite (guest-tests.sh) and check its results on the host.
#
#   tests/vm/run.sh [OUT_DIR]
#
# Environment:
#   COREBPF     corebpf binary to run in the guest [target/release/corebpf, else target/debug]
#   VM_OBJECTS  directory of compiled test objects (NAME.v3.o, NAME.v4.o) for the guest's
#               /objects [the newest corebpf-testdata build output]
#   VM_TIMEOUT  seconds before the guest is killed [300]
#   VM_CACHE    download cache [target/vm-cache]
#   VM_TESTS    guest test list [tests/vm/guest-tests.sh]
#   VM_BOOT     bzimage (default) or elf (PVH boot of the ELF vmlinux inside the bzImage)
#
# Output in OUT_DIR [target/vm-run]: console.log (serial console), data.log (second serial
# port, used for files when the guest has no virtio disk), results.txt ("PASS name" / "FAIL name" lines), guest files (guest-*.bin) and
# host-vmlinux.btf (`corebpf btf extract` of the booted image). Exits non-zero on any failure,
# including a missing qemu or kernel: nothing is skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.sh"
OUT=${1:-${CARGO_TARGET_DIR:-$VM_REPO/target}/vm-run}
VM_TIMEOUT=${VM_TIMEOUT:-300}
t0=$(date +%s.%N)

# --- qemu, busybox ---
vm_require qemu-system-x86_64 qemu-system-x86
busybox=$(vm_busybox amd64)

# --- kernel ---
vmlinuz=$(vm_fetch_kernel amd64)
kernel=$vmlinuz
# VM_BOOT=elf boots the ELF vmlinux through PVH instead (no decompression in the guest; not
# faster under TCG here, where the bzImage's own decompression is quick).
if [ "${VM_BOOT:-bzimage}" = elf ]; then
	kernel=$(vm_elf_vmlinux "$vmlinuz")
	[ -n "$kernel" ] || vm_die "cannot get the ELF vmlinux out of $vmlinuz (needs an xz payload and xz)"
fi

# --- corebpf ---
corebpf=${COREBPF:-}
if [ -z "$corebpf" ]; then
	for c in "$VM_REPO/target/release/corebpf" "$VM_REPO/target/debug/corebpf"; do
		[ -x "$c" ] && { corebpf=$c; break; }
	done
fi
[ -n "$corebpf" ] && [ -x "$corebpf" ] || vm_die "no corebpf binary (build it with cargo build, or set COREBPF)"

# --- initramfs ---
rm -rf "$OUT"
mkdir -p "$OUT"
echo "$vmlinuz" >"$OUT/image.txt"
root=$OUT/root
mkdir -p "$root"/{bin,sbin,usr/bin,proc,sys,dev,tmp,root,vm,objects}
cp "$busybox" "$root/bin/busybox"
cp "$here/guest-init.sh" "$root/init"
cp "$here"/guest-*.sh "$root/vm/"
cp "${VM_TESTS:-$here/guest-tests.sh}" "$root/vm/guest-tests.sh"
chmod 755 "$root/init"
# Debug info is of no use in the guest and only slows the initramfs down.
strip --strip-debug -o "$root/bin/corebpf" "$corebpf" 2>/dev/null || cp "$corebpf" "$root/bin/corebpf"
# A dynamic binary brings its shared libraries and loader along, at the same paths.
if ldd "$corebpf" >/dev/null 2>&1; then
	ldd "$corebpf" | grep -oE '(/[^ ]+)' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
fi
# The kernel's config where tools look for it (Kconfig externs: --kconfig /boot/config-*).
mkdir -p "$root/boot"
cp "$(dirname "$vmlinuz")"/config-* "$root/boot/" 2>/dev/null || true
mkdir -p "$root/modules"
find "$(dirname "$(dirname "$vmlinuz")")/lib" -name '*.ko' -exec cp {} "$root/modules/" \; 2>/dev/null || true
if [ -z "${VM_OBJECTS:-}" ]; then
	# The objects corebpf-testdata compiled most recently (NAME.v3.o, NAME.v4.o).
	VM_OBJECTS=$(ls -td "${CARGO_TARGET_DIR:-$VM_REPO/target}"/*/build/corebpf-testdata-*/out/bpf 2>/dev/null | head -n1)
	[ -n "$VM_OBJECTS" ] || vm_die "no compiled test objects: set VM_OBJECTS or build the tests (cargo test --no-run)"
fi
[ -d "$VM_OBJECTS" ] || vm_die "VM_OBJECTS=$VM_OBJECTS is not a directory"
cp "$VM_OBJECTS"/*.v[34].o "$root/objects/" 2>/dev/null || vm_die "no NAME.v3.o / NAME.v4.o files in $VM_OBJECTS"

# Guest-only BPF programs (tests/vm/bpf), compiled against this host's vmlinux.h so that the
# guest relocates them against its own BTF.
for tool in clang-19 bpftool; do
	command -v $tool >/dev/null || vm_die "$tool is missing (bash scripts/install-deps.sh)"
done
mkdir -p "$root/vm/bpf" "$OUT/bpf"
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$OUT/bpf/vmlinux.h" ||
	vm_die "cannot generate vmlinux.h from /sys/kernel/btf/vmlinux"
for src in "$here"/bpf/*.bpf.c; do
	obj=$root/vm/bpf/$(basename "$src" .bpf.c).o
	clang-19 -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I"$OUT/bpf" \
		-I/usr/include/x86_64-linux-gnu -c "$src" -o "$obj" 2>"$OUT/bpf/clang.err" ||
		vm_die "clang-19 failed on $src: $(cat "$OUT/bpf/clang.err")"
done
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) |
	gzip -1 >"$OUT/initramfs.cpio.gz"
rm -rf "$root"

# --- boot ---
accel=(-accel tcg)
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -e /sys/module/kvm_pvm ] && [ -w /dev/kvm ]; then
	accel=(-accel kvm -cpu host)
fi
truncate -s 256M "$OUT/disk.img"
t1=$(date +%s.%N)
vm_log "booting $(basename "$kernel") (${accel[*]}), timeout ${VM_TIMEOUT}s"
rc=0
timeout --foreground -k 5 "$VM_TIMEOUT" qemu-system-x86_64 \
	"${accel[@]}" -m 1G -smp 1 -nographic -no-reboot -nodefaults \
	-kernel "$kernel" -initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init" \
	-serial "file:$OUT/console.log" -serial "file:$OUT/data.log" \
	-drive "file=$OUT/disk.img,format=raw,if=virtio" \
	</dev/null >"$OUT/qemu.log" 2>&1 || rc=$?
t2=$(date +%s.%N)
[ $rc = 124 ] && vm_log "guest killed after ${VM_TIMEOUT}s"
[ $rc != 0 ] && [ $rc != 124 ] && vm_log "qemu exited with status $rc: $(tail -n 3 "$OUT/qemu.log")"

# --- results ---
# Markers may follow terminal escapes the firmware printed on the same line.
tr -d '\r' <"$OUT/console.log" | sed 's/^.*\(@@COREBPF-\)/\1/' >"$OUT/console.txt"
tr -d '\r' <"$OUT/data.log" >"$OUT/data.txt"
results=$OUT/results.txt
: >"$results"
fail=0
pass() { echo "PASS $1" >>"$results"; }
failed() {
	echo "FAIL $1${2:+ ($2)}" >>"$results"
	fail=1
}
if grep -q '^@@COREBPF-VM BEGIN' "$OUT/console.txt"; then pass guest-boot; else failed guest-boot "no BEGIN marker"; fi
if grep -q '^@@COREBPF-VM END' "$OUT/console.txt"; then pass guest-end; else failed guest-end "no END marker (timeout or crash)"; fi
while read -r _ _ name verdict rest; do
	if [ "$verdict" = PASS ]; then pass "guest:$name"; else failed "guest:$name" "$rest"; fi
done < <(grep '^@@COREBPF-VM TEST ' "$OUT/console.txt")

# Files copied out, checked against the size and sha256 the guest printed.
mkdir -p "$OUT/files"
channel=$(sed -n 's/^@@COREBPF-VM FILES channel=//p' "$OUT/console.txt")
[ "$channel" = disk ] && tar -xf "$OUT/disk.img" -C "$OUT/files" 2>/dev/null
rm -f "$OUT/disk.img"
while read -r _ _ name bytes sha; do
	bytes=${bytes#bytes=}
	sha=${sha#sha256=}
	f=$OUT/guest-$name
	if [ "$channel" = disk ]; then
		mv "$OUT/files/$name" "$f" 2>/dev/null || : >"$f"
	else
		sed -n "/^@@COREBPF-FILE BEGIN $name\$/,/^@@COREBPF-FILE END $name\$/p" "$OUT/data.txt" |
			sed '1d;$d' | base64 -d | gunzip >"$f" 2>/dev/null || true
	fi
	if [ "$(stat -c %s "$f")" = "$bytes" ] && [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$sha" ]; then
		pass "copy:$name"
	else
		failed "copy:$name" "received $(stat -c %s "$f") bytes over the ${channel:-no} channel, guest had $bytes"
	fi
done < <(grep '^@@COREBPF-VM FILE ' "$OUT/console.txt")

# The host-side extract of the booted image must equal the guest's /sys/kernel/btf/vmlinux.
if "$corebpf" btf extract "$vmlinuz" -o "$OUT/host-vmlinux.btf" 2>"$OUT/extract.err"; then
	if [ -f "$OUT/guest-vmlinux.btf" ] && cmp -s "$OUT/host-vmlinux.btf" "$OUT/guest-vmlinux.btf"; then
		pass host-extract-equals-guest-btf
	else
		failed host-extract-equals-guest-btf "$(cmp "$OUT/host-vmlinux.btf" "$OUT/guest-vmlinux.btf" 2>&1 | head -n1)"
	fi
else
	failed host-extract-equals-guest-btf "$(cat "$OUT/extract.err")"
fi

# The guest's raw dump must equal bpftool's dump of the same BTF on the host.
if command -v bpftool >/dev/null; then
	want=$(bpftool btf dump file "$OUT/host-vmlinux.btf" 2>/dev/null | sha256sum | cut -d' ' -f1)
	got=$(grep '^@@COREBPF-VM TEST btf-dump-raw ' "$OUT/console.txt" | grep -o 'stdout_sha256=[0-9a-f]*' | cut -d= -f2)
	if [ -n "$got" ] && [ "$got" = "$want" ]; then pass guest-dump-equals-bpftool; else failed guest-dump-equals-bpftool "guest sha256 ${got:-none}, bpftool $want"; fi
else
	failed guest-dump-equals-bpftool "bpftool is missing (install the bpftool package)"
fi

t3=$(date +%s.%N)
read -r npass nfail < <(awk '{ c[$1]++ } END { print c["PASS"]+0, c["FAIL"]+0 }' "$results")
{
	echo "kernel $(basename "$vmlinuz") booted as $(basename "$kernel"), qemu status $rc, files over ${channel:-no} channel"
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "time prepare=%.2fs guest=%.2fs check=%.2fs total=%.2fs\n", b-a, c-b, d-c, d-a }'
} >"$OUT/summary.txt"
cat "$OUT/summary.txt" >&2
grep '^FAIL' "$results" >&2 || true
echo "$npass passed, $nfail failed"
[ $fail = 0 ] && [ "$nfail" = 0 ] && [ "$npass" -gt 0 ]
