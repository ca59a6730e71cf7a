// One article at the desk: its text with highlights, the sidebar of threads, creation from a
// selection, live collaboration through the article's Automerge document, presence, filters and
// the history timeline.

import { describe, highlight, offsetsOf, rangeAt, renderText, selectionIn, swapKeepingSelection } from "./anchors.js"
import { initials, Sidebar } from "./cards.js"
import { Composer } from "./composer.js"
import { h } from "./dom.js"
import { showAnnotationHistory, Timeline } from "./history.js"
import { anchorKey, fromDoc, fromJsonLd } from "./model.js"
import { Presence } from "./presence.js"
import { Automerge } from "./sync.js"
import { KINDS, STATUSES } from "./vocab.js"

export class Reader {
  /**
   * ctx: { api, sync, me, users, articles (Map), toast, focus }; focus, from a link to one
   * annotation: { annotation, reattach, target }, where reattach offers to re-attach that target.
   */
  constructor(root, articleId, ctx) {
    this.root = root
    this.articleId = articleId
    this.ctx = ctx
    this.canWrite = ctx.me.can_write
    this.live = []
    this.foreign = []
    this.past = null // annotations as of a moment, while the timeline is open
    this.presenceList = []
    this.highlighted = null
    this.filters = { kind: "", status: "", assignee: "" }
    this.placements = new Map() // "annotation/target" → where it is in the displayed version
    this.attention = []
    this.stopped = false
    this.pendingFocus = ctx.focus ?? null
  }

  name = user => this.ctx.users.find(u => u.name === user)?.display_name ?? user ?? "someone"

  async start() {
    const { api } = this.ctx
    this.article = await api.article(this.articleId)
    this.version = this.article.latest_version
    this.latest = this.article.latest_version
    this.layout()
    renderText(this.text, this.article.text ?? "")
    await this.loadPlacements()
    this.refreshForeign()
    try {
      this.handle = await this.ctx.sync.find(this.article.document_url)
    } catch (e) {
      this.ctx.toast(`Live updates are unavailable (${e.message}); showing the desk as the server has it.`, true)
      this.foreign = (await api.annotations(this.articleId)).map(fromJsonLd)
      this.update()
      return
    }
    if (this.stopped) return
    this.onChange = () => this.fromDocument()
    this.handle.on("change", this.onChange)
    this.presence = new Presence(this.handle, this.ctx.me, list => {
      this.presenceList = list
      this.renderPresence()
      this.update()
    })
    this.fromDocument()
  }

  stop() {
    this.stopped = true
    this.handle?.off("change", this.onChange)
    this.presence?.stop()
    this.unsubscribe?.()
    document.removeEventListener("selectionchange", this.selectionListener)
    document.removeEventListener("pointerup", this.pointerUp)
    document.removeEventListener("pointercancel", this.pointerUp)
    this.released?.()
  }

  layout() {
    const { me } = this.ctx
    this.text = h("article", { class: "article-text", id: "article-text", lang: "en", "aria-label": "Article text" })
    this.text.addEventListener("mouseup", () => setTimeout(() => this.offerAnnotate(), 0))
    // While a person drags a selection, the highlights wait: replacing the text under the
    // pointer would end the drag. The pass that waited runs when the button is released.
    this.pointerDown = false
    this.text.addEventListener("pointerdown", () => { this.pointerDown = true })
    this.pointerUp = () => {
      if (!this.pointerDown) return
      this.pointerDown = false
      this.released?.()
    }
    document.addEventListener("pointerup", this.pointerUp)
    document.addEventListener("pointercancel", this.pointerUp)
    this.text.addEventListener("keyup", e => e.shiftKey && this.offerAnnotate())
    this.text.addEventListener("click", e => {
      const mark = e.target.closest?.("mark[data-annotation]")
      if (mark && window.getSelection()?.isCollapsed) this.sidebar.focus(mark.dataset.annotation)
    })
    this.selectionListener = () => {
      if (!selectionIn(this.text)) this.annotateButton.hidden = true
    }
    document.addEventListener("selectionchange", this.selectionListener)
    this.annotateButton = h("button", { type: "button", class: "annotate-button primary", hidden: true, onclick: () => this.compose() }, "Annotate")

    this.presenceEl = h("div", { class: "presence", "aria-label": "Also on this article" })
    this.connection = h("span", { class: "connection", role: "status" })
    this.unsubscribe = this.ctx.sync.onStatus(online => {
      this.connection.textContent = online ? "● Live" : "○ Offline — your edits sync when the connection is back"
      this.connection.className = `connection ${online ? "online" : "offline"}`
    })

    this.timeline = new Timeline({
      api: this.ctx.api,
      articleId: this.articleId,
      name: this.name,
      onAt: (seq, caption) => this.travel(seq, caption),
    })
    this.banner = h("p", { class: "banner", role: "note", hidden: true })
    if (!this.canWrite) this.setBanner(`You are signed in as ${me.display_name}, a viewer: you can read everything, but not annotate or edit.`)

    const select = (name, options) =>
      h("label", { class: "control" }, h("span", {}, name),
        h("select", { "aria-label": `Filter by ${name.toLowerCase()}`, dataset: { filter: name.toLowerCase() }, onchange: e => {
          this.filters[name.toLowerCase()] = e.target.value
          this.update()
        } }, h("option", { value: "" }, "All"), options.map(o => h("option", { value: o.id }, o.label))))
    this.count = h("p", { class: "count muted", "aria-live": "polite" })
    this.attentionEl = h("section", { class: "attention", "aria-label": "Annotations to re-attach", hidden: true })
    this.orphans = h("p", { class: "orphans", hidden: true })
    const cards = h("ol", { class: "cards", "aria-label": "Annotations" })
    this.composerHost = h("div", { class: "composer-host" })
    this.sidebar = new Sidebar(cards, {
      me,
      canWrite: this.canWrite,
      users: this.ctx.users,
      articles: this.ctx.articles,
      articleId: this.articleId,
      onFocus: id => this.focusAnnotation(id),
      anchorOf: (a, index) => {
        const t = a.targets[index]
        if (!t || t.article !== this.articleId) return null
        const p = this.placements.get(`${a.id}/${index}`)
        // On the version it was made on a target is where it was made, unless it was imported
        // without a place there (then it has an anchor of its own).
        if (t.version === this.version && (!p || p.status === "original")) return null
        return p ? { status: p.status, score: p.score, version: this.version } : null
      },
      actions: this.actions(),
    })
    this.composer = new Composer(this.composerHost, {
      api: this.ctx.api,
      article: this.article,
      articles: this.ctx.articles,
      onSaved: () => this.ctx.toast("Annotation saved."),
    })

    const a = this.article
    this.root.replaceChildren(
      h("main", { class: "reader" },
        h("div", { class: "article-col" },
          h("header", { class: "article-head" },
            h("p", { class: "crumbs" }, h("a", { href: "#/" }, "← Desk"), " · ", h("a", { href: "#/articles" }, "All articles")),
            h("h1", {}, a.title ?? a.id),
            h("p", { class: "muted" }, [a.outlet, a.published].filter(Boolean).join(" · ")),
            this.versionPicker(),
            h("div", { class: "toolbar" },
              this.connection,
              this.presenceEl,
              h("button", { type: "button", class: "secondary", onclick: () => this.timeline.active ? this.timeline.close() : this.openTimeline() }, "Timeline"))),
          this.timeline.el,
          this.banner,
          this.text,
          this.annotateButton),
        h("aside", { class: "sidebar", "aria-label": "Annotations on this article" },
          h("div", { class: "filters" },
            select("Kind", KINDS),
            select("Status", STATUSES),
            select("Assignee", this.ctx.users.filter(u => u.can_write).map(u => ({ id: u.name, label: u.display_name })))),
          this.count,
          this.attentionEl,
          this.composerHost,
          cards,
          this.orphans)))
  }

  versionPicker() {
    const versions = this.article.versions ?? []
    if (versions.length <= 1) return h("p", { class: "muted version-label" }, `Version ${this.version}`)
    const select = h("select", { class: "version-picker", "aria-label": "Article version", onchange: e => this.showVersion(Number(e.target.value)) },
      versions.map(v => h("option", { value: v.number, selected: v.number === this.version },
        `Version ${v.number}${v.number === this.latest ? " (latest)" : ""}`)))
    return h("label", { class: "control version" }, h("span", {}, "Showing"), select)
  }

  /** Where each annotation is in the displayed version (the server's re-anchoring results). */
  async loadPlacements() {
    try {
      const result = await this.ctx.api.placements(this.articleId, this.version)
      this.placements = new Map(result.placements.map(p => [`${p.annotation}/${p.target}`, p]))
      this.attention = result.needs_attention
    } catch (e) {
      this.ctx.toast(e.message, true)
    }
    this.renderAttention()
    this.highlighted = null
    this.update()
  }

  async showVersion(number) {
    try {
      const version = number === this.latest ? this.article : await this.ctx.api.version(this.articleId, number)
      this.version = number
      this.text.dataset.version = String(number)
      this.shownText = version.text
      this.setBanner(number === this.latest ? "" : `Version ${number} of ${this.latest}: an earlier text. Annotations show where they were in it.`, number === this.latest ? "" : "past")
      this.composer.close()
      await this.loadPlacements()
    } catch (e) {
      this.ctx.toast(e.message, true)
    }
  }

  get displayedText() {
    return this.shownText ?? this.article.text ?? ""
  }

  /** The annotations with their targets on this article placed in the displayed version. */
  placed(annotations) {
    return annotations.map(a => ({
      ...a,
      targets: a.targets.flatMap((t, index) => {
        if (t.article !== this.articleId) return [t]
        const p = this.placements.get(`${a.id}/${index}`)
        if (t.version === this.version && (!p || p.status === "original")) return [t]
        if (!p?.position) return []
        return [{ ...t, start: p.position.start, end: p.position.end, exact: p.quote?.exact ?? "", prefix: p.quote?.prefix ?? "", suffix: p.quote?.suffix ?? "", anchor: p.status }]
      }),
    }))
  }

  renderAttention() {
    const items = this.attention ?? []
    this.attentionEl.hidden = items.length === 0 || !this.canWrite
    this.offerReattach(items)
    if (this.attentionEl.hidden) return this.attentionEl.replaceChildren()
    this.attentionEl.replaceChildren(
      h("h2", {}, `${items.length} to re-attach in version ${this.version}`),
      h("p", { class: "muted" }, "The server could not place these with confidence. Select the passage in the text, then press Re-attach."),
      h("ul", {}, items.map(p =>
        h("li", { class: this.wantedTarget?.(p) ? "wanted" : null, dataset: { annotation: p.annotation, target: String(p.target) } },
          h("span", { class: `chip anchor anchor-${p.status}` }, p.status),
          ` ${p.kind}: “${(p.quote?.exact ?? this.originalQuote(p)).slice(0, 80)}”`,
          p.candidates?.length ? h("span", { class: "muted" }, ` (${p.candidates.length} places fit)`) : null,
          " ",
          h("button", { type: "button", class: "secondary", onclick: () => this.reattach(p) }, "Re-attach to selection")))))
    this.attentionEl.querySelector("li.wanted")?.scrollIntoView({ block: "nearest" })
  }

  /**
   * Opened from a link to re-attach a target (the Desk page's "Needs a person"): that target is
   * marked in the list, on the latest version; the banner says what to do, or that a person
   * already placed it.
   */
  offerReattach(items) {
    const focus = this.ctx.focus
    if (!focus?.reattach || this.version !== this.latest) return (this.wantedTarget = null)
    this.wantedTarget = p => p.annotation === focus.annotation && (focus.target === undefined || p.target === focus.target)
    if (items.some(this.wantedTarget)) {
      this.setBanner(this.canWrite
        ? "Select the passage in the text where this annotation belongs, then press “Re-attach to selection” in the list beside it."
        : "This passage needs a person to place it; an editor can re-attach it.")
    } else if (this.offered) {
      this.setBanner("")
    } else {
      this.setBanner("This annotation has its place in the latest version: nothing to re-attach.")
    }
    this.offered = true
  }

  originalQuote(p) {
    const a = [...this.live, ...this.foreign].find(x => x.id === p.annotation)
    return a?.targets[p.target]?.exact ?? ""
  }

  async reattach(p) {
    // The live selection, or the last one made in the text (pressing the button may clear it).
    const range = selectionIn(this.text) ?? (this.pending && rangeAt(this.text, this.pending))
    if (!range) return this.ctx.toast("Select the passage in the article first, then press Re-attach.", true)
    const where = await describe(range, this.text, this.articleId, this.version)
    try {
      await this.ctx.api.reattach(p.annotation, { article: this.articleId, target: p.target, version: this.version, start: where.start, end: where.end })
      this.ctx.toast("Re-attached.")
      this.annotateButton.hidden = true
      await this.loadPlacements()
    } catch (e) {
      this.ctx.toast(e.message, true)
    }
  }

  setBanner(text, kind = "") {
    this.banner.textContent = text
    this.banner.className = `banner ${kind}`
    this.banner.hidden = !text
  }

  async openTimeline() {
    try {
      await this.timeline.open()
    } catch (e) {
      this.ctx.toast(e.message, true)
    }
  }

  async travel(seq, caption) {
    // Moments are asked for faster than they load (the timeline opens on one, a key moves to
    // another, "Back to live" leaves): only the last one asked for may be shown.
    const asked = (this.travelAsked = (this.travelAsked ?? 0) + 1)
    if (seq === null) {
      this.past = null
      this.setBanner(this.canWrite ? "" : `You are signed in as ${this.ctx.me.display_name}, a viewer: you can read everything, but not annotate or edit.`)
      this.update()
      return
    }
    try {
      const items = await this.ctx.api.annotations(this.articleId, seq)
      if (asked !== this.travelAsked) return
      this.past = items.map(fromJsonLd)
      this.setBanner(`As of ${caption}. This is the desk as it was then; nothing here can be changed.`, "past")
      this.composer.close()
      this.update()
    } catch (e) {
      if (asked === this.travelAsked) this.ctx.toast(e.message, true)
    }
  }

  fromDocument() {
    const doc = this.handle.doc()
    const all = Object.values(doc?.annotations ?? {}).map(fromDoc)
    this.live = all.filter(a => !a.deleted)
    this.update()
  }

  /** Annotations indexed under this article but kept in another article's document. */
  async refreshForeign() {
    try {
      const items = (await this.ctx.api.annotations(this.articleId)).map(fromJsonLd)
      const mine = new Set(this.live.map(a => a.id))
      this.foreign = items.filter(a => !mine.has(a.id) && a.targets[0]?.article !== this.articleId)
      this.update()
    } catch {
      // The live document still shows this article's own annotations.
    }
  }

  visible() {
    const source = this.past ?? [...this.live, ...this.foreign]
    const position = a => a.targets.find(t => t.article === this.articleId)?.start ?? Infinity
    return [...source].sort((x, y) => position(x) - position(y) || String(x.created).localeCompare(String(y.created)))
  }

  passes(a) {
    const f = this.filters
    return (!f.kind || a.kind === f.kind) && (!f.status || a.status === f.status) && (!f.assignee || a.assignee === f.assignee)
  }

  /** Shows the current annotations: the sidebar at once, the highlights one pass at a time. */
  update() {
    if (this.stopped) return
    const all = this.visible()
    const shown = all.filter(a => this.passes(a))
    this.count.textContent = shown.length === all.length ? `${all.length} annotations` : `${shown.length} of ${all.length} annotations`
    this.sidebar.render(shown, { live: this.past === null, presence: this.presenceList })
    if (this.pendingFocus && this.sidebar.cards.has(this.pendingFocus.annotation)) {
      const id = this.pendingFocus.annotation
      this.pendingFocus = null
      this.reveal = id
      this.sidebar.focus(id)
      this.focusAnnotation(id)
    }
    this.wanted = { all, ids: new Set(shown.map(a => a.id)) }
    this.highlighting ??= this.highlightLoop().finally(() => {
      this.highlighting = null
    })
  }

  async highlightLoop() {
    let done
    while (done !== this.wanted && !this.stopped) {
      done = this.wanted
      const key = `${this.version}|${this.placements.size}|${anchorKey(done.all)}`
      if (key !== this.highlighted) {
        // The highlights are built off the page and swapped in at once, keeping the person's
        // selection: annotations arrive from the server at any moment, often mid-selection.
        const fresh = document.createElement("article")
        renderText(fresh, this.displayedText)
        const missing = await highlight(fresh, this.displayedText, this.placed(done.all), this.articleId)
        while (this.pointerDown && !this.stopped) await new Promise(resolve => { this.released = resolve })
        this.released = null
        if (this.stopped) return
        if (done !== this.wanted) continue
        this.highlighted = key
        swapKeepingSelection(this.text, fresh)
        this.orphans.hidden = missing.length === 0
        this.orphans.textContent = `${missing.length} annotation(s) have no place in version ${this.version}.`
      }
      for (const mark of this.text.querySelectorAll("mark[data-annotation]")) {
        mark.classList.toggle("dim", !done.ids.has(mark.dataset.annotation))
        mark.classList.toggle("active", mark.dataset.annotation === this.focused)
      }
      // Opened on one annotation (a link, a search hit): its passage, once highlighted, is shown.
      if (this.reveal) {
        const first = this.text.querySelector(`mark[data-annotation="${CSS.escape(this.reveal)}"]`)
        if (first) {
          this.reveal = null
          first.scrollIntoView({ block: "center" })
        }
      }
    }
    this.text.dataset.highlighted = String(this.text.querySelectorAll("mark[data-annotation]").length)
  }

  focusAnnotation(id) {
    this.focused = id // kept active when the highlights are rebuilt
    this.presence?.setFocus(id)
    for (const mark of this.text.querySelectorAll("mark.active")) mark.classList.remove("active")
    const marks = this.text.querySelectorAll(`mark[data-annotation="${CSS.escape(id)}"]`)
    marks.forEach(m => m.classList.add("active"))
    marks[0]?.scrollIntoView({ block: "nearest", behavior: "smooth" })
  }

  renderPresence() {
    this.presenceEl.replaceChildren(
      ...this.presenceList.map(p => h("span", { class: "avatar", title: `${p.name} is on this article`, dataset: { user: p.user } }, initials(p.name))),
      this.presenceList.length ? h("span", { class: "muted" }, ` ${this.presenceList.map(p => p.name.replace(/\s*\(.*\)/, "")).join(", ")} here`) : "")
  }

  offerAnnotate() {
    const range = selectionIn(this.text)
    // Kept as offsets: the range's nodes may be replaced when highlights change.
    if (range) this.pending = offsetsOf(this.text, range)
    if (!range || !this.canWrite || this.past !== null || this.version !== this.latest) {
      this.annotateButton.hidden = true
      return
    }
    const rect = range.getBoundingClientRect()
    const host = this.annotateButton.offsetParent?.getBoundingClientRect() ?? { left: 0, top: 0 }
    this.annotateButton.style.left = `${Math.max(0, rect.left - host.left)}px`
    this.annotateButton.style.top = `${rect.bottom - host.top + 6}px`
    this.annotateButton.hidden = false
  }

  async compose() {
    this.annotateButton.hidden = true
    if (!this.pending) return
    const range = rangeAt(this.text, this.pending)
    const target = await describe(range, this.text, this.articleId, this.version)
    this.composer.start(target)
  }

  actions() {
    const { api, toast } = this.ctx
    const run = async (what, done) => {
      try {
        await what()
        if (done) toast(done)
        return true
      } catch (e) {
        toast(e.message, true)
        return false
      }
    }
    return {
      editBody: (id, text) => {
        if (!this.handle || !this.canWrite) return
        this.handle.change(d => {
          if (d.annotations?.[id]) Automerge.updateText(d, ["annotations", id, "body"], text)
        })
      },
      setStatus: (id, status) => run(() => api.setStatus(id, status)),
      assign: (id, assignee) => run(() => api.assign(id, assignee)),
      setVerdict: (id, verdict) => run(() => api.update(id, json => {
        if (verdict) json.verdict = verdict
        else delete json.verdict
      })),
      reply: (id, text, parent) => run(() => api.reply(id, text, parent)),
      remove: a => this.confirmDelete(a),
      history: a => showAnnotationHistory(api, a, this.name),
    }
  }

  confirmDelete(a) {
    const dialog = h("dialog", { class: "confirm", role: "alertdialog", "aria-label": "Delete annotation" },
      h("h2", {}, "Delete this annotation?"),
      h("p", {}, "It disappears from the desk for everyone. Its history stays in the log, and the timeline can still show it."),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: async () => {
          dialog.close()
          try {
            await this.ctx.api.remove(a.id)
            this.ctx.toast("Annotation deleted.")
          } catch (e) {
            this.ctx.toast(e.message, true)
          }
        } }, "Delete"),
        h("button", { type: "button", autofocus: true, onclick: () => dialog.close() }, "Cancel")))
    dialog.addEventListener("close", () => dialog.remove())
    document.body.append(dialog)
    dialog.showModal()
  }
}
