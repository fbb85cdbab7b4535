#!/usr/bin/env bash
# Open + link (no kernel load) of each test object: corebpf
# (crates/corebpf-obj/examples/linkbench.rs: read, Object::parse, Object::link against the
# running kernel) against libbpf 1.1 (tests/libbpf-oracle/oracle.c -n: bpf_object__open_file +
# bpf_object__load with program loads intercepted and never sent to the kernel; time spent in
# bpf() syscalls that do reach the kernel — maps, BTF, feature probes — is subtracted). Both
# read the kernel BTF only for objects that need it (CO-RE, typed ksyms/kfuncs, BTF attach),
# /proc/config.gz for .kconfig externs and /proc/kallsyms for untyped ksyms.
#
# usage: bench/obj/run.sh [iters]    (default 30); needs root, clang-19, libbpf-dev.
# Prints, per object and for all objects in one round, the minimum and median user-space
# time of a round over ITERS rounds, and the ratio of minimums (ours / libbpf's).
set -euo pipefail
cd "$(dirname "$0")/../.."
ITERS=${1:-30}
OUT=target/bench-obj
mkdir -p "$OUT"

clang-19 -O2 -o "$OUT/oracle" tests/libbpf-oracle/oracle.c -lbpf -ldl
cargo build --release -q -p corebpf-obj --example linkbench
cargo build --release -q -p corebpf-testdata
OURS=target/release/examples/linkbench
OBJDIR=$(dirname "$(ls -t target/release/build/corebpf-testdata-*/out/bpf/globals.v3.o | head -1)")

# libbpf 1.x cannot open legacy `maps` sections.
OBJS=()
for obj in "$OBJDIR"/*.v3.o; do
  case $(basename "$obj") in legacy_maps.*) continue ;; esac
  OBJS+=("$obj")
done

field() { sed -n "s/.*$1 \([0-9]*\).*/\1/p"; }
row() {
  local label=$1; shift
  local t o
  t=$("$OUT/oracle" -n "$ITERS" "$@")
  o=$("$OURS" "$ITERS" "$@")
  local tmin tmed omin omed
  tmin=$(echo "$t" | field user_ns_min); tmed=$(echo "$t" | field user_ns_median)
  omin=$(echo "$o" | field user_ns_min); omed=$(echo "$o" | field user_ns_median)
  awk -v l="$label" -v a="$tmin" -v b="$tmed" -v c="$omin" -v d="$omed" \
    'BEGIN { printf "%-14s %12.3f %12.3f %12.3f %12.3f %7.2f\n", l, a/1e6, b/1e6, c/1e6, d/1e6, c/a }'
}
printf '%-14s %12s %12s %12s %12s %7s\n' object libbpf_min libbpf_med ours_min ours_med ratio
for obj in "${OBJS[@]}"; do
  row "$(basename "$obj" .v3.o)" "$obj"
done
row "ALL" "${OBJS[@]}"
echo "(ms of user-space time per round; ratio = ours_min / libbpf_min)"
echo "corebpf with the kernel BTF parsed once and shared by all objects (a long-lived loader):"
"$OURS" --shared-btf "$ITERS" "${OBJS[@]}"
