//! Gap-freedom: positions are contiguous and in commit order while a transaction holding the
//! head's lock (with a row it will roll back) keeps every appender waiting.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use glossa::domain::{AnnotationId, EventId, StreamId, UserName};
use glossa::store::{AppendRequest, NewEvent, Store};
use serde_json::json;

use super::on_postgres_or_skip;
use crate::backend::connect;
use crate::helpers::TestStore;

/// Stores on one database, each with its own data directory: separate processes, as far as
/// PostgreSQL can tell.
const STORES: usize = 3;
/// Appenders per store, and appends each makes.
const APPENDERS: usize = 8;
const APPENDS: usize = 12;

fn request(store: usize, appender: usize, n: usize) -> AppendRequest {
    let stream = StreamId::Annotation(
        AnnotationId::parse(&format!("gap-{store}-{appender}")).expect("an annotation id"),
    );
    // One to three events, so batches of several sizes interleave.
    let events = (0..1 + n % 3)
        .map(|k| NewEvent {
            id: EventId::random(),
            stream: stream.clone(),
            event_type: "test.appended".into(),
            schema: 1,
            actor: UserName::parse("alice").unwrap(),
            at: Utc::now(),
            data: json!({"store": store, "appender": appender, "n": n, "k": k}),
            change: None,
        })
        .collect();
    AppendRequest {
        events,
        expectations: Vec::new(),
    }
}

/// Follows the feed in the database, one statement (one snapshot) at a time, until `total`
/// positions; every row must be the next position. Returns what it saw.
async fn follow_database(url: String, total: u64) -> BTreeMap<u64, uuid::Uuid> {
    let client = connect(&url).await;
    let mut seen = BTreeMap::new();
    let mut last = 0u64;
    while last < total {
        let rows = client
            .query(
                "SELECT seq, event_id FROM glossa_events WHERE seq > $1 ORDER BY seq",
                &[&(last as i64)],
            )
            .await
            .expect("the feed reads");
        for row in rows {
            let seq = row.get::<_, i64>(0) as u64;
            assert_eq!(seq, last + 1, "the feed skipped from {last} to {seq}");
            seen.insert(seq, row.get(1));
            last = seq;
        }
    }
    seen
}

/// Follows one store's local log through its durable head.
async fn follow_store(store: Store, total: u64) -> Vec<u64> {
    let mut head = store.log.watch_head();
    let mut seen = Vec::new();
    let mut last = 0u64;
    while last < total {
        for record in store
            .log
            .read_after(last, usize::MAX)
            .expect("the log reads")
        {
            assert_eq!(record.seq, last + 1, "the store's feed skipped a position");
            last = record.seq;
            seen.push(last);
        }
        if last < total {
            head.changed().await.expect("the store is open");
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_stay_contiguous_while_a_transaction_holds_the_head() {
    if !on_postgres_or_skip("positions_stay_contiguous_while_a_transaction_holds_the_head") {
        return;
    }
    let desk = TestStore::new();
    let url = desk.database_url.clone().expect("a database");
    let desks: Vec<TestStore> = (0..STORES).map(|_| desk.with_new_data_dir()).collect();
    let stores: Vec<Store> = desks
        .iter()
        .map(|desk| Store::open_at(&desk.location()).expect("the store opens on PostgreSQL"))
        .collect();

    // A transaction that takes the head's lock, writes the next position, and waits.
    let mut holder = connect(&url).await;
    let held = holder.transaction().await.unwrap();
    let head: i64 = held
        .query_one("SELECT seq FROM glossa_head FOR UPDATE", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(head, 0);
    let rolled_back = uuid::Uuid::new_v4();
    held.execute(
        "INSERT INTO glossa_events (seq, stream, version, event_id, event_type, schema, actor, \
         at, data) VALUES (1, 'annotation-rolled-back', 1, $1, 'test.appended', 1, 'alice', \
         now(), '{}')",
        &[&rolled_back],
    )
    .await
    .unwrap();

    let total: u64 = (0..STORES * APPENDERS * APPENDS)
        .map(|i| 1 + (i % APPENDS) as u64 % 3)
        .sum();
    let readers = (
        tokio::spawn(follow_database(url.clone(), total)),
        tokio::spawn(follow_store(stores[0].clone(), total)),
    );
    let mut appenders = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for a in 0..APPENDERS {
            let store = store.clone();
            appenders.push(tokio::spawn(async move {
                let mut landed = Vec::new();
                for n in 0..APPENDS {
                    let req = request(s, a, n);
                    let ids: Vec<EventId> = req.events.iter().map(|e| e.id).collect();
                    let committed = store.log.append(req).await.expect("the append commits");
                    landed.extend(
                        ids.into_iter()
                            .zip(committed.positions.iter().map(|p| p.seq)),
                    );
                }
                landed
            }));
        }
    }

    // Every store's writer is waiting for the lock before it is let go.
    let watcher = connect(&url).await;
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting >= STORES as i64 {
            break;
        }
        tokio::task::yield_now().await;
    }
    held.rollback().await.unwrap();

    let mut acknowledged = Vec::new();
    for appender in appenders {
        acknowledged.extend(appender.await.expect("the appender ran"));
    }
    let seen = readers.0.await.expect("the database reader ran");
    // The last store to commit may not have copied the others' events yet: one more append
    // brings the first store's copy level.
    stores[0]
        .log
        .append(request(0, APPENDERS, 0))
        .await
        .expect("the last append commits");
    let local = readers.1.await.expect("the store reader ran");
    assert!(local.len() as u64 >= total, "the store's feed ends early");
    assert_eq!(
        local,
        (1..=local.len() as u64).collect::<Vec<_>>(),
        "the store's feed"
    );

    let final_rows: BTreeMap<u64, uuid::Uuid> = connect(&url)
        .await
        .query("SELECT seq, event_id FROM glossa_events ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get::<_, i64>(0) as u64, row.get(1)))
        .collect();
    let positions: Vec<u64> = final_rows.keys().copied().collect();
    assert_eq!(positions, (1..=total + 1).collect::<Vec<_>>(), "1..N");
    assert!(
        !final_rows.values().any(|id| *id == rolled_back),
        "the rolled-back row is not in the log"
    );
    for (seq, id) in &seen {
        assert_eq!(final_rows.get(seq), Some(id), "position {seq} changed");
        assert_ne!(*id, rolled_back, "the reader saw a row that rolled back");
    }
    // Every acknowledgement names where the event is, once.
    let ids: HashSet<EventId> = acknowledged.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len() as u64, total);
    for (id, seq) in &acknowledged {
        assert_eq!(final_rows.get(seq), Some(&id.0), "event {id:?} at {seq}");
    }
    let copy = stores[0].log.read_after(0, usize::MAX).unwrap();
    assert_eq!(copy.len() as u64, total + 1);
    for record in copy {
        assert_eq!(
            final_rows.get(&record.seq),
            Some(&record.id.0),
            "the local copy"
        );
    }
    for store in stores {
        store.close();
    }
}
