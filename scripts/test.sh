#!/usr/bin/env bash
# Run every check and test: formatting, lints, unit, differential and kernel integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -q -- -D warnings
cargo test --workspace --all-features
# A short fuzz run of every target (8 s each): crashes, leaks and hangs fail the run.
scripts/fuzz.sh ci 8
