#!/usr/bin/env node
// Fan-out latency benchmark for an automerge-repo compatible sync server
// (Glossa's /sync, or tests/js/reference-server.mjs as a baseline).
//
//   node bench/sync-bench.mjs [--clients 100] [--writers 10] [--edits 20] ...
//
// Every input is an environment variable or a flag: FOO_BAR is
// `--foo-bar VALUE` or `--foo-bar=VALUE` (flags win). See bench/README.md.
//
// Workload: CLIENTS repos, each with its own BrowserWebSocketClientAdapter
// (its own socket), connected BATCH at a time, find DOC_URL. Client 0 adds a
// fresh comment annotation (creator = USER) and everyone waits until all
// clients have it. Then WRITERS writers take turns appending ` m<w>-<n>` to
// the annotation's body (an Automerge text splice at the end), EDITS times
// each, strictly one edit at a time. Each edit is timed from just before the
// writer's change() until every other client's doc contains the marker (seen
// in the handles' "change" events). Between edits the bench idles PAUSE_MS so
// that automerge-repo's 100 ms per-document sync throttle (on the clients, and
// on a JS server) starts every edit from rest.
//
// The clients run in THREADS worker threads (client i in thread i % THREADS):
// an automerge-repo client spends ~1-2 ms of CPU per incoming change, so with
// all clients on one thread the fan-out to N clients costs the bench N times
// that, serially. Look at client_cpu_s.edits_core_pct: near 100 × THREADS
// means the bench, not the server, is the bottleneck.
//
// Output: one JSON object on stdout and a one-line summary on stderr. Exit 0
// if every edit reached every client, 1 otherwise (the JSON then has ok:false
// and `errors`), 2 on a usage error. Every wait is bounded.
//
// The automerge packages are loaded from ../tests/js/node_modules (run
// `npm ci` there once); GLOSSA_JS_DIR overrides that directory.

import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads"

const sleep = ms => new Promise(r => setTimeout(r, ms))
// CLOCK_MONOTONIC in ms: the same clock in every thread of the process.
const now = () => Number(process.hrtime.bigint()) / 1e6

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
function toleratedError(err) {
  const code = err && err.code
  const message = String((err && err.message) || err)
  if (TOLERATED_CODES.has(code) || TOLERATED_MESSAGES.some(re => re.test(message))) {
    return code ? `${code}: ${message}` : message
  }
  return null
}

class BenchFailed extends Error {}
const fail = msg => {
  throw new BenchFailed(msg)
}

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

if (isMainThread) await main()
else await worker()

// ===========================================================================
// main thread: configuration, orchestration, statistics, output

async function main() {
  const flags = parseFlags(process.argv.slice(2))

  function parseFlags(argv) {
    const out = {}
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]
      if (a === "-h" || a === "--help") {
        process.stderr.write(
          "usage: node sync-bench.mjs --ws-url ws://HOST:PORT/sync --token T --user U --doc-url automerge:...\n" +
            "       [--clients 10] [--writers min(N,10)] [--edits 20] [--threads 1] [--label L] [--server-pid PID]\n" +
            "       [--article SLUG --version V --quote Q --start S --end E] [--reader-tokens T1,T2,...|@file]\n" +
            "       [--batch 25] [--pause-ms 150] [--edit-timeout-ms 30000] [--connect-timeout-ms 30000]\n" +
            "       [--run-timeout-ms 900000] [--max-consecutive-timeouts 3]\n" +
            "Every flag can also be an environment variable (--ws-url = WS_URL; BENCH_USER beats USER). See bench/README.md.\n"
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
  const THREADS = Math.min(int("THREADS", 1), CLIENTS)
  const LABEL = opt("LABEL", "sync")
  const BATCH = int("BATCH", 25)
  const PAUSE_MS = int("PAUSE_MS", 150, { min: 0 })
  const EDIT_TIMEOUT_MS = int("EDIT_TIMEOUT_MS", 30_000)
  const CONNECT_TIMEOUT_MS = int("CONNECT_TIMEOUT_MS", 30_000)
  const RUN_TIMEOUT_MS = int("RUN_TIMEOUT_MS", 900_000)
  const MAX_CONSECUTIVE_TIMEOUTS = int("MAX_CONSECUTIVE_TIMEOUTS", 3)
  const SERVER_PID = opt("SERVER_PID") === undefined ? undefined : int("SERVER_PID", undefined)
  // Tokens for the clients that only read, used round-robin. Servers that cap
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

  const t0Run = now()
  const log = msg => {
    if (process.env.BENCH_DEBUG) process.stderr.write(`[${((now() - t0Run) / 1000).toFixed(2)}s] ${msg}\n`)
  }

  const errors = []
  let toleratedSocketErrors = 0
  let lastSocketError = null
  let finished = false

  function onUncaught(err) {
    const t = toleratedError(err)
    if (t) {
      toleratedSocketErrors++
      lastSocketError = t
      return
    }
    errors.push(`unexpected exception: ${err && err.stack ? err.stack : String(err)}`)
    finish(false)
  }
  process.on("uncaughtException", onUncaught)
  process.on("unhandledRejection", onUncaught)

  const watchdog = setTimeout(() => {
    errors.push(`run did not finish within RUN_TIMEOUT_MS=${RUN_TIMEOUT_MS} ms`)
    finish(false)
  }, RUN_TIMEOUT_MS)
  watchdog.unref()

  // ---- server and process sampling

  let CLK_TCK = 100
  try {
    CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {}

  function sampleServer() {
    if (SERVER_PID === undefined) return undefined
    try {
      const stat = readFileSync(`/proc/${SERVER_PID}/stat`, "utf8")
      // fields after the ")" that closes comm: [0] is field 3 (state); utime is 14, stime 15
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      const cpu_s = (Number(rest[11]) + Number(rest[12])) / CLK_TCK
      const status = readFileSync(`/proc/${SERVER_PID}/status`, "utf8")
      const kb = key => {
        const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))
        return m ? Number(m[1]) : null
      }
      return {
        cpu_s,
        rss_kb: kb("VmRSS"),
        hwm_kb: kb("VmHWM"),
        threads: Number((status.match(/^Threads:\s+(\d+)/m) || [])[1]),
      }
    } catch (e) {
      errors.push(`cannot sample SERVER_PID=${SERVER_PID}: ${e.message}`)
      return undefined
    }
  }

  // ---- statistics

  const roundTo = (x, digits) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)))
  const round = x => roundTo(x, 1)
  const round2 = x => roundTo(x, 2)
  const cpuSum = u => u.user + u.system
  function pct(sorted, p) {
    if (!sorted.length) return null
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
    return sorted[i]
  }
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

  // ---- worker threads, each holding clients i with i % THREADS == its number

  const annId = `bench-${randomBytes(6).toString("hex")}`
  const workers = []
  let nextReq = 0
  const pendingReplies = new Map()
  let current = null // the change being timed: { id, from, t0, seen[], left, resolve }

  function onWorkerMessage(msg) {
    switch (msg.type) {
      case "seen": {
        const m = current
        if (!m || m.id !== msg.id || m.seen[msg.i] !== undefined || msg.i === m.from) return
        m.seen[msg.i] = msg.t
        if (--m.left === 0) m.resolve()
        return
      }
      case "t0":
        if (current && current.id === msg.id) current.t0 = msg.t0
        return
      case "reply": {
        const p = pendingReplies.get(msg.req)
        if (p) {
          pendingReplies.delete(msg.req)
          if (msg.error) p.reject(new BenchFailed(msg.error))
          else p.resolve(msg.value)
        }
        return
      }
      case "socket-error":
        toleratedSocketErrors++
        lastSocketError = msg.error
        return
      case "fatal":
        errors.push(`worker ${msg.thread}: ${msg.error}`)
        finish(false)
        return
      case "log":
        log(msg.text)
        return
    }
  }

  /** Ask worker `w` to do `op`; resolves with its reply. */
  function call(w, op, args = {}) {
    const reqId = nextReq++
    return new Promise((resolve, reject) => {
      pendingReplies.set(reqId, { resolve, reject })
      workers[w].postMessage({ type: "call", req: reqId, op, ...args })
    })
  }

  const threadOf = i => i % THREADS

  // ---- the run

  const result = {
    label: LABEL,
    ok: false,
    clients: CLIENTS,
    writers: WRITERS,
    edits: 0,
    edits_planned: WRITERS * EDITS,
    threads: THREADS,
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

  /**
   * Time one change: every worker starts watching for `expect`, then the
   * worker holding client `from` makes the change (`change`) and reports t0.
   */
  async function timeChange(from, expect, change) {
    const id = nextReq++
    let resolveFn
    const done = new Promise(r => (resolveFn = r))
    const m = { id, from, t0: undefined, seen: new Array(CLIENTS), left: CLIENTS - 1, resolve: resolveFn }
    current = m
    for (const w of workers) w.postMessage({ type: "expect", id, from, expect })
    await call(threadOf(from), "change", { id, i: from, change })
    let timedOut = false
    try {
      await withTimeout(done, EDIT_TIMEOUT_MS, "")
    } catch {
      timedOut = true
    }
    current = null
    for (const w of workers) w.postMessage({ type: "expect", id: -1 })
    const seen = []
    const missing = []
    for (let i = 0; i < CLIENTS; i++) {
      if (i === from) continue
      if (m.seen[i] === undefined) missing.push(i)
      else seen.push(m.seen[i] - m.t0)
    }
    return { timedOut, seen, missing }
  }

  async function run() {
    const s0 = sampleServer()
    const cpu0 = process.cpuUsage()

    // 1. start the worker threads, then connect the clients in batches
    const writerIdx = []
    for (let w = 0; w < WRITERS; w++) writerIdx.push(Math.floor((w * CLIENTS) / WRITERS))
    const isWriter = new Set(writerIdx)
    let r = 0
    const tokens = []
    for (let i = 0; i < CLIENTS; i++) {
      tokens.push(isWriter.has(i) || READER_TOKENS.length === 0 ? TOKEN : READER_TOKENS[r++ % READER_TOKENS.length])
    }
    const cfg = { WS_URL, DOC_URL, CONNECT_TIMEOUT_MS, annId, debug: !!process.env.BENCH_DEBUG }
    for (let t = 0; t < THREADS; t++) {
      const w = new Worker(new URL(import.meta.url), { workerData: { cfg, thread: t } })
      w.on("message", onWorkerMessage)
      w.on("error", e => {
        errors.push(`worker ${t} died: ${e && e.stack ? e.stack : e}`)
        finish(false)
      })
      workers.push(w)
    }
    await Promise.all(workers.map((_, t) => call(t, "ping")))

    const tConnect = now()
    for (let b = 0; b < CLIENTS; b += BATCH) {
      const perThread = workers.map(() => [])
      for (let i = b; i < Math.min(CLIENTS, b + BATCH); i++) perThread[threadOf(i)].push({ i, token: tokens[i] })
      const settled = await Promise.allSettled(
        perThread.map((list, t) => (list.length ? call(t, "connect", { list }) : Promise.resolve()))
      )
      const bad = settled.filter(s => s.status === "rejected")
      if (bad.length) fail(`clients ${b}..${Math.min(CLIENTS, b + BATCH) - 1}: ${bad[0].reason && bad[0].reason.message}`)
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
    const created = await timeChange(0, { body: "bench" }, { create: annotation })
    if (created.timedOut) {
      fail(
        `only ${CLIENTS - 1 - created.missing.length} of ${CLIENTS - 1} clients saw the new annotation ${annId} within ${EDIT_TIMEOUT_MS} ms.` +
          ` Does the server accept it? creator=${JSON.stringify(USER)} must be TOKEN's user (USER is also your login name: pass --user or BENCH_USER),` +
          ` and ARTICLE/VERSION/QUOTE/START/END must match the article`
      )
    }
    result.create_fanout_ms = round(Math.max(...created.seen))
    await sleep(PAUSE_MS)
    const body0 = await call(threadOf(0), "body", { i: 0 })
    if (body0 !== "bench") fail(`the server changed the new annotation (body is now ${JSON.stringify(body0)}); is it valid for this server?`)

    // 3. writers take turns, one edit at a time
    const fanout = []
    const delivery = []
    let active = 0
    let consecutiveTimeouts = 0
    const sEdits = sampleServer()
    const cpuEdits = process.cpuUsage()
    const tEdits = now()
    for (let n = 0; n < EDITS; n++) {
      for (let w = 0; w < WRITERS; w++) {
        const writer = writerIdx[w]
        const marker = ` m${w}-${n}`
        const e = await timeChange(writer, { marker }, { append: marker })
        if (!e.timedOut) {
          const last = Math.max(...e.seen)
          fanout.push(last)
          for (const x of e.seen) delivery.push(x)
          active += last
          consecutiveTimeouts = 0
        } else {
          result.timeouts++
          consecutiveTimeouts++
          active += EDIT_TIMEOUT_MS
          errors.push(
            `edit "${marker.trim()}" by client ${writer}: ${e.missing.length} of ${CLIENTS - 1} clients did not see it within ${EDIT_TIMEOUT_MS} ms (e.g. clients ${e.missing.slice(0, 5).join(", ")})`
          )
          if (consecutiveTimeouts >= MAX_CONSECUTIVE_TIMEOUTS) fail(`${consecutiveTimeouts} edits in a row timed out; giving up`)
        }
        if (PAUSE_MS) await sleep(PAUSE_MS)
      }
    }
    const editPhase = now() - tEdits - PAUSE_MS // the last pause is not part of it
    const cpuEnd = process.cpuUsage(cpuEdits)
    const sEnd = sampleServer()

    // 4. sanity: everyone converged on the same body
    const converged = async () => {
      const bodies = await Promise.all(workers.map((_, t) => call(t, "bodies")))
      const ref = bodies[threadOf(0)].find(([i]) => i === 0)[1]
      return { ref, differ: bodies.flat().filter(([, b]) => b !== ref).length }
    }
    let c = await converged()
    if (c.differ) {
      await sleep(1_000)
      c = await converged()
      if (c.differ) errors.push(`${c.differ} clients have a different body from client 0 at the end`)
    }
    let expected = "bench"
    for (let n = 0; n < EDITS; n++) for (let w = 0; w < WRITERS; w++) expected += ` m${w}-${n}`
    if (c.ref !== expected) errors.push(`client 0's final body is not the ${expected.length} characters expected: ${JSON.stringify(c.ref).slice(0, 200)}`)

    result.edits = fanout.length
    result.fanout_ms = stats(fanout)
    result.delivery_ms = stats(delivery)
    // Sequential throughput: edits fully delivered per second of edit-phase
    // time not counting the deliberate PAUSE_MS idling between edits; the wall
    // figure includes the pauses.
    result.edits_per_s = active > 0 ? round((fanout.length / active) * 1000) : null
    result.edits_per_s_wall = round((fanout.length / editPhase) * 1000)
    result.edit_phase_s = round2(editPhase / 1000)
    result.client_cpu_s = {
      total: round2(cpuSum(process.cpuUsage(cpu0)) / 1e6),
      edits: round2(cpuSum(cpuEnd) / 1e6),
      // CPU the bench process used per edit, and as a share of one core over
      // the whole edit phase (pauses included, when the clients still finish
      // their sync rounds)
      ms_per_edit: fanout.length ? round(cpuSum(cpuEnd) / 1e3 / fanout.length) : null,
      edits_core_pct: round((cpuSum(cpuEnd) / 1e3 / editPhase) * 100),
    }
    if (s0 && sConnected && sEdits && sEnd) {
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
    const d = result.delivery_ms || {}
    const srv =
      result.server && result.server.cpu_s !== undefined
        ? ` | server cpu ${result.server.cpu_s}s (${result.server.cpu_ms_per_edit} ms/edit) rss ${result.server.rss_kb_before}->${result.server.rss_kb_after} kB`
        : ""
    const cli = result.client_cpu_s ? ` | bench cpu ${result.client_cpu_s.ms_per_edit} ms/edit (${result.client_cpu_s.edits_core_pct}% of a core)` : ""
    const measured = result.edits > 0
      ? ` connect=${result.connect_s}s fanout p50=${f.p50} p90=${f.p90} p99=${f.p99} max=${f.max} mean=${f.mean} ms` +
        ` delivery p50=${d.p50} p99=${d.p99} ms ${result.edits_per_s} edits/s${srv}${cli}`
      : result.connect_s !== null ? ` connect=${result.connect_s}s` : ""
    process.stderr.write(
      `[${LABEL}] ${result.ok ? "ok" : "FAILED"} clients=${CLIENTS} writers=${WRITERS} threads=${THREADS} edits=${result.edits}/${result.edits_planned}` +
        measured +
        (errors.length ? `\n[${LABEL}] errors: ${errors.join("; ")}` : "") +
        "\n"
    )
    await Promise.race([
      Promise.allSettled(workers.map((_, t) => call(t, "shutdown"))),
      sleep(4_000),
    ])
    await Promise.allSettled(workers.map(w => w.terminate()))
    process.exit(result.ok ? 0 : 1)
  }

  try {
    const ok = await run()
    await finish(ok)
  } catch (e) {
    errors.push(e instanceof BenchFailed ? e.message : e && e.stack ? e.stack : String(e))
    await finish(false)
  }
}

// ===========================================================================
// worker thread: a share of the clients

async function worker() {
  const { cfg, thread } = workerData
  const post = msg => parentPort.postMessage(msg)
  const log = text => cfg.debug && post({ type: "log", text: `[thread ${thread}] ${text}` })

  process.on("uncaughtException", onUncaught)
  process.on("unhandledRejection", onUncaught)
  function onUncaught(err) {
    const t = toleratedError(err)
    if (t) post({ type: "socket-error", error: t })
    else post({ type: "fatal", thread, error: err && err.stack ? err.stack : String(err) })
  }

  // Load automerge-repo from tests/js/node_modules. ESM ignores NODE_PATH,
  // so resolve the files with a require() rooted there and import them by
  // URL; the packages' own imports then resolve inside that node_modules.
  const HERE = dirname(fileURLToPath(import.meta.url))
  const JS_DIR = resolve(process.env.GLOSSA_JS_DIR || join(HERE, "..", "tests", "js"))
  const jsRequire = createRequire(join(JS_DIR, "package.json"))
  async function load(name) {
    let file
    try {
      file = jsRequire.resolve(name)
    } catch (e) {
      post({ type: "fatal", thread, error: `cannot find ${name} under ${JS_DIR}/node_modules (run \`npm ci\` in ${JS_DIR}): ${e.message}` })
      await sleep(60_000)
    }
    return import(pathToFileURL(file).href)
  }
  const { Repo, splice } = await load("@automerge/automerge-repo")
  const { BrowserWebSocketClientAdapter } = await load("@automerge/automerge-repo-network-websocket")

  const { WS_URL, DOC_URL, CONNECT_TIMEOUT_MS, annId } = cfg
  const bodyPath = ["annotations", annId, "body"]
  const clients = new Map() // i -> { i, repo, handle }
  let expect = null // { id, from, test }

  const urlFor = token => `${WS_URL}${WS_URL.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`

  function bodyOf(handle) {
    const doc = handle.doc()
    const a = doc && doc.annotations ? doc.annotations[annId] : undefined
    return a && a.body !== undefined ? String(a.body) : undefined
  }

  function check(c) {
    const e = expect
    if (!e || c.i === e.from || e.seen.has(c.i)) return
    let ok = false
    try {
      ok = e.test(bodyOf(c.handle))
    } catch {}
    if (!ok) return
    e.seen.add(c.i)
    post({ type: "seen", id: e.id, i: c.i, t: now() })
  }

  async function connect(i, token) {
    const repo = new Repo({
      network: [new BrowserWebSocketClientAdapter(urlFor(token))],
      peerId: `bench-${i}-${randomBytes(4).toString("hex")}`,
    })
    const c = { i, repo, handle: null }
    clients.set(i, c)
    const deadline = Date.now() + CONNECT_TIMEOUT_MS
    await waitFor(
      `client ${i} to complete the join/peer handshake with ${WS_URL} (server down, wrong path, token rejected, or a per-user connection limit hit? see READER_TOKENS)`,
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
  }

  const ops = {
    ping: () => true,
    async connect({ list }) {
      await Promise.all(list.map(({ i, token }) => connect(i, token)))
      log(`${clients.size} clients connected`)
    },
    change({ id, i, change }) {
      const c = clients.get(i)
      const t0 = now()
      if (change.create) {
        c.handle.change(d => {
          if (!d.annotations || typeof d.annotations !== "object") throw new Error("the document has no `annotations` map")
          d.annotations[annId] = change.create
        })
      } else {
        c.handle.change(d => splice(d, bodyPath, d.annotations[annId].body.length, 0, change.append))
      }
      post({ type: "t0", id, t0 })
    },
    body: ({ i }) => bodyOf(clients.get(i).handle),
    bodies: () => [...clients.values()].map(c => [c.i, c.handle ? bodyOf(c.handle) : undefined]),
    async shutdown() {
      await Promise.race([Promise.allSettled([...clients.values()].map(c => c.repo.shutdown())), sleep(3_000)])
    },
  }

  parentPort.on("message", async msg => {
    if (msg.type === "expect") {
      if (msg.id < 0) {
        expect = null
        return
      }
      const { marker, body } = msg.expect
      // Markers are appended in order, so marker k is either at the end of the
      // body or followed by a later marker (which starts with a space).
      const test =
        marker !== undefined
          ? b => b !== undefined && (b.endsWith(marker) || b.includes(marker + " "))
          : b => b === body
      expect = { id: msg.id, from: msg.from, test, seen: new Set() }
      for (const c of clients.values()) if (c.handle) check(c)
      return
    }
    if (msg.type === "call") {
      try {
        const value = await ops[msg.op](msg)
        post({ type: "reply", req: msg.req, value })
      } catch (e) {
        post({ type: "reply", req: msg.req, error: e && e.message ? e.message : String(e) })
      }
    }
  })
}
