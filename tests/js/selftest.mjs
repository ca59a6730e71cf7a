#!/usr/bin/env node
// Self-test of scenario.mjs against reference-server.mjs (no Glossa needed).
//
//   node selftest.mjs            # or: npm run selftest
//
// Runs the scenarios whose expectations the plain automerge-repo sync server
// also meets: create, concurrent, presence, unavailable, watch (with the `put`
// helper standing in for Glossa's REST POST) and offline (with a real server
// restart on the same port, documents persisted in a temp STORAGE_DIR).
// viewer, invalid and garbage-resilience need Glossa-specific behaviour and
// are expected to fail against the reference server, so they are not run.
// Prints one line per scenario and a closing "N passed, N failed" line; exits
// non-zero if anything failed.

import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { createInterface } from "node:readline"

const here = dirname(fileURLToPath(import.meta.url))
const STEP_TIMEOUT_MS = 120_000

const baseEnv = {
  TOKEN_A: "token-a",
  TOKEN_B: "token-b",
  USER_A: "alice",
  USER_B: "bob",
  ARTICLE: "selftest-article",
  QUOTE: "quick brown",
  START: "4",
  END: "15",
  VERSION: "1",
}

function startServer(port, storageDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "reference-server.mjs")], {
      env: { ...process.env, PORT: String(port), STORAGE_DIR: storageDir },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stderr = ""
    child.stderr.on("data", d => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error("reference server did not start within 10 s"))
    }, 10_000)
    const rl = createInterface({ input: child.stdout })
    rl.on("line", l => {
      const m = /^LISTENING (\d+)$/.exec(l)
      if (m) {
        clearTimeout(timer)
        resolve({ child, port: Number(m[1]), stderr: () => stderr })
      }
    })
    child.once("exit", code => {
      clearTimeout(timer)
      reject(new Error(`reference server exited early (${code}): ${stderr}`))
    })
  })
}

// SELFTEST_KILL_SIGNAL=SIGKILL makes the offline restart abrupt, like a crash.
function stopServer(server, signal = "SIGTERM") {
  return new Promise(resolve => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve()
    const t = setTimeout(() => server.child.kill("SIGKILL"), 5_000)
    server.child.once("exit", () => {
      clearTimeout(t)
      resolve()
    })
    server.child.kill(signal)
  })
}

/**
 * Run `node scenario.mjs <args>`; `onLine(line, child)` sees every stdout line.
 * Resolves {code, stdout, stderr, result} where result is the last JSON line.
 */
function runScenario(args, env, onLine = () => {}) {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [join(here, "scenario.mjs"), ...args], {
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stderr.on("data", d => (stderr += d))
    createInterface({ input: child.stdout }).on("line", l => {
      stdout += l + "\n"
      onLine(l, child)
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS)
    child.once("close", code => {
      clearTimeout(timer)
      let result
      const last = stdout.trim().split("\n").pop()
      try {
        result = JSON.parse(last)
      } catch {}
      resolve({ code, stdout, stderr, result })
    })
  })
}

const results = []
function report(name, ok, info) {
  results.push(ok)
  console.log(`${ok ? "ok  " : "FAIL"} ${name} ${info}`)
}

const storageDir = mkdtempSync(join(tmpdir(), "glossa-ref-selftest-"))
let server
try {
  server = await startServer(0, storageDir)
  const env = { ...baseEnv, GLOSSA_WS: `ws://127.0.0.1:${server.port}/sync` }

  const seed = await runScenario(["seed"], env)
  if (seed.code !== 0 || !seed.result?.url) throw new Error(`seed failed: ${seed.stderr}`)
  env.DOC_URL = seed.result.url
  report("seed", true, JSON.stringify(seed.result))

  const checks = {
    create: r => typeof r.id === "string",
    concurrent: r => r.bodyA === "AAAbaseBBB" && r.bodyB === r.bodyA,
    presence: r => r.received?.user === env.USER_A && r.received?.looking === "x",
    unavailable: r => r.unavailable === true,
  }
  for (const [name, check] of Object.entries(checks)) {
    const t0 = Date.now()
    const r = await runScenario([name], env)
    const ok = r.code === 0 && r.result && check(r.result)
    report(name, ok, `${Date.now() - t0}ms ${ok ? r.stdout.trim() : `exit=${r.code} ${r.stdout}${r.stderr}`}`)
  }

  // watch: start the watcher, write the annotation from another client once it
  // says READY (Glossa's test does a REST POST at that point).
  {
    const t0 = Date.now()
    const id = `js-watch-${Date.now().toString(16)}`
    let put
    const r = await runScenario(["watch", id], env, l => {
      if (l === "READY") put = runScenario(["put", id], env)
    })
    const p = put ? await put : { code: "not started", stderr: "" }
    const ok =
      r.code === 0 && p.code === 0 && r.result?.id === id && r.result?.kind === "comment" && r.result?.creator === env.USER_A
    report("watch", ok, `${Date.now() - t0}ms ${ok ? r.stdout.trim().replace("\n", " ") : `exit=${r.code}/${p.code} ${r.stdout}${r.stderr}${p.stderr}`}`)
  }

  // offline: restart the server on the same port when asked, then tell the
  // scenario on stdin that the server is back.
  {
    const t0 = Date.now()
    let restart
    const r = await runScenario(["offline"], env, (l, child) => {
      if (l !== "RESTART") return
      restart = (async () => {
        await stopServer(server, process.env.SELFTEST_KILL_SIGNAL || "SIGTERM")
        await new Promise(res => setTimeout(res, 1_000))
        server = await startServer(server.port, storageDir)
        child.stdin.write("up\n")
      })()
    })
    if (restart) await restart.catch(e => console.error(String(e)))
    const ok = r.code === 0 && r.result?.body === "before restart edited offline by B" && r.result?.editedWhileDisconnected === true
    report("offline", ok, `${Date.now() - t0}ms ${ok ? r.stdout.trim().replace("\n", " ") : `exit=${r.code} ${r.stdout}${r.stderr}`}`)
  }
} catch (e) {
  report("selftest", false, String(e && e.stack ? e.stack : e))
} finally {
  if (server) await stopServer(server)
  rmSync(storageDir, { recursive: true, force: true })
}

const passed = results.filter(Boolean).length
const failed = results.length - passed
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
