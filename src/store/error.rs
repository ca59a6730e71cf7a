//! What can go wrong in storage, with the cause kept.
//!
//! Every variant keeps what caused it (`source()`), so the log line of a failed request names
//! the real failure, and callers choose a status by variant, never by reading a message. The
//! error is `Clone` because one failed append answers every waiter of its batch.

use std::path::PathBuf;
use std::sync::Arc;

use super::log::Expected;
use crate::domain::EventError;

/// The cause of a decoding or encoding failure, shared so the error stays cheap to clone.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Storage failures. Each variant's doc names the status HTTP maps it to.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed (500).
    #[error("storage engine: {0}")]
    Sled(#[from] sled::Error),
    /// A file operation failed (500).
    #[error("storage I/O: {0}")]
    Io(#[source] Arc<std::io::Error>),
    /// Another process, or another store in this one, has the data directory open; it is
    /// released when that store is closed or its last handle dropped.
    #[error("the data directory {} is open elsewhere", dir.display())]
    Locked { dir: PathBuf },
    /// Stored bytes could not be read back; `what` says which bytes (500).
    #[error("corrupt data: {what}: {source}")]
    Undecodable {
        what: String,
        #[source]
        source: Cause,
    },
    /// A value could not be encoded for storage: a bug, not damage (500).
    #[error("cannot encode {what}: {source}")]
    Unencodable {
        what: &'static str,
        #[source]
        source: Cause,
    },
    /// The stored structure is damaged (an index that points nowhere, a database sled cannot
    /// open) (500).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The data directory was written by a build with another layout; nothing is served.
    #[error(
        "this data directory has layout version {found}, and this build reads version {supported}"
    )]
    UnknownLayout { found: u64, supported: u64 },
    /// An event of a type this version knows cannot be decoded, or cannot be applied to the
    /// state before it (500): projections stop rather than skip it.
    #[error("event {seq} of the log cannot be projected: {source}")]
    Event {
        seq: u64,
        #[source]
        source: Arc<EventError>,
    },
    /// Optimistic concurrency: the stream moved on (409, or 412 for If-Match).
    #[error("stream {stream} is at version {actual}, not {expected:?}")]
    WrongExpectedVersion {
        stream: String,
        expected: Expected,
        actual: u64,
    },
    /// Some but not all events of an append had been written before, or one id appears twice
    /// in it (409).
    #[error("some events of this append were already written, others not")]
    PartialDuplicate,
    /// The read models stopped following the log after a projection failed (500; the cause
    /// was logged when it happened).
    #[error("the read models stopped updating; restart the server")]
    ProjectorStopped,
    /// The log stopped after an I/O failure, or was closed (503).
    #[error("the event log is not accepting writes")]
    Unavailable,
    /// PostgreSQL, which keeps the log, could not be reached or did not answer; nothing of the
    /// append is acknowledged, and the next one tries again (503).
    #[error("the database that keeps the event log is unreachable ({reason})")]
    DatabaseUnreachable { reason: String },
    /// PostgreSQL refused a statement in a way a retry will not change (500).
    #[error("the database refused the event log's statement: {0}")]
    Database(String),
    /// The database's settings would acknowledge writes it could still lose; nothing is
    /// served until they change.
    #[error("{0}")]
    UnsafeDatabase(String),
    /// The database holds a schema this build does not know.
    #[error("the database has schema version {found}, and this build knows up to {supported}; upgrade Glossa")]
    UnknownSchema { found: i32, supported: i32 },
    /// The database's log ends before this server's copy of it (a failover to a standby that
    /// had not received the last commits, or a database restored from an older backup); the
    /// server stops taking writes, and a restart rebuilds its copy from the database (500).
    #[error("the database's log ends at position {database}, before this server's copy ({local}); restart the server to rebuild its copy from the database")]
    DatabaseBehind { database: u64, local: u64 },
    /// The data directory is not what this store was asked to open.
    #[error("{0}")]
    WrongDirectory(String),
}

impl StoreError {
    /// Whether the store cannot take writes right now, but may again (503 with Retry-After).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable | StoreError::DatabaseUnreachable { .. }
        )
    }

    /// Stored bytes that could not be decoded.
    pub(super) fn undecodable(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Undecodable {
            what: what.into(),
            source: Arc::new(source),
        }
    }

    /// Event `seq` of the log, which cannot be decoded or applied.
    pub fn event(seq: u64, source: EventError) -> Self {
        StoreError::Event {
            seq,
            source: Arc::new(source),
        }
    }

    /// A value that could not be encoded.
    pub(super) fn unencodable(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Unencodable {
            what,
            source: Arc::new(source),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        StoreError::Io(Arc::new(error))
    }
}
