// The page as an automerge-repo client: the WebSocket adapter against the server's /sync (the
// token rides on the upgrade, as the server expects), IndexedDB so a reader can keep working
// offline, and one repo per signed-in user.

import * as Automerge from "@automerge/automerge/slim"
import { initializeWasm, Repo } from "@automerge/automerge-repo/slim"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb"

export { Automerge }

let ready

/** Loads Automerge's WebAssembly once, from the bundle the server ships. */
export function loadAutomerge() {
  ready ??= initializeWasm(fetch("/assets/automerge.wasm"))
  return ready
}

export function syncUrl(token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:"
  return `${scheme}//${location.host}/sync?token=${encodeURIComponent(token)}`
}

export class Sync {
  constructor(token, user) {
    this.adapter = new BrowserWebSocketClientAdapter(syncUrl(token), 2000)
    this.repo = new Repo({
      network: [this.adapter],
      storage: new IndexedDBStorageAdapter(`glossa-${user}`, "documents"),
      // The server decides what to share; this client asks for what it needs.
      sharePolicy: async () => true,
    })
    this.listeners = new Set()
    this.online = false
    this.repo.networkSubsystem.on("peer", () => this.setOnline(true))
    this.repo.networkSubsystem.on("peer-disconnected", () => this.setOnline(false))
  }

  setOnline(online) {
    this.online = online
    for (const listener of this.listeners) listener(online)
  }

  onStatus(listener) {
    this.listeners.add(listener)
    listener(this.online)
    return () => this.listeners.delete(listener)
  }

  /** The article's document, from IndexedDB or the server, ready to read and change. */
  find(url) {
    return this.repo.find(url, { signal: AbortSignal.timeout(15000) })
  }

  close() {
    this.listeners.clear()
    this.repo.shutdown().catch(() => {})
  }
}
