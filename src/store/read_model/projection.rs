//! One committed batch of events folded into read-model rows.
//!
//! A batch may touch the same annotation, article, anchor or claim several times, so each row is
//! read from the tree the first time it is touched and kept here; later events in the batch see
//! what earlier ones did. Nothing is visible until `into_batch` hands back one sled batch, which
//! the read model applies together with its checkpoint.

use std::collections::{BTreeMap, HashMap};

use crate::domain::anchoring::{Anchor, AnchorStatus};
use crate::domain::{
    apply, AnnotationId, ArticleId, ClaimId, Claimant, DomainEvent, TargetAnchor, TextPosition,
    TextQuote,
};

use super::{encode, AnchorRow, AnnotationRow, ArticleRow, ClaimRow, ReadModel, VersionInfo};
use crate::store::keys::*;
use crate::store::record::EventRecord;
use crate::store::StoreError;

/// The rows one batch has changed so far, and the sled batch that will write them.
pub(super) struct Projection<'m> {
    model: &'m ReadModel,
    /// Each touched annotation as the tree held it before the batch, so that its old index
    /// keys can be removed.
    original: HashMap<String, Option<AnnotationRow>>,
    /// Each touched annotation as the batch leaves it; `None` while it does not exist.
    current: BTreeMap<String, Option<AnnotationRow>>,
    articles: BTreeMap<String, ArticleRow>,
    anchors: BTreeMap<Vec<u8>, AnchorRow>,
    claims: BTreeMap<String, ClaimRow>,
    batch: sled::Batch,
}

impl<'m> Projection<'m> {
    pub(super) fn new(model: &'m ReadModel) -> Self {
        Self {
            model,
            original: HashMap::new(),
            current: BTreeMap::new(),
            articles: BTreeMap::new(),
            anchors: BTreeMap::new(),
            claims: BTreeMap::new(),
            batch: sled::Batch::default(),
        }
    }

    /// Folds one event into the rows its type concerns: articles and their versions, claims,
    /// the style rules, or (for every other type) an annotation and its anchors. Document
    /// changes and refusals leave the read models alone.
    pub(super) fn fold(
        &mut self,
        event: &DomainEvent,
        record: &EventRecord,
    ) -> Result<(), StoreError> {
        match event {
            DomainEvent::ArticleCreated { .. } => {
                if let Some(row) = created_article(event, record) {
                    self.articles.insert(row.id.to_string(), row);
                }
            }
            DomainEvent::ArticleVersionPublished {
                article,
                version,
                sha256,
                text,
            } => self.version_published(record, article, *version, sha256, text)?,
            DomainEvent::DocumentChanged { .. } | DomainEvent::ChangeRejected { .. } => {}
            DomainEvent::ClaimCreated {
                claim,
                text,
                claimant,
                date,
            } => self.claim_created(record, claim, text, claimant, date),
            DomainEvent::ClaimLinked { claim, annotation } => {
                self.relink_claim(claim, annotation, Link::Linked)?
            }
            DomainEvent::ClaimUnlinked { claim, annotation } => {
                self.relink_claim(claim, annotation, Link::Unlinked)?
            }
            DomainEvent::StyleRulesSet { rules } => {
                self.batch.insert(RM_STYLE, encode(rules)?);
            }
            _ => {
                self.anchors_of(event, record)?;
                self.annotation(event, record)?;
            }
        }
        Ok(())
    }

    /// Adds a published version to its article's row and stores its text; a version of an
    /// article the read model never saw still has its text stored.
    fn version_published(
        &mut self,
        record: &EventRecord,
        article: &ArticleId,
        version: u32,
        sha256: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let key = article.to_string();
        let row = match self.articles.remove(&key) {
            Some(row) => Some(row),
            None => self.model.article(article)?,
        };
        if let Some(mut row) = row {
            row.versions.push(VersionInfo {
                number: version,
                sha256: sha256.to_owned(),
                length: text.chars().count() as u64,
                ingested: record.at,
            });
            self.articles.insert(key, row);
        }
        self.batch
            .insert(rm_article_text(article.as_str(), version), text.as_bytes());
        Ok(())
    }

    /// Opens a claim's row, with no annotations linked yet.
    fn claim_created(
        &mut self,
        record: &EventRecord,
        claim: &ClaimId,
        text: &str,
        claimant: &Option<Claimant>,
        date: &Option<String>,
    ) {
        let row = ClaimRow {
            id: claim.clone(),
            text: text.to_owned(),
            claimant: claimant.as_ref().map(|c| c.name.clone()),
            claimant_url: claimant.as_ref().and_then(|c| c.url.clone()),
            claimant_type: claimant.as_ref().and_then(|c| c.kind),
            claim_date: date.clone(),
            annotations: Vec::new(),
            created: record.at,
            creator: record.actor.clone(),
        };
        self.claims.insert(claim.to_string(), row);
    }

    /// Links an annotation to a claim (once, at the end of the list) or unlinks it; a claim
    /// the read model never saw is left alone.
    fn relink_claim(
        &mut self,
        claim: &ClaimId,
        annotation: &AnnotationId,
        link: Link,
    ) -> Result<(), StoreError> {
        let key = claim.to_string();
        let row = match self.claims.remove(&key) {
            Some(row) => Some(row),
            None => self.model.claim(claim)?,
        };
        if let Some(mut row) = row {
            row.annotations.retain(|a| a != annotation);
            if link == Link::Linked {
                row.annotations.push(annotation.clone());
            }
            self.claims.insert(key, row);
        }
        Ok(())
    }

    /// Keeps the anchor row an anchoring event leaves. New targets make the anchors of the old
    /// ones meaningless, so an update of the targets drops them first; the next re-anchoring
    /// pass places the new ones.
    fn anchors_of(&mut self, event: &DomainEvent, record: &EventRecord) -> Result<(), StoreError> {
        if let DomainEvent::AnnotationUpdated { id, changes, .. } = event {
            if changes.contains_key("targets") {
                let prefix = rm_anchor_prefix(id.as_str());
                for entry in self.model.tree.scan_prefix(&prefix) {
                    self.batch.remove(entry?.0);
                }
                self.anchors.retain(|key, _| !key.starts_with(&prefix));
            }
        }
        if let Some(row) = anchor_row(event, record, &self.anchors, self.model)? {
            self.anchors.insert(
                rm_anchor(row.annotation.as_str(), row.article.as_str(), row.version),
                row,
            );
        }
        Ok(())
    }

    /// Applies an annotation event to the annotation's row, reading the row from the tree the
    /// first time the batch touches it; events about no annotation change nothing here.
    fn annotation(&mut self, event: &DomainEvent, record: &EventRecord) -> Result<(), StoreError> {
        let Some(id) = event.annotation_id() else {
            return Ok(());
        };
        let id = id.to_string();
        if !self.current.contains_key(&id) {
            let stored = self.model.annotation_by_str(&id)?;
            self.original.insert(id.clone(), stored.clone());
            self.current.insert(id.clone(), stored);
        }
        let entry = self.current.get_mut(&id).expect("inserted above");
        let before = entry.take();
        let created_seq = before.as_ref().map_or(record.seq, |row| row.created_seq);
        let after = apply(before.map(|row| row.annotation), event)
            .map_err(|source| StoreError::event(record.seq, source))?;
        *entry = after.map(|annotation| AnnotationRow {
            annotation,
            version: record.version,
            created_seq,
            last_seq: record.seq,
        });
        Ok(())
    }

    /// The sled batch that writes every changed row: an annotation's old index keys are
    /// replaced by its new ones, and a deleted annotation keeps its row but leaves the indexes.
    pub(super) fn into_batch(mut self) -> Result<sled::Batch, StoreError> {
        for (id, row) in &self.current {
            if let Some(Some(old)) = self.original.get(id) {
                for key in index_keys(old) {
                    self.batch.remove(key);
                }
            }
            if let Some(row) = row {
                for key in index_keys(row) {
                    self.batch.insert(key, &[]);
                }
                self.batch.insert(rm_row(RM_ANNOTATION, id), encode(row)?);
            }
        }
        for (id, row) in &self.articles {
            self.batch.insert(rm_row(RM_ARTICLE, id), encode(row)?);
        }
        for (key, row) in &self.anchors {
            self.batch.insert(key.as_slice(), encode(row)?);
        }
        for (id, row) in &self.claims {
            self.batch.insert(rm_row(RM_CLAIM, id), encode(row)?);
        }
        Ok(self.batch)
    }
}

/// Whether a claim event links its annotation or unlinks it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    Linked,
    Unlinked,
}

/// The row an `ArticleCreated` event opens, with no versions yet; `None` for other events.
fn created_article(event: &DomainEvent, record: &EventRecord) -> Option<ArticleRow> {
    let DomainEvent::ArticleCreated {
        article,
        title,
        outlet,
        url,
        published,
        document_id,
    } = event
    else {
        return None;
    };
    Some(ArticleRow {
        id: article.clone(),
        title: title.clone(),
        outlet: outlet.clone(),
        url: url.clone(),
        published: published.clone(),
        document_id: document_id.clone(),
        created: record.at,
        versions: Vec::new(),
    })
}

/// The anchor row an anchoring event leaves (a re-attachment changes one target of the row).
fn anchor_row(
    event: &DomainEvent,
    record: &EventRecord,
    pending: &BTreeMap<Vec<u8>, AnchorRow>,
    model: &ReadModel,
) -> Result<Option<AnchorRow>, StoreError> {
    match event {
        DomainEvent::AnnotationAnchored {
            id,
            article,
            version,
            anchors,
        } => Ok(Some(AnchorRow {
            annotation: id.clone(),
            article: article.clone(),
            version: *version,
            anchors: anchors.clone(),
            by: record.actor.clone(),
            at: record.at,
        })),
        DomainEvent::AnnotationReattached {
            id,
            article,
            version,
            target,
            quote,
            position,
        } => {
            let key = rm_anchor(id.as_str(), article.as_str(), *version);
            let existing = match pending.get(&key) {
                Some(row) => Some(row.clone()),
                None => model.anchor_at(&key)?,
            };
            let mut row = existing.unwrap_or_else(|| unplaced_row(id, article, *version, record));
            reattach(&mut row, *target, quote, *position, record);
            Ok(Some(row))
        }
        _ => Ok(None),
    }
}

/// The row of a version where none of the annotation's targets is placed yet.
fn unplaced_row(
    id: &AnnotationId,
    article: &ArticleId,
    version: u32,
    record: &EventRecord,
) -> AnchorRow {
    AnchorRow {
        annotation: id.clone(),
        article: article.clone(),
        version,
        anchors: Vec::new(),
        by: record.actor.clone(),
        at: record.at,
    }
}

/// Replaces one target's anchor in a row by a person's placement, keeping the targets in
/// order; the row is now theirs.
fn reattach(
    row: &mut AnchorRow,
    target: usize,
    quote: &TextQuote,
    position: TextPosition,
    record: &EventRecord,
) {
    let anchor = Anchor {
        status: AnchorStatus::Reattached,
        position: Some(position),
        quote: Some(quote.clone()),
        score: None,
        candidates: Vec::new(),
    };
    row.anchors.retain(|a| a.target != target);
    row.anchors.push(TargetAnchor { target, anchor });
    row.anchors.sort_by_key(|a| a.target);
    row.by = record.actor.clone();
    row.at = record.at;
}

fn index_keys(row: &AnnotationRow) -> Vec<Vec<u8>> {
    let a = &row.annotation;
    if a.deleted {
        return Vec::new();
    }
    let (seq, id) = (row.created_seq, a.id.as_str());
    let mut keys = vec![
        rm_index(RM_BY_STATUS, a.status.as_str(), seq, id),
        rm_index(RM_BY_KIND, a.kind.as_str(), seq, id),
    ];
    let mut all = vec![RM_ALL, 0];
    all.extend_from_slice(&seq.to_be_bytes());
    all.extend_from_slice(id.as_bytes());
    keys.push(all);
    for article in a.articles() {
        keys.push(rm_index(RM_BY_ARTICLE, article.as_str(), seq, id));
    }
    if let Some(assignee) = &a.assignee {
        keys.push(rm_index(RM_BY_ASSIGNEE, assignee.as_str(), seq, id));
    }
    keys
}
