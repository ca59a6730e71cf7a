#!/usr/bin/env node
// Create a document `{ annotations: {} }` on an automerge-repo sync server and
// print its automerge: URL on stdout, once a second, fresh client has loaded
// it from the server (so the server really holds it).
//
//   WS_URL=ws://127.0.0.1:PORT/sync [TOKEN=…] node bench/create-doc.mjs
//   node bench/create-doc.mjs --ws-url ws://127.0.0.1:PORT/sync
//
// Meant for the reference server (tests/js/reference-server.mjs). Glossa
// creates article documents itself (see GET /api/articles/<slug>).
// Exits 0 on success, 1 on failure (message on stderr); every wait is bounded.

import { randomBytes } from "node:crypto"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const args = process.argv.slice(2)
const flag = name => {
  const i = args.findIndex(a => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i < 0) return undefined
  return args[i].includes("=") ? args[i].split(/=(.*)/s)[1] : args[i + 1]
}
const WS_URL = flag("ws-url") || process.env.WS_URL
const TOKEN = flag("token") || process.env.TOKEN || "bench"
const TIMEOUT_MS = Number(flag("timeout-ms") || process.env.TIMEOUT_MS || 20_000)
if (!WS_URL) {
  process.stderr.write("create-doc: WS_URL (or --ws-url) is required\n")
  process.exit(2)
}

const HERE = dirname(fileURLToPath(import.meta.url))
const JS_DIR = resolve(process.env.GLOSSA_JS_DIR || join(HERE, "..", "tests", "js"))
const jsRequire = createRequire(join(JS_DIR, "package.json"))
const load = async name => {
  try {
    return await import(pathToFileURL(jsRequire.resolve(name)).href)
  } catch (e) {
    process.stderr.write(`create-doc: cannot load ${name} from ${JS_DIR} (run \`npm ci\` there): ${e.message}\n`)
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

const repos = []
const sleep = ms => new Promise(r => setTimeout(r, ms))
async function waitFor(what, probe) {
  const deadline = Date.now() + TIMEOUT_MS
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)
    await sleep(20)
  }
}
function newRepo(label) {
  const url = `${WS_URL}${WS_URL.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}`
  const repo = new Repo({ network: [new BrowserWebSocketClientAdapter(url)], peerId: `create-doc-${label}-${randomBytes(4).toString("hex")}` })
  repos.push(repo)
  return repo
}
async function fail(msg) {
  process.stderr.write(`create-doc FAILED: ${msg}\n`)
  await Promise.race([Promise.allSettled(repos.map(r => r.shutdown())), sleep(1_000)])
  process.exit(1)
}

try {
  const a = newRepo("a")
  await waitFor(`the handshake with ${WS_URL}`, () => a.peers.length > 0)
  const h = a.create({ annotations: {} })
  const b = newRepo("b")
  await waitFor(`the handshake with ${WS_URL}`, () => b.peers.length > 0)
  const hb = await b.find(h.url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  await waitFor("a second client to see the annotations map", () => hb.doc() && hb.doc().annotations)
  process.stdout.write(h.url + "\n")
  await Promise.race([Promise.allSettled(repos.map(r => r.shutdown())), sleep(2_000)])
  process.exit(0)
} catch (e) {
  await fail(e && e.message ? e.message : String(e))
}
