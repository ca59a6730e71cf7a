// Creating an annotation from a selection: the kind, what that kind needs (a verdict, a
// suggested text and label, tags, a second passage for a contradiction), the note and sources.

import { describe, renderText, selectionIn } from "./anchors.js"
import { h } from "./dom.js"
import { toJsonLd } from "./model.js"
import { EDIT_LABELS, KINDS, VERDICTS } from "./vocab.js"

export class Composer {
  /**
   * @param host  where the form goes (top of the sidebar)
   * @param ctx   { api, article, articles, onSaved, onError, toast }
   */
  constructor(host, ctx) {
    this.host = host
    this.ctx = ctx
    this.form = null
  }

  get open() {
    return this.form !== null
  }

  close() {
    this.form?.remove()
    this.form = null
  }

  /** Opens the form for `target` (from the reader's selection). */
  start(target) {
    this.close()
    this.target = target
    this.second = null
    const field = (labelText, control, hint) =>
      h("label", { class: "field" }, h("span", {}, labelText), control, hint ? h("small", {}, hint) : null)

    this.kind = h("select", { name: "kind", "aria-label": "Kind", onchange: () => this.showFields() },
      KINDS.map(k => h("option", { value: k.id }, k.label)))
    this.verdict = h("select", { name: "verdict" }, h("option", { value: "" }, "Choose a verdict…"),
      VERDICTS.map(v => h("option", { value: v.id }, v.label)))
    this.claimant = h("input", { name: "claimant", type: "text", maxlength: 200, placeholder: "Who made the claim" })
    this.claimantUrl = h("input", { name: "claimant-url", type: "url", placeholder: "https://… (optional)" })
    this.claimantType = h("select", { name: "claimant-type", "aria-label": "Claimant is a" },
      h("option", { value: "Person" }, "Person"), h("option", { value: "Organization" }, "Organization"))
    this.claimDate = h("input", { name: "claim-date", type: "date", max: new Date().toISOString().slice(0, 10) })
    this.claimSummary = h("input", { name: "claim-summary", type: "text", maxlength: 200, placeholder: "The claim in a line" })
    this.suggestion = h("input", { name: "suggestion", type: "text", placeholder: "The corrected text" })
    this.editLabel = h("select", { name: "editLabel" }, EDIT_LABELS.map(l => h("option", { value: l.id }, l.label)))
    this.tags = h("input", { name: "tags", type: "text", placeholder: "e.g. house-style, spelling" })
    this.note = h("textarea", { name: "note", rows: 4, placeholder: "What should the desk know?" })
    this.sourceUrl = h("input", { name: "source-url", type: "url", placeholder: "https://…" })
    this.sourceTitle = h("input", { name: "source-title", type: "text", placeholder: "Title (optional)" })
    this.secondArticle = h("select", { name: "second-article", "aria-label": "Second article" },
      [...this.ctx.articles.values()].filter(a => a.id !== this.ctx.article.id).map(a => h("option", { value: a.id }, a.title ?? a.id)))
    this.secondShown = h("p", { class: "second muted" }, "No second passage yet.")
    this.error = h("p", { class: "error", role: "alert" })

    this.groups = {
      "fact-check": [
        field("Verdict", this.verdict),
        field("Claim by", this.claimant),
        field("Claimant's page", this.claimantUrl),
        field("Claimant is a", this.claimantType),
        field("Claim made on", this.claimDate),
        field("Claim summary", this.claimSummary, "Under 75 characters reads best in search results"),
      ],
      correction: [field("Suggested text", this.suggestion), field("Label", this.editLabel)],
      contradiction: [
        field("Contradicted by a passage in", this.secondArticle),
        h("button", { type: "button", class: "secondary", onclick: () => this.pickSecond() }, "Pick the passage…"),
        this.secondShown,
      ],
      tag: [field("Tags", this.tags, "Comma-separated")],
    }
    this.extra = h("div", { class: "extra" })
    this.form = h("form", { class: "composer", "aria-label": "New annotation", onsubmit: e => { e.preventDefault(); this.save() } },
      h("h2", {}, "New annotation"),
      h("blockquote", { class: "passage" }, `“${target.exact}”`),
      field("Kind", this.kind),
      this.extra,
      field("Note", this.note),
      h("fieldset", { class: "source" }, h("legend", {}, "Source"), this.sourceUrl, this.sourceTitle),
      this.error,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary" }, "Save annotation"),
        h("button", { type: "button", onclick: () => this.close() }, "Cancel")))
    this.form.addEventListener("keydown", e => {
      if (e.key === "Escape") this.close()
    })
    this.host.prepend(this.form)
    this.showFields()
    this.form.scrollIntoView({ block: "nearest" })
    this.kind.focus()
  }

  showFields() {
    this.extra.replaceChildren(...(this.groups[this.kind.value] ?? []))
  }

  /** A dialog with the second article's text: select the contradicting passage there. */
  async pickSecond() {
    const id = this.secondArticle.value
    let article
    try {
      article = await this.ctx.api.article(id)
    } catch (e) {
      this.error.textContent = e.message
      return
    }
    const scope = h("div", { class: "article-text picker-text" })
    renderText(scope, article.text)
    const note = h("p", { class: "error", role: "alert" })
    const chosen = h("p", { class: "muted", "aria-live": "polite" }, "Nothing selected yet.")
    // Remember the selection as it is made: pressing a button may clear it.
    let range = null
    const remember = () => {
      const now = selectionIn(scope)
      if (!now) return
      range = now
      chosen.textContent = `Selected: “${now.toString()}”`
      note.textContent = ""
    }
    scope.addEventListener("mouseup", remember)
    scope.addEventListener("keyup", remember)
    const dialog = h("dialog", { class: "picker", "aria-label": `Pick a passage in ${article.title}` },
      h("h2", {}, article.title ?? id),
      h("p", { class: "muted" }, "Select the passage that contradicts the first one, then choose “Use this passage”."),
      scope, chosen, note,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: async () => {
          if (!range) {
            note.textContent = "Select some text in the article first."
            return
          }
          this.second = await describe(range, scope, id, article.latest_version)
          this.secondShown.textContent = `“${this.second.exact}” in ${article.title ?? id}`
          this.secondShown.classList.remove("muted")
          dialog.close()
        } }, "Use this passage"),
        h("button", { type: "button", onclick: () => dialog.close() }, "Cancel")))
    dialog.addEventListener("close", () => dialog.remove())
    document.body.append(dialog)
    dialog.showModal()
  }

  async save() {
    const kind = KINDS.find(k => k.id === this.kind.value)
    const fail = message => {
      this.error.textContent = message
      return false
    }
    const note = this.note.value.trim()
    const fields = { kind: kind.id, motivation: kind.motivation, note, targets: [this.target] }
    if (kind.id === "fact-check") {
      if (!this.verdict.value) return fail("Choose a verdict for the fact-check.")
      fields.verdict = this.verdict.value
      const name = this.claimant.value.trim()
      const claimantUrl = this.claimantUrl.value.trim()
      if (claimantUrl && !name) return fail("Name the claimant whose page this is.")
      if (claimantUrl && !/^https?:\/\/\S+$/.test(claimantUrl)) return fail("The claimant's page must be an http(s) link.")
      if (name) fields.claimant = { name, url: claimantUrl || undefined, type: this.claimantType.value }
      if (this.claimDate.value) fields.claimDate = this.claimDate.value
      const summary = this.claimSummary.value.trim()
      if (summary) fields.claimSummary = summary
    }
    if (kind.id === "correction") {
      if (!this.suggestion.value.trim()) return fail("Write the corrected text.")
      fields.suggestion = this.suggestion.value.trim()
      fields.editLabel = this.editLabel.value
    }
    if (kind.id === "contradiction") {
      if (!this.second) return fail("Pick the contradicting passage in the second article.")
      fields.targets = [this.target, this.second]
    }
    if (kind.id === "tag") {
      fields.tags = this.tags.value.split(",").map(t => t.trim()).filter(Boolean)
      if (!fields.tags.length) return fail("Give at least one tag.")
    }
    if (["comment", "question"].includes(kind.id) && !note) return fail("Write the note.")
    const url = this.sourceUrl.value.trim()
    if (url) fields.sources = [{ url, ...(this.sourceTitle.value.trim() ? { title: this.sourceTitle.value.trim() } : {}) }]
    const button = this.form.querySelector("button[type=submit]")
    button.disabled = true
    try {
      const { data } = await this.ctx.api.create(this.ctx.article.id, toJsonLd(fields))
      this.close()
      this.ctx.onSaved(data)
    } catch (e) {
      button.disabled = false
      return fail(e.message)
    }
    return true
  }
}
