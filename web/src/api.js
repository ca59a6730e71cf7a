// The server's HTTP API with the signed-in user's token. Errors carry the server's own message
// (problem+json `detail`), which is written for people.

export class ApiError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

const LD = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'

export class Api {
  constructor(token) {
    this.token = token
  }

  async request(method, path, { body, headers = {}, ld = false, signal } = {}) {
    const init = {
      method,
      headers: { Authorization: `Bearer ${this.token}`, Accept: ld ? LD : "application/json", ...headers },
      signal,
    }
    if (body !== undefined) {
      init.body = JSON.stringify(body)
      init.headers["Content-Type"] = ld ? LD : "application/json"
    }
    let response
    try {
      response = await fetch(path, init)
    } catch (e) {
      if (e.name === "AbortError") throw e
      throw new ApiError(0, "The server cannot be reached; check the connection and try again.")
    }
    const type = response.headers.get("Content-Type") ?? ""
    const data = type.includes("json") ? await response.json().catch(() => null) : null
    if (!response.ok) {
      const message = data?.detail ?? data?.title ?? `${response.status} ${response.statusText}`
      throw new ApiError(response.status, message)
    }
    return { data, etag: response.headers.get("ETag") }
  }

  async get(path, opts) {
    return (await this.request("GET", path, opts)).data
  }

  async post(path, body, opts = {}) {
    return (await this.request("POST", path, { ...opts, body })).data
  }

  me() {
    return this.get("/api/me")
  }

  users() {
    return this.get("/api/users").then(d => d.users)
  }

  articles() {
    return this.get("/api/articles").then(d => d.articles)
  }

  /** The Desk page's lists of the work queue, reflecting at least event `seen` when given. */
  queue(seen) {
    const lists = "list=assigned,open,needs_attention"
    return this.get(seen === undefined ? `/api/queue?${lists}` : `/api/queue?${lists}&seen=${seen}`)
  }

  /** GET /api/search with `params` (URLSearchParams: q, type, limit, cursor…); `signal` cancels it. */
  search(params, signal) {
    return this.get(`/api/search?${params}`, { signal })
  }

  article(id) {
    return this.get(`/api/articles/${encodeURIComponent(id)}`)
  }

  /** Every annotation on an article (following pages), optionally as of a sequence number. */
  async annotations(articleId, at) {
    const query = at === undefined ? "" : `?at=${at}`
    let page = await this.get(`/articles/${encodeURIComponent(articleId)}/annotations/${query}`, {
      ld: true,
      headers: { Prefer: 'return=representation; include="http://www.w3.org/ns/oa#PreferContainedDescriptions"' },
    })
    const items = []
    let current = page.first
    while (current) {
      // Page IRIs are absolute under the server's public URL; fetch them from this origin.
      if (typeof current === "string") {
        const url = new URL(current, location.href)
        current = await this.get(url.pathname + url.search, { ld: true })
      }
      items.push(...(current.items ?? []))
      current = current.next
    }
    return items
  }

  /** The article's events in order (all pages). */
  async events(articleId) {
    const events = []
    let after = 0
    for (;;) {
      const page = await this.get(`/api/events?article=${encodeURIComponent(articleId)}&after=${after}&limit=500`)
      events.push(...page.events)
      if (page.events.length === 0 || page.cursor === after) return events
      after = page.cursor
    }
  }

  version(articleId, number) {
    return this.get(`/api/articles/${encodeURIComponent(articleId)}/versions/${number}`)
  }

  /** Where every annotation on the article is in one version, and which need a person. */
  placements(articleId, version) {
    return this.get(`/api/articles/${encodeURIComponent(articleId)}/anchors?version=${version}`)
  }

  reattach(id, body) {
    return this.post(`/api/annotations/${encodeURIComponent(id)}/anchor`, body)
  }

  history(id) {
    return this.get(`/api/annotations/${encodeURIComponent(id)}/history`)
  }

  create(articleId, annotation) {
    return this.request("POST", `/articles/${encodeURIComponent(articleId)}/annotations/`, { body: annotation, ld: true })
  }

  setStatus(id, status) {
    return this.post(`/api/annotations/${encodeURIComponent(id)}/status`, { status })
  }

  assign(id, assignee) {
    return this.post(`/api/annotations/${encodeURIComponent(id)}/assignee`, { assignee })
  }

  reply(id, text, parent) {
    return this.post(`/api/annotations/${encodeURIComponent(id)}/replies`, parent ? { text, parent } : { text })
  }

  /** Reads the annotation, lets `edit` change its JSON-LD, and PUTs it back with If-Match. */
  async update(id, edit) {
    const path = `/annotations/${encodeURIComponent(id)}`
    for (let attempt = 0; ; attempt++) {
      const { data, etag } = await this.request("GET", path, { ld: true })
      edit(data)
      try {
        return await this.request("PUT", path, { body: data, ld: true, headers: { "If-Match": etag } })
      } catch (e) {
        // Someone else changed it between our read and write: read again and reapply.
        if (e.status !== 412 || attempt >= 2) throw e
      }
    }
  }

  async remove(id) {
    const path = `/annotations/${encodeURIComponent(id)}`
    const { etag } = await this.request("GET", path, { ld: true })
    await this.request("DELETE", path, { headers: { "If-Match": etag } })
  }
}
