//! The writer's transaction against a real PostgreSQL (the cluster `GLOSSA_TEST_DATABASE_URL`
//! names, as `scripts/with-postgres.sh` exports it; skipped without one): a group commit whose
//! write fails is not acknowledged and leaves nothing behind, even though its `COMMIT` was
//! already on its way; the writer recovers on a new connection. And a local copy whose index
//! does not fit its events is rebuilt from the database. And doorbells rung while the database
//! is out of reach queue one follow, not one each.

use chrono::Utc;
use serde_json::json;
use tokio_postgres::NoTls;

use super::ScratchDatabase;
use crate::domain::{AnnotationId, EventId, StreamId, UserName};
use crate::store::{AppendRequest, Expected, Location, NewEvent, Position, Store};

/// The cluster to test on; `None` (skip) on a sled run, a panic on a PostgreSQL run without one.
fn cluster() -> Option<String> {
    let url = std::env::var("GLOSSA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty());
    let postgres_run =
        std::env::var("GLOSSA_TEST_BACKEND").is_ok_and(|b| b.starts_with("postgres"));
    assert!(
        url.is_some() || !postgres_run,
        "GLOSSA_TEST_BACKEND=postgres needs GLOSSA_TEST_DATABASE_URL; run the suite as \
         `GLOSSA_TEST_BACKEND=postgres scripts/with-postgres.sh cargo test`"
    );
    url
}

fn append(id: EventId, stream: &StreamId, expected: Expected) -> AppendRequest {
    AppendRequest {
        events: vec![NewEvent {
            id,
            stream: stream.clone(),
            event_type: "test.happened".into(),
            schema: 1,
            actor: UserName::parse("alice").unwrap(),
            at: Utc::now(),
            data: json!({"n": 1}),
            change: None,
        }],
        expectations: vec![(stream.clone(), expected)],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_whose_write_fails_is_refused_and_leaves_nothing() {
    let Some(cluster) = cluster() else {
        eprintln!("GLOSSA_TEST_DATABASE_URL is not set; skipped");
        return;
    };
    let database = ScratchDatabase::create(&cluster).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_at(&Location::new(
        dir.path().to_path_buf(),
        Some(database.url.clone()),
    ))
    .unwrap();
    let a = StreamId::Annotation(AnnotationId::parse("a").unwrap());
    let first = store
        .log
        .append(append(EventId::random(), &a, Expected::NoStream))
        .await
        .unwrap();
    assert_eq!(first.positions, vec![Position { seq: 1, version: 1 }]);

    // Another hand takes position 2 behind the log's back: the next insert must fail.
    let (side, connection) = tokio_postgres::connect(&database.url, NoTls).await.unwrap();
    tokio::spawn(connection);
    side.batch_execute(
        "INSERT INTO glossa_events (seq, stream, version, event_id, event_type, schema, actor, \
         at, data) VALUES (2, 'annotation:intruder', 1, gen_random_uuid(), 'x', 1, 'alice', \
         now(), '{}')",
    )
    .await
    .unwrap();
    let refused = EventId::random();
    let answer = store
        .log
        .append(append(refused, &a, Expected::Exact(1)))
        .await;
    assert!(
        answer.is_err(),
        "a failed insert was acknowledged: {answer:?}"
    );
    let row = side
        .query_one(
            "SELECT (SELECT seq FROM glossa_head), \
                    (SELECT version FROM glossa_streams WHERE stream = $1), \
                    (SELECT count(*) FROM glossa_events WHERE event_id = $2)",
            &[&a.to_string(), &refused.0],
        )
        .await
        .unwrap();
    let (head, version, written): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (head, version, written),
        (1, 1, 0),
        "the failed batch left a trace"
    );
    assert_eq!(store.log.head(), 1);
    assert!(store.log.by_id(refused).unwrap().is_none());

    // Once the position is free again, the writer carries on where it was.
    side.batch_execute("DELETE FROM glossa_events WHERE seq = 2")
        .await
        .unwrap();
    let again = store
        .log
        .append(append(refused, &a, Expected::Exact(1)))
        .await
        .unwrap();
    assert_eq!(again.positions, vec![Position { seq: 2, version: 2 }]);
    assert!(!again.duplicate);
    store.close();
    database.drop().await.unwrap();
}

/// A handle on the database at `url` that has not connected yet.
fn unconnected(url: &str) -> super::Database {
    super::Database {
        inner: std::sync::Arc::new(super::Inner {
            config: super::parse(url).unwrap(),
            runtime: super::Background::start("glossa-test-unreachable").unwrap(),
            client: tokio::sync::Mutex::new(None),
            signals: tokio::sync::broadcast::channel(1).0,
        }),
    }
}

/// Given a database out of reach whose first connection hangs (the writer waits out its
/// patience on a follow), when the doorbell rings again and again meanwhile and then an event is
/// appended, then the rings wait as one follow: the append is refused after at most one more
/// try at the database, instead of queueing behind a follow for every ring, each of which could
/// wait out the patience too.
#[tokio::test(flavor = "multi_thread")]
async fn doorbells_rung_while_the_database_is_out_of_reach_queue_one_follow() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::store::log::{EventLog, Sink};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tries = std::sync::Arc::new(AtomicUsize::new(0));
    let (hanging, hangs) = std::sync::mpsc::channel();
    let counted = tries.clone();
    // The first connection is held and never answered; every later one is closed at once.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                held.push(stream);
                let _ = hanging.send(());
            }
        }
    });
    let database = unconnected(&format!("postgres://glossa@127.0.0.1:{port}/glossa"));
    let dir = tempfile::tempdir().unwrap();
    let tree = sled::open(dir.path()).unwrap().open_tree("log").unwrap();
    let index = crate::store::index::Index::open(&tree).unwrap();
    let (committed, _projected) = std::sync::mpsc::channel();
    let log = EventLog::open(tree, index, Sink::Postgres(database.writer()), committed).unwrap();
    let doorbell = log.doorbell();
    assert!(doorbell.ring(None));
    tokio::task::spawn_blocking(move || hangs.recv_timeout(std::time::Duration::from_secs(120)))
        .await
        .unwrap()
        .expect("the writer tries the database to follow it");
    for _ in 0..5 {
        assert!(doorbell.ring(None), "the log is open");
    }
    let a = StreamId::Annotation(AnnotationId::parse("a").unwrap());
    let refused = log
        .append(append(EventId::random(), &a, Expected::NoStream))
        .await;
    assert!(refused.is_err(), "nothing can be committed: {refused:?}");
    let tries = tries.load(Ordering::SeqCst);
    assert_eq!(
        tries, 3,
        "the append waited behind {tries} tries at the database: the hanging follow, one \
         for the rings since, and its own should be all"
    );
    log.close();
}

/// A server that takes the connection and never answers (one shutting down, or hung): the
/// writer gives up on it within its patience and refuses the batch, instead of holding every
/// append behind it. Needs no PostgreSQL: a listener that never speaks stands in for it.
#[test]
fn a_database_that_takes_the_connection_and_never_answers_refuses_the_batch() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://glossa@127.0.0.1:{port}/glossa");
    let database = unconnected(&url);
    let dir = tempfile::tempdir().unwrap();
    let tree = sled::open(dir.path()).unwrap().open_tree("log").unwrap();
    let index = crate::store::index::Index::open(&tree).unwrap();
    let a = StreamId::Annotation(AnnotationId::parse("a").unwrap());
    let request = append(EventId::random(), &a, Expected::NoStream);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let refused = match database.writer().commit(&tree, &index, 0, &[&request]) {
            Err(crate::store::log::Failure::Transient(error)) => Some(error.to_string()),
            _ => None,
        };
        let _ = tx.send(refused);
    });
    // Far beyond the writer's patience: only a writer that never gives up fails this.
    let refused = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the writer gave up on a server that never answers");
    let refused = refused.expect("the batch is refused, as one the database cannot take now");
    assert!(refused.contains("no answer within"), "{refused}");
    drop(silent);
}

/// Given a local copy whose events are gone but whose index chunks are left (a rebuild of the
/// copy cut short: sled clears a tree key by key), when the store opens again, then the copy is
/// rebuilt from the database and serves every event by position, id and stream.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_whose_index_does_not_fit_its_events_is_rebuilt() {
    use crate::store::keys;

    let Some(cluster) = cluster() else {
        eprintln!("GLOSSA_TEST_DATABASE_URL is not set; skipped");
        return;
    };
    let database = ScratchDatabase::create(&cluster).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let location = Location::new(dir.path().to_path_buf(), Some(database.url.clone()));
    let store = Store::open_at(&location).unwrap();
    let streams: Vec<StreamId> = (0..5)
        .map(|i| StreamId::Annotation(AnnotationId::parse(&format!("s{i}")).unwrap()))
        .collect();
    let events = (0..300)
        .map(|i| append(EventId::random(), &streams[i % 5], Expected::Any).events[0].clone())
        .collect();
    let request = AppendRequest {
        events,
        expectations: Vec::new(),
    };
    store.log.append(request).await.unwrap();
    let every = store.log.read_after(0, 1000).unwrap();
    store.close();
    {
        let db = sled::open(dir.path().join("sled")).unwrap();
        let log = db.open_tree(keys::LOG_TREE).unwrap();
        assert!(log.scan_prefix(keys::index_chunk_prefix()).count() > 0);
        for entry in log.scan_prefix(keys::event_prefix()) {
            log.remove(entry.unwrap().0).unwrap();
        }
        db.flush().unwrap();
    }
    let store = Store::open_at(&location).unwrap();
    assert_eq!(store.log.read_after(0, 1000).unwrap(), every);
    for record in &every {
        assert_eq!(store.log.by_id(record.id).unwrap().as_ref(), Some(record));
    }
    for on in &streams {
        let mine: Vec<_> = every.iter().filter(|r| &r.stream == on).cloned().collect();
        assert_eq!(store.log.read_stream(on, 0).unwrap(), mine);
        assert_eq!(store.log.stream_version(on).unwrap(), 60);
    }
    store.close();
    database.drop().await.unwrap();
}
