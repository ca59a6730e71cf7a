// The sidebar: one card per annotation with its thread, workflow controls and live note. Cards are
// rebuilt only when something other than the note changes; the note's textarea survives rebuilds
// so typing is never interrupted by someone else's status change.

import { h, when } from "./dom.js"
import { EDIT_LABELS, KINDS, label, nextStatuses, STATUSES, VERDICTS } from "./vocab.js"

export class Sidebar {
  /**
   * @param list   the <ol> that holds the cards
   * @param ctx    { me, canWrite, users, articles, actions, onFocus }
   */
  constructor(list, ctx) {
    this.list = list
    this.ctx = ctx
    this.cards = new Map() // id → { el, sig, note }
    this.replyDrafts = new Map()
    list.addEventListener("keydown", e => this.keydown(e))
  }

  name(user) {
    return this.ctx.users.find(u => u.name === user)?.display_name ?? user ?? "someone"
  }

  /** Shows `annotations` (already filtered and ordered); `live` says whether they can change. */
  render(annotations, { live, presence = [] }) {
    const seen = new Set()
    const order = []
    for (const a of annotations) {
      seen.add(a.id)
      const editable = live && a.live && this.ctx.canWrite
      const anchors = a.targets.map((_, i) => this.ctx.anchorOf?.(a, i) ?? null)
      const sig = JSON.stringify([{ ...a, body: undefined }, live, editable, anchors])
      let card = this.cards.get(a.id)
      if (!card || card.sig !== sig) {
        const note = card?.note ?? this.noteField(a)
        const watchers = card?.watchers ?? h("span", { class: "watchers" })
        const el = this.card(a, { editable, note, watchers })
        const active = document.activeElement
        const inCard = card?.el.contains(active)
        const [start, end] = [note.selectionStart, note.selectionEnd]
        card?.el.replaceWith(el)
        // Moving the note into the rebuilt card blurs it: give the writer their caret back.
        if (inCard && active === note) {
          note.focus({ preventScroll: true })
          note.setSelectionRange(start, end)
        } else if (inCard) {
          el.focus({ preventScroll: true })
        }
        card = { el, sig, note, watchers }
        this.cards.set(a.id, card)
      }
      this.showWatchers(card.watchers, presence.filter(p => p.focus === a.id))
      this.syncNote(card.note, a.body, editable)
      order.push(card.el)
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.el.remove()
        this.cards.delete(id)
      }
    }
    // Put cards in order without moving those already in place (moving would drop focus).
    order.forEach((el, i) => {
      if (this.list.children[i] !== el) this.list.insertBefore(el, this.list.children[i] ?? null)
    })
  }

  noteField(a) {
    const note = h("textarea", {
      class: "note",
      rows: 3,
      "aria-label": "Note (shared: everyone on this article sees it as you type)",
      dataset: { annotation: a.id },
    })
    note.addEventListener("input", () => this.ctx.actions.editBody(a.id, note.value))
    note.addEventListener("focus", () => this.ctx.onFocus(a.id))
    return note
  }

  /** Puts the document's text in the note, keeping the caret where the writer left it. */
  syncNote(note, text, editable) {
    note.readOnly = !editable
    if (note.value === text) return
    const old = note.value
    const focused = document.activeElement === note
    const [start, end] = [note.selectionStart, note.selectionEnd]
    let prefix = 0
    while (prefix < old.length && prefix < text.length && old[prefix] === text[prefix]) prefix++
    let suffix = 0
    while (
      suffix < old.length - prefix &&
      suffix < text.length - prefix &&
      old[old.length - 1 - suffix] === text[text.length - 1 - suffix]
    ) suffix++
    const shift = pos => (pos <= prefix ? pos : pos >= old.length - suffix ? pos + text.length - old.length : prefix + (text.length - suffix - prefix))
    note.value = text
    if (focused) note.setSelectionRange(shift(start), shift(end))
  }

  showWatchers(el, watchers) {
    const key = watchers.map(w => w.user).join(",")
    if (el.dataset.users === key) return
    el.dataset.users = key
    el.title = watchers.length ? `${watchers.map(w => w.name).join(", ")} looking at this` : ""
    el.replaceChildren(...watchers.map(w => h("span", { class: "avatar", "aria-label": `${w.name} is here`, dataset: { user: w.user } }, initials(w.name))))
  }

  /** "Claim by X on DATE", and the claim in a line, when the fact-check says so. */
  claimLine(a) {
    if (!a.claimant?.name && !a.claimDate && !a.claimSummary) return null
    const who = a.claimant?.name
      ? a.claimant.url
        ? h("a", { href: a.claimant.url, target: "_blank", rel: "noopener" }, a.claimant.name)
        : a.claimant.name
      : null
    const date = a.claimDate ? claimDay(a.claimDate) : null
    return h("p", { class: "claim", dataset: { claimant: a.claimant?.name ?? "" } },
      who ? ["Claim by ", who] : "Claim",
      date ? [" on ", h("time", { datetime: a.claimDate }, date)] : null,
      a.claimSummary ? [": ", h("q", {}, a.claimSummary)] : null)
  }

  card(a, { editable, note, watchers }) {
    const { actions } = this.ctx
    const kind = label(KINDS, a.kind)
    const el = h(
      "li",
      {
        class: `card kind-${a.kind}`,
        tabindex: 0,
        dataset: { annotation: a.id, kind: a.kind, status: a.status },
        "aria-label": `${kind} by ${this.name(a.creator)}, ${label(STATUSES, a.status)}`,
        onfocusin: () => this.ctx.onFocus(a.id),
      },
      h(
        "header",
        { class: "card-head" },
        h("span", { class: `chip kind-chip kind-${a.kind}` }, kind),
        a.kind === "fact-check" && a.verdict
          ? h("span", { class: `chip verdict verdict-${a.verdict}`, dataset: { verdict: a.verdict } }, label(VERDICTS, a.verdict))
          : null,
        h("span", { class: `chip status status-${a.status}` }, label(STATUSES, a.status)),
        watchers,
      ),
      a.targets.map((t, i) => this.passage(t, this.ctx.anchorOf?.(a, i))),
      a.kind === "fact-check" ? this.claimLine(a) : null,
      note,
      a.kind === "correction" && a.suggestion
        ? h("p", { class: "suggestion" }, h("span", { class: "label" }, `Suggested ${label(EDIT_LABELS, a.editLabel ?? "correction").toLowerCase()}: `), a.suggestion)
        : null,
      a.tags?.length ? h("p", { class: "tags" }, a.tags.map(t => h("span", { class: "tag" }, `#${t}`))) : null,
      a.sources?.length
        ? h("ul", { class: "sources", "aria-label": "Sources" },
            a.sources.map(s => h("li", {}, h("a", { href: s.url, target: "_blank", rel: "noopener" }, s.title || s.url),
              s.archived ? [" · ", h("a", { href: s.archived, target: "_blank", rel: "noopener" }, "archived")] : null)))
        : null,
      h("p", { class: "meta" },
        `${this.name(a.creator)} · ${when(a.created)}`,
        a.assignee ? ` · assigned to ${this.name(a.assignee)}` : " · unassigned",
        a.live ? null : h("span", { class: "muted" }, " · kept with another article")),
      editable ? this.controls(a) : null,
      h("div", { class: "tools" },
        h("button", { type: "button", class: "link", onclick: () => actions.history(a), "aria-label": `History of this ${kind.toLowerCase()}` }, "History")),
      this.thread(a, editable),
    )
    return el
  }

  passage(t, anchor) {
    const here = t.article === this.ctx.articleId
    const quote = t.exact.length > 160 ? `${t.exact.slice(0, 157)}…` : t.exact
    const chip = anchor && anchor.status !== "original"
      ? h("span", { class: `chip anchor anchor-${anchor.status}`, title: `Where this passage is in version ${anchor.version}` },
          anchor.status === "fuzzy" && anchor.score ? `fuzzy ${Math.round(anchor.score * 100)}%` : anchor.status)
      : null
    return h("blockquote", { class: "passage" },
      here ? null : h("a", { class: "elsewhere", href: `#/articles/${t.article}` }, `In “${this.ctx.articles.get(t.article)?.title ?? t.article}”: `),
      `“${quote}”`, chip ? " " : null, chip)
  }

  controls(a) {
    const { actions } = this.ctx
    const select = (name, options, value, onchange) =>
      h("label", { class: "control" }, h("span", {}, name),
        h("select", { onchange: e => onchange(e.target.value), "aria-label": name },
          options.map(o => h("option", { value: o.id, selected: o.id === value }, o.label))))
    const statuses = [a.status, ...nextStatuses(a.status)].map(id => ({ id, label: label(STATUSES, id) }))
    const writers = this.ctx.users.filter(u => u.can_write)
    return h("div", { class: "controls" },
      select("Status", statuses, a.status, s => s !== a.status && actions.setStatus(a.id, s)),
      a.kind === "fact-check"
        ? select("Verdict", [{ id: "", label: "— none —" }, ...VERDICTS], a.verdict ?? "", v => actions.setVerdict(a.id, v || null))
        : null,
      select("Assignee", [{ id: "", label: "Unassigned" }, ...writers.map(u => ({ id: u.name, label: u.display_name }))], a.assignee ?? "",
        v => actions.assign(a.id, v || null)),
      h("button", { type: "button", class: "danger", onclick: () => actions.remove(a) }, "Delete…"))
  }

  thread(a, editable) {
    const children = parent => a.replies.filter(r => (r.parent ?? null) === parent)
    const render = parent => {
      const replies = children(parent)
      if (!replies.length) return null
      return h("ul", { class: "replies" }, replies.map(r =>
        h("li", { class: "reply", dataset: { reply: r.id } },
          h("p", { class: "meta" }, `${this.name(r.creator)} · ${when(r.created)}`),
          h("p", { class: "reply-text" }, r.text),
          editable ? h("button", { type: "button", class: "link", onclick: () => this.openReply(a.id, r.id) }, "Reply") : null,
          render(r.id))))
    }
    const box = h("section", { class: "thread", "aria-label": `Thread (${a.replies.length})` }, render(null))
    if (editable) box.append(this.replyForm(a.id))
    return box
  }

  replyForm(id, parent) {
    const key = `${id}/${parent ?? ""}`
    const input = h("textarea", {
      class: "reply-input",
      rows: 1,
      placeholder: parent ? "Reply to this reply…" : "Reply…",
      "aria-label": "Reply",
      value: this.replyDrafts.get(key) ?? "",
      oninput: e => this.replyDrafts.set(key, e.target.value),
    })
    const send = async () => {
      const text = input.value.trim()
      if (!text) return input.focus()
      if (await this.ctx.actions.reply(id, text, parent)) {
        this.replyDrafts.delete(key)
        input.value = ""
      }
    }
    input.addEventListener("keydown", e => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send()
    })
    return h("div", { class: "reply-form", dataset: { parent: parent ?? "" } }, input,
      h("button", { type: "button", onclick: send }, "Send"))
  }

  openReply(id, parent) {
    const card = this.cards.get(id)
    if (!card) return
    const host = card.el.querySelector(`li[data-reply="${CSS.escape(parent)}"]`)
    let form = host?.querySelector(`:scope > .reply-form`)
    if (!form && host) {
      form = this.replyForm(id, parent)
      host.append(form)
    }
    form?.querySelector("textarea")?.focus()
  }

  focus(id) {
    const card = this.cards.get(id)
    if (!card) return
    card.el.scrollIntoView({ block: "nearest", behavior: "smooth" })
    card.el.focus({ preventScroll: true })
  }

  /** ↑/↓ between cards, Home/End, Enter to the note, Escape back to the card. */
  keydown(e) {
    const card = e.target.closest?.(".card")
    if (!card) return
    const cards = [...this.list.querySelectorAll(":scope > .card")]
    const i = cards.indexOf(card)
    if (e.key === "Escape" && e.target !== card) {
      card.focus()
      e.preventDefault()
      return
    }
    if (e.target !== card) return
    const go = j => {
      const next = cards[Math.max(0, Math.min(cards.length - 1, j))]
      next?.focus()
      next?.scrollIntoView({ block: "nearest" })
      e.preventDefault()
    }
    if (e.key === "ArrowDown" || e.key === "j") go(i + 1)
    else if (e.key === "ArrowUp" || e.key === "k") go(i - 1)
    else if (e.key === "Home") go(0)
    else if (e.key === "End") go(cards.length - 1)
    else if (e.key === "Enter") {
      const note = card.querySelector("textarea.note")
      if (note) {
        note.focus()
        e.preventDefault()
      }
    }
  }
}

export function initials(name) {
  return (name ?? "?")
    .replace(/\(.*\)/, "")
    .trim()
    .split(/\s+/)
    .map(w => w[0])
    .slice(0, 2)
    .join("")
    .toUpperCase()
}

/** A claim date as readers read it: "24 Feb 2025" for a date, the day of a date-time. */
function claimDay(raw) {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : new Date(raw)
  if (Number.isNaN(day.getTime())) return raw
  return day.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
}
