#!/usr/bin/env bash
# BTF benchmarks, corebpf side by side with its peers on this kernel's BTF:
#  1. in process: read + parse /sys/kernel/btf/vmlinux + find task_struct, and a walk over
#     every type and name — libbpf's btfbench.c vs corebpf's btfbench example (same steps,
#     same output format), interleaved rounds, medians of the per-round medians;
#  2. whole process: `corebpf btf find task_struct` vs `btfbench 1` (hyperfine);
#  3. raw dump: `corebpf btf dump` vs `bpftool btf dump file … format raw` (hyperfine).
# Usage: bench/btf/run.sh            (ITERS=200 ROUNDS=5 RUNS=100 to change the sizes)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
peers=${PEERS:-$repo/../shared/peers}
iters=${ITERS:-200}
rounds=${ROUNDS:-5}
runs=${RUNS:-100}
vmlinux=/sys/kernel/btf/vmlinux
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for tool in gcc hyperfine bpftool python3; do
	command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install $tool)" >&2; exit 1; }
done
gcc -O2 -Wall -o "$out/btfbench" "$peers/btfbench.c" -lbpf
(cd "$repo" && cargo build --release -q -p corebpf-btf --example btfbench && cargo build --release -q -p corebpf-cli)
ours=$repo/target/release/examples/btfbench
cli=$repo/target/release/corebpf

echo "== in process ($iters iterations x $rounds interleaved rounds; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
for r in $(seq "$rounds"); do
	"$out/btfbench" "$iters" >>"$out/libbpf.txt"
	"$ours" "$iters" >>"$out/eager-read.txt"
	LAZY=1 "$ours" "$iters" >>"$out/lazy-read.txt"
	MMAP=1 "$ours" "$iters" >>"$out/eager-mmap.txt"
	MMAP=1 LAZY=1 "$ours" "$iters" >>"$out/lazy-mmap.txt"
done
head -1 "$out/libbpf.txt"
head -1 "$out/eager-read.txt"

echo "== whole process"
hyperfine -N --warmup 10 --runs "$runs" --export-json "$out/find.json" \
	"$cli btf find task_struct" "$out/btfbench 1" >/dev/null
hyperfine -N --warmup 3 --runs "$((runs / 5 + 5))" --export-json "$out/dump.json" \
	"$cli btf dump" "bpftool btf dump file $vmlinux format raw" >/dev/null

python3 - "$out" <<'PY'
import json, re, statistics, sys
d = sys.argv[1]
def col(name, key):
    vals = []
    for line in open(f"{d}/{name}.txt"):
        m = re.search(key + r" ([0-9.]+)", line)
        if m:
            vals.append(float(m.group(1)))
    return statistics.median(vals)
lib_parse, lib_find = col("libbpf", "parse"), col("libbpf", r"find task_struct\[id \d+\]")
lib_walk = col("libbpf", "walk all types\+names")
lib = lib_parse + lib_find
print(f"libbpf  btf__parse + find task_struct      {lib:8.3f} ms   (parse {lib_parse:.3f}, find {lib_find:.4f}); walk {lib_walk:.3f} ms")
for name, what in [("eager-read", "read, parse (full validation)"), ("lazy-read", "read, parse_lazy"),
                   ("eager-mmap", "mmap, parse (full validation)"), ("lazy-mmap", "mmap, parse_lazy")]:
    p, f = col(name, "parse"), col(name, r"find task_struct\[id \d+\]")
    w = col(name, "walk all types\+names")
    print(f"corebpf {what + ' + find':37s}{p + f:8.3f} ms   {lib / (p + f):5.2f}x libbpf; walk {w:.3f} ms ({lib_walk / w:.2f}x)")
def hf(name):
    r = json.load(open(f"{d}/{name}.json"))["results"]
    return [(x["command"], x["median"] * 1e3, (x["user"] + x["system"]) * 1e3) for x in r]
(c1, m1, cpu1), (c2, m2, cpu2) = hf("find")
print(f"whole process: corebpf btf find task_struct {m1:.2f} ms (cpu {cpu1:.2f}) vs btfbench 1 {m2:.2f} ms (cpu {cpu2:.2f}): {m2 / m1:.2f}x wall, {cpu2 / cpu1:.2f}x cpu")
(c1, m1, cpu1), (c2, m2, cpu2) = hf("dump")
print(f"raw dump:      corebpf btf dump {m1:.2f} ms (cpu {cpu1:.2f}) vs bpftool format raw {m2:.2f} ms (cpu {cpu2:.2f}): {m2 / m1:.2f}x wall, {cpu2 / cpu1:.2f}x cpu")
PY
