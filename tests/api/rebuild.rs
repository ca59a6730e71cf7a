//! Derived state: delete the read models, snapshots and search index (on PostgreSQL, the whole
//! data directory), restart, and everything reads the same.

use glossa::documents::{DocState, Documents};
use glossa::domain::{ArticleId, ContentLimits};
use glossa::store::Store;
use serde_json::{json, Value};

use crate::backend::on_postgres;
use crate::crash::Server;
use crate::helpers::{TestStore, ALICE, JSONLD};

/// Everything a client can see: every annotation (deleted ones as their status code), the
/// filtered listings, and each article's document heads.
async fn observe(server: &Server, ids: &[String]) -> Value {
    let mut annotations = Vec::new();
    for id in ids {
        let response = server.get(&format!("/annotations/{id}")).await;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        annotations.push(json!({ "id": id, "status": status, "etag": etag, "body": if status == 200 { body } else { Value::Null } }));
    }
    let mut listings = Vec::new();
    for query in [
        "",
        "?status=open",
        "?status=resolved",
        "?kind=fact-check",
        "?assignee=chiara",
        "?iris=1&limit=200",
    ] {
        listings.push(server.json(&format!("/annotations/{query}")).await);
    }
    let mut documents = Vec::new();
    for article in server.json("/api/articles").await["articles"]
        .as_array()
        .unwrap()
    {
        let id = article["id"].as_str().unwrap();
        listings.push(server.json(&format!("/articles/{id}/annotations/")).await);
        documents.push(server.json(&format!("/api/articles/{id}/document")).await);
    }
    // Search: the same hits for the same queries (ranks may move with the index's segments).
    let mut searches = Vec::new();
    for query in [
        "q=Zelenskiy&limit=100",
        "q=%2226%20nations%22&limit=100",
        "q=edited%20note",
        "q=note&limit=100",
        "tag=house-style&limit=100",
    ] {
        let page = server.json(&format!("/api/search?{query}")).await;
        let mut hits: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                format!(
                    "{}:{}",
                    item["type"].as_str().unwrap(),
                    item["id"].as_str().unwrap()
                )
            })
            .collect();
        hits.sort();
        searches.push(json!({ "query": query, "total": page["total"], "hits": hits }));
    }
    json!({ "annotations": annotations, "listings": listings, "documents": documents, "searches": searches })
}

#[tokio::test]
async fn deleting_read_models_and_snapshots_rebuilds_the_same_state() {
    let store = TestStore::new();
    // A fixed public URL keeps IRIs equal across restarts on different ports.
    let args = ["--public-url", "http://glossa.test"];
    let server = Server::start_with(&store, &args);
    let mut ids = Vec::new();
    // Enough writes on one article to make its document snapshot at least once.
    for n in 0..70 {
        ids.push(server.comment(n).await.expect("acknowledged"));
    }
    let put = |id: &str, etag: &str, body: Value| {
        server
            .client
            .put(format!("{}/annotations/{id}", server.base))
            .bearer_auth(ALICE)
            .header("Content-Type", JSONLD)
            .header("If-Match", etag)
            .body(body.to_string())
            .send()
    };
    let mut edited: Value = server.json(&format!("/annotations/{}", ids[0])).await;
    edited["bodyValue"] = "edited note".into();
    edited.as_object_mut().unwrap().remove("body");
    edited["assignee"] = "chiara".into();
    assert_eq!(put(&ids[0], "\"v1\"", edited).await.unwrap().status(), 200);
    let deleted = server
        .client
        .delete(format!("{}/annotations/{}", server.base, ids[1]))
        .bearer_auth(ALICE)
        .header("If-Match", "\"v1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    ids.extend(
        [
            "seed-003-no-problem",
            "seed-000-remakrs",
            "seed-001-004-reassurance-force",
        ]
        .map(String::from),
    );
    let before = observe(&server, &ids).await;
    // The searches find what they should, so that "the same" means something.
    assert_eq!(
        before["searches"][2]["hits"],
        json!([format!("annotation:{}", ids[0])])
    );
    // The 69 notes left (and any seed with a word starting "note").
    assert!(before["searches"][3]["total"].as_u64().unwrap() >= 69);
    server.kill();

    // A restart loads the document from its snapshot plus the changes after it.
    let server = Server::start_with(&store, &args);
    let reloaded = observe(&server, &ids).await;
    assert!(reloaded == before, "the state after a restart differs");
    server.kill();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
        .arg("rebuild")
        .args(store.args())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let server = Server::start_with(&store, &args);
    let after = observe(&server, &ids).await;
    assert!(
        after == before,
        "the rebuilt state differs:\nbefore: {}\nafter:  {}",
        abbreviated(&before),
        abbreviated(&after)
    );
    server.kill();

    // On PostgreSQL the data directory is only a local copy: deleted, it is rebuilt from the
    // database, and the desk serves the same state.
    if on_postgres() {
        std::fs::remove_dir_all(store.path()).unwrap();
        let server = Server::start_with(&store, &args);
        let after = observe(&server, &ids).await;
        assert!(
            after == before,
            "the state rebuilt from PostgreSQL differs:\nbefore: {}\nafter:  {}",
            abbreviated(&before),
            abbreviated(&after)
        );
        server.kill();
    }
}

/// The first part of a long JSON document, for a readable failure message.
fn abbreviated(value: &Value) -> String {
    value.to_string().chars().take(2000).collect()
}

/// A damaged snapshot, or one from another history, is noticed on load and the document is
/// rebuilt from the log instead.
#[tokio::test]
async fn snapshots_that_disagree_with_the_log_are_discarded() {
    use automerge::transaction::Transactable;
    use glossa::store::Snapshot;

    let app = crate::helpers::spawn_app().await;
    let article = ArticleId::parse(crate::helpers::ARTICLE).unwrap();
    let store = app.desk.store().clone();
    let expected = app.desk.documents().inspect(&article).await.unwrap();
    let last_change = store
        .log
        .read_stream(&glossa::domain::StreamId::Document(article.clone()), 0)
        .unwrap()
        .last()
        .unwrap()
        .seq;

    let mut stranger = automerge::Automerge::new();
    let mut tx = stranger.transaction();
    tx.put(automerge::ROOT, "annotations", "not a map").unwrap();
    tx.commit();
    for bytes in [b"garbage".to_vec(), stranger.save()] {
        store
            .snapshots
            .put(
                &article,
                &Snapshot {
                    seq: last_change,
                    bytes,
                },
            )
            .unwrap();
        reloads_as(&store, &article, &expected).await;
    }
}

/// A snapshot taken while creates keep coming (the document's task copies the document, another
/// thread encodes and stores the copy) is the document at the sequence number it names: the
/// heads the log recorded there are its heads, and a fresh registry loads every annotation.
#[tokio::test]
async fn a_snapshot_saved_while_edits_go_on_is_the_document_at_its_sequence_number() {
    use glossa::domain::{DomainEvent, StreamId};

    // The document stays loaded: a snapshot that shows comes from a save while it is in use,
    // not from the one a task makes as it unloads.
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.limits.document_idle = std::time::Duration::from_secs(600)
    })
    .await;
    let article = ArticleId::parse(crate::helpers::ARTICLE).unwrap();
    let store = app.desk.store().clone();
    let before = store.snapshots.get(&article).unwrap().map_or(0, |s| s.seq);
    let body = app
        .fact_check_on(crate::helpers::ARTICLE, "26 nations")
        .await;
    // Enough creates for a snapshot to fall due (64 changes), all at once.
    let creates = (0..96).map(|_| app.post_annotation("/annotations/", &body, ALICE));
    for response in futures_util::future::join_all(creates).await {
        assert_eq!(
            response.status(),
            201,
            "{}",
            crate::helpers::detail(response).await
        );
    }
    // The snapshot is stored on its own thread: wait for it to be stored.
    let saved = store.snapshots.after(&article, before);
    let snapshot = tokio::time::timeout(std::time::Duration::from_secs(60), saved)
        .await
        .expect("no snapshot was saved")
        .unwrap();
    let record = store
        .log
        .get(snapshot.seq)
        .unwrap()
        .expect("the event exists");
    assert_eq!(record.stream, StreamId::Document(article.clone()));
    let Ok(DomainEvent::DocumentChanged { mut heads, .. }) =
        DomainEvent::from_parts(&record.event_type, &record.data)
    else {
        panic!("the snapshot names a {} event", record.event_type);
    };
    let doc = automerge::Automerge::load(&snapshot.bytes).expect("the snapshot loads");
    let mut saved: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    saved.sort();
    assert_eq!(
        saved, heads,
        "the snapshot holds other changes than its sequence number's"
    );
    // A fresh registry loads the document from the snapshot and the changes after it.
    let expected = app.desk.documents().inspect(&article).await.unwrap();
    reloads_as(&store, &article, &expected).await;
}

/// A fresh registry, as after a restart, loads the document as `expected`.
async fn reloads_as(store: &Store, article: &ArticleId, expected: &DocState) {
    let reloaded = Documents::new(store.clone(), ContentLimits::default())
        .inspect(article)
        .await
        .unwrap();
    assert_eq!(reloaded.heads, expected.heads);
    assert_eq!(reloaded.annotations, expected.annotations);
}
