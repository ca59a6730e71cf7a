//! With the log shared by several processes, the documents loaded here hear of what the others
//! appended: every event the local log gains is handed, in order, to the task of its article if
//! that document is loaded (one that is not reads the log when it loads). The core applies the
//! changes it has not seen, moves its stream versions on and fans them out to its peers; its
//! own events come back this way too, and are known already.
//!
//! Presence crosses processes too, never stored: a peer's presence that a document relays is
//! also signalled to the desk's other processes, whose documents relay it to their peers (once
//! per sender, session and count, as for presence from their own peers).

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::domain::{ArticleId, StreamId};
use crate::store::{EventRecord, Store};

use super::command::Command;
use super::peer::Presence;
use super::Documents;

impl Documents {
    /// With a shared log, starts relaying to this process's peers the presence that peers of
    /// other processes send. Needs a Tokio runtime.
    pub fn follow_presence(&self) {
        if let Some(database) = self.store.database() {
            let documents = self.clone();
            let signals = database.signals();
            tokio::spawn(async move { documents.hand_over_presence(signals).await });
        }
    }

    async fn hand_over_presence(self, mut signals: broadcast::Receiver<String>) {
        loop {
            let payload = match signals.recv().await {
                Ok(payload) => payload,
                // Presence is best effort: what was missed is superseded by the next.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let Ok(shared) = serde_json::from_str::<SharedPresence>(&payload) else {
                continue;
            };
            let Ok(article) = ArticleId::parse(&shared.article) else {
                continue;
            };
            let Some(presence) = shared.presence() else {
                continue;
            };
            self.deliver_if_loaded(&article, Command::RemotePresence { presence })
                .await;
        }
    }

    /// Hands events the log gained to the loaded documents they concern, in order.
    pub async fn hand_over(&self, records: Vec<EventRecord>) {
        for (article, records) in by_article(records) {
            self.deliver_if_loaded(&article, Command::Foreign { records })
                .await;
        }
    }
}

/// Signals a peer's presence to the desk's other processes (nothing without a shared log).
pub(super) fn share_presence(store: &Store, article: &ArticleId, presence: Presence) {
    let Some(database) = store.database() else {
        return;
    };
    let shared = SharedPresence {
        kind: "presence".into(),
        article: article.to_string(),
        document_id: presence.document_id,
        sender_id: presence.sender_id,
        session_id: presence.session_id,
        count: presence.count,
        data: base64::engine::general_purpose::STANDARD.encode(&presence.data),
    };
    if let Ok(payload) = serde_json::to_string(&shared) {
        database.signal(payload);
    }
}

/// Presence as signalled between processes.
#[derive(Serialize, Deserialize)]
struct SharedPresence {
    /// What the signal is; only presence for now.
    kind: String,
    article: String,
    document_id: String,
    sender_id: String,
    session_id: String,
    count: u64,
    /// The presence message's bytes, in base64.
    data: String,
}

impl SharedPresence {
    fn presence(self) -> Option<Presence> {
        if self.kind != "presence" {
            return None;
        }
        Some(Presence {
            document_id: self.document_id,
            sender_id: self.sender_id,
            session_id: self.session_id,
            count: self.count,
            data: base64::engine::general_purpose::STANDARD
                .decode(self.data)
                .ok()?,
        })
    }
}

/// The events that concern documents, by article, each article's in order.
fn by_article(records: Vec<EventRecord>) -> BTreeMap<ArticleId, Vec<EventRecord>> {
    let mut articles: BTreeMap<ArticleId, Vec<EventRecord>> = BTreeMap::new();
    for record in records {
        if let Some(article) = article_of(&record) {
            articles.entry(article).or_default().push(record);
        }
    }
    articles
}

/// The article whose document an event belongs to: its document stream's, or for an
/// annotation's event the article it names (a new annotation names it in its targets).
fn article_of(record: &EventRecord) -> Option<ArticleId> {
    match &record.stream {
        StreamId::Document(article) => Some(article.clone()),
        StreamId::Annotation(_) => {
            let named = record
                .data
                .get("article")
                .or_else(|| record.data.pointer("/annotation/targets/0/article"))?;
            ArticleId::parse(named.as_str()?).ok()
        }
        _ => None,
    }
}
