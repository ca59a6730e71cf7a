//! The local log's keys: what each event writes into the log tree, and what is read back to
//! know where the log and a stream stand. Both backends write the same keys: sled as the log
//! itself, PostgreSQL's local copy as what every read is served from.

use crate::domain::StreamId;

use super::keys;
use super::record::{self, EventRecord};
use super::StoreError;

/// Stages one event with its stream and id index entries.
pub(super) fn stage(batch: &mut sled::Batch, record: &EventRecord) -> Result<(), StoreError> {
    stage_bytes(batch, record, record::encode(record)?);
    Ok(())
}

/// Stages one event, already encoded as `bytes`, with its stream and id index entries.
pub(super) fn stage_bytes(batch: &mut sled::Batch, record: &EventRecord, bytes: Vec<u8>) {
    batch.insert(&keys::event(record.seq), bytes);
    batch.insert(
        keys::stream_event(&record.stream, record.version),
        &keys::u64_value(record.seq),
    );
    batch.insert(&keys::event_id(record.id), &keys::u64_value(record.seq));
}

/// Writes events (in order, following the local head) in one atomic batch, without waiting for
/// the disk: for a copy whose durable original is elsewhere.
pub(super) fn apply(tree: &sled::Tree, records: &[EventRecord]) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    for record in records {
        stage(&mut batch, record)?;
    }
    apply_staged(tree, batch)
}

/// Writes a batch [`stage`]d in order after the local head, without waiting for the disk.
pub(super) fn apply_staged(tree: &sled::Tree, batch: sled::Batch) -> Result<(), StoreError> {
    super::sled_lock::apply_batch(tree, batch)?;
    Ok(())
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
