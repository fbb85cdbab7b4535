#!/usr/bin/env bash
# User ring buffer producer cost: corebpf's UserRingBuf (bench/events/user_ringbuf, a standalone
# package) against libbpf 1.1's user_ring_buffer (bench/events/user_ringbuf_peer.c). Both load
# tests/bpf/user_ringbuf.bpf.c, produce N samples of SIZE bytes (reserve, fill, submit) and,
# whenever the 16 KiB ring is full, drain it with BPF_PROG_TEST_RUN of the object's syscall
# program (bpf_user_ringbuf_drain). Reported: producer ns/sample (wall time outside the
# drains), user CPU ns/sample of the whole process, drain ns/sample; medians over REPS runs,
# tools alternating.
# usage: bench/events/user_ringbuf.sh [N] [REPS] [SIZES...]   (defaults: 3000000 5 8 64 264)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
N=${1:-3000000}
REPS=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
SIZES=${*:-8 64 264}
[ "$(id -u)" = 0 ] || { echo "user_ringbuf.sh: needs root (BPF programs are loaded)" >&2; exit 1; }
out=$(mktemp -d /tmp/corebpf-urbbench.XXXXXX)
trap 'rm -rf "$out"' EXIT
clang-19 -g -O2 -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu \
	-c "$root/tests/bpf/user_ringbuf.bpf.c" -o "$out/user_ringbuf.bpf.o"
gcc -O2 -Wall -o "$out/peer" "$here/user_ringbuf_peer.c" -lbpf
(cd "$here/user_ringbuf" && CARGO_TARGET_DIR="$root/target" cargo build --release -q)
cp "$root/target/release/corebpf-user-ringbuf-bench" "$out/corebpf"
cd "$out"
python3 - "$N" "$REPS" $SIZES <<'PY'
import re, resource, statistics, subprocess, sys
N, REPS, sizes = int(sys.argv[1]), int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
tools = {"libbpf": "./peer", "corebpf": "./corebpf"}

def run(tool, size):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([tools[tool], "user_ringbuf.bpf.o", str(N), str(size)],
                       capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{tool} size {size}: failed: {p.stderr.strip()}")
    line = p.stdout.strip().splitlines()[-1]
    prod = float(re.search(r"producer: ([\d.]+) ns/sample", line).group(1))
    drain = float(re.search(r"drain: ([\d.]+) ns/sample", line).group(1))
    user = (after.ru_utime - before.ru_utime) / N * 1e9
    return prod, user, drain

print(f"N={N} samples per run, {REPS} runs per tool, medians")
print(f"{'size':>5} {'tool':<8} {'producer ns':>11} {'user CPU ns':>11} {'drain ns':>9}")
ratios = []
for size in sizes:
    res = {t: [] for t in tools}
    for _ in range(REPS):
        for t in tools:
            res[t].append(run(t, size))
    med = {t: [statistics.median(col) for col in zip(*res[t])] for t in tools}
    for t in tools:
        p, u, d = med[t]
        print(f"{size:>5} {t:<8} {p:>11.1f} {u:>11.1f} {d:>9.1f}")
    ratios.append((size, med["corebpf"][0] / med["libbpf"][0], med["corebpf"][1] / med["libbpf"][1]
                   if med["libbpf"][1] else float("nan")))
print()
print("ratios corebpf/libbpf (<= 1 is as cheap or cheaper): producer wall time, user CPU")
for size, rp, ru in ratios:
    print(f"  {size:>4} bytes: producer x{rp:.2f}   user CPU x{ru:.2f}")
PY
