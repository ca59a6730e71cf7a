//! Who may use a desk: demo desk versus real desk, the first admin, and users and tokens
//! managed while the server runs (revocation closes what the token has open).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use glossa::config::Settings;
use glossa::startup::Application;
use glossa::sync::wire::{self, WireMessage};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    detail, glossa, spawn_app, spawn_app_from, TestApp, TestStore, ALICE, BRUNO, CHIARA, VICTOR,
};

/// A bound on how long a healthy server takes to answer: a hang guard, not a speed test.
const PATIENCE: Duration = Duration::from_secs(20);

const DEMO_TOKENS: [&str; 4] = [ALICE, BRUNO, CHIARA, VICTOR];

async fn status_of(app: &TestApp, method: Method, path: &str, token: &str) -> u16 {
    app.request(method, path, Some(token))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

fn real_desk(store: &TestStore) -> Settings {
    Settings {
        seed: false,
        ..store.settings()
    }
}

#[tokio::test]
async fn a_real_desk_has_no_demo_token_and_one_admin_whose_token_works() {
    let store = TestStore::new();
    let app = spawn_app_from(real_desk(&store)).await;
    for token in DEMO_TOKENS {
        assert_eq!(status_of(&app, Method::GET, "/api/me", token).await, 401);
    }
    let admin = app
        .admin_token
        .clone()
        .expect("the first start issues an admin token");
    assert!(admin.starts_with("glossa_"));
    let me: Value = app.json_as(Method::GET, "/api/me", Some(&admin)).await;
    assert_eq!(me["role"], "admin");
    let desk: Value = app.json_as(Method::GET, "/api/desk", None).await;
    assert_eq!(desk, json!({ "demo": false, "demo_users": [] }));
    let articles: Value = app
        .json_as(Method::GET, "/api/articles", Some(&admin))
        .await;
    assert_eq!(articles["articles"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn a_demo_desk_offers_its_demo_users_and_an_admin_token_is_not_issued() {
    let app = spawn_app().await;
    assert_eq!(app.admin_token, None);
    let desk: Value = app.json_as(Method::GET, "/api/desk", None).await;
    assert_eq!(desk["demo"], true);
    let offered: Vec<&str> = desk["demo_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["token"].as_str().unwrap())
        .collect();
    assert_eq!(offered, DEMO_TOKENS);
}

#[tokio::test]
async fn a_demo_desk_refuses_a_non_loopback_address_unless_declared_a_demo() {
    // The check comes before the listener is bound: nothing listens on 0.0.0.0 here.
    let store = TestStore::new();
    let settings = Settings {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..store.settings()
    };
    let error = Application::build(settings)
        .await
        .err()
        .expect("a demo desk on 0.0.0.0 is refused")
        .to_string();
    assert!(error.contains("--demo"), "{error}");
    assert!(error.contains("GLOSSA_DEMO"), "{error}");
    assert!(error.contains("README"), "{error}");
}

/// The real binary: its output, its exit, its refusals.
struct Serve {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    base: String,
}

impl Serve {
    fn start(store: &TestStore, args: &[&str]) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(store.args())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut serve = Self {
            child,
            lines,
            base: String::new(),
        };
        serve.base = serve
            .until(|l| l.starts_with("Glossa is listening on "))
            .trim_start_matches("Glossa is listening on ")
            .to_owned();
        serve
    }

    /// Lines up to and including the first that satisfies `done`.
    fn read_until(&self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(PATIENCE)
                .expect("the server prints");
            let last = done(&line);
            seen.push(line);
            if last {
                return seen;
            }
        }
    }

    fn until(&self, done: impl Fn(&str) -> bool) -> String {
        self.read_until(done).pop().unwrap()
    }

    async fn me(&self, token: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/api/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    fn stop(self) {}
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `glossa serve` expecting a refusal; returns what it said. A server that starts
/// instead is stopped, and the test fails.
fn refused(store: &TestStore, args: &[&str]) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(store.args())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "the server started and stopped");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_binary_prints_a_real_desks_admin_token_once_and_never_adds_demo_users() {
    let store = TestStore::new();
    let first = Serve::start(&store, &["--no-seed"]);
    first.until(|l| l.contains("shown this once"));
    let admin = first.until(|_| true).trim().to_owned();
    assert!(admin.starts_with("glossa_"), "{admin}");
    assert_eq!(first.me(&admin).await, 200);
    assert_eq!(first.me(ALICE).await, 401);
    first.stop();

    // Restarted without --no-seed: still a real desk, no new admin token, no demo users.
    let second = Serve::start(&store, &[]);
    let said = second.read_until(|l| l.starts_with("Sign in") || l.contains("demo desk"));
    assert!(
        !said
            .iter()
            .any(|l| l.contains("glossa_") || l.contains("demo")),
        "{said:?}"
    );
    assert_eq!(second.me(&admin).await, 200);
    for token in DEMO_TOKENS {
        assert_eq!(second.me(token).await, 401);
    }
    second.stop();

    let error = refused(&store, &["--demo"]);
    assert!(error.contains("real desk"), "{error}");
}

#[tokio::test]
async fn a_demo_desk_stays_one() {
    let store = TestStore::new();
    Serve::start(&store, &[]).stop();
    let error = refused(&store, &["--no-seed"]);
    assert!(error.contains("demo desk"), "{error}");
    assert!(error.contains("new, empty data directory"), "{error}");
}

/// An automerge-repo peer on `/sync` that has had its `peer` answer.
async fn sync_peer(app: &TestApp, token: &str) -> SyncSocket {
    let url = format!("{}/sync?token={token}", app.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let join = wire::encode(&WireMessage::Join {
        sender_id: "access-test-peer".into(),
        supported_versions: vec!["1".into()],
        metadata: None,
    });
    socket.send(Message::Binary(join.into())).await.unwrap();
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                if let Ok(WireMessage::Peer { .. }) = wire::decode(&bytes) {
                    return socket;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no peer answer: {other:?}"),
        }
    }
}

type SyncSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The close frame the server ends a socket with. Pings arrive every 500 ms while the socket
/// is open, so the bound is on the whole wait, not on each frame.
async fn close_frame(socket: &mut SyncSocket) -> (CloseCode, String) {
    let wait = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code, frame.reason.to_string())
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    panic!("the socket ended without a close reason")
                }
                Some(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("the socket of a revoked token is closed in time")
}

#[tokio::test]
async fn an_admin_manages_users_and_tokens_and_a_revoked_token_loses_everything_at_once() {
    let app = spawn_app().await;

    // Creating a user: admins only, names and roles checked, no duplicates.
    let dana = json!({ "name": "dana", "display_name": "Dana Ortiz (reporter)", "role": "editor" });
    let by_editor = app.post_json("/api/users", &dana, ALICE).await;
    assert_eq!(by_editor.status(), 403);
    assert!(detail(by_editor).await.contains("only an admin"));
    let bad_role = json!({ "name": "dana", "role": "owner" });
    assert_eq!(
        app.post_json("/api/users", &bad_role, CHIARA)
            .await
            .status(),
        422
    );
    let bad_name = json!({ "name": "Dana Ortiz", "role": "editor" });
    assert_eq!(
        app.post_json("/api/users", &bad_name, CHIARA)
            .await
            .status(),
        422
    );
    let unknown_field = json!({ "name": "dana", "role": "editor", "password": "x" });
    assert_eq!(
        app.post_json("/api/users", &unknown_field, CHIARA)
            .await
            .status(),
        400
    );
    let created = app.post_json("/api/users", &dana, CHIARA).await;
    assert_eq!(created.status(), 201);
    assert!(created.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("/api/users/dana"));
    let again = app.post_json("/api/users", &dana, CHIARA).await;
    assert_eq!(again.status(), 409);
    let people: Value = app.get_json("/api/users").await;
    assert!(people["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "dana"));

    // Issuing a token: admins only; the token is in the answer and works at once.
    let path = "/api/users/dana/tokens";
    assert_eq!(status_of(&app, Method::POST, path, BRUNO).await, 403);
    assert_eq!(
        status_of(&app, Method::POST, "/api/users/nobody/tokens", CHIARA).await,
        404
    );
    let issued = app
        .request(Method::POST, path, Some(CHIARA))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.unwrap();
    let token = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    let me: Value = app.json_as(Method::GET, "/api/me", Some(&token)).await;
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("dana"), Some("editor"))
    );

    // Listing: admins only, and never a token or its hash.
    assert_eq!(
        status_of(&app, Method::GET, "/api/tokens", ALICE).await,
        403
    );
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let listing = app
        .request(Method::GET, "/api/tokens", Some(CHIARA))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listing.contains(&id));
    assert!(!listing.contains(&token) && !listing.contains(&hash));
    let listed: Value = serde_json::from_str(&listing).unwrap();
    let entry = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (entry["user"].as_str(), entry["revoked"].is_null()),
        (Some("dana"), true)
    );
    // Nor does the event feed, its live tail, or the log export carry the hash.
    for path in ["/api/events?limit=1000", "/api/export/log.ndjson"] {
        let body = app.get(path).await.text().await.unwrap();
        assert!(
            body.contains("token.issued") && !body.contains(&hash),
            "{path}"
        );
    }

    // Open a live tail and a sync socket with the token, then revoke it.
    let mut tail = app
        .request(Method::GET, "/api/events/stream", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 200);
    let mut socket = sync_peer(&app, &token).await;
    let path = format!("/api/tokens/{id}");
    assert_eq!(status_of(&app, Method::DELETE, &path, ALICE).await, 403);
    let revoked = app
        .request(Method::DELETE, &path, Some(CHIARA))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let revoked: Value = revoked.json().await.unwrap();
    assert!(revoked["revoked"].as_str().unwrap().ends_with('Z'));

    // Refused on the next request, on every path; what was open is closed.
    assert_eq!(status_of(&app, Method::GET, "/api/me", &token).await, 401);
    let upgrade = format!("{}/sync?token={token}", app.base.replacen("http", "ws", 1));
    match tokio_tungstenite::connect_async(upgrade).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!(
            "a revoked token's upgrade was not refused with 401: {:?}",
            other.map(|(_, response)| response.status())
        ),
    }
    let (code, reason) = close_frame(&mut socket).await;
    assert_eq!(code, CloseCode::Policy);
    assert_eq!(reason, "the token was revoked");
    // Keep-alive comments arrive every 200 ms while the tail is open: it must end regardless.
    let ended = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(_)) = tail.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the live tail of a revoked token stays open");
    // The demo admin, and everyone else, carry on.
    assert_eq!(status_of(&app, Method::GET, "/api/me", CHIARA).await, 200);
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request() {
    let app = spawn_app().await;
    let dana = json!({ "name": "dana", "role": "editor" });
    assert_eq!(
        app.post_json("/api/users", &dana, CHIARA).await.status(),
        201
    );
    let issued: Value = app
        .json_as(Method::POST, "/api/users/dana/tokens", Some(CHIARA))
        .await;
    let token = issued["token"].as_str().unwrap();
    let demote = app
        .request(Method::PATCH, "/api/users/dana", Some(CHIARA))
        .json(&json!({ "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(demote.status(), 200);
    let body = app
        .fact_check_on(crate::helpers::ARTICLE, "26 nations have pledged")
        .await;
    let write = app.post_annotation("/annotations/", &body, token).await;
    assert_eq!(write.status(), 403);
    let by_editor = app
        .request(Method::PATCH, "/api/users/dana", Some(ALICE))
        .json(&json!({ "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_editor.status(), 403);
}

#[tokio::test]
async fn the_command_line_manages_users_and_tokens_on_a_running_server() {
    let store = TestStore::new();
    let app = crate::helpers::spawn_app_on(&store).await;
    let server = ["--server", app.base.as_str(), "--token", CHIARA];
    let run = |args: &[&str]| {
        let all: Vec<String> = args.iter().chain(&server).map(|a| a.to_string()).collect();
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            glossa(&all).await
        }
    };
    let (ok, _, err) = run(&["user", "create", "--name", "erin", "--role", "viewer"]).await;
    assert!(ok, "{err}");
    let (ok, token, err) = run(&["token", "create", "--user", "erin"]).await;
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert_eq!(status_of(&app, Method::GET, "/api/me", &token).await, 200);

    let (ok, listing, err) = run(&["token", "list", "--user", "erin"]).await;
    assert!(ok, "{err}");
    assert!(!listing.contains(&token), "{listing}");
    let id = listing
        .lines()
        .find(|l| l.contains("erin"))
        .and_then(|l| l.split_whitespace().next())
        .expect("erin's token is listed")
        .to_owned();
    let (ok, _, err) = run(&["token", "revoke", &id]).await;
    assert!(ok, "{err}");
    assert_eq!(status_of(&app, Method::GET, "/api/me", &token).await, 401);

    // An editor cannot, and says so.
    let (ok, _, err) = glossa(&["token", "list", "--server", &app.base, "--token", ALICE]).await;
    assert!(!ok && err.contains("only an admin"), "{err}");

    // The data directory is the running server's alone: the offline command says what to do.
    let desk: Vec<String> = store
        .args()
        .iter()
        .map(|a| a.to_str().unwrap().to_owned())
        .collect();
    let mut offline = vec!["token", "create", "--user", "frank", "--role", "viewer"];
    offline.extend(desk.iter().map(String::as_str));
    let (ok, _, err) = glossa(&offline).await;
    assert!(
        !ok,
        "the offline command opened a data directory a server holds"
    );
    assert!(
        err.contains("running server") && err.contains("--server"),
        "{err}"
    );
}

#[tokio::test]
async fn an_older_users_file_moves_into_the_log_without_the_demo_tokens_of_a_real_desk() {
    // What builds before the log held users wrote for a desk without the seeds: the demo
    // tokens (every data directory got them) and one real token.
    let store = TestStore::new();
    let real = "glossa_an-older-real-token";
    let sha = |token: &str| hex::encode(Sha256::digest(token.as_bytes()));
    let mut tokens: Vec<Value> = DEMO_TOKENS
        .iter()
        .map(|t| json!({ "user": t.split('-').nth(1).unwrap(), "role": "admin", "sha256": sha(t) }))
        .collect();
    tokens.push(
        json!({ "user": "dana", "display_name": "Dana", "role": "editor", "sha256": sha(real) }),
    );
    let file = store.path().join("users.json");
    std::fs::write(&file, json!({ "tokens": tokens }).to_string()).unwrap();

    let app = spawn_app_from(store.settings()).await;
    assert_eq!(status_of(&app, Method::GET, "/api/me", real).await, 200);
    for token in DEMO_TOKENS {
        assert_eq!(status_of(&app, Method::GET, "/api/me", token).await, 401);
    }
    assert!(!file.exists() && store.path().join("users.json.imported").exists());
    // Nobody left is an admin, so the start issued an admin token.
    let admin = app.admin_token.clone().expect("an admin token");
    assert_eq!(
        status_of(&app, Method::GET, "/api/tokens", &admin).await,
        200
    );
}
