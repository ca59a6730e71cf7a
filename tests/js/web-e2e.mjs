// End-to-end tests of the web UI in a real headless Chromium (Debian's package) driven by
// playwright-core. The Rust suite starts a server and runs one scenario per process:
//
//   GLOSSA_BASE=http://127.0.0.1:PORT GLOSSA_ARTIFACTS=DIR node web-e2e.mjs collaborate|viewer|layout|signin|queue|search|reference
//
// Prints one JSON line with what it saw; exits non-zero with a message when a check fails.

import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { chromium } from "playwright-core"

const BASE = process.env.GLOSSA_BASE
const ARTIFACTS = process.env.GLOSSA_ARTIFACTS ?? "."
const ARTICLE = process.env.GLOSSA_ARTICLE ?? "twenty-six-nations-pledge"
const PHRASE = "following a Paris summit aimed at clarifying the level of US support"
const WAIT = 20000

mkdirSync(ARTIFACTS, { recursive: true })

function fail(message) {
  throw new Error(message)
}

async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  })
}

/** A fresh browser profile signed in as one of the demo users, on the article. */
async function open(browser, who, viewport = { width: 1280, height: 800 }, article = ARTICLE, gate = null) {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  if (gate) {
    // The page's sync socket passes through here, so a test can cut the connection and refuse
    // new ones (the browser's offline emulation leaves open WebSockets alone).
    await page.routeWebSocket(/\/sync/, ws => {
      if (!gate.online) return ws.close({ code: 1006, reason: "offline" })
      const server = ws.connectToServer()
      gate.sockets.push({ ws, server })
    })
  }
  const errors = []
  page.on("pageerror", e => errors.push(e.message))
  page.errors = errors
  await page.goto(`${BASE}/`)
  await page.getByRole("button", { name: `Sign in as ${who}` }).click()
  // The Desk page comes first; the article list is one click away.
  await page.waitForSelector("main.desk-page[data-seq]", { timeout: WAIT })
  await page.locator(".topbar nav").getByRole("link", { name: "Articles" }).click()
  await page.waitForSelector(`.article-list a[data-article="${article}"]`, { timeout: WAIT })
  await page.click(`.article-list a[data-article="${article}"]`)
  await page.waitForSelector("#article-text[data-highlighted]", { timeout: WAIT })
  await page.waitForSelector(".connection.online", { timeout: WAIT })
  return page
}

/**
 * Waits until the page shows a card for every annotation the server lists on the article:
 * those kept in another article's document arrive after the page's own, and sort among them.
 */
async function settled(page, token, article = ARTICLE) {
  const response = await fetch(`${BASE}/articles/${article}/annotations/`, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/ld+json" },
  })
  if (!response.ok) fail(`listing the article's annotations answered ${response.status}`)
  const { total } = await response.json()
  if (!(total > 1)) fail(`the article has ${total} annotations; the scenario needs at least two`)
  await page.waitForFunction(total => document.querySelectorAll(".cards > .card").length === total, total, { timeout: WAIT })
  return total
}

/** Selects `phrase` in the article with the mouse, as a person would. */
async function selectWithMouse(page, phrase, scopeSelector = "#article-text", nth = 0) {
  const box = await boxOf(page, phrase, scopeSelector, nth)
  await page.mouse.move(box.x1, box.y1)
  await page.mouse.down()
  await page.mouse.move((box.x1 + box.x2) / 2, box.y2, { steps: 5 })
  await page.mouse.move(box.x2, box.y2, { steps: 5 })
  await page.mouse.up()
  return page.evaluate(() => window.getSelection().toString())
}

/** Where the mouse goes to select `phrase`: its first and last character, scrolled into view. */
async function boxOf(page, phrase, scopeSelector = "#article-text", nth = 0) {
  const box = await page.evaluate(([phrase, scopeSelector, nth]) => {
    const scope = document.querySelector(scopeSelector)
    const text = scope.textContent
    let at = text.indexOf(phrase)
    for (let i = 0; i < nth && at >= 0; i++) at = text.indexOf(phrase, at + 1)
    if (at < 0) return null
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT)
    const range = document.createRange()
    let seen = 0
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const len = node.data.length
      if (seen <= at && at < seen + len) range.setStart(node, at - seen)
      if (seen < at + phrase.length && at + phrase.length <= seen + len) range.setEnd(node, at + phrase.length - seen)
      seen += len
    }
    range.startContainer.parentElement.scrollIntoView({ block: "center" })
    const rects = [...range.getClientRects()].filter(r => r.width > 0)
    const first = rects[0]
    const last = rects[rects.length - 1]
    return { x1: first.left + 1, y1: first.top + first.height / 2, x2: last.right - 1, y2: last.top + last.height / 2 }
  }, [phrase, scopeSelector, nth])
  if (!box) fail(`the phrase ${JSON.stringify(phrase)} is not in the article`)
  return box
}

async function until(what, check, timeout = WAIT, explain = async () => "") {
  const deadline = Date.now() + timeout
  let last
  while (Date.now() < deadline) {
    last = await check()
    if (last) return last
    await new Promise(r => setTimeout(r, 100))
  }
  fail(`timed out waiting for ${what} ${await explain()}`.trim())
}

/** A fresh browser profile signed in as one of the demo users, on the Desk page, its live tail open. */
async function openDesk(browser, who, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  const errors = []
  page.on("pageerror", e => errors.push(e.message))
  page.errors = errors
  await page.goto(`${BASE}/`)
  await page.getByRole("button", { name: `Sign in as ${who}` }).click()
  await page.waitForSelector("main.desk-page[data-seq] .connection.online", { timeout: WAIT })
  return page
}

/** Calls the API from the test as a demo user; fails on anything but a 2xx. */
async function call(token, method, path, body, type = "application/json") {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": type } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  if (!response.ok) fail(`${method} ${path} answered ${response.status}: ${await response.text()}`)
  return response
}

/** The lowest contrast of the text matching `picks` against what is behind it. */
async function worstContrast(page, picks) {
  return page.evaluate(picks => {
    const parse = c => (c.match(/[\d.]+/g) ?? []).map(Number)
    const lum = ([r, g, b]) => {
      const f = v => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
    }
    const background = el => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor)
        if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3)
      }
      return [255, 255, 255]
    }
    const ratio = el => {
      const [a, b] = [lum(parse(getComputedStyle(el).color).slice(0, 3)), lum(background(el))]
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)
    }
    let worst = { ratio: 99 }
    for (const el of document.querySelectorAll(picks)) {
      if (!el.textContent.trim() || el.closest("[hidden]")) continue
      const r = ratio(el)
      if (r < worst.ratio) worst = { ratio: Math.round(r * 100) / 100, what: el.className || el.tagName, text: el.textContent.slice(0, 40) }
    }
    return worst
  }, picks)
}

const note = (page, id) => page.locator(`.card[data-annotation="${id}"] textarea.note`)

const scenarios = {
  async collaborate(browser) {
    const alice = await open(browser, "Alice Martin")
    const bruno = await open(browser, "Bruno Costa")

    // Alice selects a passage and files a fact-check.
    const selected = await selectWithMouse(alice, PHRASE)
    if (selected !== PHRASE) fail(`the mouse selected ${JSON.stringify(selected)}`)
    await alice.getByRole("button", { name: "Annotate" }).click()
    const form = alice.locator("form.composer")
    await form.getByLabel("Kind").selectOption("fact-check")
    await form.locator('select[name="verdict"]').selectOption("mostly-true")
    await form.locator('input[name="claimant"]').fill("Emmanuel Macron")
    await form.locator('input[name="claim-date"]').fill("2025-09-04")
    await form.locator('textarea[name="note"]').fill("The summit was in Paris on 4 Sept.")
    await form.locator('input[name="source-url"]').fill("https://www.elysee.fr/")
    await form.getByRole("button", { name: "Save annotation" }).click()
    const card = alice.locator(".card.kind-fact-check", { hasText: "clarifying the level of US support" })
    await card.waitFor({ timeout: WAIT })
    const id = await card.getAttribute("data-annotation")
    // The card says whose claim it is and when it was made, on Bruno's page too.
    for (const page of [alice, bruno]) {
      const claim = page.locator(`.card[data-annotation="${id}"] p.claim`, { hasText: "Claim by Emmanuel Macron on" })
      await claim.locator('time[datetime="2025-09-04"]').waitFor({ timeout: WAIT })
    }

    // Bruno sees it highlighted, with its verdict, without reloading.
    const mark = bruno.locator(`mark.kind-fact-check[data-annotation="${id}"]`)
    await mark.first().waitFor({ timeout: WAIT })
    const highlighted = (await mark.allTextContents()).join("")
    if (highlighted !== PHRASE) fail(`Bruno's highlight covers ${JSON.stringify(highlighted)}`)
    const badge = await bruno.locator(`mark.verdict-end[data-annotation="${id}"]`).getAttribute("data-badge")
    if (badge !== "Mostly true") fail(`Bruno's verdict badge reads ${badge}`)

    // Presence: each sees the other.
    await bruno.locator('.presence .avatar[data-user="alice"]').waitFor({ timeout: WAIT })
    await alice.locator('.presence .avatar[data-user="bruno"]').waitFor({ timeout: WAIT })

    // Both type into the note at once; both pages converge on one text holding both edits.
    await note(alice, id).click()
    await note(bruno, id).click()
    await alice.keyboard.press("End")
    await bruno.keyboard.press("Home")
    await Promise.all([
      alice.keyboard.type(" Alpha checked the pool report.", { delay: 25 }),
      bruno.keyboard.type("Bravo: ", { delay: 25 }),
    ])
    const converged = await until("both notes to converge", async () => {
      const [a, b] = [await note(alice, id).inputValue(), await note(bruno, id).inputValue()]
      return a === b && a.includes("Alpha checked the pool report.") && a.includes("Bravo: ") ? a : null
    }, WAIT, async () => `(Alice has ${JSON.stringify(await note(alice, id).inputValue())}, Bruno ${JSON.stringify(await note(bruno, id).inputValue())})`)
    // The server has the same text, logged.
    const server = await until("the server to hold the converged note", async () => {
      const response = await fetch(`${BASE}/annotations/${id}`, { headers: { Authorization: "Bearer demo-alice-token" } })
      const json = await response.json()
      const body = [json.body].flat().find(b => b.purpose === "assessing")?.value
      return body === converged ? body : null
    })

    await alice.screenshot({ path: join(ARTIFACTS, "web-collaboration-alice.png"), fullPage: false })
    await bruno.screenshot({ path: join(ARTIFACTS, "web-collaboration-bruno.png"), fullPage: false })

    // Workflow: Bruno moves it to review and replies; Alice sees both.
    await bruno.locator(`.card[data-annotation="${id}"] select[aria-label="Status"]`).selectOption("in_review")
    await alice.locator(`.card[data-annotation="${id}"][data-status="in_review"]`).waitFor({ timeout: WAIT })
    const reply = bruno.locator(`.card[data-annotation="${id}"] .reply-form textarea`)
    await reply.fill("Checked against the Elysée readout.")
    await bruno.locator(`.card[data-annotation="${id}"] .reply-form button`).click()
    await alice.locator(`.card[data-annotation="${id}"] .reply-text`, { hasText: "Checked against the Elysée readout." }).waitFor({ timeout: WAIT })
    await alice.locator(`.card[data-annotation="${id}"] select[aria-label="Assignee"]`).selectOption("bruno")
    await bruno.locator(`.card[data-annotation="${id}"] .meta`, { hasText: "assigned to Bruno Costa" }).waitFor({ timeout: WAIT })

    // Bruno changes the verdict; Alice's badge follows.
    await bruno.locator(`.card[data-annotation="${id}"] select[aria-label="Verdict"]`).selectOption("false")
    await alice.locator(`mark.verdict-end.verdict-false[data-annotation="${id}"][data-badge="False"]`).waitFor({ timeout: WAIT })

    // Per-annotation history names who did what.
    await alice.locator(`.card[data-annotation="${id}"] .tools button`).click()
    const story = alice.locator("dialog.story-dialog .story > li")
    await until("the history to list the changes", async () => (await story.count()) >= 4)
    const storyText = await alice.locator("dialog.story-dialog").textContent()
    for (const expected of ["Alice Martin", "Bruno Costa", "created", "status changed", "reply.added"]) {
      if (!storyText.includes(expected)) fail(`the history does not mention ${expected}: ${storyText}`)
    }
    const storyEntries = await story.count()
    await alice.keyboard.press("Escape")

    // The timeline: before the fact-check existed, it is not there; back to live, it is. The
    // moment the timeline opens on is answered only after the one Home asks for: the desk must
    // show the last moment asked for, not the last answer to arrive.
    const past = /\/annotations\/\?at=/
    let answered
    const secondAnswered = new Promise(resolve => { answered = resolve })
    let asked = 0
    await alice.route(past, async route => {
      if (asked++ === 0) {
        await secondAnswered
        await route.continue()
      } else {
        await route.fulfill({ response: await route.fetch() })
        answered()
      }
    })
    await alice.getByRole("button", { name: "Timeline", exact: true }).click()
    const slider = alice.locator(".timeline-slider")
    await slider.waitFor()
    await slider.focus()
    await alice.keyboard.press("Home")
    await alice.locator(".banner.past").waitFor({ timeout: WAIT })
    await until("both moments to be answered", async () => asked >= 2)
    await until("the past desk to lack the new fact-check", async () => (await alice.locator(`.card[data-annotation="${id}"]`).count()) === 0)
    // The late answer about the first moment must not bring the fact-check back.
    await alice.waitForLoadState("networkidle")
    if ((await alice.locator(`.card[data-annotation="${id}"]`).count()) !== 0) fail("a late answer about an earlier moment replaced the moment asked for last")
    await alice.unroute(past)
    await alice.getByRole("button", { name: "Back to live" }).click()
    await alice.locator(`.card[data-annotation="${id}"]`).waitFor({ timeout: WAIT })

    // Delete, with confirmation; it disappears for Bruno too.
    await alice.locator(`.card[data-annotation="${id}"] button.danger`).click()
    await alice.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click()
    await until("Bruno to see the deletion", async () =>
      (await bruno.locator(`.card[data-annotation="${id}"]`).count()) === 0 &&
      (await bruno.locator(`mark[data-annotation="${id}"]`).count()) === 0)

    const errors = [...alice.errors, ...bruno.errors]
    if (errors.length) fail(`page errors: ${errors.join("; ")}`)
    return { id, note: converged, server_note: server, story_entries: storyEntries }
  },

  /** A person's selection survives annotations arriving from the server while they select. */
  async selection(browser) {
    const page = await open(browser, "Chiara Rossi")
    const auth = { Authorization: "Bearer demo-chiara-token" }
    const comment = async exact => {
      const response = await fetch(`${BASE}/annotations/`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/ld+json" },
        body: JSON.stringify({
          "@context": "http://www.w3.org/ns/anno.jsonld",
          type: "Annotation",
          motivation: "commenting",
          bodyValue: "Filed by a colleague while Chiara was selecting.",
          target: { source: `/articles/${ARTICLE}`, selector: { type: "TextQuoteSelector", exact } },
        }),
      })
      if (response.status !== 201) fail(`a colleague's comment on ${JSON.stringify(exact)} got ${response.status}: ${await response.text()}`)
      return response.headers.get("location").replace(/.*\//, "")
    }
    const selected = () => page.evaluate(() => window.getSelection().toString())
    const annotate = page.getByRole("button", { name: "Annotate" })
    const phrase = "Zelensky hailed the pledges as"

    // Mid-drag: the button is down and half the phrase is selected when an annotation arrives
    // (its card shows at once; its highlight waits for the release).
    const box = await boxOf(page, phrase)
    await page.mouse.move(box.x1, box.y1)
    await page.mouse.down()
    await page.mouse.move((box.x1 + box.x2) / 2, box.y2, { steps: 5 })
    const during = await comment("The US role in the guarantees")
    await page.locator(`.card[data-annotation="${during}"]`).waitFor({ timeout: WAIT })
    await page.mouse.move(box.x2, box.y2, { steps: 5 })
    await page.mouse.up()
    await page.locator(`#article-text mark[data-annotation="${during}"]`).waitFor({ timeout: WAIT })
    if ((await selected()) !== phrase) fail(`after a highlight arrived mid-drag the selection is ${JSON.stringify(await selected())}`)
    await annotate.waitFor({ timeout: WAIT })

    // Selected, before pressing Annotate: another arrives and is highlighted around it.
    const after = await comment("Kremlin spokesperson Dmitry Peskov")
    await page.locator(`#article-text mark[data-annotation="${after}"]`).waitFor({ timeout: WAIT })
    if ((await selected()) !== phrase) fail(`after a highlight arrived the selection is ${JSON.stringify(await selected())}`)
    if (!(await annotate.isVisible())) fail("the Annotate button went away when a colleague's annotation arrived")

    // The composer gets the passage that is still selected.
    await annotate.click()
    const form = page.locator("form.composer")
    await form.getByLabel("Kind").selectOption("comment")
    await form.locator('textarea[name="note"]').fill("Selected while the desk was busy.")
    await form.getByRole("button", { name: "Save annotation" }).click()
    await form.waitFor({ state: "detached", timeout: WAIT })
    const card = page.locator(".card", { has: page.locator(".passage", { hasText: phrase }) }).first()
    await card.waitFor({ timeout: WAIT })
    const id = await card.getAttribute("data-annotation")
    const stored = await (await fetch(`${BASE}/annotations/${id}`, { headers: auth })).json()
    const quote = [[stored.target].flat()[0].selector].flat().find(s => s.type === "TextQuoteSelector")?.exact
    if (quote !== phrase) fail(`the annotation was stored on ${JSON.stringify(quote)}`)
    if (page.errors.length) fail(`page errors: ${page.errors.join("; ")}`)
    return { selected: phrase, stored: quote, arrived: [during, after] }
  },

  /** Every kind of the composer on an article with emoji and curly quotes; filters; offline. */
  async compose(browser) {
    const article = process.env.GLOSSA_COMPOSE_ARTICLE
    const gate = { online: true, sockets: [] }
    const page = await open(browser, "Chiara Rossi", { width: 1280, height: 800 }, article, gate)
    const text = await page.evaluate(() => document.getElementById("article-text").textContent)
    const codePoints = phrase => {
      const at = text.indexOf(phrase)
      return [Array.from(text.slice(0, at)).length, Array.from(text.slice(0, at)).length + Array.from(phrase).length]
    }
    const server = async id => {
      const response = await fetch(`${BASE}/annotations/${id}`, { headers: { Authorization: "Bearer demo-chiara-token" } })
      return response.json()
    }
    const save = async () => {
      await page.locator("form.composer").getByRole("button", { name: "Save annotation" }).click()
      await page.locator("form.composer").waitFor({ state: "detached", timeout: WAIT }).catch(async () =>
        fail(`the composer stayed open: ${await page.locator("form.composer .error").textContent()}`))
    }
    const created = async phrase => {
      const card = page.locator(".card", { has: page.locator(".passage", { hasText: phrase }) }).first()
      await card.waitFor({ timeout: WAIT })
      return card.getAttribute("data-annotation")
    }

    // A correction after two emoji: positions go to the server in code points.
    const quote = "“reassurance force” was announced"
    await selectWithMouse(page, quote)
    await page.getByRole("button", { name: "Annotate" }).click()
    let form = page.locator("form.composer")
    await form.getByLabel("Kind").selectOption("correction")
    await form.getByRole("button", { name: "Save annotation" }).click()
    const refusal = await form.locator(".error").textContent()
    if (!refusal.includes("corrected text")) fail(`a correction without its text was not refused in the form: ${refusal}`)
    await form.locator('input[name="suggestion"]').fill("“reassurance force” was unveiled")
    await form.locator('select[name="editLabel"]').selectOption("clarification")
    await form.locator('textarea[name="note"]').fill("The force was unveiled, not announced.")
    await save()
    const correction = await server(await created("reassurance force"))
    const position = correction.target[0].selector.find(s => s.type === "TextPositionSelector")
    const [start, end] = codePoints(quote)
    if (position.start !== start || position.end !== end) fail(`the correction was stored at ${position.start}..${position.end}, not ${start}..${end}`)
    if (correction.editLabel !== "clarification") fail(`edit label ${correction.editLabel}`)
    const suggestion = [correction.body].flat().find(b => b.purpose === "editing")?.value
    if (suggestion !== "“reassurance force” was unveiled") fail(`suggestion ${suggestion}`)

    // A contradiction with a passage picked in a second article.
    await selectWithMouse(page, "26 nations had signed")
    await page.getByRole("button", { name: "Annotate" }).click()
    form = page.locator("form.composer")
    await form.getByLabel("Kind").selectOption("contradiction")
    await form.locator('select[name="second-article"]').selectOption(ARTICLE)
    await form.getByRole("button", { name: "Pick the passage…" }).click()
    await page.locator("dialog.picker .picker-text p").first().waitFor()
    const picked = await selectWithMouse(page, "26 nations have pledged", "dialog.picker .picker-text")
    await page.locator("dialog.picker").getByRole("button", { name: "Use this passage" }).click()
    await page.locator("dialog.picker").waitFor({ state: "detached", timeout: 5000 }).catch(async () =>
      fail(`the picker stayed open after selecting ${JSON.stringify(picked)}: ${await page.locator("dialog.picker .error").textContent()}`))
    await form.locator('textarea[name="note"]').fill("The other report has 26 pledging, not signing.")
    await save()
    const contradiction = await server(await created("26 nations had signed"))
    const sources = contradiction.target.map(t => t.source.replace(/.*\/articles\//, ""))
    if (contradiction.motivation !== "linking" || sources.length !== 2 || !sources[1].startsWith(ARTICLE)) {
      fail(`the contradiction targets ${JSON.stringify(sources)} with motivation ${contradiction.motivation}`)
    }

    // A tag (the house-style check already tagged “Kiev” and “Nato” when the article arrived).
    await selectWithMouse(page, "third line")
    await page.getByRole("button", { name: "Annotate" }).click()
    form = page.locator("form.composer")
    await form.getByLabel("Kind").selectOption("tag")
    await form.locator('input[name="tags"]').fill("house-style, nato")
    await save()
    const tagId = await created("third line")
    await page.locator(`mark.kind-tag[data-annotation="${tagId}"]`).waitFor({ timeout: WAIT })

    // Filters narrow the sidebar (three tags: the two house-style ones and this one) and dim
    // the other highlights.
    await page.locator('select[data-filter="kind"]').selectOption("tag")
    const filtered = await page.locator(".cards > .card").count()
    const dimmed = await page.locator(`mark.dim:not([data-annotation="${tagId}"])`).count()
    await page.locator('select[data-filter="kind"]').selectOption("")
    const all = await page.locator(".cards > .card").count()
    if (filtered !== 3 || all !== 5 || dimmed === 0) fail(`filtering by tag showed ${filtered} of ${all} cards, ${dimmed} dimmed`)

    // Offline: an edit made without a connection reaches the server when it is back.
    const correctionId = correction.id.replace(/.*\//, "")
    gate.online = false
    for (const { ws, server } of gate.sockets.splice(0)) {
      await server.close().catch(() => {})
      await ws.close().catch(() => {})
    }
    await page.locator(".connection.offline").waitFor({ timeout: WAIT })
    await note(page, correctionId).click()
    await page.keyboard.press("End")
    await page.keyboard.type(" Written offline.")
    const offlineText = await note(page, correctionId).inputValue()
    const before = await server(correctionId)
    if ([before.body].flat().some(b => b.value?.endsWith("Written offline."))) fail("the edit reached the server while offline")
    gate.online = true
    await page.locator(".connection.online").waitFor({ timeout: WAIT })
    const synced = await until("the offline edit to reach the server", async () => {
      const json = await server(correctionId)
      const body = [json.body].flat().find(b => b.purpose === "editing" ? false : b.value !== undefined && b.purpose !== "tagging")?.value
      return body?.endsWith("Written offline.") ? body : null
    })

    // The contradiction shows on the second article too, highlighted there.
    await page.goto(`${BASE}/#/articles/${ARTICLE}`)
    const contradictionId = contradiction.id.replace(/.*\//, "")
    await page.locator(`mark.kind-contradiction[data-annotation="${contradictionId}"]`).first().waitFor({ timeout: WAIT })
    await page.screenshot({ path: join(ARTIFACTS, "web-compose.png") })
    if (page.errors.length) fail(`page errors: ${page.errors.join("; ")}`)
    if (synced !== offlineText) fail(`the server has ${JSON.stringify(synced)}, the page had ${JSON.stringify(offlineText)}`)
    return { correction: position, contradiction: sources, filtered, all, synced }
  },

  /** A re-anchored article: statuses on the cards, the re-attach list, earlier versions. */
  async versions(browser) {
    const article = "macron-us-guarantees-nato"
    const headline = "As Putin, Trump debate Ukraine’s future borders, Donetsk Oblast residents are split on what they would accept to end the war"
    const page = await open(browser, "Alice Martin", { width: 1280, height: 800 }, article)
    await page.locator('select.version-picker').waitFor()
    const options = await page.locator("select.version-picker option").allTextContents()
    if (options.join("|") !== "Version 1|Version 2 (latest)") fail(`version picker offers ${options}`)
    // The fixed typo: its correction is resolved and highlighted on the corrected word.
    const remakrs = page.locator('.card[data-annotation="seed-000-remakrs"]')
    await remakrs.locator(".chip.anchor-resolved").waitFor({ timeout: WAIT })
    const marked = (await page.locator('mark[data-annotation="seed-000-remakrs"]').allTextContents()).join("")
    if (marked !== "remarks") fail(`the resolved correction highlights ${JSON.stringify(marked)}`)
    // The duplicated headline waits for a person; re-attach it to the second copy.
    const item = page.locator('.attention li[data-annotation="seed-000-second-story"]')
    await item.waitFor({ timeout: WAIT })
    if (await page.locator('mark[data-annotation="seed-000-second-story"]').count()) fail("an ambiguous passage is highlighted")
    await selectWithMouse(page, headline, "#article-text", 1)
    await item.getByRole("button", { name: "Re-attach to selection" }).click()
    await item.waitFor({ state: "detached", timeout: WAIT })
    await page.locator('mark[data-annotation="seed-000-second-story"]').first().waitFor({ timeout: WAIT })
    const reattached = await page.locator('.card[data-annotation="seed-000-second-story"] .chip.anchor-reattached').count()
    if (reattached !== 1) fail("the card does not say it was re-attached")
    await page.screenshot({ path: join(ARTIFACTS, "web-versions.png") })
    // Version 1 shows the original text, with the typo highlighted where it was.
    await page.locator("select.version-picker").selectOption("1")
    await page.locator('#article-text[data-version="1"]').waitFor()
    await until("the typo to be highlighted in version 1", async () =>
      (await page.locator('mark[data-annotation="seed-000-remakrs"]').allTextContents()).join("") === "remakrs")
    if (page.errors.length) fail(`page errors: ${page.errors.join("; ")}`)
    return { options, reattached }
  },

  /**
   * The Desk page follows the desk live: Alice assigns a fact-check to Bruno in the reader and
   * it appears in Bruno's queue; a new version orphans a fact-check and it appears under
   * "Needs a person"; Alice re-attaches it from there and it leaves Bruno's queue. Bruno's page
   * is never reloaded.
   */
  async queue(browser) {
    const nato = "macron-us-guarantees-nato"
    const alice = await open(browser, "Alice Martin")
    const bruno = await openDesk(browser, "Bruno Costa")
    await bruno.evaluate(() => { window.sameDocument = true })
    const brunoList = list => bruno.locator(`.queue[data-list="${list}"]`)
    const annotation = (article, exact) => ({
      "@context": "http://www.w3.org/ns/anno.jsonld",
      type: "Annotation",
      motivation: "assessing",
      bodyValue: "Check this against the transcript.",
      verdict: "unverifiable",
      target: { source: `/articles/${article}`, selector: { type: "TextQuoteSelector", exact } },
    })

    // Alice files a fact-check and assigns it to Bruno from its card.
    const created = await call("demo-alice-token", "POST", `/articles/${ARTICLE}/annotations/`, annotation(ARTICLE, PHRASE), "application/ld+json")
    const id = created.headers.get("location").replace(/.*\//, "")
    await alice.locator(`.card[data-annotation="${id}"] select[aria-label="Assignee"]`).selectOption("bruno")
    const assigned = brunoList("assigned").locator(`li[data-annotation="${id}"]`)
    await assigned.waitFor({ timeout: WAIT })
    const assignedText = await assigned.textContent()
    if (!assignedText.includes(PHRASE.slice(0, 40))) fail(`Bruno's queue shows ${JSON.stringify(assignedText)}`)
    // It links to the annotation in its article.
    const href = await assigned.locator("a").first().getAttribute("href")
    if (href !== `#/articles/${ARTICLE}/annotations/${id}`) fail(`the queue links to ${href}`)
    await bruno.locator(".activity-items li", { hasText: "assigned an annotation to Bruno Costa" }).first().waitFor({ timeout: WAIT })

    // A new version drops the passage of another fact-check: it needs a person.
    const doomedPassage = "NATO accession is the best possible security guarantee"
    const doomed = (await call("demo-alice-token", "POST", `/articles/${nato}/annotations/`, annotation(nato, doomedPassage), "application/ld+json"))
      .headers.get("location").replace(/.*\//, "")
    const v1 = await (await call("demo-alice-token", "GET", `/api/articles/${nato}`)).json()
    const paragraph = v1.text.split("\n").find(p => p.includes(doomedPassage))
    await call("demo-alice-token", "POST", `/api/articles/${nato}/versions`, { text: v1.text.replace(`${paragraph}\n`, "") })
    const waiting = brunoList("needs_attention").locator(`li[data-annotation="${doomed}"]`)
    await waiting.waitFor({ timeout: WAIT })
    const state = await waiting.locator(".chip.anchor").textContent()
    if (state !== "orphaned") fail(`the new version left the fact-check ${state}`)

    // The article list counts what is waiting on each article.
    await alice.goto(`${BASE}/#/articles`)
    const counts = alice.locator(`.article-list a[data-article="${nato}"] .waiting`)
    await counts.waitFor({ timeout: WAIT })
    const needing = Number(await counts.getAttribute("data-attention"))
    if (!(needing >= 1)) fail(`the article list says ${needing} need a person on ${nato}`)

    // Alice follows the link from her own Desk page to the reader and re-attaches it.
    await alice.locator(".topbar nav").getByRole("link", { name: "Desk" }).click()
    const link = alice.locator(`.queue[data-list="needs_attention"] li[data-annotation="${doomed}"] a.reattach`)
    await link.click()
    const item = alice.locator(`.attention li.wanted[data-annotation="${doomed}"]`)
    await item.waitFor({ timeout: WAIT })
    await alice.waitForSelector("#article-text[data-highlighted]", { timeout: WAIT })
    // A live update may re-render the text under the mouse: select again, as a person would,
    // until the selection is the passage.
    const passage = "NATO should not be part of these security guarantees"
    let selected = ""
    for (let tries = 0; tries < 3 && selected !== passage; tries++) selected = await selectWithMouse(alice, passage)
    if (selected !== passage) fail(`selecting the passage selected ${JSON.stringify(selected)}`)
    // Either the item goes, or the page says why not (a toast): never wait out the timeout blind.
    // Toasts already shown are marked, so a new one is told apart even as old ones go.
    await alice.evaluate(() => document.querySelectorAll(".toasts .toast.error").forEach(t => t.setAttribute("data-seen", "")))
    const refused = alice.locator(".toasts .toast.error:not([data-seen])")
    await item.getByRole("button", { name: "Re-attach to selection" }).click()
    await until("the re-attached item leaves the list, or an error shows", async () =>
      (await item.count()) === 0 || (await refused.count()) > 0)
    if ((await refused.count()) > 0) fail(`re-attaching said: ${await refused.first().textContent()}`)

    // Bruno's queue lets it go, and still has his assignment, on the page he never reloaded.
    await waiting.waitFor({ state: "detached", timeout: WAIT })
    await assigned.waitFor({ timeout: WAIT })
    if (!(await bruno.evaluate(() => window.sameDocument === true))) fail("Bruno's page was reloaded")
    await bruno.screenshot({ path: join(ARTIFACTS, "web-desk-bruno.png") })

    // His item opens the reader on that annotation's card.
    await assigned.locator("a").first().click()
    await bruno.waitForFunction(id => document.activeElement?.matches(`.card[data-annotation="${id}"]`), id, { timeout: WAIT })
    const errors = [...alice.errors, ...bruno.errors]
    if (errors.length) fail(`page errors: ${errors.join("; ")}`)
    return { assigned: id, orphaned: doomed, needing }
  },

  /**
   * The search box in the header: a misspelt word is found and marked in the snippet; a phrase
   * finds the Kremlin-denial fact-check first and Enter opens the reader focused on its passage;
   * an older answer never replaces a newer one; the scope, Show more, no matches and the
   * server's error message; an annotation made a moment ago is found at once and a click opens
   * it; and on a phone the open results fit the screen.
   */
  async search(browser) {
    const factCheck = "seed-003-no-problem"
    const page = await openDesk(browser, "Alice Martin")
    const box = page.getByRole("combobox", { name: "Search", exact: true })
    const options = page.locator('#search-results [role="option"]')
    const answered = (q, state = "results") => page.waitForFunction(([q, state]) => {
      const el = document.querySelector(".search")
      return el?.dataset.q === q && el.dataset.state === state
    }, [q, state], { timeout: WAIT })
    const marks = async () => (await page.locator("#search-results mark").allTextContents()).map(m => m.toLowerCase())

    // `/` focuses the box; a misspelling finds the name, marked as the server spells it.
    await page.keyboard.press("/")
    if (!(await box.evaluate(el => el === document.activeElement))) fail("`/` does not focus the search box")
    await page.keyboard.type("Zelenskiy")
    await answered("Zelenskiy")
    const zelensky = await marks()
    if (!zelensky.some(m => m.startsWith("zelensk"))) fail(`the marks for Zelenskiy are ${JSON.stringify(zelensky)}`)

    // An older answer never replaces a newer one: "Kreml" is answered only after "Macron".
    let release
    const macronAnswered = new Promise(resolve => { release = resolve })
    let held = 0
    await page.route(/\/api\/search\?/, async route => {
      const q = new URL(route.request().url()).searchParams.get("q")
      if (q === "Kreml") {
        held++
        await macronAnswered
        await route.continue().catch(() => {}) // the page may have cancelled it meanwhile
      } else {
        await route.fulfill({ response: await route.fetch() })
        if (q === "Macron") release()
      }
    })
    // The late request ends (cancelled by the page, or answered late); either way it is over.
    const kremlOver = new Promise(resolve => {
      const over = request => { if (new URL(request.url()).searchParams.get("q") === "Kreml") resolve(request.failure() ? "cancelled" : "answered") }
      page.on("requestfinished", over)
      page.on("requestfailed", over)
    })
    await box.fill("Kreml")
    await until("the search for Kreml to be asked", async () => held > 0)
    await box.fill("Macron")
    await answered("Macron")
    const late = await kremlOver
    // A turn of the page's event loop for a late answer to land, were it going to.
    await page.evaluate(() => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0))))
    await page.unroute(/\/api\/search\?/)
    const state = await page.locator(".search").getAttribute("data-q")
    if (state !== "Macron") fail(`a late answer replaced the newer one: the panel answers ${state}`)
    if (!(await marks()).every(m => m.includes("macron"))) fail(`the Macron results mark ${JSON.stringify(await marks())}`)

    // Show more follows the cursor; the scope narrows to articles.
    await box.fill("Ukraine")
    await answered("Ukraine")
    const firstPage = await options.count()
    if (firstPage === 0) fail("Ukraine finds nothing")
    const more = page.getByRole("button", { name: "Show more" })
    let shown = firstPage
    if (await more.isVisible()) {
      await more.click()
      await until("Show more to add hits", async () => (await options.count()) > firstPage)
      shown = await options.count()
      const ids = await options.evaluateAll(els => els.map(el => `${el.dataset.type}/${el.dataset.id}`))
      if (new Set(ids).size !== ids.length) fail(`Show more repeated hits: ${ids}`)
    }
    await page.getByRole("combobox", { name: "Search", exact: true }).focus()
    await page.getByLabel("Search in").selectOption("article")
    await page.waitForFunction(() => {
      const hits = [...document.querySelectorAll('#search-results [role="option"]')]
      return hits.length > 0 && hits.every(el => el.dataset.type === "article")
    }, null, { timeout: WAIT })
    await page.getByLabel("Search in").selectOption("")

    // Nothing found says so; a server error shows the server's own message.
    await box.fill("qqxqzzv")
    await answered("qqxqzzv", "empty")
    const empty = await page.locator(".search-status").textContent()
    if (empty !== "No matches for “qqxqzzv”") fail(`the empty state reads ${JSON.stringify(empty)}`)
    const detail = "The search index is being rebuilt; try again in a minute."
    await page.route(/\/api\/search\?/, route => route.fulfill({
      status: 503,
      contentType: "application/problem+json",
      body: JSON.stringify({ type: "about:blank", title: "Service Unavailable", status: 503, detail }),
    }))
    await box.fill("Trump")
    await answered("Trump", "error")
    const error = await page.locator(".search-status.error").textContent()
    if (error !== detail) fail(`the error state reads ${JSON.stringify(error)}`)
    await page.unroute(/\/api\/search\?/)

    // A phrase finds the Kremlin-denial fact-check first, "no problem" marked; Enter opens it.
    await box.fill("\"no problem\"")
    await answered("\"no problem\"")
    const first = options.first()
    if ((await first.getAttribute("data-id")) !== factCheck) fail(`"no problem" finds ${await first.getAttribute("data-id")} first`)
    const phrase = (await first.locator("mark").allTextContents()).map(m => m.toLowerCase())
    // The server marks each word of the phrase.
    const snippet = (await first.locator(".hit-snippet").textContent()).toLowerCase()
    if (!phrase.join(" ").includes("no problem") || !snippet.includes("no problem")) fail(`the fact-check's snippet marks ${JSON.stringify(phrase)}`)
    const article = await first.getAttribute("data-article")
    await box.press("ArrowDown")
    const chosen = await box.getAttribute("aria-activedescendant")
    if (chosen !== (await first.getAttribute("id")) || (await first.getAttribute("aria-selected")) !== "true") fail(`ArrowDown chose ${chosen}`)
    await box.press("Enter")
    await page.waitForFunction(id => document.activeElement?.matches(`.card[data-annotation="${id}"]`), factCheck, { timeout: WAIT })
    const hash = await page.evaluate(() => location.hash)
    if (hash !== `#/articles/${article}/annotations/${factCheck}`) fail(`Enter went to ${hash}`)
    const passage = page.locator(`#article-text mark.active[data-annotation="${factCheck}"]`)
    await passage.first().waitFor({ timeout: WAIT })
    const focused = (await passage.allTextContents()).join("")
    if (!focused.includes("no problem")) fail(`the focused passage reads ${JSON.stringify(focused)}`)
    if (await page.locator(".search-panel").isVisible()) fail("the results stay open over the reader")
    await page.screenshot({ path: join(ARTIFACTS, "web-search-reader.png") })

    // An annotation made a moment ago is found at once, and a click opens it.
    const created = await call("demo-alice-token", "POST", `/articles/${ARTICLE}/annotations/`, {
      "@context": "http://www.w3.org/ns/anno.jsonld",
      type: "Annotation",
      motivation: "commenting",
      bodyValue: "Vexillographers would check the flags in the summit photo.",
      target: { source: `/articles/${ARTICLE}`, selector: { type: "TextQuoteSelector", exact: PHRASE } },
    }, "application/ld+json")
    const fresh = created.headers.get("location").replace(/.*\//, "")
    await box.fill("vexillographer")
    await answered("vexillographer")
    const hit = page.locator(`#search-results [role="option"][data-id="${fresh}"]`)
    await hit.click()
    await page.waitForFunction(id => document.activeElement?.matches(`.card[data-annotation="${id}"]`), fresh, { timeout: WAIT })
    await page.locator(`#article-text mark.active[data-annotation="${fresh}"]`).first().waitFor({ timeout: WAIT })
    const freshHash = await page.evaluate(() => location.hash)
    if (freshHash !== `#/articles/${ARTICLE}/annotations/${fresh}`) fail(`the click went to ${freshHash}`)

    // On a phone, the box and its open results fit the screen.
    const phone = await openDesk(browser, "Bruno Costa", { width: 390, height: 844 })
    const phoneBox = phone.getByRole("combobox", { name: "Search", exact: true })
    await phoneBox.fill("Kremlin")
    await phone.locator('#search-results [role="option"]').first().waitFor({ timeout: WAIT })
    const fits = await phone.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      right: Math.max(...[...document.querySelectorAll(".search, .search-panel, .hit")].map(el => el.getBoundingClientRect().right)) - window.innerWidth,
    }))
    if (fits.overflow > 0 || fits.right > 0) fail(`on a phone the search is wider than the screen: ${JSON.stringify(fits)}`)
    await phone.screenshot({ path: join(ARTIFACTS, "web-search-phone.png") })

    const errors = [...page.errors, ...phone.errors]
    if (errors.length) fail(`page errors: ${errors.join("; ")}`)
    return { zelensky, late, shown, firstPage, opened: factCheck, article, fresh, phone: fits }
  },

  async viewer(browser) {
    const victor = await open(browser, "Victor Lang")
    await victor.locator(".banner", { hasText: "viewer" }).waitFor()
    const card = victor.locator(".card").first()
    await card.waitFor()
    const id = await card.getAttribute("data-annotation")
    const before = await note(victor, id).inputValue()
    const readOnly = await note(victor, id).evaluate(el => el.readOnly)
    await note(victor, id).click()
    await victor.keyboard.type("vandalism")
    const after = await note(victor, id).inputValue()
    const controls = await victor.locator(".card .controls, .card .reply-form, .card button.danger").count()
    await selectWithMouse(victor, PHRASE)
    await victor.waitForTimeout(300)
    const annotate = await victor.getByRole("button", { name: "Annotate" }).isVisible()
    // Even a hand-made request is refused by the server.
    const status = await victor.evaluate(async id => {
      const response = await fetch(`/api/annotations/${id}/status`, {
        method: "POST",
        headers: { Authorization: "Bearer demo-victor-token", "Content-Type": "application/json" },
        body: JSON.stringify({ status: "rejected" }),
      })
      return response.status
    }, id)
    await victor.screenshot({ path: join(ARTIFACTS, "web-viewer.png") })
    if (!readOnly) fail("the viewer's note field is editable")
    if (after !== before) fail("typing changed the viewer's note")
    if (controls !== 0) fail(`the viewer sees ${controls} editing controls`)
    if (annotate) fail("the viewer is offered to annotate a selection")
    if (status !== 403) fail(`the server answered ${status} to a viewer's status change`)
    if (victor.errors.length) fail(`page errors: ${victor.errors.join("; ")}`)
    return { id, readOnly, controls, annotate, status }
  },

  // The sign-in page offers exactly the demo users the server names: four on a demo desk,
  // none on a real one.
  async signin(browser) {
    const page = await (await browser.newContext()).newPage()
    await page.goto(`${BASE}/`)
    await page.waitForSelector("main.signin[data-demo-users]", { timeout: WAIT })
    const offered = await page.getByRole("button", { name: /^Sign in as / }).count()
    const told = await page.locator("main.signin").getAttribute("data-demo-users")
    if (String(offered) !== told) fail(`${offered} demo buttons for ${told} demo users`)
    await page.context().close()
    return { offered }
  },

  async layout(browser) {
    const result = {}
    for (const [name, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
      const page = await open(browser, "Chiara Rossi", viewport)
      await settled(page, "demo-chiara-token")
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      if (overflow > 0) fail(`${name}: the page is ${overflow}px wider than the ${window?.innerWidth ?? ""} viewport`)
      // Keyboard: Tab reaches a card, arrows move between cards, the focus ring shows.
      const first = page.locator(".cards > .card").first()
      await first.focus()
      await page.keyboard.press("ArrowDown")
      const moved = await page.evaluate(() => {
        const cards = [...document.querySelectorAll(".cards > .card")]
        return cards.indexOf(document.activeElement)
      })
      if (moved !== 1) fail(`${name}: ArrowDown moved focus to card ${moved}, not 1`)
      await page.keyboard.press("Enter")
      const inNote = await page.evaluate(() => document.activeElement?.matches("textarea.note"))
      if (!inNote) fail(`${name}: Enter on a card does not reach its note`)
      await page.keyboard.press("Escape")
      const ring = await page.evaluate(() => {
        const style = getComputedStyle(document.activeElement)
        return { outline: style.outlineStyle, width: parseFloat(style.outlineWidth), card: document.activeElement.matches(".card") }
      })
      if (!ring.card || ring.outline === "none" || ring.width < 2) fail(`${name}: no visible focus ring on the focused card (${JSON.stringify(ring)})`)
      // Contrast of the text people read, against what is behind it (WCAG AA: 4.5:1).
      const worst = await worstContrast(page, ".article-text p, mark.hl, .chip, .meta, .muted, .passage, .control span, .topbar a, .count, .reply-text")
      if (worst.ratio < 4.5) fail(`${name}: contrast ${worst.ratio}:1 for ${worst.what} (“${worst.text}”)`)
      await page.screenshot({ path: join(ARTIFACTS, `web-layout-${name}.png`), fullPage: false })
      if (page.errors.length) fail(`page errors: ${page.errors.join("; ")}`)
      // The Desk page fits too, and reads as well.
      await page.goto(`${BASE}/#/`)
      await page.waitForSelector("main.desk-page[data-seq] .queue-item", { timeout: WAIT })
      const deskOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      if (deskOverflow > 0) fail(`${name}: the Desk page is ${deskOverflow}px wider than the viewport`)
      const desk = await worstContrast(page, ".queue h2, .queue .lede, .queue-item q, .queue-item .meta, .chip, .activity-items li, .activity-items .muted, .topbar a")
      if (desk.ratio < 4.5) fail(`${name}: Desk page contrast ${desk.ratio}:1 for ${desk.what} (“${desk.text}”)`)
      await page.screenshot({ path: join(ARTIFACTS, `web-desk-${name}.png`), fullPage: false })
      result[name] = { overflow, worst_contrast: worst.ratio, desk_overflow: deskOverflow, desk_contrast: desk.ratio }
      await page.context().close()
    }
    return result
  },

  // The API reference from the sign-in page and from the desk's header, with every request that
  // is not to the server aborted and counted: Swagger UI renders the server's OpenAPI document,
  // and "Try it out" calls the API with the signed-in user's token.
  async reference(browser) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const origin = new URL(BASE).origin
    const offHost = []
    await context.route("**/*", route => {
      const url = route.request().url()
      if (new URL(url).origin === origin) return route.continue()
      offHost.push(url)
      return route.abort("blockedbyclient")
    })
    const page = await context.newPage()
    const errors = []
    page.on("pageerror", e => errors.push(e.message))
    await page.goto(`${BASE}/`)
    const fromSignIn = page.locator("main.signin").getByRole("link", { name: "API reference" })
    await fromSignIn.waitFor({ timeout: WAIT })
    if ((await fromSignIn.getAttribute("href")) !== "/api/reference") fail("the sign-in page's link is not to /api/reference")

    await page.getByRole("button", { name: "Sign in as Alice Martin" }).click()
    await page.waitForSelector("main.desk-page[data-seq]", { timeout: WAIT })
    await page.locator(".topbar nav").getByRole("link", { name: "API" }).click()
    await page.waitForURL(`${BASE}/api/reference`, { timeout: WAIT })
    await page.waitForSelector("#reference[data-loaded]", { timeout: WAIT })
    const summary = "Search annotations and articles"
    const search = page.locator(".opblock", { has: page.locator('.opblock-summary-path[data-path="/api/search"]') })
    await search.locator(".opblock-summary-description", { hasText: summary }).waitFor({ timeout: WAIT })
    // Signed in on the desk, so already authorised.
    await page.locator(".auth-wrapper .authorize.locked").waitFor({ timeout: WAIT })
    await page.screenshot({ path: join(ARTIFACTS, "web-api-reference-top.png"), fullPage: false })

    await search.locator(".opblock-summary-control").click()
    await search.getByRole("button", { name: "Try it out" }).click()
    await search.locator('tr[data-param-name="q"] input').fill("nations")
    await search.getByRole("button", { name: "Execute" }).click()
    const status = search.locator(".live-responses-table .response .response-col_status")
    await status.first().waitFor({ timeout: WAIT })
    const answered = (await status.first().textContent()).trim()
    if (answered !== "200") fail(`Try it out answered ${answered}`)
    await page.screenshot({ path: join(ARTIFACTS, "web-api-reference-try.png"), fullPage: false })
    if (errors.length) fail(`page errors: ${errors.join("; ")}`)
    if (offHost.length) fail(`requests left the server: ${offHost.join(", ")}`)
    await context.close()
    return { summary, status: Number(answered), off_host: offHost.length }
  },
}

const name = process.argv[2]
if (!scenarios[name]) {
  console.error(`usage: node web-e2e.mjs ${Object.keys(scenarios).join("|")}`)
  process.exit(2)
}
const browser = await launch()
try {
  const result = await scenarios[name](browser)
  console.log(JSON.stringify({ scenario: name, ok: true, ...result }))
} catch (e) {
  console.error(`${name}: ${e.message}`)
  process.exitCode = 1
} finally {
  await browser.close()
}
