// The API reference: Swagger UI (its prebuilt bundle, loaded before this module) reading the
// server's own OpenAPI document. Nothing is fetched from anywhere else: no validator badge (it
// would send the document to swagger.io), and no `?url=` or remote configuration. Someone signed
// in on the desk in this browser finds "Try it out" already authorised with their token.

const TOKEN_KEY = "glossa.token" // the desk's (main.js)

const root = document.getElementById("reference")
const token = localStorage.getItem(TOKEN_KEY)
const ui = window.SwaggerUIBundle({
  url: "/api/openapi.json",
  domNode: root,
  validatorUrl: null,
  queryConfigEnabled: false,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  onComplete() {
    if (token) ui.preauthorizeApiKey("bearer", token)
    root.setAttribute("aria-busy", "false")
    root.dataset.loaded = "true"
  },
})
