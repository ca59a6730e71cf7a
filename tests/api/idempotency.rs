//! Retries are safe: a POST sent again with its `Idempotency-Key` is answered again and writes
//! nothing; the key of another request is refused. Keys outlive a killed server.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::crash::Server;
use crate::helpers::{
    detail, id_of, spawn_app, TestApp, TestStore, ALICE, ARTICLE, BRUNO, CHIARA, JSONLD,
};

/// A comment on a passage of the first seed article.
fn comment(text: &str) -> Value {
    json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": text,
        "target": {
            "source": format!("/articles/{ARTICLE}"),
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    })
}

async fn post_keyed(app: &TestApp, path: &str, body: &Value, key: &str, token: &str) -> Response {
    app.request(Method::POST, path, Some(token))
        .header("Content-Type", JSONLD)
        .header("Idempotency-Key", key)
        .body(body.to_string())
        .send()
        .await
        .expect("POST")
}

fn location(response: &Response) -> Option<String> {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// How many annotations the desk has, from the log (deleted ones included).
fn annotations_created(app: &TestApp) -> usize {
    app.events()
        .iter()
        .filter(|e| e.event_type == "annotation.created")
        .count()
}

#[tokio::test]
async fn a_retried_post_creates_one_annotation_and_answers_the_same() {
    let app = spawn_app().await;
    let created = annotations_created(&app);
    // A request refused the first time writes nothing, so its key is still free for the
    // corrected request.
    let mut broken = comment("once");
    broken["target"]["selector"]["exact"] = "no such passage anywhere".into();
    let refused = post_keyed(&app, "/annotations/", &broken, "\"k-1\"", ALICE).await;
    assert_eq!(refused.status(), 422);
    let first = post_keyed(&app, "/annotations/", &comment("once"), "\"k-1\"", ALICE).await;
    assert_eq!(first.status(), 201);
    let original = location(&first).expect("a Location");
    let head = app.log_head();

    // The client timed out and sends the same request again, the key bare this time.
    let retry = post_keyed(&app, "/annotations/", &comment("once"), "k-1", ALICE).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(location(&retry).as_deref(), Some(original.as_str()));
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let body: Value = retry.json().await.unwrap();
    assert_eq!(body["id"], original.as_str());
    assert_eq!(app.log_head(), head, "the retry wrote nothing");
    assert_eq!(annotations_created(&app), created + 1);

    // The same key with another body is another request: refused, nothing written.
    let reused = post_keyed(&app, "/annotations/", &comment("twice"), "k-1", ALICE).await;
    assert_eq!(reused.status(), 422);
    let message = detail(reused).await;
    assert!(
        message.contains("k-1") && message.contains("another body"),
        "{message}"
    );
    assert_eq!(app.log_head(), head);

    // A key is its user's own: the same key from someone else is a new request.
    let bruno = post_keyed(&app, "/annotations/", &comment("once"), "k-1", BRUNO).await;
    assert_eq!(bruno.status(), 201);
    assert_ne!(location(&bruno).as_deref(), Some(original.as_str()));
    assert_eq!(annotations_created(&app), created + 2);

    // Each keyed write left one receipt in the feed, which names no key.
    let feed = app.get_json("/api/events?type=request.recorded").await;
    let receipts = feed["events"].as_array().unwrap();
    assert_eq!(receipts.len(), 2, "{feed}");
    assert_eq!(receipts[0]["actor"], "alice");
    assert_eq!(receipts[0]["data"]["path"], "/annotations/");
    assert!(!receipts[0].to_string().contains("k-1"));
}

/// One POST of each kind that writes: a path, a first body, and another body.
struct Case {
    path: String,
    body: Value,
    other: Value,
    status: u16,
    located: bool,
}

#[tokio::test]
async fn every_post_that_writes_honours_the_key() {
    let app = spawn_app().await;
    let made = app
        .post_json("/annotations/", &comment("subject"), ALICE)
        .await;
    assert_eq!(made.status(), 201);
    let id = id_of(&made);
    let case = |path: String, body: Value, other: Value, status: u16, located: bool| Case {
        path,
        body,
        other,
        status,
        located,
    };
    let cases = [
        case(
            "/annotations/".into(),
            comment("a"),
            comment("b"),
            201,
            true,
        ),
        case(
            format!("/articles/{ARTICLE}/annotations/"),
            comment("a"),
            comment("b"),
            201,
            true,
        ),
        case(
            format!("/api/annotations/{id}/status"),
            json!({"status": "in_review"}),
            json!({"status": "rejected"}),
            200,
            false,
        ),
        case(
            format!("/api/annotations/{id}/assignee"),
            json!({"assignee": "bruno"}),
            json!({"assignee": "chiara"}),
            200,
            false,
        ),
        case(
            format!("/api/annotations/{id}/replies"),
            json!({"text": "Agreed."}),
            json!({"text": "Disagreed."}),
            201,
            true,
        ),
        case(
            format!("/api/annotations/{id}/anchor"),
            json!({"start": 0, "end": 10}),
            json!({"start": 0, "end": 12}),
            200,
            false,
        ),
        case(
            "/api/articles".into(),
            json!({"id": "ceasefire-talks", "text": "Talks resumed on Monday."}),
            json!({"id": "ceasefire-talks", "text": "Talks resumed on Tuesday."}),
            201,
            true,
        ),
        case(
            format!("/api/articles/{ARTICLE}/versions"),
            json!({"text": format!("{}\nA line added.", app.article_text(ARTICLE).await)}),
            json!({"text": "Something else entirely."}),
            201,
            true,
        ),
        case(
            "/api/claims".into(),
            json!({"id": "talks-resumed", "text": "Talks resumed on Monday."}),
            json!({"id": "talks-resumed", "text": "Talks resumed on Friday."}),
            201,
            true,
        ),
        case(
            "/api/claims/talks-resumed/annotations".into(),
            json!({"annotation": id}),
            json!({"annotation": "seed-003-no-problem"}),
            200,
            false,
        ),
        case(
            "/api/users".into(),
            json!({"name": "dana", "role": "editor"}),
            json!({"name": "dana", "role": "viewer"}),
            201,
            true,
        ),
        // No body is expected, but one sent is part of the request.
        case(
            "/api/users/dana/tokens".into(),
            json!({}),
            json!({"for": "another laptop"}),
            201,
            true,
        ),
    ];
    for (n, case) in cases.iter().enumerate() {
        let key = format!("route-{n}");
        let path = &case.path;
        // The desk chief: an admin, who may make every one of these requests.
        let first = post_keyed(&app, path, &case.body, &key, CHIARA).await;
        assert_eq!(
            first.status(),
            case.status,
            "{path}: {:?}",
            first.text().await
        );
        assert_eq!(location(&first).is_some(), case.located, "{path}");
        let original = location(&first);
        let head = app.log_head();
        let receipts = app
            .events()
            .into_iter()
            .filter(|e| e.event_type == "request.recorded" && e.data["path"] == path.as_str())
            .count();
        assert_eq!(receipts, 1, "{path}: the write logged its receipt");

        let retry = post_keyed(&app, path, &case.body, &key, CHIARA).await;
        assert_eq!(retry.status(), case.status, "{path}: the retry");
        assert_eq!(location(&retry), original, "{path}: the retry's Location");
        assert_eq!(retry.headers()["idempotent-replayed"], "true", "{path}");
        assert_eq!(app.log_head(), head, "{path}: the retry wrote nothing");

        let reused = post_keyed(&app, path, &case.other, &key, CHIARA).await;
        assert_eq!(reused.status(), 422, "{path}: {:?}", reused.text().await);
        assert_eq!(app.log_head(), head, "{path}: the reused key wrote nothing");
    }
    // A key sent to another route is another request too.
    let elsewhere = post_keyed(&app, "/api/claims", &cases[0].body, "route-0", CHIARA).await;
    assert_eq!(elsewhere.status(), 422);
    assert!(detail(elsewhere).await.contains("POST /annotations/"));
}

#[tokio::test]
async fn malformed_keys_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let head = app.log_head();
    let long = "k".repeat(256);
    for (key, message) in [
        ("", "empty"),
        ("\"\"", "empty"),
        ("\"unterminated", "closing quote"),
        ("two words", "quote it"),
        ("\"k\"; expires=1", "after its closing quote"),
        (long.as_str(), "over 255"),
    ] {
        let response = post_keyed(&app, "/annotations/", &comment("a"), key, ALICE).await;
        assert_eq!(response.status(), 400, "{key:?}");
        let text = detail(response).await;
        assert!(text.contains(message), "{key:?}: {text}");
    }
    let twice = app
        .request(Method::POST, "/annotations/", Some(ALICE))
        .header("Content-Type", JSONLD)
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .body(comment("a").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    assert_eq!(app.log_head(), head);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_write_once() {
    let app = spawn_app().await;
    let created = annotations_created(&app);
    let body = comment("at the same moment");
    let sends = (0..8).map(|_| post_keyed(&app, "/annotations/", &body, "together", ALICE));
    let answers = futures_util::future::join_all(sends).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    // Each is either the write, its replay, or told that the key is still in use.
    assert!(
        statuses.iter().all(|s| [201, 409].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "{statuses:?}");
    let locations: std::collections::BTreeSet<String> =
        answers.iter().filter_map(location).collect();
    assert_eq!(locations.len(), 1, "{locations:?}");
    assert_eq!(annotations_created(&app), created + 1);
}

#[tokio::test]
async fn keys_outlive_a_killed_server() {
    let store = TestStore::new();
    // A fixed public URL keeps IRIs equal across restarts on different ports.
    let args = ["--public-url", "http://glossa.test"];
    let post = |server: &Server, body: Value| {
        server
            .client
            .post(format!("{}/annotations/", server.base))
            .bearer_auth(ALICE)
            .header("Content-Type", JSONLD)
            .header("Idempotency-Key", "\"survives\"")
            .body(body.to_string())
            .send()
    };
    let server = Server::start_with(&store, &args);
    let first = post(&server, comment("durable")).await.unwrap();
    assert_eq!(first.status(), 201);
    let original = location(&first);
    let head = server.json("/api/events?limit=1").await["head"].clone();
    assert!(head.as_u64().is_some_and(|h| h > 0), "{head}");
    server.kill();

    let server = Server::start_with(&store, &args);
    let retry = post(&server, comment("durable")).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(location(&retry), original);
    assert_eq!(server.json("/api/events?limit=1").await["head"], head);
    let reused = post(&server, comment("changed")).await.unwrap();
    assert_eq!(reused.status(), 422);
    assert_eq!(server.json("/api/events?limit=1").await["head"], head);
    server.kill();
}

/// A keyed POST by the desk chief (an admin) to a server process.
async fn admin_post(server: &Server, path: &str, key: &str, body: &Value) -> Response {
    server
        .client
        .post(format!("{}{path}", server.base))
        .bearer_auth(CHIARA)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", key)
        .body(body.to_string())
        .send()
        .await
        .expect("POST")
}

/// What the first user creation and token issue answered.
struct Issued {
    user_at: Option<String>,
    token_at: Option<String>,
    secret: String,
    head: Value,
}

/// Retries both requests: the same answers but the secret, no second token, nothing written;
/// their keys with other requests are refused.
async fn retry_user_and_token(server: &Server, issued: &Issued) {
    let dana = json!({"name": "dana", "role": "editor"});
    let user = admin_post(server, "/api/users", "new-user", &dana).await;
    assert_eq!(user.status(), 201);
    assert_eq!(location(&user), issued.user_at);
    assert_eq!(user.headers()["idempotent-replayed"], "true");
    assert_eq!(user.json::<Value>().await.unwrap()["name"], "dana");

    let again = admin_post(server, "/api/users/dana/tokens", "new-token", &json!({})).await;
    assert_eq!(again.status(), 201);
    assert_eq!(location(&again), issued.token_at);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["cache-control"], "no-store");
    let text = again.text().await.unwrap();
    assert!(!text.contains(&issued.secret), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(body["token"].is_null(), "{body}");
    let note = body["note"].as_str().expect("a note on the secret");
    assert!(
        note.contains("only in the first answer") && note.contains("revoke"),
        "{note}"
    );
    let listing: Value = server
        .client
        .get(format!("{}/api/tokens?user=dana", server.base))
        .bearer_auth(CHIARA)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["tokens"].as_array().unwrap().len(), 1, "{listing}");

    let viewer = json!({"name": "dana", "role": "viewer"});
    let reused = admin_post(server, "/api/users", "new-user", &viewer).await;
    assert_eq!(reused.status(), 422);
    let reused = admin_post(server, "/api/users/dana/tokens", "new-token", &json!(null)).await;
    assert_eq!(reused.status(), 422);
    assert_eq!(
        server.json("/api/events?limit=1").await["head"],
        issued.head
    );
}

#[tokio::test]
async fn a_retried_token_issue_issues_no_second_token_and_never_shows_the_secret_again() {
    let store = TestStore::new();
    let args = ["--public-url", "http://glossa.test"];
    let server = Server::start_with(&store, &args);
    let dana = json!({"name": "dana", "role": "editor"});
    let user = admin_post(&server, "/api/users", "new-user", &dana).await;
    assert_eq!(user.status(), 201);
    let token = admin_post(&server, "/api/users/dana/tokens", "new-token", &json!({})).await;
    assert_eq!(token.status(), 201);
    let token_at = location(&token);
    let body: Value = token.json().await.unwrap();
    let issued = Issued {
        user_at: location(&user),
        token_at,
        secret: body["token"]
            .as_str()
            .expect("the secret, this once")
            .into(),
        head: server.json("/api/events?limit=1").await["head"].clone(),
    };
    assert_eq!(
        issued.token_at.as_deref(),
        Some(
            format!(
                "http://glossa.test/api/tokens/{}",
                body["id"].as_str().unwrap()
            )
            .as_str()
        )
    );

    retry_user_and_token(&server, &issued).await;
    // Keys outlive the server.
    server.kill();
    let server = Server::start_with(&store, &args);
    retry_user_and_token(&server, &issued).await;
    // The retries left the token working.
    let me = server
        .client
        .get(format!("{}/api/me", server.base))
        .bearer_auth(&issued.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    server.kill();
}
