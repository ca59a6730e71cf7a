//! Two replicas of the real binary on one PostgreSQL database behind Caddy with the project's
//! `deploy/Caddyfile`, driven through Caddy alone as people and programs use it: the web UI's
//! API (REST with a token, the event feed, the live tail) and the official automerge-repo
//! client. One replica is SIGKILLed mid-way: nothing acknowledged is lost, the live tail
//! resumes on the other replica, the JS clients reconnect and converge within 5 s, and the
//! killed replica rejoins when it restarts. PostgreSQL only.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::backend::on_postgres;
use crate::caddy::{free_port, Caddy};
use crate::crash::Server;
use crate::helpers::{ensure_node_packages, TestStore, ARTICLE};
use std::sync::atomic::Ordering;

use crate::proxied::{
    comment, cookies, feed, replica_of, session_on, tail, Session, PATIENCE, REPLAYED, SENT_AGAIN,
};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_behind_caddy_lose_nothing_when_one_is_killed() {
    if !on_postgres() {
        eprintln!(
            "replicas_behind_caddy_lose_nothing_when_one_is_killed: skipped, it needs the \
             PostgreSQL backend (GLOSSA_TEST_BACKEND=postgres)"
        );
        return;
    }
    let started = Instant::now();
    ensure_node_packages();
    let desk = TestStore::new();
    let stores = [desk.with_new_data_dir(), desk.with_new_data_dir()];
    let proxy_port = free_port();
    let public_url = format!("http://127.0.0.1:{proxy_port}");
    let addrs: Vec<String> = (0..2)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    // Both replicas start together: start-up work runs once, under the advisory lock.
    let (one, two) = std::thread::scope(|scope| {
        let spawn = |i: usize| {
            let (store, addr, url) = (&stores[i], addrs[i].clone(), public_url.clone());
            scope.spawn(move || Server::start_at(store, &addr, &["--public-url", &url]))
        };
        let (a, b) = (spawn(0), spawn(1));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut replicas = [Some(one), Some(two)];
    let caddy = Caddy::start(proxy_port, &addrs);
    let proxy = caddy.base.clone();

    // The JS clients, through Caddy; A's replica is the one to kill.
    let mut js = crate::js_failover::failover_scenario(&proxy).await;
    let first = js.ready().await;
    let replica_by_cookie = cookies(&proxy, &addrs).await;
    let replica_named = |cookie: &Value| replica_by_cookie[cookie.as_str().unwrap()].clone();
    let victim_addr = replica_named(&first["A"]);
    let victim = addrs.iter().position(|a| *a == victim_addr).unwrap();
    let survivor_addr = addrs[1 - victim].clone();

    // A person on the victim, kept there by Caddy's cookie.
    let session = session_on(&proxy, &victim_addr).await;
    for _ in 0..10 {
        let response = session.get(&format!("/api/articles/{ARTICLE}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            replica_of(&response),
            victim_addr,
            "the stickiness cookie keeps a person on one replica"
        );
    }

    // Their live tail, resumed with Last-Event-ID whenever its stream ends.
    let (seqs_tx, mut seqs_rx) = mpsc::unbounded_channel();
    let tail_task = tokio::spawn(tail(session.clone(), seqs_tx));

    // Writers on the victim, each with its cookie, checking read-your-writes.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut writers = Vec::new();
    for w in 0..4 {
        let (mut session, acknowledged, mut stop_rx) =
            (session.clone(), acknowledged.clone(), stop_rx.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !*stop_rx.borrow_and_update() {
                n += 1;
                let id = comment(&mut session, w * 10_000 + n).await;
                let id = id.expect("a write sent again until acknowledged is acknowledged");
                acknowledged.lock().unwrap().push(id);
            }
        }));
    }
    let wait_for_acks = |count: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            let deadline = Instant::now() + PATIENCE;
            while acknowledged.lock().unwrap().len() < count {
                assert!(
                    Instant::now() < deadline,
                    "{count} writes were not acknowledged"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_for_acks(20).await;

    // Someone on the other replica sees those writes within the propagation time: it follows
    // the log, it does not wait for a write of its own.
    let on_survivor = session_on(&proxy, &survivor_addr).await;
    let last = acknowledged.lock().unwrap().last().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = on_survivor.get(&format!("/annotations/{last}")).await;
        assert_eq!(replica_of(&response), survivor_addr);
        if response.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other replica does not serve {last} 5 s after it was acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // SIGKILL the replica A, the person and their live tail are on, mid-write.
    replicas[victim].take().unwrap().kill();
    let killed_at = Instant::now();
    js.killed();
    let after_kill = acknowledged.lock().unwrap().len();

    // At once, the person's next request reaches the other replica (Caddy retries it there).
    let response = session.get(&format!("/api/articles/{ARTICLE}")).await;
    assert_eq!(response.status(), 200, "a GET right after the kill");
    assert_eq!(replica_of(&response), survivor_addr);

    wait_for_acks(after_kill + 20).await;
    stop_tx.send(true).unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // The JS clients reconnected through Caddy and converged within 5 s of the kill.
    let result = js.finish().await;
    let converged = Duration::from_millis(result["ms"].as_u64().unwrap());
    assert!(
        converged <= Duration::from_secs(5),
        "the JS clients converged {converged:?} after the kill: {result}"
    );
    assert_eq!(
        replica_named(&result["after"]["A"]),
        survivor_addr,
        "A reconnected to the other replica: {result}"
    );
    eprintln!(
        "JS clients converged {converged:?} after the kill ({:?} by the test's clock)",
        killed_at.elapsed()
    );

    // The killed replica rejoins: it restarts on its address, catches up, and Caddy sends
    // new people to it again.
    let restarted = Server::start_at(
        &stores[victim],
        &victim_addr,
        &["--public-url", &public_url],
    );
    let head = feed(&session, 0)
        .await
        .last()
        .map_or(0, |e| e["seq"].as_u64().unwrap());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let health = restarted.json("/healthz").await;
        if health["read_model_checkpoint"].as_u64().unwrap() >= head {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted replica catches up: {health}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for id in &acknowledged {
        assert_eq!(
            restarted.get(&format!("/annotations/{id}")).await.status(),
            200,
            "the restarted replica serves {id}"
        );
    }
    let back = Instant::now() + PATIENCE;
    loop {
        let response = Session::new(&proxy).get("/healthz").await;
        if response.status() == 200 && replica_of(&response) == victim_addr {
            break;
        }
        assert!(
            Instant::now() < back,
            "Caddy sends requests to the restarted replica"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    replicas[victim] = Some(restarted);

    // Every acknowledged write is in the log, which runs from 1 to its head with no gap or
    // duplicate; the JS clients' annotations too.
    let events = feed(&session, 0).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "the feed runs from 1 to its head");
    let ids: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "no event is in the log twice");
    let created: HashSet<&str> = events
        .iter()
        .filter(|e| e["type"] == "annotation.created")
        .filter_map(|e| e["data"]["annotation"]["id"].as_str())
        .collect();
    // Each note once: a POST retried after its replica died was not carried out twice.
    let mut notes = std::collections::HashMap::<&str, usize>::new();
    for event in events.iter().filter(|e| e["type"] == "annotation.created") {
        let body = event["data"]["annotation"]["body"]
            .as_str()
            .unwrap_or_default();
        if body.starts_with("note ") {
            *notes.entry(body).or_default() += 1;
        }
    }
    let doubled: Vec<_> = notes.iter().filter(|(_, count)| **count > 1).collect();
    assert!(doubled.is_empty(), "written twice: {doubled:?}");
    for id in acknowledged.iter().map(String::as_str).chain(
        ["before", "a", "b"]
            .iter()
            .map(|k| result[*k].as_str().unwrap()),
    ) {
        assert!(
            created.contains(id),
            "{id} was acknowledged but is not in the log"
        );
    }

    // The live tail, resumed on the other replica, saw every event once, in order.
    let head = *seqs.last().unwrap();
    let mut tailed = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while tailed.last().copied().unwrap_or(0) < head {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, seqs_rx.recv()).await {
            Ok(Some(seq)) => tailed.push(seq),
            _ => panic!("the live tail stopped at {:?} of {head}", tailed.last()),
        }
    }
    assert_eq!(
        tailed, expected,
        "the live tail saw every event once, in order"
    );
    tail_task.abort();

    // Now the other replica dies with nothing in flight: the first request that meets it is
    // retried on the rejoined one, which serves every acknowledged write alone.
    replicas[1 - victim].take().unwrap().kill();
    let response = on_survivor.get(&format!("/api/articles/{ARTICLE}")).await;
    assert_eq!(
        response.status(),
        200,
        "the first request to a replica just killed is retried on another"
    );
    assert_eq!(replica_of(&response), victim_addr);
    for id in &acknowledged {
        let response = on_survivor.get(&format!("/annotations/{id}")).await;
        assert_eq!(response.status(), 200, "{id} through the rejoined replica");
    }
    eprintln!(
        "{} REST writes acknowledged ({} after the kill; {} attempts sent again, {} answered \
         as replays); test took {:?}",
        acknowledged.len(),
        acknowledged.len() - after_kill,
        SENT_AGAIN.load(Ordering::Relaxed),
        REPLAYED.load(Ordering::Relaxed),
        started.elapsed()
    );
    drop(caddy);
}
