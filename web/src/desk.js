// The Desk page, the landing page after sign-in: what is waiting and for whom. Its lists are
// GET /api/queue (assigned to me, open fact-checks and corrections oldest first, what needs a
// person after a new version); recent activity is the live tail, and every event the queue has
// not seen yet asks for the queue again, so the page follows the desk without a reload.

import { h, when } from "./dom.js"
import { LiveTail } from "./tail.js"
import { KINDS, STATUSES } from "./vocab.js"

/** How many events the activity list shows, and how far back it starts. */
const ACTIVITY = 15
const BACKFILL = 300

/** Events that say nothing to a person on their own (the changes behind the others). */
const QUIET = new Set(["document.changed", "request.recorded", "change.rejected", "style.rules_set"])

const label = (list, id) => list.find(x => x.id === id)?.label ?? id

/** The reader's link to one annotation, and to re-attaching one target of it. */
export const annotationLink = (article, id) => `#/articles/${encodeURIComponent(article)}/annotations/${encodeURIComponent(id)}`
export const reattachLink = (article, id, target) => `#/articles/${encodeURIComponent(article)}/reattach/${encodeURIComponent(id)}/${target}`

export class DeskPage {
  /** ctx: { api, me, users, articles (Map), toast, token } */
  constructor(root, ctx) {
    this.root = root
    this.ctx = ctx
    this.seq = 0 // the last event the lists reflect
    this.wanted = 0 // the last event heard of
    this.loading = null
    this.activity = []
    this.stopped = false
  }

  name = user => this.ctx.users.find(u => u.name === user)?.display_name ?? user ?? "someone"
  title = article => this.ctx.articles.get(article)?.title ?? article

  async start() {
    this.layout()
    const queue = await this.ctx.api.queue()
    if (this.stopped) return
    this.render(queue)
    this.tail = new LiveTail(this.ctx.token, {
      after: Math.max(0, queue.seq - BACKFILL),
      onEvent: event => this.heard(event),
      onStatus: live => {
        this.live.textContent = live ? "● Live" : "○ Reconnecting…"
        this.live.className = `connection ${live ? "online" : "offline"}`
      },
    }).start()
  }

  stop() {
    this.stopped = true
    this.tail?.stop()
  }

  layout() {
    const section = (list, heading, lede) => {
      const el = h("section", { class: "queue", dataset: { list }, "aria-labelledby": `queue-${list}` },
        h("h2", { id: `queue-${list}` }, heading, " ", h("span", { class: "tally" })),
        h("p", { class: "muted lede" }, lede),
        h("ol", { class: "queue-items" }))
      return el
    }
    this.sections = {
      assigned: section("assigned", "Assigned to me", "Open or in review, assigned to you; oldest first."),
      open: section("open", "Open fact-checks and corrections", "Open or in review, on every article, whoever has them; oldest first."),
      attention: section("needs_attention", "Needs a person", "A new version of the article left these passages without a confident place. Open one to re-attach it."),
    }
    this.activityEl = h("ol", { class: "activity-items" })
    this.live = h("span", { class: "connection", role: "status" })
    this.main = h("main", { class: "desk-page" },
      h("header", { class: "desk-head" },
        h("h1", {}, "Desk"),
        this.live,
        h("a", { href: "#/articles" }, "All articles")),
      h("div", { class: "desk-grid" },
        h("div", { class: "desk-lists" }, this.sections.assigned, this.sections.attention, this.sections.open),
        h("section", { class: "activity", "aria-labelledby": "queue-activity" },
          h("h2", { id: "queue-activity" }, "Recent activity"),
          this.activityEl)))
    this.root.replaceChildren(this.main)
  }

  render(queue) {
    this.seq = Math.max(this.seq, queue.seq)
    this.fill(this.sections.assigned, queue.assigned, a => this.item(a), "Nothing is assigned to you.")
    this.fill(this.sections.open, queue.open, a => this.item(a, { assignee: true }), "No fact-check or correction is open.")
    this.fill(this.sections.attention, queue.needs_attention, a => this.attentionItem(a), "Every passage has its place.")
    this.main.dataset.seq = String(this.seq)
  }

  fill(section, items, render, empty) {
    section.querySelector(".tally").textContent = `(${items.length})`
    section.querySelector("ol").replaceChildren(...(items.length ? items.map(render) : [h("li", { class: "empty muted" }, empty)]))
  }

  item(a, { assignee = false } = {}) {
    return h("li", { class: `queue-item kind-${a.kind}`, dataset: { annotation: a.id, status: a.status } },
      h("a", { href: annotationLink(a.article, a.id) },
        h("span", { class: `chip kind-${a.kind}` }, label(KINDS, a.kind)),
        " ",
        h("q", {}, a.quote.length > 90 ? `${a.quote.slice(0, 90)}…` : a.quote)),
      h("span", { class: "meta" },
        [this.title(a.article), label(STATUSES, a.status),
          assignee ? (a.assignee ? `assigned to ${this.name(a.assignee)}` : "unassigned") : null,
          `opened ${when(a.created)} by ${this.name(a.creator)}`].filter(Boolean).join(" · ")))
  }

  attentionItem(a) {
    return h("li", { class: `queue-item kind-${a.kind}`, dataset: { annotation: a.id, target: String(a.target), article: a.article } },
      h("a", { href: annotationLink(a.article, a.id) },
        h("span", { class: `chip anchor anchor-${a.target_status}` }, a.target_status),
        " ",
        h("q", {}, a.quote.length > 90 ? `${a.quote.slice(0, 90)}…` : a.quote)),
      h("span", { class: "meta" }, `${this.title(a.article)} · version ${a.version} (made on ${a.made_on}) · ${label(KINDS, a.kind)}`),
      h("a", { class: "reattach", href: reattachLink(a.article, a.id, a.target) }, "Re-attach…"))
  }

  /** An event from the live tail: shown if a person would care, and the lists follow it. */
  heard(event) {
    if (!QUIET.has(event.type)) {
      const top = this.activity[0]
      if (top && sameStory(top, event)) {
        // One line for a run of the same thing: re-anchoring a version, typing into one note.
        this.activity[0] = { ...event, count: (top.count ?? 1) + 1 }
      } else {
        this.activity.unshift(event)
        this.activity.length = Math.min(this.activity.length, ACTIVITY)
      }
      this.activityEl.replaceChildren(...this.activity.map(e => this.activityItem(e)))
    }
    if (event.seq > this.seq && movesQueue(event)) this.refresh(event.seq)
  }

  /** Reads the queue again, as of at least event `seen`; requests that arrive meanwhile merge. */
  async refresh(seen) {
    this.wanted = Math.max(this.wanted, seen)
    if (this.loading) return
    this.loading = (async () => {
      while (this.wanted > this.seq && !this.stopped) {
        const asked = this.wanted
        try {
          const queue = await this.ctx.api.queue(asked)
          if (this.stopped) return
          this.render(queue)
          this.seq = Math.max(this.seq, asked)
        } catch (e) {
          this.ctx.toast(e.message, true)
          return
        }
      }
    })().finally(() => { this.loading = null })
  }

  activityItem(e) {
    const id = e.data?.id ?? e.data?.annotation?.id
    const what = describe(e, this.name)
    return h("li", { dataset: { seq: String(e.seq), type: e.type } },
      h("span", { class: "muted" }, when(e.at)), " ",
      h("strong", {}, this.name(e.actor)), " ", what,
      e.article ? [" on ", id && !e.type.startsWith("article.")
        ? h("a", { href: annotationLink(e.article, id) }, this.title(e.article))
        : h("a", { href: `#/articles/${encodeURIComponent(e.article)}` }, this.title(e.article))] : null)
  }
}

/** Fields whose edits change nothing the lists show (a note being typed, above all). */
const UNLISTED = new Set(["body", "sources", "tags", "suggestion", "edit_label", "verdict"])

/** Whether an event can change the lists: not a reply, not an edit of an unlisted field. */
function movesQueue(e) {
  if (e.type === "annotation.updated") return Object.keys(e.data?.changes ?? {}).some(k => !UNLISTED.has(k))
  return /^(annotation|article)\./.test(e.type)
}

/** Whether `e` continues the story of the activity's top line `top`. */
function sameStory(top, e) {
  if (top.type !== e.type || top.actor !== e.actor || top.article !== e.article) return false
  if (e.type === "annotation.anchored") return top.data?.version === e.data?.version
  if (e.type === "annotation.updated") {
    const keys = x => Object.keys(x.data?.changes ?? {}).sort().join(",")
    return top.data?.id === e.data?.id && keys(top) === keys(e)
  }
  return false
}

/** A few words for an event: "resolved a fact-check", "assigned an annotation to Bruno". */
function describe(e, name) {
  const d = e.data ?? {}
  switch (e.type) {
    case "annotation.created": return `filed a ${label(KINDS, d.annotation?.kind ?? "annotation").toLowerCase()}`
    case "annotation.status_changed": return `moved an annotation to ${label(STATUSES, d.to).toLowerCase()}`
    case "annotation.updated":
      if (d.changes?.assignee) return d.changes.assignee.after ? `assigned an annotation to ${name(d.changes.assignee.after)}` : "unassigned an annotation"
      if (Object.keys(d.changes ?? {}).join() === "body") return "edited a note"
      return `edited an annotation (${Object.keys(d.changes ?? {}).join(", ")})`
    case "annotation.deleted": return "deleted an annotation"
    case "annotation.anchored": return `placed ${e.count ?? 1} annotation${(e.count ?? 1) === 1 ? "" : "s"} in version ${d.version}`
    case "annotation.reattached": return `re-attached an annotation in version ${d.version}`
    case "reply.added": return "replied"
    case "article.created": return "added an article"
    case "article.version_published": return `published version ${d.version ?? ""}`.trim()
    default: return e.type
  }
}
