//! Per-article Automerge documents: their layout (`schema`), the task that owns each one
//! (`actor`), and the registry that starts those tasks on first use.
//!
//! This module knows the store and the domain; it knows nothing of HTTP. The WebSocket sync
//! endpoint plugs into the same actors: a sync change is one more way to change a document.

mod actor;
pub mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::domain::{AnnotationId, ArticleId, ContentLimits, DomainError, UserName};
use crate::store::{Store, StoreError};

pub use actor::{user_actor, DocState, Edit, Written};
use actor::{Command, DocumentActor};
pub use schema::SchemaError;

/// Commands that may queue for one document before senders wait.
const MAILBOX: usize = 256;

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
        Ok(sender)
    }

    fn live(&self, article: &ArticleId) -> Option<mpsc::Sender<Command>> {
        let actors = self.actors.lock().expect("document registry lock");
        actors.get(article).filter(|s| !s.is_closed()).cloned()
    }

    /// Applies an edit to an annotation in `article`'s document, durably.
    pub async fn edit(
        &self,
        article: &ArticleId,
        user: &UserName,
        at: DateTime<Utc>,
        edit: Edit,
    ) -> Result<Written, DocError> {
        let mailbox = self.mailbox(article).await?;
        let (reply, answer) = oneshot::channel();
        mailbox
            .send(Command::Edit {
                user: user.clone(),
                at,
                edit: Box::new(edit),
                reply,
            })
            .await
            .map_err(|_| DocError::Stopped)?;
        answer.await.map_err(|_| DocError::Stopped)?
    }

    /// The document's heads, annotations and saved bytes.
    pub async fn inspect(&self, article: &ArticleId) -> Result<DocState, DocError> {
        let mailbox = self.mailbox(article).await?;
        let (reply, answer) = oneshot::channel();
        mailbox
            .send(Command::Inspect { reply })
            .await
            .map_err(|_| DocError::Stopped)?;
        answer.await.map_err(|_| DocError::Stopped)
    }

    /// Stops every document task and waits while each saves its snapshot.
    pub async fn shutdown(&self) {
        self.actors.lock().expect("document registry lock").clear();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("document task set lock"));
        while tasks.join_next().await.is_some() {}
    }
}
