// A small element builder: h("button", { class: "x", onclick }, "Save").

const PROPERTIES = new Set(["value", "checked", "selected", "readOnly", "disabled"])

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value)
    } else if (key === "dataset") {
      Object.assign(el.dataset, value)
    } else if (PROPERTIES.has(key) || (key in el && typeof value !== "string")) {
      el[key] = value
    } else {
      el.setAttribute(key, value === true ? "" : value)
    }
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue
    if (Array.isArray(child)) append(el, child)
    else el.append(child instanceof Node ? child : String(child))
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove()
  return el
}

/** "2026-11-23T21:38:17.270Z" → "23 Nov, 21:38" in the reader's locale. */
export function when(iso) {
  if (!iso) return ""
  const date = new Date(iso)
  return date.toLocaleString(undefined, {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  })
}
