#!/usr/bin/env bash
# Install everything corebpf's build, tests and benchmarks use on Debian 12 (run as root).
set -euo pipefail
pkgs=(clang-19 llvm-19 bpftool libbpf-dev tcpdump strace hyperfine pahole libelf-dev zlib1g-dev pkg-config gcc make)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "install-deps: cargo not found: install a Rust toolchain (rustup) first" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
# cargo-fuzz for scripts/fuzz.sh (runs on the stable toolchain with RUSTC_BOOTSTRAP=1).
cargo fuzz --help >/dev/null 2>&1 || cargo install --locked cargo-fuzz
