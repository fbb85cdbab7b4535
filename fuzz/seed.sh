#!/usr/bin/env bash
# Seeds the BTF fuzz corpora from real blobs: this kernel's BTF, the test corpora and the
# .BTF/.BTF.ext sections of clang-built BPF objects.
#   fuzz/seed.sh            # writes fuzz/corpus/btf_reader and fuzz/corpus/btf_ext_reader
# then (nightly toolchain, cargo install cargo-fuzz):
#   cd fuzz && cargo +nightly fuzz run -O btf_reader corpus/btf_reader -- -max_len=65536
#   cd fuzz && cargo +nightly fuzz run -O btf_ext_reader corpus/btf_ext_reader -- -max_len=65536
# Without nightly, `cargo test -p corebpf-btf --test fuzz_seeds` runs the same logic over
# these seeds and over random mutations of them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
corpora=${CORPORA:-$repo/../shared/corpora/btf}
btf_dir=$here/corpus/btf_reader
ext_dir=$here/corpus/btf_ext_reader
mkdir -p "$btf_dir" "$ext_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# [u32 little-endian length of A][A][B]
join() { python3 -c 'import sys,struct; a=open(sys.argv[1],"rb").read(); b=open(sys.argv[2],"rb").read(); sys.stdout.buffer.write(struct.pack("<I",len(a))+a+b)' "$1" "$2"; }

[ -r /sys/kernel/btf/vmlinux ] && cp /sys/kernel/btf/vmlinux "$btf_dir/vmlinux"
if [ -d "$corpora" ]; then
	gzip -dc "$corpora/vmlinux.btf.gz" >"$btf_dir/foreign-vmlinux"
	cp "$corpora/btf_testmod.btf.base" "$btf_dir/testmod-base"
	join "$corpora/btf_testmod.btf.base" "$corpora/btf_testmod.btf" >"$btf_dir/testmod-split"
fi
# Module BTF on the running kernel's base (small ones only).
for m in /sys/kernel/btf/*; do
	[ "$(basename "$m")" = vmlinux ] && continue
	[ "$(stat -c %s "$m")" -lt 65536 ] || continue
	join /sys/kernel/btf/vmlinux "$m" >"$btf_dir/module-$(basename "$m")"
	break
done

# clang-built objects: the project's test programs (against this kernel's vmlinux.h) and
# the BTF test data, little- and big-endian where they build.
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$tmp/vmlinux.h" 2>/dev/null || true
objs=()
for src in "$repo"/tests/bpf/*.bpf.c "$repo"/crates/corebpf-btf/tests/data/*.bpf.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .bpf.c)
	for target in bpf bpfeb; do
		o="$tmp/$name.$target.o"
		if clang-19 -g -O2 -target "$target" -D__TARGET_ARCH_x86 -I"$repo/tests/bpf" -I"$tmp" \
			-c "$src" -o "$o" 2>/dev/null; then
			objs+=("$o")
		fi
	done
done
for o in "${objs[@]}"; do
	b=$(basename "$o" .o)
	llvm-objcopy-19 --dump-section .BTF="$tmp/$b.btf" "$o" 2>/dev/null || continue
	cp "$tmp/$b.btf" "$btf_dir/$b"
	if llvm-objcopy-19 --dump-section .BTF.ext="$tmp/$b.ext" "$o" 2>/dev/null; then
		join "$tmp/$b.btf" "$tmp/$b.ext" >"$ext_dir/$b"
	fi
done
echo "seeded $(ls "$btf_dir" | wc -l) BTF and $(ls "$ext_dir" | wc -l) BTF.ext inputs"
