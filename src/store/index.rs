//! The log's two indexes, kept in memory since layout 5 (ADR 0022): where each event id landed
//! (what makes appends idempotent and finds an event by id) and each stream's events in version
//! order (what gives a stream's version and its events).
//!
//! Until layout 4 every batch wrote them into sled as it wrote its events: a key per event id
//! and one per stream and batch, most of the writer's work per event (sled's cost is per key).
//! Now a batch writes its events and, once the entries indexed since the last chunk pass
//! [`CHUNK_BYTES`], one chunk holding them, under the key of the last event it covers, in the
//! same atomic sled batch as that event: so a chunk never covers an event the log lacks, and
//! every event up to the last chunk is in some chunk (the per-event keys of directories of
//! layouts 1 to 4 are rewritten as chunks once, at their first start). At start the indexes are
//! rebuilt from the chunks, then from the few events after the last chunk, read from the log.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::domain::{EventId, StreamId};

use super::record::EventRecord;
use super::{keys, local, StoreError};

/// The entries a chunk gathers before it is written: like a run (`runs::RUN_BYTES`), small enough
/// that a full sled leaf of them stays under sled's blob threshold.
pub(super) const CHUNK_BYTES: usize = super::runs::RUN_BYTES;

/// The indexes of every event written to the local log, durable or not: readers bound what
/// they use by the durable head.
pub(super) struct Index {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    ids: HashMap<EventId, u64>,
    /// Each stream's events in version order: version `v` is at `[v - 1]`.
    streams: HashMap<StreamId, Vec<u64>>,
    /// The last event indexed.
    last: u64,
    /// The entries of the events indexed since the last chunk, encoded.
    tail: Vec<u8>,
}

impl Index {
    /// Rebuilds the indexes of the log in `tree`: from the chunks, then the events after the
    /// last chunk, whose entries are chunked straight away if they fill one (after a crash, or a
    /// copy written without them). The per-event keys of layouts 1 to 4 are first rewritten as
    /// chunks, once.
    pub(super) fn open(tree: &sled::Tree) -> Result<Self, StoreError> {
        let head = local::head(tree)?;
        let migrated = migrate_legacy(tree, head)?;
        if migrated > 0 {
            tracing::info!(
                events = migrated,
                "rewrote the log's index keys of an older layout as chunks"
            );
        }
        let mut inner = Inner::default();
        inner.load_chunks(tree, head)?;
        let mut batch = sled::Batch::default();
        let mut chunks = 0;
        loop {
            let records = local::read_after(tree, inner.last, head, 1024)?;
            if records.is_empty() {
                break;
            }
            chunks += inner.add(&mut batch, &records)?;
        }
        if chunks > 0 {
            super::sled_lock::apply_batch(tree, batch)?;
        }
        if inner.last != head {
            return Err(StoreError::Corrupt(format!(
                "the log's index ends at event {} and the log at {head}",
                inner.last
            )));
        }
        Ok(Self {
            inner: RwLock::new(inner),
        })
    }

    /// Indexes `records` (in order, following the events indexed) and stages in `batch` the
    /// chunks they fill: to be written in the same sled batch as the events. An error leaves the
    /// indexes ahead of the log; the writer then stops (it is a corrupt batch or a failed disk).
    pub(super) fn add(
        &self,
        batch: &mut sled::Batch,
        records: &[EventRecord],
    ) -> Result<(), StoreError> {
        self.write().add(batch, records).map(drop)
    }

    /// The position of the event with this id, durable or not.
    pub(super) fn seq_of(&self, id: EventId) -> Option<u64> {
        self.read().ids.get(&id).copied()
    }

    /// A stream's version counting its events up to `upto` (0 for a stream with none).
    pub(super) fn version(&self, stream: &StreamId, upto: u64) -> u64 {
        self.read()
            .streams
            .get(stream)
            .map_or(0, |seqs| seqs.partition_point(|&seq| seq <= upto) as u64)
    }

    /// The positions of a stream's events after `after` up to `upto`, in order.
    pub(super) fn seqs(&self, stream: &StreamId, after: u64, upto: u64) -> Vec<u64> {
        let inner = self.read();
        let Some(seqs) = inner.streams.get(stream) else {
            return Vec::new();
        };
        let from = seqs.partition_point(|&seq| seq <= after);
        let to = seqs.partition_point(|&seq| seq <= upto);
        seqs[from..to.max(from)].to_vec()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Indexes `records` and stages the chunks they fill; how many.
    fn add(
        &mut self,
        batch: &mut sled::Batch,
        records: &[EventRecord],
    ) -> Result<usize, StoreError> {
        let mut chunks = 0;
        for record in records {
            self.insert(record.seq, record.id, &record.stream, record.version)?;
            encode_entry(
                &mut self.tail,
                record.seq,
                record.version,
                record.id,
                &record.stream,
            );
            if self.tail.len() >= CHUNK_BYTES {
                batch.insert(
                    &keys::index_chunk(record.seq),
                    std::mem::take(&mut self.tail),
                );
                chunks += 1;
            }
        }
        Ok(chunks)
    }

    /// Indexes one event, which must be the next after the last one indexed (a log has no gaps)
    /// and its stream's next.
    fn insert(
        &mut self,
        seq: u64,
        id: EventId,
        stream: &StreamId,
        version: u64,
    ) -> Result<(), StoreError> {
        if seq != self.last + 1 {
            return Err(StoreError::Corrupt(format!(
                "event {seq} was indexed after event {}",
                self.last
            )));
        }
        let seqs = match self.streams.get_mut(stream) {
            Some(seqs) => seqs,
            None => self.streams.entry(stream.clone()).or_default(),
        };
        if version != seqs.len() as u64 + 1 {
            return Err(StoreError::Corrupt(format!(
                "event {seq} is version {version} of {stream}, which has {} events before it",
                seqs.len()
            )));
        }
        if self.ids.contains_key(&id) {
            return Err(StoreError::Corrupt(format!(
                "event id {} is at {seq} and before it",
                id.0
            )));
        }
        seqs.push(seq);
        self.ids.insert(id, seq);
        self.last = seq;
        Ok(())
    }

    /// The per-event keys of layouts 1 to 4: every event up to the last of them, as each was
    /// written in the same sled batch as its events (read once, to rewrite them as chunks).
    fn load_legacy(&mut self, tree: &sled::Tree) -> Result<(), StoreError> {
        for entry in tree.scan_prefix(keys::stream_index_prefix()) {
            let (key, value) = entry?;
            let damaged = || StoreError::Corrupt(format!("a stream index key {key:?} is damaged"));
            let (name, version) = keys::stream_of_index_key(&key).ok_or_else(damaged)?;
            let stream = StreamId::parse(name).map_err(|_| damaged())?;
            if value.is_empty() || value.len() % 8 != 0 {
                return Err(damaged());
            }
            let seqs = self.streams.entry(stream).or_default();
            // The entry holds the versions up to `version`, which must follow those before it.
            let first = version
                .checked_add(1)
                .and_then(|end| end.checked_sub((value.len() / 8) as u64));
            if first != Some(seqs.len() as u64 + 1) {
                return Err(damaged());
            }
            seqs.extend(value.chunks_exact(8).map(|seq| keys::u64_at(seq, 0)));
        }
        for entry in tree.scan_prefix(keys::event_id_prefix()) {
            let (key, value) = entry?;
            let id = uuid::Uuid::from_slice(&key[1..]).map_err(|_| {
                StoreError::Corrupt(format!("an event id index key {key:?} is damaged"))
            })?;
            let seq = keys::u64_at(&value, 0);
            self.ids.insert(EventId(id), seq);
            self.last = self.last.max(seq);
        }
        Ok(())
    }

    /// The chunks, in order; none may reach past the log's `head`.
    fn load_chunks(&mut self, tree: &sled::Tree, head: u64) -> Result<(), StoreError> {
        for entry in tree.scan_prefix(keys::index_chunk_prefix()) {
            let (key, value) = entry?;
            let end = keys::seq_of_event_key(&key);
            let damaged = |why: &str| {
                StoreError::Corrupt(format!("the log's index chunk up to event {end} {why}"))
            };
            if end > head {
                return Err(damaged(&format!(
                    "reaches past the log's last event, {head}"
                )));
            }
            let mut at = &value[..];
            while !at.is_empty() {
                let (seq, id, stream, version, rest) =
                    decode_entry(at).ok_or_else(|| damaged("is damaged"))?;
                if seq > end {
                    return Err(damaged(&format!("holds event {seq}")));
                }
                self.insert(seq, id, &stream, version)?;
                at = rest;
            }
            if self.last != end {
                return Err(damaged(&format!("ends at event {}", self.last)));
            }
        }
        Ok(())
    }
}

/// Rewrites the per-event index keys of layouts 1 to 4 (every event up to the last of them) as
/// chunks, once, so that starts read chunks instead of two keys per event: the chunks are written
/// in one atomic sled batch with a marker, after which the old keys are never read again. They
/// stay where they are (removing millions of sled keys takes longer than reading them at a
/// thousand starts). How many events they indexed (0 if there were none, or they were rewritten
/// before).
fn migrate_legacy(tree: &sled::Tree, head: u64) -> Result<u64, StoreError> {
    if tree.contains_key(keys::LEGACY_INDEX_SUPERSEDED)? {
        return Ok(0);
    }
    if tree.scan_prefix(keys::event_id_prefix()).next().is_some() && head > 100_000 {
        // Said before it starts: the server does not listen until it is done.
        tracing::info!(
            events = head,
            "rewriting the log's index keys of an older layout as chunks, once (a few seconds \
             per million events)"
        );
    }
    let mut legacy = Inner::default();
    legacy.load_legacy(tree)?;
    if legacy.ids.is_empty() && legacy.streams.is_empty() {
        return Ok(0);
    }
    let last = legacy.last;
    if last > head {
        return Err(StoreError::Corrupt(format!(
            "the log's index keys of an older layout name event {last}, past its last, {head}"
        )));
    }
    let missing = |seq: u64| {
        StoreError::Corrupt(format!(
            "the log's index keys of an older layout lack event {seq} of the {last} they cover"
        ))
    };
    // Each position's id, and its stream and version.
    let mut ids = vec![None; last as usize];
    for (id, seq) in &legacy.ids {
        *ids.get_mut((*seq as usize).wrapping_sub(1))
            .ok_or_else(|| missing(*seq))? = Some(*id);
    }
    let mut streams = vec![None; last as usize];
    for (stream, seqs) in &legacy.streams {
        for (i, seq) in seqs.iter().enumerate() {
            let at = streams
                .get_mut((*seq as usize).wrapping_sub(1))
                .ok_or_else(|| missing(*seq))?;
            *at = Some((stream, i as u64 + 1));
        }
    }
    let mut batch = sled::Batch::default();
    let mut chunk = Vec::new();
    for (i, (id, at)) in ids.iter().zip(&streams).enumerate() {
        let seq = i as u64 + 1;
        let (Some(id), Some((stream, version))) = (id, at) else {
            return Err(missing(seq));
        };
        encode_entry(&mut chunk, seq, *version, *id, stream);
        if chunk.len() >= CHUNK_BYTES || seq == last {
            batch.insert(&keys::index_chunk(seq), std::mem::take(&mut chunk));
        }
    }
    batch.insert(keys::LEGACY_INDEX_SUPERSEDED, &[]);
    super::sled_lock::apply_batch(tree, batch)?;
    Ok(last)
}

/// `seq | version | id | name length (u16) | stream name`, integers big-endian.
fn encode_entry(out: &mut Vec<u8>, seq: u64, version: u64, id: EventId, stream: &StreamId) {
    use std::io::Write;
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(id.0.as_bytes());
    // The name is written in place (no string of its own per event), then its length before it.
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    write!(out, "{stream}").expect("writing into a Vec cannot fail");
    let length = (out.len() - at - 2) as u16;
    out[at..at + 2].copy_from_slice(&length.to_be_bytes());
}

/// One entry and what follows it; `None` if it is damaged.
fn decode_entry(bytes: &[u8]) -> Option<(u64, EventId, StreamId, u64, &[u8])> {
    let seq = u64::from_be_bytes(bytes.get(0..8)?.try_into().ok()?);
    let version = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
    let id = uuid::Uuid::from_slice(bytes.get(16..32)?).ok()?;
    let len = u16::from_be_bytes(bytes.get(32..34)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(bytes.get(34..34 + len)?).ok()?;
    let stream = StreamId::parse(name).ok()?;
    Some((seq, EventId(id), stream, version, &bytes[34 + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ArticleId, UserName};

    fn record(seq: u64, stream: &StreamId, version: u64) -> EventRecord {
        EventRecord {
            seq,
            id: EventId::random(),
            stream: stream.clone(),
            version,
            event_type: "t".into(),
            schema: 1,
            actor: UserName::parse("ada").unwrap(),
            at: chrono::Utc::now(),
            data: serde_json::Value::Null,
            change: None,
        }
    }

    fn doc(name: &str) -> StreamId {
        StreamId::Document(ArticleId::parse(name).unwrap())
    }

    /// Given events on two streams, when they are indexed, then each is found by id, each
    /// stream's version counts its events up to a bound and its positions read between bounds;
    /// an entry reads back as written, and a damaged one is not read.
    #[test]
    fn events_indexed_are_found_by_id_and_stream() {
        let (a, b) = (doc("a"), doc("b"));
        let records = [
            record(1, &a, 1),
            record(2, &b, 1),
            record(3, &a, 2),
            record(4, &a, 3),
        ];
        let mut inner = Inner::default();
        let chunks = inner.add(&mut sled::Batch::default(), &records).unwrap();
        assert_eq!(chunks, 0);
        let index = Index {
            inner: RwLock::new(inner),
        };
        for record in &records {
            assert_eq!(index.seq_of(record.id), Some(record.seq));
        }
        assert_eq!(index.seq_of(EventId::random()), None);
        assert_eq!(index.version(&a, u64::MAX), 3);
        assert_eq!(index.version(&a, 3), 2);
        assert_eq!(index.version(&a, 0), 0);
        assert_eq!(index.version(&doc("c"), u64::MAX), 0);
        assert_eq!(index.seqs(&a, 0, u64::MAX), vec![1, 3, 4]);
        assert_eq!(index.seqs(&a, 1, 3), vec![3]);
        assert_eq!(index.seqs(&a, 4, 2), Vec::<u64>::new());
        assert_eq!(index.seqs(&b, 1, 9), vec![2]);
        assert_eq!(index.seqs(&b, 2, 9), Vec::<u64>::new());

        let mut bytes = Vec::new();
        let r = &records[3];
        encode_entry(&mut bytes, r.seq, r.version, r.id, &r.stream);
        let (seq, id, stream, version, rest) = decode_entry(&bytes).unwrap();
        assert_eq!((seq, id, &stream, version), (4, records[3].id, &a, 3));
        assert!(rest.is_empty());
        for n in 0..bytes.len() {
            assert!(decode_entry(&bytes[..n]).is_none(), "{n} bytes");
        }
    }

    /// Given an index, when an event is not the next after the last one, skips or repeats a
    /// stream's version, or repeats an id, then it is refused as corrupt.
    #[test]
    fn events_out_of_order_are_refused() {
        let a = doc("a");
        let mut inner = Inner::default();
        let first = record(1, &a, 1);
        inner
            .add(&mut sled::Batch::default(), std::slice::from_ref(&first))
            .unwrap();
        let mut same_id = record(2, &a, 2);
        same_id.id = first.id;
        for bad in [
            record(1, &a, 2),
            record(3, &a, 2),
            record(2, &a, 3),
            record(2, &a, 1),
            same_id,
        ] {
            let refused = inner.insert(bad.seq, bad.id, &bad.stream, bad.version);
            assert!(matches!(refused, Err(StoreError::Corrupt(_))), "{bad:?}");
        }
        assert!(inner.insert(2, EventId::random(), &a, 2).is_ok());
    }

    /// Given more entries than a chunk holds, when they are indexed, then chunks are staged as
    /// the entries pass the chunk size, each ending at the event it is keyed by.
    #[test]
    fn entries_are_chunked_as_they_pass_the_chunk_size() {
        let a = doc("a");
        let records: Vec<EventRecord> = (1..=400).map(|i| record(i, &a, i)).collect();
        let mut inner = Inner::default();
        let mut batch = sled::Batch::default();
        let chunks = inner.add(&mut batch, &records).unwrap();
        let per_entry = 34 + "document-a".len();
        let per_chunk = CHUNK_BYTES.div_ceil(per_entry);
        assert_eq!(chunks, 400 / per_chunk);
        assert_eq!(inner.tail.len(), 400 % per_chunk * per_entry);
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("log").unwrap();
        tree.apply_batch(batch).unwrap();
        let mut fresh = Inner::default();
        fresh.load_chunks(&tree, 400).unwrap();
        let covered = chunks * per_chunk;
        assert_eq!(fresh.last, covered as u64);
        assert_eq!(fresh.ids.len(), covered);
        assert!(matches!(
            fresh.load_chunks(&tree, 400),
            Err(StoreError::Corrupt(_))
        ));
    }
}
