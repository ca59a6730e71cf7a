//! Read models: annotations by id, by article, status, kind and assignee, and the articles with
//! their versions, projected from the log into one sled tree.
//!
//! Derived state: each projected batch and its checkpoint go in one atomic sled batch, so after a
//! crash the projector resumes from the checkpoint; delete the tree and it is rebuilt from the
//! whole log. It is not flushed itself: the log is what must survive.

mod projection;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::domain::{
    Annotation, AnnotationId, ArticleId, ClaimId, ClaimantType, DomainEvent, EventType, Kind,
    Status, StyleRule, TargetAnchor, UserName,
};

use super::keys::{self, *};
use super::log::EventLog;
use super::record::EventRecord;
use super::StoreError;
use projection::Projection;

/// An annotation as the read side serves it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnotationRow {
    pub annotation: Annotation,
    /// Version of the annotation's stream: its ETag.
    pub version: u64,
    /// Sequence number of its creation, for stable ordering.
    pub created_seq: u64,
    /// Sequence number of the last event that changed it.
    pub last_seq: u64,
}

/// Where an annotation's targets on one article are in one of its versions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnchorRow {
    pub annotation: AnnotationId,
    pub article: ArticleId,
    pub version: u32,
    pub anchors: Vec<TargetAnchor>,
    /// Who placed it: `glossa` for the server's re-anchoring, else the person who re-attached.
    pub by: UserName,
    pub at: DateTime<Utc>,
}

/// A claim and the annotations about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimRow {
    pub id: ClaimId,
    pub text: String,
    #[serde(default)]
    pub claimant: Option<String>,
    /// The claimant's page, type, and when the claim was made (added later: absent in older
    /// rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant_type: Option<ClaimantType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_date: Option<String>,
    pub annotations: Vec<AnnotationId>,
    pub created: DateTime<Utc>,
    pub creator: UserName,
}

/// One immutable version of an article's text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub number: u32,
    pub sha256: String,
    /// Length in code points.
    pub length: u64,
    pub ingested: DateTime<Utc>,
}

/// An article as the read side serves it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArticleRow {
    pub id: ArticleId,
    pub title: Option<String>,
    pub outlet: Option<String>,
    pub url: Option<String>,
    pub published: Option<String>,
    pub document_id: String,
    pub created: DateTime<Utc>,
    pub versions: Vec<VersionInfo>,
}

impl ArticleRow {
    pub fn latest(&self) -> Option<&VersionInfo> {
        self.versions.last()
    }
}

/// Which annotations to list; every field given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub article: Option<ArticleId>,
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    pub assignee: Option<UserName>,
}

impl Filter {
    /// Whether an annotation fits every criterion given.
    pub fn matches(&self, a: &Annotation) -> bool {
        self.status.is_none_or(|s| a.status == s)
            && self.kind.is_none_or(|k| a.kind == k)
            && self
                .assignee
                .as_ref()
                .is_none_or(|u| a.assignee.as_ref() == Some(u))
            && self
                .article
                .as_ref()
                .is_none_or(|article| a.targets.iter().any(|t| &t.article == article))
    }
}

/// The read models; cheap to clone.
#[derive(Clone)]
pub struct ReadModel {
    tree: sled::Tree,
    projected: watch::Sender<u64>,
    /// Set when projecting failed: waiters get an error instead of waiting forever.
    failed: Arc<AtomicBool>,
    /// Recent listings by filter, with the checkpoint they were read at: container pages are
    /// read far more often than the desk changes, and decoding thousands of rows per page was
    /// their cost.
    listings: Arc<std::sync::Mutex<Listings>>,
}

/// Listings by filter: the checkpoint each was read at, and the rows.
type Listings = HashMap<String, (u64, Arc<Vec<AnnotationRow>>)>;

/// How many filters' listings are kept.
const MAX_LISTINGS: usize = 64;

impl ReadModel {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        let tree = db.open_tree(READ_MODEL_TREE)?;
        let checkpoint = tree.get(RM_CHECKPOINT)?.map_or(0, |v| keys::u64_at(&v, 0));
        let (projected, _) = watch::channel(checkpoint);
        Ok(Self {
            tree,
            projected,
            failed: Arc::default(),
            listings: Arc::default(),
        })
    }

    /// The sequence number of the last event projected.
    pub fn checkpoint(&self) -> u64 {
        *self.projected.borrow()
    }

    /// The checkpoint as it moves: changed after each projected batch.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.projected.subscribe()
    }

    /// Resolves once every event up to `seq` is visible in the read models.
    pub async fn wait_for(&self, seq: u64) -> Result<(), StoreError> {
        let mut rx = self.projected.subscribe();
        let failed = self.failed.clone();
        // The sender lives as long as `self`, so this ends when the sequence is reached or the
        // projector reports a failure.
        let _ = rx
            .wait_for(|projected| *projected >= seq || failed.load(Ordering::Acquire))
            .await;
        if *rx.borrow() >= seq {
            Ok(())
        } else {
            Err(StoreError::ProjectorStopped)
        }
    }

    /// Marks the projector as stopped and wakes every waiter.
    pub(super) fn fail(&self) {
        self.failed.store(true, Ordering::Release);
        self.projected.send_modify(|_| {});
    }

    /// Projects every durable event after the checkpoint.
    pub(super) fn catch_up(&self, log: &EventLog) -> Result<(), StoreError> {
        loop {
            let records = log.read_after(self.checkpoint(), 1024)?;
            if records.is_empty() {
                return Ok(());
            }
            self.project(&records)?;
        }
    }

    /// Projects a committed batch; events already projected are skipped.
    pub(super) fn project(&self, records: &[EventRecord]) -> Result<(), StoreError> {
        let checkpoint = self.checkpoint();
        let records: Vec<&EventRecord> = records.iter().filter(|r| r.seq > checkpoint).collect();
        let Some(last) = records.last().map(|r| r.seq) else {
            return Ok(());
        };
        let mut projection = Projection::new(self);
        for record in records {
            // Types this version does not know (written by a later one, or access-control
            // events) are not projected here; a known type that does not decode is an error.
            let Some(event_type) = EventType::parse(&record.event_type) else {
                continue;
            };
            let event = DomainEvent::decode(event_type, &record.data)
                .map_err(|source| StoreError::event(record.seq, source))?;
            projection.fold(&event, record)?;
        }
        let mut batch = projection.into_batch()?;
        batch.insert(RM_CHECKPOINT, &keys::u64_value(last));
        super::sled_lock::apply_batch(&self.tree, batch)?;
        self.projected.send_replace(last);
        Ok(())
    }

    pub fn annotation(
        &self,
        id: &crate::domain::AnnotationId,
    ) -> Result<Option<AnnotationRow>, StoreError> {
        self.annotation_by_str(id.as_str())
    }

    fn annotation_by_str(&self, id: &str) -> Result<Option<AnnotationRow>, StoreError> {
        self.tree
            .get(rm_row(RM_ANNOTATION, id))?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    /// The same as [`ReadModel::list`], shared: reused until the read models move on. The rows
    /// reflect at least the checkpoint current when this is called.
    pub fn list_shared(&self, filter: &Filter) -> Result<Arc<Vec<AnnotationRow>>, StoreError> {
        let checkpoint = self.checkpoint();
        let key = format!("{filter:?}");
        if let Some((at, rows)) = self.listings.lock().expect("listings lock").get(&key) {
            if *at == checkpoint {
                return Ok(rows.clone());
            }
        }
        let rows = Arc::new(self.list(filter)?);
        let mut listings = self.listings.lock().expect("listings lock");
        if listings.len() >= MAX_LISTINGS {
            listings.retain(|_, (at, _)| *at == checkpoint);
            if listings.len() >= MAX_LISTINGS {
                listings.clear();
            }
        }
        listings.insert(key, (checkpoint, rows.clone()));
        Ok(rows)
    }

    /// Live (not deleted) annotations matching the filter, in creation order.
    pub fn list(&self, filter: &Filter) -> Result<Vec<AnnotationRow>, StoreError> {
        let prefix = if let Some(article) = &filter.article {
            rm_index_prefix(RM_BY_ARTICLE, article.as_str())
        } else if let Some(assignee) = &filter.assignee {
            rm_index_prefix(RM_BY_ASSIGNEE, assignee.as_str())
        } else if let Some(kind) = filter.kind {
            rm_index_prefix(RM_BY_KIND, kind.as_str())
        } else if let Some(status) = filter.status {
            rm_index_prefix(RM_BY_STATUS, status.as_str())
        } else {
            vec![RM_ALL, 0]
        };
        let mut rows = Vec::new();
        for entry in self.tree.scan_prefix(&prefix) {
            let (key, _) = entry?;
            let Some(id) = keys::id_of_index_key(&key) else {
                continue;
            };
            let Some(row) = self.annotation_by_str(id)? else {
                continue;
            };
            if filter.matches(&row.annotation) {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    pub fn article(&self, id: &ArticleId) -> Result<Option<ArticleRow>, StoreError> {
        self.tree
            .get(rm_row(RM_ARTICLE, id.as_str()))?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    pub fn articles(&self) -> Result<Vec<ArticleRow>, StoreError> {
        let mut rows: Vec<ArticleRow> = self
            .tree
            .scan_prefix([RM_ARTICLE])
            .map(|entry| decode(&entry?.1))
            .collect::<Result<_, _>>()?;
        rows.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// Every anchor row of an annotation (all articles and versions), oldest version first.
    pub fn anchors(&self, annotation: &AnnotationId) -> Result<Vec<AnchorRow>, StoreError> {
        self.tree
            .scan_prefix(rm_anchor_prefix(annotation.as_str()))
            .map(|entry| decode(&entry?.1))
            .collect()
    }

    fn anchor_at(&self, key: &[u8]) -> Result<Option<AnchorRow>, StoreError> {
        self.tree.get(key)?.map(|bytes| decode(&bytes)).transpose()
    }

    pub fn claim(&self, id: &ClaimId) -> Result<Option<ClaimRow>, StoreError> {
        self.tree
            .get(rm_row(RM_CLAIM, id.as_str()))?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    pub fn claims(&self) -> Result<Vec<ClaimRow>, StoreError> {
        let mut rows: Vec<ClaimRow> = self
            .tree
            .scan_prefix([RM_CLAIM])
            .map(|entry| decode(&entry?.1))
            .collect::<Result<_, _>>()?;
        rows.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// The desk's term list (`None` before one was ever set).
    pub fn style_rules(&self) -> Result<Option<Vec<StyleRule>>, StoreError> {
        self.tree
            .get(RM_STYLE)?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    pub fn article_text(&self, id: &ArticleId, version: u32) -> Result<Option<String>, StoreError> {
        self.tree
            .get(rm_article_text(id.as_str(), version))?
            .map(|bytes| {
                String::from_utf8(bytes.to_vec())
                    .map_err(|e| StoreError::undecodable(format!("text of {id} v{version}"), e))
            })
            .transpose()
    }
}

fn encode<T: Serialize>(row: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(row).map_err(|e| StoreError::unencodable("read model row", e))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::undecodable("read model row", e))
}
