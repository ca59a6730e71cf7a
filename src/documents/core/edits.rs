//! REST edits: each is decided with the domain, applied as an Automerge change made on behalf
//! of its user, and logged with the semantic events derived from it; a batch of edits goes in
//! one append, all of them or none (later edits may rest on earlier ones).

use std::collections::HashMap;
use std::ops::Range;

use automerge::ChangeHash;

use crate::domain::anchoring::Anchor;
use crate::domain::{
    commands, derive_events, Annotation, AnnotationId, DomainError, DomainEvent, StreamId,
    TargetAnchor, UserName,
};
use crate::store::{AppendRequest, Committed, NewEvent};

use super::{Answer, DocumentCore, EditRequest, Ticket, Work};
use crate::documents::edit::{Edit, Written};
use crate::documents::error::DocError;
use crate::documents::events::{
    change_event, commit_options, new_event, receipt_event, user_actor,
};
use crate::documents::schema;

/// The edits of an append, kept to answer them or to try them again.
pub(super) struct EditWork {
    /// Every edit not answered yet, in order, for another attempt.
    requests: Vec<EditRequest>,
    /// How each of them is answered once the append commits.
    outcomes: Vec<(Ticket, Outcome)>,
}

enum Outcome {
    /// The edit changed the annotation: its events are at `range` in the append.
    Changed {
        annotation: Annotation,
        range: Range<usize>,
    },
    /// The annotation already was what the edit asks for.
    Unchanged(Written),
}

/// An edit applied to the document, with its events.
struct Prepared {
    next: Annotation,
    events: Vec<NewEvent>,
}

/// What the edits before this one in a batch did.
#[derive(Default)]
struct Batch {
    versions: HashMap<AnnotationId, u64>,
    originals: HashMap<AnnotationId, Option<Annotation>>,
    events: Vec<NewEvent>,
    expectations: Vec<(StreamId, crate::store::Expected)>,
    receipts: Vec<NewEvent>,
}

/// A batch of edits being decided: applied to the document, not asked to be logged yet.
pub(super) struct Deciding {
    /// The document's heads before the batch.
    heads_before: Vec<ChangeHash>,
    batch: Batch,
    /// Every edit not answered yet, in order.
    kept: Vec<EditRequest>,
    outcomes: Vec<(Ticket, Outcome)>,
}

impl DocumentCore {
    /// Applies a batch of edits and asks for them to be logged in one append. Edits the rules
    /// refuse are answered at once and leave no trace.
    pub(super) fn edits(&mut self, requests: Vec<EditRequest>, attempt: u32) {
        if let Some(deciding) = self.begin_edits(requests) {
            self.decided(deciding, attempt);
        }
    }

    /// Starts a batch with `requests`; `None` when the document cannot take edits (they are
    /// answered).
    pub(super) fn begin_edits(&mut self, requests: Vec<EditRequest>) -> Option<Deciding> {
        let at = requests.first()?.at;
        let heads_before = self.doc.get_heads();
        let mut batch = Batch::default();
        match self.initialise(at) {
            Ok(Some(event)) => batch.events.push(event),
            Ok(None) => {}
            Err(error) => {
                for request in requests {
                    let error = DocError::Schema(error.clone());
                    self.reply(request.ticket, Answer::Written(Err(error)));
                }
                return None;
            }
        }
        batch.expectations.push(self.streams.expect_document());
        let mut deciding = Deciding {
            heads_before,
            batch,
            kept: Vec::with_capacity(requests.len()),
            outcomes: Vec::with_capacity(requests.len()),
        };
        self.decide_edits(&mut deciding, requests);
        Some(deciding)
    }

    /// Decides `requests` after the edits already in the batch and applies them.
    pub(super) fn decide_edits(&mut self, deciding: &mut Deciding, requests: Vec<EditRequest>) {
        for request in requests {
            match self.prepare(&request, &deciding.batch) {
                Err(error) => self.reply(request.ticket, Answer::Written(Err(error))),
                Ok(None) => {
                    let written = self.unchanged(request.edit.target(), &deciding.batch);
                    deciding
                        .outcomes
                        .push((request.ticket, Outcome::Unchanged(written)));
                    deciding.kept.push(request);
                }
                Ok(Some(prepared)) => {
                    let outcome = self.add_to_batch(&mut deciding.batch, &request, prepared);
                    deciding.outcomes.push((request.ticket, outcome));
                    deciding.kept.push(request);
                }
            }
        }
    }

    /// Asks for a decided batch to be logged, or answers it when it changed nothing.
    pub(super) fn decided(&mut self, deciding: Deciding, attempt: u32) {
        let Deciding {
            heads_before,
            mut batch,
            kept,
            outcomes,
        } = deciding;
        if batch.originals.is_empty() {
            // Nothing to log (an initialisation alone waits for a real change).
            self.rollback_if_moved(&heads_before);
            return self.answer_unchanged(outcomes);
        }
        let mut events = batch.events;
        events.append(&mut batch.receipts);
        let request = AppendRequest {
            events,
            expectations: batch.expectations,
        };
        let work = EditWork {
            requests: kept,
            outcomes,
        };
        self.begin_append(
            request,
            heads_before,
            batch.originals,
            attempt,
            Work::Edits(work),
        );
    }

    /// Takes a decided batch out of the document, unlogged.
    pub(super) fn undecide(&mut self, deciding: Deciding) {
        self.restore(&deciding.heads_before, deciding.batch.originals);
    }

    fn answer_unchanged(&mut self, outcomes: Vec<(Ticket, Outcome)>) {
        for (ticket, outcome) in outcomes {
            if let Outcome::Unchanged(written) = outcome {
                self.reply(ticket, Answer::Written(Ok(written)));
            }
        }
    }

    fn add_to_batch(&mut self, batch: &mut Batch, request: &EditRequest, p: Prepared) -> Outcome {
        let id = p.next.id.clone();
        let before = self.annotations.insert(id.clone(), p.next.clone());
        batch.originals.entry(id.clone()).or_insert(before);
        let stream = StreamId::Annotation(id.clone());
        let version = self.version_in(batch, &id);
        if !batch.versions.contains_key(&id) {
            batch.expectations.push(self.streams.expect_annotation(&id));
        }
        let on_stream = p.events.iter().filter(|e| e.stream == stream).count() as u64;
        batch.versions.insert(id, version + on_stream);
        let start = batch.events.len();
        batch.events.extend(p.events);
        if let Some(receipt) = &request.receipt {
            let event = receipt_event(receipt, &stream, &request.user, request.at);
            batch.receipts.push(event);
        }
        Outcome::Changed {
            annotation: p.next,
            range: start..batch.events.len(),
        }
    }

    fn version_in(&self, batch: &Batch, id: &AnnotationId) -> u64 {
        batch
            .versions
            .get(id)
            .copied()
            .unwrap_or_else(|| self.streams.annotation(id))
    }

    fn unchanged(&self, id: &AnnotationId, batch: &Batch) -> Written {
        Written {
            annotation: self.annotations[id].clone(),
            version: self.version_in(batch, id),
            seq: 0,
        }
    }

    /// Decides one edit and applies it to the document (not yet logged); `None` when the
    /// annotation already is what the edit asks for.
    fn prepare(
        &mut self,
        request: &EditRequest,
        batch: &Batch,
    ) -> Result<Option<Prepared>, DocError> {
        let EditRequest { user, at, edit, .. } = request;
        let id = edit.target();
        let actual = self.version_in(batch, id);
        let before = self.annotations.get(id).cloned();
        if let Some(expected) = edit.expected() {
            if expected != actual {
                return Err(match edit {
                    Edit::Create(_) | Edit::CreateUnplaced { .. } => {
                        DocError::AlreadyExists(id.clone())
                    }
                    _ => DocError::VersionMismatch { expected, actual },
                });
            }
        }
        self.check_room(before.as_ref())?;
        let next = self.decide(before.as_ref(), edit, *at)?;
        if let Some(current) = &before {
            let mut same = next.clone();
            same.modified = current.modified;
            if &same == current {
                return Ok(None);
            }
        }
        let semantic = derive_events(before.as_ref(), &next);
        self.write(user, *at, before.as_ref(), &next)?;
        let stream = StreamId::Annotation(id.clone());
        let change = self.doc.get_last_local_change().ok_or(DocError::Stopped)?;
        let mut events = vec![change_event(&self.article, &self.doc, user, *at, &change)];
        events.extend(
            semantic
                .into_iter()
                .map(|event| new_event(stream.clone(), user, *at, event, None)),
        );
        if let Edit::CreateUnplaced { anchor, .. } = edit {
            events.push(unplaced_event(&next, anchor, *at)?);
        }
        Ok(Some(Prepared { next, events }))
    }

    fn check_room(&self, before: Option<&Annotation>) -> Result<(), DocError> {
        let limit = self.rules.limits.max_annotations_per_article;
        if before.is_none() && self.annotations.len() >= limit {
            return Err(DocError::Domain(DomainError::invalid(
                "target",
                format!(
                    "article {} has reached the limit of {limit} annotations",
                    self.article
                ),
            )));
        }
        Ok(())
    }

    /// What the annotation becomes, by the domain's rules.
    fn decide(
        &self,
        before: Option<&Annotation>,
        edit: &Edit,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Annotation, DocError> {
        let limits = &self.rules.limits;
        let id = edit.target();
        Ok(match (before, edit.clone()) {
            (None, Edit::Create(create) | Edit::CreateUnplaced { create, .. }) => {
                commands::create(create, limits)?
            }
            (Some(_), Edit::Create(_) | Edit::CreateUnplaced { .. }) => {
                return Err(DocError::AlreadyExists(id.clone()))
            }
            (None, _) => return Err(DocError::NotFound(id.clone())),
            (Some(current), Edit::Replace { replace, .. }) => {
                commands::replace(current, replace, limits)?
            }
            (Some(current), Edit::SetStatus { to, .. }) => {
                commands::change_status(current, to, at)?
            }
            (Some(current), Edit::Assign { assignee, .. }) => {
                commands::assign(current, assignee, at)?
            }
            (Some(current), Edit::AddReply { reply, .. }) => {
                commands::add_reply(current, reply, limits)?
            }
            (Some(current), Edit::Delete { .. }) => commands::delete(current, at)?,
        })
    }

    /// Writes the annotation into the document as one change made by `user`.
    fn write(
        &mut self,
        user: &crate::domain::UserName,
        at: chrono::DateTime<chrono::Utc>,
        before: Option<&Annotation>,
        next: &Annotation,
    ) -> Result<(), DocError> {
        self.doc.set_actor(user_actor(user, &self.writer));
        let mut tx = self.doc.transaction();
        let written = schema::annotations_map(&tx).and_then(|map| {
            let map = map.ok_or_else(|| schema::invalid(schema::ANNOTATIONS, "is missing"))?;
            schema::write_annotation(&mut tx, &map, before, next)
        });
        if let Err(error) = written {
            tx.rollback();
            return Err(error.into());
        }
        tx.commit_with(commit_options(user, at));
        Ok(())
    }

    pub(super) fn edits_again(&mut self, work: EditWork, attempt: u32) {
        self.edits(work.requests, attempt);
    }

    pub(super) fn edits_abandoned(&mut self, work: EditWork, error: &DocError) {
        for request in work.requests {
            self.reply(request.ticket, Answer::Written(Err(error.clone())));
        }
    }

    pub(super) fn edits_committed(&mut self, work: EditWork, committed: &Committed) {
        for (ticket, outcome) in work.outcomes {
            let written = match outcome {
                Outcome::Unchanged(written) => written,
                Outcome::Changed { annotation, range } => {
                    let last = committed.positions[range].last();
                    Written {
                        annotation,
                        version: last.map_or(0, |p| p.version),
                        seq: last.map_or(0, |p| p.seq),
                    }
                }
            };
            self.reply(ticket, Answer::Written(Ok(written)));
        }
    }
}

/// Where an annotation created without a place is not, in the version its target is filed on:
/// the server's `annotation.anchored`, as re-anchoring writes it.
fn unplaced_event(
    annotation: &Annotation,
    anchor: &Anchor,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<NewEvent, DocError> {
    let [target] = annotation.targets.as_slice() else {
        return Err(DocError::Domain(DomainError::invalid(
            "target",
            "an annotation created without a place has one target",
        )));
    };
    if anchor.status.is_placed() {
        return Err(DocError::Domain(DomainError::invalid(
            "target",
            format!(
                "an annotation created without a place is orphaned or ambiguous, not {}",
                anchor.status.as_str()
            ),
        )));
    }
    let event = DomainEvent::AnnotationAnchored {
        id: annotation.id.clone(),
        article: target.article.clone(),
        version: target.version,
        anchors: vec![TargetAnchor {
            target: 0,
            anchor: anchor.clone(),
        }],
    };
    let stream = StreamId::Annotation(annotation.id.clone());
    Ok(new_event(stream, &UserName::system(), at, event, None))
}
