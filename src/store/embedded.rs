//! The embedded log's writer: decides each batch against the sled trees, writes it in one
//! atomic sled batch, flushes and `fdatasync`s (see `durability`) before anyone is answered.

use std::collections::HashMap;

use crate::domain::{EventId, StreamId};

use super::durability::Durability;
use super::log::{AppendRequest, Failure, Outcome, Position};
use super::plan::{Batch, Known};
use super::{keys, local, record, StoreError};

pub(crate) struct Embedded {
    db: sled::Db,
    durability: Durability,
    /// Stream versions the writer knows, filled from the tree on first use.
    heads: HashMap<StreamId, u64>,
}

impl Embedded {
    pub(super) fn new(db: sled::Db, durability: Durability) -> Self {
        Self {
            db,
            durability,
            heads: HashMap::new(),
        }
    }

    pub(super) fn commit(
        &mut self,
        tree: &sled::Tree,
        head: u64,
        requests: &[&AppendRequest],
    ) -> Result<Outcome, Failure> {
        let mut batch = Batch::new(head + 1);
        let mut known = InTree {
            tree,
            heads: &mut self.heads,
        };
        let mut plans = Vec::with_capacity(requests.len());
        for request in requests {
            match batch.plan(&mut known, request) {
                Ok(plan) => plans.push(plan),
                Err(error) => {
                    self.heads.clear();
                    return Err(Failure::Fatal(error));
                }
            }
        }
        if !batch.records.is_empty() {
            let written = local::apply(tree, &batch.records)
                .and_then(|()| self.db.flush().map(drop).map_err(StoreError::from))
                .and_then(|()| self.durability.sync().map_err(StoreError::from));
            if let Err(error) = written {
                self.heads.clear();
                return Err(Failure::Fatal(error));
            }
            self.heads.extend(batch.heads);
        }
        Ok(Outcome {
            plans,
            records: batch.records,
        })
    }
}

/// What the sled trees say was committed before the batch.
struct InTree<'a> {
    tree: &'a sled::Tree,
    heads: &'a mut HashMap<StreamId, u64>,
}

impl Known for InTree<'_> {
    fn position(&mut self, id: EventId) -> Result<Option<Position>, StoreError> {
        let Some(seq) = self.tree.get(keys::event_id(id))? else {
            return Ok(None);
        };
        let seq = keys::u64_at(&seq, 0);
        let bytes = self.tree.get(keys::event(seq))?.ok_or_else(|| {
            StoreError::Corrupt(format!("event id index points at missing event {seq}"))
        })?;
        let record = record::decode(seq, &bytes)?;
        Ok(Some(Position {
            seq,
            version: record.version,
        }))
    }

    fn version(&mut self, stream: &StreamId) -> Result<u64, StoreError> {
        if let Some(version) = self.heads.get(stream) {
            return Ok(*version);
        }
        let version = local::last_version(self.tree, stream)?;
        self.heads.insert(stream.clone(), version);
        Ok(version)
    }
}
