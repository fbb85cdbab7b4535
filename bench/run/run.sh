#!/usr/bin/env bash
# `corebpf run` start-to-exit time and peak RSS against bpftrace, same probe, same command:
#   corebpf run getppid.bpf.o -- /bin/true     (object given)
#   corebpf run getppid.bpf.c -- /bin/true     (compiled on each run; vmlinux.h cached and precompiled)
#   bpftrace -e 'tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }' -c /bin/true
# usage: bench/run/run.sh [RUNS]   (hyperfine runs per command, default 20)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
RUNS=${1:-20}
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (BPF programs are loaded)" >&2; exit 1; }
for tool in hyperfine bpftrace /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool missing (apt-get install ${tool##*/})" >&2; exit 1; }
done
(cd "$root" && cargo build --release -q -p corebpf-cli)
out=$(mktemp -d /tmp/corebpf-runbench.XXXXXX)
trap 'rm -rf "$out"' EXIT
cp "$root/target/release/corebpf" "$out/corebpf"
cp "$here/getppid.bpf.c" "$out/"
cd "$out"
# Warm the vmlinux.h cache (the .c runs reuse it), then build the object the .o runs load
# with the same clang arguments and headers `corebpf run` uses.
./corebpf run getppid.bpf.c -- /bin/true >/dev/null
cache=${XDG_CACHE_HOME:-$HOME/.cache}/corebpf
clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86 -mcpu=v3 \
	-I"$(ls -td "$cache"/vmlinux-* | head -1)" -I"$(ls -td "$cache"/include-* | head -1)" \
	-c getppid.bpf.c -o getppid.bpf.o
[ -s getppid.bpf.o ] || { echo "run.sh: could not build getppid.bpf.o" >&2; exit 1; }

bt='tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }'
hyperfine -N --warmup 3 --runs "$RUNS" --export-json times.json \
	-n 'corebpf run .o' "./corebpf run getppid.bpf.o -- /bin/true" \
	-n 'corebpf run .c' "./corebpf run getppid.bpf.c -- /bin/true" \
	-n 'bpftrace -e' "bpftrace -e '$bt' -c /bin/true"

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in 1 2 3 4 5; do
	echo "$(rss ./corebpf run getppid.bpf.o -- /bin/true)" >>rss.o
	echo "$(rss ./corebpf run getppid.bpf.c -- /bin/true)" >>rss.c
	echo "$(rss bpftrace -e "$bt" -c /bin/true)" >>rss.bt
done
python3 - "$(median <rss.o)" "$(median <rss.c)" "$(median <rss.bt)" <<'PY'
import json, sys
o, c, bt = (int(x) for x in sys.argv[1:4])
res = {r["command"]: r for r in json.load(open("times.json"))["results"]}
m = {k: res[k]["median"] * 1000 for k in res}
bpft = m["bpftrace -e"]
print()
print(f"{'':18} {'median ms':>10} {'vs bpftrace':>12} {'peak RSS KiB':>13} {'vs bpftrace':>12}")
for name, rss in (("corebpf run .o", o), ("corebpf run .c", c), ("bpftrace -e", bt)):
    print(f"{name:18} {m[name]:10.1f} {m[name] / bpft:11.2f}x {rss:13d} {rss / bt:11.2f}x")
PY
