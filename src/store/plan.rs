//! Deciding a group commit: what each append of a batch becomes, whichever backend writes it.
//!
//! The writer asks a [`Known`] what was committed before the batch (positions of event ids,
//! stream versions); a [`Batch`] adds what the batch itself stages, so two appends in one batch
//! see each other: the second of two appends expecting one version is refused, an id staged
//! earlier in the batch is a duplicate. Sled answers `Known` from its trees, PostgreSQL from rows
//! read under the log's lock.

use std::collections::{HashMap, HashSet};

use crate::domain::{EventId, StreamId};

use super::log::{AppendRequest, Committed, Expected, Position};
use super::record::EventRecord;
use super::StoreError;

/// What was committed before the batch.
pub(super) trait Known {
    /// Where an event id landed, if it was appended before.
    fn position(&mut self, id: EventId) -> Result<Option<Position>, StoreError>;
    /// A stream's version (0 for a stream with no events).
    fn version(&mut self, stream: &StreamId) -> Result<u64, StoreError>;
}

/// What one append becomes within a group commit.
pub(super) enum Plan {
    Write(Committed),
    Duplicate(Committed),
    Refused(StoreError),
}

impl Plan {
    pub(super) fn answer(self) -> Result<Committed, StoreError> {
        match self {
            Plan::Write(committed) | Plan::Duplicate(committed) => Ok(committed),
            Plan::Refused(error) => Err(error),
        }
    }
}

/// The events a batch stages, at the positions after `first_seq - 1`.
pub(super) struct Batch {
    next_seq: u64,
    pending: HashMap<EventId, Position>,
    /// Stream versions after what the batch staged.
    pub(super) heads: HashMap<StreamId, u64>,
    /// The staged events, in position order.
    pub(super) records: Vec<EventRecord>,
}

impl Batch {
    pub(super) fn new(first_seq: u64) -> Self {
        Self {
            next_seq: first_seq,
            pending: HashMap::new(),
            heads: HashMap::new(),
            records: Vec::new(),
        }
    }

    /// The last position staged (or the one before the batch).
    pub(super) fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Decides one append: a duplicate of a committed one (every id known), a refusal (some ids
    /// known, one id twice, an unmet expectation), or events staged at the next positions.
    pub(super) fn plan(
        &mut self,
        known: &mut impl Known,
        request: &AppendRequest,
    ) -> Result<Plan, StoreError> {
        let mut found = Vec::new();
        for event in &request.events {
            let position = match self.pending.get(&event.id) {
                Some(position) => Some(*position),
                None => known.position(event.id)?,
            };
            found.extend(position);
        }
        if !found.is_empty() {
            if found.len() == request.events.len() {
                return Ok(Plan::Duplicate(Committed {
                    positions: found,
                    duplicate: true,
                }));
            }
            return Ok(Plan::Refused(StoreError::PartialDuplicate));
        }
        // One id twice in one append would leave two events behind one index entry.
        let mut ids = HashSet::with_capacity(request.events.len());
        if !request.events.iter().all(|event| ids.insert(event.id)) {
            return Ok(Plan::Refused(StoreError::PartialDuplicate));
        }
        for (stream, expected) in &request.expectations {
            let actual = self.version(known, stream)?;
            let fits = match expected {
                Expected::Any => true,
                Expected::NoStream => actual == 0,
                Expected::Exact(version) => actual == *version,
            };
            if !fits {
                return Ok(Plan::Refused(StoreError::WrongExpectedVersion {
                    stream: stream.to_string(),
                    expected: *expected,
                    actual,
                }));
            }
        }
        let mut positions = Vec::with_capacity(request.events.len());
        for event in &request.events {
            let version = self.version(known, &event.stream)? + 1;
            let position = Position {
                seq: self.next_seq,
                version,
            };
            self.next_seq += 1;
            self.heads.insert(event.stream.clone(), version);
            self.pending.insert(event.id, position);
            self.records
                .push(EventRecord::landed(event, position.seq, version));
            positions.push(position);
        }
        Ok(Plan::Write(Committed {
            positions,
            duplicate: false,
        }))
    }

    fn version(&self, known: &mut impl Known, stream: &StreamId) -> Result<u64, StoreError> {
        match self.heads.get(stream) {
            Some(version) => Ok(*version),
            None => known.version(stream),
        }
    }
}
