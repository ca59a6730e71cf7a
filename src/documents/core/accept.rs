//! Validating and logging the changes a peer brought. Each entry of `annotations` they touched
//! is checked against the rules REST writes obey. Valid ones are logged with the semantic events
//! they imply. Invalid ones cannot be refused (the peer already has them), so the core adds a
//! compensating change that gives the fields that break the rules their last valid values
//! (`compensate`), leaves valid edits alone, and records `change.rejected`. Nothing reaches any
//! peer before all of it is durable.

use std::collections::{BTreeSet, HashMap};

use automerge::{Change, ChangeHash, ObjId, Patch};
use chrono::{DateTime, Utc};

use super::touched::{all_keys, touched_keys};
use super::{DocumentCore, Work};
use crate::documents::compensate::{self, Repair};
use crate::documents::error::DocError;
use crate::documents::events::{change_event, commit_options, new_event, user_actor};
use crate::documents::peer::ConnId;
use crate::documents::schema;
use crate::domain::{derive_events, Annotation, AnnotationId, DomainEvent, StreamId, UserName};
use crate::store::{AppendRequest, NewEvent};

/// A peer's changes on their way to the log.
pub(super) struct SyncWork {
    conn: ConnId,
    user: UserName,
    at: DateTime<Utc>,
    /// The event of the document's first change, made for this message.
    init: Option<NewEvent>,
    /// The peer's changes, to apply again after a lost race.
    changes: Vec<Change>,
}

impl SyncWork {
    pub(super) fn new(
        conn: ConnId,
        user: UserName,
        at: DateTime<Utc>,
        init: Option<NewEvent>,
    ) -> Self {
        Self {
            conn,
            user,
            at,
            init,
            changes: Vec::new(),
        }
    }

    pub(super) fn conn(&self) -> ConnId {
        self.conn
    }

    pub(super) fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The peer's changes, to apply again.
    pub(super) fn changes(&self) -> Vec<Change> {
        self.changes.clone()
    }

    /// This attempt's first change of the document, if it makes one.
    pub(super) fn initialised(&mut self, init: Option<NewEvent>) {
        self.init = init;
    }
}

/// The events of one append from a peer's changes, and what they did to the annotations.
struct Accepting {
    events: Vec<NewEvent>,
    touched: HashMap<AnnotationId, Option<Annotation>>,
    rejected: Vec<(String, Repair, String)>,
}

impl DocumentCore {
    /// Validates the changes applied since `heads_peer` (the document's heads before the peer's
    /// changes; `heads_before` is before any change of this work) and asks for them to be logged.
    pub(super) fn accept(
        &mut self,
        mut work: SyncWork,
        heads_before: Vec<ChangeHash>,
        heads_peer: &[ChangeHash],
        patches: &[Patch],
        attempt: u32,
    ) {
        match self.check_changes(&mut work, heads_peer, patches) {
            Ok(accepting) => self.log_changes(work, heads_before, accepting, attempt),
            Err(error) => {
                tracing::error!(article = %self.article, %error, "could not check a sync change");
                self.rollback_if_moved(&heads_before);
                self.disconnect(
                    work.conn,
                    "the server could not check your changes; reconnect to retry",
                );
            }
        }
    }

    fn check_changes(
        &mut self,
        work: &mut SyncWork,
        heads_peer: &[ChangeHash],
        patches: &[Patch],
    ) -> Result<Accepting, DocError> {
        work.changes = self.doc.get_changes(heads_peer);
        let mut events: Vec<NewEvent> = work.init.iter().cloned().collect();
        for change in &work.changes {
            events.push(change_event(
                &self.article,
                &self.doc,
                &work.user,
                work.at,
                change,
            ));
        }
        let map = schema::annotations_map(&self.doc)?.ok_or(DocError::Stopped)?;
        // Only the entries the changes touched need checking; if that cannot be told, all.
        let keys = touched_keys(&map, patches)
            .unwrap_or_else(|| all_keys(&self.doc, &map, self.annotations.keys()));
        let mut accepting = Accepting {
            events,
            touched: HashMap::new(),
            rejected: Vec::new(),
        };
        for key in keys {
            self.check_entry(&work.user, work.at, &map, key, &mut accepting)?;
        }
        Ok(accepting)
    }

    /// Checks one entry the peer touched: logs it if valid, plans its repair if not.
    fn check_entry(
        &mut self,
        user: &UserName,
        at: DateTime<Utc>,
        map: &ObjId,
        key: String,
        accepting: &mut Accepting,
    ) -> Result<(), DocError> {
        let id = AnnotationId::parse(&key).ok();
        let before = id.as_ref().and_then(|id| self.annotations.get(id).cloned());
        let after = schema::read_entry(&self.doc, map, &key)?;
        let reason = match after {
            None if before.is_some() => {
                "annotations are never removed; set `deleted` to true instead".to_owned()
            }
            None => return Ok(()),
            Some(Ok(annotation)) if Some(&annotation) == before.as_ref() => return Ok(()),
            Some(Ok(annotation)) => match self.validate(user, before.as_ref(), &annotation) {
                Ok(()) => {
                    let stream = StreamId::Annotation(annotation.id.clone());
                    for event in derive_events(before.as_ref(), &annotation) {
                        accepting
                            .events
                            .push(new_event(stream.clone(), user, at, event, None));
                    }
                    self.settle(
                        &mut accepting.touched,
                        annotation.id.clone(),
                        Some(annotation),
                    );
                    return Ok(());
                }
                Err(reason) => reason,
            },
            Some(Err(error)) => error.to_string(),
        };
        let repair = compensate::plan(&self.doc, map, &key, before.as_ref(), |candidate| {
            self.validate(user, before.as_ref(), candidate).is_ok()
        })?;
        // What the change did right stays, and is logged like any valid change.
        if let (Some(before), Repair::Revert { kept, .. }) = (&before, &repair) {
            let stream = StreamId::Annotation(kept.id.clone());
            for event in derive_events(Some(before), kept) {
                accepting
                    .events
                    .push(new_event(stream.clone(), user, at, event, None));
            }
        }
        if let Some(id) = id {
            self.settle(&mut accepting.touched, id, repair.result().cloned());
        }
        accepting.rejected.push((key, repair, reason));
        Ok(())
    }

    /// Puts an annotation's new state in place, remembering what it was.
    fn settle(
        &mut self,
        touched: &mut HashMap<AnnotationId, Option<Annotation>>,
        id: AnnotationId,
        state: Option<Annotation>,
    ) {
        let before = match state {
            Some(annotation) => self.annotations.insert(id.clone(), annotation),
            None => self.annotations.remove(&id),
        };
        touched.entry(id).or_insert(before);
    }

    /// Adds the compensation and the rejections, and asks for the append.
    fn log_changes(
        &mut self,
        work: SyncWork,
        heads_before: Vec<ChangeHash>,
        mut accepting: Accepting,
        attempt: u32,
    ) {
        if !accepting.rejected.is_empty() {
            if let Err(error) = self.compensate(&work, &mut accepting) {
                tracing::error!(article = %self.article, %error, "could not compensate a sync change");
                self.restore(&heads_before, accepting.touched);
                self.disconnect(
                    work.conn,
                    "the server could not check your changes; reconnect to retry",
                );
                return;
            }
        }
        let mut expectations = vec![self.streams.expect_document()];
        let streams: BTreeSet<AnnotationId> = accepting
            .events
            .iter()
            .filter_map(|e| match &e.stream {
                StreamId::Annotation(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        expectations.extend(streams.iter().map(|id| self.streams.expect_annotation(id)));
        let request = AppendRequest {
            events: accepting.events,
            expectations,
        };
        self.begin_append(
            request,
            heads_before,
            accepting.touched,
            attempt,
            Work::Sync(work),
        );
    }

    /// One change by the server that repairs every rejected entry, and a `change.rejected`
    /// for each.
    fn compensate(&mut self, work: &SyncWork, accepting: &mut Accepting) -> Result<(), DocError> {
        let system = UserName::system();
        self.doc.set_actor(user_actor(&system, &self.writer));
        let mut tx = self.doc.transaction();
        let map = schema::annotations_map(&tx)?.ok_or(DocError::Stopped)?;
        for (key, repair, _) in &accepting.rejected {
            if let Err(error) = compensate::apply(&mut tx, &map, key, repair) {
                tx.rollback();
                return Err(error.into());
            }
        }
        tx.commit_with(commit_options(&system, work.at));
        let compensation = self.doc.get_last_local_change().ok_or(DocError::Stopped)?;
        accepting.events.push(change_event(
            &self.article,
            &self.doc,
            &system,
            work.at,
            &compensation,
        ));
        let hashes: Vec<String> = work.changes.iter().map(|c| c.hash().to_string()).collect();
        for (key, repair, reason) in &accepting.rejected {
            tracing::info!(article = %self.article, %key, user = %work.user, %reason, "compensated an invalid sync change");
            let event = DomainEvent::ChangeRejected {
                article: self.article.clone(),
                key: key.clone(),
                user: work.user.to_string(),
                reason: reason.clone(),
                changes: hashes.clone(),
                restored: repair.restored(),
            };
            let stream = self.streams.document().clone();
            accepting
                .events
                .push(new_event(stream, &system, work.at, event, None));
        }
        Ok(())
    }

    pub(super) fn sync_abandoned(&mut self, work: SyncWork, error: &DocError) {
        let reason = match error {
            DocError::Contended => {
                "the document is too busy to take your changes; reconnect to retry"
            }
            DocError::Store(e) if e.is_unavailable() => {
                "the server cannot store changes right now (its log is unreachable); reconnect to retry"
            }
            _ => "the server could not store your changes; reconnect to retry",
        };
        self.disconnect(work.conn, reason);
    }
}
