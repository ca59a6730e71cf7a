//! Loading a document from the store: its verified snapshot, the changes logged after it, and
//! where its streams are.

use std::sync::Arc;

use automerge::Automerge;

use crate::domain::{AnnotationId, ArticleId, DomainEvent, StreamId};
use crate::store::{AnchorRow, ReadModel, Snapshot, Store, StoreError};

use super::core::{DocumentCore, Library, StreamState};
use super::{DocError, Rules};

impl Library for ReadModel {
    fn article_text(
        &self,
        article: &ArticleId,
        version: u32,
    ) -> Result<Option<String>, StoreError> {
        ReadModel::article_text(self, article, version)
    }

    fn anchors(&self, id: &AnnotationId) -> Result<Vec<AnchorRow>, StoreError> {
        ReadModel::anchors(self, id)
    }
}

/// Loads the document from its snapshot and the changes logged after it.
pub(super) fn load(
    article: ArticleId,
    store: &Store,
    rules: Arc<Rules>,
) -> Result<DocumentCore, DocError> {
    let stream = StreamId::Document(article.clone());
    let snapshot = store.snapshots.get(&article)?;
    let (mut doc, after) = match snapshot.and_then(|s| verified(store, &article, s)) {
        Some((doc, seq)) => (doc, seq),
        None => (Automerge::new(), 0),
    };
    let mut state = StreamState {
        seq: after,
        last_change_seq: after,
        ..StreamState::default()
    };
    let mut bytes = Vec::new();
    for record in store.log.read_stream(&stream, after)? {
        state.seq = record.seq;
        if let Some(change) = &record.change {
            bytes.extend_from_slice(change);
            state.last_change_seq = record.seq;
            state.unsaved += 1;
        }
    }
    state.version = store.log.stream_version(&stream)?;
    if !bytes.is_empty() {
        doc.load_incremental(&bytes)
            .map_err(|e| DocError::Schema(e.into()))?;
    }
    let library = Arc::new(store.read_model.clone());
    let mut core = DocumentCore::new(article, doc, state, rules, library)?;
    for id in core.annotation_ids() {
        let version = store
            .log
            .stream_version(&StreamId::Annotation(id.clone()))?;
        core.set_annotation_version(id, version);
    }
    Ok(core)
}

/// Loads a snapshot if it is what the log says the document was at its sequence number: the
/// event there must be a change of this document whose recorded heads equal the snapshot's.
/// Anything else (damaged bytes, a snapshot from another history) is discarded with a warning
/// and the document is rebuilt from the whole log.
fn verified(store: &Store, article: &ArticleId, snapshot: Snapshot) -> Option<(Automerge, u64)> {
    let doc = match Automerge::load(&snapshot.bytes) {
        Ok(doc) => doc,
        Err(error) => {
            tracing::warn!(%article, %error, "unreadable snapshot; replaying the whole log");
            return None;
        }
    };
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    let mut recorded = match store.log.get(snapshot.seq) {
        Ok(Some(record)) if record.stream == StreamId::Document(article.clone()) => {
            match DomainEvent::from_parts(&record.event_type, &record.data) {
                Ok(DomainEvent::DocumentChanged { heads, .. }) => heads,
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    recorded.sort();
    heads.sort();
    if recorded != heads {
        tracing::warn!(%article, seq = snapshot.seq, "the snapshot disagrees with the log; replaying the whole log");
        return None;
    }
    Some((doc, snapshot.seq))
}
