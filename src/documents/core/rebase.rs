//! A lost race the work's changes survive as they are. When the winner's events touched none of
//! the work's annotation streams, its changes are merged under the work's (Automerge changes
//! commute), and the work is asked for again with the same events: only the document stream's
//! expected version and the heads its `document.changed` events record move on. That costs a
//! merge, not a rebuild of the document, so a replica that loses several races in a row on a
//! busy article catches up instead of falling further behind.
//!
//! Whatever the merge shows the work rested on (an annotation it changed now reads otherwise,
//! the article's room for annotations is gone, the heads do not add up) sends the work back to
//! be decided again on the merged state, as every lost race was before.

use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::{ActorId, Change, ChangeHash, ReadDoc};

use super::inflight::InFlight;
use super::DocumentCore;
use crate::documents::schema;
use crate::domain::{Annotation, AnnotationId, DomainEvent, StreamId};
use crate::store::{AppendRequest, EventRecord, NewEvent};

/// What became of a lost race's merge.
pub(super) enum Rebased {
    /// The work stands on the merged document: append `request`; `base` are the heads of the
    /// document without the work's changes.
    Kept {
        request: AppendRequest,
        base: Vec<ChangeHash>,
    },
    /// The winner's changes are merged and the work's taken out: decide it again.
    Undone,
    /// The winner wrote where the work did: undo the work, then take `theirs`.
    Touched(Vec<EventRecord>),
}

impl DocumentCore {
    /// Merges `theirs` (the events a lost append lacked) under the work in flight, if they
    /// leave it standing.
    pub(super) fn rebase(&mut self, inflight: &InFlight, theirs: Vec<EventRecord>) -> Rebased {
        let request = inflight.request();
        let document = self.streams.document();
        let streams: HashSet<&StreamId> = request
            .expectations
            .iter()
            .map(|(stream, _)| stream)
            .filter(|stream| *stream != document)
            .collect();
        let (ours, actors): (HashSet<ChangeHash>, HashSet<ActorId>) = changes_of(&request.events)
            .map(|change| (change.hash(), change.actor_id().clone()))
            .unzip();
        // A document the work initialised: deciding again finds the other writer's start.
        if inflight.heads_before().is_empty() {
            return Rebased::Touched(theirs);
        }
        let mut fresh = Vec::new();
        for record in &theirs {
            if streams.contains(&record.stream) {
                return Rebased::Touched(theirs);
            }
            let Some(change) = record
                .change
                .clone()
                .and_then(|b| Change::from_bytes(b).ok())
            else {
                continue;
            };
            // The same change logged by the other writer (a peer on both replicas), or one by
            // an actor of the work's: Automerge would not keep both.
            if ours.contains(&change.hash()) || actors.contains(change.actor_id()) {
                return Rebased::Touched(theirs);
            }
            if !self.doc.get_missing_deps(&[change.hash()]).is_empty() {
                fresh.push(change);
            }
        }
        let planned: HashMap<AnnotationId, Option<Annotation>> = inflight
            .originals()
            .keys()
            .map(|id| (id.clone(), self.annotations.get(id).cloned()))
            .collect();
        self.take_foreign(theirs);
        let base = advance(inflight.heads_before().iter().copied().collect(), &fresh);
        if self.still_stands(inflight, &planned) {
            if let Some(request) = self.restamped(request, &base) {
                return Rebased::Kept {
                    request,
                    base: base.into_iter().collect(),
                };
            }
        }
        self.undo(inflight.heads_before(), fresh);
        Rebased::Undone
    }

    /// Whether every annotation the work changed reads, after the merge, as the work left it,
    /// and the article still has room for those it created.
    fn still_stands(
        &self,
        inflight: &InFlight,
        planned: &HashMap<AnnotationId, Option<Annotation>>,
    ) -> bool {
        let same = planned
            .iter()
            .all(|(id, state)| self.annotations.get(id) == state.as_ref());
        let creates = inflight.originals().values().any(Option::is_none);
        let limit = self.rules.limits.max_annotations_per_article;
        same && !(creates && self.annotations.len() > limit)
    }

    /// The work's events with the document stream's expectation and the recorded heads moved
    /// past `base`; `None` if the heads they arrive at are not the merged document's.
    fn restamped(
        &self,
        request: &AppendRequest,
        base: &BTreeSet<ChangeHash>,
    ) -> Option<AppendRequest> {
        let document = self.streams.document();
        let mut heads = base.clone();
        let mut events = Vec::with_capacity(request.events.len());
        for event in &request.events {
            let mut event = event.clone();
            if let Some(change) = change_of(&event) {
                heads = advance(heads, std::slice::from_ref(&change));
                let Ok(DomainEvent::DocumentChanged {
                    article,
                    hash,
                    actor,
                    seq,
                    ..
                }) = DomainEvent::from_parts(&event.event_type, &event.data)
                else {
                    return None;
                };
                let recorded = DomainEvent::DocumentChanged {
                    article,
                    hash,
                    heads: heads.iter().map(|h| h.to_string()).collect(),
                    actor,
                    seq,
                };
                (event.event_type, event.data) = recorded.into_parts();
            }
            events.push(event);
        }
        let now: BTreeSet<ChangeHash> = self.doc.get_heads().into_iter().collect();
        if heads != now {
            tracing::warn!(article = %self.article, "a merged race's heads do not add up; deciding the work again");
            return None;
        }
        let expectations = request
            .expectations
            .iter()
            .map(|(stream, expected)| {
                if stream == document {
                    self.streams.expect_document()
                } else {
                    (stream.clone(), *expected)
                }
            })
            .collect();
        Some(AppendRequest {
            events,
            expectations,
        })
    }

    /// Takes the work's changes out of the merged document (back to `heads`, then `theirs`
    /// again) and reads the annotations again.
    fn undo(&mut self, heads: &[ChangeHash], theirs: Vec<Change>) {
        self.rollback(heads);
        if let Err(error) = self.doc.apply_changes(theirs) {
            tracing::error!(article = %self.article, %error, "could not apply logged changes");
        }
        match schema::read_all(&self.doc) {
            Ok(all) => self.annotations = all.into_iter().map(|a| (a.id.clone(), a)).collect(),
            Err(error) => {
                tracing::error!(article = %self.article, %error, "could not read the annotations again");
            }
        }
    }
}

/// The heads after applying `changes`, in causal order, to a document with heads `heads`.
fn advance(mut heads: BTreeSet<ChangeHash>, changes: &[Change]) -> BTreeSet<ChangeHash> {
    for change in changes {
        for dep in change.deps() {
            heads.remove(dep);
        }
        heads.insert(change.hash());
    }
    heads
}

fn change_of(event: &NewEvent) -> Option<Change> {
    Change::from_bytes(event.change.clone()?).ok()
}

fn changes_of(events: &[NewEvent]) -> impl Iterator<Item = Change> + '_ {
    events.iter().filter_map(change_of)
}
