// Looking back: a timeline of the article's events that shows the desk as of any of them (the
// server's `?at=` reads), and the story of one annotation (who changed what, when).

import { h, when } from "./dom.js"
import { KINDS, label, STATUSES, VERDICTS } from "./vocab.js"

const QUIET = new Set(["document.changed", "change.rejected"])

function describeEvent(e, name) {
  const who = name(e.actor)
  const kind = e.data?.annotation?.kind ? label(KINDS, e.data.annotation.kind).toLowerCase() : "annotation"
  switch (e.type) {
    case "article.created": return `${who} added the article`
    case "article.version_published": return `${who} published version ${e.data?.version ?? ""}`.trim()
    case "annotation.created": return `${who} created a ${kind}`
    case "annotation.updated": return `${who} edited an annotation`
    case "annotation.status_changed": return `${who} moved an annotation to ${label(STATUSES, e.data?.to ?? "")}`
    case "annotation.deleted": return `${who} deleted an annotation`
    case "reply.added": return `${who} replied`
    default: return `${who}: ${e.type}`
  }
}

export class Timeline {
  /**
   * @param ctx { api, articleId, name, onAt(seq | null, text) }
   */
  constructor(ctx) {
    this.ctx = ctx
    this.events = []
    this.slider = h("input", {
      type: "range",
      min: 0,
      max: 0,
      value: 0,
      class: "timeline-slider",
      "aria-label": "Moment in the article's history",
      oninput: () => this.show(Number(this.slider.value), false),
      onchange: () => this.show(Number(this.slider.value), true),
    })
    this.caption = h("p", { class: "timeline-caption", "aria-live": "polite" })
    this.el = h("section", { class: "timeline", "aria-label": "History", hidden: true },
      h("div", { class: "timeline-row" },
        h("button", { type: "button", "aria-label": "Earlier", onclick: () => this.step(-1) }, "◀"),
        this.slider,
        h("button", { type: "button", "aria-label": "Later", onclick: () => this.step(1) }, "▶"),
        h("button", { type: "button", class: "primary", onclick: () => this.close() }, "Back to live")),
      this.caption)
  }

  get active() {
    return !this.el.hidden
  }

  async open() {
    const all = await this.ctx.api.events(this.ctx.articleId)
    this.events = all.filter(e => !QUIET.has(e.type))
    this.slider.max = Math.max(0, this.events.length - 1)
    this.el.hidden = false
    // Start one step before now, so the change is visible at once.
    const start = Math.max(0, this.events.length - 2)
    this.slider.value = start
    this.show(start, true)
    this.slider.focus()
  }

  step(delta) {
    const next = Math.max(0, Math.min(this.events.length - 1, Number(this.slider.value) + delta))
    this.slider.value = next
    this.show(next, true)
  }

  show(index, load) {
    const e = this.events[index]
    if (!e) return
    const text = `${when(e.at)} — ${describeEvent(e, this.ctx.name)} (event ${e.seq}, ${index + 1} of ${this.events.length})`
    this.caption.textContent = text
    if (load) this.ctx.onAt(e.seq, text)
  }

  close() {
    this.el.hidden = true
    this.ctx.onAt(null, "")
  }
}

function change(key, value, name) {
  if (value && typeof value === "object" && "inserted" in value) {
    const parts = []
    if (value.removed) parts.push(h("del", {}, value.removed))
    if (value.inserted) parts.push(h("ins", {}, value.inserted))
    return h("li", {}, `${key}: `, parts)
  }
  const show = v => {
    if (v === null || v === undefined || v === "") return "—"
    if (key === "status") return label(STATUSES, v)
    if (key === "verdict") return label(VERDICTS, v)
    if (key === "assignee") return name(v)
    if (key === "claim" && typeof v === "object") {
      const who = [v.claimant?.name, v.date].filter(Boolean).join(", ")
      return `${who || "claim"}${v.summary ? `: ${v.summary}` : ""}`
    }
    return typeof v === "string" ? v : JSON.stringify(v)
  }
  return h("li", {}, `${key}: ${show(value?.before)} → ${show(value?.after)}`)
}

/** A dialog with one annotation's story. */
export async function showAnnotationHistory(api, annotation, name) {
  const list = h("ol", { class: "story" }, h("li", { class: "muted" }, "Loading…"))
  const dialog = h("dialog", { class: "story-dialog", "aria-label": "Annotation history" },
    h("h2", {}, `History of this ${label(KINDS, annotation.kind).toLowerCase()}`),
    list,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => dialog.close() }, "Close")))
  dialog.addEventListener("close", () => dialog.remove())
  document.body.append(dialog)
  dialog.showModal()
  try {
    const { history } = await api.history(annotation.id)
    list.replaceChildren(...history.map(entry => {
      const head = h("p", { class: "meta" }, `${when(entry.at)} · ${name(entry.actor)} · `, h("strong", {}, entry.type.replace("annotation.", "").replace("_", " ")))
      const details = []
      if (entry.changes) details.push(h("ul", {}, Object.entries(entry.changes).map(([k, v]) => change(k, v, name))))
      if (entry.reply) details.push(h("p", { class: "reply-text" }, `“${entry.reply.text}”`))
      if (entry.type === "annotation.created" && entry.annotation) details.push(h("p", { class: "reply-text" }, entry.annotation.body))
      return h("li", {}, head, details)
    }))
  } catch (e) {
    list.replaceChildren(h("li", { class: "error" }, e.message))
  }
}
