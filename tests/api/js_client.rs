//! Interop with the official JavaScript client: `tests/js/scenario.mjs` runs unmodified
//! `@automerge/automerge-repo` 2.5.6 repos with the WebSocket client adapter against a server
//! started here, over real sockets. The Node packages are installed from the lock file by the
//! first test that needs them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::crash::Server;
use crate::helpers::{
    ensure_node_packages, spawn_app, TestApp, TestStore, ALICE, ARTICLE, BRUNO, VICTOR,
};

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// What a scenario needs to know about the server and the article.
pub(crate) struct Setup {
    ws: String,
    doc_url: String,
    quote: String,
    start: usize,
    end: usize,
}

pub(crate) async fn setup(base: &str, client: &reqwest::Client) -> Setup {
    let article: Value = client
        .get(format!("{base}/api/articles/{ARTICLE}"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = article["text"].as_str().unwrap();
    let quote = "26 nations have pledged";
    let byte = text.find(quote).unwrap();
    let start = text[..byte].chars().count();
    Setup {
        ws: format!("{}/sync", base.replacen("http", "ws", 1)),
        doc_url: article["document_url"].as_str().unwrap().to_owned(),
        quote: quote.to_owned(),
        start,
        end: start + quote.chars().count(),
    }
}

pub(crate) fn scenario(
    setup: &Setup,
    name: &str,
    tokens: (&str, &str),
    users: (&str, &str),
) -> Command {
    ensure_node_packages();
    let mut command = Command::new("node");
    command
        .arg("scenario.mjs")
        .arg(name)
        .current_dir(js_dir())
        .env("GLOSSA_WS", &setup.ws)
        .env("DOC_URL", &setup.doc_url)
        .env("TOKEN_A", tokens.0)
        .env("TOKEN_B", tokens.1)
        .env("USER_A", users.0)
        .env("USER_B", users.1)
        .env("ARTICLE", ARTICLE)
        .env("QUOTE", &setup.quote)
        .env("START", setup.start.to_string())
        .env("END", setup.end.to_string())
        .env("VERSION", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs a scenario to the end and returns its JSON result line.
async fn run(setup: &Setup, name: &str, tokens: (&str, &str), users: (&str, &str)) -> Value {
    finish(scenario(setup, name, tokens, users), name).await
}

async fn finish(command: Command, name: &str) -> Value {
    let output = tokio::task::spawn_blocking(move || {
        let mut command = command;
        command.output().expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scenario {name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    last_json(&stdout)
}

pub(crate) fn last_json(stdout: &str) -> Value {
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .expect("the scenario printed a JSON result")
}

async fn app_and_setup() -> (TestApp, Setup) {
    let app = spawn_app().await;
    let setup = setup(&app.base, &app.client).await;
    (app, setup)
}

#[tokio::test]
async fn a_js_client_annotation_reaches_another_client_the_api_and_the_log() {
    let (app, setup) = app_and_setup().await;
    let result = run(&setup, "create", (ALICE, BRUNO), ("alice", "bruno")).await;
    let id = result["id"].as_str().unwrap();
    app.read_models_caught_up().await;
    let json = app.get_json(&format!("/annotations/{id}")).await;
    assert_eq!(json["creator"]["nickname"], "alice");
    assert_eq!(json["body"][0]["value"], "note from A");
    let events = app.events();
    let created = events
        .iter()
        .find(|e| e.event_type == "annotation.created" && e.data["annotation"]["id"] == id)
        .expect("an annotation.created event");
    assert_eq!(created.actor.as_str(), "alice");
    assert!(events
        .iter()
        .any(|e| e.event_type == "document.changed" && e.actor.as_str() == "alice"));
}

#[tokio::test]
async fn a_rest_post_appears_in_a_js_client_without_it_asking() {
    let (app, setup) = app_and_setup().await;
    let id = "from-rest";
    let command = scenario(&setup, "watch", (ALICE, BRUNO), ("alice", "bruno"));
    let mut child = tokio::task::spawn_blocking(move || {
        let mut command = command;
        command.arg(id);
        command.spawn().expect("node runs")
    })
    .await
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let mut ready_tx = Some(ready_tx);
        let mut rest = Vec::new();
        for line in lines.by_ref() {
            if line.trim() == "READY" {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(());
                }
            } else {
                rest.push(line);
            }
        }
        rest.join("\n")
    });
    ready_rx.await.expect("the client got ready");
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let response = app
        .request(reqwest::Method::POST, "/annotations/", Some(ALICE))
        .header("Content-Type", crate::helpers::JSONLD)
        .header("Slug", id)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let stdout = reader.join().unwrap();
    assert!(status.success(), "watch failed: {stdout}");
    let result = last_json(&stdout);
    assert_eq!(result["kind"], "fact-check");
}

#[tokio::test]
async fn concurrent_body_edits_from_two_js_clients_both_survive() {
    let (app, setup) = app_and_setup().await;
    let result = run(&setup, "concurrent", (ALICE, BRUNO), ("alice", "bruno")).await;
    let id = result["id"].as_str().unwrap();
    assert_eq!(result["bodyA"], result["bodyB"]);
    app.read_models_caught_up().await;
    let json = app.get_json(&format!("/annotations/{id}")).await;
    let body = json["body"][0]["value"].as_str().unwrap();
    assert!(body.contains("AAA") && body.contains("BBB"), "{body}");
    assert_eq!(Some(body), result["bodyA"].as_str());
}

#[tokio::test]
async fn a_missing_document_is_unavailable_not_a_hang() {
    let (_app, setup) = app_and_setup().await;
    let result = run(&setup, "unavailable", (ALICE, BRUNO), ("alice", "bruno")).await;
    assert_eq!(result["unavailable"], true);
}

#[tokio::test]
async fn a_js_viewer_reads_but_cannot_write() {
    let (app, setup) = app_and_setup().await;
    let head = app.log_head();
    let result = run(&setup, "viewer", (VICTOR, BRUNO), ("victor", "bruno")).await;
    assert!(result["read"].as_u64().unwrap() > 0);
    assert_eq!(result["applied"], false);
    assert_eq!(
        result["error"],
        "this token is read-only (viewer): your changes were not applied"
    );
    assert_eq!(app.log_head(), head, "a viewer's changes write nothing");
}

#[tokio::test]
async fn presence_is_relayed_and_never_logged() {
    let (app, setup) = app_and_setup().await;
    let head = app.log_head();
    let result = run(&setup, "presence", (ALICE, BRUNO), ("alice", "bruno")).await;
    assert_eq!(result["received"]["user"], "alice");
    // Whatever a stored presence would be called, it would move the log's head.
    assert_eq!(app.log_head(), head, "relaying presence wrote to the log");
}

#[tokio::test]
async fn invalid_js_changes_are_compensated_and_clients_converge() {
    let (app, setup) = app_and_setup().await;
    let result = run(&setup, "invalid", (ALICE, BRUNO), ("alice", "bruno")).await;
    assert_eq!(result["removed"], true);
    let id = result["id"].as_str().unwrap();
    assert!(app
        .events()
        .iter()
        .any(|e| e.event_type == "change.rejected" && e.data["key"] == id));
}

/// One client types in a note while another makes an invalid change to the verdict: the
/// compensation puts back the verdict alone, and the typing survives everywhere.
#[tokio::test]
async fn typing_in_a_note_survives_the_compensation_of_another_clients_invalid_verdict() {
    let (app, setup) = app_and_setup().await;
    let result = run(
        &setup,
        "typing-survives-compensation",
        (ALICE, BRUNO),
        ("alice", "bruno"),
    )
    .await;
    let id = result["id"].as_str().unwrap();
    // The typing reached B only after the compensation: it was concurrent with it.
    assert_eq!(result["bodyOnBAfterCompensation"], "base");
    let rejected: Vec<_> = app
        .events()
        .into_iter()
        .filter(|e| e.event_type == "change.rejected" && e.data["key"] == id)
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].data["user"], "bruno");
    assert_eq!(rejected[0].data["restored"], serde_json::json!(["verdict"]));
    // The read models follow the log; wait until they have read all of it.
    app.read_models_caught_up().await;
    let json = app.get_json(&format!("/annotations/{id}")).await;
    assert!(json.to_string().contains("base and typed"), "{json}");
    let article = glossa::domain::ArticleId::parse(ARTICLE).unwrap();
    let state = app.desk.documents().inspect(&article).await.unwrap();
    let on_server = state
        .annotations
        .iter()
        .find(|a| a.id.as_str() == id)
        .unwrap();
    assert_eq!(on_server.body, "base and typed");
    assert_eq!(on_server.verdict.map(|v| v.as_str()), Some("false"));
}

#[tokio::test]
async fn garbage_on_one_socket_leaves_the_others_syncing() {
    let (app, setup) = app_and_setup().await;
    let head = app.log_head();
    let result = run(
        &setup,
        "garbage-resilience",
        (ALICE, BRUNO),
        ("alice", "bruno"),
    )
    .await;
    assert_eq!(result["synced"], true);
    for case in result["garbage"].as_array().unwrap() {
        assert_eq!(case["gotError"], true, "{case}");
        assert_eq!(case["closedByServer"], true, "{case}");
    }
    // Only the good client's annotation was written.
    let written: Vec<_> = app.events().into_iter().filter(|e| e.seq > head).collect();
    assert!(written.iter().all(|e| e.actor.as_str() == "alice"));
}

#[tokio::test]
async fn clients_reconnect_after_a_restart_and_offline_edits_merge() {
    let store = TestStore::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let start = |store: &TestStore| Server::start_with_addr(store, &addr);
    let server = start(&store);
    let setup = setup(&server.base, &server.client).await;
    let mut command = scenario(&setup, "offline", (ALICE, BRUNO), ("alice", "bruno"));
    let mut child: Child = command.spawn().expect("node runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let restart = tokio::task::spawn_blocking(move || {
        let seen = lines.by_ref().any(|line| line.trim() == "RESTART");
        (seen, lines)
    });
    let (seen, lines) = restart.await.unwrap();
    assert!(seen, "the scenario asked for a restart");
    server.kill();
    let server = start(&store);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "up").unwrap();
    drop(stdin);
    let (status, rest) = tokio::task::spawn_blocking(move || {
        let rest: Vec<String> = lines.collect();
        (child.wait().unwrap(), rest.join("\n"))
    })
    .await
    .unwrap();
    assert!(status.success(), "offline scenario failed: {rest}");
    let result = last_json(&rest);
    let id = result["id"].as_str().unwrap();
    let json = server.json(&format!("/annotations/{id}")).await;
    assert_eq!(json["body"][0]["value"], result["body"]);
    server.kill();
}

#[tokio::test]
async fn a_peer_that_answers_no_pings_is_disconnected() {
    let (_app, setup) = app_and_setup().await;
    let result = run(&setup, "dead-peer", (ALICE, BRUNO), ("alice", "bruno")).await;
    assert_eq!(result["closedByServer"], true);
    assert_eq!(result["code"], 1008, "{result}");
    assert_eq!(result["reason"], "no pong within 2000 ms");
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_refused_before_the_upgrade() {
    let (app, _setup) = app_and_setup().await;
    let upgrade = |url: String| {
        app.client
            .get(url)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
    };
    assert_eq!(upgrade(app.url("/sync")).await.unwrap().status(), 401);
    assert_eq!(
        upgrade(app.url("/sync?token=forged"))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        upgrade(app.url("/sync?token=demo-victor-token"))
            .await
            .unwrap()
            .status(),
        101
    );
}

#[tokio::test]
async fn sync_connections_per_user_are_limited() {
    let (app, _setup) = app_and_setup().await;
    let upgrade = |token: &'static str| {
        reqwest::Client::new()
            .get(app.url(&format!("/sync?token={token}")))
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
    };
    // The test configuration allows 8 per user; hold them open.
    let mut open = Vec::new();
    for _ in 0..8 {
        let response = upgrade("demo-bruno-token").await.unwrap();
        assert_eq!(response.status(), 101);
        open.push(response.upgrade().await.unwrap());
    }
    let refused = upgrade("demo-bruno-token").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(crate::helpers::detail(refused)
        .await
        .contains("sync connections"));
    // Another user is not affected.
    assert_eq!(upgrade("demo-alice-token").await.unwrap().status(), 101);
}
