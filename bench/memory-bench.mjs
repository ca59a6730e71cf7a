#!/usr/bin/env node
// Server memory per idle sync connection and per loaded document, for an
// automerge-repo compatible sync server (Glossa's /sync, or
// tests/js/reference-server.mjs). The server's resident memory is read from
// /proc/SERVER_PID/status (VmRSS). bench/run-memory-bench.sh drives it for
// both servers; see bench/README.md.
//
//   MODE=idle   WS_URL DOC_URL [TOKENS] CLIENTS SERVER_PID
//     WARMUP clients join and sync DOC_URL first (the document is loaded,
//     the server's one-time costs are paid); then RSS is read, CLIENTS more
//     clients join and sync the document, BATCH at a time, and stay idle;
//     RSS is read after each STEP clients (after SETTLE_MS) and at the end.
//     Result: (RSS after - RSS before) / CLIENTS.
//   MODE=docs   WS_URL DOC_URLS=@file [TOKEN] SERVER_PID
//     One client joins; RSS is read; it syncs each document once (PARALLEL
//     at a time) and stays connected; RSS is read again (and once more after
//     the client has left). Result: (RSS after - RSS before) / documents.
//   MODE=create-docs  COUNT (WS_URL | API_URL+TOKEN)
//     Prints COUNT document URLs, one a line. With API_URL (Glossa): creates
//     COUNT articles through POST /api/articles (their documents are not
//     loaded until a client asks for them). Without (the reference server):
//     creates COUNT documents {annotations: {}} over WS_URL and checks that a
//     second client can load each of them from the server.
//   MODE=export-doc   WS_URL DOC_URL [TOKEN] FILE: saves the document's bytes.
//   MODE=import-doc   WS_URL FILE: creates a copy of those bytes on the server
//     (a new document with the same history) and prints its URL.
//
// Every input is an environment variable or a flag (FOO_BAR = --foo-bar V).
// Output of idle/docs: one JSON object on stdout, a summary on stderr.
// The automerge packages come from ../tests/js/node_modules (GLOSSA_JS_DIR).

import { randomBytes } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const args = process.argv.slice(2)
function opt(name, dflt) {
  const flag = `--${name.toLowerCase().replace(/_/g, "-")}`
  const i = args.findIndex(a => a === flag || a.startsWith(`${flag}=`))
  if (i >= 0) return args[i].includes("=") ? args[i].split(/=(.*)/s)[1] : args[i + 1]
  return process.env[name] ?? dflt
}
const int = (name, dflt) => {
  const v = Number(opt(name, dflt))
  if (!Number.isInteger(v) || v < 0) usage(`${name} must be a whole number`)
  return v
}
function usage(msg) {
  process.stderr.write(`memory-bench: ${msg}\n`)
  process.exit(2)
}
const list = v => {
  if (!v) return []
  if (v.startsWith("@")) v = readFileSync(v.slice(1), "utf8")
  return v.split(/[\s,]+/).filter(Boolean)
}

const MODE = opt("MODE", "idle")
const WS_URL = opt("WS_URL")
const SERVER_PID = opt("SERVER_PID")
const LABEL = opt("LABEL", MODE)
const SETTLE_MS = int("SETTLE_MS", 3000)
const TIMEOUT_MS = int("TIMEOUT_MS", 30_000)

const sleep = ms => new Promise(r => setTimeout(r, ms))
async function waitFor(what, probe, ms = TIMEOUT_MS) {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(20)
  }
}

// The 2.5.6 client adapter throws from socket listeners on transport errors
// and recovers by reconnecting (see sync-bench.mjs); count those, fail on others.
let toleratedErrors = 0
const onUncaught = e => {
  const m = `${e && e.code} ${String((e && e.message) || e)}`
  if (/ECONN|EPIPE|Websocket not ready|Unexpected server response|closed before the connection|socket hang up/i.test(m)) {
    toleratedErrors++
    return
  }
  process.stderr.write(`memory-bench: unexpected exception: ${(e && e.stack) || m}\n`)
  process.exit(1)
}
process.on("uncaughtException", onUncaught)
process.on("unhandledRejection", onUncaught)

const HERE = dirname(fileURLToPath(import.meta.url))
const JS_DIR = resolve(process.env.GLOSSA_JS_DIR || join(HERE, "..", "tests", "js"))
const jsRequire = createRequire(join(JS_DIR, "package.json"))
async function load(name) {
  try {
    return await import(pathToFileURL(jsRequire.resolve(name)).href)
  } catch (e) {
    usage(`cannot load ${name} from ${JS_DIR} (run \`npm ci\` there): ${e.message}`)
  }
}
const { Repo } = await load("@automerge/automerge-repo")
const { BrowserWebSocketClientAdapter } = await load("@automerge/automerge-repo-network-websocket")

const repos = []
function client(token, label) {
  if (!WS_URL) usage("WS_URL is required")
  const url = `${WS_URL}${WS_URL.includes("?") ? "&" : "?"}token=${encodeURIComponent(token || "bench")}`
  const repo = new Repo({
    network: [new BrowserWebSocketClientAdapter(url)],
    peerId: `memory-${label}-${randomBytes(4).toString("hex")}`,
  })
  repos.push(repo)
  return repo
}
async function joined(repo) {
  await waitFor(`the handshake with ${WS_URL} (server down, token rejected, or a per-user connection limit hit?)`, () => repo.peers.length > 0)
}
async function synced(repo, url) {
  const handle = await repo.find(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  await waitFor(`${url} to have its annotations map`, () => {
    const d = handle.doc()
    return d && d.annotations && typeof d.annotations === "object"
  })
  return handle
}
async function shutdown(which = repos) {
  await Promise.race([Promise.allSettled(which.map(r => r.shutdown())), sleep(3_000)])
}

function rssKb() {
  if (!SERVER_PID) usage("SERVER_PID is required")
  const status = readFileSync(`/proc/${SERVER_PID}/status`, "utf8")
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)[1])
}
// RSS once the server has settled: wait SETTLE_MS, then read it.
async function settledRss() {
  await sleep(SETTLE_MS)
  return rssKb()
}
const kib = x => Number(x.toFixed(1))

async function idle() {
  const DOC_URL = opt("DOC_URL") || usage("DOC_URL is required")
  const TOKENS = list(opt("TOKENS", "bench"))
  const CLIENTS = int("CLIENTS", 200)
  const WARMUP = int("WARMUP", 5)
  const BATCH = Math.max(1, int("BATCH", 25))
  const STEP = Math.max(1, int("STEP", 50))
  let next = 0
  const tokenFor = () => TOKENS[next++ % TOKENS.length]
  async function open(n) {
    for (let done = 0; done < n; done += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, n - done) }, () => client(tokenFor(), `idle-${next}`))
      await Promise.all(batch.map(async r => {
        await joined(r)
        await synced(r, DOC_URL)
      }))
    }
  }
  await open(WARMUP)
  const before = await settledRss()
  const samples = [{ clients: 0, rss_kb: before }]
  for (let opened = 0; opened < CLIENTS; ) {
    const n = Math.min(STEP, CLIENTS - opened)
    await open(n)
    opened += n
    samples.push({ clients: opened, rss_kb: await settledRss() })
  }
  const after = samples.at(-1).rss_kb
  const result = {
    label: LABEL,
    mode: "idle",
    clients: CLIENTS,
    warmup: WARMUP,
    rss_kb_before: before,
    rss_kb_after: after,
    per_connection_kib: kib((after - before) / CLIENTS),
    samples,
    tolerated_socket_errors: toleratedErrors,
  }
  await shutdown()
  return result
}

async function docs() {
  const urls = list(opt("DOC_URLS") || usage("DOC_URLS is required"))
  const PARALLEL = Math.max(1, int("PARALLEL", 10))
  const repo = client(opt("TOKEN", "bench"), "docs")
  await joined(repo)
  const before = await settledRss()
  for (let i = 0; i < urls.length; i += PARALLEL) {
    await Promise.all(urls.slice(i, i + PARALLEL).map(url => synced(repo, url)))
  }
  const after = await settledRss()
  await shutdown()
  const left = await settledRss()
  const result = {
    label: LABEL,
    mode: "docs",
    documents: urls.length,
    rss_kb_before: before,
    rss_kb_after: after,
    rss_kb_after_client_left: left,
    per_document_kib: kib((after - before) / urls.length),
    per_document_kib_client_left: kib((left - before) / urls.length),
    tolerated_socket_errors: toleratedErrors,
  }
  return result
}

async function createDocs() {
  const COUNT = int("COUNT", 200)
  const API_URL = opt("API_URL")
  const out = []
  if (API_URL) {
    const token = opt("TOKEN") || usage("TOKEN (an editor's) is required with API_URL")
    const prefix = opt("PREFIX", `mem-${randomBytes(3).toString("hex")}`)
    const text = opt("TEXT", "A short report for the memory benchmark. ".repeat(30))
    for (let i = 0; i < COUNT; i++) {
      const response = await fetch(`${API_URL.replace(/\/$/, "")}/api/articles`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ id: `${prefix}-${i}`, title: `Article ${i}`, text: `${text} (${i})` }),
      })
      if (!response.ok) throw new Error(`POST /api/articles: ${response.status} ${await response.text()}`)
      out.push((await response.json()).document_url)
    }
  } else {
    const maker = client(opt("TOKEN", "bench"), "create")
    await joined(maker)
    for (let i = 0; i < COUNT; i++) out.push(maker.create({ annotations: {} }).url)
    // The server holds them once a second client can load each from it.
    const checker = client(opt("TOKEN", "bench"), "check")
    await joined(checker)
    for (let i = 0; i < out.length; i += 20) await Promise.all(out.slice(i, i + 20).map(url => synced(checker, url)))
    await sleep(1_000)
    await shutdown()
  }
  process.stdout.write(out.join("\n") + "\n")
}

async function exportDoc() {
  const file = opt("FILE") || usage("FILE is required")
  const repo = client(opt("TOKEN", "bench"), "export")
  await joined(repo)
  const handle = await synced(repo, opt("DOC_URL") || usage("DOC_URL is required"))
  writeFileSync(file, await repo.export(handle.url))
  await shutdown()
}

async function importDoc() {
  const bytes = new Uint8Array(readFileSync(opt("FILE") || usage("FILE is required")))
  const repo = client(opt("TOKEN", "bench"), "import")
  await joined(repo)
  const handle = repo.import(bytes)
  const checker = client(opt("TOKEN", "bench"), "check")
  await joined(checker)
  await synced(checker, handle.url)
  await sleep(1_000)
  await shutdown()
  process.stdout.write(handle.url + "\n")
}

const modes = { idle, docs, "create-docs": createDocs, "export-doc": exportDoc, "import-doc": importDoc }
if (!modes[MODE]) usage(`MODE must be one of ${Object.keys(modes).join(", ")}`)
try {
  const result = await modes[MODE]()
  if (result) {
    process.stdout.write(JSON.stringify(result) + "\n")
    const per = result.mode === "idle" ? `${result.per_connection_kib} KiB per idle connection (${result.clients} clients)` : `${result.per_document_kib} KiB per loaded document (${result.documents} documents; ${result.per_document_kib_client_left} KiB after the client left)`
    process.stderr.write(`${LABEL}: RSS ${result.rss_kb_before} -> ${result.rss_kb_after} kB: ${per}\n`)
  }
  process.exit(0)
} catch (e) {
  process.stderr.write(`memory-bench FAILED (${LABEL}): ${(e && e.message) || e}\n`)
  await shutdown()
  process.exit(1)
}
