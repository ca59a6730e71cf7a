//! The embedded log's writer: decides each batch against the sled trees and writes it in one
//! atomic sled batch; a [`Syncer`] on its own thread then flushes and `fdatasync`s (see
//! `durability`) before anyone is answered. The writer decides and writes the next batch while
//! the syncer makes the last one durable.

use crate::domain::{EventId, StreamId};

use super::durability::Durability;
use super::index::Index;
use super::log::{AppendRequest, Outcome, Position};
use super::plan::{Batch, Known, Plan};
use super::record::{EventRecord, Prepared};
use super::{local, StoreError};

pub(crate) struct Embedded {
    syncer: Option<Syncer>,
}

/// Makes what the writer wrote durable: everything written to sled before [`Syncer::sync`]
/// starts is on stable storage when it returns.
pub(super) struct Syncer {
    db: sled::Db,
    durability: Durability,
}

impl Syncer {
    pub(super) fn sync(&mut self) -> Result<(), StoreError> {
        super::sled_lock::flush(&self.db)?;
        self.durability.sync()?;
        Ok(())
    }

    /// Lets go of the database once the log's writer and projector have ended: flushes first,
    /// so that sled's own flush on drop finds nothing of theirs left to write.
    pub(super) fn finish(self) {
        if let Err(error) = super::sled_lock::flush(&self.db) {
            tracing::error!(%error, "final flush of the store failed");
        }
    }
}

impl Embedded {
    pub(super) fn new(db: sled::Db, durability: Durability) -> Self {
        Self {
            syncer: Some(Syncer { db, durability }),
        }
    }

    /// The syncer, for the thread that runs it (once).
    pub(super) fn take_syncer(&mut self) -> Option<Syncer> {
        self.syncer.take()
    }

    /// Decides a batch after `head` (the last position written, durable or not) and writes it
    /// into sled, not yet durably: nobody may be answered, nor the events shown, until a
    /// [`Syncer::sync`] that started after this returned has returned. `prepared` holds each
    /// request's events as their appender encoded them.
    pub(super) fn write(
        &mut self,
        tree: &sled::Tree,
        index: &Index,
        head: u64,
        requests: &[&AppendRequest],
        prepared: &[&[Prepared]],
    ) -> Result<Outcome, StoreError> {
        let mut batch = Batch::new(head + 1);
        let mut known = InTree { tree, index };
        let mut plans = Vec::with_capacity(requests.len());
        for request in requests {
            plans.push(batch.plan(&mut known, request)?);
        }
        if !batch.records.is_empty() {
            let staged = stage(index, &plans, prepared, &batch.records)?;
            local::apply_staged(tree, staged)?;
        }
        Ok(Outcome {
            plans,
            records: batch.records,
        })
    }
}

/// The sled batch of `records`, the events the `Plan::Write`s of `plans` staged, in order,
/// each stored as its appender prepared it.
fn stage(
    index: &Index,
    plans: &[Plan],
    prepared: &[&[Prepared]],
    records: &[EventRecord],
) -> Result<sled::Batch, StoreError> {
    let mut written = plans
        .iter()
        .zip(prepared)
        .filter(|(plan, _)| matches!(plan, Plan::Write(_)))
        .flat_map(|(_, prepared)| prepared.iter());
    let mut batch = sled::Batch::default();
    local::stage(&mut batch, index, records, |record| {
        written
            .next()
            .ok_or_else(|| StoreError::Corrupt(format!("event {} was not prepared", record.seq)))?
            .landed(record)
    })?;
    Ok(batch)
}

/// What the log and its index say was written before the batch.
struct InTree<'a> {
    tree: &'a sled::Tree,
    index: &'a Index,
}

impl Known for InTree<'_> {
    fn position(&mut self, id: EventId) -> Result<Option<Position>, StoreError> {
        let Some(seq) = self.index.seq_of(id) else {
            return Ok(None);
        };
        let record = local::get(self.tree, seq)?.ok_or_else(|| {
            StoreError::Corrupt(format!("event id index points at missing event {seq}"))
        })?;
        Ok(Some(Position {
            seq,
            version: record.version,
        }))
    }

    fn version(&mut self, stream: &StreamId) -> Result<u64, StoreError> {
        Ok(self.index.version(stream, u64::MAX))
    }
}
