//! The task around one document's core: it turns commands into the core's inputs, carries out
//! the effects the core returns (appends to the log, messages to peers, answers to callers) and
//! feeds their outcomes back. One task per loaded document serialises everything that happens
//! to it; many documents progress in parallel. A task with no sync peers that gets no command
//! for its idle time saves a snapshot and ends (see `registry`).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

use crate::domain::idempotency::Receipt;
use crate::domain::{ArticleId, StreamId, UserName};
use crate::metrics::PeerGauge;
use crate::store::{AppendRequest, EventRecord, Expected, Snapshot, Snapshots, Store, StoreError};

use super::command::Command;
use super::core::{
    unseen, Answer, AppendId, AppendOutcome, DocumentCore, EditRequest, Effect, Input, PeerInfo,
    SnapshotCopy, Ticket,
};
use super::edit::{DocState, Edit, Reanchored, Written};
use super::registry::Lease;
use super::snapshot_policy;
use super::{ConnId, DocError, Outbound, PeerLink};

/// Who waits for an answer.
enum Caller {
    Written(oneshot::Sender<Result<Written, DocError>>),
    Reanchored(oneshot::Sender<Result<Reanchored, DocError>>),
    Reattached(oneshot::Sender<Result<u64, DocError>>),
    Inspected(oneshot::Sender<DocState>),
}

/// A subscribed peer's connection, counted in the peer gauge while it is held.
struct Link {
    link: PeerLink,
    _gauge: PeerGauge,
}

/// An append being made durable, and what its outcome is reported as.
struct Appending {
    id: AppendId,
    outcome: futures_util::future::BoxFuture<'static, AppendOutcome>,
}

/// A snapshot being encoded and stored on a blocking thread, and how many of the changes not in
/// the last snapshot it holds.
struct Saving {
    saved: tokio::task::JoinHandle<Result<(), StoreError>>,
    changes: u64,
}

pub(super) struct DocumentTask {
    core: DocumentCore,
    store: Store,
    links: HashMap<ConnId, Link>,
    callers: HashMap<Ticket, Caller>,
    next_ticket: Ticket,
    /// The core's append in flight, if any (it asks for one at a time).
    appending: Option<Appending>,
    /// At most one snapshot is saved at a time, so they are stored in order.
    saving: Option<Saving>,
    /// After a save that failed, the document's change count before which none is tried again
    /// (each try copies the whole document).
    retry_at: u64,
}

impl DocumentTask {
    pub(super) fn new(core: DocumentCore, store: Store) -> Self {
        Self {
            core,
            store,
            links: HashMap::new(),
            callers: HashMap::new(),
            next_ticket: 0,
            appending: None,
            saving: None,
            retry_at: 0,
        }
    }

    /// Handles commands until the registry forgets the document (shutdown) or, with no peers,
    /// none arrives for the lease's idle time: then the mailbox closes, anything still queued is
    /// handled (and keeps the document loaded), and otherwise the snapshot is saved and the task
    /// ends, releasing the lease.
    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>, lease: Lease) {
        let mut deferred: Option<Command> = None;
        let mut mailbox = Mailbox::default();
        loop {
            if self.appending.is_some() {
                self.await_append(&mut commands, &mut deferred).await;
                continue;
            }
            let command = match deferred.take() {
                Some(command) => command,
                None => {
                    let idle = lease.idle().filter(|_| self.links.is_empty());
                    match mailbox.next(&mut commands, idle, &lease).await {
                        Some(command) => command,
                        None => break,
                    }
                }
            };
            self.take(command, &mut commands, &mut deferred).await;
            // Compaction runs after the answer went out, off the writer's latency path.
            self.maybe_snapshot();
        }
        self.save_snapshot().await;
        // Only now may the next task load the document: everything this one wrote is logged,
        // and its snapshots are stored.
        drop(lease);
    }

    /// While an append is made durable: the edits that come meanwhile are decided ahead of its
    /// outcome when the core takes them (a snapshot that is due waits for a moment with no
    /// append in flight, so then they wait); then the outcome is fed.
    async fn await_append(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        deferred: &mut Option<Command>,
    ) {
        let mut appending = self.appending.take().expect("an append in flight");
        if let Some(command) = deferred.take() {
            self.appending = Some(appending);
            return self.take(command, commands, deferred).await;
        }
        if self.core.decides_ahead() && !self.snapshot_wanted() {
            tokio::select! {
                biased;
                outcome = &mut appending.outcome => {
                    return self.appended(appending.id, outcome).await;
                }
                Some(command) = commands.recv() => {
                    self.appending = Some(appending);
                    return self.take(command, commands, deferred).await;
                }
                else => {}
            }
        }
        let outcome = appending.outcome.await;
        self.appended(appending.id, outcome).await;
    }

    async fn appended(&mut self, id: AppendId, outcome: AppendOutcome) {
        self.feed(Input::Appended { id, outcome }).await;
        self.maybe_snapshot();
    }

    /// Turns a command (and the edits queued behind an edit) into an input and feeds it.
    async fn take(
        &mut self,
        command: Command,
        commands: &mut mpsc::Receiver<Command>,
        deferred: &mut Option<Command>,
    ) {
        let input = match command {
            edit @ Command::Edit { .. } => self.batch(edit, commands, deferred),
            Command::Sync { link, message } => self.sync_input(link, message),
            Command::Presence { from, presence } => Input::Presence { from, presence },
            Command::Foreign { records } => Input::Foreign(records),
            Command::RemotePresence { presence } => Input::RemotePresence(presence),
            Command::Leave { conn } => {
                self.forget(conn);
                Input::Leave { conn }
            }
            Command::Inspect { reply } => Input::Inspect {
                ticket: self.wait(Caller::Inspected(reply)),
            },
            Command::Reattach {
                user,
                placed,
                at,
                reply,
            } => Input::Reattach {
                ticket: self.wait(Caller::Reattached(reply)),
                user,
                placed,
                at,
            },
            Command::Reanchor {
                article,
                version,
                at,
                reply,
            } => Input::Reanchor {
                ticket: self.wait(Caller::Reanchored(reply)),
                article,
                version,
                at,
            },
        };
        self.feed(input).await;
    }

    /// Group commit at the document: an edit and every edit already waiting behind it, up to a
    /// bound, become one input; the first other command waiting is kept for next.
    fn batch(
        &mut self,
        first: Command,
        commands: &mut mpsc::Receiver<Command>,
        deferred: &mut Option<Command>,
    ) -> Input {
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Edit {
                    user,
                    at,
                    edit,
                    receipt,
                    reply,
                } => batch.push(self.edit_request(user, at, *edit, receipt, reply)),
                other => {
                    *deferred = Some(other);
                    break;
                }
            }
            if batch.len() < self.core.edit_room() {
                next = commands.try_recv().ok();
            }
        }
        crate::metrics::metrics().observe_edit_batch(batch.len());
        Input::Edits(batch)
    }

    fn edit_request(
        &mut self,
        user: UserName,
        at: DateTime<Utc>,
        edit: Edit,
        receipt: Option<Receipt>,
        reply: oneshot::Sender<Result<Written, DocError>>,
    ) -> EditRequest {
        EditRequest {
            ticket: self.wait(Caller::Written(reply)),
            user,
            at,
            edit,
            receipt,
        }
    }

    fn sync_input(&mut self, link: PeerLink, message: Box<automerge::sync::Message>) -> Input {
        let peer = PeerInfo {
            conn: link.conn,
            user: link.user.clone(),
            read_only: link.read_only,
            document_id: link.document_id.clone(),
        };
        self.links.entry(link.conn).or_insert_with(|| Link {
            link,
            _gauge: PeerGauge::join(),
        });
        Input::Sync {
            peer,
            message,
            at: crate::clock::now(),
        }
    }

    fn wait(&mut self, caller: Caller) -> Ticket {
        self.next_ticket += 1;
        self.callers.insert(self.next_ticket, caller);
        self.next_ticket
    }

    fn forget(&mut self, conn: ConnId) -> Option<PeerLink> {
        self.links.remove(&conn).map(|l| l.link)
    }

    /// Hands an input to the core and carries out what it asks, until nothing follows.
    async fn feed(&mut self, input: Input) {
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            for effect in self.core.handle(input) {
                if let Some(next) = self.execute(effect).await {
                    inputs.push_back(next);
                }
            }
        }
    }

    /// Carries out one effect; returns the input it leads to, if any.
    async fn execute(&mut self, effect: Effect) -> Option<Input> {
        match effect {
            Effect::Append {
                id,
                request,
                after_seq,
            } => {
                debug_assert!(self.appending.is_none(), "one append at a time");
                let store = self.store.clone();
                let outcome = async move { append(&store, request, after_seq).await }.boxed();
                self.appending = Some(Appending { id, outcome });
                None
            }
            Effect::Send { conn, message } => {
                let Some(Link { link, .. }) = self.links.get(&conn) else {
                    // Its connection ended while the core was busy.
                    return Some(Input::Leave { conn });
                };
                if link.outbox.try_send(message).is_err() {
                    link.kick.notify_one();
                    self.forget(conn);
                    return Some(Input::Behind { conn });
                }
                None
            }
            Effect::Relay { conn, presence } => {
                if let Some(Link { link, .. }) = self.links.get(&conn) {
                    let _ = link.outbox.try_send(Outbound::Presence(presence));
                }
                None
            }
            Effect::Share { presence } => {
                super::follow::share_presence(&self.store, self.core.article(), presence);
                None
            }
            Effect::Disconnect { conn, reason } => {
                if let Some(link) = self.forget(conn) {
                    link.fail(&reason);
                }
                None
            }
            Effect::Reply { ticket, answer } => {
                self.answer(ticket, answer);
                None
            }
        }
    }

    fn answer(&mut self, ticket: Ticket, answer: Answer) {
        let Some(caller) = self.callers.remove(&ticket) else {
            return;
        };
        // A caller that gave up is no longer listening; that is its business.
        match (caller, answer) {
            (Caller::Written(reply), Answer::Written(result)) => drop(reply.send(result)),
            (Caller::Reanchored(reply), Answer::Reanchored(result)) => drop(reply.send(result)),
            (Caller::Reattached(reply), Answer::Reattached(result)) => drop(reply.send(result)),
            (Caller::Inspected(reply), Answer::Inspected(state)) => drop(reply.send(*state)),
            _ => tracing::error!("a document answered a caller with the wrong kind of answer"),
        }
    }

    /// Starts saving a snapshot when one is due: the task copies the document and goes on, a
    /// blocking thread encodes and stores the copy (encoding the whole document would hold up
    /// every edit queued behind it).
    fn maybe_snapshot(&mut self) {
        self.reap_snapshot();
        if !self.snapshot_wanted() {
            return;
        }
        let Some(copy) = self.core.snapshot_copy() else {
            return;
        };
        let changes = copy.changes;
        let (snapshots, article) = (self.store.snapshots.clone(), self.core.article().clone());
        let saved = tokio::task::spawn_blocking(move || store_snapshot(&snapshots, &article, copy));
        self.saving = Some(Saving { saved, changes });
    }

    /// Whether a snapshot is due and none is being saved.
    fn snapshot_wanted(&self) -> bool {
        let (unsaved, changes) = (self.core.stream_state().unsaved, self.core.change_count());
        self.saving.is_none()
            && changes >= self.retry_at
            && snapshot_policy::snapshot_due(unsaved, changes)
    }

    /// Takes in the snapshot being saved, if it is done.
    fn reap_snapshot(&mut self) {
        let Some(mut saving) = self.saving.take_if(|s| s.saved.is_finished()) else {
            return;
        };
        // Unconstrained: a task whose cooperative budget is spent would be told a finished
        // save is still pending.
        match tokio::task::coop::unconstrained(&mut saving.saved).now_or_never() {
            Some(outcome) => self.snapshot_saved(saving.changes, outcome),
            None => self.saving = Some(saving),
        }
    }

    fn snapshot_saved(
        &mut self,
        changes: u64,
        outcome: Result<Result<(), StoreError>, tokio::task::JoinError>,
    ) {
        let article = self.core.article();
        match outcome {
            Ok(Ok(())) => return self.core.mark_saved(changes),
            Ok(Err(error)) => tracing::warn!(%article, %error, "could not save a snapshot"),
            Err(error) => tracing::error!(%article, %error, "saving a snapshot failed"),
        }
        self.retry_at = self.core.change_count() + snapshot_policy::MIN_CHANGES;
    }

    /// Before the task ends: waits for the snapshot being saved, then saves everything since,
    /// on the task (no edit waits behind it any more). A task that panics or is dropped instead
    /// releases its lease with a save possibly still running; what that save stores is still
    /// the document at the sequence number it names, so at worst a load replays more changes.
    async fn save_snapshot(&mut self) {
        if let Some(saving) = self.saving.take() {
            let outcome = saving.saved.await;
            self.snapshot_saved(saving.changes, outcome);
        }
        if self.core.stream_state().unsaved == 0 {
            return;
        }
        let Some(copy) = self.core.snapshot_copy() else {
            return;
        };
        let changes = copy.changes;
        let outcome = store_snapshot(&self.store.snapshots, self.core.article(), copy);
        self.snapshot_saved(changes, Ok(outcome));
    }
}

/// Appends durably; a lost race comes back with the events the core lacked.
async fn append(store: &Store, request: AppendRequest, after_seq: u64) -> AppendOutcome {
    let expectations = request.expectations.clone();
    let rejected = request
        .events
        .iter()
        .filter(|e| e.event_type == "change.rejected")
        .count() as u64;
    match store.log.append(request).await {
        Ok(committed) => {
            crate::metrics::metrics().changes_rejected.inc_by(rejected);
            AppendOutcome::Committed(committed)
        }
        Err(StoreError::WrongExpectedVersion { stream, actual, .. }) => {
            crate::metrics::metrics().append_races.inc();
            if let Some((raced, _)) = expectations.iter().find(|(s, _)| s.to_string() == stream) {
                copied(store, raced, actual).await;
            }
            match theirs(store, &expectations, after_seq) {
                Ok(theirs) => AppendOutcome::Raced { theirs },
                Err(error) => AppendOutcome::Failed(error),
            }
        }
        Err(error) => AppendOutcome::Failed(error),
    }
}

/// Encodes a copy of the document and stores it as the article's snapshot.
fn store_snapshot(
    snapshots: &Snapshots,
    article: &ArticleId,
    copy: SnapshotCopy,
) -> Result<(), StoreError> {
    let snapshot = Snapshot {
        seq: copy.seq,
        bytes: copy.doc.save(),
    };
    snapshots.put(article, &snapshot)
}

/// How long a lost race waits for this process's copy of a shared log to hold the winner's
/// events before it reads what the copy has.
const COPY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits until the local log holds `stream` at `version`, or [`COPY_PATIENCE`] has passed. With
/// a shared log the winner's events reach this replica's copy a moment after the race is lost
/// in the database; merged without them, the next try would lose again for nothing.
async fn copied(store: &Store, stream: &StreamId, version: u64) {
    let mut head = store.log.watch_head();
    let _ = tokio::time::timeout(COPY_PATIENCE, async {
        while store.log.stream_version(stream).is_ok_and(|v| v < version) {
            if head.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
}

/// The events of the raced streams that the core had not seen (see [`unseen`]).
fn theirs(
    store: &Store,
    expectations: &[(StreamId, Expected)],
    after_seq: u64,
) -> Result<Vec<EventRecord>, StoreError> {
    let mut records = Vec::new();
    for (stream, expected) in expectations {
        let (after, seen) = unseen(stream, *expected, after_seq);
        let stream_records = store.log.read_stream(stream, after)?;
        records.extend(stream_records.into_iter().filter(|r| r.version > seen));
    }
    records.sort_by_key(|r| r.seq);
    records.dedup_by_key(|r| r.seq);
    Ok(records)
}

/// The receiving end of a task's mailbox, with the idle timeout that unloads the document.
#[derive(Default)]
struct Mailbox {
    /// The mailbox is closed for unloading; `drained` says whether a command still came.
    closing: bool,
    drained: bool,
}

impl Mailbox {
    /// The next command; `None` when the task should end.
    async fn next(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        idle: Option<std::time::Duration>,
        lease: &Lease,
    ) -> Option<Command> {
        loop {
            let received = match idle.filter(|_| !self.closing) {
                Some(idle) => match tokio::time::timeout(idle, commands.recv()).await {
                    Ok(received) => received,
                    Err(_) => {
                        // Senders that find the mailbox closed retry on the next task.
                        commands.close();
                        self.closing = true;
                        continue;
                    }
                },
                None => commands.recv().await,
            };
            match received {
                Some(command) => {
                    self.drained |= self.closing;
                    return Some(command);
                }
                None if self.closing && self.drained => {
                    // Commands came while closing: the document stays, with a new mailbox.
                    let (_, reopened) = lease.open()?;
                    *commands = reopened;
                    self.closing = false;
                    self.drained = false;
                }
                None => {
                    if self.closing {
                        crate::metrics::metrics().documents_unloaded.inc();
                    }
                    return None;
                }
            }
        }
    }
}
