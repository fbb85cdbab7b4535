#!/usr/bin/env bash
# Benchmarks of the guest harness and of `corebpf btf extract`, with hyperfine.
#
#   bench/vm/run.sh [RUNS]        (guest-suite runs, default 3)
#
# 1. Host-to-result time of the guest suite: tests/vm/run.sh (build the initramfs, boot Debian
#    6.1 under qemu, run the guest commands, check the results) with the release build of
#    corebpf and the compiled test objects; and of the arm64 guest check (run-arm64.sh).
# 2. `corebpf btf extract` of Debian's 6.1 amd64 bzImage against bench/vm/extract.py (the same
#    header parse, xz decompression and .BTF carving with Python's standard library); both
#    outputs are compared byte for byte first.
# Results: target/bench-vm/*.json and *.md; figures are recorded in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
out=${CARGO_TARGET_DIR:-target}/bench-vm
mkdir -p "$out"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }

cargo build --release -q -p corebpf-cli
: >"$out/guest-runs.log"
. tests/vm/kernel.sh
image=$(vm_fetch_kernel amd64)
corebpf=target/release/corebpf

"$corebpf" btf extract "$image" -o "$out/corebpf.btf"
python3 bench/vm/extract.py "$image" "$out/python.btf"
cmp "$out/corebpf.btf" "$out/python.btf"
hyperfine -N --warmup 2 --runs 15 \
	--export-json "$out/extract.json" --export-markdown "$out/extract.md" \
	-n "corebpf btf extract" "$corebpf btf extract $image -o $out/corebpf.btf" \
	-n "extract.py" "python3 bench/vm/extract.py $image $out/python.btf"

# The harness itself, on a snapshot of the release binary and the compiled test objects (so
# that no build is timed).
cp "$corebpf" "$out/corebpf"
objects=$(ls -td target/*/build/corebpf-testdata-*/out/bpf | head -n1)
hyperfine --runs "$runs" \
	--export-json "$out/guest.json" --export-markdown "$out/guest.md" \
	-n "amd64 guest suite (tests/vm/run.sh)" "COREBPF=$out/corebpf VM_OBJECTS=$objects bash tests/vm/run.sh $out/vm-run >>$out/guest-runs.log 2>&1" \
	-n "arm64 guest BTF check (tests/vm/run-arm64.sh)" "COREBPF=$out/corebpf bash tests/vm/run-arm64.sh $out/vm-run-arm64 >>$out/guest-runs.log 2>&1"
grep -E '^time|passed' "$out/guest-runs.log"
