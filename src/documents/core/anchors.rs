//! Re-anchoring and re-attachment in the core that owns the annotations: when an article gets
//! a new version, every live annotation of this document with a target on that article gets an
//! `annotation.anchored` event for the version; a person's placement of a target is an
//! `annotation.reattached`. Both state the annotation streams' expected versions, so no edit
//! can slip between reading an annotation and recording where it is.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Answer, DocumentCore, Ticket, Work};
use crate::documents::edit::{Reanchored, Reattachment};
use crate::documents::error::DocError;
use crate::documents::events::{new_event, receipt_event};
use crate::domain::anchoring::{reanchor, Anchor, AnchorStatus, Base, DiffBudget, VersionDiff};
use crate::domain::{
    Annotation, AnnotationId, ArticleId, DomainError, DomainEvent, IndexedText, Kind, StreamId,
    TargetAnchor, UserName,
};
use crate::store::{AnchorRow, AppendRequest, Committed};

use super::Library;

pub(super) struct AnchorWork {
    ticket: Ticket,
    article: ArticleId,
    version: u32,
    at: DateTime<Utc>,
    done: Reanchored,
}

pub(super) struct ReattachWork {
    ticket: Ticket,
    user: UserName,
    placed: Reattachment,
    at: DateTime<Utc>,
}

/// Texts of one article's versions and the diffs between them, loaded once per pass.
struct Versions<'a> {
    library: &'a dyn Library,
    article: &'a ArticleId,
    texts: HashMap<u32, String>,
    diffs: HashMap<(u32, u32), VersionDiff>,
}

impl Versions<'_> {
    fn text(&mut self, version: u32) -> Result<&str, DocError> {
        if !self.texts.contains_key(&version) {
            let text = self
                .library
                .article_text(self.article, version)?
                .ok_or_else(|| DocError::NoSuchVersion {
                    article: self.article.clone(),
                    version,
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

impl DocumentCore {
    /// Anchors this document's annotations on `article` in its version `version`. Annotations
    /// already anchored there (by an earlier pass or by a person) are left alone, so a pass can
    /// be repeated after a crash.
    pub(super) fn reanchor(
        &mut self,
        ticket: Ticket,
        article: ArticleId,
        version: u32,
        at: DateTime<Utc>,
        attempt: u32,
    ) {
        let (request, done) = match self.anchor_events(&article, version, at) {
            Ok(prepared) => prepared,
            Err(error) => return self.reply(ticket, Answer::Reanchored(Err(error))),
        };
        if request.events.is_empty() {
            return self.reply(ticket, Answer::Reanchored(Ok(done)));
        }
        let work = AnchorWork {
            ticket,
            article,
            version,
            at,
            done,
        };
        let heads = self.doc.get_heads();
        self.begin_append(request, heads, HashMap::new(), attempt, Work::Anchors(work));
    }

    fn anchor_events(
        &self,
        article: &ArticleId,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<(AppendRequest, Reanchored), DocError> {
        let mut versions = Versions {
            library: self.library.as_ref(),
            article,
            texts: HashMap::new(),
            diffs: HashMap::new(),
        };
        let mut ids: Vec<&AnnotationId> = self
            .annotations
            .values()
            .filter(|a| !a.deleted && a.targets.iter().any(|t| &t.article == article))
            .map(|a| &a.id)
            .collect();
        ids.sort();
        let mut request = AppendRequest::default();
        let mut counts: HashMap<AnchorStatus, usize> = HashMap::new();
        for id in ids {
            let Some(anchors) = self.anchor_one(id, article, version, &mut versions)? else {
                continue;
            };
            for a in &anchors {
                *counts.entry(a.anchor.status).or_default() += 1;
            }
            request
                .expectations
                .push(self.streams.expect_annotation(id));
            let event = DomainEvent::AnnotationAnchored {
                id: id.clone(),
                article: article.clone(),
                version,
                anchors,
            };
            let stream = StreamId::Annotation(id.clone());
            request
                .events
                .push(new_event(stream, &UserName::system(), at, event, None));
        }
        let mut by_status: Vec<(AnchorStatus, usize)> = counts.into_iter().collect();
        by_status.sort_by_key(|(s, _)| s.as_str());
        let done = Reanchored {
            annotations: request.events.len(),
            by_status,
        };
        Ok((request, done))
    }

    /// Where one annotation's targets are in the version; `None` if it was anchored there
    /// already or has no target to anchor.
    fn anchor_one(
        &self,
        id: &AnnotationId,
        article: &ArticleId,
        version: u32,
        versions: &mut Versions,
    ) -> Result<Option<Vec<TargetAnchor>>, DocError> {
        let rows = self.library.anchors(id)?;
        if rows
            .iter()
            .any(|r| &r.article == article && r.version == version)
        {
            return Ok(None);
        }
        let anchors = anchor_targets(&self.annotations[id], article, version, &rows, versions)?;
        Ok(Some(anchors).filter(|a| !a.is_empty()))
    }

    pub(super) fn anchors_again(&mut self, work: AnchorWork, attempt: u32) {
        self.reanchor(work.ticket, work.article, work.version, work.at, attempt);
    }

    pub(super) fn anchors_abandoned(&mut self, work: AnchorWork, error: DocError) {
        self.reply(work.ticket, Answer::Reanchored(Err(error)));
    }

    pub(super) fn anchors_committed(&mut self, work: AnchorWork) {
        self.reply(work.ticket, Answer::Reanchored(Ok(work.done)));
    }

    /// Records a person's placement of a target.
    pub(super) fn reattach(
        &mut self,
        ticket: Ticket,
        user: UserName,
        placed: Reattachment,
        at: DateTime<Utc>,
        attempt: u32,
    ) {
        let request = match self.reattach_events(&user, &placed, at) {
            Ok(request) => request,
            Err(error) => return self.reply(ticket, Answer::Reattached(Err(error))),
        };
        let work = ReattachWork {
            ticket,
            user,
            placed,
            at,
        };
        let heads = self.doc.get_heads();
        self.begin_append(
            request,
            heads,
            HashMap::new(),
            attempt,
            Work::Reattach(work),
        );
    }

    fn reattach_events(
        &self,
        user: &UserName,
        placed: &Reattachment,
        at: DateTime<Utc>,
    ) -> Result<AppendRequest, DocError> {
        let Reattachment {
            id,
            article,
            version,
            target,
            position,
            receipt,
        } = placed;
        let annotation = self
            .annotations
            .get(id)
            .filter(|a| !a.deleted)
            .ok_or_else(|| DocError::NotFound(id.clone()))?;
        check_target_index(annotation, article, *target)?;
        let invalid = |message: String| DocError::Domain(DomainError::invalid("target", message));
        let text = self
            .library
            .article_text(article, *version)?
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
        let event = DomainEvent::AnnotationReattached {
            id: id.clone(),
            article: article.clone(),
            version: *version,
            target: *target,
            quote: indexed.describe(*position),
            position: *position,
        };
        let mut events = vec![new_event(stream.clone(), user, at, event, None)];
        if let Some(receipt) = receipt {
            events.push(receipt_event(receipt, &stream, user, at));
        }
        Ok(AppendRequest {
            events,
            expectations: vec![self.streams.expect_annotation(id)],
        })
    }

    pub(super) fn reattach_again(&mut self, work: ReattachWork, attempt: u32) {
        self.reattach(work.ticket, work.user, work.placed, work.at, attempt);
    }

    pub(super) fn reattach_abandoned(&mut self, work: ReattachWork, error: DocError) {
        self.reply(work.ticket, Answer::Reattached(Err(error)));
    }

    pub(super) fn reattach_committed(&mut self, work: ReattachWork, committed: &Committed) {
        self.reply(work.ticket, Answer::Reattached(Ok(committed.last_seq())));
    }
}

fn check_target_index(
    annotation: &Annotation,
    article: &ArticleId,
    target: usize,
) -> Result<(), DocError> {
    let invalid = |message: String| DocError::Domain(DomainError::invalid("target", message));
    let id = &annotation.id;
    match annotation.targets.get(target) {
        Some(t) if &t.article == article => Ok(()),
        Some(t) => Err(invalid(format!(
            "target {target} of {id} is on article {}, not {article}",
            t.article
        ))),
        None => Err(invalid(format!(
            "{id} has {} target(s); there is no target {target}",
            annotation.targets.len()
        ))),
    }
}

/// Where each of the annotation's targets on `article` is in `version`, from the last version
/// each was placed in (or its original selectors).
fn anchor_targets(
    annotation: &Annotation,
    article: &ArticleId,
    version: u32,
    rows: &[AnchorRow],
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
        let (from, base) = last_placed(rows, article, version, index).unwrap_or_else(|| {
            let base = Base {
                quote: target.quote.clone(),
                position: target.position,
                resolved: false,
            };
            (target.version, base)
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

/// The newest version before `version` where target `index` had a place, and that place.
fn last_placed(
    rows: &[AnchorRow],
    article: &ArticleId,
    version: u32,
    index: usize,
) -> Option<(u32, Base)> {
    rows.iter()
        .filter(|r| &r.article == article && r.version < version)
        .rev()
        .find_map(|r| {
            let a = r
                .anchors
                .iter()
                .find(|a| a.target == index)
                .filter(|a| a.anchor.status.is_placed())?;
            let base = Base {
                quote: a.anchor.quote.clone()?,
                position: a.anchor.position?,
                resolved: a.anchor.status == AnchorStatus::Resolved,
            };
            Some((r.version, base))
        })
}
