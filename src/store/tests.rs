//! Store tests, each on a temporary data directory.

use chrono::Utc;
use serde_json::json;

use super::*;
use crate::domain::{AnnotationId, EventId, StreamId, UserName};

fn stream(name: &str) -> StreamId {
    StreamId::Annotation(AnnotationId::parse(name).unwrap())
}

fn event(id: EventId, on: &StreamId) -> NewEvent {
    NewEvent {
        id,
        stream: on.clone(),
        event_type: "test.happened".into(),
        schema: 1,
        actor: UserName::parse("alice").unwrap(),
        at: Utc::now(),
        data: json!({"n": 1}),
        change: Some(vec![1, 2, 3]),
    }
}

fn append_one(on: &StreamId, expected: Expected) -> AppendRequest {
    AppendRequest {
        events: vec![event(EventId::random(), on)],
        expectations: vec![(on.clone(), expected)],
    }
}

#[tokio::test]
async fn appends_get_contiguous_sequence_numbers_and_stream_versions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = (stream("a"), stream("b"));
    let first = store
        .log
        .append(append_one(&a, Expected::NoStream))
        .await
        .unwrap();
    let second = store
        .log
        .append(append_one(&b, Expected::Any))
        .await
        .unwrap();
    let third = store
        .log
        .append(append_one(&a, Expected::Exact(1)))
        .await
        .unwrap();
    assert_eq!(first.positions, vec![Position { seq: 1, version: 1 }]);
    assert_eq!(second.positions, vec![Position { seq: 2, version: 1 }]);
    assert_eq!(third.positions, vec![Position { seq: 3, version: 2 }]);
    let all = store.log.read_after(0, 10).unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[0].change.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(store.log.read_stream(&a, 0).unwrap().len(), 2);
    assert_eq!(store.log.stream_version(&a).unwrap(), 2);
}

#[tokio::test]
async fn a_stale_expected_version_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = stream("a");
    store
        .log
        .append(append_one(&a, Expected::NoStream))
        .await
        .unwrap();
    let refused = store.log.append(append_one(&a, Expected::NoStream)).await;
    assert!(matches!(
        refused,
        Err(StoreError::WrongExpectedVersion { actual: 1, .. })
    ));
    assert_eq!(store.log.head(), 1);
}

#[tokio::test]
async fn retrying_an_append_with_the_same_event_ids_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = stream("a");
    let request = append_one(&a, Expected::Any);
    let first = store.log.append(request.clone()).await.unwrap();
    let retry = store.log.append(request.clone()).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.positions, first.positions);
    assert_eq!(store.log.head(), 1);

    // Mixing a written id with a new one is refused outright.
    let mut mixed = request;
    mixed.events.push(event(EventId::random(), &a));
    assert!(matches!(
        store.log.append(mixed).await,
        Err(StoreError::PartialDuplicate)
    ));
    assert_eq!(store.log.head(), 1);

    // So is an append that carries one new id twice: the id index could find only one.
    let twice = event(EventId::random(), &a);
    let doubled = AppendRequest {
        events: vec![twice.clone(), twice],
        expectations: vec![],
    };
    assert!(matches!(
        store.log.append(doubled).await,
        Err(StoreError::PartialDuplicate)
    ));
    assert_eq!(store.log.head(), 1);
}

#[tokio::test]
async fn concurrent_appends_are_group_committed_without_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let log = store.log.clone();
        let on = stream(&format!("s{}", i % 8));
        tasks.push(tokio::spawn(async move {
            log.append(append_one(&on, Expected::Any)).await
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().unwrap().last_seq());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=64).collect::<Vec<_>>());
    for i in 0..8 {
        let versions: Vec<u64> = store
            .log
            .read_stream(&stream(&format!("s{i}")), 0)
            .unwrap()
            .iter()
            .map(|r| r.version)
            .collect();
        assert_eq!(versions, (1..=8).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn the_log_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let written = append_one(&stream("a"), Expected::Any);
    let id = written.events[0].id;
    let store = Store::open(dir.path()).unwrap();
    store.log.append(written).await.unwrap();
    store.close();
    let store = Store::open(dir.path()).expect("a closed store's directory opens at once");
    assert_eq!(store.log.head(), 1);
    // The idempotency index survives too: an event is found by its id.
    assert_eq!(store.log.by_id(id).unwrap().map(|e| e.seq), Some(1));
    assert_eq!(store.log.by_id(EventId::random()).unwrap(), None);
    let next = store
        .log
        .append(append_one(&stream("a"), Expected::Exact(1)))
        .await
        .unwrap();
    assert_eq!(next.positions, vec![Position { seq: 2, version: 2 }]);
}

#[tokio::test]
async fn closing_joins_the_threads_so_the_directory_reopens_at_once_many_times() {
    let dir = tempfile::tempdir().unwrap();
    for round in 1..=20u64 {
        let store = Store::open(dir.path())
            .unwrap_or_else(|e| panic!("round {round}: the directory does not reopen: {e}"));
        assert_eq!(store.log.head(), round - 1);
        let committed = store
            .log
            .append(append_one(&stream("a"), Expected::Any))
            .await
            .unwrap();
        // The projector has read everything the writer handed it before close returns.
        store
            .read_model
            .wait_for(committed.last_seq())
            .await
            .unwrap();
        store.close();
    }
}

#[tokio::test]
async fn dropping_the_last_handle_releases_the_directory_like_close() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let log = store.log.clone();
    drop(store);
    // A log handle still open keeps the directory held and the log writing.
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Locked { .. })
    ));
    log.append(append_one(&stream("a"), Expected::Any))
        .await
        .expect("the log is open while a handle is");
    drop(log);
    let store = Store::open(dir.path()).expect("the last handle gone, the directory opens");
    assert_eq!(store.log.head(), 1);
}

#[tokio::test]
async fn a_closed_log_refuses_appends_through_every_handle() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let log = store.log.clone();
    store.close();
    assert!(matches!(
        log.append(append_one(&stream("a"), Expected::Any)).await,
        Err(StoreError::Unavailable)
    ));
}

#[tokio::test]
async fn stream_versions_come_from_each_stream_alone() {
    // Heads are derived from the stream index: a stream whose name extends another's must not
    // be read as its continuation.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, ab) = (stream("a"), stream("ab"));
    for _ in 0..3 {
        store
            .log
            .append(append_one(&ab, Expected::Any))
            .await
            .unwrap();
    }
    store
        .log
        .append(append_one(&a, Expected::NoStream))
        .await
        .unwrap();
    assert_eq!(store.log.stream_version(&a).unwrap(), 1);
    assert_eq!(store.log.stream_version(&ab).unwrap(), 3);
    assert_eq!(store.log.stream_version(&stream("b")).unwrap(), 0);
}

/// Given events stored in runs of several sizes and one on its own, when any set of positions
/// is read together, then each is what reading it alone finds, and positions past the log are
/// not found.
#[tokio::test]
async fn events_read_together_are_each_what_reading_it_alone_finds() {
    let a = stream("a");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for size in [5, 1, 30, 2] {
        let request = AppendRequest {
            events: (0..size).map(|_| event(EventId::random(), &a)).collect(),
            expectations: Vec::new(),
        };
        store.log.append(request).await.unwrap();
    }
    store.close();
    let db = sled::open(dir.path().join("sled")).unwrap();
    let tree = db.open_tree(keys::LOG_TREE).unwrap();
    // Runs of 5, 30 and 2 events, and one event on its own.
    assert_eq!(tree.scan_prefix(keys::event_prefix()).count(), 4);
    let wanted: [&[u64]; 6] = [
        &[],
        &[1, 2, 3, 4, 5, 6, 7, 8, 36, 37, 38],
        &[5, 6, 7, 36, 38, 39, 400],
        &[3, 20, 21, 22],
        &[1],
        &[39, 40],
    ];
    for seqs in wanted {
        let together = local::get_each(&tree, seqs).unwrap();
        let alone: Vec<_> = seqs
            .iter()
            .map(|&seq| (seq, local::get(&tree, seq).unwrap()))
            .collect();
        assert_eq!(together, alone, "{seqs:?}");
    }
    let every: Vec<u64> = (1..=38).collect();
    let found = local::get_each(&tree, &every).unwrap();
    assert!(found.iter().all(|(seq, record)| record
        .as_ref()
        .is_some_and(|r| r.seq == *seq && r.stream == a)));
}

/// Given two streams whose events batches interleave, and the same events appended one at a time,
/// when each stream is read from every position, before and after both stores are reopened,
/// then both logs read the same and each stream's version is its last; and neither wrote an
/// index key per event or stream (layouts 1 to 4 did).
#[tokio::test]
async fn batches_read_like_events_appended_one_by_one_and_write_no_index_keys() {
    let (a, b) = (stream("a"), stream("ab"));
    let order = [&a, &b, &a, &a, &b, &a];
    let events: Vec<NewEvent> = order
        .iter()
        .map(|on| event(EventId::random(), on))
        .collect();
    let later: Vec<NewEvent> = (0..2).map(|_| event(EventId::random(), &a)).collect();
    let (batched, single) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (in_batches, one_by_one) = (
        Store::open(batched.path()).unwrap(),
        Store::open(single.path()).unwrap(),
    );
    for batch in [&events, &later] {
        let request = AppendRequest {
            events: batch.clone(),
            expectations: Vec::new(),
        };
        in_batches.log.append(request).await.unwrap();
        for event in batch {
            let request = AppendRequest {
                events: vec![event.clone()],
                expectations: Vec::new(),
            };
            one_by_one.log.append(request).await.unwrap();
        }
    }
    let read = |store: &Store, on: &StreamId, after: u64| -> Vec<(u64, EventId, u64)> {
        let records = store.log.read_stream(on, after).unwrap();
        records.iter().map(|r| (r.seq, r.id, r.version)).collect()
    };
    let check = |in_batches: &Store, one_by_one: &Store| {
        for on in [&a, &b] {
            for after in 0..=8 {
                assert_eq!(
                    read(in_batches, on, after),
                    read(one_by_one, on, after),
                    "{on} after {after}"
                );
            }
        }
        assert_eq!(read(in_batches, &a, 0).len(), 6);
        assert_eq!(
            read(in_batches, &a, 4)
                .iter()
                .map(|r| r.0)
                .collect::<Vec<_>>(),
            vec![6, 7, 8]
        );
        for store in [in_batches, one_by_one] {
            assert_eq!(store.log.stream_version(&a).unwrap(), 6);
            assert_eq!(store.log.stream_version(&b).unwrap(), 2);
        }
    };
    check(&in_batches, &one_by_one);
    in_batches.close();
    one_by_one.close();
    let (in_batches, one_by_one) = (
        Store::open(batched.path()).unwrap(),
        Store::open(single.path()).unwrap(),
    );
    check(&in_batches, &one_by_one);
    in_batches.close();
    one_by_one.close();
    for dir in [batched.path(), single.path()] {
        let db = sled::open(dir.join("sled")).unwrap();
        let log = db.open_tree(keys::LOG_TREE).unwrap();
        assert_eq!(log.scan_prefix(keys::stream_index_prefix()).count(), 0);
        assert_eq!(log.scan_prefix(keys::event_id_prefix()).count(), 0);
    }
}

/// Given a batch of events of many sizes on several streams, larger than one run, and a single
/// event after it, when the log is read every way (after each position with every limit, each
/// event by position and by id, each stream) before and after the store is reopened, then every
/// event reads back as appended, appending the batch again is a duplicate at the same positions,
/// and the batch took several runs, none of them an event key per event.
#[tokio::test]
async fn a_batch_stored_in_runs_reads_back_every_way() {
    let streams = [stream("a"), stream("b"), stream("c")];
    let events: Vec<NewEvent> = (0..40)
        .map(|i| NewEvent {
            data: json!({ "i": i, "text": "x".repeat([10, 900, 3000, 7000][i % 4]) }),
            ..event(EventId::random(), &streams[i % 3])
        })
        .collect();
    let batch = AppendRequest {
        events: events.clone(),
        expectations: Vec::new(),
    };
    let single = event(EventId::random(), &streams[0]);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.log.append(batch.clone()).await.unwrap();
    let after = AppendRequest {
        events: vec![single.clone()],
        expectations: Vec::new(),
    };
    store.log.append(after).await.unwrap();
    let all: Vec<NewEvent> = events.iter().cloned().chain([single]).collect();
    let check = |store: &Store| {
        let ids = |records: &[EventRecord]| records.iter().map(|r| r.id).collect::<Vec<_>>();
        let every = store.log.read_after(0, 1000).unwrap();
        assert_eq!(ids(&every), all.iter().map(|e| e.id).collect::<Vec<_>>());
        for (i, record) in every.iter().enumerate() {
            assert_eq!(record.seq, i as u64 + 1);
            assert_eq!(record.data, all[i].data);
            assert_eq!(store.log.get(record.seq).unwrap().as_ref(), Some(record));
            assert_eq!(store.log.by_id(record.id).unwrap().as_ref(), Some(record));
            for limit in [1, 2, 7, 1000] {
                // After position i: from the event at index i.
                let end = (i + limit).min(every.len());
                let read = store.log.read_after(i as u64, limit).unwrap();
                assert_eq!(read, every[i..end], "after {i}, limit {limit}");
            }
        }
        assert_eq!(store.log.get(every.len() as u64 + 1).unwrap(), None);
        for on in &streams {
            let mine: Vec<_> = every.iter().filter(|r| &r.stream == on).cloned().collect();
            assert_eq!(store.log.read_stream(on, 0).unwrap(), mine);
            let versions: Vec<u64> = mine.iter().map(|r| r.version).collect();
            assert_eq!(versions, (1..=mine.len() as u64).collect::<Vec<_>>());
        }
        every
    };
    let before = check(&store);
    store.close();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.log.head(), all.len() as u64);
    assert_eq!(check(&store), before);
    let again = store.log.append(batch).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(
        again.positions.iter().map(|p| p.seq).collect::<Vec<_>>(),
        (1..=events.len() as u64).collect::<Vec<_>>()
    );
    store.close();
    let db = sled::open(dir.path().join("sled")).unwrap();
    let log = db.open_tree(keys::LOG_TREE).unwrap();
    // A bound inside a run (a durable head, say) is where reading stops.
    for upto in 1..=all.len() as u64 {
        let read = local::read_after(&log, 0, upto, 1000).unwrap();
        assert_eq!(read.last().map(|r| r.seq), Some(upto));
        assert_eq!(read, before[..upto as usize]);
    }
    let runs = log.scan_prefix(keys::event_prefix()).count();
    assert!(
        (3..events.len()).contains(&runs),
        "{} events in {runs} keys",
        all.len()
    );
}

/// Given a log of many batches on many streams, far more entries than one index chunk holds,
/// when the store is reopened as it was, with its last chunks gone (as if written by a build
/// that wrote none), and with none at all, then every event is found by id and in its stream,
/// every stream's version is its last, appends go on at the right versions, and the chunks
/// were written again; a chunk reaching past the log, or damaged, is refused at start.
#[tokio::test]
async fn the_index_is_rebuilt_from_its_chunks_and_the_events_after_them() {
    let streams: Vec<StreamId> = (0..7).map(|i| stream(&format!("s{i}"))).collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut n = 0;
    for size in [1, 5, 40, 300, 2, 1, 900] {
        let events: Vec<NewEvent> = (0..size)
            .map(|i| event(EventId::random(), &streams[(n + i * 3) % 7]))
            .collect();
        n += size;
        let request = AppendRequest {
            events,
            expectations: Vec::new(),
        };
        store.log.append(request).await.unwrap();
    }
    let every = store.log.read_after(0, 10_000).unwrap();
    assert_eq!(every.len(), n);
    store.close();
    let check = |store: &Store| {
        for record in &every {
            assert_eq!(store.log.by_id(record.id).unwrap().as_ref(), Some(record));
        }
        for on in &streams {
            let mine: Vec<_> = every.iter().filter(|r| &r.stream == on).cloned().collect();
            assert_eq!(store.log.read_stream(on, 0).unwrap(), mine);
            let version = mine.len() as u64;
            assert_eq!(store.log.stream_version(on).unwrap(), version);
            let middle = mine[mine.len() / 2].seq;
            let after: Vec<_> = mine.iter().filter(|r| r.seq > middle).cloned().collect();
            assert_eq!(store.log.read_stream(on, middle).unwrap(), after);
        }
    };
    let chunks = |dir: &std::path::Path| -> Vec<u64> {
        let db = sled::open(dir.join("sled")).unwrap();
        let log = db.open_tree(keys::LOG_TREE).unwrap();
        log.scan_prefix(keys::index_chunk_prefix())
            .map(|entry| keys::seq_of_event_key(&entry.unwrap().0))
            .collect()
    };
    let written = chunks(dir.path());
    assert!(
        (8..n / 10).contains(&written.len()),
        "{n} events in {} chunks",
        written.len()
    );
    let drop_chunks = |dir: &std::path::Path, keep: usize| {
        let db = sled::open(dir.join("sled")).unwrap();
        let log = db.open_tree(keys::LOG_TREE).unwrap();
        for seq in &chunks_of(&log)[keep..] {
            log.remove(keys::index_chunk(*seq)).unwrap();
        }
        db.flush().unwrap();
    };
    fn chunks_of(log: &sled::Tree) -> Vec<u64> {
        log.scan_prefix(keys::index_chunk_prefix())
            .map(|entry| keys::seq_of_event_key(&entry.unwrap().0))
            .collect()
    }
    for keep in [written.len(), written.len() - 3, 0] {
        drop_chunks(dir.path(), keep);
        let store = Store::open(dir.path()).unwrap();
        check(&store);
        store.close();
        assert_eq!(chunks(dir.path()), written, "keeping {keep} chunks");
    }
    let store = Store::open(dir.path()).unwrap();
    let next = AppendRequest {
        events: vec![event(EventId::random(), &streams[0])],
        expectations: vec![(
            streams[0].clone(),
            Expected::Exact(store.log.stream_version(&streams[0]).unwrap()),
        )],
    };
    store.log.append(next).await.unwrap();
    store.close();

    let damage = |change: &dyn Fn(&sled::Tree)| {
        let copy = tempfile::tempdir().unwrap();
        let from = dir.path().join("sled");
        let to = copy.path().join("sled");
        std::fs::create_dir_all(&to).unwrap();
        for file in walk(&from) {
            let target = to.join(file.strip_prefix(&from).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&file, target).unwrap();
        }
        {
            let db = sled::open(&to).unwrap();
            change(&db.open_tree(keys::LOG_TREE).unwrap());
            db.flush().unwrap();
        }
        match Store::open(copy.path()) {
            Err(StoreError::Corrupt(why)) => why,
            other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
        }
    };
    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }
    let first = written[0];
    let why = damage(&|log| {
        let value = log.get(keys::index_chunk(first)).unwrap().unwrap();
        log.insert(keys::index_chunk(first), &value[..value.len() - 1])
            .unwrap();
    });
    assert!(why.contains(&format!("up to event {first}")), "{why}");
    let last = *written.last().unwrap();
    let why = damage(&|log| {
        let value = log.get(keys::index_chunk(last)).unwrap().unwrap();
        log.remove(keys::index_chunk(last)).unwrap();
        log.insert(keys::index_chunk(100_000), value).unwrap();
    });
    assert!(why.contains("past the log"), "{why}");
}

/// Given a layout-3 directory, whose batches stored each event and its index entries under keys
/// of their own, when this build opens it and appends a batch in runs after it, then the old
/// events and the new read back together every way, before and after reopening, and the
/// directory is marked with this build's layout.
#[tokio::test]
async fn a_layout_3_log_reads_on_with_runs_after_it() {
    let (a, b) = (stream("a"), stream("b"));
    let old: Vec<EventRecord> = [(&a, 1), (&a, 2), (&b, 1)]
        .iter()
        .enumerate()
        .map(|(i, (on, version))| {
            EventRecord::landed(&event(EventId::random(), on), i as u64 + 1, *version)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap().close();
    {
        let db = sled::open(dir.path().join("sled")).unwrap();
        let log = db.open_tree(keys::LOG_TREE).unwrap();
        for record in &old {
            log.insert(keys::event(record.seq), record::encode(record).unwrap())
                .unwrap();
            log.insert(keys::event_id(record.id), &keys::u64_value(record.seq))
                .unwrap();
        }
        // Layout 3: one stream index entry per stream and batch.
        let seqs = |seqs: &[u64]| {
            seqs.iter()
                .flat_map(|s| s.to_be_bytes())
                .collect::<Vec<_>>()
        };
        log.insert(keys::stream_event(&a, 2), seqs(&[1, 2]))
            .unwrap();
        log.insert(keys::stream_event(&b, 1), seqs(&[3])).unwrap();
        let meta = db.open_tree(keys::META_TREE).unwrap();
        meta.insert(keys::META_SCHEMA, &keys::u64_value(3)).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let new: Vec<NewEvent> = (0..6)
        .map(|i| NewEvent {
            data: json!({ "text": "y".repeat(500 * i) }),
            ..event(EventId::random(), [&a, &b][i % 2])
        })
        .collect();
    let request = AppendRequest {
        events: new.clone(),
        expectations: vec![
            (a.clone(), Expected::Exact(2)),
            (b.clone(), Expected::Exact(1)),
        ],
    };
    let committed = store.log.append(request).await.unwrap();
    assert_eq!(committed.positions[0], Position { seq: 4, version: 3 });
    let every = store.log.read_after(0, 100).unwrap();
    let ids: Vec<EventId> = old
        .iter()
        .map(|r| r.id)
        .chain(new.iter().map(|e| e.id))
        .collect();
    assert_eq!(every.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    assert_eq!(every[..3], old[..]);
    for record in &every {
        assert_eq!(store.log.get(record.seq).unwrap().as_ref(), Some(record));
        assert_eq!(store.log.by_id(record.id).unwrap().as_ref(), Some(record));
        let after = store.log.read_after(record.seq - 1, 2).unwrap();
        assert_eq!(after[0], *record);
    }
    let versions = |store: &Store, on: &StreamId| -> Vec<(u64, u64)> {
        let records = store.log.read_stream(on, 0).unwrap();
        records.iter().map(|r| (r.seq, r.version)).collect()
    };
    assert_eq!(
        versions(&store, &a),
        vec![(1, 1), (2, 2), (4, 3), (6, 4), (8, 5)]
    );
    assert_eq!(versions(&store, &b), vec![(3, 1), (5, 2), (7, 3), (9, 4)]);
    assert_eq!(store.log.stream_version(&a).unwrap(), 5);
    let schema = store.meta.get(keys::META_SCHEMA).unwrap().unwrap();
    assert_eq!(keys::u64_at(&schema, 0), SCHEMA_VERSION);
    store.close();
    // Reopened, its index comes from the old keys and the new events after them.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        versions(&store, &a),
        vec![(1, 1), (2, 2), (4, 3), (6, 4), (8, 5)]
    );
    assert_eq!(versions(&store, &b), vec![(3, 1), (5, 2), (7, 3), (9, 4)]);
    for record in &every {
        assert_eq!(store.log.by_id(record.id).unwrap().as_ref(), Some(record));
    }
    let next = store.log.append(append_one(&b, Expected::Exact(4))).await;
    assert_eq!(
        next.unwrap().positions,
        vec![Position {
            seq: 10,
            version: 5
        }]
    );
    // Enough more for chunks after the old keys, then reopened on both.
    let more: Vec<NewEvent> = (0..300)
        .map(|i| event(EventId::random(), [&a, &b][i % 2]))
        .collect();
    let request = AppendRequest {
        events: more,
        expectations: Vec::new(),
    };
    store.log.append(request).await.unwrap();
    let every = store.log.read_after(0, 1000).unwrap();
    store.close();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.log.read_after(0, 1000).unwrap(), every);
    for record in &every {
        assert_eq!(store.log.by_id(record.id).unwrap().as_ref(), Some(record));
    }
    assert_eq!(versions(&store, &a).len(), 155);
    assert_eq!(versions(&store, &b).len(), 155);
    assert_eq!(store.log.stream_version(&a).unwrap(), 155);
    store.close();
    // The old keys were rewritten as a chunk (up to event 3) once, and are not read again.
    let db = sled::open(dir.path().join("sled")).unwrap();
    let log = db.open_tree(keys::LOG_TREE).unwrap();
    let chunks: Vec<u64> = log
        .scan_prefix(keys::index_chunk_prefix())
        .map(|entry| keys::seq_of_event_key(&entry.unwrap().0))
        .collect();
    assert_eq!(chunks[0], 3);
    assert!(chunks.len() >= 3, "{chunks:?}");
    assert!(log.contains_key(keys::LEGACY_INDEX_SUPERSEDED).unwrap());
    // Old keys there (some left or damaged) are not read: the marker says the chunks hold them.
    for record in &every[..4] {
        log.insert(keys::event_id(record.id), &keys::u64_value(record.seq))
            .unwrap();
    }
    let two: Vec<u8> = [1u64, 2].iter().flat_map(|s| s.to_be_bytes()).collect();
    log.insert(keys::stream_event(&a, 2), two).unwrap();
    db.flush().unwrap();
    drop((log, db));
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.log.read_after(0, 1000).unwrap(), every);
    for record in &every {
        assert_eq!(store.log.by_id(record.id).unwrap().as_ref(), Some(record));
    }
    assert_eq!(versions(&store, &a).len(), 155);
    store.close();
}

/// Given a layout-4 directory whose index keys lack an event's id, when this build opens it,
/// then it is refused as corrupt, and the old keys are left as they were.
#[test]
fn old_index_keys_that_lack_an_event_are_refused() {
    let a = stream("a");
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap().close();
    let old: Vec<EventRecord> = (1..=3)
        .map(|seq| EventRecord::landed(&event(EventId::random(), &a), seq, seq))
        .collect();
    {
        let db = sled::open(dir.path().join("sled")).unwrap();
        let log = db.open_tree(keys::LOG_TREE).unwrap();
        for record in &old {
            log.insert(keys::event(record.seq), record::encode(record).unwrap())
                .unwrap();
            if record.seq != 2 {
                log.insert(keys::event_id(record.id), &keys::u64_value(record.seq))
                    .unwrap();
            }
            let seq = keys::u64_value(record.seq);
            log.insert(keys::stream_event(&a, record.version), &seq)
                .unwrap();
        }
        let meta = db.open_tree(keys::META_TREE).unwrap();
        meta.insert(keys::META_SCHEMA, &keys::u64_value(4)).unwrap();
        db.flush().unwrap();
    }
    match Store::open(dir.path()) {
        Err(StoreError::Corrupt(why)) => assert!(why.contains("lack event 2"), "{why}"),
        other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
    }
    let db = sled::open(dir.path().join("sled")).unwrap();
    let log = db.open_tree(keys::LOG_TREE).unwrap();
    assert_eq!(log.scan_prefix(keys::event_id_prefix()).count(), 2);
    assert_eq!(log.scan_prefix(keys::stream_index_prefix()).count(), 3);
}

/// Given a layout-4 directory whose old index names a position far past the log's last event
/// (damage sled's checksums missed), when it is opened, then it is refused as corrupt with a
/// message, instead of sizing the rewrite by that position, and nothing is written.
#[test]
fn old_index_keys_past_the_log_are_refused() {
    let a = stream("a");
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap().close();
    let record = EventRecord::landed(&event(EventId::random(), &a), 1, 1);
    {
        let db = sled::open(dir.path().join("sled")).unwrap();
        let log = db.open_tree(keys::LOG_TREE).unwrap();
        log.insert(keys::event(1), record::encode(&record).unwrap())
            .unwrap();
        log.insert(keys::event_id(record.id), &keys::u64_value(1))
            .unwrap();
        log.insert(keys::stream_event(&a, 1), &keys::u64_value(1))
            .unwrap();
        let far = EventId::random();
        log.insert(keys::event_id(far), &keys::u64_value(1_000_000))
            .unwrap();
        let meta = db.open_tree(keys::META_TREE).unwrap();
        meta.insert(keys::META_SCHEMA, &keys::u64_value(4)).unwrap();
        db.flush().unwrap();
    }
    match Store::open(dir.path()) {
        Err(StoreError::Corrupt(why)) => {
            assert!(why.contains("event 1000000, past its last, 1"), "{why}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
    }
    let db = sled::open(dir.path().join("sled")).unwrap();
    let log = db.open_tree(keys::LOG_TREE).unwrap();
    assert!(!log.contains_key(keys::LEGACY_INDEX_SUPERSEDED).unwrap());
    assert_eq!(log.scan_prefix(keys::index_chunk_prefix()).count(), 0);
}

#[test]
fn directories_of_older_layouts_open_and_an_unknown_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let open = || sled::open(dir.path().join("sled")).expect("sled opens the directory");
    let set_layout = |version: u64| {
        let db = open();
        let meta = db.open_tree(keys::META_TREE).unwrap();
        meta.insert(keys::META_SCHEMA, &keys::u64_value(version))
            .unwrap();
        db.flush().unwrap();
    };
    let layout = || {
        let db = open();
        let meta = db.open_tree(keys::META_TREE).unwrap();
        keys::u64_at(&meta.get(keys::META_SCHEMA).unwrap().unwrap(), 0)
    };
    for older in [1, 2, 3, 4] {
        set_layout(older);
        Store::open(dir.path())
            .expect("a directory of an older layout opens")
            .close();
        assert_eq!(layout(), SCHEMA_VERSION);
    }
    set_layout(9);
    match Store::open(dir.path()) {
        Err(StoreError::UnknownLayout {
            found: 9,
            supported,
        }) => {
            assert_eq!(supported, SCHEMA_VERSION)
        }
        other => panic!(
            "an unknown layout must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
}

#[test]
fn a_directory_held_by_an_open_store_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    match Store::open(dir.path()) {
        Err(StoreError::Locked { dir: held }) => assert_eq!(held, dir.path()),
        other => panic!("expected Locked, got {:?}", other.map(|_| ())),
    }
    store.close();
}

/// An event written by the annotation's task, as the log holds it.
fn domain_event(on: &StreamId, domain: crate::domain::DomainEvent) -> NewEvent {
    let (event_type, data) = domain.into_parts();
    NewEvent {
        event_type,
        data,
        change: None,
        ..event(EventId::random(), on)
    }
}

#[tokio::test]
async fn the_read_models_skip_unknown_types_and_stop_at_an_event_they_cannot_apply() {
    use crate::domain::{derive_events, DomainEvent, EventError, EventType};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = stream("a");
    let annotation: crate::domain::Annotation = serde_json::from_value(json!({
        "id": "a", "kind": "comment", "body": "Check this.", "status": "open",
        "targets": [{ "article": "pledge", "version": 1,
            "quote": { "exact": "26" }, "position": { "start": 0, "end": 2 } }],
        "creator": "alice", "created": "2025-09-04T12:00:00Z", "modified": "2025-09-04T12:00:00Z",
    }))
    .unwrap();
    let [created] = derive_events(None, &annotation).try_into().unwrap();
    let written = AppendRequest {
        events: vec![domain_event(&a, created), event(EventId::random(), &a)],
        expectations: vec![],
    };
    store.log.append(written).await.unwrap();
    // `test.happened` is a type this version does not know: skipped, not an error.
    store.read_model.wait_for(2).await.unwrap();
    assert!(store
        .read_model
        .annotation(&AnnotationId::parse("a").unwrap())
        .unwrap()
        .is_some());

    // A known type whose changes make no annotation (there is no kind "banana").
    let (_, mut data) = DomainEvent::AnnotationUpdated {
        id: annotation.id.clone(),
        article: annotation.home_article().clone(),
        changes: Default::default(),
        modified: annotation.modified,
    }
    .into_parts();
    data["changes"] = json!({ "kind": { "before": "comment", "after": "banana" } });
    let broken = NewEvent {
        event_type: EventType::AnnotationUpdated.as_str().into(),
        data,
        change: None,
        ..event(EventId::random(), &a)
    };
    store
        .log
        .append(AppendRequest {
            events: vec![broken],
            expectations: vec![],
        })
        .await
        .unwrap();
    assert!(store.read_model.wait_for(3).await.is_err());
    let records = store.log.read_after(0, 10).unwrap();
    let refused = store.read_model.project(&records);
    assert!(
        matches!(
            &refused,
            Err(StoreError::Event { seq: 3, source })
                if matches!(**source, EventError::UpdateDoesNotFit { .. })
        ),
        "{refused:?}"
    );
    let cause = std::error::Error::source(&refused.unwrap_err())
        .unwrap()
        .to_string();
    assert!(cause.contains("annotation a"), "{cause}");
}

/// A sync hook that reports each sync it is entered for and holds it until released, then
/// gives the sync `outcomes` in turn (success once they run out).
struct HeldSyncs {
    entered: std::sync::mpsc::Receiver<()>,
    release: std::sync::mpsc::Sender<()>,
}

impl HeldSyncs {
    /// Hooks the next store this thread opens.
    fn install(mut outcomes: Vec<std::io::Result<()>>) -> Self {
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        outcomes.reverse();
        durability::hook_next_open(Box::new(move || {
            let _ = entered_tx.send(());
            let _ = release_rx.recv();
            outcomes.pop().unwrap_or(Ok(()))
        }));
        Self { entered, release }
    }

    /// Waits until the syncer is held in a sync.
    async fn entered(&mut self) {
        let entered = std::mem::replace(&mut self.entered, std::sync::mpsc::channel().1);
        let (entered, got) = tokio::task::spawn_blocking(move || {
            let got = entered.recv_timeout(std::time::Duration::from_secs(60));
            (entered, got)
        })
        .await
        .unwrap();
        self.entered = entered;
        got.expect("the syncer never started a sync");
    }

    fn release(&self) {
        self.release.send(()).unwrap();
    }
}

/// Waits until the writer has written `stream` up to `version` into sled (durable or not).
/// An append on a task of its own, so that the test can look on while it waits for its sync.
fn spawn_append(
    store: &Store,
    request: AppendRequest,
) -> tokio::task::JoinHandle<Result<Committed, StoreError>> {
    let log = store.log.clone();
    tokio::spawn(async move { log.append(request).await })
}

async fn written(store: &Store, stream: &StreamId, version: u64) {
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while store.log.written_version(stream) < version {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the writer never wrote the append");
}

#[tokio::test]
async fn the_writer_writes_the_next_batch_while_the_last_syncs_and_nothing_shows_before_its_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut syncs = HeldSyncs::install(Vec::new());
    let store = Store::open(dir.path()).unwrap();
    let a = stream("a");
    let first_id = EventId::random();
    let first = spawn_append(
        &store,
        AppendRequest {
            events: vec![event(first_id, &a)],
            expectations: vec![(a.clone(), Expected::NoStream)],
        },
    );
    syncs.entered().await;
    // The first append's sync is held: the second is decided against it and written meanwhile.
    let second = spawn_append(&store, append_one(&a, Expected::Exact(1)));
    written(&store, &a, 2).await;
    assert!(!first.is_finished() && !second.is_finished());
    assert_eq!(store.log.head(), 0);
    assert!(store.log.read_after(0, 10).unwrap().is_empty());
    assert_eq!(store.log.get(1).unwrap(), None);
    assert_eq!(store.log.by_id(first_id).unwrap(), None);
    assert!(store.log.read_stream(&a, 0).unwrap().is_empty());
    assert_eq!(store.log.stream_version(&a).unwrap(), 0);
    syncs.release();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.positions, vec![Position { seq: 1, version: 1 }]);
    // The second append waits for a sync of its own, which started after it was written.
    syncs.entered().await;
    assert!(!second.is_finished());
    assert_eq!(store.log.head(), 1);
    let shown = store.log.read_after(0, 10).unwrap();
    assert_eq!(shown.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1]);
    assert_eq!(store.log.stream_version(&a).unwrap(), 1);
    assert_eq!(store.log.read_stream(&a, 0).unwrap().len(), 1);
    syncs.release();
    let second = second.await.unwrap().unwrap();
    assert_eq!(second.positions, vec![Position { seq: 2, version: 2 }]);
    assert_eq!(store.log.head(), 2);
    store.close();
}

#[tokio::test]
async fn a_failed_sync_refuses_its_batch_and_every_batch_written_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut syncs = HeldSyncs::install(vec![Err(std::io::Error::other("the disk is gone"))]);
    let store = Store::open(dir.path()).unwrap();
    let a = stream("a");
    let first = spawn_append(&store, append_one(&a, Expected::NoStream));
    syncs.entered().await;
    let second = spawn_append(&store, append_one(&a, Expected::Exact(1)));
    written(&store, &a, 2).await;
    syncs.release();
    assert!(matches!(first.await.unwrap(), Err(StoreError::Unavailable)));
    assert!(matches!(
        second.await.unwrap(),
        Err(StoreError::Unavailable)
    ));
    assert_eq!(store.log.head(), 0);
    assert!(store.log.read_after(0, 10).unwrap().is_empty());
    let later = store.log.append(append_one(&a, Expected::Any)).await;
    assert!(matches!(later, Err(StoreError::Unavailable)), "{later:?}");
    store.close();
}

#[tokio::test]
async fn a_duplicate_of_an_append_still_syncing_is_answered_only_after_its_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut syncs = HeldSyncs::install(Vec::new());
    let store = Store::open(dir.path()).unwrap();
    let a = stream("a");
    let id = EventId::random();
    let again = |log: EventLog| {
        let request = AppendRequest {
            events: vec![event(id, &a)],
            expectations: vec![],
        };
        async move { log.append(request).await }
    };
    let first = tokio::spawn(again(store.log.clone()));
    syncs.entered().await;
    // Decided against the written, not yet durable, first append: a batch that writes nothing,
    // which still waits for a sync of its own.
    let duplicate = tokio::spawn(again(store.log.clone()));
    syncs.release();
    let first = first.await.unwrap().unwrap();
    syncs.entered().await;
    tokio::task::yield_now().await;
    assert!(!duplicate.is_finished());
    syncs.release();
    let duplicate = duplicate.await.unwrap().unwrap();
    assert!(duplicate.duplicate);
    assert_eq!(duplicate.positions, first.positions);
    assert_eq!(store.log.head(), 1);
    store.close();
}

/// Given a stream with one event, when one writer batch of the embedded log holds an append
/// refused for its expected version, a duplicate of that event and an append of two new
/// events, then only the new events are written, at the next positions, each stored as its own
/// appender prepared it.
#[test]
fn a_batch_writes_only_the_appends_it_writes_each_as_prepared() {
    use super::embedded::Embedded;
    use super::plan::Plan;
    use super::record::Prepared;

    let prepared = |requests: &[&AppendRequest]| -> Vec<Vec<Prepared>> {
        let prepare = |request: &&AppendRequest| {
            request
                .events
                .iter()
                .map(|e| Prepared::new(e).unwrap())
                .collect()
        };
        requests.iter().map(prepare).collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("sled")).unwrap();
    let tree = db.open_tree(keys::LOG_TREE).unwrap();
    let durability = durability::Durability::open(&dir.path().join("sled")).unwrap();
    let mut writer = Embedded::new(db.clone(), durability);
    let index = super::index::Index::open(&tree).unwrap();
    let (a, b) = (stream("a"), stream("b"));
    let first = AppendRequest {
        events: vec![event(EventId::random(), &a)],
        expectations: Vec::new(),
    };
    let first_prepared = prepared(&[&first]);
    writer
        .write(&tree, &index, 0, &[&first], &[&first_prepared[0]])
        .unwrap();

    let refused = append_one(&a, Expected::NoStream);
    let new = AppendRequest {
        events: vec![event(EventId::random(), &b), event(EventId::random(), &b)],
        expectations: Vec::new(),
    };
    let requests = [&refused, &first, &new];
    let prepared = prepared(&requests);
    let slices: Vec<&[Prepared]> = prepared.iter().map(|p| &p[..]).collect();
    let outcome = writer.write(&tree, &index, 1, &requests, &slices).unwrap();

    assert!(matches!(
        outcome.plans[..],
        [Plan::Refused(_), Plan::Duplicate(_), Plan::Write(_)]
    ));
    let written: Vec<_> = outcome.records.iter().map(|r| (r.seq, r.id)).collect();
    assert_eq!(written, vec![(2, new.events[0].id), (3, new.events[1].id)]);
    for record in &outcome.records {
        assert_eq!(
            local::get(&tree, record.seq).unwrap().as_ref(),
            Some(record)
        );
    }
    assert_eq!(local::get(&tree, 4).unwrap(), None);
    assert_eq!(index.version(&a, u64::MAX), 1);
    assert_eq!(index.version(&b, u64::MAX), 2);
}
