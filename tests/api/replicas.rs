//! Two servers on one PostgreSQL desk (each with its own data directory): what one appends
//! reaches the other's reads, documents and sync peers, and people typing on both converge.
//! PostgreSQL only: in the embedded pass these return at once, saying so.

use std::time::Duration;

use automerge::sync::{self, SyncDoc};
use glossa::documents::Outbound;
use glossa::domain::ArticleId;

use crate::backend::{on_postgres, TestStore};
use crate::helpers::{id_of, spawn_app_on, TestApp, ALICE, ARTICLE};
use crate::sync::{add_annotation, client, document_id, has, settle, Client};

/// How long a replica may take to hear of another's write before the test gives up (far above
/// the propagation time; the test waits for the event, not for this).
const PATIENCE: Duration = Duration::from_secs(30);

fn skipped(test: &str) -> bool {
    if !on_postgres() {
        eprintln!(
            "{test}: skipped, it needs the PostgreSQL backend (GLOSSA_TEST_BACKEND=postgres)"
        );
        return true;
    }
    false
}

/// A desk with two servers, each with a data directory of its own. The desk's storage must
/// outlive the servers.
async fn two_replicas() -> (Replicas, TestApp, TestApp) {
    let desk = TestStore::new();
    let one = spawn_app_on(&desk).await;
    let other_dir = desk.with_new_data_dir();
    let other = spawn_app_on(&other_dir).await;
    (Replicas(desk, other_dir), one, other)
}

/// The storage of [`two_replicas`]: the database and both data directories.
struct Replicas(TestStore, #[allow(dead_code)] TestStore);

/// The article's document id, and a sync peer on each server (alice on `one`, bruno on
/// `other`), both in sync.
async fn a_peer_on_each(one: &TestApp, other: &TestApp) -> (String, Client, Client) {
    let doc_id = document_id(one).await;
    let mut alice = client("alice", false, &doc_id);
    let mut bruno = client("bruno", false, &doc_id);
    settle(one, &mut alice).await;
    settle(other, &mut bruno).await;
    (doc_id, alice, bruno)
}

/// The heads of the article's document on `app`.
async fn heads(app: &TestApp) -> Vec<String> {
    let article = ArticleId::parse(ARTICLE).unwrap();
    app.desk.documents().inspect(&article).await.unwrap().heads
}

/// Waits until `app`'s local log and read models hold position `seq`.
async fn holds(app: &TestApp, seq: u64) {
    let mut head = app.desk.store().log.watch_head();
    tokio::time::timeout(PATIENCE, head.wait_for(|head| *head >= seq))
        .await
        .expect("the other replica copies the write")
        .expect("the log stays open");
    app.desk
        .store()
        .read_model
        .wait_for(seq)
        .await
        .expect("the read models catch up");
}

/// Takes what the server sends a peer until `done` holds of its document.
async fn receive_until(client: &mut Client, done: impl Fn(&automerge::Automerge) -> bool) {
    while !done(&client.doc) {
        let outbound = tokio::time::timeout(PATIENCE, client.inbox.recv())
            .await
            .expect("the peer hears of the change")
            .expect("the peer stays connected");
        if let Outbound::Sync { data, .. } = outbound {
            let message = sync::Message::decode(&data).unwrap();
            client
                .doc
                .receive_sync_message(&mut client.state, message)
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_write_on_one_replica_reaches_the_others_reads_and_peers() {
    if skipped("a_write_on_one_replica_reaches_the_others_reads_and_peers") {
        return;
    }
    let (_desk, one, other) = two_replicas().await;
    let doc_id = document_id(&other).await;
    let mut peer = client("bruno", false, &doc_id);
    settle(&other, &mut peer).await;

    let body = one.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = one.post_annotation("/annotations/", &body, ALICE).await;
    assert_eq!(created.status(), 201);
    let id = id_of(&created);
    let written: serde_json::Value = one.get_json(&format!("/annotations/{id}")).await;

    holds(&other, one.log_head()).await;
    let read: serde_json::Value = other.get_json(&format!("/annotations/{id}")).await;
    // Each server names itself in ids and links.
    let written = written.to_string().replace(&one.base, &other.base);
    assert_eq!(
        read.to_string(),
        written,
        "the other replica serves the same annotation"
    );
    receive_until(&mut peer, |doc| has(doc, &id)).await;
    assert_eq!(
        heads(&one).await,
        heads(&other).await,
        "both replicas' documents are at the same heads"
    );
}

#[tokio::test]
async fn time_travel_and_the_w3c_containers_read_the_same_on_every_replica() {
    if skipped("time_travel_and_the_w3c_containers_read_the_same_on_every_replica") {
        return;
    }
    let (_desk, one, other) = two_replicas().await;
    // An annotation created, then moved to review, on one replica.
    let body = one.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = one.post_annotation("/annotations/", &body, ALICE).await;
    assert_eq!(created.status(), 201);
    let id = id_of(&created);
    let made = one.log_head();
    let status = one
        .post_json(
            &format!("/api/annotations/{id}/status"),
            &serde_json::json!({"status": "in_review"}),
            ALICE,
        )
        .await;
    assert_eq!(status.status(), 200);
    let reviewed = one.log_head();
    holds(&other, reviewed).await;

    let listing = format!("/articles/{ARTICLE}/annotations/?iris=0&limit=200");
    let paths = [
        format!("/annotations/{id}?at={made}"),
        format!("/annotations/{id}?at={reviewed}"),
        format!("/annotations/{id}"),
        format!("{listing}&at={made}"),
        format!("{listing}&at={}", made - 1),
        listing.clone(),
        format!("/articles/{ARTICLE}/annotations/"),
        "/annotations/".to_owned(),
    ];
    for path in &paths {
        let (a, b) = (one.get(path).await, other.get(path).await);
        assert_eq!(a.status(), 200, "{path} on the writer");
        assert_eq!(b.status(), 200, "{path} on the other replica");
        // Each server names itself in ids and links.
        let a = a.text().await.unwrap().replace(&one.base, &other.base);
        assert_eq!(b.text().await.unwrap(), a, "{path}");
    }
    // The past is the past on both: open when made, in review after.
    let then: serde_json::Value = other
        .get_json(&format!("/annotations/{id}?at={made}"))
        .await;
    let now: serde_json::Value = other.get_json(&format!("/annotations/{id}")).await;
    assert_ne!(then, now);
    let before: serde_json::Value = other.get_json(&format!("{listing}&at={}", made - 1)).await;
    let after: serde_json::Value = other.get_json(&listing).await;
    assert_eq!(
        after["total"].as_u64().unwrap(),
        before["total"].as_u64().unwrap() + 1
    );
}

#[tokio::test]
async fn peers_typing_on_two_replicas_converge() {
    if skipped("peers_typing_on_two_replicas_converge") {
        return;
    }
    let (_desk, one, other) = two_replicas().await;
    let (_, mut alice, mut bruno) = a_peer_on_each(&one, &other).await;

    let mut ids = Vec::new();
    for round in 0..5 {
        let (a, b) = (format!("from-alice-{round}"), format!("from-bruno-{round}"));
        add_annotation(&mut alice.doc, &a, "alice", "comment", None);
        add_annotation(&mut bruno.doc, &b, "bruno", "comment", None);
        tokio::join!(settle(&one, &mut alice), settle(&other, &mut bruno));
        ids.extend([a, b]);
    }
    let all = |doc: &automerge::Automerge| ids.iter().all(|id| has(doc, id));
    receive_until(&mut alice, all).await;
    receive_until(&mut bruno, all).await;
    settle(&one, &mut alice).await;
    settle(&other, &mut bruno).await;
    assert_eq!(
        alice.doc.get_heads(),
        bruno.doc.get_heads(),
        "the peers converge"
    );
    assert_eq!(
        heads(&one).await,
        heads(&other).await,
        "and so do the replicas"
    );
    let head = one.log_head().max(other.log_head());
    holds(&one, head).await;
    for id in &ids {
        assert_eq!(
            one.get(&format!("/annotations/{id}")).await.status(),
            200,
            "{id} is served"
        );
    }
}

/// Asks `app` who the token's user is until the answer is `status`: a change made on another
/// replica holds here once this replica has copied and folded it.
async fn me_until(app: &TestApp, token: &str, status: u16) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = app
            .request(reqwest::Method::GET, "/api/me", Some(token))
            .send()
            .await
            .unwrap()
            .status();
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/api/me still answers {got}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_token_issued_or_revoked_on_one_replica_holds_on_the_other() {
    if skipped("a_token_issued_or_revoked_on_one_replica_holds_on_the_other") {
        return;
    }
    let (_desk, one, other) = two_replicas().await;

    let issued: serde_json::Value = one
        .json_as(
            reqwest::Method::POST,
            "/api/users/bruno/tokens",
            Some(crate::helpers::CHIARA),
        )
        .await;
    let token = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    me_until(&other, &token, 200).await;

    // A live tail open on the other replica with that token closes when it is revoked here.
    let mut tail = other
        .request(reqwest::Method::GET, "/api/events/stream", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 200);
    let revoked = one
        .request(
            reqwest::Method::DELETE,
            &format!("/api/tokens/{id}"),
            Some(crate::helpers::CHIARA),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match tail.chunk().await {
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the other replica closes the revoked token's live tail"
    );
    assert_eq!(
        other
            .request(reqwest::Method::GET, "/api/me", Some(&token))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "and refuses it from then on"
    );
}

#[tokio::test]
async fn replicas_starting_together_ready_the_desk_once() {
    if skipped("replicas_starting_together_ready_the_desk_once") {
        return;
    }
    let desk = TestStore::new();
    let other_dir = desk.with_new_data_dir();
    let third_dir = desk.with_new_data_dir();
    let (one, other, third) = tokio::join!(
        spawn_app_on(&desk),
        spawn_app_on(&other_dir),
        spawn_app_on(&third_dir)
    );
    let head = one.log_head().max(other.log_head()).max(third.log_head());
    for app in [&one, &other, &third] {
        holds(app, head).await;
    }
    let events = one.events();
    let mut ids: Vec<_> = events.iter().map(|e| e.id).collect();
    ids.sort_unstable_by_key(|id| id.0);
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "no event is in the log twice");
    let count = |kind: &str| events.iter().filter(|e| e.event_type == kind).count();
    assert_eq!(count("article.created"), 5, "the five seed articles, once");
    assert_eq!(count("style.rules_set"), 1, "one house-style term list");
    let total = one.get_json("/annotations/?limit=200").await["total"].clone();
    for app in [&other, &third] {
        assert_eq!(
            app.get_json("/annotations/?limit=200").await["total"],
            total
        );
    }
}

#[tokio::test]
async fn presence_crosses_replicas_once_and_is_never_stored() {
    if skipped("presence_crosses_replicas_once_and_is_never_stored") {
        return;
    }
    let (_desk, one, other) = two_replicas().await;
    let (doc_id, mut alice, mut bruno) = a_peer_on_each(&one, &other).await;
    let head = one.log_head();

    let article = ArticleId::parse(ARTICLE).unwrap();
    let cursor = glossa::documents::Presence {
        document_id: doc_id.clone(),
        sender_id: "peer-alice".into(),
        session_id: "alice-session".into(),
        count: 1,
        data: vec![0xa1, 0x61, 0x78, 0x01],
    };
    one.desk
        .documents()
        .presence(&article, alice.link.conn, cursor.clone())
        .await;
    let received = tokio::time::timeout(PATIENCE, async {
        loop {
            match bruno.inbox.recv().await.expect("bruno stays connected") {
                Outbound::Presence(presence) => return presence,
                _ => continue,
            }
        }
    })
    .await
    .expect("bruno, on the other replica, sees alice's presence");
    assert_eq!(
        (received.sender_id, received.count, received.data),
        (cursor.sender_id, cursor.count, cursor.data)
    );
    // Alice does not get her own presence back from the other replica, and nothing is logged.
    settle(&one, &mut alice).await;
    assert!(!alice.errors.iter().any(|e| e.contains("presence")));
    while let Ok(outbound) = alice.inbox.try_recv() {
        assert!(!matches!(outbound, Outbound::Presence(_)), "no echo");
    }
    assert_eq!(one.log_head(), head, "presence is never stored");
}

/// The races the process's documents have lost so far, from `/metrics`.
async fn races(app: &TestApp) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("glossa_document_append_races_total "))
        .map_or(0.0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn two_replicas_appending_to_one_document_at_once_both_succeed_after_a_race() {
    if skipped("two_replicas_appending_to_one_document_at_once_both_succeed_after_a_race") {
        return;
    }
    let (desk, one, other) = two_replicas().await;
    let article = ArticleId::parse(ARTICLE).unwrap();
    // Both documents loaded, at the same version.
    holds(&other, one.log_head()).await;
    one.desk.documents().inspect(&article).await.unwrap();
    other.desk.documents().inspect(&article).await.unwrap();
    let before = races(&one).await;

    // A transaction holding the log's head lock makes both appends wait, so both are decided on
    // the same version of the document: the second to get the lock has lost a race.
    let url = desk.0.database_url.clone().unwrap();
    let holder = crate::backend::connect(&url).await;
    holder.batch_execute("BEGIN").await.unwrap();
    holder
        .query_one("SELECT seq FROM glossa_head FOR UPDATE", &[])
        .await
        .unwrap();
    let first = one.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let second = other
        .fact_check_on(ARTICLE, "26 nations have pledged")
        .await;
    let writes = tokio::spawn({
        let (one_base, other_base) = (one.base.clone(), other.base.clone());
        async move {
            let post = |base: String, body: serde_json::Value| async move {
                reqwest::Client::new()
                    .post(format!("{base}/annotations/"))
                    .bearer_auth(ALICE)
                    .header("Content-Type", crate::helpers::JSONLD)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
            };
            tokio::join!(post(one_base, first), post(other_base, second))
        }
    });
    // Both servers' transactions are queued behind the lock.
    let waiting = tokio::time::timeout(PATIENCE, async {
        loop {
            let row = holder
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap();
            if row.get::<_, i64>(0) >= 2 {
                return;
            }
            if writes.is_finished() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    holder.batch_execute("COMMIT").await.unwrap();
    let (a, b) = writes.await.unwrap();
    if waiting.is_err() || a.status() != 201 || b.status() != 201 {
        panic!(
            "both servers should wait for the head lock, then both writes succeed: {} {}",
            a.text().await.unwrap(),
            b.text().await.unwrap()
        );
    }
    assert_eq!(
        (a.status().as_u16(), b.status().as_u16()),
        (201, 201),
        "neither write is refused"
    );
    let (a, b) = (id_of(&a), id_of(&b));

    let lost = races(&one).await + races(&other).await - 2.0 * before;
    assert!(lost >= 1.0, "a race was lost and retried ({lost})");
    let head = one.log_head().max(other.log_head());
    holds(&one, head).await;
    holds(&other, head).await;
    for app in [&one, &other] {
        for id in [&a, &b] {
            assert_eq!(app.get(&format!("/annotations/{id}")).await.status(), 200);
        }
    }
    assert_eq!(heads(&one).await, heads(&other).await);
    // The document stream's versions stay contiguous.
    let versions: Vec<u64> = one
        .events()
        .iter()
        .filter(|e| e.stream == glossa::domain::StreamId::Document(article.clone()))
        .map(|e| e.version)
        .collect();
    assert!(versions.iter().enumerate().all(|(i, v)| *v == i as u64 + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_creating_on_one_article_at_once_refuse_no_valid_write() {
    if skipped("three_replicas_creating_on_one_article_at_once_refuse_no_valid_write") {
        return;
    }
    const WRITERS: usize = 5;
    const EACH: usize = 8;
    let desk = TestStore::new();
    let first = spawn_app_on(&desk).await;
    let (second_dir, third_dir) = (desk.with_new_data_dir(), desk.with_new_data_dir());
    let apps = [
        first,
        spawn_app_on(&second_dir).await,
        spawn_app_on(&third_dir).await,
    ];
    let article = ArticleId::parse(ARTICLE).unwrap();
    for app in &apps {
        holds(app, apps[0].log_head()).await;
        app.desk.documents().inspect(&article).await.unwrap();
    }
    let before: f64 = futures_util::future::join_all(apps.iter().map(races))
        .await
        .iter()
        .sum();
    // Five writers on each replica, each creating one annotation after another on one article.
    let mut writers = Vec::new();
    for app in &apps {
        let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
        for _ in 0..WRITERS {
            let (base, body) = (app.base.clone(), body.to_string());
            writers.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut answers = Vec::new();
                for _ in 0..EACH {
                    let response = client
                        .post(format!("{base}/annotations/"))
                        .bearer_auth(ALICE)
                        .header("Content-Type", crate::helpers::JSONLD)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = response.status().as_u16();
                    answers.push(match status {
                        201 => Ok(id_of(&response)),
                        _ => Err(format!("{status}: {}", response.text().await.unwrap())),
                    });
                }
                answers
            }));
        }
    }
    let mut created = Vec::new();
    let mut refused = Vec::new();
    for writer in writers {
        for answer in writer.await.unwrap() {
            match answer {
                Ok(id) => created.push(id),
                Err(why) => refused.push(why),
            }
        }
    }
    assert!(
        refused.is_empty(),
        "{} valid creates refused, the first: {:?}",
        refused.len(),
        refused.first()
    );
    assert_eq!(created.len(), 3 * WRITERS * EACH);
    let after: f64 = futures_util::future::join_all(apps.iter().map(races))
        .await
        .iter()
        .sum();
    assert!(after > before, "the replicas raced ({before} → {after})");

    let head = apps.iter().map(TestApp::log_head).max().unwrap();
    for app in &apps {
        holds(app, head).await;
    }
    let versions: Vec<u64> = apps[0]
        .events()
        .iter()
        .filter(|e| e.stream == glossa::domain::StreamId::Document(article.clone()))
        .map(|e| e.version)
        .collect();
    assert!(versions.iter().enumerate().all(|(i, v)| *v == i as u64 + 1));
    // Each change records the document's heads right after it, as a replay of the log finds
    // them (what a snapshot is checked against).
    let mut replay = automerge::Automerge::new();
    for record in apps[0].events() {
        let (Some(bytes), glossa::domain::StreamId::Document(of)) =
            (&record.change, &record.stream)
        else {
            continue;
        };
        if of != &article {
            continue;
        }
        replay
            .apply_changes([automerge::Change::from_bytes(bytes.clone()).unwrap()])
            .unwrap();
        let mut now: Vec<String> = replay.get_heads().iter().map(|h| h.to_string()).collect();
        let mut recorded: Vec<String> =
            serde_json::from_value(record.data["heads"].clone()).unwrap();
        now.sort();
        recorded.sort();
        assert_eq!(recorded, now, "the heads recorded at {}", record.seq);
    }
    // Every replica's document comes to hold the whole logged document and every annotation
    // created, as a sync peer of that replica sees it (each replica hands what it copies from
    // the log to its loaded document a moment after its log holds it).
    let logged = replay.get_heads();
    let doc_id = document_id(&apps[0]).await;
    for app in &apps {
        let mut peer = client("bruno", false, &doc_id);
        settle(app, &mut peer).await;
        receive_until(&mut peer, |doc| {
            automerge::ReadDoc::get_missing_deps(doc, &logged).is_empty()
                && created.iter().all(|id| has(doc, id))
        })
        .await;
    }
}

#[tokio::test]
async fn a_live_tail_resumes_on_another_replica_from_a_last_event_id_given_by_the_first() {
    if skipped("a_live_tail_resumes_on_another_replica_from_a_last_event_id_given_by_the_first") {
        return;
    }
    let (_desk, one, other) = two_replicas().await;
    let body = one.fact_check_on(ARTICLE, "26 nations have pledged").await;
    // A consumer read the feed on one replica up to here…
    let resume_from = one.log_head();
    for _ in 0..3 {
        let created = one.post_annotation("/annotations/", &body, ALICE).await;
        assert_eq!(created.status(), 201);
    }
    let head = one.log_head();
    // …and resumes on the other: it gets every later event, in order, none twice.
    let mut tail = other
        .request(reqwest::Method::GET, "/api/events/stream", Some(ALICE))
        .header("Last-Event-ID", resume_from.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 200);
    let mut seen = Vec::new();
    let mut text = String::new();
    let read = tokio::time::timeout(PATIENCE, async {
        while seen.last().is_none_or(|last| *last < head) {
            let chunk = tail.chunk().await.unwrap().expect("the tail stays open");
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if let Some(id) = event.lines().find_map(|l| l.strip_prefix("id: ")) {
                    seen.push(id.trim().parse::<u64>().unwrap());
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the other replica's tail reaches {head}: {seen:?}"
    );
    let expected: Vec<u64> = (resume_from + 1..=head).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn two_replicas_come_back_by_themselves_after_postgresql_crashes() {
    if skipped("two_replicas_come_back_by_themselves_after_postgresql_crashes") {
        return;
    }
    let cluster = crate::pg_cluster::PgCluster::start();
    let desk = cluster.store();
    let one = spawn_app_on(&desk).await;
    let other_dir = desk.with_new_data_dir();
    let other = spawn_app_on(&other_dir).await;
    let (_, mut alice, mut bruno) = a_peer_on_each(&one, &other).await;
    let before = note(&one).await;
    assert_eq!(before.status(), 201);
    let acknowledged = vec![id_of(&before)];

    cluster.stop("immediate");
    for app in [&one, &other] {
        assert_eq!(
            note(app).await.status(),
            503,
            "no write while the database is away"
        );
    }
    cluster.start_again();

    // Both take writes again without a restart, and each sees the other's.
    let mut acknowledged = acknowledged;
    for app in [&one, &other] {
        let created = note(app).await;
        assert_eq!(created.status(), 201);
        acknowledged.push(id_of(&created));
    }
    let head = one.log_head().max(other.log_head());
    holds(&one, head).await;
    holds(&other, head).await;
    for app in [&one, &other] {
        for id in &acknowledged {
            assert_eq!(app.get(&format!("/annotations/{id}")).await.status(), 200);
        }
    }
    let all = |doc: &automerge::Automerge| acknowledged.iter().all(|id| has(doc, id));
    receive_until(&mut alice, all).await;
    receive_until(&mut bruno, all).await;
    // The log runs 1..head with nothing twice.
    let seqs: Vec<u64> = one.events().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
    assert_eq!(
        one.events(),
        other.events(),
        "both copies hold the same log"
    );
}

/// POSTs a comment on `app`, on a connection of its own (a kept-alive one may have been closed
/// by the server's keep-alive timeout while PostgreSQL was away).
async fn note(app: &TestApp) -> reqwest::Response {
    let body = serde_json::json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "a note",
        "target": {
            "source": format!("{}/articles/{ARTICLE}", app.base),
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    });
    reqwest::Client::new()
        .post(app.url("/annotations/"))
        .bearer_auth(ALICE)
        .header("Content-Type", crate::helpers::JSONLD)
        .body(body.to_string())
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn a_write_on_one_replica_is_found_at_once_by_a_search_on_the_other() {
    if skipped("a_write_on_one_replica_is_found_at_once_by_a_search_on_the_other") {
        return;
    }
    let (_desk, one, other) = two_replicas().await;
    let mut body = one.fact_check_on(ARTICLE, "26 nations").await;
    body["body"][0]["value"] = "The ministry's zygomorphic chart is not sourced.".into();
    let response = one.post_annotation("/annotations/", &body, ALICE).await;
    assert_eq!(response.status(), 201);
    let id = id_of(&response);
    // No waiting: a search first brings its replica's copy level with the database.
    let page = other.get_json("/api/search?q=zygomorphic").await;
    assert_eq!(page["total"], 1, "{page:#}");
    assert_eq!(page["items"][0]["id"], id.as_str());
}
