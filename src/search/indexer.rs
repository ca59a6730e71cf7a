//! Keeping the index level with the log: opening (or refusing) what the data directory holds,
//! and the task that reindexes what each projected batch touched.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tantivy::schema::Schema;
use tantivy::{Index, IndexWriter, Term};
use tokio::sync::Notify;

use crate::domain::{AnnotationId, ArticleId, EventId, StreamId};
use crate::store::Store;

use super::directory::Unsynced;
use super::fields::{key, ANNOTATION, ARTICLE};
use super::{Inner, SearchError, LAYOUT};

/// Records read from the log at a time while catching up.
const READ_BATCH: usize = 4096;
/// Annotations and articles reindexed per commit while catching up (a long rebuild commits as
/// it goes, so a restart resumes rather than starting over).
const COMMIT_EVERY: usize = 20_000;

/// What each commit records: the layout, and the last event it reflects.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    layout: u32,
    seq: u64,
    event: Option<EventId>,
}

/// The index in `dir` and its position, if there is one this log can use; `Ok(None)` when
/// there is none; `Err` (why) when there is one to throw away.
pub(super) fn open_existing(
    dir: &Path,
    schema: &Schema,
    store: &Store,
) -> Result<Option<(Index, u64)>, String> {
    if !dir.join("meta.json").exists() {
        return Ok(None);
    }
    let directory = Unsynced::open(dir).map_err(|e| format!("it does not open: {e}"))?;
    let index = Index::open(directory).map_err(|e| format!("it does not open: {e}"))?;
    if index.schema() != *schema {
        return Err("it has another layout".into());
    }
    // Its files are not synced (see `directory`): after a crash of the machine some may not
    // have reached the disk.
    let damaged = index
        .validate_checksum()
        .map_err(|e| format!("its files do not read: {e}"))?;
    if !damaged.is_empty() {
        return Err(format!(
            "{} of its files fail their checksums",
            damaged.len()
        ));
    }
    let metas = index
        .load_metas()
        .map_err(|e| format!("its metadata does not read: {e}"))?;
    let Some(payload) = metas.payload else {
        return Err("it records no position".into());
    };
    let payload: Payload =
        serde_json::from_str(&payload).map_err(|e| format!("its position does not read: {e}"))?;
    if payload.layout != LAYOUT {
        return Err(format!("it is layout {}, not {LAYOUT}", payload.layout));
    }
    if payload.seq > 0 {
        let at = store
            .log
            .read_after(payload.seq - 1, 1)
            .map_err(|e| format!("the log does not read: {e}"))?;
        match at.first() {
            Some(record) if record.seq == payload.seq && Some(record.id) == payload.event => {}
            _ => {
                return Err(format!(
                    "event {} of the log is not the one it indexed",
                    payload.seq
                ))
            }
        }
    }
    Ok(Some((index, payload.seq)))
}

pub(super) fn create(dir: &Path, schema: Schema) -> Result<Index, SearchError> {
    std::fs::create_dir_all(dir)?;
    Ok(Index::create(
        Unsynced::open(dir)?,
        schema,
        Default::default(),
    )?)
}

/// Starts the task that follows the read models. It holds the index only while it works, so
/// the index (and the store it reads) go when the desk lets go of them.
///
/// After each commit it gathers what the read models project for up to `pace` before the next,
/// unless a search is waiting (`wanted`): a commit costs far more than reindexing one more
/// annotation, and a note being typed into changes many times a second.
pub(super) fn start(index: Weak<Inner>, wanted: Arc<Notify>, pace: Duration) {
    let Some(inner) = index.upgrade() else {
        return;
    };
    let mut projected = inner.store.read_model.subscribe();
    drop(inner);
    tokio::spawn(async move {
        loop {
            let Some(inner) = index.upgrade() else {
                return;
            };
            match tokio::task::spawn_blocking(move || inner.catch_up()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(%error, "indexing for search failed; searches wait until it succeeds")
                }
                Err(error) => {
                    tracing::error!(%error, "the search indexer stopped");
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pace) => {}
                _ = wanted.notified() => {}
            }
            if index.strong_count() == 0 || projected.changed().await.is_err() {
                return;
            }
        }
    });
}

impl Inner {
    /// Reindexes everything the events after the index's position touched, up to what the
    /// read models have projected, and makes it searchable.
    pub(super) fn catch_up(&self) -> Result<(), SearchError> {
        let target = self.store.read_model.checkpoint();
        let mut at = *self.position.borrow();
        let mut touched = Touched::default();
        let mut last_event = None;
        while at < target {
            let records = self.store.log.read_after(at, READ_BATCH)?;
            if records.is_empty() {
                break;
            }
            for record in records.iter().take_while(|r| r.seq <= target) {
                touched.add(&record.stream);
                at = record.seq;
                last_event = Some(record.id);
            }
            if touched.len() >= COMMIT_EVERY {
                self.commit(std::mem::take(&mut touched), at, last_event)?;
            }
        }
        if at > *self.position.borrow() {
            if touched.len() == 0 {
                // Nothing searchable changed (document changes, requests, access control):
                // the index is level as it is, and a restart reads these events again.
                self.position.send_replace(at);
            } else {
                self.commit(touched, at, last_event)?;
            }
        }
        Ok(())
    }

    /// Reindexes what was touched and commits with the position reached.
    fn commit(
        &self,
        touched: Touched,
        seq: u64,
        event: Option<EventId>,
    ) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().expect("search writer lock");
        for id in &touched.annotations {
            self.reindex_annotation(&writer, id)?;
        }
        for id in &touched.articles {
            self.reindex_article(&writer, id)?;
        }
        let payload = serde_json::to_string(&Payload {
            layout: LAYOUT,
            seq,
            event,
        })
        .expect("a payload serialises");
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        self.position.send_replace(seq);
        Ok(())
    }

    fn reindex_annotation(
        &self,
        writer: &IndexWriter,
        id: &AnnotationId,
    ) -> Result<(), SearchError> {
        writer.delete_term(Term::from_field_text(
            self.fields.key,
            &key(ANNOTATION, id.as_str()),
        ));
        if let Some(row) = self.store.read_model.annotation(id)? {
            if !row.annotation.deleted {
                writer.add_document(self.fields.annotation(&row))?;
            }
        }
        Ok(())
    }

    fn reindex_article(&self, writer: &IndexWriter, id: &ArticleId) -> Result<(), SearchError> {
        writer.delete_term(Term::from_field_text(
            self.fields.key,
            &key(ARTICLE, id.as_str()),
        ));
        let Some(row) = self.store.read_model.article(id)? else {
            return Ok(());
        };
        let text = match row.latest() {
            Some(latest) => self
                .store
                .read_model
                .article_text(id, latest.number)?
                .unwrap_or_default(),
            None => String::new(),
        };
        writer.add_document(self.fields.article(&row, &text))?;
        Ok(())
    }
}

/// The annotations and articles a run of events touched.
#[derive(Default)]
struct Touched {
    annotations: BTreeSet<AnnotationId>,
    articles: BTreeSet<ArticleId>,
}

impl Touched {
    fn add(&mut self, stream: &StreamId) {
        match stream {
            StreamId::Annotation(id) => {
                self.annotations.insert(id.clone());
            }
            StreamId::Article(id) => {
                self.articles.insert(id.clone());
            }
            _ => {}
        }
    }

    fn len(&self) -> usize {
        self.annotations.len() + self.articles.len()
    }
}
