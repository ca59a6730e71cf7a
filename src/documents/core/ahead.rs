//! REST edits decided ahead: while one append is made durable, the edits that come meanwhile
//! are decided and applied to the document on top of it, as they come, so the document's work
//! and the log's wait overlap instead of taking turns (ADR 0023). The log still sees one append
//! per document at a time: the edits decided ahead are asked for, as one batch, once the append
//! before them commits, with the stream versions that commit leaves (taken as given while they
//! were decided, and checked when it lands). Until then everything they would answer is held
//! back. If the append before them does not commit (a failure, a lost race), they are taken out
//! of the document again and decided afresh after it, as if they had waited in the queue.
//!
//! Only REST edits are decided ahead, and only when no sync peer is subscribed (a peer would be
//! sent the document's state, which would then hold changes that are not logged yet), nothing
//! else waits before them, and the document's last append did not lose a race (undoing costs a
//! rebuild of the document, which a contended article would pay often).

use super::edits::Deciding;
use super::streams::Assumed;
use super::{DocumentCore, EditRequest, Effect, Input, MAX_EDITS_PER_APPEND};

/// The edits decided ahead of the append in flight.
pub(super) struct Ahead {
    /// The edits as they came, to decide again if the append before them does not commit.
    requests: Vec<EditRequest>,
    /// Where the append before them leaves the streams, which their expectations rest on.
    assumed: Assumed,
    /// Their batch, asked for once the append before commits; `None` if the document could
    /// not take them.
    deciding: Option<Deciding>,
    /// What they answered, held until then.
    effects: Vec<Effect>,
}

impl DocumentCore {
    /// Whether REST edits that come now are decided ahead of the append in flight.
    pub fn decides_ahead(&self) -> bool {
        self.inflight.is_some()
            && self
                .ahead
                .as_ref()
                .is_none_or(|a| a.requests.len() < MAX_EDITS_PER_APPEND)
            && self.queued.is_empty()
            && self.peers.len() == 0
            && !self.contended
    }

    /// How many REST edits the next batch may hold: fewer while edits are decided ahead, so that
    /// the append they make together stays within [`MAX_EDITS_PER_APPEND`].
    pub fn edit_room(&self) -> usize {
        let ahead = self.ahead.as_ref().map_or(0, |a| a.requests.len());
        MAX_EDITS_PER_APPEND.saturating_sub(ahead)
    }

    /// Decides `requests` after the edits already decided ahead, on top of the append in flight,
    /// holding back their answers.
    pub(super) fn decide_ahead(&mut self, requests: Vec<EditRequest>) {
        let mut ahead = match self.ahead.take() {
            Some(ahead) => ahead,
            None => {
                let before = self.inflight.as_ref().expect("an append in flight");
                Ahead {
                    requests: Vec::new(),
                    assumed: self.streams.after(before.request()),
                    deciding: None,
                    effects: Vec::new(),
                }
            }
        };
        ahead.requests.extend(requests.iter().cloned());
        self.streams.assume(std::mem::take(&mut ahead.assumed));
        let held = std::mem::take(&mut self.effects);
        match &mut ahead.deciding {
            Some(deciding) => self.decide_edits(deciding, requests),
            None => ahead.deciding = self.begin_edits(requests),
        }
        ahead.assumed = self.streams.stop_assuming();
        ahead
            .effects
            .extend(std::mem::replace(&mut self.effects, held));
        self.ahead = Some(ahead);
    }

    /// The append before the edits decided ahead committed: their answers go out and their
    /// append is asked for, if the streams are where they were taken to be.
    pub(super) fn go_ahead(&mut self, ahead: Ahead) {
        if !self.streams.reached(&ahead.assumed) {
            // The append committed elsewhere than it expected (a duplicate of an earlier one).
            return self.undo_ahead(Some(ahead));
        }
        self.effects.extend(ahead.effects);
        if let Some(deciding) = ahead.deciding {
            self.decided(deciding, 1);
        }
    }

    /// Takes the edits decided ahead out of the document and puts them first in the queue.
    pub(super) fn undo_ahead(&mut self, ahead: Option<Ahead>) {
        let Some(ahead) = ahead else {
            return;
        };
        if let Some(deciding) = ahead.deciding {
            self.undecide(deciding);
        }
        self.queued.push_front(Input::Edits(ahead.requests));
    }
}
