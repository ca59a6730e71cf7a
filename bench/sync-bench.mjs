#!/usr/bin/env node
// Fan-out latency benchmark for an automerge-repo compatible sync server
// (Glossa's /sync, or tests/js/reference-server.mjs for a baseline).
//
//   node bench/sync-bench.mjs [--clients 100] [--writers 10] [--edits 20] ...
//
// Every input can be given as an environment variable or as a flag: FOO_BAR
// is `--foo-bar VALUE` or `--foo-bar=VALUE` (flags win). See bench/README.md.
//
// Workload: CLIENTS repos (each with its own BrowserWebSocketClientAdapter,
// i.e. its own socket; connected in batches of BATCH) find DOC_URL. Client 0
// adds a fresh comment annotation (creator = USER) and everyone waits until
// all clients have it. Then WRITERS writers take turns appending ` m<w>-<n>`
// to that annotation's body (an Automerge text splice at the end), EDITS
// times each, strictly one edit at a time: each edit is timed from just before
// the writer's change() until every other client's doc contains the marker
// (seen through the handles' "change" events). Between edits the bench idles
// PAUSE_MS so that automerge-repo's 100 ms per-document sync throttle (on the
// clients and on a JS server) starts every edit from rest.
//
// Output: one JSON object on stdout and a one-line summary on stderr. Exit 0
// if every edit reached every client, 1 otherwise (the JSON then has
// ok:false and the errors), 2 on a usage error. Every wait is bounded.
//
// The automerge packages are loaded from ../tests/js/node_modules (run
// `npm ci` there once); GLOSSA_JS_DIR overrides that directory.

import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { performance } from "node:perf_hooks"

// ---------------------------------------------------------------------------
// configuration: env vars, overridden by --flags

const flags = parseFlags(process.argv.slice(2))

function parseFlags(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === "-h" || a === "--help") {
      process.stderr.write(
        "usage: node sync-bench.mjs [--ws-url ws://HOST:PORT/sync] [--token T] [--user U] [--doc-url automerge:...]\n" +
          "       [--clients N] [--writers W] [--edits E] [--article SLUG --version V --quote Q --start S --end E]\n" +
          "       [--reader-tokens T1,T2,...] [--server-pid PID] [--label L] [--batch 25] [--pause-ms 150]\n" +
          "       [--edit-timeout-ms 30000] [--connect-timeout-ms 30000] [--run-timeout-ms 900000]\n" +
          "Every flag can also be given as an environment variable (--ws-url = WS_URL). See bench/README.md.\n"
      )
      process.exit(0)
    }
    if (!a.startsWith("--")) usage(`unexpected argument ${JSON.stringify(a)}`)
    let [k, v] = a.slice(2).split(/=(.*)/s, 2)
    if (v === undefined) {
      if (i + 1 >= argv.length) usage(`flag --${k} needs a value`)
      v = argv[++i]
    }
    out[k.toUpperCase().replace(/-/g, "_")] = v
  }
  return out
}

function usage(msg) {
  process.stderr.write(`sync-bench: ${msg} (--help for usage)\n`)
  process.exit(2)
}

function opt(name, dflt) {
  if (flags[name] !== undefined) return flags[name]
  // USER is also the login name in most shells; BENCH_USER wins over it.
  if (name === "USER" && process.env.BENCH_USER) return process.env.BENCH_USER
  const v = process.env[name]
  return v === undefined || v === "" ? dflt : v
}

function req(name) {
  const v = opt(name)
  if (v === undefined) usage(`${name} is required`)
  return v
}

function int(name, dflt, { min = 1 } = {}) {
  const raw = opt(name)
  if (raw === undefined) return dflt
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) usage(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`)
  return n
}

const WS_URL = req("WS_URL")
const TOKEN = opt("TOKEN", "bench")
const USER = req("USER")
const DOC_URL = req("DOC_URL")
const CLIENTS = int("CLIENTS", 10, { min: 2 })
const WRITERS = Math.min(int("WRITERS", Math.min(CLIENTS, 10)), CLIENTS)
const EDITS = int("EDITS", 20)
const LABEL = opt("LABEL", "sync")
const BATCH = int("BATCH", 25)
const PAUSE_MS = int("PAUSE_MS", 150, { min: 0 })
const EDIT_TIMEOUT_MS = int("EDIT_TIMEOUT_MS", 30_000)
const CONNECT_TIMEOUT_MS = int("CONNECT_TIMEOUT_MS", 30_000)
const RUN_TIMEOUT_MS = int("RUN_TIMEOUT_MS", 900_000)
const MAX_CONSECUTIVE_TIMEOUTS = int("MAX_CONSECUTIVE_TIMEOUTS", 3)
const SERVER_PID = opt("SERVER_PID") === undefined ? undefined : int("SERVER_PID", undefined)
// Tokens for the clients that only read (round-robin). Servers that cap
// connections per user (Glossa: 32 by default) need several users for big N.
// The setup client and the writers always use TOKEN, whose user is USER.
const READER_TOKENS = (() => {
  let v = opt("READER_TOKENS", "")
  if (v.startsWith("@")) v = readFileSync(v.slice(1), "utf8")
  return v.split(/[\s,]+/).filter(Boolean)
})()
const TARGET = {
  article: opt("ARTICLE", "bench-article"),
  version: int("VERSION", 1, { min: 0 }),
  exact: opt("QUOTE", "bench"),
  prefix: "",
  suffix: "",
  start: int("START", 0, { min: 0 }),
  end: int("END", 5, { min: 0 }),
}

// ---------------------------------------------------------------------------
// load automerge-repo from tests/js/node_modules (ESM ignores NODE_PATH, so
// resolve the files with a require rooted there and import them by URL; the
// packages' own imports then resolve inside that node_modules as usual).

const HERE = dirname(fileURLToPath(import.meta.url))
const JS_DIR = resolve(process.env.GLOSSA_JS_DIR || join(HERE, "..", "tests", "js"))
const jsRequire = createRequire(join(JS_DIR, "package.json"))

async function load(name) {
  let file
  try {
    file = jsRequire.resolve(name)
  } catch (e) {
    process.stderr.write(
      `sync-bench: cannot find ${name} under ${JS_DIR}/node_modules (run \`npm ci\` in ${JS_DIR}): ${e.message}\n`
    )
    process.exit(2)
  }
  return import(pathToFileURL(file).href)
}

const { Repo, splice } = await load("@automerge/automerge-repo")
const { BrowserWebSocketClientAdapter } = await load("@automerge/automerge-repo-network-websocket")

// ---------------------------------------------------------------------------
// plumbing: failure, tolerated socket errors, watchdog

const sleep = ms => new Promise(r => setTimeout(r, ms))
const now = () => performance.now()
const t0Run = now()
const log = msg => {
  if (process.env.BENCH_DEBUG) process.stderr.write(`[${((now() - t0Run) / 1000).toFixed(2)}s] ${msg}\n`)
}

class BenchFailed extends Error {}
const fail = msg => {
  throw new BenchFailed(msg)
}

const errors = []
let toleratedSocketErrors = 0
let lastSocketError = null
let finished = false

// The 2.5.6 client adapter throws from its socket "error" listener for any
// error other than ECONNREFUSED (ECONNRESET, "Unexpected server response:
// 429", ...), and its send() throws "Websocket not ready" while a socket is
// closing. These surface as uncaught exceptions; the client recovers by
// reconnecting, so count them and carry on (as tests/js/scenario.mjs does).
const TOLERATED_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EHOSTUNREACH"])
const TOLERATED_MESSAGES = [
  /Websocket not ready/i,
  /Unexpected server response/i,
  /WebSocket was closed before the connection was established/i,
  /socket hang up/i,
  /Invalid WebSocket frame/i,
]
function onUncaught(err) {
  const code = err && err.code
  const message = String((err && err.message) || err)
  if (TOLERATED_CODES.has(code) || TOLERATED_MESSAGES.some(re => re.test(message))) {
    toleratedSocketErrors++
    lastSocketError = code ? `${code}: ${message}` : message
    log(`tolerated websocket error: ${lastSocketError}`)
    return
  }
  errors.push(`unexpected exception: ${err && err.stack ? err.stack : message}`)
  finish(false)
}
process.on("uncaughtException", onUncaught)
process.on("unhandledRejection", onUncaught)

const watchdog = setTimeout(() => {
  errors.push(`run did not finish within RUN_TIMEOUT_MS=${RUN_TIMEOUT_MS} ms`)
  finish(false)
}, RUN_TIMEOUT_MS)
watchdog.unref()

async function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new BenchFailed(`timed out after ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function waitFor(what, probe, ms) {
  const deadline = Date.now() + ms
  for (;;) {
    if (probe()) return
    if (Date.now() >= deadline) fail(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(20)
  }
}

// ---------------------------------------------------------------------------
// server and process sampling

let CLK_TCK = 100
try {
  CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
} catch {}

function sampleServer() {
  if (SERVER_PID === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${SERVER_PID}/stat`, "utf8")
    // fields after the ")" that closes comm: state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const cpu_s = (Number(rest[11]) + Number(rest[12])) / CLK_TCK
    const status = readFileSync(`/proc/${SERVER_PID}/status`, "utf8")
    const kb = key => {
      const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))
      return m ? Number(m[1]) : null
    }
    return { cpu_s, rss_kb: kb("VmRSS"), hwm_kb: kb("VmHWM"), threads: Number((status.match(/^Threads:\s+(\d+)/m) || [])[1]) }
  } catch (e) {
    errors.push(`cannot sample SERVER_PID=${SERVER_PID}: ${e.message}`)
    return undefined
  }
}

// ---------------------------------------------------------------------------
// statistics

const roundTo = (x, digits) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits))
const round = x => roundTo(x, 1)
const round2 = x => roundTo(x, 2)
function pct(sorted, p) {
  if (!sorted.length) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}
const cpuSum = u => u.user + u.system
function stats(xs) {
  const s = Float64Array.from(xs).sort()
  const mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null
  return {
    n: xs.length,
    p50: round(pct(s, 50)),
    p90: round(pct(s, 90)),
    p99: round(pct(s, 99)),
    max: round(s.length ? s[s.length - 1] : null),
    mean: round(mean),
  }
}

// ---------------------------------------------------------------------------
// clients

function urlFor(token) {
  const sep = WS_URL.includes("?") ? "&" : "?"
  return `${WS_URL}${sep}token=${encodeURIComponent(token)}`
}

const annId = `bench-${randomBytes(6).toString("hex")}`
const bodyPath = ["annotations", annId, "body"]

/** @type {{i:number, token:string, repo:any, handle:any}[]} */
const clients = []
const repos = []

// The measurement currently in flight: a predicate over a client's doc, the
// start time and when each client first satisfied it.
let current = null

function bodyOf(handle) {
  const doc = handle.doc()
  const a = doc && doc.annotations ? doc.annotations[annId] : undefined
  return a && a.body !== undefined ? String(a.body) : undefined
}

function check(c) {
  const m = current
  if (!m || m.seen[c.i] !== undefined || c.i === m.from) return
  let ok = false
  try {
    ok = m.test(c.handle)
  } catch {}
  if (!ok) return
  m.seen[c.i] = now() - m.t0
  if (--m.left === 0) m.resolve()
}

/** Start timing a change made by client `from` (excluded) and seen via `test`. */
function measure(from, test, what, change) {
  let resolveFn
  const done = new Promise(r => (resolveFn = r))
  const m = { from, test, what, seen: new Array(clients.length), left: clients.length - 1, resolve: resolveFn, t0: 0 }
  current = m
  m.t0 = now()
  change()
  for (const c of clients) check(c) // in case someone already had it (should not happen)
  return { m, done }
}

async function connectClient(i, token) {
  const adapter = new BrowserWebSocketClientAdapter(urlFor(token))
  const repo = new Repo({ network: [adapter], peerId: `bench-${i}-${randomBytes(4).toString("hex")}` })
  repos.push(repo)
  const c = { i, token, repo, handle: null }
  const deadline = Date.now() + CONNECT_TIMEOUT_MS
  await waitFor(
    `client ${i} to complete the join/peer handshake with ${WS_URL} (server down, wrong path, token rejected, or per-user connection limit hit?)`,
    () => repo.peers.length > 0,
    CONNECT_TIMEOUT_MS
  )
  const left = Math.max(1_000, deadline - Date.now())
  const handle = await withTimeout(
    repo.find(DOC_URL, { signal: AbortSignal.timeout(left) }),
    left + 500,
    `client ${i} find(${DOC_URL})`
  )
  await waitFor(
    `client ${i} to see an \`annotations\` map in ${DOC_URL}`,
    () => {
      const d = handle.doc()
      return d && d.annotations && typeof d.annotations === "object"
    },
    Math.max(1_000, deadline - Date.now())
  )
  c.handle = handle
  handle.on("change", () => check(c))
  return c
}

// ---------------------------------------------------------------------------
// the run

const result = {
  label: LABEL,
  ok: false,
  clients: CLIENTS,
  writers: WRITERS,
  edits: 0,
  edits_planned: WRITERS * EDITS,
  fanout_ms: null,
  delivery_ms: null,
  edits_per_s: null,
  edits_per_s_wall: null,
  edit_phase_s: null,
  connect_s: null,
  create_fanout_ms: null,
  run_s: null,
  pause_ms: PAUSE_MS,
  timeouts: 0,
  tolerated_socket_errors: 0,
  client_cpu_s: null,
  server: undefined,
  ws_url: WS_URL,
  doc_url: DOC_URL,
  annotation: annId,
  errors,
}

async function run() {
  const s0 = sampleServer()
  const cpu0 = process.cpuUsage()

  // 1. connect in batches; the writers and client 0 use TOKEN
  const writerIdx = new Set()
  for (let w = 0; w < WRITERS; w++) writerIdx.add(Math.floor((w * CLIENTS) / WRITERS))
  let r = 0
  const tokenFor = i => (writerIdx.has(i) || READER_TOKENS.length === 0 ? TOKEN : READER_TOKENS[r++ % READER_TOKENS.length])
  const tConnect = now()
  for (let b = 0; b < CLIENTS; b += BATCH) {
    const batch = []
    for (let i = b; i < Math.min(CLIENTS, b + BATCH); i++) batch.push(connectClient(i, tokenFor(i)))
    const settled = await Promise.allSettled(batch)
    const bad = settled.filter(s => s.status === "rejected")
    if (bad.length) {
      fail(`${bad.length} of clients ${b}..${b + batch.length - 1} could not connect: ${bad[0].reason && bad[0].reason.message}`)
    }
    for (const s of settled) clients[s.value.i] = s.value
    log(`connected ${Math.min(CLIENTS, b + BATCH)}/${CLIENTS}`)
  }
  result.connect_s = round2((now() - tConnect) / 1000)
  const sConnected = sampleServer()

  // 2. client 0 creates the annotation; wait until everyone has it
  const stamp = new Date().toISOString()
  const annotation = {
    id: annId,
    kind: "comment",
    status: "open",
    creator: USER,
    created: stamp,
    modified: stamp,
    body: "bench",
    tags: [],
    sources: [],
    replies: [],
    deleted: false,
    targets: [TARGET],
  }
  const setup = clients[0]
  const created = measure(
    0,
    h => bodyOf(h) === "bench",
    "annotation creation",
    () => setup.handle.change(d => (d.annotations[annId] = annotation))
  )
  try {
    await withTimeout(created.done, EDIT_TIMEOUT_MS, "")
  } catch {
    const missing = clients.length - 1 - created.m.left
    fail(
      `only ${missing} of ${clients.length - 1} clients saw the new annotation ${annId} within ${EDIT_TIMEOUT_MS} ms` +
        ` (does the server accept it? creator=${JSON.stringify(USER)} must be TOKEN's user; USER is also your login name: pass --user or BENCH_USER;` +
        ` article/version/quote/start/end must match the article)`
    )
  }
  result.create_fanout_ms = round(Math.max(...created.m.seen.filter(x => x !== undefined)))
  current = null
  await sleep(PAUSE_MS)
  if (bodyOf(setup.handle) !== "bench") fail(`the server changed the new annotation (body is now ${JSON.stringify(bodyOf(setup.handle))}); is it valid for this server?`)

  // 3. writers take turns, one edit at a time
  const writers = [...writerIdx].sort((a, b) => a - b).map(i => clients[i])
  const fanout = []
  const delivery = []
  let active = 0
  let consecutiveTimeouts = 0
  const sEdits = sampleServer()
  const cpuEdits = process.cpuUsage()
  const tEdits = now()
  for (let n = 0; n < EDITS; n++) {
    for (let w = 0; w < writers.length; w++) {
      const writer = writers[w]
      const marker = ` m${w}-${n}`
      const seenMarker = h => {
        const b = bodyOf(h)
        return b !== undefined && (b.endsWith(marker) || b.includes(marker + " "))
      }
      const e = measure(writer.i, seenMarker, marker, () =>
        writer.handle.change(d => splice(d, bodyPath, d.annotations[annId].body.length, 0, marker))
      )
      try {
        await withTimeout(e.done, EDIT_TIMEOUT_MS, "")
        const seen = e.m.seen.filter(x => x !== undefined)
        const last = Math.max(...seen)
        fanout.push(last)
        for (const x of seen) delivery.push(x)
        active += last
        consecutiveTimeouts = 0
      } catch {
        result.timeouts++
        consecutiveTimeouts++
        active += EDIT_TIMEOUT_MS
        const missing = clients.filter(c => c.i !== writer.i && e.m.seen[c.i] === undefined).map(c => c.i)
        errors.push(
          `edit "${marker.trim()}" by client ${writer.i}: ${missing.length} of ${clients.length - 1} clients did not see it within ${EDIT_TIMEOUT_MS} ms (e.g. clients ${missing.slice(0, 5).join(", ")})`
        )
        if (consecutiveTimeouts >= MAX_CONSECUTIVE_TIMEOUTS) fail(`${consecutiveTimeouts} edits in a row timed out; giving up`)
      }
      current = null
      if (PAUSE_MS) await sleep(PAUSE_MS)
    }
  }
  const editPhase = now() - tEdits
  const cpuEnd = process.cpuUsage(cpuEdits)
  const sEnd = sampleServer()

  // 4. sanity: everyone converged on the same body
  const expectedLen = bodyOf(setup.handle).length
  const lagging = clients.filter(c => bodyOf(c.handle) !== bodyOf(setup.handle)).length
  if (lagging) {
    await sleep(1_000)
    const still = clients.filter(c => bodyOf(c.handle) !== bodyOf(setup.handle)).length
    if (still) errors.push(`${still} clients have a different body from client 0 at the end (length ${expectedLen})`)
  }

  result.edits = fanout.length
  result.fanout_ms = stats(fanout)
  const d = stats(delivery)
  result.delivery_ms = { n: d.n, p50: d.p50, p90: d.p90, p99: d.p99, max: d.max, mean: d.mean }
  // Sequential throughput: edits fully delivered per second of edit-phase time,
  // not counting the deliberate PAUSE_MS idling between edits.
  result.edits_per_s = active > 0 ? round((fanout.length / active) * 1000) : null
  result.edits_per_s_wall = round((fanout.length / editPhase) * 1000)
  result.edit_phase_s = round2(editPhase / 1000)
  result.client_cpu_s = {
    total: round2(cpuSum(process.cpuUsage(cpu0)) / 1e6),
    edits: round2(cpuSum(cpuEnd) / 1e6),
    // share of one core the bench process used during the edit phase (pauses
    // included); near 100 means the clients, not the server, are the bottleneck
    edits_core_pct: round((cpuSum(cpuEnd) / 1e3 / editPhase) * 100),
  }
  if (s0) {
    result.server = {
      pid: SERVER_PID,
      cpu_s: round2(sEnd.cpu_s - s0.cpu_s),
      cpu_s_connect: round2(sConnected.cpu_s - s0.cpu_s),
      cpu_s_edits: round2(sEnd.cpu_s - sEdits.cpu_s),
      cpu_ms_per_edit: fanout.length ? round(((sEnd.cpu_s - sEdits.cpu_s) * 1000) / fanout.length) : null,
      rss_kb_before: s0.rss_kb,
      rss_kb_connected: sConnected.rss_kb,
      rss_kb_after: sEnd.rss_kb,
      hwm_kb_after: sEnd.hwm_kb,
      threads: sEnd.threads,
    }
  }
  return errors.length === 0
}

async function finish(ok) {
  if (finished) return
  finished = true
  current = null
  result.ok = ok && errors.length === 0
  result.run_s = round2((now() - t0Run) / 1000)
  result.tolerated_socket_errors = toleratedSocketErrors
  if (lastSocketError) result.last_socket_error = lastSocketError
  if (result.server === undefined && SERVER_PID !== undefined) {
    const s = sampleServer()
    if (s) result.server = { pid: SERVER_PID, rss_kb_after: s.rss_kb }
  }
  process.stdout.write(JSON.stringify(result) + "\n")
  const f = result.fanout_ms || {}
  const srv = result.server && result.server.cpu_s !== undefined
    ? ` | server cpu ${result.server.cpu_s}s (${result.server.cpu_ms_per_edit} ms/edit), rss ${result.server.rss_kb_before}->${result.server.rss_kb_after} kB`
    : ""
  process.stderr.write(
    `[${LABEL}] ${result.ok ? "ok" : "FAILED"} clients=${CLIENTS} writers=${WRITERS} edits=${result.edits}/${result.edits_planned}` +
      ` connect=${result.connect_s}s fanout p50=${f.p50} p90=${f.p90} p99=${f.p99} max=${f.max} mean=${f.mean} ms` +
      ` delivery p50=${result.delivery_ms ? result.delivery_ms.p50 : null} p99=${result.delivery_ms ? result.delivery_ms.p99 : null} ms` +
      ` ${result.edits_per_s} edits/s${srv}` +
      (errors.length ? `\n[${LABEL}] errors: ${errors.join("; ")}` : "") +
      "\n"
  )
  await Promise.race([Promise.allSettled(repos.map(r => r.shutdown())), sleep(3_000)])
  process.exit(result.ok ? 0 : 1)
}

try {
  const ok = await run()
  await finish(ok)
} catch (e) {
  errors.push(e instanceof BenchFailed ? e.message : e && e.stack ? e.stack : String(e))
  await finish(false)
}
