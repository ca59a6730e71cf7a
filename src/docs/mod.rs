//! Per-article Automerge documents: their layout (`schema`), the task that owns each one
//! (`actor`), and the registry that starts those tasks on first use.
//!
//! This module knows the store and the domain; it knows nothing of HTTP. The WebSocket sync
//! endpoint plugs into the same actors: a sync change is one more way to change a document.

mod actor;
mod reanchor;
mod replication;
pub mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::domain::idempotency::Receipt;
use crate::domain::{AnnotationId, ArticleId, ContentLimits, DomainError, UserName};
use crate::store::{Store, StoreError};

pub use actor::{receipt_event, user_actor, DocState, Edit, Written};
use actor::{Command, DocumentActor};
pub use reanchor::{Reanchored, Reattachment};
pub use schema::SchemaError;

/// Commands that may queue for one document before senders wait.
const MAILBOX: usize = 256;

/// Identifies one sync connection.
pub type ConnId = u64;

/// Presence from a peer: relayed as it came, never stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Presence {
    pub document_id: String,
    pub sender_id: String,
    pub session_id: String,
    pub count: u64,
    pub data: Vec<u8>,
}

/// What a document sends to a connection.
#[derive(Debug)]
pub enum Outbound {
    Sync {
        document_id: String,
        data: Vec<u8>,
    },
    Presence(Presence),
    /// Tell the peer something went wrong; the connection stays open.
    Error(String),
    /// Tell the peer why, then close the connection.
    Close(String),
}

/// How a document reaches one connection.
#[derive(Clone, Debug)]
pub struct PeerLink {
    pub conn: ConnId,
    pub user: UserName,
    /// Viewers receive but their changes are never applied.
    pub read_only: bool,
    /// The automerge-repo id the peer uses for this document.
    pub document_id: String,
    /// Bounded: a peer that cannot keep up is dropped, not buffered without limit.
    pub outbox: mpsc::Sender<Outbound>,
    /// Wakes the connection to close it when its outbox is full.
    pub kick: Arc<tokio::sync::Notify>,
}

impl PeerLink {
    /// Asks the connection to close with a message (or just closes it if its queue is full).
    pub fn fail(&self, reason: &str) {
        if self
            .outbox
            .try_send(Outbound::Close(reason.to_owned()))
            .is_err()
        {
            self.kick.notify_one();
        }
    }
}

/// A subscribed peer and its sync state with this document.
pub(crate) struct Peer {
    pub(crate) state: automerge::sync::State,
    pub(crate) link: PeerLink,
    /// Whether a read-only peer was already told its changes are not applied.
    pub(crate) warned_read_only: bool,
}

/// Why a document refused or failed a write.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("annotation {0} does not exist")]
    NotFound(AnnotationId),
    #[error("annotation {0} already exists")]
    AlreadyExists(AnnotationId),
    #[error("the annotation is at version {actual}, not {expected}")]
    VersionMismatch { expected: u64, actual: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("document: {0}")]
    Schema(#[from] SchemaError),
    #[error("the document's task stopped")]
    Stopped,
}

/// The registry of loaded documents; cheap to clone.
#[derive(Clone)]
pub struct Documents {
    store: Store,
    limits: ContentLimits,
    actors: Arc<Mutex<HashMap<ArticleId, mpsc::Sender<Command>>>>,
    /// The document tasks, so shutdown can wait for their last snapshots.
    tasks: Arc<Mutex<tokio::task::JoinSet<()>>>,
}

impl Documents {
    pub fn new(store: Store, limits: ContentLimits) -> Self {
        Self {
            store,
            limits,
            actors: Arc::default(),
            tasks: Arc::default(),
        }
    }

    /// The mailbox of an article's document, loading it if needed. A task that died (a panic in
    /// Automerge, say) is replaced by a fresh one loaded from storage.
    async fn mailbox(&self, article: &ArticleId) -> Result<mpsc::Sender<Command>, DocError> {
        if let Some(sender) = self.live(article) {
            return Ok(sender);
        }
        let (store, limits, id) = (self.store.clone(), self.limits, article.clone());
        let actor = tokio::task::spawn_blocking(move || DocumentActor::load(id, store, limits))
            .await
            .map_err(|_| DocError::Stopped)??;
        let mut actors = self.actors.lock().expect("document registry lock");
        // Another caller may have loaded it meanwhile; keep the first.
        if let Some(sender) = actors.get(article).filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        let (sender, receiver) = mpsc::channel(MAILBOX);
        let span = tracing::info_span!("document", article = %article);
        self.tasks
            .lock()
            .expect("document task set lock")
            .spawn(actor.run(receiver).instrument(span));
        actors.insert(article.clone(), sender.clone());
        crate::metrics::metrics()
            .documents_loaded
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(sender)
    }

    fn live(&self, article: &ArticleId) -> Option<mpsc::Sender<Command>> {
        let actors = self.actors.lock().expect("document registry lock");
        actors.get(article).filter(|s| !s.is_closed()).cloned()
    }

    /// Sends a command that expects an answer to `article`'s document task and waits for it.
    async fn ask<T>(
        &self,
        article: &ArticleId,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, DocError> {
        let mailbox = self.mailbox(article).await?;
        let (reply, answer) = oneshot::channel();
        mailbox
            .send(command(reply))
            .await
            .map_err(|_| DocError::Stopped)?;
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
        let mailbox = self.mailbox(article).await?;
        mailbox
            .send(Command::Sync {
                link,
                message: Box::new(message),
            })
            .await
            .map_err(|_| DocError::Stopped)
    }

    /// Relays presence to the document's other peers.
    pub async fn presence(&self, article: &ArticleId, from: ConnId, presence: Presence) {
        if let Some(mailbox) = self.live(article) {
            let _ = mailbox.send(Command::Presence { from, presence }).await;
        }
    }

    /// Unsubscribes a connection from a document.
    pub async fn leave(&self, article: &ArticleId, conn: ConnId) {
        if let Some(mailbox) = self.live(article) {
            let _ = mailbox.send(Command::Leave { conn }).await;
        }
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
        self.actors.lock().expect("document registry lock").clear();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("document task set lock"));
        while tasks.join_next().await.is_some() {}
    }
}
