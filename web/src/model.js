// One shape for annotations in the UI: the layout of the article's Automerge document
// (src/docs/schema.rs). Annotations read over HTTP (time travel, or a contradiction kept in
// another article's document) are converted to it.

const tail = (iri, sep) => (typeof iri === "string" ? iri.slice(iri.lastIndexOf(sep) + sep.length) : iri)

/** The server's JSON-LD for one annotation → the document's shape. */
export function fromJsonLd(item) {
  const bodies = [item.body ?? []].flat()
  let body = ""
  let suggestion
  const tags = []
  const sources = [...(item.sources ?? [])]
  for (const b of bodies) {
    if (typeof b === "string") sources.push({ url: b })
    else if (b.value === undefined && b.id) sources.push({ url: b.id })
    else if (b.purpose === "editing") suggestion = b.value
    else if (["tagging", "classifying", "identifying"].includes(b.purpose)) tags.push(b.value)
    else body = b.value ?? ""
  }
  if (item.bodyValue) body = item.bodyValue
  const targets = [item.target ?? []].flat().map(t => {
    const selectors = [t.selector ?? []].flat()
    const quote = selectors.find(s => s.type === "TextQuoteSelector") ?? {}
    const position = selectors.find(s => s.type === "TextPositionSelector") ?? {}
    const match = /\/articles\/([^/]+)(?:\/versions\/(\d+))?$/.exec(t.source ?? "")
    return {
      article: match?.[1],
      version: match?.[2] ? Number(match[2]) : undefined,
      exact: quote.exact ?? "",
      prefix: quote.prefix ?? "",
      suffix: quote.suffix ?? "",
      start: position.start,
      end: position.end,
    }
  })
  return {
    id: tail(item.id, "/"),
    kind: item.kind,
    status: item.status ?? "open",
    creator: item.creator?.nickname ?? tail(item.creator?.id, "/"),
    created: item.created,
    modified: item.modified,
    body,
    verdict: item.verdict,
    claimant: item.claimant?.name ? { name: item.claimant.name, url: item.claimant.url, type: item.claimant.type } : undefined,
    claimDate: item.claimDate,
    claimSummary: item.claimSummary,
    suggestion,
    editLabel: item.editLabel,
    assignee: item.assignee,
    tags,
    sources,
    targets,
    replies: (item.replies ?? []).map(r => ({
      id: tail(r.id, "#reply-"),
      parent: r.parent ? tail(r.parent, "#reply-") : undefined,
      creator: r.creator?.nickname ?? tail(r.creator?.id, "/"),
      created: r.created,
      text: r.text,
    })),
    deleted: false,
  }
}

// Scalar strings in an Automerge 3 document read as ImmutableString objects, unsigned integers
// as BigInt; the UI works with plain strings and numbers.
const str = v => (v === undefined || v === null ? undefined : String(v))
const num = v => (v === undefined || v === null ? undefined : Number(v))

/** A plain copy of an annotation read from the Automerge document. */
export function fromDoc(raw) {
  return {
    id: str(raw.id),
    kind: str(raw.kind),
    status: str(raw.status),
    creator: str(raw.creator),
    created: str(raw.created),
    modified: str(raw.modified),
    body: String(raw.body ?? ""),
    verdict: str(raw.verdict),
    claimant: raw.claimantName === undefined || raw.claimantName === null
      ? undefined
      : { name: str(raw.claimantName), url: str(raw.claimantUrl), type: str(raw.claimantType) },
    claimDate: str(raw.claimDate),
    claimSummary: str(raw.claimSummary),
    suggestion: str(raw.suggestion),
    editLabel: str(raw.editLabel),
    assignee: str(raw.assignee),
    tags: [...(raw.tags ?? [])].map(String),
    sources: [...(raw.sources ?? [])].map(s => ({ url: str(s.url), title: str(s.title), archived: str(s.archived) })),
    targets: [...(raw.targets ?? [])].map(t => ({
      article: str(t.article),
      version: num(t.version),
      exact: String(t.exact ?? ""),
      prefix: String(t.prefix ?? ""),
      suffix: String(t.suffix ?? ""),
      start: num(t.start),
      end: num(t.end),
    })),
    replies: [...(raw.replies ?? [])].map(r => ({
      id: str(r.id),
      parent: str(r.parent),
      creator: str(r.creator),
      created: str(r.created),
      text: String(r.text ?? ""),
    })),
    deleted: Boolean(raw.deleted),
    live: true,
  }
}

/** What the highlights depend on: re-highlight only when this changes, not on every keystroke. */
export function anchorKey(annotations) {
  return JSON.stringify(
    annotations.map(a => [a.id, a.kind, a.verdict, a.status, a.targets.map(t => [t.article, t.start, t.end, t.exact])]),
  )
}

/** A W3C annotation for the server, from the composer's fields. */
export function toJsonLd({ kind, motivation, note, verdict, claimant, claimDate, claimSummary, suggestion, editLabel, tags, sources, targets }) {
  const body = []
  // The note's purpose is the motivation where W3C has one for notes; a correction's note and a
  // tag's note comment (their "editing" and "tagging" bodies are the suggestion and the tags).
  const purpose = ["assessing", "questioning", "linking", "commenting"].includes(motivation) ? motivation : "commenting"
  if (note) body.push({ type: "TextualBody", value: note, format: "text/plain", purpose })
  if (suggestion) body.push({ type: "TextualBody", value: suggestion, format: "text/plain", purpose: "editing" })
  for (const tag of tags ?? []) body.push({ type: "TextualBody", value: tag, purpose: "tagging" })
  const annotation = {
    "@context": "http://www.w3.org/ns/anno.jsonld",
    type: "Annotation",
    motivation,
    kind,
    body,
    target: targets.map(t => ({
      type: "SpecificResource",
      source: `/articles/${t.article}/versions/${t.version}`,
      selector: [
        { type: "TextQuoteSelector", exact: t.exact, prefix: t.prefix, suffix: t.suffix },
        { type: "TextPositionSelector", start: t.start, end: t.end },
      ],
    })),
  }
  if (verdict) annotation.verdict = verdict
  if (claimant?.name) annotation.claimant = { name: claimant.name, ...(claimant.url ? { url: claimant.url } : {}), ...(claimant.type ? { type: claimant.type } : {}) }
  if (claimDate) annotation.claimDate = claimDate
  if (claimSummary) annotation.claimSummary = claimSummary
  if (editLabel) annotation.editLabel = editLabel
  if (sources?.length) annotation.sources = sources
  return annotation
}
