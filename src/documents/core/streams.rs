//! Where the document's streams are: the document stream's version and last sequence number,
//! and each annotation stream's version, as far as the core has seen. Every append states the
//! versions it expects from here; a race shows they were stale.

use std::collections::HashMap;

use crate::domain::{AnnotationId, ArticleId, StreamId};
use crate::store::{AppendRequest, EventRecord, Expected, Position};

/// The streams of one document, as loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamState {
    /// The document stream's version (`document.changed`, `change.rejected`).
    pub version: u64,
    /// The sequence number of the last event of the document stream seen.
    pub seq: u64,
    /// The sequence number of the last `document.changed` in the document: what a snapshot of
    /// it covers.
    pub last_change_seq: u64,
    /// Changes in the document since its last snapshot.
    pub unsaved: u64,
    /// The version of each annotation stream of the document.
    pub annotations: HashMap<AnnotationId, u64>,
}

/// Where the events a writer lacks of one stream begin, after its append expecting `expected`
/// of `stream` lost a race: (the sequence number to read the stream after, the version it had
/// seen). The document stream is read after the last event the core saw on it (`after_seq`);
/// an annotation stream, short, from its start.
pub fn unseen(stream: &StreamId, expected: Expected, after_seq: u64) -> (u64, u64) {
    let seen = match expected {
        Expected::Exact(version) => version,
        Expected::NoStream | Expected::Any => 0,
    };
    match stream {
        StreamId::Document(_) => (after_seq, seen),
        _ => (0, seen),
    }
}

pub(super) struct Streams {
    state: StreamState,
    document: StreamId,
    /// Versions taken as given while edits are decided ahead of an append's outcome (`ahead`).
    assumed: Assumed,
}

/// The versions an append leaves its streams at if it commits as it expects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Assumed {
    document: Option<u64>,
    annotations: HashMap<AnnotationId, u64>,
}

fn expected(version: u64) -> Expected {
    if version == 0 {
        Expected::NoStream
    } else {
        Expected::Exact(version)
    }
}

impl Streams {
    pub(super) fn new(article: &ArticleId, state: StreamState) -> Self {
        Self {
            state,
            document: StreamId::Document(article.clone()),
            assumed: Assumed::default(),
        }
    }

    pub(super) fn state(&self) -> &StreamState {
        &self.state
    }

    pub(super) fn document(&self) -> &StreamId {
        &self.document
    }

    /// The document stream's expectation for the next append.
    pub(super) fn expect_document(&self) -> (StreamId, Expected) {
        let version = self.assumed.document.unwrap_or(self.state.version);
        (self.document.clone(), expected(version))
    }

    pub(super) fn annotation(&self, id: &AnnotationId) -> u64 {
        self.assumed
            .annotations
            .get(id)
            .or_else(|| self.state.annotations.get(id))
            .copied()
            .unwrap_or(0)
    }

    /// Where `request` leaves its streams if it commits as it expects: each of its events is
    /// the next version of its stream.
    pub(super) fn after(&self, request: &AppendRequest) -> Assumed {
        let mut assumed = Assumed::default();
        for event in &request.events {
            if event.stream == self.document {
                let version = assumed.document.get_or_insert(self.state.version);
                *version += 1;
            } else if let StreamId::Annotation(id) = &event.stream {
                let version = match assumed.annotations.get_mut(id) {
                    Some(version) => version,
                    None => {
                        let now = self.state.annotations.get(id).copied().unwrap_or(0);
                        assumed.annotations.entry(id.clone()).or_insert(now)
                    }
                };
                *version += 1;
            }
        }
        assumed
    }

    /// Takes `assumed` as given for the expectations and versions asked for until
    /// [`Streams::stop_assuming`].
    pub(super) fn assume(&mut self, assumed: Assumed) {
        self.assumed = assumed;
    }

    /// Stops taking versions as given; returns what was.
    pub(super) fn stop_assuming(&mut self) -> Assumed {
        std::mem::take(&mut self.assumed)
    }

    /// Whether the streams are where `assumed` took them to be.
    pub(super) fn reached(&self, assumed: &Assumed) -> bool {
        assumed.document.is_none_or(|v| v == self.state.version)
            && assumed
                .annotations
                .iter()
                .all(|(id, v)| self.state.annotations.get(id) == Some(v))
    }

    pub(super) fn expect_annotation(&self, id: &AnnotationId) -> (StreamId, Expected) {
        (
            StreamId::Annotation(id.clone()),
            expected(self.annotation(id)),
        )
    }

    /// Whether an event of the log is one the core has seen, or of no stream of the document.
    pub(super) fn seen(&self, record: &EventRecord) -> bool {
        let known = match &record.stream {
            s if s == &self.document => self.state.version,
            StreamId::Annotation(id) => self.annotation(id),
            _ => return true,
        };
        record.version <= known
    }

    /// Takes in an event another writer appended; false if it was seen already.
    pub(super) fn foreign(&mut self, record: &EventRecord) -> bool {
        if self.seen(record) {
            return false;
        }
        let position = Position {
            seq: record.seq,
            version: record.version,
        };
        self.landed(&record.stream, position, record.change.is_some());
        true
    }

    pub(super) fn landed(&mut self, stream: &StreamId, position: Position, change: bool) {
        if stream == &self.document {
            self.state.version = self.state.version.max(position.version);
            self.state.seq = self.state.seq.max(position.seq);
            if change {
                self.state.last_change_seq = self.state.last_change_seq.max(position.seq);
                self.state.unsaved += 1;
            }
        } else if let StreamId::Annotation(id) = stream {
            let version = self.state.annotations.entry(id.clone()).or_default();
            *version = (*version).max(position.version);
        }
    }

    pub(super) fn set_annotation(&mut self, id: AnnotationId, version: u64) {
        self.state.annotations.insert(id, version);
    }

    /// A snapshot holding the first `changes` of the unsaved changes was saved.
    pub(super) fn saved(&mut self, changes: u64) {
        self.state.unsaved = self.state.unsaved.saturating_sub(changes);
    }
}
