#!/usr/bin/env bash
# `corebpf btf dump --format c` vs `bpftool btf dump file ... format c` on the running kernel's
# BTF (vmlinux.h generation), timed with hyperfine; JSON output against `bpftool -j` as well.
# Usage: bench/btf-c/run.sh [BTF file, default /sys/kernel/btf/vmlinux] [extra hyperfine args]
set -euo pipefail
cd "$(dirname "$0")/../.."

btf=${1:-/sys/kernel/btf/vmlinux}
shift || true

for tool in hyperfine bpftool; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine bpftool)" >&2; exit 1; }
done

cargo build --release -q -p corebpf-cli

# Both tools must succeed before anything is timed.
./target/release/corebpf btf dump "$btf" --format c >/dev/null
bpftool btf dump file "$btf" format c >/dev/null
echo "header sizes: corebpf $(./target/release/corebpf btf dump "$btf" --format c | wc -c) bytes," \
     "bpftool $(bpftool btf dump file "$btf" format c | wc -c) bytes"

hyperfine -N --warmup 5 --min-runs 40 "$@" \
    -n "corebpf btf dump --format c" "./target/release/corebpf btf dump $btf --format c" \
    -n "bpftool btf dump format c" "bpftool btf dump file $btf format c" \
    -n "corebpf btf dump --format json" "./target/release/corebpf btf dump $btf --format json" \
    -n "bpftool -j btf dump" "bpftool -j btf dump file $btf"
