// W3C selectors count code points; the DOM and JavaScript strings count UTF-16 units. These
// convert at the edge, over the article's text.

/** The UTF-16 offset of code point `cp` in `text`. */
export function utf16Offset(text, cp) {
  let units = 0
  let points = 0
  while (points < cp && units < text.length) {
    const code = text.codePointAt(units)
    units += code > 0xffff ? 2 : 1
    points += 1
  }
  return units
}

/** The code point offset of UTF-16 offset `units` in `text`. */
export function codePointOffset(text, units) {
  let points = 0
  for (let i = 0; i < units && i < text.length; points += 1) {
    const code = text.codePointAt(i)
    i += code > 0xffff ? 2 : 1
  }
  return points
}
