#!/usr/bin/env node
// Interop scenarios for Glossa's /sync endpoint, driven by unmodified
// @automerge/automerge-repo 2.5.6 clients (BrowserWebSocketClientAdapter).
//
//   node scenario.mjs <scenario> [args]
//
// Configuration comes from the environment (see README.md). Every scenario
// prints exactly one JSON line of results on stdout when it succeeds (some also
// print a READY / RESTART control line before it) and exits 0; on failure it
// prints a message on stderr and exits non-zero. Every wait is bounded.

import { randomBytes } from "node:crypto"
import { createInterface } from "node:readline"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

import {
  Repo,
  generateAutomergeUrl,
  parseAutomergeUrl,
  splice,
} from "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import WebSocket from "ws"
import { encode as cborEncode, decode as cborDecode } from "cbor-x"

// ---------------------------------------------------------------------------
// configuration

const TIMEOUT_MS = intEnv("TIMEOUT_MS", 20_000) // default bound for any wait
const RECONNECT_TIMEOUT_MS = intEnv("RECONNECT_TIMEOUT_MS", 30_000)
const SCENARIO_TIMEOUT_MS = intEnv("SCENARIO_TIMEOUT_MS", 180_000) // watchdog
const POLL_MS = 25

function intEnv(name, dflt) {
  const v = process.env[name]
  if (v === undefined || v === "") return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`${name} must be a positive integer, got ${JSON.stringify(v)}\n`)
    process.exit(2)
  }
  return n
}

function env(name) {
  const v = process.env[name]
  if (v === undefined || v === "") fail(`environment variable ${name} is required for this scenario`)
  return v
}

function wsUrl(token) {
  const base = env("GLOSSA_WS")
  const sep = base.includes("?") ? "&" : "?"
  return `${base}${sep}token=${encodeURIComponent(token)}`
}

// ---------------------------------------------------------------------------
// process plumbing: output, failure, watchdog, tolerated socket errors

const repos = []
const tempDirs = []
let finished = false
let lastSocketError = null
const startedAt = Date.now()

function log(...args) {
  if (process.env.SCENARIO_DEBUG) console.error(`[${Date.now() - startedAt}ms]`, ...args)
}

function line(s) {
  // stdout is synchronous for pipes and files on Linux, so this is flushed
  // before any later process.exit().
  process.stdout.write(s + "\n")
}

async function shutdownAll() {
  await Promise.race([
    Promise.allSettled(repos.map(r => r.shutdown())),
    sleep(2_000),
  ])
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true })
    } catch {}
  }
}

async function succeed(result) {
  if (finished) return
  finished = true
  line(JSON.stringify(result))
  await shutdownAll()
  process.exit(0)
}

/** Report a failure on stderr and exit non-zero (after a short shutdown). */
function die(message, details) {
  if (finished) return
  finished = true
  let msg = `scenario ${process.argv[2] ?? "?"} FAILED: ${message}`
  if (lastSocketError) msg += ` (last tolerated websocket error: ${lastSocketError})`
  process.stderr.write(msg + "\n")
  if (details !== undefined) process.stderr.write(`details: ${JSON.stringify(details)}\n`)
  Promise.race([shutdownAll(), sleep(1_000)]).finally(() => process.exit(1))
}

/** Abort the running scenario; main() turns this into die(). */
function fail(message, details) {
  throw new ScenarioFailed(message, details)
}

class ScenarioFailed extends Error {
  constructor(message, details) {
    super(message)
    this.details = details
  }
}

// The 2.5.6 client adapter *throws* from its socket "error" listener for any
// error other than ECONNREFUSED (e.g. ECONNRESET when the server is killed,
// "Unexpected server response: 401"), and its send() throws "Websocket not
// ready" if a throttled sync fires while the socket is closing. Those surface
// as uncaught exceptions; they are transport noise the client recovers from by
// reconnecting, so record and tolerate them. Anything else is a failure.
const TOLERATED_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EHOSTUNREACH"])
const TOLERATED_MESSAGES = [
  /Websocket not ready/i,
  /Unexpected server response/i,
  /WebSocket was closed before the connection was established/i,
  /socket hang up/i,
  /Invalid WebSocket frame/i,
]
function onUncaught(err) {
  if (err instanceof ScenarioFailed) return die(err.message, err.details)
  const code = err && err.code
  const message = String((err && err.message) || err)
  if (TOLERATED_CODES.has(code) || TOLERATED_MESSAGES.some(re => re.test(message))) {
    lastSocketError = code ? `${code}: ${message}` : message
    log("tolerated websocket error:", lastSocketError)
    return
  }
  die(`unexpected exception: ${err && err.stack ? err.stack : message}`)
}
process.on("uncaughtException", onUncaught)
process.on("unhandledRejection", onUncaught)

// ---------------------------------------------------------------------------
// helpers

const sleep = ms => new Promise(r => setTimeout(r, ms))

async function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Poll `probe` until it returns a truthy value; fail after `ms`. */
async function waitFor(what, probe, ms = TIMEOUT_MS, describe) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v) return v
    if (Date.now() >= deadline) {
      fail(`timed out after ${ms} ms waiting for ${what}`, describe ? describe() : undefined)
    }
    await sleep(POLL_MS)
  }
}

function newRepo(label, token, { storage = false, retryMs } = {}) {
  const adapter = new BrowserWebSocketClientAdapter(wsUrl(token), retryMs)
  const opts = {
    network: [adapter],
    peerId: `js-${label}-${randomBytes(4).toString("hex")}`,
  }
  if (storage) {
    const dir = mkdtempSync(join(tmpdir(), `glossa-js-${label}-`))
    tempDirs.push(dir)
    opts.storage = new NodeFSStorageAdapter(dir)
  }
  const repo = new Repo(opts)
  repo.label = label
  repo.adapter = adapter
  repos.push(repo)
  return repo
}

/**
 * Wait until the server answered our `join` with `peer`. Without this, a slow
 * handshake makes the 2.5.6 client give up after 1 s with no peers and
 * `find()` rejects with "unavailable", which would make failures misleading.
 */
async function connected(repo, ms = TIMEOUT_MS) {
  await waitFor(
    `repo ${repo.label} to complete the join/peer handshake with ${process.env.GLOSSA_WS} (server down, wrong path or token rejected?)`,
    () => repo.peers.length > 0,
    ms
  )
}

async function find(repo, url, ms = TIMEOUT_MS) {
  await connected(repo, ms)
  const handle = await withTimeout(
    repo.find(url, { signal: AbortSignal.timeout(ms) }),
    ms + 500,
    `repo ${repo.label} find(${url})`
  )
  log(`${repo.label} found ${url}`)
  return handle
}

function ann(handle, id) {
  const doc = handle.doc()
  return doc && doc.annotations ? doc.annotations[id] : undefined
}

function bodyOf(handle, id) {
  const a = ann(handle, id)
  return a && a.body !== undefined ? String(a.body) : undefined
}

function newId() {
  return `js-${randomBytes(6).toString("hex")}`
}

function target() {
  const num = name => {
    const v = Number(env(name))
    if (!Number.isInteger(v)) fail(`${name} must be an integer`)
    return v
  }
  return {
    article: env("ARTICLE"),
    version: num("VERSION"),
    exact: env("QUOTE"),
    prefix: "",
    suffix: "",
    start: num("START"),
    end: num("END"),
  }
}

function annotation(id, creator, body, { kind = "comment", verdict } = {}) {
  const now = new Date().toISOString()
  const a = {
    id,
    kind,
    status: "open",
    creator,
    created: now,
    modified: now,
    body,
    tags: [],
    sources: [],
    replies: [],
    targets: [target()],
    deleted: false,
  }
  if (verdict !== undefined) a.verdict = verdict
  return a
}

function addAnnotation(handle, a) {
  handle.change(d => {
    if (!d.annotations || typeof d.annotations !== "object") {
      throw new Error("document has no `annotations` map")
    }
    d.annotations[a.id] = a
  })
}

const sortedHeads = h => JSON.stringify([...(h.heads() || [])].sort())

/** Resolves with the first line read from stdin (or rejects on EOF). */
function stdinLine() {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin })
    rl.once("line", l => {
      resolve(l)
      rl.close()
      process.stdin.pause()
    })
    rl.once("close", () => reject(new Error("stdin closed before a line arrived")))
  })
}

// ---------------------------------------------------------------------------
// scenarios

const scenarios = {
  // A writes a comment; B opens the same document and must see it.
  async create() {
    const url = env("DOC_URL")
    const userA = env("USER_A")
    const A = newRepo("A", env("TOKEN_A"))
    const B = newRepo("B", env("TOKEN_B"))
    const hA = await find(A, url)
    const id = newId()
    addAnnotation(hA, annotation(id, userA, "note from A"))
    const hB = await find(B, url)
    await waitFor(`B to see annotation ${id} with body "note from A"`, () => bodyOf(hB, id) === "note from A", TIMEOUT_MS, () => ann(hB, id))
    return { id }
  },

  // B alone waits for an annotation written by someone else (e.g. REST).
  async watch(id) {
    if (!id) fail("usage: scenario.mjs watch <annotation-id>")
    const url = env("DOC_URL")
    const B = newRepo("B", env("TOKEN_B"))
    const hB = await find(B, url)
    line("READY")
    const a = await waitFor(`annotation ${id} to appear`, () => {
      const a = ann(hB, id)
      return a && a.kind !== undefined ? a : undefined
    })
    return { id: a.id, kind: a.kind, body: String(a.body), creator: a.creator }
  },

  // Concurrent text edits on the same body converge on both clients.
  async concurrent() {
    const url = env("DOC_URL")
    const A = newRepo("A", env("TOKEN_A"))
    const B = newRepo("B", env("TOKEN_B"))
    const [hA, hB] = await Promise.all([find(A, url), find(B, url)])
    const id = newId()
    addAnnotation(hA, annotation(id, env("USER_A"), "base"))
    await waitFor(`B to see annotation ${id} with body "base"`, () => bodyOf(hB, id) === "base")
    const path = ["annotations", id, "body"]
    // Both edits in the same tick, before either side can hear from the other.
    hA.change(d => splice(d, path, 0, 0, "AAA"))
    hB.change(d => splice(d, path, String(d.annotations[id].body).length, 0, "BBB"))
    const both = h => {
      const b = bodyOf(h, id)
      return b !== undefined && b.includes("AAA") && b.includes("BBB")
    }
    await waitFor("A and B to both see AAA and BBB", () => both(hA) && both(hB), TIMEOUT_MS, () => ({
      bodyA: bodyOf(hA, id),
      bodyB: bodyOf(hB, id),
    }))
    // Give the last sync round a moment, then require identical results.
    await waitFor("A and B bodies to be identical", () => bodyOf(hA, id) === bodyOf(hB, id), TIMEOUT_MS, () => ({
      bodyA: bodyOf(hA, id),
      bodyB: bodyOf(hB, id),
    }))
    const bodyA = bodyOf(hA, id)
    const bodyB = bodyOf(hB, id)
    if (bodyA !== "AAAbaseBBB") fail(`unexpected merged body ${JSON.stringify(bodyA)}`)
    return { id, bodyA, bodyB }
  },

  // Server restart in the middle; B edits while disconnected; both reconverge.
  async offline() {
    const url = env("DOC_URL")
    const A = newRepo("A", env("TOKEN_A"))
    const B = newRepo("B", env("TOKEN_B"))
    const resumed = stdinLine() // start reading now; the line may come early
    resumed.catch(() => {})
    const [hA, hB] = await Promise.all([find(A, url), find(B, url)])
    const id = newId()
    addAnnotation(hA, annotation(id, env("USER_A"), "before restart"))
    await waitFor(`B to see annotation ${id}`, () => bodyOf(hB, id) === "before restart")
    line("RESTART")
    await waitFor(
      "B to notice that the server went away (no peers)",
      () => B.peers.length === 0,
      RECONNECT_TIMEOUT_MS
    )
    const suffix = " edited offline by B"
    hB.change(d => splice(d, ["annotations", id, "body"], String(d.annotations[id].body).length, 0, suffix))
    const editedWhileDisconnected = B.peers.length === 0
    log("B edited offline")
    await withTimeout(resumed, RECONNECT_TIMEOUT_MS * 2, "a line on stdin (server back up)")
    const expected = "before restart" + suffix
    await waitFor(
      `A and B to both see ${JSON.stringify(expected)} after reconnecting`,
      () => bodyOf(hA, id) === expected && bodyOf(hB, id) === expected,
      RECONNECT_TIMEOUT_MS,
      () => ({ bodyA: bodyOf(hA, id), bodyB: bodyOf(hB, id), peersA: A.peers, peersB: B.peers })
    )
    return { id, body: expected, editedWhileDisconnected }
  },

  // A well-formed URL of a document nobody has must be reported unavailable.
  async unavailable() {
    const A = newRepo("A", env("TOKEN_A"))
    await connected(A)
    const url = generateAutomergeUrl()
    const t0 = Date.now()
    let outcome
    try {
      await withTimeout(A.find(url), TIMEOUT_MS, `find(${url}) to settle`)
      outcome = "found"
    } catch (e) {
      outcome = String(e && e.message)
    }
    if (outcome === "found") fail(`find(${url}) resolved for a document that should not exist`)
    if (!/unavailable/i.test(outcome)) fail(`find(${url}) did not report unavailable: ${outcome}`)
    return { unavailable: true, ms: Date.now() - t0 }
  },

  // A (viewer) can read but its writes never reach the server.
  async viewer() {
    const url = env("DOC_URL")
    const A = newRepo("A", env("TOKEN_A"))
    const hA = await find(A, url)
    const read = Object.keys(hA.doc().annotations || {}).length
    // The server answers a viewer's first change with one `error` message, once it has seen
    // the change and kept it out; the client only logs it, so listen on its socket.
    const refused = new Promise(resolve =>
      A.adapter.socket.addEventListener("message", event => {
        const message = cborDecode(new Uint8Array(event.data))
        if (message.type === "error") resolve(message.message)
      })
    )
    const id = newId()
    addAnnotation(hA, annotation(id, env("USER_A"), "viewer should not be able to write this"))
    const error = await withTimeout(refused, TIMEOUT_MS, "the server to refuse the viewer's change")
    // Whatever B gets now is the server's document after it refused the change.
    const B = newRepo("B", env("TOKEN_B"))
    const hB = await find(B, url)
    const applied = ann(hB, id) !== undefined
    if (applied) fail(`annotation ${id} written by a viewer reached the server`, { read, applied })
    return { read, applied: false, error }
  },

  // Ephemeral (presence) messages are relayed between clients of a document.
  async presence() {
    const url = env("DOC_URL")
    const userA = env("USER_A")
    const A = newRepo("A", env("TOKEN_A"))
    const B = newRepo("B", env("TOKEN_B"))
    const [hA, hB] = await Promise.all([find(A, url), find(B, url)])
    let received
    hB.on("ephemeral-message", ({ message, senderId }) => {
      log("B got ephemeral", senderId, message)
      if (message && message.user === userA && received === undefined) received = message
    })
    const payload = { user: userA, looking: "x" }
    let attempts = 0
    const deadline = Date.now() + 10_000
    while (received === undefined && Date.now() < deadline) {
      hA.broadcast(payload)
      attempts++
      // Re-broadcast (as presence heartbeats do) only if nothing arrived in 3 s.
      const until = Math.min(deadline, Date.now() + 3_000)
      while (received === undefined && Date.now() < until) await sleep(POLL_MS)
    }
    if (received === undefined) fail(`B did not receive A's ephemeral message within 10 s (${attempts} broadcasts)`)
    return { received, attempts }
  },

  // Malformed traffic on other sockets is rejected and does not disturb sync.
  // A raw socket that joins and then never answers pings must be closed by the server.
  async "dead-peer"() {
    const limit = intEnv("DEAD_PEER_TIMEOUT_MS", 20_000)
    const t0 = Date.now()
    const outcome = await new Promise(resolve => {
      const ws = new WebSocket(wsUrl(env("TOKEN_A")), { autoPong: false })
      const timer = setTimeout(() => {
        ws.terminate()
        resolve({ closedByServer: false })
      }, limit)
      ws.on("open", () =>
        ws.send(
          cborEncode({
            type: "join",
            senderId: `silent-${randomBytes(4).toString("hex")}`,
            peerMetadata: { isEphemeral: true },
            supportedProtocolVersions: ["1"],
          })
        )
      )
      ws.on("error", () => {})
      ws.on("close", (code, reason) => {
        clearTimeout(timer)
        resolve({ closedByServer: true, code, reason: reason.toString() })
      })
    })
    if (!outcome.closedByServer) fail(`the server kept a peer that answers no pings for ${limit} ms`)
    // Any close is not enough: it must be the ping timeout's, not an error or a shutdown.
    if (outcome.code !== 1008 || !/^no pong within \d+ ms$/.test(outcome.reason))
      fail(`the server closed the silent peer, but not for its missing pongs`, outcome)
    return { ...outcome, ms: Date.now() - t0 }
  },

  async "garbage-resilience"() {
    const url = env("DOC_URL")
    const userA = env("USER_A")
    const tokenA = env("TOKEN_A")
    const { documentId } = parseAutomergeUrl(url)
    const A = newRepo("A", tokenA)
    const B = newRepo("B", env("TOKEN_B"))
    const [hA, hB] = await Promise.all([find(A, url), find(B, url)])

    const id1 = newId()
    addAnnotation(hA, annotation(id1, userA, "written during garbage"))

    const rawPeer = `raw-${randomBytes(4).toString("hex")}`
    const join = {
      type: "join",
      senderId: rawPeer,
      peerMetadata: { isEphemeral: true },
      supportedProtocolVersions: ["1"],
    }
    const badSyncData = randomBytes(64)
    badSyncData[0] = 0x99 // not a sync-message type byte (0x42 / 0x43)
    const cases = [
      { name: "not-cbor", frames: [Buffer.from([0x1c, 0xff, 0xfe, 0x00, 0x13, 0x37])] },
      { name: "unknown-type", frames: [cborEncode({ type: "frobnicate", senderId: rawPeer })] },
      {
        name: "sync-random-data",
        frames: [
          cborEncode(join),
          peer =>
            cborEncode({
              type: "sync",
              senderId: rawPeer,
              targetId: peer,
              documentId,
              data: new Uint8Array(badSyncData),
            }),
        ],
      },
    ]
    // A frame over the server's limit (MAX_FRAME_BYTES, when the test tells us the limit).
    const maxFrame = process.env.MAX_FRAME_BYTES ? intEnv("MAX_FRAME_BYTES", 1) : 0
    if (maxFrame > 0) {
      cases.push({
        name: "oversized-frame",
        frames: [
          cborEncode(join),
          peer =>
            cborEncode({
              type: "sync",
              senderId: rawPeer,
              targetId: peer,
              documentId,
              data: new Uint8Array(maxFrame + 1024),
            }),
        ],
      })
    }
    const garbage = []
    for (const c of cases) garbage.push(await rawCase(wsUrl(tokenA), c))

    const id2 = newId()
    addAnnotation(hA, annotation(id2, userA, "written after garbage"))
    await waitFor(
      `B to see annotations ${id1} and ${id2}`,
      () => bodyOf(hB, id1) === "written during garbage" && bodyOf(hB, id2) === "written after garbage",
      TIMEOUT_MS,
      () => ({ garbage })
    )
    const bad = garbage.filter(g => !g.gotError || !g.closedByServer)
    if (bad.length) fail("the server did not answer every malformed input with an error frame and a close", { garbage })
    return { garbage, synced: true }
  },

  // An invalid annotation is compensated away by the server on both clients.
  async invalid() {
    const url = env("DOC_URL")
    const A = newRepo("A", env("TOKEN_A"))
    const B = newRepo("B", env("TOKEN_B"))
    const [hA, hB] = await Promise.all([find(A, url), find(B, url)])
    const id = newId()
    addAnnotation(hA, annotation(id, env("USER_A"), "invalid verdict", { kind: "fact-check", verdict: "pants-on-fire" }))
    const headsAfterWrite = sortedHeads(hA)
    await waitFor(
      `annotation ${id} to be removed on A and both clients to converge`,
      () =>
        ann(hA, id) === undefined &&
        ann(hB, id) === undefined &&
        sortedHeads(hA) !== headsAfterWrite &&
        sortedHeads(hA) === sortedHeads(hB),
      TIMEOUT_MS,
      () => ({ onA: ann(hA, id) !== undefined, onB: ann(hB, id) !== undefined, headsA: hA.heads(), headsB: hB.heads() })
    )
    return { id, removed: true }
  },

  // A types in a fact-check's note while offline; meanwhile B gives it a verdict that does not
  // exist, and the server compensates. A's keystrokes are concurrent with the compensation:
  // they reach the server only after it. Only the verdict may be put back: the typed text
  // must survive on the server and on both clients.
  async "typing-survives-compensation"() {
    const url = env("DOC_URL")
    const A = newRepo("A", env("TOKEN_A"))
    const B = newRepo("B", env("TOKEN_B"))
    const [hA, hB] = await Promise.all([find(A, url), find(B, url)])
    const id = newId()
    addAnnotation(hA, annotation(id, env("USER_A"), "base", { kind: "fact-check", verdict: "false" }))
    // The server writes plain strings, which read as ImmutableString: compare their text.
    const verdictOf = h => {
      const a = ann(h, id)
      return a && a.verdict !== undefined ? String(a.verdict) : undefined
    }
    await waitFor(`B to see annotation ${id}`, () => bodyOf(hB, id) === "base" && verdictOf(hB) === "false")

    A.adapter.disconnect()
    await waitFor("A to be offline", () => A.peers.length === 0)
    const typed = " and typed"
    for (const ch of typed) {
      hA.change(d => splice(d, ["annotations", id, "body"], String(d.annotations[id].body).length, 0, ch))
    }

    hB.change(d => {
      d.annotations[id].verdict = "pants-on-fire"
    })
    // Only the server's compensation turns B's verdict back.
    await waitFor("the server to put B's verdict back", () => verdictOf(hB) === "false", TIMEOUT_MS, () => ann(hB, id))
    const bodyOnBAfterCompensation = bodyOf(hB, id)

    A.adapter.connect(A.adapter.peerId, A.adapter.peerMetadata)
    const expected = "base" + typed
    const done = h => bodyOf(h, id) === expected && verdictOf(h) === "false"
    await waitFor(
      `A and B to both see ${JSON.stringify(expected)} with the verdict "false"`,
      () => done(hA) && done(hB) && sortedHeads(hA) === sortedHeads(hB),
      TIMEOUT_MS,
      () => ({ bodyA: bodyOf(hA, id), bodyB: bodyOf(hB, id), verdictA: verdictOf(hA), verdictB: verdictOf(hB) })
    )
    return { id, body: expected, verdict: "false", bodyOnBAfterCompensation }
  },

  // Behind a load balancer in front of several servers: A and B edit one document, say which
  // server each reached (READY {"A": …, "B": …}: the balancer's stickiness cookies),
  // and wait for a line on stdin: the test has killed A's server. Both add an annotation at
  // once; A's client reconnects through the balancer (to another server) and both converge.
  // `ms` is the time from the line to convergence. RETRY_MS: the client's reconnect interval
  // (the web UI's is 2000).
  async failover() {
    const url = env("DOC_URL")
    const retryMs = intEnv("RETRY_MS", 2_000)
    const replicaOf = repo => repo.adapter.socket && repo.adapter.socket.glossaReplica
    const A = newRepo("A", env("TOKEN_A"), { retryMs })
    const B = newRepo("B", env("TOKEN_B"), { retryMs })
    const killed = stdinLine() // start reading now; the line may come early
    killed.catch(() => {})
    const [hA, hB] = await Promise.all([find(A, url), find(B, url)])
    const before = newId()
    addAnnotation(hA, annotation(before, env("USER_A"), "before the kill"))
    await waitFor(`B to see annotation ${before}`, () => bodyOf(hB, before) === "before the kill")
    const first = { A: replicaOf(A), B: replicaOf(B) }
    if (!first.A || !first.B) fail(`the balancer set no ${STICKY_COOKIE} cookie on the sockets`, first)
    line(`READY ${JSON.stringify(first)}`)
    await withTimeout(killed, RECONNECT_TIMEOUT_MS * 2, "a line on stdin (A's server killed)")
    const t0 = Date.now()
    const a = newId()
    const b = newId()
    addAnnotation(hA, annotation(a, env("USER_A"), "from A after the kill"))
    addAnnotation(hB, annotation(b, env("USER_B"), "from B after the kill"))
    const all = h => [before, a, b].every(id => ann(h, id) !== undefined)
    await waitFor(
      "A and B to reconnect and converge",
      () => all(hA) && all(hB) && sortedHeads(hA) === sortedHeads(hB) && A.peers.length > 0 && B.peers.length > 0,
      RECONNECT_TIMEOUT_MS,
      () => ({ A: all(hA), B: all(hB), peersA: A.peers, peersB: B.peers, replicaA: replicaOf(A) })
    )
    const ms = Date.now() - t0
    return { before, a, b, ms, first, after: { A: replicaOf(A), B: replicaOf(B) } }
  },

  // ----- helpers for self-tests against reference-server.mjs (not for Glossa)

  // Create an article-like document ({annotations: {}}) on the server and
  // print its URL once a second, fresh client can load it from the server.
  async seed() {
    const S = newRepo("seed", process.env.TOKEN_A || "seed")
    await connected(S)
    const h = S.create({ annotations: {} })
    const V = newRepo("verify", process.env.TOKEN_B || "verify")
    const hv = await find(V, h.url)
    await waitFor("the verifying client to see the annotations map", () => hv.doc() && hv.doc().annotations)
    return { url: h.url }
  },

  // Write one comment annotation with a given id (stands in for a REST POST).
  async put(id) {
    if (!id) fail("usage: scenario.mjs put <annotation-id>")
    const url = env("DOC_URL")
    const A = newRepo("A", env("TOKEN_A"))
    const hA = await find(A, url)
    addAnnotation(hA, annotation(id, env("USER_A"), "posted via put"))
    const V = newRepo("verify", env("TOKEN_B"))
    const hv = await find(V, url)
    await waitFor(`a fresh client to see ${id}`, () => ann(hv, id) !== undefined)
    return { id }
  },
}

/** One raw-socket garbage case: send frames, record replies and the close. */
function rawCase(url, { name, frames }) {
  return new Promise(resolve => {
    const t0 = Date.now()
    const rec = { case: name, received: [], gotError: false, errorMessage: null, closedByServer: false, closeCode: null, socketError: null }
    let weClosed = false
    let done = false
    const ws = new WebSocket(url)
    ws.binaryType = "nodebuffer"
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      rec.ms = Date.now() - t0
      resolve(rec)
    }
    const timer = setTimeout(() => {
      weClosed = true
      rec.timedOut = true
      try {
        ws.terminate()
      } catch {}
      finish()
    }, 5_000)
    let queue = [...frames]
    const sendNext = peerId => {
      while (queue.length) {
        const f = queue.shift()
        if (typeof f === "function") {
          if (peerId === undefined) {
            queue.unshift(f) // wait for the server's `peer`
            return
          }
          ws.send(f(peerId))
        } else {
          ws.send(f)
        }
      }
    }
    ws.on("open", () => sendNext(undefined))
    ws.on("message", (data, isBinary) => {
      let msg
      try {
        msg = cborDecode(data)
      } catch (e) {
        rec.received.push({ undecodable: true, binary: isBinary, bytes: data.length })
        return
      }
      rec.received.push({ type: msg && msg.type })
      if (msg && msg.type === "error") {
        rec.gotError = true
        rec.errorMessage = msg.message === undefined ? null : String(msg.message)
      } else if (msg && msg.type === "peer") {
        sendNext(msg.senderId)
      }
    })
    ws.on("error", e => {
      rec.socketError = String(e && e.message)
    })
    ws.on("close", code => {
      rec.closeCode = code
      rec.closedByServer = !weClosed
      finish()
    })
  })
}

// Which server a socket reached, when a load balancer says so in the upgrade's response: the
// value of its stickiness cookie (STICKY_COOKIE, glossa_replica by default, as in
// deploy/Caddyfile), kept on the socket as `glossaReplica`. The client adapter makes its
// sockets itself, so this listens on every `ws` socket's events.
const STICKY_COOKIE = process.env.STICKY_COOKIE || "glossa_replica"
const emit = WebSocket.prototype.emit
WebSocket.prototype.emit = function (event, ...args) {
  if (event === "upgrade" && args[0] && args[0].headers) {
    for (const cookie of args[0].headers["set-cookie"] || []) {
      const [pair] = cookie.split(";")
      const [name, value] = pair.split("=")
      if (name.trim() === STICKY_COOKIE) this.glossaReplica = value
    }
  }
  return emit.call(this, event, ...args)
}

// ---------------------------------------------------------------------------
// main

const [name, ...args] = process.argv.slice(2)
const scenario = scenarios[name]
if (!scenario) {
  process.stderr.write(
    `usage: node scenario.mjs <${Object.keys(scenarios).join("|")}> [args]\n`
  )
  process.exit(2)
}

const watchdog = setTimeout(
  () => die(`scenario did not finish within ${SCENARIO_TIMEOUT_MS} ms`),
  SCENARIO_TIMEOUT_MS
)
watchdog.unref()

try {
  const result = await scenario(...args)
  await succeed(result)
} catch (e) {
  if (e instanceof ScenarioFailed) die(e.message, e.details)
  else die(e && e.stack ? e.stack : String(e))
}
