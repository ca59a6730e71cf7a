//! An in-memory sync peer for the replica benchmarks: an Automerge document, its sync state with
//! one server's document task, and the mailbox that task writes to, driven through the same
//! calls a socket session makes (`Documents::sync`), without a socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use automerge::Automerge;
use tokio::sync::mpsc;

use crate::documents::{Documents, Outbound, PeerLink};
use crate::domain::{ArticleId, UserName};

/// Connection ids far from the ones the HTTP server hands out.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1 << 40);

/// One peer subscribed to one article's document on one server.
pub struct Peer {
    pub doc: Automerge,
    pub state: sync::State,
    pub inbox: mpsc::Receiver<Outbound>,
    /// Errors and closes the server sent.
    pub errors: Vec<String>,
    link: PeerLink,
    documents: Documents,
    article: ArticleId,
}

impl Peer {
    /// A peer of `user` on `documents`' copy of `article` (whose automerge-repo id is
    /// `document_id`); it subscribes with its first message.
    pub fn new(documents: &Documents, article: &ArticleId, document_id: &str, user: &str) -> Self {
        let (outbox, inbox) = mpsc::channel(1024);
        Self {
            doc: Automerge::new(),
            state: sync::State::new(),
            inbox,
            errors: Vec::new(),
            link: PeerLink {
                conn: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
                user: UserName::parse(user).expect("a valid user name"),
                read_only: false,
                document_id: document_id.to_owned(),
                outbox,
                kick: Arc::new(tokio::sync::Notify::new()),
            },
            documents: documents.clone(),
            article: article.clone(),
        }
    }

    /// Sends the server what it lacks, if anything; whether a message went.
    pub async fn send(&mut self) -> anyhow::Result<bool> {
        let Some(message) = self.doc.generate_sync_message(&mut self.state) else {
            return Ok(false);
        };
        self.documents
            .sync(&self.article, self.link.clone(), message)
            .await?;
        Ok(true)
    }

    /// Takes one message from the server; returns the server's heads if it was a sync message.
    pub fn receive(
        &mut self,
        outbound: Outbound,
    ) -> anyhow::Result<Option<Vec<automerge::ChangeHash>>> {
        match outbound {
            Outbound::Sync { data, .. } => {
                let message = sync::Message::decode(&data)?;
                let heads = message.heads.clone();
                self.doc.receive_sync_message(&mut self.state, message)?;
                Ok(Some(heads))
            }
            Outbound::Error(message) | Outbound::Close(message) => {
                self.errors.push(message);
                Ok(None)
            }
            Outbound::Presence(_) => Ok(None),
        }
    }

    /// Syncs until neither side has anything to say: the document task answers commands in
    /// order, so once `inspect` returns every reply to what was sent is in the inbox.
    pub async fn settle(&mut self) -> anyhow::Result<()> {
        loop {
            let mut progressed = self.send().await?;
            self.documents.inspect(&self.article).await?;
            while let Ok(outbound) = self.inbox.try_recv() {
                progressed = true;
                self.receive(outbound)?;
            }
            if !progressed {
                return Ok(());
            }
        }
    }
}
