//! `spawn_app()` and a `TestApp` with one method per endpoint; every desk on the backend of
//! this run (`backend::TestStore`).

use std::path::Path;
use std::sync::LazyLock;

use glossa::config::Settings;
use glossa::desk::Desk;
use glossa::startup::Application;
use glossa::store::EventRecord;
use glossa::telemetry::{self, LogFormat};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

pub use crate::backend::TestStore;

pub const ALICE: &str = "demo-alice-token";
pub const BRUNO: &str = "demo-bruno-token";
pub const VICTOR: &str = "demo-victor-token";
/// The demo desk chief: an admin.
pub const CHIARA: &str = "demo-chiara-token";
pub const JSONLD: &str = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"";

/// Logs go nowhere unless `TEST_LOG` is set.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        telemetry::init("debug", LogFormat::Text, std::io::stdout);
    } else {
        telemetry::init("debug", LogFormat::Text, std::io::sink);
    }
});

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The server's desk, to look at the event log and documents behind the API.
    pub desk: Desk,
    /// The token printed once when the desk had no admin (the first start of a real desk).
    pub admin_token: Option<String>,
    /// Keeps the desk's storage (its temporary directory) alive for the test.
    _store: Option<TestStore>,
}

/// Starts the server in-process on a fresh desk (seeded) and a free port.
pub async fn spawn_app() -> TestApp {
    let store = TestStore::new();
    let mut app = spawn_app_on(&store).await;
    app._store = Some(store);
    app
}

/// Starts the server in-process on a fresh desk (seeded) with settings changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let store = TestStore::new();
    let mut settings = store.settings();
    configure(&mut settings);
    let mut app = spawn_app_from(settings).await;
    app._store = Some(store);
    app
}

/// Starts the server in-process on an existing desk.
pub async fn spawn_app_on(store: &TestStore) -> TestApp {
    spawn_app_from(store.settings()).await
}

/// Starts the server in-process with these settings.
pub async fn spawn_app_from(settings: Settings) -> TestApp {
    LazyLock::force(&TRACING);
    let app = Application::build(settings).await.expect("the app builds");
    let base = app.base_url().to_owned();
    let desk = app.desk().clone();
    let admin_token = app.admin_token().map(str::to_owned);
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        desk,
        admin_token,
        client: reqwest::Client::new(),
        _store: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(ALICE))
            .send()
            .await
            .expect("GET")
    }

    /// Sends `method path` as `token` (or no one) and reads the JSON answer, whatever its status.
    pub async fn json_as(&self, method: Method, path: &str, token: Option<&str>) -> Value {
        self.request(method, path, token)
            .send()
            .await
            .expect("the request is sent")
            .json()
            .await
            .expect("a JSON answer")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }

    /// POSTs an annotation to a container as `token`.
    pub async fn post_annotation(&self, container: &str, body: &Value, token: &str) -> Response {
        self.request(Method::POST, container, Some(token))
            .header("Content-Type", JSONLD)
            .body(body.to_string())
            .send()
            .await
            .expect("POST")
    }

    pub async fn put_annotation(&self, id: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut request = self
            .request(Method::PUT, &format!("/annotations/{id}"), Some(ALICE))
            .header("Content-Type", JSONLD)
            .body(body.to_string());
        if let Some(etag) = if_match {
            request = request.header("If-Match", etag);
        }
        request.send().await.expect("PUT")
    }

    pub async fn delete_annotation(&self, id: &str, if_match: Option<&str>) -> Response {
        let mut request = self.request(Method::DELETE, &format!("/annotations/{id}"), Some(ALICE));
        if let Some(etag) = if_match {
            request = request.header("If-Match", etag);
        }
        request.send().await.expect("DELETE")
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: &str) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// The durable head of the event log.
    pub fn log_head(&self) -> u64 {
        self.desk.store().log.head()
    }

    /// Waits until the read models have read the whole log, so REST reads show every change
    /// that arrived through sync.
    pub async fn read_models_caught_up(&self) {
        self.desk
            .store()
            .read_model
            .wait_for(self.log_head())
            .await
            .expect("the read models catch up");
    }

    /// Every event in the log, in order.
    pub fn events(&self) -> Vec<EventRecord> {
        self.desk
            .store()
            .log
            .read_after(0, usize::MAX)
            .expect("the log reads")
    }

    /// The text of an article's latest version.
    pub async fn article_text(&self, article: &str) -> String {
        let body = self.get_json(&format!("/api/articles/{article}")).await;
        body["text"].as_str().expect("text").to_owned()
    }

    /// A fact-check on a passage of an article, with selectors computed from its text.
    pub async fn fact_check_on(&self, article: &str, exact: &str) -> Value {
        let text = self.article_text(article).await;
        let byte = text.find(exact).expect("the quote occurs");
        let start = text[..byte].chars().count();
        let end = start + exact.chars().count();
        json!({
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "Annotation",
            "motivation": "assessing",
            "body": [{"type": "TextualBody", "value": "Needs a source.", "format": "text/plain"}],
            "verdict": "unverifiable",
            "target": {
                "type": "SpecificResource",
                "source": self.url(&format!("/articles/{article}")),
                "selector": [
                    {"type": "TextQuoteSelector", "exact": exact},
                    {"type": "TextPositionSelector", "start": start, "end": end}
                ]
            }
        })
    }
}

/// The id of the annotation a 201 response created (the last segment of its Location).
pub fn id_of(response: &Response) -> String {
    let location = response.headers()["location"]
        .to_str()
        .expect("a Location header");
    location.rsplit('/').next().unwrap_or_default().to_owned()
}

/// The ETag header of a response.
pub fn etag(response: &Response) -> String {
    response
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The problem detail of an error response, for assertions on the message.
pub async fn detail(response: Response) -> String {
    let body: Value = response.json().await.expect("a problem+json body");
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// Annotations on a new demo desk: the 17 seed annotations, and the house-style tags the
/// default term list adds for the variants no seed tag covers (9 Zelenskyy, 1 Zelenskiy, 1 Nato).
pub const SEED_ANNOTATIONS: u64 = 17;
pub const HOUSE_STYLE_TAGS: u64 = 11;
pub const DESK_ANNOTATIONS: u64 = SEED_ANNOTATIONS + HOUSE_STYLE_TAGS;

/// A passage of the first seed article that no seed annotation uses.
pub const ARTICLE: &str = "twenty-six-nations-pledge";

static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Installs what the JavaScript and browser tests need (Node.js, Chromium, the pinned packages
/// of `tests/js` and `web/`), once, with the project's own script.
pub fn ensure_node_packages() {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let markers = [
        root.join("tests/js/node_modules/@automerge/automerge-repo/package.json"),
        root.join("tests/js/node_modules/playwright-core/package.json"),
        root.join("web/node_modules/esbuild/package.json"),
        root.join("web/node_modules/@automerge/automerge-repo/package.json"),
        root.join("web/node_modules/swagger-ui-dist/package.json"),
        Path::new("/usr/bin/chromium").to_path_buf(),
    ];
    let has_node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_node && markers.iter().all(|m| m.exists()) {
        return;
    }
    let status = std::process::Command::new("bash")
        .arg(root.join("scripts/install-test-deps.sh"))
        .status()
        .expect("bash runs the install script");
    assert!(status.success(), "scripts/install-test-deps.sh failed");
}

/// Starts the `glossa` binary with `args`; its standard output comes line by line through the
/// returned channel, read on a thread of its own that keeps draining it (so the process never
/// blocks on a full pipe) after the receiver is gone.
pub fn glossa_with_lines(
    args: &[&std::ffi::OsStr],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the glossa binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Runs the `glossa` binary off the runtime's thread (a server under test may run on it);
/// returns (success, stdout, stderr).
pub async fn glossa<I, S>(args: I) -> (bool, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
            .args(args)
            .output()
            .expect("glossa runs")
    })
    .await
    .expect("the command's thread");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
