//! The sync load generator against a real server: six automerge-repo clients over WebSockets
//! on one document, two of them writing; every edit reaches every other client, everyone ends
//! on the same heads, and the server's document holds the writers' annotations. Then the same
//! workload on Glossa and on the reference automerge-repo server, each checked by the official
//! JavaScript client loading the document afterwards.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use glossa::bench::sync_load::edit::has_entry;
use glossa::bench::sync_load::ratio::annotations;
use glossa::bench::sync_load::servers::{create_document, read_with_js, start_reference};
use glossa::bench::sync_load::{run_dedicated, Anchor, Edit, Report, Workload};
use glossa::domain::ArticleId;

use crate::helpers::{ensure_node_packages, spawn_app, ALICE, ARTICLE, BRUNO, CHIARA, VICTOR};

#[tokio::test]
async fn every_edit_reaches_every_client_and_all_converge() {
    let app = spawn_app().await;
    let article = ArticleId::parse(ARTICLE).unwrap();
    let document_id = app.desk.article(&article).unwrap().document_id;
    let workload = Workload {
        url: format!("{}/sync", app.base.replacen("http", "ws", 1)),
        document_id,
        writers: vec![
            (ALICE.to_owned(), "alice".to_owned()),
            (BRUNO.to_owned(), "bruno".to_owned()),
        ],
        readers: vec![VICTOR.to_owned(), CHIARA.to_owned()],
        clients: 6,
        edits_per_writer: 3,
        rate: 20.0,
        throttle: Duration::from_millis(50),
        anchor: Anchor::seeded(),
        edit: Edit::Comment,
        server_pid: None,
        // A hang guard, not a speed test: how long nothing may move.
        patience: Duration::from_secs(60),
    };
    let report = run_dedicated(workload).await.expect("the run completes");

    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.edits, 6);
    assert_eq!(report.expected, 6 * 5);
    assert_eq!(
        report.delivered, report.expected,
        "every edit reached every other client"
    );
    assert!(report.converged, "every client ends on the same heads");

    let state = app.desk.documents().inspect(&article).await.unwrap();
    let made: Vec<_> = state
        .annotations
        .iter()
        .filter(|a| a.id.as_str().starts_with("load-"))
        .collect();
    assert_eq!(made.len(), 6, "the server holds the writers' annotations");
    for creator in ["alice", "bruno"] {
        assert_eq!(
            made.iter()
                .filter(|a| a.creator.as_str() == creator)
                .count(),
            3
        );
    }
    let mut client_heads: Vec<String> = report.heads.iter().map(|h| h.to_string()).collect();
    let mut server_heads = state.heads.clone();
    client_heads.sort();
    server_heads.sort();
    assert_eq!(
        client_heads, server_heads,
        "the clients converged on the server's heads"
    );
    for doc in &report.docs {
        for annotation in &made {
            assert!(has_entry(doc, annotation.id.as_str()));
        }
    }
}

/// Four clients, two of them writing two comments each, on `document` at `url`.
fn small(
    url: String,
    document_id: String,
    writers: [(&str, &str); 2],
    readers: [&str; 2],
) -> Workload {
    Workload {
        url,
        document_id,
        writers: writers
            .iter()
            .map(|(t, u)| (t.to_string(), u.to_string()))
            .collect(),
        readers: readers.iter().map(|t| t.to_string()).collect(),
        clients: 4,
        edits_per_writer: 2,
        rate: 20.0,
        throttle: Duration::from_millis(20),
        anchor: Anchor::seeded(),
        edit: Edit::Comment,
        server_pid: None,
        // A hang guard, not a speed test: how long nothing may move.
        patience: Duration::from_secs(60),
    }
}

/// The generator's annotations in a document, keyed by writer and edit (the run's tag left
/// out, so that two runs compare): `load-TAG-W-N` becomes `W-N`.
fn generated(found: &BTreeMap<String, (String, String)>) -> BTreeMap<String, (String, String)> {
    found
        .iter()
        .filter_map(|(id, entry)| {
            let rest = id.strip_prefix("load-")?;
            let (_, key) = rest.split_once('-')?;
            Some((key.to_owned(), entry.clone()))
        })
        .collect()
}

fn delivered_everything(report: &Report) {
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.edits, 4);
    assert_eq!(
        report.delivered, report.expected,
        "every edit reached every other client"
    );
    assert_eq!(report.expected, 4 * 3);
    assert!(report.converged, "every client ends on the same heads");
}

#[tokio::test]
async fn the_official_client_finds_what_the_generator_wrote_on_glossa_and_the_reference_server() {
    ensure_node_packages();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("bench/read-doc.mjs");

    let app = spawn_app().await;
    let article = ArticleId::parse(ARTICLE).unwrap();
    let document_id = app.desk.article(&article).unwrap().document_id;
    let ws = format!("{}/sync", app.base.replacen("http", "ws", 1));
    // Writers write as the users the tokens belong to.
    let workload = small(
        ws.clone(),
        document_id.clone(),
        [(ALICE, "bench-writer-0"), (BRUNO, "bench-writer-1")],
        [VICTOR, CHIARA],
    );
    let workload = Workload {
        writers: vec![
            (ALICE.to_owned(), "alice".to_owned()),
            (BRUNO.to_owned(), "bruno".to_owned()),
        ],
        ..workload
    };
    let on_glossa = run_dedicated(workload)
        .await
        .expect("the run on Glossa completes");
    delivered_everything(&on_glossa);
    let js_glossa = read_with_js(&script, &ws, &document_id, VICTOR)
        .await
        .unwrap();
    assert_eq!(
        js_glossa,
        annotations(&on_glossa.docs[0]),
        "the official client finds on Glossa what the generator ended with"
    );

    let reference = start_reference(&root.join("tests/js"), 0).await.unwrap();
    let document = create_document(&reference.sync_url).await.unwrap();
    let workload = small(
        reference.sync_url.clone(),
        document.clone(),
        [("bench", "alice"), ("bench", "bruno")],
        ["bench", "bench"],
    );
    let on_reference = run_dedicated(workload)
        .await
        .expect("the run on the reference server completes");
    delivered_everything(&on_reference);
    let js_reference = read_with_js(&script, &reference.sync_url, &document, "bench")
        .await
        .unwrap();
    assert_eq!(
        js_reference,
        annotations(&on_reference.docs[0]),
        "the official client finds on the reference server what the generator ended with"
    );

    // The same workload leaves the same annotations on both servers.
    let (g, r) = (generated(&js_glossa), generated(&js_reference));
    assert_eq!(g.len(), 4, "{g:?}");
    assert_eq!(
        g, r,
        "both servers hold the same comments by the same writers"
    );
}

#[tokio::test]
async fn typing_writers_reach_every_client_and_the_server_keeps_what_they_typed() {
    let app = spawn_app().await;
    let article = ArticleId::parse(ARTICLE).unwrap();
    let document_id = app.desk.article(&article).unwrap().document_id;
    let workload = Workload {
        url: format!("{}/sync", app.base.replacen("http", "ws", 1)),
        document_id,
        writers: vec![
            (ALICE.to_owned(), "alice".to_owned()),
            (BRUNO.to_owned(), "bruno".to_owned()),
        ],
        readers: vec![VICTOR.to_owned(), CHIARA.to_owned()],
        clients: 5,
        edits_per_writer: 4,
        rate: 20.0,
        throttle: Duration::from_millis(50),
        anchor: Anchor::seeded(),
        edit: Edit::Typing,
        // The server runs in this process: its CPU is the test's, measured to show it is read.
        server_pid: Some(std::process::id()),
        patience: Duration::from_secs(60),
    };
    let report = run_dedicated(workload).await.expect("the run completes");

    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.edits, 8);
    assert_eq!(report.expected, 8 * 4);
    assert_eq!(report.delivered, report.expected);
    assert!(report.converged);
    assert!(report.server_cpu.is_some(), "the server's CPU was read");

    // Each writer's note, added before the run, holds what it typed, in order.
    let state = app.desk.documents().inspect(&article).await.unwrap();
    let notes: Vec<_> = state
        .annotations
        .iter()
        .filter(|a| a.id.as_str().starts_with("load-"))
        .collect();
    assert_eq!(notes.len(), 2, "one note per writer, and nothing else");
    for note in notes {
        assert_eq!(
            note.body,
            "Load generator: checking this claim. w0 w1 w2 w3",
            "{}",
            note.id.as_str()
        );
    }
}
