// The desk's shell: sign-in with a token, the Desk page (the work queue), the article list and
// the reader, routed by the URL's hash so the server's own /articles/… URLs stay the API's:
//   #/ or #/desk                                   the Desk page
//   #/articles                                     the article list
//   #/articles/<id>                                the reader
//   #/articles/<id>/annotations/<annotation>       the reader, on one annotation
//   #/articles/<id>/reattach/<annotation>/<target> the reader, offering to re-attach a target

import { Api, ApiError } from "./api.js"
import { DeskPage } from "./desk.js"
import { h } from "./dom.js"
import { Reader } from "./reader.js"
import { SearchBox } from "./search.js"
import { loadAutomerge, Sync } from "./sync.js"

const TOKEN_KEY = "glossa.token"

// The demo users the server offers: only a demo desk has them (GET /api/desk needs no token).
async function demoUsers() {
  try {
    const response = await fetch("/api/desk", { headers: { Accept: "application/json" } })
    return response.ok ? (await response.json()).demo_users ?? [] : []
  } catch {
    return []
  }
}

const app = document.getElementById("app")
const toasts = h("div", { class: "toasts", role: "status", "aria-live": "polite" })
document.body.append(toasts)

function toast(message, error = false) {
  const el = h("p", { class: `toast ${error ? "error" : ""}` }, message)
  toasts.append(el)
  setTimeout(() => el.remove(), error ? 8000 : 3000)
}

let session = null // { api, me, users, articles, sync }
let page = null // what is showing: a Reader or a DeskPage, each with start() and stop()

function signInView(message) {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true, placeholder: "Paste your token" })
  const error = h("p", { class: "error", role: "alert" }, message ?? "")
  const submit = async token => {
    error.textContent = ""
    try {
      await signIn(token)
    } catch (e) {
      error.textContent = e.message
    }
  }
  app.replaceChildren(
    h("main", { class: "signin" },
      h("h1", {}, "Glossa"),
      h("p", { class: "lede" }, "The newsroom desk for annotating, fact-checking and correcting published articles together."),
      h("form", { onsubmit: e => { e.preventDefault(); submit(input.value.trim()) } },
        h("label", { for: "token" }, "Access token"),
        input,
        h("button", { type: "submit", class: "primary" }, "Sign in"),
        error),
      h("p", { class: "muted api-link" }, "Building on Glossa? Read the ", h("a", { href: "/api/reference" }, "API reference"), ".")))
  input.focus()
  demoUsers().then(demo => {
    if (!input.isConnected) return
    const main = input.closest("main")
    main.dataset.demoUsers = String(demo.length)
    if (!demo.length) return
    main.append(
      h("details", { class: "demo", open: true },
        h("summary", {}, "Demo desk"),
        h("p", { class: "muted" }, "This is a demo desk: its users' tokens are public. A real desk has none of them."),
        h("ul", {}, demo.map(user =>
          h("li", {}, h("button", { type: "button", class: "link", onclick: () => submit(user.token) }, `Sign in as ${user.display_name}`), ` (${user.role})`)))))
  })
}

async function signIn(token) {
  const api = new Api(token)
  let me
  try {
    me = await api.me()
  } catch (e) {
    throw e instanceof ApiError && e.status === 401 ? new Error("That token is not valid on this server.") : e
  }
  const [users, list] = await Promise.all([api.users(), api.articles()])
  localStorage.setItem(TOKEN_KEY, token)
  session?.sync.close()
  session?.search.destroy()
  session = { api, me, users, articles: new Map(list.map(a => [a.id, a])), sync: new Sync(token, me.name) }
  // One search box for the session, moved into each page's header, so it keeps what was typed.
  session.search = new SearchBox({ api, articles: session.articles, go })
  route()
}

function signOut() {
  page?.stop()
  page = null
  session?.sync.close()
  session?.search.destroy()
  session = null
  localStorage.removeItem(TOKEN_KEY)
  location.hash = "#/"
  signInView()
}

/** Goes to a route; to the one showing, it is shown afresh (no hashchange would fire). */
function go(hash) {
  if (location.hash === hash) route()
  else location.hash = hash
}

function shell(content) {
  const { me, search } = session
  app.replaceChildren(
    h("header", { class: "topbar" },
      h("a", { class: "brand", href: "#/" }, "Glossa"),
      h("nav", { "aria-label": "Main" }, h("a", { href: "#/" }, "Desk"), h("a", { href: "#/articles" }, "Articles"), h("a", { href: "/api/reference" }, "API")),
      search.el,
      h("div", { class: "who" },
        h("span", { class: `role role-${me.role}`, dataset: { user: me.name } }, `${me.display_name} · ${me.role}`),
        h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"))),
    content)
}

async function articleList() {
  const list = await session.api.articles()
  session.articles = new Map(list.map(a => [a.id, a]))
  session.search.ctx.articles = session.articles
  shell(
    h("main", { class: "articles" },
      h("h1", {}, "Articles"),
      h("ul", { class: "article-list" }, list.map(a =>
        h("li", {},
          h("a", { href: `#/articles/${a.id}`, dataset: { article: a.id } },
            h("strong", {}, a.title ?? a.id),
            h("span", { class: "muted" }, [a.outlet, a.published].filter(Boolean).join(" · ")),
            h("span", { class: "count" }, `${a.annotation_count} annotations · version ${a.latest_version}`),
            h("span", { class: "waiting", dataset: { open: String(a.open_count ?? 0), attention: String(a.needs_attention_count ?? 0) } },
              `${a.open_count ?? 0} open`,
              a.needs_attention_count ? ` · ${a.needs_attention_count} need${a.needs_attention_count === 1 ? "s" : ""} a person` : "")))))))
}

async function route() {
  if (!session) return
  page?.stop()
  page = null
  const match = /^#\/articles\/([^/]+)(?:\/(annotations|reattach)\/([^/]+)(?:\/(\d+))?)?$/.exec(location.hash)
  try {
    if (match) {
      const [, article, mode, annotation, target] = match
      const focus = annotation
        ? { annotation: decodeURIComponent(annotation), reattach: mode === "reattach", target: target === undefined ? undefined : Number(target) }
        : null
      const host = h("div", { class: "page" })
      shell(host)
      page = new Reader(host, decodeURIComponent(article), { ...session, toast, focus })
      await page.start()
    } else if (/^#\/articles\/?$/.test(location.hash)) {
      await articleList()
    } else {
      const host = h("div", { class: "page" })
      shell(host)
      page = new DeskPage(host, { ...session, token: session.api.token, toast })
      await page.start()
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signInView("Your token is no longer valid; sign in again.")
    toast(e.message, true)
  }
}

window.addEventListener("hashchange", route)

async function boot() {
  await loadAutomerge()
  const token = localStorage.getItem(TOKEN_KEY)
  if (!token) return signInView()
  try {
    await signIn(token)
  } catch (e) {
    localStorage.removeItem(TOKEN_KEY)
    signInView(e.message)
  }
}

boot().catch(e => {
  app.replaceChildren(h("p", { class: "error" }, `The desk could not start: ${e.message}`))
})
