//! How a document reaches the sync connections subscribed to it, and what it sends them.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::domain::UserName;

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
