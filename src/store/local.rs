//! The local log's keys: what each batch of events writes into the log tree, and what is read
//! back to know where the log stands and to find its events. Both backends write the same keys:
//! sled as the log itself, PostgreSQL's local copy as what every read is served from.

use super::index::Index;
use super::keys;
use super::record::{self, EventRecord};
use super::runs::{self, Runs};
use super::StoreError;

/// Stages events (in position order, following the local head) in runs (`runs`), and their
/// index entries (`index`, which gains them at once). Runs, and a chunk of index entries now and
/// then, not a key per event: sled's cost is per key. `encoded` gives each event's stored form.
pub(super) fn stage(
    batch: &mut sled::Batch,
    index: &Index,
    records: &[EventRecord],
    mut encoded: impl FnMut(&EventRecord) -> Result<Vec<u8>, StoreError>,
) -> Result<(), StoreError> {
    let mut stored = Runs::default();
    for record in records {
        if let Some((last, value)) = stored.push(record.seq, &encoded(record)?) {
            batch.insert(&keys::event(last), value);
        }
    }
    if let Some((last, value)) = stored.finish() {
        batch.insert(&keys::event(last), value);
    }
    index.add(batch, records)
}

/// Writes events (in order, following the local head) in one atomic batch, without waiting for
/// the disk: for a copy whose durable original is elsewhere.
pub(super) fn apply(
    tree: &sled::Tree,
    index: &Index,
    records: &[EventRecord],
) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    stage(&mut batch, index, records, record::encode)?;
    apply_staged(tree, batch)
}

/// Writes a batch [`stage`]d in order after the local head, without waiting for the disk.
pub(super) fn apply_staged(tree: &sled::Tree, batch: sled::Batch) -> Result<(), StoreError> {
    super::sled_lock::apply_batch(tree, batch)?;
    Ok(())
}

/// The event at `seq`, written (durable or not).
pub(super) fn get(tree: &sled::Tree, seq: u64) -> Result<Option<EventRecord>, StoreError> {
    Ok(get_each(tree, &[seq])?.pop().and_then(|(_, record)| record))
}

/// The events at `seqs` (ascending), written (durable or not), reading each run once however
/// many of them it holds (the events of one batch share runs); `None` for one that is not
/// there.
pub(super) fn get_each(
    tree: &sled::Tree,
    seqs: &[u64],
) -> Result<Vec<(u64, Option<EventRecord>)>, StoreError> {
    let mut found = Vec::with_capacity(seqs.len());
    let mut rest = seqs;
    while let Some(&seq) = rest.first() {
        // The run that holds `seq` is the first whose last event is at or after it; it holds
        // every position after `seq` up to its last one too.
        let Some(entry) = tree.range(keys::event(seq)..=keys::event(u64::MAX)).next() else {
            found.extend(rest.iter().map(|&seq| (seq, None)));
            break;
        };
        let (key, value) = entry?;
        let last = keys::seq_of_event_key(&key);
        let events = runs::events(last, &value)?;
        let within = rest.partition_point(|&s| s <= last);
        for &seq in &rest[..within] {
            let record = match events.binary_search_by_key(&seq, |(at, _)| *at) {
                Ok(i) => Some(record::decode(seq, events[i].1)?),
                Err(_) => None,
            };
            found.push((seq, record));
        }
        rest = &rest[within..];
    }
    Ok(found)
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
