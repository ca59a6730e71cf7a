//! What callers ask of a document's task, through its mailbox.

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::domain::idempotency::Receipt;
use crate::domain::{ArticleId, UserName};
use crate::store::EventRecord;

use super::edit::{DocState, Edit, Reanchored, Reattachment, Written};
use super::peer::{ConnId, PeerLink, Presence};
use super::DocError;

pub(super) enum Command {
    /// A sync message from a connected peer (who is subscribed to the document from now on).
    Sync {
        link: PeerLink,
        message: Box<automerge::sync::Message>,
    },
    Presence {
        from: ConnId,
        presence: Presence,
    },
    Leave {
        conn: ConnId,
    },
    /// Presence from a peer of another process sharing the log.
    RemotePresence {
        presence: Presence,
    },
    /// Events another process appended to the shared log, in order.
    Foreign {
        records: Vec<EventRecord>,
    },
    Edit {
        user: UserName,
        at: DateTime<Utc>,
        edit: Box<Edit>,
        receipt: Option<Receipt>,
        reply: oneshot::Sender<Result<Written, DocError>>,
    },
    Inspect {
        reply: oneshot::Sender<DocState>,
    },
    Reattach {
        user: UserName,
        placed: Reattachment,
        at: DateTime<Utc>,
        reply: oneshot::Sender<Result<u64, DocError>>,
    },
    Reanchor {
        article: ArticleId,
        version: u32,
        at: DateTime<Utc>,
        reply: oneshot::Sender<Result<Reanchored, DocError>>,
    },
}
