//! Sync peers reach the article documents through the desk, like every other entry point:
//! the sync session resolves a document id to an article and hands each message on here.

use crate::documents::{ConnId, DocError, PeerLink, Presence};
use crate::domain::ArticleId;

use super::Desk;

impl Desk {
    /// Hands a sync peer's message to the article's document, subscribing the peer to it.
    pub async fn sync(
        &self,
        article: &ArticleId,
        link: PeerLink,
        message: automerge::sync::Message,
    ) -> Result<(), DocError> {
        self.docs.sync(article, link, message).await
    }

    /// Relays a peer's presence to the other peers of a loaded document.
    pub async fn presence(&self, article: &ArticleId, from: ConnId, presence: Presence) {
        self.docs.presence(article, from, presence).await;
    }

    /// Unsubscribes a connection from an article's document.
    pub async fn leave(&self, article: &ArticleId, conn: ConnId) {
        self.docs.leave(article, conn).await;
    }
}
