//! Compacted Automerge documents, so loading an article replays only the changes after them.
//! Derived state: a missing or deleted snapshot only makes the next load slower.

use crate::domain::ArticleId;

use super::keys::{self, SNAPSHOT_TREE};
use super::StoreError;

/// A saved document and the log position it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Every `document.changed` event of the article up to this sequence number is in `bytes`.
    pub seq: u64,
    pub bytes: Vec<u8>,
}

#[derive(Clone)]
pub struct Snapshots {
    tree: sled::Tree,
}

impl Snapshots {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            tree: db.open_tree(SNAPSHOT_TREE)?,
        })
    }

    pub fn get(&self, article: &ArticleId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.tree.get(article.as_str())?.map(|value| Snapshot {
            seq: keys::u64_at(&value, 0),
            bytes: value.get(8..).unwrap_or_default().to_vec(),
        }))
    }

    pub fn put(&self, article: &ArticleId, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut value = Vec::with_capacity(8 + snapshot.bytes.len());
        value.extend_from_slice(&snapshot.seq.to_be_bytes());
        value.extend_from_slice(&snapshot.bytes);
        self.tree.insert(article.as_str(), value)?;
        Ok(())
    }

    /// Waits until the article's snapshot covers more than `seq`, and returns it.
    pub async fn after(&self, article: &ArticleId, seq: u64) -> Result<Snapshot, StoreError> {
        // Watching before looking: a snapshot stored in between is not missed.
        let mut stored = self.tree.watch_prefix(article.as_str());
        loop {
            if let Some(snapshot) = self.get(article)?.filter(|s| s.seq > seq) {
                return Ok(snapshot);
            }
            if (&mut stored).await.is_none() {
                return Err(StoreError::Unavailable);
            }
        }
    }
}
