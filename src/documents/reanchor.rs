//! Re-anchoring inside the document task: when an article gets a new version, every live
//! annotation of this document with a target on that article gets an `annotation.anchored`
//! event for the version. Running in the task that owns the annotations means no edit can slip
//! between reading an annotation and recording where it is; the annotation streams' expected
//! versions make sure of it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::anchoring::{reanchor, Anchor, AnchorStatus, Base, DiffBudget, VersionDiff};
use crate::domain::idempotency::Receipt;
use crate::domain::{
    Annotation, AnnotationId, ArticleId, DomainEvent, IndexedText, Kind, StreamId, TargetAnchor,
    TextPosition, UserName,
};
use crate::store::{AppendRequest, Expected, StoreError};

use super::actor::{new_event, receipt_event, DocumentActor};
use super::DocError;

/// What one re-anchoring pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reanchored {
    /// Annotations that got an anchor for the version.
    pub annotations: usize,
    /// Of their targets, how many ended in each status.
    pub by_status: Vec<(AnchorStatus, usize)>,
}

/// Texts of one article's versions and the diffs between them, loaded once per pass.
struct Versions<'a> {
    actor: &'a DocumentActor,
    article: &'a ArticleId,
    texts: HashMap<u32, String>,
    diffs: HashMap<(u32, u32), VersionDiff>,
}

impl Versions<'_> {
    fn text(&mut self, version: u32) -> Result<&str, DocError> {
        if !self.texts.contains_key(&version) {
            let text = self
                .actor
                .store
                .read_model
                .article_text(self.article, version)?
                .ok_or_else(|| {
                    DocError::Store(StoreError::Corrupt(format!(
                        "article {} has no text for version {version}",
                        self.article
                    )))
                })?;
            self.texts.insert(version, text);
        }
        Ok(&self.texts[&version])
    }

    fn diff(&mut self, from: u32, to: u32) -> Result<&VersionDiff, DocError> {
        if !self.diffs.contains_key(&(from, to)) {
            let old = self.text(from)?.to_owned();
            let new = self.text(to)?.to_owned();
            let diff = VersionDiff::new(&old, &new, DiffBudget::STANDARD);
            self.diffs.insert((from, to), diff);
        }
        Ok(&self.diffs[&(from, to)])
    }
}

impl DocumentActor {
    /// Anchors this document's annotations on `article` in its version `version`. Annotations
    /// already anchored there (by an earlier pass or by a person) are left alone, so a pass
    /// can be repeated after a crash.
    pub(super) async fn reanchor(
        &self,
        article: &ArticleId,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<Reanchored, DocError> {
        let mut versions = Versions {
            actor: self,
            article,
            texts: HashMap::new(),
            diffs: HashMap::new(),
        };
        let mut ids: Vec<_> = self
            .annotations
            .values()
            .filter(|a| !a.deleted && a.targets.iter().any(|t| &t.article == article))
            .map(|a| a.id.clone())
            .collect();
        ids.sort();
        let mut events = Vec::new();
        let mut expectations = Vec::new();
        let mut counts: HashMap<AnchorStatus, usize> = HashMap::new();
        let system = UserName::system();
        for id in ids {
            let annotation = &self.annotations[&id];
            let rows = self.store.read_model.anchors(&id)?;
            if rows
                .iter()
                .any(|r| &r.article == article && r.version == version)
            {
                continue;
            }
            let anchors = anchor_targets(annotation, article, version, &rows, &mut versions)?;
            if anchors.is_empty() {
                continue;
            }
            for a in &anchors {
                *counts.entry(a.anchor.status).or_default() += 1;
            }
            let stream = StreamId::Annotation(id.clone());
            let current = self.store.log.stream_version(&stream)?;
            expectations.push((stream.clone(), Expected::Exact(current)));
            events.push(new_event(
                stream,
                &system,
                at,
                DomainEvent::AnnotationAnchored {
                    id,
                    article: article.clone(),
                    version,
                    anchors,
                },
                None,
            ));
        }
        let annotations = events.len();
        if !events.is_empty() {
            self.store
                .log
                .append(AppendRequest {
                    events,
                    expectations,
                })
                .await?;
        }
        let mut by_status: Vec<(AnchorStatus, usize)> = counts.into_iter().collect();
        by_status.sort_by_key(|(s, _)| s.as_str());
        Ok(Reanchored {
            annotations,
            by_status,
        })
    }
}

/// Where each of the annotation's targets on `article` is in `version`, from the last version
/// each was placed in (or its original selectors).
fn anchor_targets(
    annotation: &Annotation,
    article: &ArticleId,
    version: u32,
    rows: &[crate::store::AnchorRow],
    versions: &mut Versions,
) -> Result<Vec<TargetAnchor>, DocError> {
    let suggestion = (annotation.kind == Kind::Correction)
        .then_some(annotation.suggestion.as_deref())
        .flatten();
    let mut anchors = Vec::new();
    for (index, target) in annotation.targets.iter().enumerate() {
        if &target.article != article || target.version >= version {
            continue;
        }
        // The newest earlier version where this target had a place.
        let placed = rows
            .iter()
            .filter(|r| &r.article == article && r.version < version)
            .rev()
            .find_map(|r| {
                r.anchors
                    .iter()
                    .find(|a| a.target == index)
                    .filter(|a| a.anchor.status.is_placed())
                    .and_then(|a| {
                        Some((
                            r.version,
                            Base {
                                quote: a.anchor.quote.clone()?,
                                position: a.anchor.position?,
                                resolved: a.anchor.status == AnchorStatus::Resolved,
                            },
                        ))
                    })
            });
        let (from, base) = placed.unwrap_or_else(|| {
            (
                target.version,
                Base {
                    quote: target.quote.clone(),
                    position: target.position,
                    resolved: false,
                },
            )
        });
        let new_text = versions.text(version)?.to_owned();
        let diff = versions.diff(from, version)?;
        let anchor: Anchor = reanchor(diff, &IndexedText::new(&new_text), &base, suggestion);
        anchors.push(TargetAnchor {
            target: index,
            anchor,
        });
    }
    Ok(anchors)
}

/// A person's placement of one target of an annotation in one version of an article.
#[derive(Clone, Debug)]
pub struct Reattachment {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub version: u32,
    /// Index of the target in the annotation's `targets`.
    pub target: usize,
    /// The passage, in code points of that version's text.
    pub position: TextPosition,
    /// An idempotency key's receipt, logged with the placement.
    pub receipt: Option<Receipt>,
}

impl DocumentActor {
    /// Records a person's placement; returns the event's sequence number.
    pub(super) async fn reattach(
        &self,
        user: &UserName,
        placed: Reattachment,
        at: DateTime<Utc>,
    ) -> Result<u64, DocError> {
        let Reattachment {
            id,
            article,
            version,
            target,
            position,
            receipt,
        } = placed;
        let (id, article) = (&id, &article);
        let annotation = self
            .annotations
            .get(id)
            .filter(|a| !a.deleted)
            .ok_or_else(|| DocError::NotFound(id.clone()))?;
        let invalid = |message: String| {
            DocError::Domain(crate::domain::DomainError::invalid("target", message))
        };
        match annotation.targets.get(target) {
            Some(t) if &t.article == article => {}
            Some(t) => {
                return Err(invalid(format!(
                    "target {target} of {id} is on article {}, not {article}",
                    t.article
                )))
            }
            None => {
                return Err(invalid(format!(
                    "{id} has {} target(s); there is no target {target}",
                    annotation.targets.len()
                )))
            }
        }
        let text = self
            .store
            .read_model
            .article_text(article, version)?
            .ok_or_else(|| invalid(format!("article {article} has no version {version}")))?;
        let indexed = IndexedText::new(&text);
        if position.start >= position.end || position.end > indexed.len() {
            return Err(invalid(format!(
                "characters {}..{} are not a passage of version {version}, which has {} characters",
                position.start,
                position.end,
                indexed.len()
            )));
        }
        let stream = StreamId::Annotation(id.clone());
        let current = self.store.log.stream_version(&stream)?;
        let mut events = vec![new_event(
            stream.clone(),
            user,
            at,
            DomainEvent::AnnotationReattached {
                id: id.clone(),
                article: article.clone(),
                version,
                target,
                quote: indexed.describe(position),
                position,
            },
            None,
        )];
        if let Some(receipt) = &receipt {
            events.push(receipt_event(receipt, &stream, user, at));
        }
        let committed = self
            .store
            .log
            .append(AppendRequest {
                events,
                expectations: vec![(stream, Expected::Exact(current))],
            })
            .await?;
        Ok(committed.last_seq())
    }
}
