//! The append in flight and what its outcome does: a commit makes the work visible (answers,
//! fan-out), a lost race merges the other writer's events and tries the work again (`rebase`),
//! and a failure undoes the work's changes to the document.

use std::collections::HashMap;

use automerge::ChangeHash;

use crate::domain::{Annotation, AnnotationId};
use crate::store::{AppendRequest, Committed, EventRecord};

use super::rebase::Rebased;
use super::{AppendId, AppendOutcome, DocumentCore, Effect, Work, MAX_ATTEMPTS};
use crate::documents::error::DocError;

/// An append the core is waiting for.
pub(super) struct InFlight {
    id: AppendId,
    attempt: u32,
    /// The document's heads before the work's changes.
    heads_before: Vec<ChangeHash>,
    /// What the work's annotations were before it, to undo it.
    originals: HashMap<AnnotationId, Option<Annotation>>,
    /// What was asked for, to ask again after a lost race the work survives.
    request: AppendRequest,
    work: Work,
}

impl InFlight {
    pub(super) fn request(&self) -> &AppendRequest {
        &self.request
    }

    pub(super) fn heads_before(&self) -> &[ChangeHash] {
        &self.heads_before
    }

    pub(super) fn originals(&self) -> &HashMap<AnnotationId, Option<Annotation>> {
        &self.originals
    }
}

impl DocumentCore {
    /// Asks for `request` to be appended; `originals` are the annotations the work changed in
    /// `self.annotations`, as they were before it.
    pub(super) fn begin_append(
        &mut self,
        request: AppendRequest,
        heads_before: Vec<ChangeHash>,
        originals: HashMap<AnnotationId, Option<Annotation>>,
        attempt: u32,
        work: Work,
    ) {
        self.next_append += 1;
        let id = AppendId(self.next_append);
        self.inflight = Some(InFlight {
            id,
            attempt,
            heads_before,
            originals,
            request: request.clone(),
            work,
        });
        self.effects.push(Effect::Append {
            id,
            request,
            after_seq: self.streams.state().seq,
        });
    }

    pub(super) fn on_appended(&mut self, id: AppendId, outcome: AppendOutcome) {
        let Some(inflight) = self.inflight.take_if(|f| f.id == id) else {
            tracing::warn!(article = %self.article, ?id, "an append outcome nobody waits for");
            return;
        };
        // Edits decided ahead rest on this work: they go on once it commits, else they are
        // taken out first and decided again after it (`ahead`).
        let ahead = self.ahead.take();
        match outcome {
            AppendOutcome::Committed(committed) => {
                self.contended &= inflight.attempt > 1;
                self.committed(inflight, committed);
                if let Some(ahead) = ahead {
                    self.go_ahead(ahead);
                }
            }
            AppendOutcome::Raced { theirs } => {
                self.contended = true;
                self.undo_ahead(ahead);
                self.raced(inflight, theirs)
            }
            AppendOutcome::Failed(error) => {
                self.undo_ahead(ahead);
                self.restore(&inflight.heads_before, inflight.originals);
                self.abandon(inflight.work, DocError::Store(error));
                // What a lost race merged before this try is logged: the peers may lack it.
                self.broadcast();
            }
        }
    }

    fn committed(&mut self, inflight: InFlight, committed: Committed) {
        for (event, position) in inflight.request.events.iter().zip(&committed.positions) {
            self.streams
                .landed(&event.stream, *position, event.change.is_some());
        }
        let changed = self.doc.get_heads() != inflight.heads_before;
        match inflight.work {
            Work::Edits(work) => self.edits_committed(work, &committed),
            // The broadcast below answers the peer too.
            Work::Sync(_) => {}
            Work::Anchors(work) => self.anchors_committed(work),
            Work::Reattach(work) => self.reattach_committed(work, &committed),
        }
        if changed {
            self.broadcast();
        }
    }

    /// Merges the winner's events and asks again: with the same events when the work survives
    /// the merge (`rebase`), else with the work decided again on the merged state.
    fn raced(&mut self, inflight: InFlight, theirs: Vec<EventRecord>) {
        if inflight.attempt >= MAX_ATTEMPTS {
            self.restore(&inflight.heads_before, inflight.originals);
            self.take_foreign(theirs);
            self.abandon(inflight.work, DocError::Contended);
            self.broadcast();
            return;
        }
        let attempt = inflight.attempt + 1;
        match self.rebase(&inflight, theirs) {
            Rebased::Kept { request, base } => {
                let InFlight {
                    originals, work, ..
                } = inflight;
                return self.begin_append(request, base, originals, attempt, work);
            }
            Rebased::Undone => {}
            Rebased::Touched(theirs) => {
                self.restore(&inflight.heads_before, inflight.originals);
                self.take_foreign(theirs);
            }
        }
        match inflight.work {
            Work::Edits(work) => self.edits_again(work, attempt),
            Work::Sync(work) => self.sync_again(work, attempt),
            Work::Anchors(work) => self.anchors_again(work, attempt),
            Work::Reattach(work) => self.reattach_again(work, attempt),
        }
    }

    /// Tells the work's callers (or its peer) that it did not stick, and why.
    fn abandon(&mut self, work: Work, error: DocError) {
        match work {
            Work::Edits(work) => self.edits_abandoned(work, &error),
            Work::Sync(work) => self.sync_abandoned(work, &error),
            Work::Anchors(work) => self.anchors_abandoned(work, error),
            Work::Reattach(work) => self.reattach_abandoned(work, error),
        }
    }

    /// Takes a work's changes out: the document back to `heads`, and the annotations it
    /// changed back to what they were (`None`: it did not exist).
    pub(super) fn restore(
        &mut self,
        heads: &[ChangeHash],
        originals: HashMap<AnnotationId, Option<Annotation>>,
    ) {
        self.rollback_if_moved(heads);
        for (id, before) in originals {
            match before {
                Some(annotation) => self.annotations.insert(id, annotation),
                None => self.annotations.remove(&id),
            };
        }
    }

    /// Undoes changes that were not logged, by rebuilding the document at earlier heads.
    pub(super) fn rollback(&mut self, heads: &[ChangeHash]) {
        match self.doc.fork_at(heads) {
            Ok(doc) => self.doc = doc,
            Err(error) => {
                tracing::error!(article = %self.article, %error, "could not roll back the document");
            }
        }
    }
}
