#!/usr/bin/env node
// Reference automerge-repo sync server (2.5.6), modelled on the official
// automerge-repo-sync-server: a Repo with NodeWSServerAdapter and
// sharePolicy () => false (it only syncs documents a client asked for).
// It ignores the `?token=` query string and any path, so the scenarios in
// scenario.mjs can run against it unchanged (GLOSSA_WS=ws://127.0.0.1:PORT/sync).
//
// Environment:
//   PORT         port to listen on (required; 0 picks a free one)
//   HOST         bind address (default 127.0.0.1)
//   STORAGE_DIR  optional directory for NodeFSStorageAdapter persistence
//                (without it documents live in memory only)
//
// Prints `LISTENING <port>` on stdout once it accepts connections; exits
// cleanly on SIGINT/SIGTERM.

import { hostname } from "node:os"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const port = Number(process.env.PORT)
if (process.env.PORT === undefined || !Number.isInteger(port) || port < 0) {
  process.stderr.write("reference-server: PORT must be set to a port number\n")
  process.exit(2)
}
const host = process.env.HOST || "127.0.0.1"

const wss = new WebSocketServer({ host, port })
await new Promise((resolve, reject) => {
  wss.once("listening", resolve)
  wss.once("error", reject)
})

const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: process.env.STORAGE_DIR ? new NodeFSStorageAdapter(process.env.STORAGE_DIR) : undefined,
  peerId: `storage-server-${hostname()}`,
  sharePolicy: async () => false,
})

// The adapter attaches its connection handler only once the repo knows its storage id (read
// from STORAGE_DIR): a connection accepted before that would never be answered. Say LISTENING
// once the handler is there.
await repo.networkSubsystem.peerMetadata
while (wss.listenerCount("connection") === 0) await new Promise(resolve => setImmediate(resolve))

process.stdout.write(`LISTENING ${wss.address().port}\n`)

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => process.exit(0), 2_000)
  force.unref()
  try {
    await repo.shutdown()
  } catch {}
  wss.close(() => process.exit(0))
  for (const c of wss.clients) c.terminate()
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
