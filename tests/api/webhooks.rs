//! Webhooks against a local receiver that fails, times out and recovers: every event the
//! filter keeps is delivered at least once and in log order, signatures verify, a paused
//! subscription resumes from its cursor, and nothing is delivered that the filter excludes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::helpers::{
    id_of, spawn_app, spawn_app_from, spawn_app_with, TestApp, TestStore, ALICE, ARTICLE, CHIARA,
};

/// Another seed article, whose events a filter on [`ARTICLE`] excludes.
const OTHER: &str = "macron-align-europe-trump";
/// Long enough for a loaded machine; a test that waits this long has failed.
const PATIENCE: Duration = Duration::from_secs(60);

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Status(u16),
    /// Never answers: the sender's timeout ends it.
    Hang,
    /// Answers 200 once the test opens the receiver's gate.
    Held,
}

/// One request the receiver got, and how it answered.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    answer: Answer,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn seq(&self) -> u64 {
        self.json()["data"]["seq"].as_u64().expect("data.seq")
    }

    fn ok(&self) -> bool {
        matches!(self.answer, Answer::Status(s) if (200..300).contains(&s))
            || self.answer == Answer::Held
    }
}

#[derive(Default)]
struct Script {
    /// Answers to give next, per path; then `usual`.
    next: HashMap<String, VecDeque<Answer>>,
    usual: HashMap<String, Answer>,
}

/// A webhook receiver on a free local port.
struct Receiver {
    base: String,
    script: Arc<Mutex<Script>>,
    gate: Arc<tokio::sync::Notify>,
    got: mpsc::UnboundedReceiver<Received>,
    seen: Vec<Received>,
}

impl Receiver {
    async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let gate = Arc::new(tokio::sync::Notify::new());
        let (tx, got) = mpsc::unbounded_channel();
        let (s, t, g) = (script.clone(), tx, gate.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            let (script, tx, gate) = (s.clone(), t.clone(), g.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (script, tx, gate) = (script.clone(), tx.clone(), gate.clone());
                async move {
                    let path = req.path().to_owned();
                    let answer = {
                        let mut script = script.lock().unwrap();
                        let next = script.next.get_mut(&path).and_then(VecDeque::pop_front);
                        next.or_else(|| script.usual.get(&path).copied())
                            .unwrap_or(Answer::Status(200))
                    };
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                        .collect();
                    let _ = tx.send(Received {
                        path,
                        headers,
                        body: body.to_vec(),
                        answer,
                    });
                    match answer {
                        Answer::Status(s) => {
                            HttpResponse::build(actix_web::http::StatusCode::from_u16(s).unwrap())
                                .finish()
                        }
                        Answer::Hang => std::future::pending().await,
                        Answer::Held => {
                            gate.notified().await;
                            HttpResponse::Ok().finish()
                        }
                    }
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .disable_signals()
        .run();
        tokio::spawn(server);
        Self {
            base,
            script,
            gate,
            got,
            seen: Vec::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn answer_next(&self, path: &str, answers: &[Answer]) {
        let mut script = self.script.lock().unwrap();
        script
            .next
            .entry(path.to_owned())
            .or_default()
            .extend(answers.iter().copied());
    }

    fn answer_always(&self, path: &str, answer: Answer) {
        self.script
            .lock()
            .unwrap()
            .usual
            .insert(path.to_owned(), answer);
    }

    /// Waits until `done` holds for what `path` received, and answers those requests.
    async fn wait_for(&mut self, path: &str, done: impl Fn(&[&Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let mine: Vec<&Received> = self.seen.iter().filter(|r| r.path == path).collect();
            if done(&mine) {
                return mine.into_iter().cloned().collect();
            }
            match tokio::time::timeout_at(deadline, self.got.recv()).await {
                Ok(Some(received)) => self.seen.push(received),
                _ => panic!(
                    "{path} did not get what the test waits for; it got {:?}",
                    mine.iter().map(|r| (r.seq(), r.answer)).collect::<Vec<_>>()
                ),
            }
        }
    }
}

/// The sequence numbers first delivered successfully, in the order they were.
fn delivered(received: &[Received]) -> Vec<u64> {
    let mut seqs = Vec::new();
    for r in received.iter().filter(|r| r.ok()) {
        if !seqs.contains(&r.seq()) {
            seqs.push(r.seq());
        }
    }
    seqs
}

/// Checks the Standard Webhooks signature of a request, with its own HMAC.
fn verify(secret: &str, received: &Received) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let id = &received.headers["webhook-id"];
    let timestamp = &received.headers["webhook-timestamp"];
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&received.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    let signatures: Vec<&str> = received.headers["webhook-signature"].split(' ').collect();
    assert!(
        signatures.contains(&expected.as_str()),
        "the signature {signatures:?} is not {expected}"
    );
    let sent: i64 = timestamp.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - sent).abs() < 600);
}

async fn comment(app: &TestApp, article: &str, exact: &str) -> (String, u64) {
    let body = json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "Worth a second look.",
        "target": {
            "source": format!("/articles/{article}"),
            "selector": {"type": "TextQuoteSelector", "exact": exact}
        }
    });
    let response = app.post_annotation("/annotations/", &body, ALICE).await;
    assert_eq!(response.status(), 201);
    let id = id_of(&response);
    let seq = seq_of(app, "annotation.created", &id);
    (id, seq)
}

/// Where the last event of `event_type` about annotation `id` is in the log.
fn seq_of(app: &TestApp, event_type: &str, id: &str) -> u64 {
    app.events()
        .iter()
        .rev()
        .find(|e| e.event_type == event_type && e.data.to_string().contains(id))
        .unwrap_or_else(|| panic!("no {event_type} about {id}"))
        .seq
}

async fn subscribe(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/api/webhooks", &body, CHIARA).await;
    assert_eq!(response.status(), 201, "{body}");
    response.json().await.unwrap()
}

async fn subscription(app: &TestApp, id: &str) -> Value {
    app.json_as(Method::GET, &format!("/api/webhooks/{id}"), Some(CHIARA))
        .await
}

/// Waits until the subscription, as the API shows it, is as `done` says.
async fn wait_until(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = subscription(app, id).await;
        if done(&now) {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} never got there: {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn quick(settings: &mut glossa::config::Settings) {
    settings.limits.webhooks = glossa::webhooks::Policy {
        timeout: Duration::from_millis(500),
        first_retry: Duration::from_millis(50),
        growth: 2,
        longest: Duration::from_millis(200),
        attempts: 3,
        lease: Duration::from_secs(3),
    };
}

#[tokio::test]
async fn deliveries_survive_failures_and_timeouts_in_order_signed_and_filtered() {
    let app = spawn_app_with(quick).await;
    let mut receiver = Receiver::start().await;
    let created = subscribe(
        &app,
        json!({
            "url": receiver.url("/hook"),
            "types": ["annotation.created", "annotation.status_changed"],
            "articles": [ARTICLE],
        }),
    )
    .await;
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    );
    assert_eq!(created["status"], "active");
    // The first event fails once, then the receiver does not answer in time, then takes it.
    receiver.answer_next("/hook", &[Answer::Status(500), Answer::Hang]);
    let (first, first_seq) = comment(&app, ARTICLE, "26 nations have pledged").await;
    let (_, other_seq) = comment(&app, OTHER, "Align Europe").await;
    let (_, second_seq) = comment(&app, ARTICLE, "26 nations have pledged").await;
    let status = app
        .post_json(
            &format!("/api/annotations/{first}/status"),
            &json!({"status": "in_review"}),
            ALICE,
        )
        .await;
    assert_eq!(status.status(), 200);
    let status_seq = seq_of(&app, "annotation.status_changed", &first);

    let got = receiver
        .wait_for("/hook", |r| r.iter().filter(|r| r.ok()).count() >= 3)
        .await;
    assert_eq!(delivered(&got), vec![first_seq, second_seq, status_seq]);
    assert!(
        !got.iter().any(|r| r.seq() == other_seq),
        "the other article's event was sent"
    );
    let answers: Vec<Answer> = got.iter().map(|r| r.answer).collect();
    assert_eq!(
        answers[..3],
        [Answer::Status(500), Answer::Hang, Answer::Status(200)]
    );
    // Retries carry the same message id; each delivery is signed; the body is the feed's event.
    let ids: Vec<&String> = got[..3].iter().map(|r| &r.headers["webhook-id"]).collect();
    assert!(ids.iter().all(|i| *i == ids[0]));
    assert_ne!(got[3].headers["webhook-id"], *ids[0]);
    for r in &got {
        verify(&secret, r);
        assert_eq!(r.json()["type"], r.json()["data"]["type"]);
        assert_eq!(r.json()["data"]["article"], ARTICLE);
    }
    assert_eq!(got[3].json()["type"], "annotation.created");
    assert_eq!(
        got.last().unwrap().json()["type"],
        "annotation.status_changed"
    );

    // The delivery log has the failures, with what went wrong, newest first.
    let log = app
        .json_as(
            Method::GET,
            &format!("/api/webhooks/{id}/deliveries"),
            Some(CHIARA),
        )
        .await;
    let items = log["items"].as_array().unwrap();
    let of_first: Vec<&Value> = items.iter().filter(|a| a["seq"] == first_seq).collect();
    assert_eq!(of_first.len(), 3, "{log}");
    assert_eq!(of_first[2]["status"], 500);
    assert_eq!(of_first[2]["attempt"], 1);
    assert!(
        of_first[1]["error"].as_str().unwrap().contains("no answer"),
        "{log}"
    );
    assert_eq!(of_first[0]["ok"], true);

    // A receiver that keeps failing pauses the subscription at the event it could not take.
    receiver.answer_always("/hook", Answer::Status(503));
    let (_, stuck_seq) = comment(&app, ARTICLE, "26 nations have pledged").await;
    let paused = wait_until(&app, &id, |s| s["status"] == "paused").await;
    assert_eq!(paused["paused"]["seq"], stuck_seq, "{paused}");
    assert!(paused["paused"]["reason"]
        .as_str()
        .unwrap()
        .contains("3 attempts"));
    let (_, later_seq) = comment(&app, ARTICLE, "26 nations have pledged").await;
    // Resumed, it starts again from the event it stopped at, and goes on in order.
    receiver.answer_always("/hook", Answer::Status(204));
    let resumed = app
        .post_json(&format!("/api/webhooks/{id}/resume"), &json!({}), CHIARA)
        .await;
    assert_eq!(resumed.status(), 200);
    let got = receiver
        .wait_for("/hook", |r| {
            r.iter().any(|r| r.ok() && r.seq() == later_seq)
        })
        .await;
    assert_eq!(
        delivered(&got),
        vec![first_seq, second_seq, status_seq, stuck_seq, later_seq]
    );
    let failures = got
        .iter()
        .filter(|r| r.seq() == stuck_seq && !r.ok())
        .count();
    assert_eq!(failures, 3);
    // The cursor moves once the receiver has answered (and past events the filter skips).
    let now = wait_until(&app, &id, |s| s["cursor"].as_u64() >= Some(later_seq)).await;
    assert_eq!(now["status"], "active");
    assert!(now.get("secret").is_none_or(Value::is_null), "{now}");

    // Unsubscribed, it gets nothing more: a second subscription shows the event went out.
    let gone = app
        .request(Method::DELETE, &format!("/api/webhooks/{id}"), Some(CHIARA))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    subscribe(&app, json!({"url": receiver.url("/all")})).await;
    // A subscription's own events come after it, and are not delivered.
    let third = subscribe(&app, json!({"url": receiver.url("/third")})).await;
    let gone = app
        .request(
            Method::DELETE,
            &format!("/api/webhooks/{}", third["id"].as_str().unwrap()),
            Some(CHIARA),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    let (_, last_seq) = comment(&app, ARTICLE, "26 nations have pledged").await;
    let all = receiver
        .wait_for("/all", |r| r.iter().any(|r| r.seq() == last_seq))
        .await;
    assert!(all.iter().all(|r| r.seq() > later_seq));
    let hook: Vec<&Received> = receiver.seen.iter().filter(|r| r.path == "/hook").collect();
    assert!(hook.iter().all(|r| r.seq() <= later_seq));
    // The catch-all subscription gets every domain event, but never a subscription's own.
    assert!(receiver
        .seen
        .iter()
        .all(|r| !r.json()["type"].as_str().unwrap().starts_with("webhook.")));
}

#[tokio::test]
async fn subscriptions_are_for_admins_checked_and_their_secret_is_shown_once() {
    let app = spawn_app().await;
    let before = app.log_head();
    let refused = |status: u16, body: Value, token: &'static str| {
        let app = &app;
        async move {
            let response = app.post_json("/api/webhooks", &body, token).await;
            assert_eq!(response.status(), status, "{body}");
            response.text().await.unwrap()
        }
    };
    refused(403, json!({"url": "http://127.0.0.1:9/x"}), ALICE).await;
    let bad = [
        (json!({"url": "ftp://127.0.0.1/x"}), "http://"),
        (json!({"url": "not an address"}), "absolute"),
        (
            json!({"url": "http://127.0.0.1:9/x", "types": ["annotation.made"]}),
            "annotation.created",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "articles": ["No Such/Slug"]}),
            "articles",
        ),
    ];
    for (body, says) in bad {
        let text = refused(422, body, CHIARA).await;
        assert!(text.contains(says), "{text}");
    }
    refused(
        400,
        json!({"url": "http://127.0.0.1:9/x", "filter": 1}),
        CHIARA,
    )
    .await;
    assert_eq!(
        app.log_head(),
        before,
        "a refused subscription wrote something"
    );
    let missing = app
        .json_as(
            Method::GET,
            "/api/webhooks/00000000-0000-0000-0000-000000000000",
            Some(CHIARA),
        )
        .await;
    assert!(
        missing["detail"].as_str().unwrap().contains("no webhook"),
        "{missing}"
    );

    // Created with a key: the secret is in the 201, and nowhere after.
    let body = json!({"url": "http://127.0.0.1:9/hook", "description": "newsletter"});
    let send = || {
        app.request(Method::POST, "/api/webhooks", Some(CHIARA))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", "webhook-1")
            .body(body.to_string())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    let secret = first["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert!(again["secret"].is_null());
    let listed = app
        .json_as(Method::GET, "/api/webhooks", Some(CHIARA))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["description"], "newsletter");
    let feed = app
        .json_as(
            Method::GET,
            "/api/events?type=webhook.subscribed",
            Some(CHIARA),
        )
        .await;
    assert_eq!(
        feed["events"][0]["data"]["description"], "newsletter",
        "{feed}"
    );
    let feed = feed.to_string();
    assert!(
        !feed.contains("127.0.0.1:9/hook"),
        "the feed shows the address: {feed}"
    );
    assert!(!feed.contains(&secret), "the feed shows the secret");
    for path in [
        "/api/webhooks",
        &format!("/api/webhooks/{}", first["id"].as_str().unwrap()),
    ] {
        let viewer = app
            .request(Method::GET, path, Some(ALICE))
            .send()
            .await
            .unwrap();
        assert_eq!(viewer.status(), 403);
    }
}

#[tokio::test]
async fn on_several_replicas_each_event_is_delivered_once_in_order() {
    if !crate::backend::on_postgres() {
        eprintln!("skipped: several replicas need the PostgreSQL backend");
        return;
    }
    let desk = TestStore::new();
    let other_dir = desk.with_new_data_dir();
    let quickly = |store: &TestStore| {
        let mut settings = store.settings();
        quick(&mut settings);
        settings
    };
    let one = spawn_app_from(quickly(&desk)).await;
    let other = spawn_app_from(quickly(&other_dir)).await;
    let mut receiver = Receiver::start().await;
    // Subscribed on one replica, delivered by whichever holds it, for events written on both.
    subscribe(
        &one,
        json!({"url": receiver.url("/hook"), "types": ["annotation.created"]}),
    )
    .await;
    let mut written = Vec::new();
    for n in 0..6 {
        let app = if n % 2 == 0 { &one } else { &other };
        written.push(comment(app, ARTICLE, "26 nations have pledged").await.1);
    }
    let last = *written.iter().max().unwrap();
    let got = receiver
        .wait_for("/hook", |r| r.iter().any(|r| r.seq() == last))
        .await;
    let mut seqs: Vec<u64> = got.iter().map(Received::seq).collect();
    assert_eq!(
        seqs,
        delivered(&got),
        "an event was delivered twice: {seqs:?}"
    );
    seqs.sort();
    assert_eq!(seqs, delivered(&got), "out of log order");
    let mut expected = written.clone();
    expected.sort();
    assert_eq!(seqs, expected);
}

/// The lease: while one process holds a subscription another cannot claim it; once the holder
/// stops renewing, another takes it over from the cursor, and the old holder can no longer
/// move the cursor.
#[test]
fn a_subscription_is_delivered_by_one_holder_at_a_time() {
    let desk = TestStore::new();
    let other_dir = desk.with_new_data_dir();
    crate::backend::blocking(async move {
        let one = glossa::store::Store::open_at(&desk.location()).unwrap();
        // On sled one process owns the directory: both holders are in it.
        let other = if crate::backend::on_postgres() {
            glossa::store::Store::open_at(&other_dir.location()).unwrap()
        } else {
            one.clone()
        };
        let (subscription, a, b) = (
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        );
        let lease = Duration::from_millis(300);
        assert_eq!(
            one.webhooks.claim(subscription, a, 7, lease).await.unwrap(),
            Some(7)
        );
        assert_eq!(
            other
                .webhooks
                .claim(subscription, b, 7, lease)
                .await
                .unwrap(),
            None
        );
        assert!(one
            .webhooks
            .advance(subscription, a, 9, lease)
            .await
            .unwrap());
        assert!(!other
            .webhooks
            .advance(subscription, b, 12, lease)
            .await
            .unwrap());
        // The cursor never moves back.
        assert!(one
            .webhooks
            .advance(subscription, a, 8, lease)
            .await
            .unwrap());
        assert_eq!(one.webhooks.cursor(subscription).await.unwrap(), Some(9));
        if crate::backend::on_postgres() {
            // `a` stops renewing: after the lease, `b` takes over where `a` got to.
            let deadline = std::time::Instant::now() + PATIENCE;
            let taken = loop {
                if let Some(cursor) = other
                    .webhooks
                    .claim(subscription, b, 7, lease)
                    .await
                    .unwrap()
                {
                    break cursor;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the lease never ran out"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_eq!(taken, 9);
        } else {
            one.webhooks.release(subscription, a).await.unwrap();
            assert_eq!(
                other
                    .webhooks
                    .claim(subscription, b, 7, lease)
                    .await
                    .unwrap(),
                Some(9)
            );
        }
        assert!(!one
            .webhooks
            .advance(subscription, a, 10, lease)
            .await
            .unwrap());
        assert_eq!(
            one.webhooks.claim(subscription, a, 7, lease).await.unwrap(),
            None
        );
    });
}

#[tokio::test]
async fn the_command_line_subscribes_lists_and_shows_deliveries() {
    let app = spawn_app_with(quick).await;
    let mut receiver = Receiver::start().await;
    let api = ["--server", app.base.as_str(), "--token", CHIARA];
    let run = |args: Vec<&str>| {
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        crate::helpers::glossa(args)
    };
    let url = receiver.url("/cli");
    let mut create = vec![
        "webhook",
        "create",
        "--url",
        &url,
        "--type",
        "annotation.created",
    ];
    create.extend(["--article", ARTICLE]);
    create.extend(api);
    let (ok, secret, err) = run(create).await;
    assert!(ok, "{err}");
    let secret = secret.trim().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(err.contains("shown this once"), "{err}");

    let (_, seq) = comment(&app, ARTICLE, "26 nations have pledged").await;
    let got = receiver
        .wait_for("/cli", |r| r.iter().any(|r| r.seq() == seq))
        .await;
    verify(&secret, &got[0]);

    let (ok, listed, err) = run([vec!["webhook", "list"], api.to_vec()].concat()).await;
    assert!(ok, "{err}");
    assert!(
        listed.contains(&url) && listed.contains("active"),
        "{listed}"
    );
    let id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    // The attempt is recorded just after the receiver answers.
    let deliveries = [vec!["webhook", "deliveries", id.as_str()], api.to_vec()].concat();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (ok, table, err) = run(deliveries.clone()).await;
        assert!(ok, "{err}");
        if table.contains("annotation.created") {
            assert!(
                table.contains(&seq.to_string()) && table.contains(" 200"),
                "{table}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery listed: {table}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ok, _, err) = run([vec!["webhook", "pause", id.as_str()], api.to_vec()].concat()).await;
    assert!(ok, "{err}");
    assert_eq!(subscription(&app, &id).await["status"], "paused");
    // A viewer's token is refused with the server's reason.
    let (ok, _, err) = run(vec![
        "webhook",
        "list",
        "--server",
        app.base.as_str(),
        "--token",
        ALICE,
    ])
    .await;
    assert!(!ok);
    assert!(
        err.contains("403") && err.contains("manage webhooks"),
        "{err}"
    );
}

/// An https:// receiver is reached over TLS: here a plain HTTP port, whose answer to the
/// handshake is no TLS at all, so the attempt fails in the TLS layer (not for want of it).
#[tokio::test]
async fn https_receivers_are_reached_over_tls() {
    let app = spawn_app_with(quick).await;
    let receiver = Receiver::start().await;
    let url = receiver.url("/tls").replace("http://", "https://");
    let id = subscribe(&app, json!({"url": url, "types": ["annotation.created"]})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    comment(&app, ARTICLE, "26 nations have pledged").await;
    let failed = wait_until(&app, &id, |s| !s["last_attempt"].is_null()).await;
    let error = failed["last_attempt"]["error"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(
        !error.contains("scheme") && (error.contains("tls") || error.contains("corrupt message")),
        "{error}"
    );
}

/// A receiver that never answers holds up neither writes nor another subscription.
#[tokio::test]
async fn a_hanging_receiver_slows_neither_writes_nor_other_subscriptions() {
    let app = spawn_app_with(|settings| {
        quick(settings);
        // Longer than the test: the hanging delivery is still waiting when it ends.
        settings.limits.webhooks.timeout = Duration::from_secs(600);
    })
    .await;
    let mut receiver = Receiver::start().await;
    receiver.answer_always("/slow", Answer::Hang);
    let only = json!(["annotation.created"]);
    subscribe(&app, json!({"url": receiver.url("/slow"), "types": only})).await;
    subscribe(&app, json!({"url": receiver.url("/fast"), "types": only})).await;
    let (_, first) = comment(&app, ARTICLE, "26 nations have pledged").await;
    // The slow receiver holds its first delivery open...
    receiver
        .wait_for("/slow", |r| r.iter().any(|r| r.seq() == first))
        .await;
    // ...while writes are answered and the other subscription gets each of them.
    let mut written = vec![first];
    for _ in 0..3 {
        written.push(comment(&app, ARTICLE, "26 nations have pledged").await.1);
    }
    let last = *written.last().unwrap();
    let fast = receiver
        .wait_for("/fast", |r| r.iter().any(|r| r.seq() == last))
        .await;
    assert_eq!(delivered(&fast), written);
    let slow: Vec<u64> = receiver
        .seen
        .iter()
        .filter(|r| r.path == "/slow")
        .map(Received::seq)
        .collect();
    assert_eq!(
        slow,
        vec![first],
        "the slow subscription went on without an answer"
    );
}

/// The real server killed with SIGKILL after its receiver took some events: started again, it
/// goes on from its cursor. Every event arrives, in order, and only the one in flight at the
/// kill may arrive twice.
#[tokio::test]
async fn deliveries_go_on_from_the_cursor_after_sigkill() {
    let store = TestStore::new();
    let mut receiver = Receiver::start().await;
    let server = crate::crash::Server::start(&store);
    let created = server
        .client
        .post(format!("{}/api/webhooks", server.base))
        .bearer_auth(CHIARA)
        .json(&json!({"url": receiver.url("/hook"), "types": ["annotation.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for n in 0..5 {
        assert!(server.comment(n).await.is_some());
    }
    let ok = |r: &[&Received], n: usize| {
        delivered(&r.iter().map(|r| (*r).clone()).collect::<Vec<_>>()).len() >= n
    };
    receiver.wait_for("/hook", |r| ok(r, 5)).await;
    server.kill();
    let server = crate::crash::Server::start(&store);
    for n in 5..8 {
        assert!(server.comment(n).await.is_some());
    }
    let got = receiver.wait_for("/hook", |r| ok(r, 8)).await;
    let seqs = delivered(&got);
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "out of order: {seqs:?}"
    );
    let again = got.iter().filter(|r| r.ok()).count() - seqs.len();
    assert!(
        again <= 1,
        "{again} events were delivered again after the restart"
    );
    drop(server);
}

/// Paused while its receiver holds a delivery open, a subscription sends nothing more, however
/// much is waiting; resumed at once, it delivers everything once, in order, from where it was.
#[tokio::test]
async fn a_pause_stops_a_backlog_at_once_and_a_resume_goes_on_in_order() {
    let app = spawn_app_with(|settings| {
        quick(settings);
        settings.limits.webhooks.timeout = Duration::from_secs(30);
    })
    .await;
    let mut receiver = Receiver::start().await;
    let only = json!(["annotation.created"]);
    let created = subscribe(&app, json!({"url": receiver.url("/p"), "types": only})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    // A backlog: written while paused, read in one step when resumed.
    let act = |action: &'static str| {
        let (app, id) = (&app, &id);
        async move {
            let answer = app
                .post_json(&format!("/api/webhooks/{id}/{action}"), &json!({}), CHIARA)
                .await;
            assert_eq!(answer.status(), 200);
        }
    };
    act("pause").await;
    let mut written = Vec::new();
    for _ in 0..4 {
        written.push(comment(&app, ARTICLE, "26 nations have pledged").await.1);
    }
    receiver.answer_next("/p", &[Answer::Held]);
    act("resume").await;
    receiver
        .wait_for("/p", |r| r.iter().any(|r| r.seq() == written[0]))
        .await;
    act("pause").await;
    // The held delivery succeeds after the pause, and is recorded; nothing is sent after it.
    receiver.gate.notify_one();
    wait_until(&app, &id, |s| s["last_attempt"]["ok"] == true).await;
    subscribe(
        &app,
        json!({"url": receiver.url("/witness"), "types": only}),
    )
    .await;
    let (_, witness) = comment(&app, ARTICLE, "26 nations have pledged").await;
    receiver
        .wait_for("/witness", |r| r.iter().any(|r| r.seq() == witness))
        .await;
    let sent: Vec<u64> = receiver
        .seen
        .iter()
        .filter(|r| r.path == "/p")
        .map(Received::seq)
        .collect();
    assert_eq!(
        sent,
        vec![written[0]],
        "a paused subscription went on sending"
    );
    // Resumed (and paused and resumed again at once): each event once, in order.
    for action in ["resume", "pause", "resume"] {
        act(action).await;
    }
    written.push(witness);
    let got = receiver
        .wait_for("/p", |r| r.iter().any(|r| r.ok() && r.seq() == witness))
        .await;
    assert_eq!(delivered(&got), written);
    let oks = got.iter().filter(|r| r.ok()).count();
    assert_eq!(oks, written.len(), "an event was delivered twice");
}
