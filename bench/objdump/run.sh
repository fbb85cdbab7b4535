#!/usr/bin/env bash
# `corebpf objdump` vs `llvm-objdump-19 -d` over every compiled test object (tests/bpf, built by
# the corebpf-testdata crate for cpu v3, v4 and big-endian), timed with hyperfine.
# Usage: bench/objdump/run.sh [extra hyperfine args, e.g. --export-markdown out.md]
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in hyperfine llvm-objdump-19; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine llvm-19)" >&2; exit 1; }
done

cargo build --release -q -p corebpf-cli -p corebpf-testdata
objdir=$(ls -td target/release/build/corebpf-testdata-*/out/bpf | head -1)
mapfile -t objs < <(ls "$objdir"/*.o)
echo "${#objs[@]} objects in $objdir"

# Both tools must succeed on every file before anything is timed.
./target/release/corebpf objdump "${objs[@]}" >/dev/null
llvm-objdump-19 -d "${objs[@]}" >/dev/null

hyperfine -N --warmup 5 --min-runs 50 "$@" \
    -n "corebpf objdump" "./target/release/corebpf objdump ${objs[*]}" \
    -n "corebpf objdump --raw --no-source" "./target/release/corebpf objdump --raw --no-source ${objs[*]}" \
    -n "corebpf objdump --json" "./target/release/corebpf objdump --json ${objs[*]}" \
    -n "llvm-objdump-19 -d" "llvm-objdump-19 -d ${objs[*]}" \
    -n "llvm-objdump-19 -d -r" "llvm-objdump-19 -d -r ${objs[*]}"
