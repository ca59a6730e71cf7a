// W3C selectors (and @apache-annotator) count code points; JavaScript strings count UTF-16
// units. This converts where the UI compares a selector with the text itself.

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
