//! A peer's sync message: applied to the document under a patch log, so the entries it touched
//! are known from the ops it applied (not from diffing the whole document), then handed to
//! `accept` to be validated and logged. A message that brings nothing new only moves the peer's
//! sync state, and only that peer is answered.

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::sync;
use automerge::{ChangeHash, PatchLog};
use chrono::{DateTime, Utc};

use super::accept::SyncWork;
use super::{DocumentCore, PeerInfo};
use crate::documents::events::{change_event, commit_options, user_actor};
use crate::documents::schema::{self, SchemaError};
use crate::documents::sync_ack;
use crate::domain::UserName;
use crate::store::NewEvent;

impl DocumentCore {
    /// Handles a sync message from a peer (who joins with its first one).
    pub(super) fn sync(&mut self, info: PeerInfo, message: sync::Message, at: DateTime<Utc>) {
        let conn = info.conn;
        let heads_before = self.doc.get_heads();
        let init = match self.initialise(at) {
            Ok(init) => init,
            Err(error) => {
                tracing::error!(article = %self.article, %error, "could not initialise the document");
                self.disconnect(conn, "the server could not load this document");
                return;
            }
        };
        let has_unapplied = !message.changes.is_empty()
            || message
                .heads
                .iter()
                // A hash lookup: fetching the change's metadata would cost the whole history.
                .any(|head| !sync_ack::has_change(&self.doc, head));
        self.join(info, has_unapplied);
        let heads_peer = self.doc.get_heads();
        let mut log = PatchLog::active();
        let Some(state) = self.peers.state_mut(conn) else {
            return;
        };
        let doc = &mut self.doc;
        let received = catch_unwind(AssertUnwindSafe(|| {
            // As Automerge would, without its walk of the whole history where it is not needed.
            sync_ack::receive(doc, state, message, &mut log)
        }));
        let failure = match received {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("the sync message could not be applied: {error}")),
            Err(_) => {
                tracing::error!(article = %self.article, "automerge panicked applying a sync message");
                Some("the server could not apply this sync message".to_owned())
            }
        };
        if let Some(reason) = failure {
            self.rollback_if_moved(&heads_before);
            self.disconnect(conn, &reason);
            return;
        }
        if self.doc.get_heads() == heads_before {
            // Nothing new (an acknowledgement, a request): only this peer's sync state moved.
            self.answer(conn);
            return;
        }
        let patches = self.doc.make_patches(&mut log);
        let user = self
            .peers
            .user(conn)
            .cloned()
            .unwrap_or_else(UserName::system);
        let work = SyncWork::new(conn, user, at, init);
        self.accept(work, heads_before, &heads_peer, &patches, 1);
    }

    /// Applies a peer's changes again after a lost race merged another writer's.
    pub(super) fn sync_again(&mut self, mut work: SyncWork, attempt: u32) {
        let heads_before = self.doc.get_heads();
        match self.initialise(work.at()) {
            Ok(init) => work.initialised(init),
            Err(error) => {
                tracing::error!(article = %self.article, %error, "could not initialise the document");
                self.disconnect(work.conn(), "the server could not load this document");
                return;
            }
        }
        let heads_peer = self.doc.get_heads();
        let mut log = PatchLog::active();
        if let Err(error) = self.doc.apply_changes_log_patches(work.changes(), &mut log) {
            self.rollback_if_moved(&heads_before);
            self.disconnect(
                work.conn(),
                &format!("the sync message could not be applied: {error}"),
            );
            return;
        }
        if self.doc.get_heads() == heads_before {
            // The other writer had logged these very changes.
            self.answer(work.conn());
            return;
        }
        let patches = self.doc.make_patches(&mut log);
        self.accept(work, heads_before, &heads_peer, &patches, attempt);
    }

    /// Makes sure the document has its `annotations` map, the first change of every document;
    /// returns the event that logs it, if it was made now.
    pub(super) fn initialise(
        &mut self,
        at: DateTime<Utc>,
    ) -> Result<Option<NewEvent>, SchemaError> {
        if schema::annotations_map(&self.doc)?.is_some() {
            return Ok(None);
        }
        let system = UserName::system();
        self.doc.set_actor(user_actor(&system, &self.writer));
        let mut tx = self.doc.transaction();
        schema::initialise(&mut tx)?;
        tx.commit_with(commit_options(&system, at));
        let change = self
            .doc
            .get_last_local_change()
            .ok_or_else(|| schema::invalid(schema::ANNOTATIONS, "could not be created"))?;
        Ok(Some(change_event(
            &self.article,
            &self.doc,
            &system,
            at,
            &change,
        )))
    }

    pub(super) fn rollback_if_moved(&mut self, heads: &[ChangeHash]) {
        if self.doc.get_heads() != heads {
            self.rollback(heads);
        }
    }
}
