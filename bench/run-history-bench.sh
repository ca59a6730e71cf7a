#!/usr/bin/env bash
# Per-edit cost against the length of a document's history: the sync fan-out workload
# (sync-bench.mjs, 10 official clients on one note) against a Glossa server whose article
# document already holds N earlier changes, for each N, one fresh server per N, in one sitting.
#
#   bench/run-history-bench.sh [OUT.json]          # N = 0 1000 10000 100000, 20 edits per writer
#   QUICK=1 bench/run-history-bench.sh             # the same N, 5 edits per writer
#   GEN=rust bench/run-history-bench.sh            # the Rust load generator instead of the official
#                                                  # clients: server pinned to CPU 0, generator to CPU 1
#
# Environment:
#   HISTORY       the list of N (default "0 1000 10000 100000")
#   GLOSSA_BIN    the server (default: $CARGO_TARGET_DIR or target, release)
#   BENCH_BIN     glossa-bench, which writes the history (same default)
#   CLIENTS       sync clients (default 10); EDITS, WRITERS, PAUSE_MS as for sync-bench.mjs
#   ARTICLE       seeded article whose document gets the history (default twenty-six-nations-pledge)
# Prints one row per N and the ratios of per-edit server CPU and fan-out p99 to the first N.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$HERE/.."
OUT="${1:-bench-results/history.json}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
GLOSSA_BIN="${GLOSSA_BIN:-$TARGET/release/glossa}"
BENCH_BIN="${BENCH_BIN:-$TARGET/release/glossa-bench}"
HISTORY="${HISTORY:-0 1000 10000 100000}"
ARTICLE="${ARTICLE:-twenty-six-nations-pledge}"
export CLIENT_COUNTS="${CLIENTS:-10}" SKIP_REFERENCE=1 ARTICLE
if [[ "${QUICK:-0}" == 1 ]]; then export EDITS="${EDITS:-5}"; fi
export EDITS="${EDITS:-20}"

die() { echo "run-history-bench: $*" >&2; exit 1; }
say() { echo "run-history-bench: $*" >&2; }
[[ -x "$GLOSSA_BIN" ]] || die "no server at $GLOSSA_BIN (cargo build --release)"
[[ -x "$BENCH_BIN" ]] || die "no glossa-bench at $BENCH_BIN (cargo build --release)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/glossa-history-bench.XXXXXX")"
PID=""
stop() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  PID=""
}
trap 'stop; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
: > "$WORK/rows.ndjson"

for n in $HISTORY; do
  data="$WORK/data-$n"
  mkdir -p "$data"
  started=$(date +%s.%N)
  if (( n > 0 )); then
    "$BENCH_BIN" preload-history --data-dir "$data" --changes "$n" --article "$ARTICLE" >&2
  fi
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  pin=()
  [[ "${GEN:-js}" == rust ]] && pin=(taskset -c 0)
  "${pin[@]}" "$GLOSSA_BIN" serve --data-dir "$data" --addr "127.0.0.1:$port" > "$data/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
  say "history of $n changes: server up after $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  if [[ "${GEN:-js}" == rust ]]; then
    doc="$(curl -sf -H 'Authorization: Bearer demo-alice-token' "http://127.0.0.1:$port/api/articles/$ARTICLE" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["document_url"])')"
    taskset -c 1 "$BENCH_BIN" --only sync --sync-url "ws://127.0.0.1:$port/sync" --sync-document "$doc" \
      --sync-token demo-alice-token --sync-user alice --sync-server-pid "$PID" \
      --sync-edit "${EDIT:-typing}" --sync-clients "$CLIENT_COUNTS" --json "$WORK/gen-$n.json" >&2 ||
      say "the run with $n earlier changes failed"
    stop
    python3 - "$WORK/gen-$n.json" "$n" >> "$WORK/rows.ndjson" <<'PY' || true
import json, re, sys
row = json.load(open(sys.argv[1]))[0]
cpu = re.search(r"server CPU (\d+) µs/edit", row["case"])
gen = re.search(r"generator CPU (\d+) µs/edit", row["case"])
print(json.dumps({"history": int(sys.argv[2]), "ok": "NOT" not in row["case"], "edits": row["ops"],
  "fanout_ms": {"p50": round(row["p50_ms"], 1), "p99": round(row["p99_ms"], 1)},
  "server": {"cpu_ms_per_edit": int(cpu.group(1)) / 1000 if cpu else None},
  "generator_ms_per_edit": int(gen.group(1)) / 1000 if gen else None, "connect_s": None}))
PY
    continue
  fi
  GLOSSA_URL="http://127.0.0.1:$port" GLOSSA_TOKEN=demo-alice-token GLOSSA_USER=alice GLOSSA_PID=$PID \
    SETTLE_S=1 "$HERE/run-sync-bench.sh" "$WORK/sync-$n.json" >&2 || say "the run with $n earlier changes failed"
  stop
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results.find(r => r.label.startsWith("glossa"))
    console.log(JSON.stringify({ history: +process.argv[2], ...r }))
  ' "$WORK/sync-$n.json" "$n" >> "$WORK/rows.ndjson" || true
done

mkdir -p "$(dirname "$OUT")"
node - "$WORK/rows.ndjson" "$OUT" <<'EOF'
const fs = require("fs")
const [rowsFile, out] = process.argv.slice(2)
const rows = fs.readFileSync(rowsFile, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l))
fs.writeFileSync(out, JSON.stringify({ generated: new Date().toISOString(), rows }, null, 2) + "\n")
const base = rows.find(r => r.ok)
const x = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a")
console.log("| earlier changes | edits | fan-out p50 ms | p99 ms | server CPU ms/edit | CPU vs first | p99 vs first | connect s |")
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|")
for (const r of rows) {
  const cpu = r.server && r.server.cpu_ms_per_edit
  const f = r.fanout_ms || {}
  console.log(`| ${r.history} | ${r.ok ? r.edits : "FAILED"} | ${f.p50} | ${f.p99} | ${cpu} | ${x(cpu, base && base.server.cpu_ms_per_edit)} | ${x(f.p99, base && base.fanout_ms.p99)} | ${r.connect_s} |`)
}
console.log(`results written to ${out}`)
if (rows.some(r => !r.ok)) process.exitCode = 1
EOF
