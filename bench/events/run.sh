#!/usr/bin/env bash
# Ring buffer / perf buffer throughput and per-event cost: corebpf's evbench example against the
# libbpf peer (/work/shared/peers/evbench.c), same BPF object, same load generator, same run.
# usage: bench/events/run.sh [N] [REPS] [MODES...]
#   N     events per run for ring buffer modes (default 1000000; perf buffer modes use N/5)
#   REPS  runs per tool and mode, alternating tools (default 3); medians are reported
#   PB_PAGES (environment): perf buffer data pages per CPU, passed to both tools as their size
#         argument in the perf buffer modes (default 64). The ring buffer stays the object's
#         4 MiB: corebpf does not resize maps before load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peers=${PEERS:-/work/shared/peers}
N=${1:-1000000}
REPS=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
MODES=${*:-rb rb-busy rb-nowake rb-drain pb pb-busy pb-drain count}
out=$(mktemp -d /tmp/corebpf-evbench.XXXXXX)
trap 'rm -rf "$out"' EXIT
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (BPF programs are loaded)" >&2; exit 1; }
"$peers/build.sh" "$out" >/dev/null
(cd "$root" && cargo build --release -q -p corebpf --example evbench)
cp "$root/target/release/examples/evbench" "$out/evbench-corebpf"
cd "$out"
python3 - "$N" "$REPS" "${PB_PAGES:-64}" $MODES <<'PY'
import re, resource, statistics, subprocess, sys
N, REPS, PB_PAGES, modes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
tools = {"libbpf": "./evbench", "corebpf": "./evbench-corebpf"}

def run(tool, mode, n):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    size = [str(PB_PAGES)] if mode.startswith("pb") else []
    p = subprocess.run([tools[tool], mode, str(n)] + size, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    if p.returncode != 0 or not line:
        sys.exit(f"{tool} {mode}: failed: {p.stderr.strip()}")
    user = after.ru_utime - before.ru_utime
    sysc = after.ru_stime - before.ru_stime
    m = re.search(r"([\d.]+) M events/s", line)
    rec = re.search(r"received=(\d+)", line)
    drops = re.search(r"drops\(bpf\)=(\d+)", line)
    lost = re.search(r"lost\(perf\)=(\d+)", line)
    drain = re.search(r"= ([\d.]+) ns/event", line)
    prod = re.search(r"producer[^:]*: ([\d.]+) ns/syscall", line)
    size = re.search(r"size=(\d+)", line)
    return {
        "mevs": float(m.group(1)) if m else None,
        "received": int(rec.group(1)) if rec else 0,
        "drops": int(drops.group(1)) if drops else 0,
        "lost": int(lost.group(1)) if lost else 0,
        "drain_ns": float(drain.group(1)) if drain else None,
        "prod_ns": float(prod.group(1)) if prod else None,
        "user_ns_per_event": user / n * 1e9,
        "sys_ns_per_event": sysc / n * 1e9,
        "size": int(size.group(1)) if size else None,
    }

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def f(x, spec):
    return "-" if x is None else format(x, spec)

print(f"N={N} (perf buffer modes N/5, {PB_PAGES} pages per CPU), {REPS} runs each, medians; user/sys CPU = whole process time / N")
print(f"{'mode':<10} {'tool':<8} {'M ev/s':>8} {'drain ns/ev':>11} {'producer ns':>11} {'user ns/ev':>10} {'sys ns/ev':>9} {'received':>9} {'drops':>7} {'lost':>6}")
ratios = []
for mode in modes:
    n = N // 5 if mode.startswith("pb") else N
    res = {t: [] for t in tools}
    for _ in range(REPS):
        for t in tools:
            res[t].append(run(t, mode, n))
    agg = {}
    for t in tools:
        rs = res[t]
        a = {k: med([r[k] for r in rs]) for k in rs[0]}
        agg[t] = a
        print(f"{mode:<10} {t:<8} {f(a['mevs'],'8.3f')} {f(a['drain_ns'],'11.1f')} {f(a['prod_ns'],'11.1f')} {f(a['user_ns_per_event'],'10.1f')} {f(a['sys_ns_per_event'],'9.1f')} {a['received']:>9.0f} {a['drops']:>7.0f} {a['lost']:>6.0f}")
    c, l = agg["corebpf"], agg["libbpf"]
    if c["size"] != l["size"]:
        sys.exit(f"{mode}: the tools ran with different buffer sizes ({c['size']} vs {l['size']})")
    r_ev = c["mevs"] / l["mevs"] if c["mevs"] and l["mevs"] else None
    r_user = c["user_ns_per_event"] / l["user_ns_per_event"] if l["user_ns_per_event"] else None
    cpu = {t: agg[t]["user_ns_per_event"] + agg[t]["sys_ns_per_event"] for t in tools}
    r_cpu = cpu["corebpf"] / cpu["libbpf"] if cpu["libbpf"] else None
    r_drain = l["drain_ns"] / c["drain_ns"] if c["drain_ns"] and l["drain_ns"] else None
    ratios.append((mode, r_ev, r_user, r_cpu, r_drain))
print()
print("ratios corebpf/libbpf: events/s (>= 1 is as fast or faster), user CPU per event (<= 1 is as cheap or")
print("cheaper), user+sys CPU per event (<= 1), and for the drain modes the consume speed (libbpf ns / corebpf ns, >= 1).")
print("User and system times come from getrusage; with tick-based accounting the user/system split is sampled")
print("(HZ ticks), the sum is exact.")
for mode, r_ev, r_user, r_cpu, r_drain in ratios:
    extra = f"   consume x{f(r_drain,'.2f')}" if r_drain else ""
    print(f"  {mode:<10} events/s x{f(r_ev,'.2f')}   user CPU/event x{f(r_user,'.2f')}   user+sys CPU/event x{f(r_cpu,'.2f')}{extra}")
PY
