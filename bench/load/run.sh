#!/usr/bin/env bash
# Full load (open + relocate + BTF + maps + programs, then close) of each test object:
# corebpf (crates/corebpf/examples/loadbench.rs) against libbpf 1.1
# (/work/shared/peers/loadbench.c: bpf_object__open_file + bpf_object__load), same run,
# interleaved per object. Needs root, gcc, libbpf-dev.
#
# usage: bench/load/run.sh [iters]    (default 21: 1 cold + 20 warm)
set -euo pipefail
cd "$(dirname "$0")/../.."
ITERS=${1:-21}
OUT=target/bench-load
mkdir -p "$OUT"

gcc -O2 -o "$OUT/loadbench-libbpf" /work/shared/peers/loadbench.c -lbpf -ldl
cargo build --release -q -p corebpf --example loadbench
cargo build --release -q -p corebpf-testdata
OURS=target/release/examples/loadbench

# The compiled test objects (cpu v3, little-endian).
OBJDIR=$(dirname "$(ls -t target/release/build/corebpf-testdata-*/out/bpf/globals.v3.o | head -1)")
PINS=/sys/fs/bpf/corebpf-bench-$$
mkdir -p "$PINS"
trap 'rm -rf "$PINS"' EXIT

printf '%-14s %10s %10s %7s %10s %10s %7s\n' object libbpf_cold ours_cold ratio libbpf_warm ours_warm ratio
for obj in "$OBJDIR"/*.v3.o; do
  name=$(basename "$obj" .v3.o)
  case $name in
    fentry) continue ;;               # tracing programs: refused by this host's policy
    legacy_maps|tc_cgroup) continue ;; # libbpf 1.1 cannot load them (legacy maps, tcx section)
  esac
  # libbpf pins by-name maps under /sys/fs/bpf itself: remove only the pins it adds.
  pre=""
  for p in flows outer_hash; do [ -e /sys/fs/bpf/$p ] && pre="$pre $p"; done
  theirs=$("$OUT/loadbench-libbpf" "$obj" "$ITERS")
  for p in flows outer_hash; do
    case " $pre " in *" $p "*) ;; *) rm -f /sys/fs/bpf/$p ;; esac
  done
  ours=$("$OURS" "$obj" "$ITERS" "$PINS")
  rm -f "$PINS"/* 2>/dev/null || true
  lc=$(sed -E 's/.*cold: open ([0-9.]+) load ([0-9.]+).*/\1 \2/' <<<"$theirs" | awk '{print $1+$2}')
  oc=$(sed -E 's/.*cold: open ([0-9.]+) load ([0-9.]+).*/\1 \2/' <<<"$ours" | awk '{print $1+$2}')
  lw=$(sed -E 's/.*warm median\(n=[0-9]+\): open ([0-9.]+) load ([0-9.]+).*/\1 \2/' <<<"$theirs" | awk '{print $1+$2}')
  ow=$(sed -E 's/.*warm median\(n=[0-9]+\): open ([0-9.]+) load ([0-9.]+).*/\1 \2/' <<<"$ours" | awk '{print $1+$2}')
  printf '%-14s %8.3fms %8.3fms %6.2fx %8.3fms %8.3fms %6.2fx\n' "$name" "$lc" "$oc" \
    "$(awk -v a="$lc" -v b="$oc" 'BEGIN{print a/b}')" "$lw" "$ow" \
    "$(awk -v a="$lw" -v b="$ow" 'BEGIN{print a/b}')"
done
echo "ratio = libbpf time / corebpf time (above 1: corebpf is faster)"
