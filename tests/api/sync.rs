//! The sync path with in-memory peers: Automerge documents talking to the server's document
//! tasks through the same calls a socket session makes, without sockets.

use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ReadDoc, ROOT};
use glossa::documents::{Outbound, PeerLink, Presence};
use glossa::domain::{ArticleId, UserName};
use tokio::sync::mpsc;

use crate::helpers::{id_of, spawn_app, TestApp, ARTICLE};

/// A client: its own document, its sync state with the server, and its mailbox.
pub struct Client {
    pub doc: Automerge,
    pub state: sync::State,
    pub link: PeerLink,
    pub inbox: mpsc::Receiver<Outbound>,
    /// Errors the server sent.
    pub errors: Vec<String>,
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1_000_000);

pub fn client(user: &str, read_only: bool, document_id: &str) -> Client {
    let (outbox, inbox) = mpsc::channel(64);
    Client {
        doc: Automerge::new(),
        state: sync::State::new(),
        link: PeerLink {
            conn: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            user: UserName::parse(user).unwrap(),
            read_only,
            document_id: document_id.to_owned(),
            outbox,
            kick: Arc::new(tokio::sync::Notify::new()),
        },
        inbox,
        errors: Vec::new(),
    }
}

/// Syncs a client with the server until neither has anything to say. The document task handles
/// commands in order, so after `inspect` returns every reply to earlier messages is queued.
pub async fn settle(app: &TestApp, client: &mut Client) {
    let article = ArticleId::parse(ARTICLE).unwrap();
    let documents = app.desk.documents();
    loop {
        let mut progressed = false;
        if let Some(message) = client.doc.generate_sync_message(&mut client.state) {
            documents
                .sync(&article, client.link.clone(), message)
                .await
                .unwrap();
            progressed = true;
        }
        documents.inspect(&article).await.unwrap();
        while let Ok(outbound) = client.inbox.try_recv() {
            progressed = true;
            match outbound {
                Outbound::Sync { data, .. } => {
                    let message = sync::Message::decode(&data).unwrap();
                    client
                        .doc
                        .receive_sync_message(&mut client.state, message)
                        .unwrap();
                }
                Outbound::Error(message) | Outbound::Close(message) => client.errors.push(message),
                Outbound::Presence(_) => {}
            }
        }
        if !progressed {
            return;
        }
    }
}

pub async fn document_id(app: &TestApp) -> String {
    let article = app.get_json(&format!("/api/articles/{ARTICLE}")).await;
    article["document_id"].as_str().unwrap().to_owned()
}

/// Writes an annotation the way a JavaScript client would: strings as text objects.
pub fn add_annotation(
    doc: &mut Automerge,
    id: &str,
    creator: &str,
    kind: &str,
    verdict: Option<&str>,
) {
    let text = "26 nations have pledged";
    let mut tx = doc.transaction();
    let (_, map) = tx.get(ROOT, "annotations").unwrap().unwrap();
    let obj = tx.put_object(&map, id, ObjType::Map).unwrap();
    let put_text = |tx: &mut automerge::transaction::Transaction<'_>,
                    obj: &automerge::ObjId,
                    key: &str,
                    value: &str| {
        let t = tx.put_object(obj, key, ObjType::Text).unwrap();
        tx.splice_text(&t, 0, 0, value).unwrap();
    };
    put_text(&mut tx, &obj, "id", id);
    put_text(&mut tx, &obj, "kind", kind);
    put_text(&mut tx, &obj, "status", "open");
    put_text(&mut tx, &obj, "creator", creator);
    put_text(&mut tx, &obj, "created", "2025-09-04T12:00:00.000Z");
    put_text(&mut tx, &obj, "modified", "2025-09-04T12:00:00.000Z");
    put_text(&mut tx, &obj, "body", "from a sync client");
    if let Some(verdict) = verdict {
        put_text(&mut tx, &obj, "verdict", verdict);
    }
    tx.put_object(&obj, "tags", ObjType::List).unwrap();
    tx.put_object(&obj, "sources", ObjType::List).unwrap();
    tx.put_object(&obj, "replies", ObjType::List).unwrap();
    tx.put(&obj, "deleted", false).unwrap();
    let targets = tx.put_object(&obj, "targets", ObjType::List).unwrap();
    let target = tx.insert_object(&targets, 0, ObjType::Map).unwrap();
    tx.put(&target, "article", ARTICLE).unwrap();
    tx.put(&target, "version", 1i64).unwrap();
    tx.put(&target, "exact", text).unwrap();
    tx.put(&target, "prefix", "").unwrap();
    tx.put(&target, "suffix", "").unwrap();
    tx.put(&target, "start", 514i64).unwrap();
    tx.put(&target, "end", 537i64).unwrap();
    tx.commit();
}

pub fn has(doc: &Automerge, id: &str) -> bool {
    let (_, map) = doc.get(ROOT, "annotations").unwrap().unwrap();
    doc.get(&map, id).unwrap().is_some()
}

#[tokio::test]
async fn a_sync_change_is_logged_with_its_events_and_reaches_other_peers() {
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    let mut a = client("alice", false, &doc_id);
    let mut b = client("bruno", false, &doc_id);
    settle(&app, &mut a).await;
    settle(&app, &mut b).await;
    let head = app.log_head();
    add_annotation(&mut a.doc, "from-sync", "alice", "comment", None);
    settle(&app, &mut a).await;
    assert!(a.errors.is_empty(), "{:?}", a.errors);

    let events: Vec<_> = app.events().into_iter().filter(|e| e.seq > head).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["document.changed", "annotation.created"]);
    assert!(events.iter().all(|e| e.actor.as_str() == "alice"));
    app.read_models_caught_up().await;
    let json = app.get_json("/annotations/from-sync").await;
    assert_eq!(json["body"][0]["value"], "from a sync client");
    assert_eq!(json["creator"]["nickname"], "alice");

    settle(&app, &mut b).await;
    assert!(
        has(&b.doc, "from-sync"),
        "the other peer received the change"
    );
}

#[tokio::test]
async fn an_invalid_sync_change_is_compensated_and_recorded() {
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    let mut a = client("alice", false, &doc_id);
    settle(&app, &mut a).await;
    add_annotation(
        &mut a.doc,
        "bad-verdict",
        "alice",
        "fact-check",
        Some("pants-on-fire"),
    );
    settle(&app, &mut a).await;
    assert!(
        !has(&a.doc, "bad-verdict"),
        "the compensation removed it on the client"
    );
    let rejected = app
        .events()
        .into_iter()
        .find(|e| e.event_type == "change.rejected")
        .unwrap();
    assert_eq!(rejected.data["key"], "bad-verdict");
    assert_eq!(rejected.data["user"], "alice");
    assert!(rejected.data["reason"]
        .as_str()
        .unwrap()
        .contains("verdict"));
    assert_eq!(app.get("/annotations/bad-verdict").await.status(), 404);

    // Someone else's name as creator is refused too.
    add_annotation(&mut a.doc, "forged", "chiara", "comment", None);
    settle(&app, &mut a).await;
    assert!(!has(&a.doc, "forged"));
}

#[tokio::test]
async fn a_viewer_receives_but_its_changes_are_never_applied() {
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    let mut viewer = client("victor", true, &doc_id);
    settle(&app, &mut viewer).await;
    assert!(
        has(&viewer.doc, "seed-004-kiev"),
        "a viewer reads the document"
    );
    let head = app.log_head();
    add_annotation(&mut viewer.doc, "from-viewer", "victor", "comment", None);
    settle(&app, &mut viewer).await;
    assert!(
        viewer.errors.iter().any(|e| e.contains("read-only")),
        "{:?}",
        viewer.errors
    );
    assert_eq!(app.log_head(), head, "nothing was written");
    assert_eq!(app.get("/annotations/from-viewer").await.status(), 404);
}

#[tokio::test]
async fn a_rest_write_reaches_a_subscribed_peer() {
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    let mut b = client("bruno", false, &doc_id);
    settle(&app, &mut b).await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app
        .post_annotation("/annotations/", &body, crate::helpers::ALICE)
        .await;
    let id = id_of(&created);
    settle(&app, &mut b).await;
    assert!(has(&b.doc, &id));
}

#[tokio::test]
async fn a_peer_that_falls_behind_is_dropped_without_stalling_writes() {
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    // A peer with room for one message that never reads its queue.
    let (outbox, _never_read) = mpsc::channel(1);
    let kick = Arc::new(tokio::sync::Notify::new());
    let mut slow = client("bruno", false, &doc_id);
    slow.link.outbox = outbox;
    slow.link.kick = kick.clone();
    let article = ArticleId::parse(ARTICLE).unwrap();
    let hello = slow.doc.generate_sync_message(&mut slow.state).unwrap();
    app.desk
        .documents()
        .sync(&article, slow.link.clone(), hello)
        .await
        .unwrap();
    for n in 0..5 {
        let mut body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
        body["bodyValue"] = format!("write {n}").into();
        body.as_object_mut().unwrap().remove("body");
        let response = app
            .post_annotation("/annotations/", &body, crate::helpers::ALICE)
            .await;
        assert_eq!(
            response.status(),
            201,
            "writes carry on while a peer is stuck"
        );
    }
    // The document asked the slow connection to close.
    kick.notified().await;
}

#[tokio::test]
async fn an_article_holds_a_bounded_number_of_annotations() {
    use glossa::documents::{Documents, Edit};
    use glossa::domain::{
        commands, AnnotationId, Content, ContentLimits, Kind, Target, TextPosition, TextQuote,
    };

    let app = spawn_app().await;
    let article = ArticleId::parse(ARTICLE).unwrap();
    let existing = app
        .desk
        .documents()
        .inspect(&article)
        .await
        .unwrap()
        .annotations
        .len();
    let limits = ContentLimits {
        max_annotations_per_article: existing,
        ..ContentLimits::default()
    };
    let documents = Documents::new(app.desk.store().clone(), limits);
    let now = glossa::clock::now();
    let create = commands::Create {
        id: AnnotationId::parse("one-too-many").unwrap(),
        creator: UserName::parse("alice").unwrap(),
        now,
        content: Content {
            kind: Kind::Comment,
            body: "x".into(),
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
                    exact: "26 nations have pledged".into(),
                    prefix: String::new(),
                    suffix: String::new(),
                },
                position: TextPosition {
                    start: 514,
                    end: 537,
                },
            }],
        },
        assignee: None,
        canonical: None,
        via: None,
    };
    let head = app.log_head();
    let refused = documents
        .edit(
            &article,
            &UserName::parse("alice").unwrap(),
            now,
            Edit::Create(create),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("limit"), "{refused}");
    assert_eq!(app.log_head(), head);
}

/// Fifty writers on one article: 25 sync peers each adding an annotation while 25 REST clients
/// create annotations concurrently. Every peer ends on the server's heads, and a fresh replay
/// of the log gives the same document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_on_one_article_converge() {
    use glossa::documents::Documents;
    use glossa::domain::ContentLimits;

    let app = Arc::new(spawn_app().await);
    let doc_id = document_id(&app).await;
    let mut peers: Vec<Client> = (0..25).map(|_| client("bruno", false, &doc_id)).collect();
    for peer in peers.iter_mut() {
        settle(&app, peer).await;
    }
    let rest = {
        let app = app.clone();
        tokio::spawn(async move {
            let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
            let writes =
                (0..25).map(|_| app.post_annotation("/annotations/", &body, crate::helpers::ALICE));
            for response in futures_util::future::join_all(writes).await {
                assert_eq!(response.status(), 201);
            }
        })
    };
    for (n, peer) in peers.iter_mut().enumerate() {
        add_annotation(
            &mut peer.doc,
            &format!("peer-{n}"),
            "bruno",
            "comment",
            None,
        );
        settle(&app, peer).await;
    }
    rest.await.unwrap();
    // A few more rounds until nobody has anything left to say.
    for _ in 0..3 {
        for peer in peers.iter_mut() {
            settle(&app, peer).await;
        }
    }
    let article = ArticleId::parse(ARTICLE).unwrap();
    let server = app.desk.documents().inspect(&article).await.unwrap();
    for peer in &peers {
        let mut heads: Vec<String> = peer.doc.get_heads().iter().map(|h| h.to_string()).collect();
        heads.sort();
        let mut expected = server.heads.clone();
        expected.sort();
        assert_eq!(heads, expected);
        assert!(peer.errors.is_empty(), "{:?}", peer.errors);
    }
    // A replay of the log gives the same document.
    let replayed = Documents::new(app.desk.store().clone(), ContentLimits::default())
        .inspect(&article)
        .await
        .unwrap();
    assert_eq!(replayed.annotations, server.annotations);
    // And the read models list every annotation of the document (plus the contradiction
    // that lives in another article's document and links this one).
    app.read_models_caught_up().await;
    let listed = app
        .get_json(&format!(
            "/articles/{ARTICLE}/annotations/?iris=1&limit=200"
        ))
        .await;
    let listed: Vec<String> = listed["first"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|iri| iri.as_str().unwrap().rsplit('/').next().unwrap().to_owned())
        .collect();
    for annotation in server.annotations.iter().filter(|a| !a.deleted) {
        assert!(
            listed.contains(&annotation.id.to_string()),
            "{} is not listed",
            annotation.id
        );
    }
}

fn presence(sender: &str, count: u64, document_id: &str) -> Presence {
    Presence {
        document_id: document_id.to_owned(),
        sender_id: sender.to_owned(),
        session_id: format!("{sender}-session"),
        count,
        data: vec![0xa0],
    }
}

/// Presence messages waiting for a client, as (sender, count).
async fn presence_received(app: &TestApp, client: &mut Client) -> Vec<(String, u64)> {
    let article = ArticleId::parse(ARTICLE).unwrap();
    app.desk.documents().inspect(&article).await.unwrap();
    let mut seen = Vec::new();
    while let Ok(outbound) = client.inbox.try_recv() {
        if let Outbound::Presence(p) = outbound {
            seen.push((p.sender_id, p.count));
        }
    }
    seen
}

#[tokio::test]
async fn presence_forwarded_by_a_client_is_relayed_once() {
    // automerge-repo passes each ephemeral message on to every peer but its source, so a
    // browser sends its collaborators' presence back to the server under their sender ids.
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    let article = ArticleId::parse(ARTICLE).unwrap();
    let documents = app.desk.documents();
    let (mut a, mut b, mut c) = (
        client("alice", false, &doc_id),
        client("bruno", false, &doc_id),
        client("victor", true, &doc_id),
    );
    for peer in [&mut a, &mut b, &mut c] {
        settle(&app, peer).await;
    }

    documents
        .presence(&article, a.link.conn, presence("peer-a", 1, &doc_id))
        .await;
    assert_eq!(
        presence_received(&app, &mut b).await,
        [("peer-a".into(), 1)]
    );
    assert_eq!(
        presence_received(&app, &mut c).await,
        [("peer-a".into(), 1)]
    );
    assert!(presence_received(&app, &mut a).await.is_empty());

    // Bruno's client forwards Alice's message: nobody gets it a second time.
    documents
        .presence(&article, b.link.conn, presence("peer-a", 1, &doc_id))
        .await;
    for peer in [&mut a, &mut b, &mut c] {
        assert!(presence_received(&app, peer).await.is_empty());
    }

    // Alice's next heartbeat goes through.
    documents
        .presence(&article, a.link.conn, presence("peer-a", 2, &doc_id))
        .await;
    assert_eq!(
        presence_received(&app, &mut c).await,
        [("peer-a".into(), 2)]
    );
}

/// A field of an annotation in a client's document, as a string (text objects included).
fn field(doc: &Automerge, id: &str, key: &str) -> Option<String> {
    let (_, map) = doc.get(ROOT, "annotations").unwrap()?;
    let (_, obj) = doc.get(&map, id).unwrap()?;
    match doc.get(&obj, key).unwrap()? {
        (automerge::Value::Object(ObjType::Text), text) => Some(doc.text(&text).unwrap()),
        (automerge::Value::Scalar(s), _) => s.as_str().map(str::to_owned),
        _ => None,
    }
}

fn tags(doc: &Automerge, id: &str) -> Vec<String> {
    let (_, map) = doc.get(ROOT, "annotations").unwrap().unwrap();
    let (_, obj) = doc.get(&map, id).unwrap().unwrap();
    let (_, list) = doc.get(&obj, "tags").unwrap().unwrap();
    (0..doc.length(&list))
        .map(|i| match doc.get(&list, i).unwrap().unwrap() {
            (automerge::Value::Object(ObjType::Text), text) => doc.text(&text).unwrap(),
            (automerge::Value::Scalar(s), _) => s.as_str().unwrap().to_owned(),
            other => panic!("a tag is a string, not {other:?}"),
        })
        .collect()
}

/// Alice types in a note while Bruno, in one change, tags the annotation (valid) and gives it a
/// verdict that does not exist (invalid). Alice's typing is concurrent with the compensation:
/// it reaches the server only after it. Only the verdict is put back; the tag and every
/// character Alice typed stay, on the server and on both clients.
#[tokio::test]
async fn a_compensation_puts_back_only_the_invalid_field_and_concurrent_typing_survives() {
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    let mut a = client("alice", false, &doc_id);
    let mut b = client("bruno", false, &doc_id);
    settle(&app, &mut a).await;
    add_annotation(&mut a.doc, "typed", "alice", "fact-check", Some("false"));
    settle(&app, &mut a).await;
    settle(&app, &mut b).await;
    assert_eq!(field(&b.doc, "typed", "verdict").as_deref(), Some("false"));

    // Alice types, and her change stays with her for now.
    {
        let (_, map) = a.doc.get(ROOT, "annotations").unwrap().unwrap();
        let (_, obj) = a.doc.get(&map, "typed").unwrap().unwrap();
        let (_, body) = a.doc.get(&obj, "body").unwrap().unwrap();
        let mut tx = a.doc.transaction();
        let end = tx.length(&body);
        tx.splice_text(&body, end, 0, ", typed while offline")
            .unwrap();
        tx.commit();
    }
    // Bruno's change: one valid field, one invalid.
    {
        let (_, map) = b.doc.get(ROOT, "annotations").unwrap().unwrap();
        let (_, obj) = b.doc.get(&map, "typed").unwrap().unwrap();
        let (_, list) = b.doc.get(&obj, "tags").unwrap().unwrap();
        let mut tx = b.doc.transaction();
        tx.insert(&list, 0, "checked").unwrap();
        tx.put(&obj, "verdict", "pants-on-fire").unwrap();
        tx.commit();
    }
    let head = app.log_head();
    settle(&app, &mut b).await;
    let rejected: Vec<_> = app
        .events()
        .into_iter()
        .filter(|e| e.seq > head && e.event_type == "change.rejected")
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].data["key"], "typed");
    assert_eq!(rejected[0].data["restored"], serde_json::json!(["verdict"]));
    assert_eq!(field(&b.doc, "typed", "verdict").as_deref(), Some("false"));
    assert_eq!(tags(&b.doc, "typed"), ["checked"], "the valid part stays");

    settle(&app, &mut a).await;
    settle(&app, &mut b).await;
    let expected = "from a sync client, typed while offline";
    for (who, doc) in [("alice", &a.doc), ("bruno", &b.doc)] {
        assert_eq!(
            field(doc, "typed", "body").as_deref(),
            Some(expected),
            "{who}"
        );
        assert_eq!(
            field(doc, "typed", "verdict").as_deref(),
            Some("false"),
            "{who}"
        );
        assert_eq!(tags(doc, "typed"), ["checked"], "{who}");
    }
    assert_eq!(a.doc.get_heads(), b.doc.get_heads());
    let article = ArticleId::parse(ARTICLE).unwrap();
    let state = app.desk.documents().inspect(&article).await.unwrap();
    let typed = state
        .annotations
        .iter()
        .find(|x| x.id.as_str() == "typed")
        .unwrap();
    assert_eq!(typed.body, expected);
    assert_eq!(typed.verdict.map(|v| v.as_str()), Some("false"));
    assert_eq!(typed.tags, ["checked"]);
    // The read models follow the log; wait until they have read all of it.
    app.read_models_caught_up().await;
    let json = app.get_json("/annotations/typed").await;
    assert!(json.to_string().contains(expected), "{json}");
}

/// Bruno's client breaks one rule in a change that also edits the note; each time only the
/// broken field gets its last valid value back, and the note edit stays.
#[tokio::test]
async fn each_kind_of_invalid_field_is_put_back_on_its_own() {
    type Mutation = fn(&mut automerge::transaction::Transaction<'_>, &automerge::ObjId);
    let cases: [(&str, Mutation, &str); 11] = [
        (
            "status",
            |tx, obj| tx.put(obj, "status", "resolved").unwrap(),
            "open",
        ),
        (
            "kind",
            |tx, obj| tx.delete(obj, "kind").unwrap(),
            "fact-check",
        ),
        (
            "kind",
            |tx, obj| tx.put(obj, "kind", "comment").unwrap(),
            "fact-check",
        ),
        (
            "verdict",
            |tx, obj| tx.delete(obj, "verdict").unwrap(),
            "false",
        ),
        (
            "creator",
            |tx, obj| tx.put(obj, "creator", "bruno").unwrap(),
            "alice",
        ),
        (
            "created",
            |tx, obj| tx.put(obj, "created", "2020-01-01T00:00:00.000Z").unwrap(),
            "2025-09-04T12:00:00.000Z",
        ),
        (
            "id",
            |tx, obj| tx.put(obj, "id", "someone-else").unwrap(),
            "",
        ),
        // A kind and a verdict that only fit together stay; the forged creator goes back.
        (
            "creator",
            |tx, obj| {
                tx.put(obj, "kind", "comment").unwrap();
                tx.delete(obj, "verdict").unwrap();
                tx.put(obj, "creator", "bruno").unwrap();
            },
            "alice",
        ),
        // A valid status move stays; a passage that is not in the article goes back.
        (
            "targets",
            |tx, obj| {
                tx.put(obj, "status", "in_review").unwrap();
                let (_, targets) = tx.get(obj, "targets").unwrap().unwrap();
                let (_, first) = tx.get(&targets, 0).unwrap().unwrap();
                tx.put(&first, "exact", "words that are not there").unwrap();
            },
            "",
        ),
        (
            "deleted",
            |tx, obj| tx.put(obj, "deleted", "yes").unwrap(),
            "",
        ),
        // Work assigned to nobody on the desk would be assigned to nobody at all.
        (
            "assignee",
            |tx, obj| tx.put(obj, "assignee", "not-on-this-desk").unwrap(),
            "",
        ),
    ];
    let app = spawn_app().await;
    let doc_id = document_id(&app).await;
    let mut a = client("alice", false, &doc_id);
    let mut b = client("bruno", false, &doc_id);
    settle(&app, &mut a).await;
    for (n, (key, mutate, restored)) in cases.into_iter().enumerate() {
        let id = format!("case-{n}");
        add_annotation(&mut a.doc, &id, "alice", "fact-check", Some("false"));
        settle(&app, &mut a).await;
        settle(&app, &mut b).await;
        {
            let (_, map) = b.doc.get(ROOT, "annotations").unwrap().unwrap();
            let (_, obj) = b.doc.get(&map, &id).unwrap().unwrap();
            let (_, body) = b.doc.get(&obj, "body").unwrap().unwrap();
            let mut tx = b.doc.transaction();
            let end = tx.length(&body);
            tx.splice_text(&body, end, 0, " (b)").unwrap();
            mutate(&mut tx, &obj);
            tx.commit();
        }
        let head = app.log_head();
        settle(&app, &mut b).await;
        let events: Vec<_> = app.events().into_iter().filter(|e| e.seq > head).collect();
        let rejected: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "change.rejected")
            .collect();
        assert_eq!(rejected.len(), 1, "{key}");
        assert_eq!(rejected[0].data["key"], id.as_str(), "{key}");
        assert_eq!(
            rejected[0].data["restored"],
            serde_json::json!([key]),
            "{key}: {}",
            rejected[0].data
        );
        assert!(
            events.iter().any(|e| e.event_type == "annotation.updated"),
            "{key}: the note edit is logged"
        );
        let expected = match restored {
            "" if key == "id" => Some(id.clone()),
            "" => None,
            value => Some(value.to_owned()),
        };
        assert_eq!(field(&b.doc, &id, key), expected, "{key}");
        assert_eq!(
            field(&b.doc, &id, "body").as_deref(),
            Some("from a sync client (b)"),
            "{key}"
        );
        let article = ArticleId::parse(ARTICLE).unwrap();
        let state = app.desk.documents().inspect(&article).await.unwrap();
        let on_server = state
            .annotations
            .iter()
            .find(|x| x.id.as_str() == id)
            .unwrap();
        assert_eq!(on_server.body, "from a sync client (b)", "{key}");
        assert_eq!(on_server.creator.as_str(), "alice", "{key}");
        assert!(!on_server.deleted, "{key}");
        if n == 7 {
            assert_eq!(field(&b.doc, &id, "kind").as_deref(), Some("comment"));
            assert_eq!(on_server.kind.as_str(), "comment");
            assert_eq!(on_server.verdict, None);
        }
        if n == 8 {
            assert_eq!(on_server.status.as_str(), "in_review");
            assert_eq!(on_server.targets[0].quote.exact, "26 nations have pledged");
        }
        settle(&app, &mut a).await;
        assert_eq!(a.doc.get_heads(), b.doc.get_heads(), "{key}");
    }
    // A person of the desk may be assigned through sync.
    {
        let (_, map) = b.doc.get(ROOT, "annotations").unwrap().unwrap();
        let (_, obj) = b.doc.get(&map, "case-0").unwrap().unwrap();
        let mut tx = b.doc.transaction();
        tx.put(&obj, "assignee", "bruno").unwrap();
        tx.commit();
    }
    let head = app.log_head();
    settle(&app, &mut b).await;
    assert!(app
        .events()
        .iter()
        .all(|e| e.seq <= head || e.event_type != "change.rejected"));
    assert_eq!(
        field(&b.doc, "case-0", "assignee").as_deref(),
        Some("bruno")
    );
    let article = ArticleId::parse(ARTICLE).unwrap();
    let state = app.desk.documents().inspect(&article).await.unwrap();
    let assigned = state.annotations.iter().find(|x| x.id.as_str() == "case-0");
    assert_eq!(
        assigned
            .and_then(|x| x.assignee.as_ref())
            .map(|a| a.as_str()),
        Some("bruno")
    );
}
