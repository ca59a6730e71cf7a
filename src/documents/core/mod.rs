//! The document core: one article's Automerge document, its annotations and its sync peers, as
//! a state machine that performs no IO.
//!
//! The core takes [`Input`]s (a REST edit, a peer's sync message, a peer joining, leaving or
//! falling behind, presence, a new article version, a re-attachment, an inspection, changes
//! appended elsewhere, the outcome of an append) and returns [`Effect`]s (append these events
//! with these expected versions, send this to that peer, drop that peer, answer this caller).
//! The task around it (`task`) executes the effects and feeds their outcomes back.
//!
//! While an append is in flight, further inputs wait in the core's own queue: nothing a later
//! input does can rest on a change that may still fail. The one exception is a batch of REST
//! edits, which may be decided ahead of the append's outcome with everything it says held back
//! until that append commits, and taken out again if it does not (`ahead`). An append that loses a race (another
//! writer moved the document's stream on) is an input like any other: the core takes the
//! changes it lacked, merges them, re-validates and re-derives its own, and asks again with the
//! new expected versions, a bounded number of times.
//!
//! The only things the core reads from outside are facts that never change once written (the
//! text of an article's version) and where annotations were anchored, through [`Library`].

mod accept;
mod ahead;
mod anchors;
mod edits;
mod foreign;
mod inflight;
mod peers;
mod rebase;
mod receive;
mod rules;
mod streams;
#[cfg(test)]
mod tests;
mod touched;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use automerge::{Automerge, ReadDoc};
use chrono::{DateTime, Utc};

use crate::domain::idempotency::Receipt;
use crate::domain::{Annotation, AnnotationId, ArticleId, UserName};
use crate::store::{AnchorRow, AppendRequest, Committed, EventRecord, StoreError};

use super::edit::{DocState, Edit, Written};
use super::edit::{Reanchored, Reattachment};
use super::error::DocError;
use super::peer::{ConnId, Outbound, Presence};

pub use peers::PeerInfo;
pub use rules::Rules;
pub use streams::{unseen, StreamState};

use accept::SyncWork;
use anchors::{AnchorWork, ReattachWork};
use edits::EditWork;
use inflight::InFlight;
use peers::Peers;
use streams::Streams;

/// Who is waiting for an answer; the task maps tickets to its callers.
pub type Ticket = u64;

/// Names one append the core asked for, so its outcome finds its way back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendId(pub u64);

/// Most REST edits logged in one append: a batch the task hands over, or the edits decided
/// ahead of an append in flight.
pub const MAX_EDITS_PER_APPEND: usize = 64;

/// How many times an append that lost a race is tried again before its callers are told the
/// document is too busy (and its peer is dropped). A retry the work survives costs a merge and
/// a round trip (`rebase`), and on an article every replica writes to at once each round is
/// lost to whichever replica commits first: with three replicas a retry loses about two times
/// in three, so the bound is set where losing every round does not happen.
pub const MAX_ATTEMPTS: u32 = 64;

/// What the core may look up: the text of published article versions (which never change) and
/// where annotations were anchored.
pub trait Library: Send + Sync {
    fn article_text(&self, article: &ArticleId, version: u32)
        -> Result<Option<String>, StoreError>;
    fn anchors(&self, id: &AnnotationId) -> Result<Vec<AnchorRow>, StoreError>;
}

/// A REST edit waiting for the document.
#[derive(Clone, Debug)]
pub struct EditRequest {
    pub ticket: Ticket,
    pub user: UserName,
    pub at: DateTime<Utc>,
    pub edit: Edit,
    /// An idempotency key's receipt, logged with the edit.
    pub receipt: Option<Receipt>,
}

/// What happens to a document.
#[derive(Debug)]
pub enum Input {
    /// REST edits, logged together in one append (all of them or none).
    Edits(Vec<EditRequest>),
    /// A sync message from a peer, who is subscribed to the document from now on.
    Sync {
        peer: PeerInfo,
        message: Box<automerge::sync::Message>,
        at: DateTime<Utc>,
    },
    /// Presence from a peer, for the document's other peers.
    Presence {
        from: ConnId,
        presence: Presence,
    },
    /// Presence a peer of another process sent (shared through the log's database), for this
    /// process's peers.
    RemotePresence(Presence),
    /// A peer's connection ended.
    Leave {
        conn: ConnId,
    },
    /// A peer's queue is full: it is too far behind to keep.
    Behind {
        conn: ConnId,
    },
    /// Anchor the annotations on `article` in its new version.
    Reanchor {
        ticket: Ticket,
        article: ArticleId,
        version: u32,
        at: DateTime<Utc>,
    },
    /// A person places a target in a version.
    Reattach {
        ticket: Ticket,
        user: UserName,
        placed: Reattachment,
        at: DateTime<Utc>,
    },
    Inspect {
        ticket: Ticket,
    },
    /// Events of this document's streams that another writer appended, in log order.
    Foreign(Vec<EventRecord>),
    /// What became of an append the core asked for.
    Appended {
        id: AppendId,
        outcome: AppendOutcome,
    },
}

/// What became of an append.
#[derive(Debug)]
pub enum AppendOutcome {
    Committed(Committed),
    /// Another writer appended to one of the streams first; `theirs` are the events of those
    /// streams that the core had not seen, in log order.
    Raced {
        theirs: Vec<EventRecord>,
    },
    Failed(StoreError),
}

/// What the core asks of the world. Short-lived and handled at once: the sizes of the variants
/// do not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    /// Append atomically and durably; report the outcome with [`Input::Appended`]. On a race,
    /// the events the core lacks are the document stream's after `after_seq` and the
    /// annotation streams' after the versions expected.
    Append {
        id: AppendId,
        request: AppendRequest,
        after_seq: u64,
    },
    /// Send to a peer; if its queue is full, report [`Input::Behind`].
    Send { conn: ConnId, message: Outbound },
    /// Presence for a peer: best effort, a full queue drops it.
    Relay { conn: ConnId, presence: Presence },
    /// Presence for the peers of other processes sharing the log: best effort.
    Share { presence: Presence },
    /// The peer is no longer subscribed; close its connection with this reason.
    Disconnect { conn: ConnId, reason: String },
    /// The answer for a caller.
    Reply { ticket: Ticket, answer: Answer },
}

/// An answer for a caller; short-lived, like the effect that carries it.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Answer {
    Written(Result<Written, DocError>),
    Reanchored(Result<Reanchored, DocError>),
    Reattached(Result<u64, DocError>),
    Inspected(Box<DocState>),
}

/// What an append was for.
enum Work {
    Edits(EditWork),
    Sync(SyncWork),
    Anchors(AnchorWork),
    Reattach(ReattachWork),
}

/// One article's document, annotations and peers.
pub struct DocumentCore {
    article: ArticleId,
    doc: Automerge,
    /// Names this writer in the actor ids of the changes it makes (`user_actor`).
    writer: uuid::Uuid,
    rules: Arc<Rules>,
    library: Arc<dyn Library>,
    annotations: HashMap<AnnotationId, Annotation>,
    streams: Streams,
    peers: Peers,
    inflight: Option<InFlight>,
    /// REST edits decided while the append in flight is made durable.
    ahead: Option<ahead::Ahead>,
    /// The last append lost a race: nothing is decided ahead until one commits at once.
    contended: bool,
    /// Inputs that arrived while an append was in flight.
    queued: VecDeque<Input>,
    next_append: u64,
    effects: Vec<Effect>,
}

impl DocumentCore {
    /// A core over a loaded document whose streams are where `streams` says.
    pub fn new(
        article: ArticleId,
        doc: Automerge,
        streams: StreamState,
        rules: Arc<Rules>,
        library: Arc<dyn Library>,
    ) -> Result<Self, DocError> {
        let annotations = super::schema::read_all(&doc)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        Ok(Self {
            streams: Streams::new(&article, streams),
            article,
            doc,
            writer: uuid::Uuid::new_v4(),
            rules,
            library,
            annotations,
            peers: Peers::default(),
            inflight: None,
            ahead: None,
            contended: false,
            queued: VecDeque::new(),
            next_append: 0,
            effects: Vec::new(),
        })
    }

    /// Takes one input and returns what must be done about it.
    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Appended { id, outcome } => self.on_appended(id, outcome),
            Input::Leave { conn } => self.leave(conn),
            Input::Behind { conn } => self.behind(conn),
            Input::Edits(requests) if self.decides_ahead() => self.decide_ahead(requests),
            // The core's own events, back from a shared log: nothing to wait for (versions only
            // move on, so what is seen now is seen after the append in flight too).
            Input::Foreign(records) if records.iter().all(|r| self.streams.seen(r)) => {}
            input if self.inflight.is_some() => self.queued.push_back(input),
            input => self.start(input),
        }
        while self.inflight.is_none() {
            match self.queued.pop_front() {
                Some(input) => self.start(input),
                None => break,
            }
        }
        std::mem::take(&mut self.effects)
    }

    fn start(&mut self, input: Input) {
        match input {
            Input::Edits(batch) => self.edits(batch, 1),
            Input::Sync { peer, message, at } => self.sync(peer, *message, at),
            Input::Presence { from, presence } => self.relay(from, presence),
            Input::RemotePresence(presence) => self.relay_remote(presence),
            Input::Reanchor {
                ticket,
                article,
                version,
                at,
            } => self.reanchor(ticket, article, version, at, 1),
            Input::Reattach {
                ticket,
                user,
                placed,
                at,
            } => self.reattach(ticket, user, placed, at, 1),
            Input::Inspect { ticket } => self.inspect(ticket),
            Input::Foreign(records) => self.foreign(records),
            Input::Appended { .. } | Input::Leave { .. } | Input::Behind { .. } => {
                unreachable!("handled before any queueing")
            }
        }
    }

    fn inspect(&mut self, ticket: Ticket) {
        let mut annotations: Vec<Annotation> = self.annotations.values().cloned().collect();
        annotations.sort_by(|a, b| a.id.cmp(&b.id));
        let state = DocState {
            heads: self.heads(),
            annotations,
            saved: self.doc.save(),
        };
        self.reply(ticket, Answer::Inspected(Box::new(state)));
    }

    fn reply(&mut self, ticket: Ticket, answer: Answer) {
        self.effects.push(Effect::Reply { ticket, answer });
    }

    fn heads(&self) -> Vec<String> {
        self.doc.get_heads().iter().map(|h| h.to_string()).collect()
    }

    pub fn article(&self) -> &ArticleId {
        &self.article
    }

    /// Whether an append is in flight or inputs wait for one.
    pub fn is_busy(&self) -> bool {
        self.inflight.is_some() || !self.queued.is_empty()
    }

    /// How many changes the document holds.
    pub fn change_count(&self) -> u64 {
        self.doc.stats().num_changes
    }

    /// Subscribed peers.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Where the document's streams are, as far as the core knows.
    pub fn stream_state(&self) -> &StreamState {
        self.streams.state()
    }

    /// The annotations in the document.
    pub fn annotation_ids(&self) -> Vec<AnnotationId> {
        self.annotations.keys().cloned().collect()
    }

    /// The version of an annotation's stream, as the log has it (when loading).
    pub fn set_annotation_version(&mut self, id: AnnotationId, version: u64) {
        self.streams.set_annotation(id, version);
    }

    /// A snapshot holding `changes` of the changes not in the last one was saved. Changes
    /// logged while it was being saved are not in it and still count towards the next.
    pub fn mark_saved(&mut self, changes: u64) {
        self.streams.saved(changes);
    }

    /// A copy of the whole document for a snapshot, to be saved away from the task (encoding
    /// it costs about ten times copying it); `None` while an append is in flight (the
    /// document then holds changes that are not logged yet).
    pub fn snapshot_copy(&self) -> Option<SnapshotCopy> {
        self.inflight.is_none().then(|| SnapshotCopy {
            doc: self.doc.clone(),
            seq: self.streams.state().last_change_seq,
            changes: self.streams.state().unsaved,
        })
    }
}

/// The document as of one logged change, for a snapshot.
pub struct SnapshotCopy {
    pub doc: Automerge,
    /// The sequence number of the last change the copy holds.
    pub seq: u64,
    /// How many of the changes not in the last snapshot the copy holds.
    pub changes: u64,
}
