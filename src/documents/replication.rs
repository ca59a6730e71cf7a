//! Sync peers of a document: applying their changes, validating them, fanning out.
//!
//! A peer's sync message is applied to the document; the changes it brought are checked entry
//! by entry against the same rules REST writes obey. Valid changes are logged with the semantic
//! events they imply. Invalid ones cannot be refused (the peer already has them), so the server
//! appends a compensating change that gives the fields that break the rules their last valid
//! values (`compensate`), leaves valid edits alone, and records `change.rejected`. Only once all
//! of it is durable does any peer hear of it.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::sync::{self, SyncDoc};
use automerge::{ChangeHash, Patch, PatchAction, PatchLog, Prop, ReadDoc};

use crate::clock::now;
use crate::domain::{
    derive_events, Annotation, AnnotationId, DomainEvent, IndexedText, StreamId, Target, UserName,
};
use crate::store::AppendRequest;

use super::actor::{commit_options, new_event, user_actor, DocumentActor};
use super::compensate::{self, Repair};
use super::schema;
use super::{ConnId, DocError, Outbound, Peer, PeerLink, Presence};

/// How many presence sessions a document remembers for de-duplication.
const MAX_PRESENCE_SESSIONS: usize = 4096;

impl DocumentActor {
    /// Handles a sync message from a peer.
    pub(super) async fn sync(&mut self, link: PeerLink, message: sync::Message) {
        if let Err(error) = self.initialise(now()).await {
            tracing::error!(%error, "could not initialise the document");
            link.fail("the server could not load this document");
            return;
        }
        let conn = link.conn;
        let read_only = link.read_only;
        // A viewer's heads that this document lacks are local changes it will never take (the
        // read-only sync state also tells the client not to send them at all).
        let has_unapplied = !message.changes.is_empty()
            || message
                .heads
                .iter()
                // A hash lookup: `get_change_by_hash` rebuilds the change from the op set, and
                // even its metadata is decoded in time proportional to the history.
                .any(|head| !super::sync_ack::has_change(&self.doc, head));
        if !self.peers.contains_key(&conn) {
            crate::metrics::metrics()
                .sync_peers
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let peer = self.peers.entry(conn).or_insert_with(|| Peer {
            state: if read_only {
                sync::State::new_read_only()
            } else {
                sync::State::new()
            },
            link,
            warned_read_only: false,
        });
        if read_only && has_unapplied && !peer.warned_read_only {
            peer.warned_read_only = true;
            let _ = peer.link.outbox.try_send(Outbound::Error(
                "this token is read-only (viewer): your changes were not applied".into(),
            ));
        }
        let user = peer.link.user.clone();
        let heads_before = self.doc.get_heads();
        let doc = &mut self.doc;
        let state = &mut peer.state;
        // What the message changed, as Automerge applies it: proportional to the change, where
        // a diff from the old heads walks the whole document.
        let mut patch_log = PatchLog::active();
        let received = catch_unwind(AssertUnwindSafe(|| {
            // As Automerge would, without its walk of the whole history where it is not needed.
            super::sync_ack::receive(doc, state, message, &mut patch_log)
        }));
        match received {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                self.rollback(&heads_before);
                self.drop_peer(
                    conn,
                    &format!("the sync message could not be applied: {error}"),
                );
                return;
            }
            Err(_) => {
                tracing::error!(article = %self.article, "automerge panicked applying a sync message; reloading the document");
                self.rollback(&heads_before);
                self.drop_peer(conn, "the server could not apply this sync message");
                return;
            }
        }
        if self.doc.get_heads() != heads_before {
            let patches = self.doc.make_patches(&mut patch_log);
            if let Err(error) = self.accept(&user, &heads_before, &patches).await {
                tracing::error!(article = %self.article, %error, "could not log a sync change");
                self.rollback(&heads_before);
                self.drop_peer(
                    conn,
                    "the server could not store your changes; reconnect to retry",
                );
                return;
            }
            self.broadcast();
        } else {
            // Nothing new in the document (an acknowledgement, a request): only this peer's
            // sync state moved, so only this peer may have something to hear. Answering every
            // peer here made each edit cost peers² sync-message generations.
            self.answer(conn);
        }
    }

    /// Sends one peer whatever it is missing.
    fn answer(&mut self, conn: ConnId) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        let Some(message) = self.doc.generate_sync_message(&mut peer.state) else {
            return;
        };
        let outbound = Outbound::Sync {
            document_id: peer.link.document_id.clone(),
            data: message.encode(),
        };
        if peer.link.outbox.try_send(outbound).is_err() {
            if let Some(peer) = self.remove_peer(conn) {
                peer.link.kick.notify_one();
            }
        }
    }

    /// Sends each peer whatever it is missing. A peer whose queue is full is too far behind:
    /// it is dropped (its connection closes) rather than allowed to hold the document up.
    pub(super) fn broadcast(&mut self) {
        let mut behind = Vec::new();
        for (conn, peer) in self.peers.iter_mut() {
            if let Some(message) = self.doc.generate_sync_message(&mut peer.state) {
                let outbound = Outbound::Sync {
                    document_id: peer.link.document_id.clone(),
                    data: message.encode(),
                };
                if peer.link.outbox.try_send(outbound).is_err() {
                    behind.push(*conn);
                }
            }
        }
        for conn in behind {
            if let Some(peer) = self.remove_peer(conn) {
                peer.link.kick.notify_one();
            }
        }
    }

    /// Relays presence to every other peer of the document; nothing is stored.
    pub(super) fn relay(&mut self, from: ConnId, presence: Presence) {
        if !self.peers.contains_key(&from) {
            return;
        }
        let key = (presence.sender_id.clone(), presence.session_id.clone());
        if self
            .presence_seen
            .get(&key)
            .is_some_and(|&seen| presence.count <= seen)
        {
            return;
        }
        if self.presence_seen.len() >= MAX_PRESENCE_SESSIONS {
            // Sessions come and go; forgetting them all at worst relays one stale copy each.
            self.presence_seen.clear();
        }
        self.presence_seen.insert(key, presence.count);
        for (conn, peer) in &self.peers {
            if *conn != from {
                let _ = peer
                    .link
                    .outbox
                    .try_send(Outbound::Presence(presence.clone()));
            }
        }
    }

    fn drop_peer(&mut self, conn: ConnId, reason: &str) {
        if let Some(peer) = self.remove_peer(conn) {
            peer.link.fail(reason);
        }
    }

    /// Unsubscribes a peer, keeping the peer gauge right.
    pub(super) fn remove_peer(&mut self, conn: ConnId) -> Option<Peer> {
        let peer = self.peers.remove(&conn);
        if peer.is_some() {
            crate::metrics::metrics()
                .sync_peers
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        peer
    }

    /// Validates and logs the changes a peer brought since `heads_before`.
    async fn accept(
        &mut self,
        user: &UserName,
        heads_before: &[ChangeHash],
        patches: &[Patch],
    ) -> Result<(), DocError> {
        let at = now();
        let changes = self.doc.get_changes(heads_before);
        let hashes: Vec<String> = changes.iter().map(|c| c.hash().to_string()).collect();
        let mut events: Vec<_> = changes
            .iter()
            .map(|change| self.event_for_change(user, at, change))
            .collect();
        // The last `document.changed` of this append: what a snapshot taken next covers.
        let mut last_change = events.len().saturating_sub(1);
        let map = schema::annotations_map(&self.doc)?.ok_or(DocError::Stopped)?;
        // Only the entries the changes touched need checking; if that cannot be told, all.
        let keys: BTreeSet<String> = match touched_keys_from_patches(patches, &map) {
            Some(keys) => keys,
            None => {
                let mut keys: BTreeSet<String> = self.doc.keys(&map).collect();
                keys.extend(self.annotations.keys().map(|id| id.to_string()));
                keys
            }
        };
        let mut entries = Vec::with_capacity(keys.len());
        for key in &keys {
            if let Some(entry) = schema::read_entry(&self.doc, &map, key)? {
                entries.push((key.clone(), entry));
            }
        }
        let mut accepted: Vec<Annotation> = Vec::new();
        // (key, how it is put right, reason)
        let mut rejected: Vec<(String, Repair, String)> = Vec::new();
        for key in keys {
            let before = AnnotationId::parse(&key)
                .ok()
                .and_then(|id| self.annotations.get(&id).cloned());
            let after = entries.iter().find(|(k, _)| *k == key).map(|(_, a)| a);
            let reason = match after {
                None if before.is_some() => {
                    "annotations are never removed; set `deleted` to true instead".to_owned()
                }
                None => continue,
                Some(Ok(annotation)) if Some(annotation) == before.as_ref() => continue,
                Some(Ok(annotation)) => match self.validate(user, before.as_ref(), annotation) {
                    Ok(()) => {
                        for event in derive_events(before.as_ref(), annotation) {
                            events.push(new_event(
                                StreamId::Annotation(annotation.id.clone()),
                                user,
                                at,
                                event,
                                None,
                            ));
                        }
                        accepted.push(annotation.clone());
                        continue;
                    }
                    Err(reason) => reason,
                },
                Some(Err(error)) => error.to_string(),
            };
            let repair = compensate::plan(&self.doc, &map, &key, before.as_ref(), |candidate| {
                self.validate(user, before.as_ref(), candidate).is_ok()
            })?;
            // What the change did right stays, and is logged like any valid change.
            if let (Some(before), Repair::Revert { kept, .. }) = (&before, &repair) {
                for event in derive_events(Some(before), kept) {
                    events.push(new_event(
                        StreamId::Annotation(kept.id.clone()),
                        user,
                        at,
                        event,
                        None,
                    ));
                }
            }
            rejected.push((key, repair, reason));
        }
        if !rejected.is_empty() {
            let system = UserName::system();
            self.doc.set_actor(user_actor(&system));
            let mut tx = self.doc.transaction();
            let map = schema::annotations_map(&tx)?.ok_or(DocError::Stopped)?;
            for (key, repair, _) in &rejected {
                compensate::apply(&mut tx, &map, key, repair)?;
            }
            tx.commit_with(commit_options(&system, at));
            let compensation = self.doc.get_last_local_change().ok_or(DocError::Stopped)?;
            last_change = events.len();
            events.push(self.event_for_change(&system, at, &compensation));
            for (key, repair, reason) in &rejected {
                tracing::info!(article = %self.article, %key, %user, %reason, "compensated an invalid sync change");
                events.push(new_event(
                    StreamId::Document(self.article.clone()),
                    &system,
                    at,
                    DomainEvent::ChangeRejected {
                        article: self.article.clone(),
                        key: key.clone(),
                        user: user.to_string(),
                        reason: reason.clone(),
                        changes: hashes.clone(),
                        restored: repair.restored(),
                    },
                    None,
                ));
            }
        }
        let committed = self
            .store
            .log
            .append(AppendRequest {
                events,
                expectations: Vec::new(),
            })
            .await?;
        self.last_change_seq = committed.positions[last_change].seq;
        crate::metrics::metrics()
            .changes_rejected
            .fetch_add(rejected.len() as u64, std::sync::atomic::Ordering::Relaxed);
        for annotation in accepted {
            self.annotations.insert(annotation.id.clone(), annotation);
        }
        for (key, repair, _) in rejected {
            match repair.result() {
                Some(valid) => {
                    self.annotations.insert(valid.id.clone(), valid.clone());
                }
                None => {
                    if let Ok(id) = AnnotationId::parse(&key) {
                        self.annotations.remove(&id);
                    }
                }
            }
        }
        self.changes_since_snapshot += 1;
        Ok(())
    }

    /// The rules a sync peer's version of an annotation must keep, beyond the domain's own.
    fn validate(
        &self,
        user: &UserName,
        before: Option<&Annotation>,
        after: &Annotation,
    ) -> Result<(), String> {
        after.check(&self.limits).map_err(|e| e.to_string())?;
        let targets_changed = match before {
            None => {
                if self.annotations.len() >= self.limits.max_annotations_per_article {
                    return Err(format!(
                        "this article has reached the limit of {} annotations",
                        self.limits.max_annotations_per_article
                    ));
                }
                if &after.creator != user {
                    return Err(format!(
                        "the creator of a new annotation must be {user}, the signed-in user"
                    ));
                }
                if after.deleted {
                    return Err("a new annotation cannot start deleted".into());
                }
                true
            }
            Some(before) => {
                if before.creator != after.creator || before.created != after.created {
                    return Err("`creator` and `created` never change".into());
                }
                if before.deleted && !after.deleted {
                    return Err("a deleted annotation stays deleted".into());
                }
                if before.deleted {
                    return Err("a deleted annotation cannot change".into());
                }
                if before.status != after.status && !before.status.can_become(after.status) {
                    return Err(format!(
                        "an annotation that is {} cannot become {}",
                        before.status, after.status
                    ));
                }
                if before.canonical.is_some() && before.canonical != after.canonical {
                    return Err("`canonical` never changes".into());
                }
                if !after.replies.starts_with(&before.replies) {
                    return Err("replies are only ever added".into());
                }
                if before.targets.first().map(|t| &t.article)
                    != after.targets.first().map(|t| &t.article)
                {
                    return Err("an annotation stays with the article of its first target".into());
                }
                before.targets != after.targets
            }
        };
        if let (Some(people), Some(assignee)) = (&self.people, &after.assignee) {
            // An assignee kept as it was stays, even if that person has left the desk since.
            if before.and_then(|b| b.assignee.as_ref()) != Some(assignee)
                && !people.is_user(assignee)
            {
                return Err(format!(
                    "{assignee} is not a user of this desk, so the annotation cannot be assigned to them"
                ));
            }
        }
        let known = before.map_or(0, |b| b.replies.len());
        if let Some(reply) = after.replies[known..].iter().find(|r| &r.creator != user) {
            return Err(format!(
                "reply {} must be written by {user}, the signed-in user",
                reply.id
            ));
        }
        if after.home_article() != &self.article {
            return Err(format!(
                "this document holds annotations whose first target is on {}",
                self.article
            ));
        }
        if targets_changed {
            for (i, target) in after.targets.iter().enumerate() {
                self.check_target(i, target)?;
            }
        }
        Ok(())
    }

    fn check_target(&self, i: usize, target: &Target) -> Result<(), String> {
        let text = self
            .store
            .read_model
            .article_text(&target.article, target.version)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "targets[{i}]: article {} has no version {}",
                    target.article, target.version
                )
            })?;
        IndexedText::new(&text)
            .locate(&target.quote, Some(target.position))
            .map(|_| ())
            .map_err(|m| format!("targets[{i}]: {}", m.0))
    }
}

/// The keys of `annotations` (the map `map`) that the patches of an applied sync message touch;
/// `None` when a change reached outside single entries (the map itself replaced, say).
fn touched_keys_from_patches(
    patches: &[Patch],
    map: &automerge::ObjId,
) -> Option<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    for patch in patches {
        if &patch.obj == map {
            match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                    keys.insert(key.clone());
                }
                _ => return None,
            }
        } else if let Some((_, prop)) = patch.path.iter().find(|(obj, _)| obj == map) {
            match prop {
                Prop::Map(key) => {
                    keys.insert(key.clone());
                }
                Prop::Seq(_) => return None,
            }
        } else if patch.obj == automerge::ROOT {
            // A root-level change that replaces `annotations` touches every entry.
            match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key }
                    if key == schema::ANNOTATIONS =>
                {
                    return None
                }
                _ => {}
            }
        }
    }
    Some(keys)
}
