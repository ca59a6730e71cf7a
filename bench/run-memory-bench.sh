#!/usr/bin/env bash
# Server memory per idle sync connection and per loaded document, for Glossa
# and the reference automerge-repo sync server side by side
# (bench/memory-bench.mjs does the measuring; see bench/README.md).
#
#   bench/run-memory-bench.sh [results.json]     # default bench-results/memory.json
#
# Each measurement runs on a server process of its own, started here:
#   1. Glossa, idle connections: a fresh data directory, CLIENTS clients (on
#      reader tokens, since one user may hold 32 sync connections) sync the
#      seeded article's document and stay idle.
#   2. Glossa, loaded documents: DOCS articles created through POST
#      /api/articles on a fresh data directory; one client syncs each document.
#   3. The reference server, idle connections: the same document (a copy of
#      Glossa's, same history, imported through automerge-repo).
#   4. The reference server, loaded documents: DOCS documents {annotations: {}}
#      created, the server restarted on the same storage (so nothing is
#      loaded), then one client syncs each document.
#
# Environment: GLOSSA_BIN (default target/release/glossa, or
# $CARGO_TARGET_DIR/release/glossa), CLIENTS (200), DOCS (200), ARTICLE
# (twenty-six-nations-pledge), SETTLE_MS (3000), SKIP_REFERENCE=1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$HERE/.."
JS_DIR="${GLOSSA_JS_DIR:-$ROOT/tests/js}"
OUT="${1:-bench-results/memory.json}"
CLIENTS="${CLIENTS:-200}"
DOCS="${DOCS:-200}"
ARTICLE="${ARTICLE:-twenty-six-nations-pledge}"
export SETTLE_MS="${SETTLE_MS:-3000}"
BIN="${GLOSSA_BIN:-}"
if [[ -z "$BIN" ]]; then
  BIN="$ROOT/target/release/glossa"
  [[ -n "${CARGO_TARGET_DIR:-}" ]] && BIN="$CARGO_TARGET_DIR/release/glossa"
fi
[[ -x "$BIN" ]] || { echo "run-memory-bench: no glossa binary at $BIN (cargo build --release, or set GLOSSA_BIN)" >&2; exit 1; }
command -v node >/dev/null || { echo "run-memory-bench: node is not on PATH" >&2; exit 1; }
if [[ ! -d "$JS_DIR/node_modules/@automerge/automerge-repo" ]]; then
  (cd "$JS_DIR" && npm ci --no-audit --no-fund >&2)
fi

say() { echo "run-memory-bench: $*" >&2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/glossa-memory-bench.XXXXXX")"
PID=""
stop() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  PID=""
}
trap 'stop; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
RESULTS="$WORK/results.ndjson"
: > "$RESULTS"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_glossa DATA_DIR: sets PID and URL
start_glossa() {
  local port
  port="$(free_port)"
  "$BIN" serve --data-dir "$1" --addr "127.0.0.1:$port" > "$1.log" 2>&1 &
  PID=$!
  URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -sf "$URL/healthz" >/dev/null && return 0
    sleep 0.1
  done
  say "glossa did not start: $(tail -5 "$1.log")"
  exit 1
}

# start_reference STORAGE_DIR: sets PID and WS
start_reference() {
  : > "$WORK/ref.out"
  PORT=0 HOST=127.0.0.1 STORAGE_DIR="$1" node "$JS_DIR/reference-server.mjs" > "$WORK/ref.out" 2> "$WORK/ref.err" &
  PID=$!
  local port=""
  for _ in $(seq 1 100); do
    port="$(awk '/^LISTENING/ {print $2; exit}' "$WORK/ref.out" 2>/dev/null || true)"
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { say "the reference server did not start: $(cat "$WORK/ref.err")"; exit 1; }
  WS="ws://127.0.0.1:$port/sync"
}

measure() { # LABEL, env already set
  local out
  out="$(LABEL="$1" SERVER_PID="$PID" node "$HERE/memory-bench.mjs")"
  echo "$out" >> "$RESULTS"
}

# 1. Glossa, idle connections
readers=$(( (CLIENTS + 5 + 29) / 30 ))
mkdir -p "$WORK/g1"
"$HERE/make-reader-tokens.sh" "$WORK/g1" "$readers" "$BIN" > "$WORK/readers.txt"
start_glossa "$WORK/g1"
DOC="$(curl -fsS -H "Authorization: Bearer demo-alice-token" "$URL/api/articles/$ARTICLE" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).document_url))')"
say "glossa: $CLIENTS idle clients on $ARTICLE ($DOC), $readers reader users"
MODE=idle WS_URL="${URL/http/ws}/sync" DOC_URL="$DOC" TOKENS="@$WORK/readers.txt" CLIENTS="$CLIENTS" \
  measure glossa-idle
MODE=export-doc WS_URL="${URL/http/ws}/sync" DOC_URL="$DOC" TOKEN=demo-alice-token FILE="$WORK/doc.bin" \
  node "$HERE/memory-bench.mjs"
stop

# 2. Glossa, loaded documents
mkdir -p "$WORK/g2"
start_glossa "$WORK/g2"
say "glossa: creating $DOCS articles"
MODE=create-docs API_URL="$URL" TOKEN=demo-alice-token COUNT="$DOCS" node "$HERE/memory-bench.mjs" > "$WORK/g-docs.txt"
MODE=docs WS_URL="${URL/http/ws}/sync" DOC_URLS="@$WORK/g-docs.txt" TOKEN=demo-alice-token measure glossa-docs
stop

if [[ "${SKIP_REFERENCE:-0}" != 1 ]]; then
  # 3. the reference server, idle connections on a copy of the same document
  mkdir -p "$WORK/r1"
  start_reference "$WORK/r1"
  RDOC="$(MODE=import-doc WS_URL="$WS" FILE="$WORK/doc.bin" node "$HERE/memory-bench.mjs")"
  say "reference: $CLIENTS idle clients on $RDOC"
  MODE=idle WS_URL="$WS" DOC_URL="$RDOC" CLIENTS="$CLIENTS" measure reference-idle
  stop

  # 4. the reference server, loaded documents (created, then the server restarted)
  mkdir -p "$WORK/r2"
  start_reference "$WORK/r2"
  say "reference: creating $DOCS documents"
  MODE=create-docs WS_URL="$WS" COUNT="$DOCS" node "$HERE/memory-bench.mjs" > "$WORK/r-docs.txt"
  stop
  start_reference "$WORK/r2"
  MODE=docs WS_URL="$WS" DOC_URLS="@$WORK/r-docs.txt" measure reference-docs
  stop
fi

mkdir -p "$(dirname "$OUT")"
node - "$RESULTS" "$OUT" <<'EOF'
const fs = require("fs")
const os = require("os")
const [file, out] = process.argv.slice(2)
const results = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l))
fs.writeFileSync(out, JSON.stringify({ generated: new Date().toISOString(), host: { cpus: os.cpus().length, mem_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version }, results }, null, 2) + "\n")
console.log("| server | measurement | count | RSS before → after | per item |")
console.log("|---|---|---:|---:|---:|")
for (const r of results) {
  const [server, what] = r.label.split("-")
  const mb = kb => (kb / 1024).toFixed(1)
  if (r.mode === "idle") console.log(`| ${server} | idle sync connection | ${r.clients} | ${mb(r.rss_kb_before)} → ${mb(r.rss_kb_after)} MiB | ${r.per_connection_kib} KiB |`)
  else console.log(`| ${server} | loaded document | ${r.documents} | ${mb(r.rss_kb_before)} → ${mb(r.rss_kb_after)} MiB | ${r.per_document_kib} KiB (${r.per_document_kib_client_left} KiB after the client left) |`)
}
console.log(`results written to ${out}`)
EOF
