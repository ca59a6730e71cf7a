// The search box in the header of every signed-in page: GET /api/search as you type, the hits in
// a listbox (an ARIA combobox: focus stays in the input, ↑/↓ move, Enter opens, Escape closes),
// and each hit opens the reader on its passage. `/` anywhere else focuses the box.

import { annotationLink } from "./desk.js"
import { h } from "./dom.js"
import { KINDS, label, STATUSES, VERDICTS } from "./vocab.js"

/** How long typing must pause before asking, and how many hits a page holds. */
const DEBOUNCE_MS = 150
const PAGE = 10
const MAX_QUERY = 500 // the server refuses longer queries

const SCOPES = [
  { id: "", label: "All" },
  { id: "annotation", label: "Annotations" },
  { id: "article", label: "Articles" },
]

/** The reader's route for a hit, from its ids (not the absolute `link`, so a proxy in front works). */
export function hitRoute(item) {
  return item.type === "annotation" ? annotationLink(item.article.id, item.id) : `#/articles/${encodeURIComponent(item.article.id)}`
}

/**
 * The snippet as DOM: text nodes, and a <mark> for each highlighted range. The server also sends
 * `snippet.html` (escaped, with <mark>s), but building the nodes from `text` + `highlights` means
 * nothing the server returns is ever parsed as HTML here, so a bug in its escaping could not
 * become script in the page. Ranges are in code points, so the text is split into code points
 * (Array.from), not UTF-16 units.
 */
export function snippetNodes(snippet) {
  if (!snippet?.text) return []
  const chars = Array.from(snippet.text)
  const ranges = [...(snippet.highlights ?? [])]
    .filter(([from, to]) => Number.isInteger(from) && Number.isInteger(to) && from < to)
    .sort((a, b) => a[0] - b[0])
  const nodes = []
  let at = 0
  for (const [from, to] of ranges) {
    const start = Math.max(from, at)
    const end = Math.min(to, chars.length)
    if (start >= end) continue
    if (start > at) nodes.push(document.createTextNode(chars.slice(at, start).join("")))
    nodes.push(h("mark", { class: "found" }, chars.slice(start, end).join("")))
    at = end
  }
  if (at < chars.length) nodes.push(document.createTextNode(chars.slice(at).join("")))
  return nodes
}

export class SearchBox {
  /** ctx: { api, articles (Map), go(route) } */
  constructor(ctx) {
    this.ctx = ctx
    this.asked = 0 // bumped by every new search: an answer to an older one is dropped
    this.controller = null
    this.timer = null
    this.items = []
    this.active = -1
    this.shown = null // { q, scope, total, cursor } of what the list holds
    this.build()
    this.onSlash = e => {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return
      const t = e.target
      if (t?.closest?.("input, textarea, select, [contenteditable=''], [contenteditable='true']")) return
      if (!this.el.isConnected) return
      e.preventDefault()
      this.input.focus()
      this.input.select()
    }
    document.addEventListener("keydown", this.onSlash)
  }

  build() {
    this.input = h("input", {
      id: "search-q", type: "search", name: "q", autocomplete: "off", spellcheck: "false", maxlength: String(MAX_QUERY),
      placeholder: "Search… ( / )", role: "combobox", "aria-expanded": "false", "aria-controls": "search-results",
      "aria-autocomplete": "list", "aria-keyshortcuts": "/",
      oninput: () => this.schedule(),
      onkeydown: e => this.keydown(e),
      onfocus: () => { if (this.input.value.trim() && this.shown) this.open() },
    })
    this.scope = h("select", { name: "type", "aria-label": "Search in", onchange: () => this.schedule(0) },
      SCOPES.map(s => h("option", { value: s.id }, s.label)))
    this.list = h("ul", { id: "search-results", role: "listbox", "aria-label": "Search results" })
    this.status = h("p", { class: "search-status", role: "status" })
    this.more = h("button", { type: "button", class: "link search-more", hidden: true, onclick: () => this.showMore() }, "Show more")
    this.panel = h("div", { class: "search-panel", hidden: true }, this.status, this.list, this.more)
    // Keep the focus in the input when a hit or Show more is clicked, so the click lands before
    // losing the focus closes the panel.
    this.panel.addEventListener("mousedown", e => e.preventDefault())
    this.el = h("div", { class: "search", role: "search" },
      h("label", { for: "search-q", class: "visually-hidden" }, "Search"),
      this.input, this.scope, this.panel)
    this.el.addEventListener("focusout", e => {
      if (!this.el.contains(e.relatedTarget)) this.close()
    })
  }

  destroy() {
    document.removeEventListener("keydown", this.onSlash)
    this.cancel()
  }

  cancel() {
    clearTimeout(this.timer)
    this.controller?.abort()
    this.controller = null
  }

  /** Asks again after the typing pauses; an empty box closes the panel. */
  schedule(delay = DEBOUNCE_MS) {
    this.cancel()
    this.asked++
    this.move(-1) // a hit chosen in the list for the old text is not one for the new text
    if (!this.input.value.trim()) {
      this.shown = null
      this.el.dataset.state = "idle"
      return this.close()
    }
    this.el.dataset.state = "waiting"
    this.timer = setTimeout(() => this.run(), delay)
  }

  params(q, scope, cursor) {
    const params = new URLSearchParams({ q, limit: String(PAGE) })
    if (scope) params.set("type", scope)
    if (cursor) params.set("cursor", cursor)
    return params
  }

  async fetch(params) {
    this.controller?.abort()
    const controller = new AbortController()
    this.controller = controller
    const ask = ++this.asked
    try {
      const page = await this.ctx.api.search(params, controller.signal)
      return ask === this.asked ? { page } : null
    } catch (e) {
      if (e.name === "AbortError" || ask !== this.asked) return null
      return { error: e }
    } finally {
      if (this.controller === controller) this.controller = null
    }
  }

  async run() {
    // The raw text: a trailing space tells the server the last word is whole, not a prefix.
    const q = this.input.value
    const scope = this.scope.value
    const answer = await this.fetch(this.params(q, scope))
    if (!answer) return
    this.el.dataset.q = q // what the panel answers (the tests wait on it)
    this.items = []
    this.active = -1
    this.list.replaceChildren()
    if (answer.error) return this.fail(answer.error)
    this.shown = { q, scope, total: answer.page.total, cursor: answer.page.cursor }
    this.append(answer.page.items)
    this.open()
  }

  async showMore() {
    const shown = this.shown
    if (!shown?.cursor) return
    this.more.disabled = true
    const answer = await this.fetch(this.params(shown.q, shown.scope, shown.cursor))
    this.more.disabled = false
    if (!answer || this.shown !== shown) return
    if (answer.error) return this.fail(answer.error)
    shown.cursor = answer.page.cursor
    shown.total = answer.page.total
    const first = this.items.length
    this.append(answer.page.items)
    this.input.focus()
    if (this.items.length > first) this.move(first)
  }

  fail(error) {
    this.shown = null
    this.el.dataset.state = "error"
    this.status.className = "search-status error"
    this.status.textContent = error.message
    this.more.hidden = true
    this.open()
  }

  append(items) {
    const known = new Set(this.items.map(i => `${i.type}/${i.id}`))
    for (const item of items) {
      if (known.has(`${item.type}/${item.id}`)) continue
      const index = this.items.length
      this.items.push(item)
      this.list.append(this.option(item, index))
    }
    const { q, total, cursor } = this.shown
    this.status.className = "search-status"
    this.status.textContent = total === 0
      ? `No matches for “${q.trim()}”`
      : `${total} match${total === 1 ? "" : "es"}${this.items.length < total ? `, ${this.items.length} shown` : ""}`
    this.more.hidden = !cursor
    this.el.dataset.state = total === 0 ? "empty" : "results"
  }

  option(item, index) {
    const annotation = item.type === "annotation"
    const title = item.article.title ?? this.ctx.articles?.get(item.article.id)?.title ?? item.article.id
    return h("li", {
      id: `search-hit-${index}`, role: "option", "aria-selected": "false",
      class: `hit ${annotation ? `kind-${item.kind}` : "article"}`,
      dataset: { type: item.type, id: item.id, article: item.article.id },
      onclick: () => this.openHit(index),
      onmousemove: () => { if (this.active !== index) this.move(index) },
    },
    h("span", { class: "hit-head" },
      annotation
        ? h("span", { class: `chip kind-chip kind-${item.kind}` }, label(KINDS, item.kind))
        : h("span", { class: "chip" }, "Article"),
      h("span", { class: "hit-title" }, title)),
    item.snippet?.text ? h("span", { class: "hit-snippet" }, snippetNodes(item.snippet)) : null,
    annotation
      ? h("span", { class: "hit-meta" },
        h("span", { class: `status-${item.status}` }, label(STATUSES, item.status)),
        item.verdict ? h("span", { class: `chip verdict verdict-${item.verdict}` }, label(VERDICTS, item.verdict)) : null)
      : null)
  }

  open() {
    this.panel.hidden = false
    this.input.setAttribute("aria-expanded", "true")
  }

  close() {
    this.panel.hidden = true
    this.input.setAttribute("aria-expanded", "false")
    this.move(-1)
  }

  move(index) {
    this.list.querySelector('[aria-selected="true"]')?.setAttribute("aria-selected", "false")
    this.active = index
    const el = index >= 0 ? this.list.children[index] : null
    if (!el) {
      this.input.removeAttribute("aria-activedescendant")
      return
    }
    el.setAttribute("aria-selected", "true")
    this.input.setAttribute("aria-activedescendant", el.id)
    el.scrollIntoView({ block: "nearest" })
  }

  openHit(index) {
    const item = this.items[index]
    if (!item) return
    this.close()
    this.input.blur()
    this.ctx.go(hitRoute(item))
  }

  keydown(e) {
    const count = this.items.length
    const fresh = this.shown && this.shown.q === this.input.value && this.shown.scope === this.scope.value
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!count) return
      e.preventDefault()
      if (this.panel.hidden) this.open()
      const step = e.key === "ArrowDown" ? 1 : -1
      this.move(this.active < 0 ? (step > 0 ? 0 : count - 1) : (this.active + step + count) % count)
    } else if ((e.key === "Home" || e.key === "End") && this.active >= 0) {
      e.preventDefault()
      this.move(e.key === "Home" ? 0 : count - 1)
    } else if (e.key === "Enter") {
      e.preventDefault()
      // With no hit chosen, Enter opens the first one, but only when the list answers what is typed.
      if (this.active >= 0) this.openHit(this.active)
      else if (fresh && count) this.openHit(0)
    } else if (e.key === "Escape") {
      e.preventDefault()
      if (!this.panel.hidden) this.close()
      else if (this.input.value) {
        this.input.value = ""
        this.schedule()
      }
    }
  }
}
