//! The owner of one article's Automerge document.
//!
//! One task per loaded document serialises every change to it, so checks and writes cannot
//! interleave; many documents progress in parallel. A write is: decide with the domain, apply it
//! as an Automerge change made on behalf of the user, derive the semantic events, append the
//! change and the events in one durable write, and only then answer. If the append fails the
//! document is rolled back to the heads before the change. A task with no sync peers that gets
//! no command for its idle time saves a snapshot and ends (see `registry`).

use std::collections::HashMap;

use automerge::transaction::CommitOptions;
use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::domain::idempotency::Receipt;
use crate::domain::{
    commands, derive_events, Annotation, AnnotationId, ArticleId, ContentLimits, DomainEvent,
    EventId, Reply, Status, StreamId, UserName, SCHEMA_VERSION,
};
use crate::identity::Users;
use crate::store::{AppendRequest, Expected, NewEvent, Snapshot, Store, StoreError};

use super::registry::Lease;
use super::schema::{self, SchemaError};
use super::{ConnId, DocError, Peer, PeerLink, Presence};

/// A change a user asks of an annotation.
#[derive(Clone, Debug)]
pub enum Edit {
    Create(commands::Create),
    Replace {
        id: AnnotationId,
        expected: Option<u64>,
        replace: commands::Replace,
    },
    SetStatus {
        id: AnnotationId,
        expected: Option<u64>,
        to: Status,
    },
    Assign {
        id: AnnotationId,
        expected: Option<u64>,
        assignee: Option<UserName>,
    },
    AddReply {
        id: AnnotationId,
        reply: Reply,
    },
    Delete {
        id: AnnotationId,
        expected: Option<u64>,
    },
}

impl Edit {
    fn target(&self) -> &AnnotationId {
        match self {
            Edit::Create(create) => &create.id,
            Edit::Replace { id, .. }
            | Edit::SetStatus { id, .. }
            | Edit::Assign { id, .. }
            | Edit::AddReply { id, .. }
            | Edit::Delete { id, .. } => id,
        }
    }

    fn expected(&self) -> Option<u64> {
        match self {
            Edit::Create(_) => Some(0),
            Edit::Replace { expected, .. }
            | Edit::SetStatus { expected, .. }
            | Edit::Assign { expected, .. }
            | Edit::Delete { expected, .. } => *expected,
            Edit::AddReply { .. } => None,
        }
    }
}

/// The outcome of a durable write.
#[derive(Clone, Debug)]
pub struct Written {
    pub annotation: Annotation,
    /// The annotation stream's version after the write (its ETag).
    pub version: u64,
    /// The last sequence number written (wait for it before reading the read models).
    pub seq: u64,
}

/// The document's heads and annotations, for inspection.
#[derive(Clone, Debug, PartialEq)]
pub struct DocState {
    pub heads: Vec<String>,
    pub annotations: Vec<Annotation>,
    pub saved: Vec<u8>,
}

/// Most edits logged in one append by a document task.
const MAX_EDIT_BATCH: usize = 64;

type Answer = oneshot::Sender<Result<Written, DocError>>;

/// An edit waiting in the task's mailbox.
struct Pending {
    user: UserName,
    at: DateTime<Utc>,
    edit: Edit,
    receipt: Option<Receipt>,
    reply: oneshot::Sender<Result<Written, DocError>>,
}

/// An edit applied to the document, with the events that will log it.
struct Prepared {
    id: AnnotationId,
    before: Option<Annotation>,
    next: Annotation,
    events: Vec<NewEvent>,
    stream: StreamId,
    /// The annotation stream's version before this edit.
    actual: u64,
}

// Short-lived, one per edit: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Prepare {
    Unchanged(Written),
    Changed(Prepared),
}

pub(super) enum Command {
    /// A sync message from a connected peer (who is subscribed to the document from now on).
    Sync {
        link: PeerLink,
        message: Box<automerge::sync::Message>,
    },
    /// Presence from a peer, for the document's other peers.
    Presence {
        from: ConnId,
        presence: Presence,
    },
    /// A peer's connection ended.
    Leave {
        conn: ConnId,
    },
    Edit {
        user: UserName,
        at: DateTime<Utc>,
        edit: Box<Edit>,
        /// An idempotency key's receipt, logged with the edit.
        receipt: Option<Receipt>,
        reply: oneshot::Sender<Result<Written, DocError>>,
    },
    Inspect {
        reply: oneshot::Sender<DocState>,
    },
    /// A person places a target in a version.
    Reattach {
        user: UserName,
        placed: super::reanchor::Reattachment,
        at: DateTime<Utc>,
        reply: oneshot::Sender<Result<u64, DocError>>,
    },
    /// Anchor this document's annotations on `article` in its new version `version`.
    Reanchor {
        article: ArticleId,
        version: u32,
        at: DateTime<Utc>,
        reply: oneshot::Sender<Result<super::reanchor::Reanchored, DocError>>,
    },
}

pub(super) struct DocumentActor {
    pub(super) article: ArticleId,
    pub(super) doc: Automerge,
    pub(super) store: Store,
    pub(super) limits: ContentLimits,
    /// The desk's users, when assignees are checked (see `Documents::with_people`).
    pub(super) people: Option<Users>,
    pub(super) annotations: HashMap<AnnotationId, Annotation>,
    /// Sequence number of the last `document.changed` event in `doc`.
    pub(super) last_change_seq: u64,
    pub(super) changes_since_snapshot: u64,
    /// Sync peers subscribed to this document.
    pub(super) peers: HashMap<ConnId, Peer>,
    /// The highest presence count relayed per (sender, session): clients forward each other's
    /// ephemeral messages, and the copies must not go round again.
    pub(super) presence_seen: HashMap<(String, String), u64>,
}

/// The Automerge actor id the server writes with on behalf of a user: stable per user, so the
/// history of a document says who made each change.
pub fn user_actor(user: &UserName) -> ActorId {
    let digest = Sha256::digest(format!("glossa-user:{user}").as_bytes());
    ActorId::from(&digest[..16])
}

impl DocumentActor {
    /// Loads the document from its snapshot and the changes logged after it.
    pub(super) fn load(
        article: ArticleId,
        store: Store,
        limits: ContentLimits,
    ) -> Result<Self, DocError> {
        let stream = StreamId::Document(article.clone());
        let snapshot = store.snapshots.get(&article)?;
        let (mut doc, after) = match snapshot.and_then(|s| verified(&store, &article, s)) {
            Some((doc, seq)) => (doc, seq),
            None => (Automerge::new(), 0),
        };
        let records = store.log.read_stream(&stream, after)?;
        let mut bytes = Vec::new();
        let mut last_change_seq = after;
        for record in &records {
            if let Some(change) = &record.change {
                bytes.extend_from_slice(change);
                last_change_seq = record.seq;
            }
        }
        if !bytes.is_empty() {
            doc.load_incremental(&bytes)
                .map_err(|e| DocError::Schema(SchemaError::Automerge(e)))?;
        }
        let annotations = schema::read_all(&doc)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut actor = Self {
            article,
            doc,
            store,
            limits,
            people: None,
            annotations,
            last_change_seq,
            changes_since_snapshot: records.len() as u64,
            peers: HashMap::new(),
            presence_seen: HashMap::new(),
        };
        actor.maybe_snapshot();
        Ok(actor)
    }

    /// Handles commands until the registry forgets the document (shutdown) or, with no peers,
    /// none arrives for the lease's idle time: then the mailbox closes, anything still queued is
    /// handled (and keeps the document loaded), and otherwise the snapshot is saved and the task
    /// ends, releasing the lease.
    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>, lease: Lease) {
        let mut deferred: Option<Command> = None;
        // The mailbox is closed for unloading; `drained` says whether a command still came.
        let mut closing = false;
        let mut drained = false;
        loop {
            let command = match deferred.take() {
                Some(command) => command,
                None => {
                    let idle = lease.idle.filter(|_| !closing && self.peers.is_empty());
                    let received = match idle {
                        Some(idle) => match tokio::time::timeout(idle, commands.recv()).await {
                            Ok(received) => received,
                            Err(_) => {
                                // Senders that find the mailbox closed retry on the next task.
                                commands.close();
                                closing = true;
                                continue;
                            }
                        },
                        None => commands.recv().await,
                    };
                    match received {
                        Some(command) => {
                            drained |= closing;
                            command
                        }
                        None if closing && drained => match lease.open() {
                            Some((_, reopened)) => {
                                commands = reopened;
                                closing = false;
                                drained = false;
                                continue;
                            }
                            None => break,
                        },
                        None => {
                            if closing {
                                crate::metrics::metrics()
                                    .documents_unloaded
                                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            break;
                        }
                    }
                }
            };
            self.handle(command, &mut commands, &mut deferred).await;
            // Compaction runs after the answer went out, off the writer's latency path.
            self.maybe_snapshot();
        }
        self.save_snapshot();
        let m = crate::metrics::metrics();
        m.sync_peers.fetch_sub(
            self.peers.len() as i64,
            std::sync::atomic::Ordering::Relaxed,
        );
        m.documents_loaded
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        // Only now may the next task load the document: everything this one wrote is logged.
        drop(lease);
    }

    async fn handle(
        &mut self,
        command: Command,
        commands: &mut mpsc::Receiver<Command>,
        deferred: &mut Option<Command>,
    ) {
        match command {
            Command::Edit {
                user,
                at,
                edit,
                receipt,
                reply,
            } => {
                // Group commit at the document: take every edit already waiting (up to a
                // bound) and log them in one durable append.
                let mut batch = vec![Pending {
                    user,
                    at,
                    edit: *edit,
                    receipt,
                    reply,
                }];
                while batch.len() < MAX_EDIT_BATCH {
                    match commands.try_recv() {
                        Ok(Command::Edit {
                            user,
                            at,
                            edit,
                            receipt,
                            reply,
                        }) => batch.push(Pending {
                            user,
                            at,
                            edit: *edit,
                            receipt,
                            reply,
                        }),
                        Ok(other) => {
                            *deferred = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                self.edit_batch(batch).await;
            }
            Command::Sync { link, message } => self.sync(link, *message).await,
            Command::Presence { from, presence } => self.relay(from, presence),
            Command::Leave { conn } => {
                self.remove_peer(conn);
            }
            Command::Reanchor {
                article,
                version,
                at,
                reply,
            } => {
                let _ = reply.send(self.reanchor(&article, version, at).await);
            }
            Command::Reattach {
                user,
                placed,
                at,
                reply,
            } => {
                let _ = reply.send(self.reattach(&user, placed, at).await);
            }
            Command::Inspect { reply } => {
                let mut annotations: Vec<Annotation> = self.annotations.values().cloned().collect();
                annotations.sort_by(|a, b| a.id.cmp(&b.id));
                let _ = reply.send(DocState {
                    heads: self.doc.get_heads().iter().map(|h| h.to_string()).collect(),
                    annotations,
                    saved: self.doc.save(),
                });
            }
        }
    }

    /// Makes sure the document has its `annotations` map; the first change of every document.
    pub(super) async fn initialise(&mut self, at: DateTime<Utc>) -> Result<(), DocError> {
        if schema::annotations_map(&self.doc)?.is_some() {
            return Ok(());
        }
        let system = UserName::system();
        let heads = self.doc.get_heads();
        self.doc.set_actor(user_actor(&system));
        let mut tx = self.doc.transaction();
        schema::initialise(&mut tx)?;
        tx.commit_with(commit_options(&system, at));
        let append = self.change_event(&system, at)?;
        let request = AppendRequest {
            events: vec![append],
            expectations: vec![(StreamId::Document(self.article.clone()), Expected::NoStream)],
        };
        match self.store.log.append(request).await {
            Ok(committed) => {
                self.last_change_seq = committed.last_seq();
                Ok(())
            }
            Err(error) => {
                self.rollback(&heads);
                Err(error.into())
            }
        }
    }

    fn change_event(&self, user: &UserName, at: DateTime<Utc>) -> Result<NewEvent, DocError> {
        let change = self.doc.get_last_local_change().ok_or(DocError::Stopped)?;
        Ok(self.event_for_change(user, at, &change))
    }

    /// The `document.changed` event of one change; `heads` are the document's heads after it
    /// was applied (for changes applied together, after all of them).
    pub(super) fn event_for_change(
        &self,
        user: &UserName,
        at: DateTime<Utc>,
        change: &automerge::Change,
    ) -> NewEvent {
        let event = DomainEvent::DocumentChanged {
            article: self.article.clone(),
            hash: change.hash().to_string(),
            heads: self.doc.get_heads().iter().map(|h| h.to_string()).collect(),
            actor: change.actor_id().to_hex_string(),
            seq: change.seq(),
        };
        new_event(
            StreamId::Document(self.article.clone()),
            user,
            at,
            event,
            Some(change.raw_bytes().to_vec()),
        )
    }

    /// Applies a batch of edits to the document and logs them in one durable append: all of
    /// them or none (later changes depend on earlier ones). Edits refused by the rules are
    /// answered at once and leave no trace.
    async fn edit_batch(&mut self, batch: Vec<Pending>) {
        crate::metrics::metrics().observe_edit_batch(batch.len());
        if let Err(error) = self.initialise(batch[0].at).await {
            let message = error.to_string();
            for pending in batch {
                let _ = pending
                    .reply
                    .send(Err(DocError::Store(StoreError::Corrupt(message.clone()))));
            }
            return;
        }
        let heads = self.doc.get_heads();
        let mut versions: HashMap<StreamId, u64> = HashMap::new();
        let mut originals: HashMap<AnnotationId, Option<Annotation>> = HashMap::new();
        let mut prepared: Vec<(Prepared, Answer)> = Vec::new();
        // No-op edits are answered with the batch: their state may rest on an earlier edit of it.
        let mut unchanged: Vec<(Written, Answer)> = Vec::new();
        // Idempotency keys' receipts go after every edit's own events, in the same append.
        let mut receipts: Vec<NewEvent> = Vec::new();
        for Pending {
            user,
            at,
            edit,
            receipt,
            reply,
        } in batch
        {
            match self.prepare(&user, at, edit, &versions) {
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
                Ok(Prepare::Unchanged(written)) => unchanged.push((written, reply)),
                Ok(Prepare::Changed(p)) => {
                    if let Some(receipt) = receipt {
                        receipts.push(receipt_event(&receipt, &p.stream, &user, at));
                    }
                    originals
                        .entry(p.id.clone())
                        .or_insert_with(|| p.before.clone());
                    self.annotations.insert(p.id.clone(), p.next.clone());
                    let on_stream = p.events.iter().filter(|e| e.stream == p.stream).count();
                    versions.insert(p.stream.clone(), p.actual + on_stream as u64);
                    prepared.push((p, reply));
                }
            }
        }
        if prepared.is_empty() {
            for (written, reply) in unchanged {
                let _ = reply.send(Ok(written));
            }
            return;
        }
        let mut events = Vec::new();
        let mut expectations: Vec<(StreamId, Expected)> = Vec::new();
        let mut ranges = Vec::with_capacity(prepared.len());
        for (p, _) in &mut prepared {
            if !expectations.iter().any(|(s, _)| s == &p.stream) {
                let expected = if p.actual == 0 {
                    Expected::NoStream
                } else {
                    Expected::Exact(p.actual)
                };
                expectations.push((p.stream.clone(), expected));
            }
            let start = events.len();
            events.append(&mut p.events);
            ranges.push(start..events.len());
        }
        events.append(&mut receipts);
        match self
            .store
            .log
            .append(AppendRequest {
                events,
                expectations,
            })
            .await
        {
            Ok(committed) => {
                for ((p, reply), range) in prepared.into_iter().zip(ranges) {
                    let positions = &committed.positions[range];
                    self.last_change_seq = positions[0].seq;
                    self.changes_since_snapshot += 1;
                    let _ = reply.send(Ok(Written {
                        version: positions.last().map_or(p.actual, |x| x.version),
                        seq: positions.last().map_or(0, |x| x.seq),
                        annotation: p.next,
                    }));
                }
                for (written, reply) in unchanged {
                    let _ = reply.send(Ok(written));
                }
                self.broadcast();
            }
            Err(error) => {
                self.rollback(&heads);
                for (id, before) in originals {
                    match before {
                        Some(annotation) => self.annotations.insert(id, annotation),
                        None => self.annotations.remove(&id),
                    };
                }
                let message = error.to_string();
                for (p, reply) in prepared {
                    let answer = match &error {
                        StoreError::WrongExpectedVersion { actual: 1.., .. }
                            if p.before.is_none() =>
                        {
                            DocError::AlreadyExists(p.id)
                        }
                        StoreError::WrongExpectedVersion {
                            expected, actual, ..
                        } => DocError::VersionMismatch {
                            expected: match expected {
                                Expected::Exact(v) => *v,
                                _ => 0,
                            },
                            actual: *actual,
                        },
                        StoreError::Unavailable => DocError::Store(StoreError::Unavailable),
                        _ => DocError::Store(StoreError::Corrupt(message.clone())),
                    };
                    let _ = reply.send(Err(answer));
                }
                for (_, reply) in unchanged {
                    let _ = reply.send(Err(DocError::Store(StoreError::Corrupt(message.clone()))));
                }
            }
        }
    }

    /// Decides one edit and applies it to the document (not yet logged). `versions` holds the
    /// stream versions that earlier edits of the same batch will have reached.
    #[tracing::instrument(skip_all, fields(article = %self.article, annotation = %edit.target()))]
    fn prepare(
        &mut self,
        user: &UserName,
        at: DateTime<Utc>,
        edit: Edit,
        versions: &HashMap<StreamId, u64>,
    ) -> Result<Prepare, DocError> {
        let id = edit.target().clone();
        let stream = StreamId::Annotation(id.clone());
        let actual = match versions.get(&stream) {
            Some(version) => *version,
            None => self.store.log.stream_version(&stream)?,
        };
        let before = self.annotations.get(&id).cloned();
        if let Some(expected) = edit.expected() {
            if expected != actual {
                return Err(match edit {
                    Edit::Create(_) => DocError::AlreadyExists(id),
                    _ => DocError::VersionMismatch { expected, actual },
                });
            }
        }
        if before.is_none() && self.annotations.len() >= self.limits.max_annotations_per_article {
            return Err(DocError::Domain(crate::domain::DomainError::invalid(
                "target",
                format!(
                    "article {} has reached the limit of {} annotations",
                    self.article, self.limits.max_annotations_per_article
                ),
            )));
        }
        let next = match (&before, edit) {
            (None, Edit::Create(create)) => commands::create(create, &self.limits)?,
            (Some(_), Edit::Create(_)) => return Err(DocError::AlreadyExists(id)),
            (None, _) => return Err(DocError::NotFound(id)),
            (Some(current), Edit::Replace { replace, .. }) => {
                commands::replace(current, replace, &self.limits)?
            }
            (Some(current), Edit::SetStatus { to, .. }) => {
                commands::change_status(current, to, at)?
            }
            (Some(current), Edit::Assign { assignee, .. }) => {
                commands::assign(current, assignee, at)?
            }
            (Some(current), Edit::AddReply { reply, .. }) => {
                commands::add_reply(current, reply, &self.limits)?
            }
            (Some(current), Edit::Delete { .. }) => commands::delete(current, at)?,
        };
        if let Some(current) = &before {
            let mut unchanged = next.clone();
            unchanged.modified = current.modified;
            if &unchanged == current {
                // Nothing to record: the same state, the same version.
                return Ok(Prepare::Unchanged(Written {
                    annotation: current.clone(),
                    version: actual,
                    seq: 0,
                }));
            }
        }
        let semantic = derive_events(before.as_ref(), &next);
        self.doc.set_actor(user_actor(user));
        let mut tx = self.doc.transaction();
        let written = schema::annotations_map(&tx).and_then(|map| {
            let map = map.ok_or_else(|| SchemaError::Invalid {
                path: schema::ANNOTATIONS.into(),
                message: "is missing".into(),
            })?;
            schema::write_annotation(&mut tx, &map, before.as_ref(), &next)
        });
        if let Err(error) = written {
            tx.rollback();
            return Err(error.into());
        }
        tx.commit_with(commit_options(user, at));
        let mut events = vec![self.change_event(user, at)?];
        events.extend(
            semantic
                .into_iter()
                .map(|event| new_event(stream.clone(), user, at, event, None)),
        );
        Ok(Prepare::Changed(Prepared {
            id,
            before,
            next,
            events,
            stream,
            actual,
        }))
    }

    /// Undoes local changes that were not logged, by rebuilding the document at earlier heads.
    pub(super) fn rollback(&mut self, heads: &[ChangeHash]) {
        match self.doc.fork_at(heads) {
            Ok(doc) => self.doc = doc,
            Err(error) => {
                tracing::error!(article = %self.article, %error, "could not roll back the document");
            }
        }
    }

    pub(super) fn maybe_snapshot(&mut self) {
        let total = self.doc.stats().num_changes;
        if super::snapshot_policy::snapshot_due(self.changes_since_snapshot, total) {
            self.save_snapshot();
        }
    }

    fn save_snapshot(&mut self) {
        if self.changes_since_snapshot == 0 {
            return;
        }
        let snapshot = Snapshot {
            seq: self.last_change_seq,
            bytes: self.doc.save(),
        };
        match self.store.snapshots.put(&self.article, &snapshot) {
            Ok(()) => self.changes_since_snapshot = 0,
            Err(error) => {
                tracing::warn!(article = %self.article, %error, "could not save a snapshot")
            }
        }
    }
}

/// Loads a snapshot if it is what the log says the document was at its sequence number: the
/// event there must be a change of this document whose recorded heads equal the snapshot's.
/// Anything else (damaged bytes, a snapshot from another history) is discarded with a warning
/// and the document is rebuilt from the whole log.
fn verified(store: &Store, article: &ArticleId, snapshot: Snapshot) -> Option<(Automerge, u64)> {
    let doc = match Automerge::load(&snapshot.bytes) {
        Ok(doc) => doc,
        Err(error) => {
            tracing::warn!(%article, %error, "unreadable snapshot; replaying the whole log");
            return None;
        }
    };
    let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    let recorded = match store.log.get(snapshot.seq) {
        Ok(Some(record)) if record.stream == StreamId::Document(article.clone()) => {
            match DomainEvent::from_parts(&record.event_type, &record.data) {
                Ok(DomainEvent::DocumentChanged { heads, .. }) => Some(heads),
                _ => None,
            }
        }
        _ => None,
    };
    let mut sorted_recorded = recorded.unwrap_or_default();
    sorted_recorded.sort();
    let mut sorted_heads = heads;
    sorted_heads.sort();
    if sorted_recorded != sorted_heads {
        tracing::warn!(%article, seq = snapshot.seq, "the snapshot disagrees with the log; replaying the whole log");
        return None;
    }
    Some((doc, snapshot.seq))
}

pub(super) fn commit_options(user: &UserName, at: DateTime<Utc>) -> CommitOptions {
    CommitOptions::default()
        .with_message(json!({ "user": user.as_str() }).to_string())
        .with_time(at.timestamp_millis())
}

/// The `request.recorded` event of an idempotency key, about `subject`. Its id is the
/// receipt's, derived from the key, never random: that is what finds it again.
pub fn receipt_event(
    receipt: &Receipt,
    subject: &StreamId,
    user: &UserName,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        id: receipt.id,
        ..new_event(receipt.stream(), user, at, receipt.event(subject), None)
    }
}

pub(super) fn new_event(
    stream: StreamId,
    user: &UserName,
    at: DateTime<Utc>,
    event: DomainEvent,
    change: Option<Vec<u8>>,
) -> NewEvent {
    let (event_type, data) = event.into_parts();
    NewEvent {
        id: EventId::random(),
        stream,
        event_type,
        schema: SCHEMA_VERSION,
        actor: user.clone(),
        at,
        data,
        change,
    }
}
