#!/usr/bin/env bash
# Runs every benchmark and writes the results to bench-results/:
#   scripts/bench.sh            # criterion (benches/), appends, HTTP, start-up, and sync fan-out
#                               # and memory against Glossa and the reference automerge-repo sync
#                               # server, side by side
#   BIG=1 scripts/bench.sh      # also 1M-event logs and 500 sync clients
#   scripts/bench.sh sync-quick # only the quick side-by-side sync ratio (100 clients, under two
#                               # minutes; QUICK_SYNC=1 does the same); its last line starts
#                               # with `sync ratio`
#   scripts/bench.sh sync-ratio # only the full sync ratio (10, 100, 500 clients on one
#                               # document, 100 documents × 10 clients)
#   POSTGRES=0 scripts/bench.sh # sled only; by default the appends and HTTP suites also run on
#                               # a throwaway PostgreSQL cluster (scripts/with-postgres.sh), each
#                               # case on sled and then on a fresh database, side by side,
#                               # and the replicas suite (several servers on one database)
# Build is release; numbers depend on the machine, so compare ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench-results
target="${CARGO_TARGET_DIR:-target}"

# Glossa and the reference server each pinned to core 0, the Rust load generator to core 1, the
# edit rate raised step by step; the ratio of the sustained rates is printed last.
sync_ratio() {
  cargo build --release --bin glossa --bin glossa-bench
  [ -d tests/js/node_modules/@automerge/automerge-repo ] || scripts/install-test-deps.sh
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$target/release/glossa-bench" --json "bench-results/sync-ratio$1.json" sync-ratio "${@:2}" \
    | tee "bench-results/sync-ratio$1.md"
}
mode="${1:-}"
[ "${QUICK_SYNC:-0}" = "1" ] && mode=sync-quick
case "$mode" in
  sync-quick) sync_ratio -quick --quick; exit 0 ;;
  sync-ratio) sync_ratio ""; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [sync-quick|sync-ratio]" >&2; exit 2 ;;
esac

# In-process figures (criterion; medians under $target/criterion/).
cargo bench --bench core 2>&1 | tee bench-results/criterion.txt

cargo build --release --bin glossa --bin glossa-bench

extra=()
[ "${BIG:-0}" = "1" ] && extra+=(--big)
core=("$target/release/glossa-bench" --seconds "${SECONDS_PER_CASE:-3}" --json bench-results/core.json "${extra[@]}")
if [ "${POSTGRES:-1}" = "1" ]; then
  # glossa-bench makes a database per case on the cluster the script starts.
  scripts/with-postgres.sh sh -c 'GLOSSA_BENCH_DATABASE_URL="$GLOSSA_TEST_DATABASE_URL" exec "$@"' sh \
    "${core[@]}" | tee bench-results/core.md
else
  "${core[@]}" | tee bench-results/core.md
fi

# Sync fan-out: Glossa (release) and the reference server under the same client workload.
[ -d tests/js/node_modules/@automerge/automerge-repo ] || scripts/install-test-deps.sh
data="$(mktemp -d)"
# One user may hold 32 sync connections: the extra clients sign in as viewer users.
readers=4
[ "${BIG:-0}" = "1" ] && readers=17
bench/make-reader-tokens.sh "$data" "$readers" "$target/release/glossa" > "$data/reader-tokens.txt"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$target/release/glossa" serve --data-dir "$data" --addr "127.0.0.1:$port" > "$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
GLOSSA_URL="http://127.0.0.1:$port" GLOSSA_TOKEN=demo-alice-token GLOSSA_USER=alice GLOSSA_PID=$pid \
  GLOSSA_READER_TOKENS="@$data/reader-tokens.txt" bench/run-sync-bench.sh bench-results/sync.json
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

# The sustained edit rate of each server, side by side, and their ratio.
sync_ratio ""

# Per-edit cost against the document's history (fresh, 1k, 10k and 100k earlier changes).
bench/run-history-bench.sh bench-results/history.json | tee bench-results/history.md

# Memory per idle sync connection and per loaded document, both servers (each on fresh processes).
GLOSSA_BIN="$target/release/glossa" bench/run-memory-bench.sh bench-results/memory.json | tee bench-results/memory.md
