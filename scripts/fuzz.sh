#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer). The fuzz project lives in fuzz/, outside the workspace.
#
#   scripts/fuzz.sh list                 # the targets
#   scripts/fuzz.sh seed                 # build seed corpora from real objects and BTF
#   scripts/fuzz.sh run TARGET SECONDS   # fuzz one target for a bounded time (one job)
#   scripts/fuzz.sh all SECONDS          # every target, one after the other, SECONDS each
#   scripts/fuzz.sh ci SECONDS           # as `all`, building the one object set_value needs first
#
# Works with the stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the sanitizer flags cargo-fuzz
# passes); install cargo-fuzz with `cargo install cargo-fuzz`. Each run prints the executions
# done and the crashes found; the exit status is non-zero when a target crashed, leaked or
# timed out (the input is kept under fuzz/artifacts/TARGET/).
#
# FUZZ_SANITIZER=none builds the targets without AddressSanitizer (cargo fuzz -s none): the
# fuzzed crates contain no unsafe code, so the sanitizer adds cost without finding more; panics,
# timeouts and the RSS limit are still caught. The default
# is cargo-fuzz's (address). FUZZ_RUNS=N also stops a run after N executions
# (`FUZZ_RUNS=10000000 scripts/fuzz.sh run TARGET 3600`: 10 million runs or one hour).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
fuzz=$repo/fuzz
targets=(ebpf_decode ebpf_asm cbpf_text btf_reader btf_ext_reader obj_parse set_value)
corpora=${CORPORA:-$repo/../shared/corpora}
export RUSTC_BOOTSTRAP=1
export COREBPF_FUZZ_OBJECT=${COREBPF_FUZZ_OBJECT:-$fuzz/objects/globals.o}

need_cargo_fuzz() {
	if ! cargo fuzz --help >/dev/null 2>&1; then
		echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
		exit 1
	fi
}

# Writes `data` into corpus dir $1 under a content-hash name.
put() {
	local dir=$1 file=$2
	mkdir -p "$dir"
	cp "$file" "$dir/$(sha1sum "$file" | cut -c1-40)"
}

# The object the set_value target sets variables of.
globals_object() {
	mkdir -p "$fuzz/objects"
	clang-19 -g -O2 -target bpf -I"$repo/tests/bpf" -I"/usr/include/$(uname -m)-linux-gnu" \
		-c "$repo/tests/bpf/globals.bpf.c" -o "$fuzz/objects/globals.o"
}

seed() {
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	# BTF and BTF.ext corpora.
	[ -n "${SKIP_BTF_SEED:-}" ] || "$fuzz/seed.sh"

	# Objects: the project's test programs, little- and big-endian, cpu v3 and v4.
	bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$tmp/vmlinux.h" 2>/dev/null || true
	local src name o
	for src in "$repo"/tests/bpf/*.bpf.c; do
		name=$(basename "$src" .bpf.c)
		for flags in "-target bpf -mcpu=v3" "-target bpf -mcpu=v4" "-target bpfeb -mcpu=v3"; do
			o="$tmp/$name.$(echo "$flags" | tr -dc 'a-z0-9').o"
			# shellcheck disable=SC2086
			clang-19 -g -O2 $flags -D__TARGET_ARCH_x86 -I"$repo/tests/bpf" -I"$tmp" -I"/usr/include/$(uname -m)-linux-gnu" \
				-c "$src" -o "$o" 2>/dev/null || continue
			put "$fuzz/corpus/obj_parse" "$o"
			# Every executable section's bytes for the decoder.
			local sec
			for sec in $(llvm-readelf-19 -S -W "$o" | awk '$0 ~ / AX / { for (i = 1; i <= NF; i++) if ($i ~ /^\./ || $i ~ /\//) { print $i; break } }'); do
				llvm-objcopy-19 --dump-section "$sec=$tmp/insns" "$o" 2>/dev/null && put "$fuzz/corpus/ebpf_decode" "$tmp/insns"
			done
		done
	done
	globals_object
	local f
	for f in "$corpora"/llvm-isa/*.o; do
		[ -e "$f" ] || continue
		put "$fuzz/corpus/obj_parse" "$f"
		llvm-objcopy-19 --dump-section ".text=$tmp/insns" "$f" 2>/dev/null && put "$fuzz/corpus/ebpf_decode" "$tmp/insns"
	done

	# Assembler text: the bpf_conformance programs (their `-- asm` part) and llvm's ISA list.
	for f in "$corpora"/isa-conformance/tests/*.data "$corpora"/isa-conformance/negative/*.data; do
		[ -e "$f" ] || continue
		awk '/^-- /{on = ($2 == "asm"); next} on' "$f" >"$tmp/asm"
		[ -s "$tmp/asm" ] && put "$fuzz/corpus/ebpf_asm" "$tmp/asm"
	done
	# Verifier-syntax lines (what the disassembler prints) for the line parser.
	if [ -e "$corpora/llvm-isa/isa_all.objdump.txt" ]; then
		sed -n 's/^ *[0-9]*:\t[0-9a-f ]*\t//p' "$corpora/llvm-isa/isa_all.objdump.txt" | split -l 16 - "$tmp/lines."
		for f in "$tmp"/lines.*; do put "$fuzz/corpus/ebpf_asm" "$f"; done
	fi

	# Classic BPF: tcpdump's compiled filters in every output form, and their raw bytes.
	local expr i=0
	for expr in "ip" "tcp port 80" "udp and dst port 53" "icmp or arp" "ip6 and tcp[13] & 2 != 0" \
		"vlan 10 and host 10.0.0.1" "len > 100 and ether multicast" "ip[2:2] > 576" \
		"net 192.168.0.0/16 and not port 22" "ip6 proto 58"; do
		i=$((i + 1))
		for form in -d -dd -ddd; do
			tcpdump -y EN10MB "$form" "$expr" >"$tmp/cbpf" 2>/dev/null || continue
			put "$fuzz/corpus/cbpf_text" "$tmp/cbpf"
		done
		tcpdump -y EN10MB -ddd "$expr" 2>/dev/null | tail -n +2 | tr '\n' ',' | sed 's/,$//' |
			sed "s/^/$(tcpdump -y EN10MB -ddd "$expr" 2>/dev/null | head -1),/" >"$tmp/cbpf" && put "$fuzz/corpus/cbpf_text" "$tmp/cbpf"
		tcpdump -y EN10MB -ddd "$expr" 2>/dev/null | tail -n +2 |
			python3 -c 'import sys,struct; sys.stdout.buffer.write(b"".join(struct.pack("<HBBI",*map(int,l.split())) for l in sys.stdin if l.strip()))' \
				>"$tmp/cbpf" && put "$fuzz/corpus/cbpf_text" "$tmp/cbpf"
	done

	# --set values: first byte picks the variable, the rest is the text.
	for v in 0 1 -1 42 0x10 4294967296 -2147483649 true false yes corebpf '"quoted"' 1e3 ''; do
		for pick in 0 1 2 3 4 5 6 7; do
			printf "\\x0$pick%s" "$v" >"$tmp/val"
			put "$fuzz/corpus/set_value" "$tmp/val"
		done
	done
	local t
	for t in "${targets[@]}"; do
		printf '%-16s %6s seeds\n' "$t" "$(find "$fuzz/corpus/$t" -type f 2>/dev/null | wc -l)"
	done
}

# run TARGET SECONDS: prints "TARGET: N executions in S s (limit SECONDS s), K crash(es)"
# (S includes the build).
run() {
	local target=$1 secs=$2
	need_cargo_fuzz
	mkdir -p "$fuzz/corpus/$target" "$fuzz/artifacts/$target"
	local log before
	log=$(mktemp)
	before=$(find "$fuzz/artifacts/$target" -type f | wc -l)
	local status=0 start=$SECONDS
	local sanitizer=()
	[ -n "${FUZZ_SANITIZER:-}" ] && sanitizer=(-s "$FUZZ_SANITIZER")
	local runs=()
	[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
	(cd "$fuzz" && cargo fuzz run -O "${sanitizer[@]}" "$target" -- -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 "${runs[@]}") >"$log" 2>&1 || status=$?
	local execs crashes
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	crashes=$(($(find "$fuzz/artifacts/$target" -type f | wc -l) - before))
	printf '%s: %s executions in %s s (limit %s s), %s crash(es)\n' "$target" "${execs:-0}" \
		"$((SECONDS - start))" "$secs" "$crashes"
	if [ "$status" -ne 0 ]; then
		grep -E "panicked|ERROR|SUMMARY|Test unit written|error" "$log" | head -20 >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}

case ${1:-} in
list) printf '%s\n' "${targets[@]}" ;;
seed) seed ;;
run)
	[ $# -eq 3 ] || { echo "usage: $0 run TARGET SECONDS" >&2; exit 2; }
	run "$2" "$3"
	;;
all | ci)
	[ $# -eq 2 ] || { echo "usage: $0 $1 SECONDS" >&2; exit 2; }
	[ "$1" = ci ] && [ ! -e "$COREBPF_FUZZ_OBJECT" ] && globals_object
	failed=0
	for t in "${targets[@]}"; do run "$t" "$2" || failed=1; done
	exit $failed
	;;
*)
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
