//! Webhook delivery state: each subscription's cursor in the log, which process delivers it,
//! and its latest attempts. Not derived from the log (a receiver's answers are not events), so
//! it lives with the log: in sled's `webhooks` tree, or in PostgreSQL where several processes
//! share the desk and must agree that only one delivers a subscription at a time.
//!
//! A cursor only moves forward, and only after the receiver answered 2xx, and it is on disk
//! (sled's file synced, or committed in PostgreSQL) before delivery goes on: a crash at any
//! moment means at most the event in flight delivered again, never one skipped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::postgres::Database;
use super::StoreError;

/// Attempts kept per subscription.
pub const ATTEMPTS_KEPT: usize = 100;

/// One attempt to deliver one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub seq: u64,
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first try of this event.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    pub millis: u32,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The desk's webhook delivery state; cheap to clone.
#[derive(Clone)]
pub struct Deliveries {
    backend: Arc<Backend>,
}

enum Backend {
    Embedded {
        tree: sled::Tree,
        /// sled's data file, synced after a cursor moves (sled's flush alone does not reach
        /// the disk; see `durability`).
        data_file: Arc<std::fs::File>,
        /// One process owns a sled directory; leases are held in it.
        holders: Arc<Mutex<HashMap<Uuid, Uuid>>>,
    },
    Shared(Database),
}

const CURSOR: u8 = b'c';
const ATTEMPT: u8 = b'a';

fn cursor_key(subscription: Uuid) -> Vec<u8> {
    let mut key = vec![CURSOR];
    key.extend_from_slice(subscription.as_bytes());
    key
}

fn attempts_prefix(subscription: Uuid) -> Vec<u8> {
    let mut key = vec![ATTEMPT];
    key.extend_from_slice(subscription.as_bytes());
    key
}

impl Deliveries {
    pub(super) fn open(
        db: &sled::Db,
        sled_dir: &std::path::Path,
        database: Option<&Database>,
    ) -> Result<Self, StoreError> {
        let backend = match database {
            Some(database) => Backend::Shared(database.clone()),
            None => Backend::Embedded {
                tree: db.open_tree(super::keys::WEBHOOKS_TREE)?,
                data_file: Arc::new(std::fs::File::open(sled_dir.join("db"))?),
                holders: Arc::default(),
            },
        };
        Ok(Self {
            backend: Arc::new(backend),
        })
    }

    /// Takes (or renews) the right to deliver `subscription` for `lease`, for `holder`, and
    /// answers its cursor (`start` for a subscription never delivered); `None` while another
    /// process holds it.
    pub async fn claim(
        &self,
        subscription: Uuid,
        holder: Uuid,
        start: u64,
        lease: Duration,
    ) -> Result<Option<u64>, StoreError> {
        match &*self.backend {
            Backend::Shared(database) => database.claim(subscription, holder, start, lease).await,
            Backend::Embedded { tree, holders, .. } => {
                {
                    let mut holders = holders.lock().expect("holders lock");
                    let current = holders.entry(subscription).or_insert(holder);
                    if *current != holder {
                        return Ok(None);
                    }
                }
                Ok(Some(match tree.get(cursor_key(subscription))? {
                    Some(v) => super::keys::u64_at(&v, 0),
                    None => start,
                }))
            }
        }
    }

    /// Moves the cursor forward to `seq` (never back) and renews the lease; `false` if
    /// `holder` no longer holds the subscription (another process delivers it now).
    pub async fn advance(
        &self,
        subscription: Uuid,
        holder: Uuid,
        seq: u64,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        match &*self.backend {
            Backend::Shared(database) => database.advance(subscription, holder, seq, lease).await,
            Backend::Embedded {
                tree,
                holders,
                data_file,
            } => {
                if holders.lock().expect("holders lock").get(&subscription) != Some(&holder) {
                    return Ok(false);
                }
                let key = cursor_key(subscription);
                let current = tree.get(&key)?.map_or(0, |v| super::keys::u64_at(&v, 0));
                if seq > current {
                    tree.insert(key, &super::keys::u64_value(seq))?;
                    tree.flush_async().await?;
                    let file = data_file.clone();
                    tokio::task::spawn_blocking(move || file.sync_data())
                        .await
                        .map_err(|_| StoreError::Unavailable)??;
                }
                Ok(true)
            }
        }
    }

    /// Gives the subscription up, so another process may take it at once.
    pub async fn release(&self, subscription: Uuid, holder: Uuid) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Shared(database) => database.release(subscription, holder).await,
            Backend::Embedded { holders, .. } => {
                let mut holders = holders.lock().expect("holders lock");
                if holders.get(&subscription) == Some(&holder) {
                    holders.remove(&subscription);
                }
                Ok(())
            }
        }
    }

    /// Where delivery has got to, if it has started.
    pub async fn cursor(&self, subscription: Uuid) -> Result<Option<u64>, StoreError> {
        match &*self.backend {
            Backend::Shared(database) => database.cursor(subscription).await,
            Backend::Embedded { tree, .. } => Ok(tree
                .get(cursor_key(subscription))?
                .map(|v| super::keys::u64_at(&v, 0))),
        }
    }

    /// Records an attempt, keeping the latest [`ATTEMPTS_KEPT`].
    pub async fn record(&self, subscription: Uuid, attempt: &Attempt) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Shared(database) => database.record(subscription, attempt).await,
            Backend::Embedded { tree, .. } => {
                let prefix = attempts_prefix(subscription);
                let next = tree
                    .scan_prefix(&prefix)
                    .next_back()
                    .transpose()?
                    .map_or(0, |(k, _)| super::keys::u64_at(&k, prefix.len()) + 1);
                let mut key = prefix.clone();
                key.extend_from_slice(&next.to_be_bytes());
                let value = serde_json::to_vec(attempt)
                    .map_err(|e| StoreError::undecodable("webhook attempt", e))?;
                tree.insert(key, value)?;
                if next >= ATTEMPTS_KEPT as u64 {
                    let mut old = prefix;
                    old.extend_from_slice(&(next - ATTEMPTS_KEPT as u64).to_be_bytes());
                    tree.remove(old)?;
                }
                tree.flush_async().await?;
                Ok(())
            }
        }
    }

    /// The latest attempts, newest first, at most `limit`.
    pub async fn attempts(
        &self,
        subscription: Uuid,
        limit: usize,
    ) -> Result<Vec<Attempt>, StoreError> {
        match &*self.backend {
            Backend::Shared(database) => database.attempts(subscription, limit).await,
            Backend::Embedded { tree, .. } => tree
                .scan_prefix(attempts_prefix(subscription))
                .rev()
                .take(limit)
                .map(|entry| {
                    let (_, value) = entry?;
                    serde_json::from_slice(&value)
                        .map_err(|e| StoreError::undecodable("webhook attempt", e))
                })
                .collect(),
        }
    }
}
