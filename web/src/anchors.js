// The article's text in the page, its highlights, and selections turned into selectors, all
// through @apache-annotator/dom. The text is laid out so that the scope's textContent is exactly
// the server's text: one <p> per line, with the line breaks kept as text nodes between them.

import {
  createTextPositionSelectorMatcher,
  createTextQuoteSelectorMatcher,
  describeTextPosition,
  describeTextQuote,
  highlightText,
} from "@apache-annotator/dom"

import { utf16Offset } from "./text.js"
import { label, VERDICTS } from "./vocab.js"

export function renderText(scope, text) {
  scope.replaceChildren()
  const lines = text.split("\n")
  lines.forEach((line, i) => {
    if (i > 0) scope.append(document.createTextNode("\n"))
    const p = document.createElement("p")
    if (line) p.textContent = line
    else p.className = "blank"
    scope.append(p)
  })
}

async function first(matches) {
  for await (const range of matches) return range
  return null
}

/** Where a target is in the page: its position if the quote is there, else the quote nearest to it. */
export async function locate(scope, text, target) {
  if (Number.isInteger(target.start) && Number.isInteger(target.end)) {
    // Like the W3C model, @apache-annotator counts positions in code points.
    const [start, end] = [utf16Offset(text, target.start), utf16Offset(text, target.end)]
    if (!target.exact || text.slice(start, end) === target.exact) {
      const selector = { type: "TextPositionSelector", start: target.start, end: target.end }
      const range = await first(createTextPositionSelectorMatcher(selector)(scope))
      if (range) return range
    }
  }
  if (!target.exact) return null
  const matcher = createTextQuoteSelectorMatcher({
    type: "TextQuoteSelector",
    exact: target.exact,
    prefix: target.prefix ?? "",
    suffix: target.suffix ?? "",
  })
  let best = null
  let bestDistance = Infinity
  const wanted = Number.isInteger(target.start) ? target.start : 0
  for await (const range of matcher(scope)) {
    const at = (await describeTextPosition(range, scope)).start
    const distance = Math.abs(at - wanted)
    if (distance < bestDistance) [best, bestDistance] = [range, distance]
  }
  return best
}

/**
 * Highlights every target of `annotations` on `articleId`: a <mark> per piece of text, coloured
 * by kind through CSS, with the verdict on the last piece of a fact-check. Overlaps nest. Returns
 * the ids whose passage was not found in this text.
 */
export async function highlight(scope, text, annotations, articleId) {
  const missing = []
  // Longer passages first, so shorter ones nest inside and stay clickable.
  const spans = []
  for (const a of annotations) {
    a.targets.forEach((t, index) => {
      if (t.article === articleId) spans.push({ a, t, index, length: (t.end ?? 0) - (t.start ?? 0) })
    })
  }
  spans.sort((x, y) => y.length - x.length)
  for (const { a, t, index } of spans) {
    const range = await locate(scope, text, t)
    if (!range || range.collapsed) {
      missing.push(a.id)
      continue
    }
    highlightText(range, "mark", {
      class: `hl kind-${a.kind} status-${a.status}`,
      "data-annotation": a.id,
      "data-target": String(index),
    })
    const pieces = scope.querySelectorAll(`mark[data-annotation="${CSS.escape(a.id)}"][data-target="${index}"]`)
    const last = pieces[pieces.length - 1]
    if (last && a.kind === "fact-check" && a.verdict) {
      last.classList.add("verdict-end", `verdict-${a.verdict}`)
      last.dataset.badge = label(VERDICTS, a.verdict)
    }
  }
  return missing
}

/** The selection as a target on `article` version `version`: quote with context, code points. */
export async function describe(range, scope, article, version) {
  const quote = await describeTextQuote(range, scope, { minimumQuoteLength: 24 })
  const position = await describeTextPosition(range, scope)
  return {
    article,
    version,
    exact: quote.exact,
    prefix: quote.prefix ?? "",
    suffix: quote.suffix ?? "",
    start: position.start,
    end: position.end,
  }
}

/**
 * Where a boundary point lies in `scope`'s text, in UTF-16 units of its textContent: the same
 * number whatever elements (highlights) the text is wrapped in.
 */
function offsetOf(scope, node, offset) {
  const before = document.createRange()
  before.setStart(scope, 0)
  before.setEnd(node, offset)
  return before.toString().length
}

/** The boundary point at UTF-16 offset `at` of `scope`'s text. */
function pointAt(scope, at) {
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT)
  let seen = 0
  let last = null
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (at <= seen + node.data.length) return [node, at - seen]
    seen += node.data.length
    last = node
  }
  return last ? [last, last.data.length] : [scope, 0]
}

/** A range as offsets into `scope`'s text, so it outlives a re-rendering of the text. */
export function offsetsOf(scope, range) {
  return { start: offsetOf(scope, range.startContainer, range.startOffset), end: offsetOf(scope, range.endContainer, range.endOffset) }
}

/** The range of `scope`'s text between two offsets (from `offsetsOf`). */
export function rangeAt(scope, { start, end }) {
  const range = document.createRange()
  range.setStart(...pointAt(scope, start))
  range.setEnd(...pointAt(scope, end))
  return range
}

/**
 * Replaces `scope`'s children with `fresh`'s in one step, carrying a selection in `scope` over
 * to the same characters (in the same direction). The text is the same before and after; only
 * the highlights around it differ, so a person's selection survives whatever the server sent.
 */
export function swapKeepingSelection(scope, fresh) {
  const selection = window.getSelection()
  let kept = null
  if (selection && selection.rangeCount > 0 && scope.contains(selection.anchorNode) && scope.contains(selection.focusNode)) {
    kept = { anchor: offsetOf(scope, selection.anchorNode, selection.anchorOffset), focus: offsetOf(scope, selection.focusNode, selection.focusOffset) }
  }
  scope.replaceChildren(...fresh.childNodes)
  if (kept) selection.setBaseAndExtent(...pointAt(scope, kept.anchor), ...pointAt(scope, kept.focus))
}

/** The selection's range if it lies inside `scope` and is not empty. */
export function selectionIn(scope) {
  const selection = window.getSelection()
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null
  const range = selection.getRangeAt(0)
  if (!scope.contains(range.commonAncestorContainer)) return null
  if (!range.toString().trim()) return null
  return range.cloneRange()
}
