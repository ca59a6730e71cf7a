#!/usr/bin/env node
// Load a document from an automerge-repo sync server with the official client and print its
// annotations as JSON on stdout: { "<id>": { "body": …, "creator": … }, … }. What the Rust
// load generator wrote is compared with this (glossa-bench sync-ratio, and the test
// `sync_ratio` in tests/api).
//
//   WS_URL=ws://127.0.0.1:PORT/sync DOC_URL=automerge:… [TOKEN=…] node bench/read-doc.mjs
//
// Exits 0 on success, 1 on failure (message on stderr); every wait is bounded.

import { randomBytes } from "node:crypto"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const WS_URL = process.env.WS_URL
const DOC_URL = process.env.DOC_URL
const TOKEN = process.env.TOKEN || "bench"
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 20_000)
if (!WS_URL || !DOC_URL) {
  process.stderr.write("read-doc: WS_URL and DOC_URL are required\n")
  process.exit(2)
}

const HERE = dirname(fileURLToPath(import.meta.url))
const JS_DIR = resolve(process.env.GLOSSA_JS_DIR || join(HERE, "..", "tests", "js"))
const jsRequire = createRequire(join(JS_DIR, "package.json"))
const load = async name => {
  try {
    return await import(pathToFileURL(jsRequire.resolve(name)).href)
  } catch (e) {
    process.stderr.write(`read-doc: cannot load ${name} from ${JS_DIR} (run \`npm ci\` there): ${e.message}\n`)
    process.exit(2)
  }
}
const { Repo } = await load("@automerge/automerge-repo")
const { BrowserWebSocketClientAdapter } = await load("@automerge/automerge-repo-network-websocket")

// tolerate the 2.5.6 client's transport exceptions (see tests/js/scenario.mjs)
process.on("uncaughtException", e => {
  const m = String((e && e.message) || e)
  if (/ECONN|EPIPE|Websocket not ready|Unexpected server response|closed before the connection|socket hang up/i.test(`${e && e.code} ${m}`)) return
  fail(`unexpected exception: ${(e && e.stack) || m}`)
})

let repo
const sleep = ms => new Promise(r => setTimeout(r, ms))
async function fail(msg) {
  process.stderr.write(`read-doc FAILED: ${msg}\n`)
  if (repo) await Promise.race([repo.shutdown().catch(() => {}), sleep(1_000)])
  process.exit(1)
}
const text = v => (v === undefined || v === null ? "" : String(v))

try {
  const url = `${WS_URL}${WS_URL.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}`
  repo = new Repo({ network: [new BrowserWebSocketClientAdapter(url)], peerId: `read-doc-${randomBytes(4).toString("hex")}` })
  const handle = await repo.find(DOC_URL, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  const doc = handle.doc()
  if (!doc || !doc.annotations) throw new Error("the document has no annotations map")
  const out = {}
  for (const [id, a] of Object.entries(doc.annotations)) out[id] = { body: text(a.body), creator: text(a.creator) }
  // A pipe takes large output asynchronously: exit only once all of it is written.
  await new Promise(resolve => process.stdout.write(JSON.stringify(out) + "\n", resolve))
  await Promise.race([repo.shutdown().catch(() => {}), sleep(2_000)])
  process.exit(0)
} catch (e) {
  await fail(e && e.message ? e.message : String(e))
}
