//! PostgreSQL out of reach: writes are refused with 503 and `Retry-After`, sync changes are
//! neither acknowledged nor passed on, reads go on from the local copy, /healthz says what is
//! wrong; when the database is back, everything works again without a restart.

use std::time::Duration;

use automerge::sync::{self, SyncDoc};
use glossa::documents::Outbound;
use glossa::domain::ArticleId;
use reqwest::Method;
use serde_json::{json, Value};

use super::on_postgres_or_skip;
use crate::backend::connect;
use crate::helpers::{detail, id_of, spawn_app_on, TestApp, ALICE, ARTICLE};
use crate::pg_cluster::PgCluster;
use crate::sync::{add_annotation, client, document_id, has, settle, Client};

fn comment() -> Value {
    json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "written while the database was away?",
        "target": {
            "source": format!("/articles/{ARTICLE}"),
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    })
}

async fn post_comment(app: &TestApp) -> reqwest::Response {
    app.post_annotation("/annotations/", &comment(), ALICE)
        .await
}

/// The whole feed, as the API serves it.
async fn feed(app: &TestApp) -> String {
    let response = app
        .request(
            Method::GET,
            "/api/events?limit=1000&format=ndjson",
            Some(ALICE),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the feed is served");
    response.text().await.unwrap()
}

async fn events_in_database(url: &str) -> i64 {
    connect(url)
        .await
        .query_one("SELECT count(*) FROM glossa_events", &[])
        .await
        .unwrap()
        .get(0)
}

/// Sends the client's last change and reads the server's answers until it drops the peer;
/// fails if an answer acknowledges the change. Returns the reason the peer was given.
async fn refused_change(app: &TestApp, client: &mut Client) -> String {
    let change = client.doc.get_last_local_change().unwrap().hash();
    let message = client.doc.generate_sync_message(&mut client.state).unwrap();
    let article = ArticleId::parse(ARTICLE).unwrap();
    let documents = app.desk.documents();
    documents
        .sync(&article, client.link.clone(), message)
        .await
        .unwrap();
    loop {
        let answer = tokio::time::timeout(Duration::from_secs(60), client.inbox.recv())
            .await
            .expect("the server answers the change")
            .expect("the peer's mailbox is open");
        match answer {
            Outbound::Sync { data, .. } => {
                let message = sync::Message::decode(&data).unwrap();
                assert!(!message.heads.contains(&change), "acknowledged");
            }
            Outbound::Error(reason) | Outbound::Close(reason) => return reason,
            Outbound::Presence(_) => {}
        }
    }
}

#[tokio::test]
async fn writes_wait_for_an_unreachable_database_and_reads_go_on() {
    if !on_postgres_or_skip("writes_wait_for_an_unreachable_database_and_reads_go_on") {
        return;
    }
    let cluster = PgCluster::start();
    let desk = cluster.store();
    let url = desk.database_url.clone().unwrap();
    let mut app = spawn_app_on(&desk).await;
    // Stopping and starting PostgreSQL can outlast the server's keep-alive: a pooled
    // connection closing just as a request goes out would fail that request for nothing.
    app.client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let doc_id = document_id(&app).await;
    let (mut writer, mut watcher) = (
        client("alice", false, &doc_id),
        client("bruno", false, &doc_id),
    );
    settle(&app, &mut writer).await;
    settle(&app, &mut watcher).await;
    let before = post_comment(&app).await;
    assert_eq!(before.status(), 201);
    let written = format!("/annotations/{}", id_of(&before));
    app.read_models_caught_up().await;
    let document = format!("/api/articles/{ARTICLE}/document");
    let (head, listing, events, heads) = (
        app.log_head(),
        app.get_json("/annotations/?limit=200").await,
        feed(&app).await,
        app.get_json(&document).await["heads"].clone(),
    );

    cluster.stop("immediate");

    let refused = post_comment(&app).await;
    assert_eq!(refused.status(), 503);
    assert!(
        refused.headers().contains_key("retry-after"),
        "a 503 says when to try again"
    );
    let message = detail(refused).await;
    assert!(message.contains("database"), "{message}");
    let article = json!({"id": "while-away", "text": "Nothing is written."});
    assert_eq!(
        app.post_json("/api/articles", &article, ALICE)
            .await
            .status(),
        503,
        "the desk's own appends too"
    );

    // A sync change is not acknowledged, and no other peer gets it.
    add_annotation(&mut writer.doc, "during-outage", "alice", "comment", None);
    let reason = refused_change(&app, &mut writer).await;
    assert!(
        reason.contains("store") && reason.contains("retry"),
        "the peer is told: {reason}"
    );
    settle(&app, &mut watcher).await;
    assert!(!has(&watcher.doc, "during-outage"), "not passed on");

    // Nothing changed, and everything is still read.
    assert_eq!(app.log_head(), head, "nothing was written");
    assert_eq!(app.get_json("/annotations/?limit=200").await, listing);
    assert_eq!(feed(&app).await, events);
    assert_eq!(app.get_json(&document).await["heads"], heads);
    assert_eq!(app.get(&written).await.status(), 200);
    assert_eq!(app.get("/annotations/during-outage").await.status(), 404);
    let health = app
        .request(Method::GET, "/healthz", None)
        .send()
        .await
        .unwrap();
    // Still 200: reads are served, so a load balancer keeps sending them here.
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["log"], "postgresql");
    assert_eq!(health["status"], "degraded");
    let problem = health["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("database"), "{health}");

    cluster.start_again();

    // Back by itself: the first write after the restart goes through.
    assert_eq!(post_comment(&app).await.status(), 201);
    let health = app
        .request(Method::GET, "/healthz", None)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    assert_eq!(events_in_database(&url).await as u64, app.log_head());
    for event in app.events().into_iter().filter(|e| e.seq > head) {
        let text = event.data.to_string();
        assert!(
            !text.contains("during-outage") && !text.contains("while-away"),
            "nothing refused was written later: {text}"
        );
    }
    let mut again = client("alice", false, &doc_id);
    settle(&app, &mut again).await;
    add_annotation(&mut again.doc, "after-outage", "alice", "comment", None);
    settle(&app, &mut again).await;
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    settle(&app, &mut watcher).await;
    assert!(has(&watcher.doc, "after-outage"), "passed on again");
    assert!(!has(&watcher.doc, "during-outage"));
}
