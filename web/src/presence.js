// Who else is on this article: ephemeral messages through the document handle, relayed by the
// server and never stored. Each page announces itself every few seconds and when its focus
// changes; an entry not heard from for a while is dropped.

const EVERY_MS = 4000
const FORGET_MS = 12000

export class Presence {
  constructor(handle, me, onChange) {
    this.handle = handle
    this.me = me
    this.onChange = onChange
    this.focus = null
    this.peers = new Map()
    this.listener = ({ message, senderId }) => {
      if (!message || message.type !== "glossa-presence" || message.user === undefined) return
      if (message.left) this.peers.delete(senderId)
      else this.peers.set(senderId, { ...message, seen: Date.now() })
      this.onChange(this.list())
    }
    handle.on("ephemeral-message", this.listener)
    this.timer = setInterval(() => {
      this.announce()
      this.expire()
    }, EVERY_MS)
    this.announce()
  }

  announce(left = false) {
    try {
      this.handle.broadcast({
        type: "glossa-presence",
        user: this.me.name,
        name: this.me.display_name,
        focus: this.focus,
        left,
      })
    } catch {
      // Offline: the next heartbeat tries again.
    }
  }

  setFocus(id) {
    if (this.focus === id) return
    this.focus = id
    this.announce()
  }

  expire() {
    const now = Date.now()
    let changed = false
    for (const [id, peer] of this.peers) {
      if (now - peer.seen > FORGET_MS) {
        this.peers.delete(id)
        changed = true
      }
    }
    if (changed) this.onChange(this.list())
  }

  /** One entry per other user (several tabs of one user count once). */
  list() {
    const byUser = new Map()
    for (const peer of this.peers.values()) {
      if (peer.user === this.me.name) continue
      const known = byUser.get(peer.user)
      if (!known || peer.seen > known.seen) byUser.set(peer.user, peer)
    }
    return [...byUser.values()].sort((a, b) => a.user.localeCompare(b.user))
  }

  stop() {
    this.announce(true)
    clearInterval(this.timer)
    this.handle.off("ephemeral-message", this.listener)
  }
}
