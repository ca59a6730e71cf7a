//! Per-article Automerge documents: their layout (`schema`), the sans-IO state machine at the
//! heart of each one (`core`), the task that carries out what it asks (`task`), and the registry
//! that starts those tasks on first use and lets idle ones go (`registry`).
//!
//! This module knows the store and the domain; it knows nothing of HTTP. The WebSocket sync
//! endpoint plugs into the same actors: a sync change is one more way to change a document.

mod command;
mod compensate;
pub mod core;
mod edit;
mod error;
mod events;
mod fields;
mod follow;
mod load;
mod peer;
mod registry;
pub mod schema;
mod snapshot_policy;
mod sync_ack;
mod sync_messages;
mod task;
#[cfg(test)]
pub(crate) mod testing;
mod values;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::domain::idempotency::Receipt;
use crate::domain::{ArticleId, ContentLimits, UserName};
use crate::identity::Users;
use crate::store::Store;

use command::Command;
pub use core::Rules;
pub use edit::{DocState, Edit, Reanchored, Reattachment, Written};
pub use error::DocError;
pub use events::{change_event, commit_options, new_event, own_events, receipt_event, user_actor};
pub use peer::{ConnId, Outbound, PeerLink, Presence};
use registry::{Claim, Lookup, Registry};
pub use schema::SchemaError;
pub use sync_messages::SyncMessages;
use task::DocumentTask;

/// Applies a peer's sync message to `doc` and `state` exactly as Automerge's
/// `receive_sync_message` does, without its walk of the whole history (see `sync_ack`). For a
/// client that keeps no patches: the load generator's virtual clients.
pub fn receive_sync_message(
    doc: &mut automerge::Automerge,
    state: &mut automerge::sync::State,
    message: automerge::sync::Message,
) -> Result<(), automerge::AutomergeError> {
    sync_ack::receive(doc, state, message, &mut automerge::PatchLog::inactive())
}

/// Which of `hashes` `doc` holds, each a hash lookup rather than a read of the change's
/// metadata, whose cost grows with the history (see `sync_ack`). For the load generator's
/// virtual clients, which time the edits that reach them.
pub fn holds_changes(doc: &automerge::Automerge, hashes: &[automerge::ChangeHash]) -> Vec<bool> {
    sync_ack::holds(doc, hashes)
}

/// The registry of loaded documents; cheap to clone.
#[derive(Clone)]
pub struct Documents {
    store: Store,
    /// Shared, so that a `Desk` (which holds this) stays small to move around.
    rules: Arc<Rules>,
    registry: Arc<Registry>,
    /// The document tasks, so shutdown can wait for their last snapshots.
    tasks: Arc<Mutex<tokio::task::JoinSet<()>>>,
}

impl Documents {
    /// A registry whose documents stay loaded until shutdown.
    pub fn new(store: Store, limits: ContentLimits) -> Self {
        Self {
            store,
            rules: Arc::new(Rules {
                limits,
                people: None,
            }),
            registry: Arc::default(),
            tasks: Arc::default(),
        }
    }

    /// Unloads a document (after saving its snapshot) once it has had no peers and no command
    /// for `idle`; the next command loads it again. For a registry not yet in use.
    pub fn with_idle(mut self, idle: Duration) -> Self {
        self.registry = Arc::new(Registry::with_idle(Some(idle)));
        self
    }

    /// Checks the people that sync changes name (assignees) against the desk's users.
    pub fn with_people(mut self, people: Users) -> Self {
        Arc::make_mut(&mut self.rules).people = Some(people);
        self
    }

    /// Documents with a task: loading, loaded, or saving before they unload.
    pub fn loaded(&self) -> usize {
        self.registry.len()
    }

    /// The mailbox of an article's document, loading it if needed. A task that died (a panic in
    /// Automerge, say) is replaced by a fresh one loaded from storage.
    async fn mailbox(&self, article: &ArticleId) -> Result<mpsc::Sender<Command>, DocError> {
        loop {
            let lease = match self.registry.claim(article) {
                Ok(sender) => return Ok(sender),
                Err(Claim::Wait(mut changed)) => {
                    // Loading or unloading: look again once that is over.
                    let _ = changed.changed().await;
                    continue;
                }
                Err(Claim::Load(lease)) => lease,
            };
            let (store, rules, id) = (self.store.clone(), self.rules.clone(), article.clone());
            // The lease goes with the load: if this caller is cancelled meanwhile, the slot
            // is freed when the lease drops.
            let core = tokio::task::spawn_blocking(move || load::load(id, &store, rules))
                .await
                .map_err(|_| DocError::Stopped)??;
            let task = DocumentTask::new(core, self.store.clone());
            let (sender, receiver) = lease.open().ok_or(DocError::Stopped)?;
            // Counted while the task lives, however it ends (a panic included).
            let loaded = crate::metrics::LoadedDocument::load();
            let span = tracing::info_span!("document", article = %article);
            let mut tasks = self.tasks.lock().expect("document task set lock");
            // Tasks of unloaded documents are done: forget them, or the set grows forever.
            while tasks.try_join_next().is_some() {}
            tasks.spawn(
                async move {
                    task.run(receiver, lease).await;
                    drop(loaded);
                }
                .instrument(span),
            );
            return Ok(sender);
        }
    }

    /// Delivers a command to the document, loading it if needed.
    async fn deliver(&self, article: &ArticleId, command: Command) -> Result<(), DocError> {
        let mailbox = self.mailbox(article).await?;
        self.deliver_via(article, mailbox, command).await
    }

    /// Sends a command to a mailbox found earlier. A task that closed its mailbox to unload
    /// meanwhile hands the command back; it goes to the next task.
    async fn deliver_via(
        &self,
        article: &ArticleId,
        mut mailbox: mpsc::Sender<Command>,
        mut command: Command,
    ) -> Result<(), DocError> {
        loop {
            match mailbox.send(command).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(back)) => {
                    command = back;
                    mailbox = self.mailbox(article).await?;
                }
            }
        }
    }

    /// Delivers a command only if the document is loaded (or loading, or unloading).
    async fn deliver_if_loaded(&self, article: &ArticleId, mut command: Command) {
        loop {
            match self.registry.lookup(article) {
                Lookup::Absent => return,
                Lookup::Wait(mut changed) => {
                    let _ = changed.changed().await;
                }
                Lookup::Live(mailbox) => match mailbox.send(command).await {
                    Ok(()) => return,
                    Err(mpsc::error::SendError(back)) => command = back,
                },
            }
        }
    }

    /// Sends a command that expects an answer to `article`'s document task and waits for it.
    async fn ask<T>(
        &self,
        article: &ArticleId,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, DocError> {
        let (reply, answer) = oneshot::channel();
        self.deliver(article, command(reply)).await?;
        answer.await.map_err(|_| DocError::Stopped)
    }

    /// Applies an edit to an annotation in `article`'s document, durably.
    pub async fn edit(
        &self,
        article: &ArticleId,
        user: &UserName,
        at: DateTime<Utc>,
        edit: Edit,
    ) -> Result<Written, DocError> {
        self.edit_keyed(article, user, at, edit, None).await
    }

    /// [`Documents::edit`] for a request with an idempotency key: the receipt is appended with
    /// the edit's events, in the same durable write (and not at all if the edit changes
    /// nothing).
    pub async fn edit_keyed(
        &self,
        article: &ArticleId,
        user: &UserName,
        at: DateTime<Utc>,
        edit: Edit,
        receipt: Option<Receipt>,
    ) -> Result<Written, DocError> {
        self.ask(article, |reply| Command::Edit {
            user: user.clone(),
            at,
            edit: Box::new(edit),
            receipt,
            reply,
        })
        .await?
    }

    /// Hands a peer's sync message to the document (the peer subscribes with its first one).
    pub async fn sync(
        &self,
        article: &ArticleId,
        link: PeerLink,
        message: automerge::sync::Message,
    ) -> Result<(), DocError> {
        self.deliver(
            article,
            Command::Sync {
                link,
                message: Box::new(message),
            },
        )
        .await
    }

    /// Relays presence to the document's other peers.
    pub async fn presence(&self, article: &ArticleId, from: ConnId, presence: Presence) {
        self.deliver_if_loaded(article, Command::Presence { from, presence })
            .await;
    }

    /// Unsubscribes a connection from a document.
    pub async fn leave(&self, article: &ArticleId, conn: ConnId) {
        self.deliver_if_loaded(article, Command::Leave { conn })
            .await;
    }

    /// Anchors the annotations of `document` (an article's document) that target `article` in
    /// `article`'s version `version`.
    pub async fn reanchor(
        &self,
        document: &ArticleId,
        article: &ArticleId,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<Reanchored, DocError> {
        self.ask(document, |reply| Command::Reanchor {
            article: article.clone(),
            version,
            at,
            reply,
        })
        .await?
    }

    /// Records a person's placement of an annotation's target, in the task of `document` (the
    /// annotation's home article); returns the event's sequence number.
    pub async fn reattach(
        &self,
        document: &ArticleId,
        user: &UserName,
        placed: Reattachment,
        at: DateTime<Utc>,
    ) -> Result<u64, DocError> {
        self.ask(document, |reply| Command::Reattach {
            user: user.clone(),
            placed,
            at,
            reply,
        })
        .await?
    }

    /// The document's heads, annotations and saved bytes.
    pub async fn inspect(&self, article: &ArticleId) -> Result<DocState, DocError> {
        self.ask(article, |reply| Command::Inspect { reply }).await
    }

    /// Stops every document task and waits while each saves its snapshot.
    pub async fn shutdown(&self) {
        self.registry.clear();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("document task set lock"));
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender that found the task live, then lost the race with its unloading, must not lose
    /// its command: it is handed back and answered by the next task.
    #[tokio::test]
    async fn a_command_for_a_task_that_unloaded_goes_to_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let documents = Documents::new(store, ContentLimits::default())
            .with_idle(std::time::Duration::from_millis(1));
        let article = ArticleId::parse("unloading").unwrap();
        let stale = documents.mailbox(&article).await.unwrap();
        // The task ends once idle; its mailbox closes first.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !stale.is_closed() || documents.loaded() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the task never unloaded"
            );
            tokio::task::yield_now().await;
        }
        let (reply, answer) = oneshot::channel();
        documents
            .deliver_via(&article, stale, Command::Inspect { reply })
            .await
            .unwrap();
        let state = answer.await.expect("the next task answered");
        assert!(state.annotations.is_empty());
        documents.shutdown().await;
    }
}
