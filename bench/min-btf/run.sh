#!/usr/bin/env bash
# `corebpf gen min-btf` against `bpftool gen min_core_btf`, same objects, same full BTF, one
# hyperfine run (release build, -N, warm-up runs):
#  1. one object (execsnoop) against this kernel's BTF;
#  2. every little-endian cpu v3 test object at once against this kernel's BTF;
#  3. the same objects against a foreign kernel's BTF (shared/corpora/btf, decompressed first).
# The objects are the corebpf-testdata builds (bpftool 7.1's libbpf cannot read the big-endian
# ones). Also prints the output sizes of both tools.
# Usage: bench/min-btf/run.sh            (RUNS=50 to change the number of runs)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
corpora=${CORPORA:-$repo/../shared/corpora}
runs=${RUNS:-50}
vmlinux=/sys/kernel/btf/vmlinux
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for tool in hyperfine bpftool python3; do
	command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install $tool)" >&2; exit 1; }
done
(cd "$repo" && cargo build --release -q -p corebpf-cli && cargo build --release -q -p corebpf-testdata)
cli=$repo/target/release/corebpf
objdir=$(dirname "$(ls -t "$repo"/target/release/build/corebpf-testdata-*/out/bpf/execsnoop.v3.o | head -1)")
objs=()
for o in "$objdir"/*.v3.o; do
	case "$o" in *.arm64.*) continue ;; esac
	objs+=("$o")
done
gunzip -c "$corpora/btf/vmlinux.btf.gz" >"$out/foreign.btf"

echo "== ${#objs[@]} objects from $objdir; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bench() {
	local name=$1 full=$2
	shift 2
	hyperfine -N --warmup 5 --runs "$runs" --export-json "$out/$name.json" \
		-n "corebpf gen min-btf" "$cli gen min-btf $* --btf $full -o $out/$name.corebpf.btf" \
		-n "bpftool gen min_core_btf" "bpftool gen min_core_btf $full $out/$name.bpftool.btf $*" >/dev/null
	echo "-- $name (full BTF $(stat -c %s "$full") bytes)"
	python3 - "$out/$name.json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
base = rs[0]["mean"]
print("| Command | Mean [ms] | Min [ms] | Max [ms] | User [ms] | System [ms] | Relative |")
print("|:---|---:|---:|---:|---:|---:|---:|")
for r in rs:
    ms = lambda v: f"{v * 1000:.1f}"
    print(f"| `{r['command']}` | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['min'])} | {ms(r['max'])} "
          f"| {ms(r['user'])} | {ms(r['system'])} | {r['mean'] / base:.2f} |")
PY
	echo "output: corebpf $(stat -c %s "$out/$name.corebpf.btf") bytes, bpftool $(stat -c %s "$out/$name.bpftool.btf") bytes"
}
bench one-vmlinux "$vmlinux" "$objdir/execsnoop.v3.o"
bench all-vmlinux "$vmlinux" "${objs[@]}"
bench all-foreign "$out/foreign.btf" "${objs[@]}"
