#!/usr/bin/env bash
# Create COUNT viewer users (bench-reader-1 .. bench-reader-COUNT) with one
# token each in a Glossa data directory and print the tokens, one a line.
# Glossa reads its users at startup, so run this BEFORE starting the server
# (an empty directory is fine: the demo users come along, and `serve` seeds
# the articles on first start).
#
#   bench/make-reader-tokens.sh DATA_DIR COUNT [GLOSSA_BIN] > reader-tokens.txt
#   GLOSSA_READER_TOKENS=@reader-tokens.txt bench/run-sync-bench.sh ...
#
# Glossa allows 32 /sync connections per user by default: 100 clients need 3
# reader users, 500 need 16.
set -euo pipefail
usage="usage: make-reader-tokens.sh DATA_DIR COUNT [GLOSSA_BIN]"
DATA_DIR="${1:?$usage}"
COUNT="${2:?$usage}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${3:-}"
if [[ -z "$BIN" ]]; then
  BIN="$HERE/../target/release/glossa"
  [[ -x "$BIN" ]] || BIN="$HERE/../target/debug/glossa"
fi
[[ -x "$BIN" ]] || { echo "make-reader-tokens: no glossa binary at $BIN (pass it as the 3rd argument)" >&2; exit 1; }
for i in $(seq 1 "$COUNT"); do
  "$BIN" token create --data-dir "$DATA_DIR" --user "bench-reader-$i" --role viewer
done
