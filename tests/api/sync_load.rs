//! The sync load generator against a real server: six automerge-repo clients over WebSockets
//! on one document, two of them writing; every edit reaches every other client, everyone ends
//! on the same heads, and the server's document holds the writers' annotations.

use std::time::Duration;

use glossa::bench::sync_load::edit::has_entry;
use glossa::bench::sync_load::{run_dedicated, Anchor, Edit, Workload};
use glossa::domain::ArticleId;

use crate::helpers::{spawn_app, ALICE, ARTICLE, BRUNO, CHIARA, VICTOR};

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
