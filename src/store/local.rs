//! The local log's keys: what each batch of events writes into the log tree, and what is read
//! back to know where the log and a stream stand. Both backends write the same keys: sled as the log
//! itself, PostgreSQL's local copy as what every read is served from.

use std::collections::HashMap;

use crate::domain::StreamId;

use super::keys;
use super::record::{self, EventRecord};
use super::runs::{self, Runs};
use super::StoreError;

/// Stages events (in position order, following the local head) with their index entries: the
/// events in runs (`runs`); for each event its id's entry; for each stream one entry for all
/// its events in `records`, keyed by the last of their versions and holding their sequence
/// numbers in order (a stream's events in one batch have consecutive versions). Runs and one
/// key per stream and batch, not a key per event: sled's cost is per key. `encoded` gives each
/// event's stored form.
pub(super) fn stage(
    batch: &mut sled::Batch,
    records: &[EventRecord],
    mut encoded: impl FnMut(&EventRecord) -> Result<Vec<u8>, StoreError>,
) -> Result<(), StoreError> {
    // Each stream's run: its last version and its sequence numbers.
    let mut runs: HashMap<&StreamId, (u64, Vec<u8>)> = HashMap::new();
    let mut stored = Runs::default();
    for record in records {
        if let Some((last, value)) = stored.push(record.seq, &encoded(record)?) {
            batch.insert(&keys::event(last), value);
        }
        batch.insert(&keys::event_id(record.id), &keys::u64_value(record.seq));
        let seq = keys::u64_value(record.seq);
        match runs.get_mut(&record.stream) {
            Some((last, seqs)) if *last + 1 == record.version => {
                *last = record.version;
                seqs.extend_from_slice(&seq);
            }
            // Versions that do not follow on (which a batch never has) start a run of their own.
            _ => {
                let run = (record.version, seq.to_vec());
                if let Some((last, seqs)) = runs.insert(&record.stream, run) {
                    batch.insert(keys::stream_event(&record.stream, last), seqs);
                }
            }
        }
    }
    if let Some((last, value)) = stored.finish() {
        batch.insert(&keys::event(last), value);
    }
    for (stream, (last, seqs)) in runs {
        batch.insert(keys::stream_event(stream, last), seqs);
    }
    Ok(())
}

/// Writes events (in order, following the local head) in one atomic batch, without waiting for
/// the disk: for a copy whose durable original is elsewhere.
pub(super) fn apply(tree: &sled::Tree, records: &[EventRecord]) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    stage(&mut batch, records, record::encode)?;
    apply_staged(tree, batch)
}

/// The sequence numbers a stream index entry holds, in order: one in the entries of layouts 1
/// and 2, one per event of a batch's run since layout 3.
pub(super) fn run_seqs<'a>(
    stream: &StreamId,
    value: &'a [u8],
) -> Result<impl Iterator<Item = u64> + 'a, StoreError> {
    if value.is_empty() || value.len() % 8 != 0 {
        return Err(StoreError::Corrupt(format!(
            "a stream index entry of {stream} holds {} bytes",
            value.len()
        )));
    }
    Ok(value.chunks_exact(8).map(|seq| keys::u64_at(seq, 0)))
}

/// Writes a batch [`stage`]d in order after the local head, without waiting for the disk.
pub(super) fn apply_staged(tree: &sled::Tree, batch: sled::Batch) -> Result<(), StoreError> {
    super::sled_lock::apply_batch(tree, batch)?;
    Ok(())
}

/// The event at `seq`, written (durable or not).
pub(super) fn get(tree: &sled::Tree, seq: u64) -> Result<Option<EventRecord>, StoreError> {
    // The run that holds `seq` is the first whose last event is at or after it.
    let Some(entry) = tree.range(keys::event(seq)..=keys::event(u64::MAX)).next() else {
        return Ok(None);
    };
    let (key, value) = entry?;
    let events = runs::events(keys::seq_of_event_key(&key), &value)?;
    match events.iter().find(|(at, _)| *at == seq) {
        Some((_, bytes)) => record::decode(seq, bytes).map(Some),
        None => Ok(None),
    }
}

/// Up to `limit` events after `after` and up to `upto`, in order.
pub(super) fn read_after(
    tree: &sled::Tree,
    after: u64,
    upto: u64,
    limit: usize,
) -> Result<Vec<EventRecord>, StoreError> {
    let mut records = Vec::new();
    if after >= upto {
        return Ok(records);
    }
    // The first run is the one that holds `after + 1`; the last, the one that holds `upto`.
    // Runs never overlap (each batch follows the local head); an event at or before one
    // already read is skipped all the same.
    let mut read = after;
    for entry in tree.range(keys::event(after + 1)..=keys::event(u64::MAX)) {
        let (key, value) = entry?;
        for (seq, bytes) in runs::events(keys::seq_of_event_key(&key), &value)? {
            if seq <= read {
                continue;
            }
            read = seq;
            if seq > upto || records.len() >= limit {
                return Ok(records);
            }
            records.push(record::decode(seq, bytes)?);
        }
    }
    Ok(records)
}

/// The last sequence number in the log tree (0 for an empty log).
pub(super) fn head(tree: &sled::Tree) -> Result<u64, StoreError> {
    match tree.scan_prefix(keys::event_prefix()).next_back() {
        Some(entry) => Ok(keys::seq_of_event_key(&entry?.0)),
        None => Ok(0),
    }
}

/// A stream's version: the version in its last index key (0 for a stream with no events).
/// Deriving it saves the writer a key per event over storing it.
pub(super) fn last_version(tree: &sled::Tree, stream: &StreamId) -> Result<u64, StoreError> {
    match tree
        .scan_prefix(keys::stream_events_prefix(stream))
        .next_back()
    {
        None => Ok(0),
        Some(entry) => {
            let (key, _) = entry?;
            let tail: [u8; 8] = key[key.len().saturating_sub(8)..].try_into().map_err(|_| {
                StoreError::Corrupt(format!("stream index key of {stream} is short"))
            })?;
            Ok(u64::from_be_bytes(tail))
        }
    }
}
