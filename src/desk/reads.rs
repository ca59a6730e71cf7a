//! The desk's reads of the log itself, for the entry points: the event feed and its live tail,
//! time travel (`?at=`), an annotation's story, the NDJSON dump, and how far the read models
//! have caught up.
//!
//! Each is a blocking read of sled; async callers run it off their executor's threads.

use serde_json::Value;
use tokio::sync::watch;

use crate::backup::Secrets;
use crate::domain::AnnotationId;
use crate::history::{self, AsOf};
use crate::store::{AnnotationRow, EventRecord, Filter};

use super::{Desk, DeskError};

impl Desk {
    /// The last durable sequence number.
    pub fn log_head(&self) -> u64 {
        self.store.log.head()
    }

    /// Where the log is kept ("embedded" or "postgresql"), and for PostgreSQL whether it
    /// answers now.
    pub async fn log_backend(&self) -> (&'static str, Result<(), crate::store::StoreError>) {
        match self.store.database() {
            None => ("embedded", Ok(())),
            Some(database) => ("postgresql", database.ping().await),
        }
    }

    /// The last sequence number the read models have projected.
    pub fn read_model_checkpoint(&self) -> u64 {
        self.store.read_model.checkpoint()
    }

    /// Changes whenever the durable head moves on (for live tails).
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.store.log.watch_head()
    }

    /// Up to `limit` events after the sequence number `after`, in order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, DeskError> {
        Ok(self.store.log.read_after(after, limit)?)
    }

    /// An annotation as it was at `at`, with the sequence number `at` resolved to; `None` if it
    /// did not exist yet.
    pub fn annotation_at(
        &self,
        id: &AnnotationId,
        at: AsOf,
    ) -> Result<(u64, Option<AnnotationRow>), DeskError> {
        let seq = history::resolve(&self.store.log, at)?;
        Ok((seq, history::annotation_at(&self.store.log, id, seq)?))
    }

    /// The annotations matching `filter` as they were at `at`, with the sequence number `at`
    /// resolved to.
    pub fn annotations_at(
        &self,
        filter: &Filter,
        at: AsOf,
    ) -> Result<(u64, Vec<AnnotationRow>), DeskError> {
        let seq = history::resolve(&self.store.log, at)?;
        Ok((seq, history::annotations_at(&self.store.log, filter, seq)?))
    }

    /// Writes every event of the log as NDJSON, as `backup` dumps it; returns the last sequence.
    pub fn dump(&self, out: &mut impl std::io::Write, secrets: Secrets) -> Result<u64, DeskError> {
        crate::backup::dump(&self.store.log, out, secrets).map_err(DeskError::internal)
    }

    /// Who changed what in an annotation, and when.
    pub fn story(&self, id: &AnnotationId) -> Result<Vec<Value>, DeskError> {
        history::story(&self.store.log, id)
    }
}
