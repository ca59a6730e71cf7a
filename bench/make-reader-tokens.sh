#!/usr/bin/env bash
# Create COUNT viewer users (bench-reader-1 .. bench-reader-COUNT) with one
# token each in a Glossa data directory and print the tokens, one a line.
# Glossa reads its users at startup, so run this BEFORE starting the server.
# A new directory is first made a demo desk (seed articles, demo users) by
# starting the server on it once: a token created on a new directory would
# make it a real desk, without the demo users the benchmarks sign in as.
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
# A directory with no store in it yet is new, whatever else it holds (the caller may be
# writing this script's output into it).
if [[ ! -d "$DATA_DIR/sled" ]]; then
  log="$(mktemp)"
  "$BIN" serve --data-dir "$DATA_DIR" --addr 127.0.0.1:0 > "$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    grep -q "is listening on" "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q "is listening on" "$log" || { echo "make-reader-tokens: the server did not start" >&2; cat "$log" >&2; exit 1; }
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
fi
for i in $(seq 1 "$COUNT"); do
  "$BIN" token create --data-dir "$DATA_DIR" --user "bench-reader-$i" --role viewer
done
