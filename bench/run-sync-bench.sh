#!/usr/bin/env bash
# Side-by-side /sync fan-out benchmark: a running Glossa vs the reference
# automerge-repo sync server (tests/js/reference-server.mjs), same workload
# (bench/sync-bench.mjs) for CLIENTS in 10 100 (and 500 with BIG=1).
#
#   GLOSSA_URL=http://127.0.0.1:8080 GLOSSA_TOKEN=demo-alice-token GLOSSA_USER=alice \
#   GLOSSA_PID=<pid of glossa serve> bench/run-sync-bench.sh [results.json]
#
# Starting Glossa is the caller's job. Without GLOSSA_URL only the reference
# server is measured. Results go to $1 (default bench-results/sync.json,
# relative to the current directory); a table is printed at the end.
#
# Environment (all optional except as noted):
#   GLOSSA_URL            http(s)://host:port of a running Glossa (omit: reference server only)
#   GLOSSA_TOKEN          token of an editor (required with GLOSSA_URL); setup client + writers use it
#   GLOSSA_USER           that token's user name (required with GLOSSA_URL): the annotation's creator
#   GLOSSA_PID            pid of the Glossa process, for CPU/RSS sampling
#   GLOSSA_WS             sync URL (default: GLOSSA_URL with ws(s):// and /sync)
#   GLOSSA_READER_TOKENS  tokens for the reading clients (comma/space separated, or @file). Glossa
#                         allows GLOSSA_MAX_CONN_PER_USER (default 32) /sync connections per user,
#                         so CLIENTS=100 needs >= 3 other users' tokens and 500 needs >= 16. Make
#                         them before starting Glossa, e.g. bench/make-reader-tokens.sh DATA_DIR 16
#   GLOSSA_MAX_CONN_PER_USER  per-user connection cap used to skip runs that cannot work (0 = no check)
#   ARTICLE               article slug (default twenty-six-nations-pledge)
#   QUOTE                 passage of that article to target (default "26 nations pledge")
#   CLIENT_COUNTS         override the list of client counts (default "10 100", plus 500 if BIG=1)
#   BIG=1                 also run 500 clients
#   EDITS, WRITERS, PAUSE_MS, BATCH, EDIT_TIMEOUT_MS, CONNECT_TIMEOUT_MS  passed to sync-bench.mjs
#   THREADS               client worker threads (default: nproc/2, at least 1, at most 4)
#   SKIP_REFERENCE=1      measure Glossa only
#   SETTLE_S              pause between runs (default 3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JS_DIR="${GLOSSA_JS_DIR:-$HERE/../tests/js}"
OUT="${1:-bench-results/sync.json}"
ARTICLE="${ARTICLE:-twenty-six-nations-pledge}"
QUOTE="${QUOTE:-26 nations pledge}"
SETTLE_S="${SETTLE_S:-3}"
export ARTICLE QUOTE
MAX_CONN="${GLOSSA_MAX_CONN_PER_USER:-32}"
if [[ -z "${CLIENT_COUNTS:-}" ]]; then
  CLIENT_COUNTS="10 100"
  [[ "${BIG:-0}" == 1 ]] && CLIENT_COUNTS="$CLIENT_COUNTS 500"
fi
if [[ -z "${THREADS:-}" ]]; then
  THREADS=$(( $(nproc 2>/dev/null || echo 2) / 2 ))
  (( THREADS < 1 )) && THREADS=1
  (( THREADS > 4 )) && THREADS=4
fi
export THREADS

die() { echo "run-sync-bench: $*" >&2; exit 1; }
say() { echo "run-sync-bench: $*" >&2; }

command -v node >/dev/null || die "node is not on PATH"
if [[ ! -d "$JS_DIR/node_modules/@automerge/automerge-repo" ]]; then
  say "installing the Node packages in $JS_DIR (npm ci)"
  (cd "$JS_DIR" && npm ci --no-audit --no-fund >&2) || die "npm ci in $JS_DIR failed"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/glossa-sync-bench.XXXXXX")"
REF_PID=""
cleanup() {
  if [[ -n "$REF_PID" ]] && kill -0 "$REF_PID" 2>/dev/null; then
    kill -TERM "$REF_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$REF_PID" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$REF_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RESULTS="$WORK/results.ndjson"
: > "$RESULTS"

# ---------------------------------------------------------------------------
# Glossa: the article's document and a target passage

GLOSSA_ON=0
if [[ -n "${GLOSSA_URL:-}" ]]; then
  GLOSSA_ON=1
  : "${GLOSSA_TOKEN:?GLOSSA_TOKEN is required with GLOSSA_URL}"
  : "${GLOSSA_USER:?GLOSSA_USER is required with GLOSSA_URL}"
  GLOSSA_URL="${GLOSSA_URL%/}"
  if [[ -z "${GLOSSA_WS:-}" ]]; then
    case "$GLOSSA_URL" in
      https://*) GLOSSA_WS="wss://${GLOSSA_URL#https://}/sync" ;;
      http://*) GLOSSA_WS="ws://${GLOSSA_URL#http://}/sync" ;;
      *) die "GLOSSA_URL must start with http:// or https://" ;;
    esac
  fi
  curl -fsS --max-time 20 -H "Authorization: Bearer $GLOSSA_TOKEN" \
    "$GLOSSA_URL/api/articles/$ARTICLE" -o "$WORK/article.json" ||
    die "GET $GLOSSA_URL/api/articles/$ARTICLE failed"
  # document_url, latest version and the code-point offsets of QUOTE
  read -r G_DOC G_VERSION G_START G_END < <(QUOTE="$QUOTE" node -e '
    const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    const q = process.env.QUOTE
    if (!a.document_url || typeof a.text !== "string") { console.error("article JSON has no document_url/text"); process.exit(1) }
    const i = a.text.indexOf(q)
    if (i < 0) { console.error(`quote ${JSON.stringify(q)} is not in the article text; set QUOTE`); process.exit(1) }
    const start = Array.from(a.text.slice(0, i)).length  // code points, not UTF-16 units
    const end = start + Array.from(q).length
    console.log(a.document_url, a.latest_version ?? 1, start, end)
  ' "$WORK/article.json") || die "cannot read the article's document URL and quote offsets"
  [[ -n "${G_DOC:-}" ]] || die "cannot read the article's document URL and quote offsets"
  say "glossa: $GLOSSA_WS doc=$G_DOC version=$G_VERSION quote=\"$QUOTE\" [$G_START,$G_END)"
  if [[ -n "${GLOSSA_PID:-}" ]] && [[ ! -r "/proc/$GLOSSA_PID/stat" ]]; then
    die "GLOSSA_PID=$GLOSSA_PID is not a running process"
  fi
fi

# ---------------------------------------------------------------------------
# the reference server: free port, temp storage

if [[ "${SKIP_REFERENCE:-0}" != 1 ]]; then
  mkdir -p "$WORK/ref-storage"
  PORT=0 HOST=127.0.0.1 STORAGE_DIR="$WORK/ref-storage" node "$JS_DIR/reference-server.mjs" \
    > "$WORK/ref.out" 2> "$WORK/ref.err" &
  REF_PID=$!
  REF_PORT=""
  for _ in $(seq 1 100); do
    REF_PORT="$(awk '/^LISTENING/ {print $2; exit}' "$WORK/ref.out" 2>/dev/null || true)"
    [[ -n "$REF_PORT" ]] && break
    kill -0 "$REF_PID" 2>/dev/null || die "the reference server exited: $(cat "$WORK/ref.err")"
    sleep 0.1
  done
  [[ -n "$REF_PORT" ]] || die "the reference server did not report LISTENING within 10 s"
  REF_WS="ws://127.0.0.1:$REF_PORT/sync"
  R_DOC="$(WS_URL="$REF_WS" node "$HERE/create-doc.mjs")" || die "could not create a document on the reference server"
  say "reference: $REF_WS pid=$REF_PID doc=$R_DOC"
fi

# ---------------------------------------------------------------------------
# runs

readers_token_count() {
  local v="${GLOSSA_READER_TOKENS:-}"
  [[ "$v" == @* ]] && v="$(cat "${v#@}")"
  echo "$v" | tr ', ' '\n\n' | grep -c . || true
}

# run_one LABEL N  (env for sync-bench.mjs already exported by the caller)
run_one() {
  local label="$1" n="$2" out rc
  say "running $label (clients=$n threads=$THREADS)"
  set +e
  out="$(CLIENTS="$n" LABEL="$label" node "$HERE/sync-bench.mjs" 2> "$WORK/bench.err")"
  rc=$?
  set -e
  cat "$WORK/bench.err" >&2
  if [[ -n "$out" ]] && node -e 'JSON.parse(process.argv[1])' "$out" 2>/dev/null; then
    echo "$out" >> "$RESULTS"
  else
    node -e 'console.log(JSON.stringify({label: process.argv[1], clients: +process.argv[2], ok: false, errors: [`sync-bench exited ${process.argv[3]} without a result: ${process.argv[4].slice(-500)}`]}))' \
      "$label" "$n" "$rc" "$(cat "$WORK/bench.err")" >> "$RESULTS"
  fi
  sleep "$SETTLE_S"
}

skip() { # skip LABEL N REASON
  say "skipping $1: $3"
  node -e 'console.log(JSON.stringify({label: process.argv[1], clients: +process.argv[2], ok: false, skipped: process.argv[3]}))' "$1" "$2" "$3" >> "$RESULTS"
}

for n in $CLIENT_COUNTS; do
  if [[ "$GLOSSA_ON" == 1 ]]; then
    writers="${WRITERS:-$(( n < 10 ? n : 10 ))}"
    k="$(readers_token_count)"
    reason=""
    if [[ "$MAX_CONN" != 0 ]]; then
      if [[ "$k" == 0 ]]; then
        (( n > MAX_CONN )) && reason="$n clients on one user exceed Glossa's $MAX_CONN connections per user; pass GLOSSA_READER_TOKENS"
      else
        (( writers > MAX_CONN )) && reason="$writers writers on one user exceed $MAX_CONN connections per user"
        per=$(( (n - writers + k - 1) / k ))
        (( per > MAX_CONN )) && reason="$(( n - writers )) readers on $k reader tokens is $per per user, over Glossa's $MAX_CONN; pass more GLOSSA_READER_TOKENS"
      fi
    fi
    if [[ -n "$reason" ]]; then
      skip "glossa-$n" "$n" "$reason"
    else
      (
        export WS_URL="$GLOSSA_WS" TOKEN="$GLOSSA_TOKEN" BENCH_USER="$GLOSSA_USER" DOC_URL="$G_DOC"
        export ARTICLE VERSION="$G_VERSION" QUOTE START="$G_START" END="$G_END"
        export READER_TOKENS="${GLOSSA_READER_TOKENS:-}" SERVER_PID="${GLOSSA_PID:-}"
        run_one "glossa-$n" "$n"
      )
    fi
  fi
  if [[ "${SKIP_REFERENCE:-0}" != 1 ]]; then
    (
      # the reference server ignores tokens and does not validate annotations
      export WS_URL="$REF_WS" TOKEN=bench BENCH_USER="${GLOSSA_USER:-bench}" DOC_URL="$R_DOC"
      export ARTICLE VERSION="${G_VERSION:-1}" QUOTE START="${G_START:-0}" END="${G_END:-17}"
      export READER_TOKENS="" SERVER_PID="$REF_PID"
      run_one "reference-$n" "$n"
    )
  fi
done

# ---------------------------------------------------------------------------
# results file and table

mkdir -p "$(dirname "$OUT")"
node - "$RESULTS" "$OUT" <<'EOF'
const fs = require("fs")
const os = require("os")
const [resultsFile, out] = process.argv.slice(2).filter(a => a !== "-")
const results = fs.readFileSync(resultsFile, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l))
const e = process.env
const doc = {
  generated: new Date().toISOString(),
  host: { cpus: os.cpus().length, cpu_model: (os.cpus()[0] || {}).model, mem_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
  glossa: e.GLOSSA_URL ? { url: e.GLOSSA_URL, pid: e.GLOSSA_PID ? Number(e.GLOSSA_PID) : null, exe: e.GLOSSA_PID ? (() => { try { return fs.readlinkSync(`/proc/${e.GLOSSA_PID}/exe`) } catch { return null } })() : null } : null,
  params: { threads: Number(e.THREADS), edits: Number(e.EDITS || 20), writers: e.WRITERS ? Number(e.WRITERS) : "min(clients,10)", pause_ms: Number(e.PAUSE_MS || 150), article: e.ARTICLE, quote: e.QUOTE },
  results,
}
// Ratios per client count where both servers ran: above 1 means Glossa is better.
const ratio = (a, b) => (a > 0 && b > 0 ? Math.round((a / b) * 100) / 100 : null)
doc.ratios = []
for (const g of results.filter(r => r.ok && r.label.startsWith("glossa"))) {
  const ref = results.find(r => r.ok && r.label.startsWith("reference") && r.clients === g.clients)
  if (!ref) continue
  doc.ratios.push({
    clients: g.clients,
    fanout_p50: ratio(ref.fanout_ms.p50, g.fanout_ms.p50),
    fanout_p99: ratio(ref.fanout_ms.p99, g.fanout_ms.p99),
    edits_per_s: ratio(g.edits_per_s, ref.edits_per_s),
    server_cpu_per_edit: ratio(ref.server && ref.server.cpu_ms_per_edit, g.server && g.server.cpu_ms_per_edit),
    server_rss_after: ratio(ref.server && ref.server.rss_kb_after, g.server && g.server.rss_kb_after),
  })
}
fs.writeFileSync(out, JSON.stringify(doc, null, 2) + "\n")

const cols = [
  ["server", r => r.label.replace(/-\d+$/, "")],
  ["clients", r => r.clients],
  ["ok", r => (r.skipped ? "skip" : r.ok ? "yes" : "NO")],
  ["edits", r => (r.edits_planned ? `${r.edits}/${r.edits_planned}` : "")],
  ["connect s", r => r.connect_s],
  ["fanout p50", r => r.fanout_ms && r.fanout_ms.p50],
  ["p90", r => r.fanout_ms && r.fanout_ms.p90],
  ["p99", r => r.fanout_ms && r.fanout_ms.p99],
  ["max", r => r.fanout_ms && r.fanout_ms.max],
  ["deliv p50", r => r.delivery_ms && r.delivery_ms.p50],
  ["deliv p99", r => r.delivery_ms && r.delivery_ms.p99],
  ["edits/s", r => r.edits_per_s],
  ["srv cpu ms/edit", r => r.server && r.server.cpu_ms_per_edit],
  ["srv rss MB", r => r.server && r.server.rss_kb_before != null ? `${(r.server.rss_kb_before / 1024).toFixed(0)}->${(r.server.rss_kb_after / 1024).toFixed(0)}` : ""],
  ["bench cpu ms/edit", r => r.client_cpu_s && r.client_cpu_s.ms_per_edit],
]
const rows = results.map(r => cols.map(([, f]) => { const v = f(r); return v === null || v === undefined ? "" : String(v) }))
const head = cols.map(([h]) => h)
const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
const fmt = r => r.map((c, i) => (i < 1 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")
console.log(fmt(head))
console.log(w.map(n => "-".repeat(n)).join("  "))
for (const r of rows) console.log(fmt(r))
console.log("(latencies in ms; fan-out = until the last of the other clients has the edit)")
for (const r of doc.ratios) {
  const x = v => (v === null ? "n/a" : `${v}×`)
  console.log(`ratios at ${r.clients} clients (above 1: Glossa better): fan-out p50 ${x(r.fanout_p50)}, p99 ${x(r.fanout_p99)}, edits/s ${x(r.edits_per_s)}, server CPU per edit ${x(r.server_cpu_per_edit)}, server RSS ${x(r.server_rss_after)}`)
}
for (const r of results) {
  if (r.skipped) console.log(`${r.label}: skipped: ${r.skipped}`)
  else if (!r.ok) console.log(`${r.label}: FAILED: ${(r.errors || []).join("; ").slice(0, 400)}`)
}
console.log(`results written to ${out}`)
// exit 1 if a run failed (skipped runs do not count)
if (results.some(r => !r.ok && !r.skipped)) process.exitCode = 1
EOF
