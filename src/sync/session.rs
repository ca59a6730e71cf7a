//! One sync connection: protocol core plus routing to documents.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use crate::desk::Desk;
use crate::documents::{ConnId, Outbound, PeerLink, Presence};
use crate::domain::ArticleId;
use crate::identity::User;

use super::connection::{Action, Connection};
use super::wire::{self, EphemeralEnvelope, WireMessage};

/// Messages a connection may have queued before it counts as too slow and is dropped.
const OUTBOX: usize = 1024;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// What the socket should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this binary frame.
    Send(Vec<u8>),
    /// Close the connection (after sending anything before this step).
    Close,
}

/// The server side of one connection.
pub struct SyncSession {
    conn: ConnId,
    user: User,
    desk: Desk,
    core: Connection,
    outbox: mpsc::Sender<Outbound>,
    kick: Arc<Notify>,
    /// Documents this connection syncs, by the id the peer uses.
    subscribed: HashMap<String, ArticleId>,
}

fn error(message: impl Into<String>) -> Step {
    Step::Send(wire::encode(&WireMessage::Error {
        message: message.into(),
    }))
}

impl SyncSession {
    /// A session for an authenticated user; returns the queue documents write to and the
    /// signal that asks the socket to close.
    pub fn new(
        desk: Desk,
        user: User,
        server_id: &str,
        storage_id: &str,
    ) -> (Self, mpsc::Receiver<Outbound>, Arc<Notify>) {
        let (outbox, inbox) = mpsc::channel(OUTBOX);
        let kick = Arc::new(Notify::new());
        let session = Self {
            conn: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
            user,
            desk,
            core: Connection::new(server_id, storage_id),
            outbox,
            kick: kick.clone(),
            subscribed: HashMap::new(),
        };
        (session, inbox, kick)
    }

    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Handles one binary frame from the peer.
    pub async fn on_frame(&mut self, frame: &[u8]) -> Vec<Step> {
        let action = match self.core.receive(frame) {
            Ok(action) => action,
            Err(problem) => {
                tracing::info!(%problem, "closing: the peer sent a message the protocol does not allow");
                return vec![error(problem.to_string()), Step::Close];
            }
        };
        match action {
            Action::Reply(message) => vec![Step::Send(wire::encode(&message))],
            Action::Sync {
                document_id,
                message,
            } => {
                let article = match self.article_for(&document_id) {
                    Ok(Some(article)) => article,
                    Ok(None) => {
                        return vec![Step::Send(wire::encode(
                            &self.core.unavailable(&document_id),
                        ))]
                    }
                    Err(problem) => {
                        tracing::info!(%problem, "closing: the peer asked for a document it may not have");
                        return vec![error(problem), Step::Close];
                    }
                };
                let link = PeerLink {
                    conn: self.conn,
                    user: self.user.name.clone(),
                    read_only: !self.user.role.can_write(),
                    document_id,
                    outbox: self.outbox.clone(),
                    kick: self.kick.clone(),
                };
                match self.desk.sync(&article, link, message).await {
                    Ok(()) => Vec::new(),
                    Err(problem) => {
                        tracing::error!(%problem, "a document refused a sync message");
                        vec![
                            error("the server could not open this document"),
                            Step::Close,
                        ]
                    }
                }
            }
            Action::Ephemeral(envelope) => {
                if let Some(article) = self.subscribed.get(&envelope.document_id) {
                    let presence = Presence {
                        document_id: envelope.document_id,
                        sender_id: envelope.sender_id,
                        session_id: envelope.session_id,
                        count: envelope.count,
                        data: envelope.data,
                    };
                    self.desk.presence(article, self.conn, presence).await;
                }
                Vec::new()
            }
            Action::Leave => vec![Step::Close],
            Action::Ignore => Vec::new(),
        }
    }

    /// The article behind a document id, subscribing this connection to it.
    fn article_for(&mut self, document_id: &str) -> Result<Option<ArticleId>, String> {
        if let Some(article) = self.subscribed.get(document_id) {
            return Ok(Some(article.clone()));
        }
        let article = self
            .desk
            .article_by_document(document_id)
            .map_err(|e| e.to_string())?;
        if let Some(article) = &article {
            self.subscribed
                .insert(document_id.to_owned(), article.clone());
        }
        Ok(article)
    }

    /// Turns what a document sent into frames for this peer.
    pub fn on_outbound(&self, outbound: Outbound) -> Vec<Step> {
        match outbound {
            Outbound::Sync { document_id, data } => {
                vec![Step::Send(wire::encode(
                    &self.core.sync_message(&document_id, data),
                ))]
            }
            Outbound::Presence(presence) => vec![Step::Send(wire::encode(&self.core.relay(
                EphemeralEnvelope {
                    document_id: presence.document_id,
                    sender_id: presence.sender_id,
                    target_id: String::new(),
                    count: presence.count,
                    session_id: presence.session_id,
                    data: presence.data,
                },
            )))],
            Outbound::Error(message) => vec![error(message)],
            Outbound::Close(message) => vec![error(message), Step::Close],
        }
    }

    /// Unsubscribes from every document.
    pub async fn close(self) {
        for article in self.subscribed.values() {
            self.desk.leave(article, self.conn).await;
        }
    }
}
