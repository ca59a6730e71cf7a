// The desk's vocabulary, as the server defines it (src/domain/vocab.rs).

export const KINDS = [
  { id: "fact-check", label: "Fact-check", motivation: "assessing" },
  { id: "correction", label: "Correction", motivation: "editing" },
  { id: "contradiction", label: "Contradiction", motivation: "linking" },
  { id: "comment", label: "Comment", motivation: "commenting" },
  { id: "question", label: "Question", motivation: "questioning" },
  { id: "tag", label: "Tag", motivation: "tagging" },
]

export const VERDICTS = [
  { id: "true", label: "True" },
  { id: "mostly-true", label: "Mostly true" },
  { id: "mixed", label: "Mixed" },
  { id: "mostly-false", label: "Mostly false" },
  { id: "false", label: "False" },
  { id: "misleading", label: "Misleading" },
  { id: "unverifiable", label: "Unverifiable" },
]

export const EDIT_LABELS = [
  { id: "correction", label: "Correction" },
  { id: "clarification", label: "Clarification" },
  { id: "update", label: "Update" },
]

export const STATUSES = [
  { id: "open", label: "Open" },
  { id: "in_review", label: "In review" },
  { id: "resolved", label: "Resolved" },
  { id: "rejected", label: "Rejected" },
]

/** open → in_review → resolved | rejected; a review can go back to open, a closed one reopen. */
const NEXT = {
  open: ["in_review"],
  in_review: ["resolved", "rejected", "open"],
  resolved: ["open"],
  rejected: ["open"],
}

export function nextStatuses(status) {
  return NEXT[status] ?? []
}

export function label(list, id) {
  return list.find(item => item.id === id)?.label ?? id
}

export function motivationOf(kind) {
  return KINDS.find(k => k.id === kind)?.motivation
}
