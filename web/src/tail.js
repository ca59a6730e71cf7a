// The live tail (GET /api/events/stream, Server-Sent Events), read through fetch: the browser's
// EventSource cannot send the bearer token. When the stream ends it resumes after the last event
// it saw (Last-Event-ID), so nothing is missed and nothing comes twice.

export class LiveTail {
  /** onEvent(event) for each event in order; onStatus(live) when the stream opens or drops. */
  constructor(token, { after = 0, onEvent, onStatus = () => {} }) {
    this.token = token
    this.last = after
    this.onEvent = onEvent
    this.onStatus = onStatus
    this.stopped = false
    this.retry = 1000
  }

  start() {
    this.run()
    return this
  }

  stop() {
    this.stopped = true
    this.abort?.abort()
    clearTimeout(this.reconnect)
  }

  async run() {
    if (this.stopped) return
    this.abort = new AbortController()
    try {
      const response = await fetch("/api/events/stream", {
        headers: { Authorization: `Bearer ${this.token}`, Accept: "text/event-stream", "Last-Event-ID": String(this.last) },
        signal: this.abort.signal,
      })
      // A refused token will not become valid by retrying.
      if (response.status === 401 || response.status === 403) return this.onStatus(false)
      if (!response.ok || !response.body) throw new Error(`the live tail answered ${response.status}`)
      this.onStatus(true)
      this.retry = 1000
      await this.read(response.body)
    } catch {
      // Dropped or unreachable: resume below.
    }
    if (this.stopped) return
    this.onStatus(false)
    // Back off before the next attempt, so a server that is down is not hammered.
    this.reconnect = setTimeout(() => this.run(), this.retry)
    this.retry = Math.min(this.retry * 2, 15000)
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value.replace(/\r\n?/g, "\n")
      let end
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        this.frame(frame)
      }
    }
  }

  /** One SSE frame: `id:`, `event:` and `data:` lines; comments (keep-alives) start with `:`. */
  frame(frame) {
    let id = null
    const data = []
    for (const line of frame.split("\n")) {
      if (line.startsWith("id:")) id = line.slice(3).trim()
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
    }
    if (!data.length) return
    let event
    try {
      event = JSON.parse(data.join("\n"))
    } catch {
      return
    }
    if (id !== null) this.last = Number(id)
    if (this.stopped) return
    this.onEvent(event)
  }
}
