#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for N seconds, 30 by default:
#   scripts/fuzz.sh          # a short run
#   scripts/fuzz.sh 3600     # an hour per target
# Installs cargo-fuzz from crates.io when it is missing. cargo fuzz uses unstable compiler
# flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them. Crashes are written to
# fuzz/artifacts/<target>/ and the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in wire jsonld; do
  corpus="$(mktemp -d)"
  cp -r "fuzz/corpus/$target/." "$corpus/"
  cargo fuzz run "$target" "$corpus" -- -max_total_time="$seconds"
  rm -rf "$corpus"
done
