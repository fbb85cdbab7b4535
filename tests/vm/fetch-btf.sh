#!/usr/bin/env bash
# Download Debian's current 6.1 kernels for amd64 and arm64 and extract their BTF with
# `corebpf btf extract`, for offline CO-RE relocation against foreign kernels.
#
#   tests/vm/fetch-btf.sh [ARCH...]        (default: amd64 arm64)
#
# Writes $VM_CACHE/btf/vmlinux-RELEASE.btf (RELEASE as in 6.1.0-56-arm64) and a stable link
# $VM_CACHE/btf/6.1-ARCH.btf to it, and prints the paths. COREBPF names the binary
# [target/release/corebpf, else target/debug/corebpf]. Adding the arm64 architecture to apt
# (dpkg --add-architecture arm64, apt-get update) needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.sh"
corebpf=${COREBPF:-}
if [ -z "$corebpf" ]; then
	for c in "$VM_REPO/target/release/corebpf" "$VM_REPO/target/debug/corebpf"; do
		[ -x "$c" ] && { corebpf=$c; break; }
	done
fi
[ -n "$corebpf" ] && [ -x "$corebpf" ] || vm_die "no corebpf binary (build it with cargo build, or set COREBPF)"
[ $# -gt 0 ] || set -- amd64 arm64
mkdir -p "$VM_CACHE/btf"
for arch in "$@"; do
	vmlinuz=$(vm_fetch_kernel "$arch")
	release=${vmlinuz##*/vmlinuz-}
	out=$VM_CACHE/btf/vmlinux-$release.btf
	"$corebpf" btf extract -v "$vmlinuz" -o "$out" || vm_die "cannot extract BTF from $vmlinuz"
	ln -sf "vmlinux-$release.btf" "$VM_CACHE/btf/6.1-$arch.btf"
	echo "$VM_CACHE/btf/6.1-$arch.btf"
done
