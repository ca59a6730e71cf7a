//! Idle documents leave memory: a document with no peers and no requests is saved and
//! unloaded, and the next request loads it again with its state intact.

use std::time::{Duration, Instant};

use glossa::documents::{Documents, Edit};
use glossa::domain::{
    commands, AnnotationId, ArticleId, Content, ContentLimits, Kind, Target, TextPosition,
    TextQuote, UserName,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::crash::Server;
use crate::crash_sync::WsPeer;
use crate::helpers::{spawn_app, TestStore, ALICE, ARTICLE, JSONLD};

const TEXT: &str = "The council met on Monday and agreed a budget for the new library.";
const QUOTE: &str = "agreed a budget";

/// A gauge of a server process (its own registry, not shared with tests).
async fn gauge(server: &Server, name: &str) -> i64 {
    let text = server.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .expect("the gauge is rendered")
        .parse()
        .unwrap()
}

async fn loaded(server: &Server) -> i64 {
    gauge(server, "glossa_documents_loaded").await
}

async fn comment(server: &Server, article: &str, note: &str) -> String {
    let start = TEXT.find(QUOTE).unwrap();
    let body = json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": note,
        "target": {
            "source": format!("{}/articles/{article}", server.base),
            "selector": [
                {"type": "TextQuoteSelector", "exact": QUOTE},
                {"type": "TextPositionSelector", "start": start, "end": start + QUOTE.len()}
            ]
        }
    });
    let response = server
        .client
        .request(Method::POST, format!("{}/annotations/", server.base))
        .bearer_auth(ALICE)
        .header("Content-Type", JSONLD)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{article}");
    let location = response.headers()["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().to_owned()
}

/// Polls the gauge until it is back to zero; fails after a generous deadline.
async fn until_unloaded(server: &Server) {
    until_zero(server, "glossa_documents_loaded").await;
}

/// Polls a gauge until it is back to zero; fails after a generous deadline.
async fn until_zero(server: &Server, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = gauge(server, name).await;
        if now == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} is still {now} long after its holders went"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_peer_and_document_gauges_return_to_zero_once_sockets_close() {
    let store = TestStore::new();
    let server = Server::start_with(&store, &["--document-idle-ms", "300"]);
    let document: Value = server
        .json(&format!("/api/articles/{ARTICLE}/document"))
        .await;
    let document_id = document["document_id"].as_str().unwrap();
    let mut peers = Vec::new();
    for _ in 0..3 {
        peers.push(
            WsPeer::connect(&server.base, ALICE, document_id)
                .await
                .expect("a peer syncs the document"),
        );
    }
    assert_eq!(gauge(&server, "glossa_sync_peers").await, 3);
    assert!(loaded(&server).await >= 1, "the peers' document is loaded");
    for peer in peers {
        peer.close().await;
    }
    until_zero(&server, "glossa_sync_peers").await;
    until_unloaded(&server).await;
}

#[tokio::test]
async fn idle_documents_are_unloaded_and_loaded_again_on_demand() {
    const N: usize = 30;
    let store = TestStore::new();
    let server = Server::start_with(&store, &["--document-idle-ms", "1000"]);
    for n in 0..N {
        let response = server
            .client
            .post(format!("{}/api/articles", server.base))
            .bearer_auth(ALICE)
            .json(&json!({"id": format!("idle-{n}"), "title": format!("Idle {n}"), "text": TEXT}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    // A write on each article loads its document.
    let writes = (0..N).map(|n| {
        let server = &server;
        async move { comment(server, &format!("idle-{n}"), &format!("note {n}")).await }
    });
    let ids = futures_util::future::join_all(writes).await;
    let peak = loaded(&server).await;
    assert!(peak > 0, "the written documents are loaded");

    until_unloaded(&server).await;

    // Loaded again by the next request: what was written is there and a write succeeds.
    let document: Value = server.json("/api/articles/idle-0/document").await;
    assert!(!document["heads"].as_array().unwrap().is_empty());
    let again = comment(&server, "idle-0", "after the unload").await;
    assert!(loaded(&server).await >= 1);
    for id in [&ids[0], &again] {
        assert_eq!(
            server.get(&format!("/annotations/{id}")).await.status(),
            200
        );
    }
    let listed = server.json("/articles/idle-0/annotations/").await;
    assert_eq!(listed["total"], 2, "{listed}");
    until_unloaded(&server).await;
    server.kill();
}

fn create(article: &ArticleId, n: usize) -> commands::Create {
    let start = TEXT.find(QUOTE).unwrap() as u64;
    commands::Create {
        id: AnnotationId::parse(&format!("race-{n}")).unwrap(),
        creator: UserName::parse("alice").unwrap(),
        now: glossa::clock::now(),
        content: Content {
            kind: Kind::Comment,
            body: format!("note {n}"),
            verdict: None,
            suggestion: None,
            edit_label: None,
            claim: None,
            sources: vec![],
            tags: vec![],
            targets: vec![Target {
                article: article.clone(),
                version: 1,
                quote: TextQuote {
                    exact: QUOTE.into(),
                    prefix: String::new(),
                    suffix: String::new(),
                },
                position: TextPosition {
                    start,
                    end: start + QUOTE.len() as u64,
                },
            }],
        },
        assignee: None,
        canonical: None,
        via: None,
    }
}

/// Rounds of four writers that all arrive at an unloaded document at once (racing to load
/// it), with uneven pauses between their requests so that some meet a task that is closing:
/// each request must still be answered, exactly once, by one task at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_with_an_unload_are_all_answered() {
    const WRITERS: usize = 4;
    const ROUNDS: usize = 6;
    const PER_ROUND: usize = 3;
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/articles",
            &json!({"id": "race", "title": "Race", "text": TEXT}),
            ALICE,
        )
        .await;
    assert_eq!(response.status(), 201);
    let article = ArticleId::parse("race").unwrap();
    // Only this registry touches the article.
    let documents = Documents::new(app.desk.store().clone(), ContentLimits::default())
        .with_idle(Duration::ZERO);
    let alice = UserName::parse("alice").unwrap();
    let unloads = || glossa::metrics::metrics().documents_unloaded.get();
    let unloaded_before = unloads();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(WRITERS));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (documents, article, alice) = (documents.clone(), article.clone(), alice.clone());
        let barrier = barrier.clone();
        writers.push(tokio::spawn(async move {
            for round in 0..ROUNDS {
                // Everyone starts the round on an unloaded document.
                if barrier.wait().await.is_leader() {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while documents.loaded() > 0 {
                        assert!(Instant::now() < deadline, "the document never unloaded");
                        tokio::task::yield_now().await;
                    }
                }
                barrier.wait().await;
                for n in 0..PER_ROUND {
                    let create = create(&article, w * 1000 + round * 10 + n);
                    let at = create.now;
                    documents
                        .edit(&article, &alice, at, Edit::Create(create))
                        .await
                        .expect("every edit is answered");
                    documents
                        .inspect(&article)
                        .await
                        .expect("every read is answered");
                    let pause = ((w * 7 + n * 13 + round) % 5) as u64 * 400;
                    tokio::time::sleep(Duration::from_micros(pause)).await;
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let state = documents.inspect(&article).await.unwrap();
    assert_eq!(state.annotations.len(), WRITERS * ROUNDS * PER_ROUND);
    assert!(
        unloads() >= unloaded_before + ROUNDS as u64 - 1,
        "the document was unloaded before every round"
    );
    // A registry that never unloads replays the same document from the log and snapshots.
    let replayed = Documents::new(app.desk.store().clone(), ContentLimits::default())
        .inspect(&article)
        .await
        .unwrap();
    assert_eq!(replayed.annotations, state.annotations);
}
