//! Full-text search over annotations and article text (ADR 0014): a tantivy index in the data
//! directory, derived from the log like the read models, and the only code that names tantivy.
//!
//! An indexer task follows the read models: after they project events, it reindexes the
//! annotations and articles those events touched (their current rows) and commits, with the
//! position it reached and that event's id as the commit's payload. A search first waits until
//! the index has reached what the read models had when it was asked, so a write is found as soon
//! as its 2xx has returned. The index holds nothing the log does not: a missing, damaged or
//! foreign index (another layout, or a position whose event is not this log's) is rebuilt from
//! the log when the server starts.

mod directory;
mod fields;
mod indexer;
pub mod params;
mod query;
mod snippet;
pub mod view;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value;
use tantivy::{DocAddress, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument};
use tokio::sync::{watch, Notify};

use crate::domain::{Annotation, AnnotationId, ArticleId, Kind, Status, UserName, Verdict};
use crate::store::{Store, StoreError};

pub use params::SearchQuery;
pub use query::Terms;
pub use snippet::Snippet;

use fields::{Fields, TextField, ANALYZER, ANNOTATION, ARTICLE};

/// The index's layout version, in each commit's payload: an index of another layout is rebuilt.
const LAYOUT: u32 = 2;
/// The writer's memory budget (tantivy's floor is 15 MB).
const WRITER_MEMORY: usize = 24_000_000;
/// How long a search waits for the index to reach the read models before it answers 503.
const CATCH_UP_WAIT: Duration = Duration::from_secs(5);
/// Results per page: the default and the most a page may ask for.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
/// The deepest a cursor may page (offset plus limit).
const MAX_DEPTH: usize = 10_000;

/// The index directory in a data directory.
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("search")
}

/// Deletes the index of a data directory no server has open; the next start rebuilds it.
pub fn drop_index(data_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(index_dir(data_dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the search index failed: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("the search index directory could not be prepared: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The index is behind the read models for longer than a search waits.
    #[error(
        "the search index is catching up with the log (at event {position} of {target}); \
         try again in a few seconds"
    )]
    CatchingUp { position: u64, target: u64 },
    #[error("the search index stopped: {0}")]
    Stopped(String),
}

/// What to look for: the text and the filters, each of which must match.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    pub q: String,
    pub filters: SearchFilters,
    pub limit: usize,
    /// Results to skip (read from the cursor).
    pub offset: usize,
}

/// Whether a hit is an annotation or an article's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitKind {
    Annotation,
    Article,
}

impl HitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Annotation => ANNOTATION,
            HitKind::Article => ARTICLE,
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            ANNOTATION => Some(HitKind::Annotation),
            ARTICLE => Some(HitKind::Article),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SearchFilters {
    /// Only annotations, or only articles.
    pub hit: Option<HitKind>,
    pub article: Option<ArticleId>,
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    pub verdict: Option<Verdict>,
    pub assignee: Option<UserName>,
    pub author: Option<UserName>,
    pub tag: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
}

impl SearchFilters {
    /// Whether a filter only annotations have is given (articles then cannot match).
    fn only_annotations(&self) -> bool {
        self.kind.is_some()
            || self.status.is_some()
            || self.verdict.is_some()
            || self.assignee.is_some()
            || self.author.is_some()
            || self.tag.is_some()
    }
}

/// One page of results, best first.
#[derive(Clone, Debug)]
pub struct SearchPage {
    /// How many documents match in all.
    pub total: usize,
    pub hits: Vec<Hit>,
    /// The offset of the next page, when there is one.
    pub next: Option<usize>,
    /// The log position the index had reached when it answered.
    pub position: u64,
}

/// One result.
#[derive(Clone, Debug)]
pub struct Hit {
    pub kind_of_hit: HitKind,
    pub id: String,
    /// The article (an annotation's first target's).
    pub article: ArticleId,
    pub score: f32,
    pub snippet: Option<Snippet>,
    /// An annotation hit's annotation, as the read models have it now.
    pub annotation: Option<Annotation>,
}

/// The desk's search index; cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    store: Store,
    /// The last log position reflected in the searchable index.
    position: watch::Sender<u64>,
    /// Told when a search waits for the index, so that the indexer commits without delay, and
    /// when the index goes, so that the indexer stops.
    wanted: Arc<Notify>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.wanted.notify_one();
    }
}

impl SearchIndex {
    /// Opens the index in the data directory, or makes a new one when it is missing, damaged,
    /// of another layout or not this log's; then starts the indexer, which catches up with the
    /// read models before the first search is answered. Needs a tokio runtime.
    ///
    /// While no search waits, the indexer commits at most once per `pace` (see
    /// [`Limits::search_pace`](crate::config::Limits::search_pace)).
    pub fn open(data_dir: &Path, store: Store, pace: Duration) -> Result<Self, SearchError> {
        let dir = index_dir(data_dir);
        let (schema, fields) = Fields::schema();
        let (index, position) = match indexer::open_existing(&dir, &schema, &store) {
            Ok(Some(found)) => found,
            Ok(None) => (indexer::create(&dir, schema)?, 0),
            Err(reason) => {
                tracing::info!(%reason, "rebuilding the search index from the log");
                std::fs::remove_dir_all(&dir)?;
                (indexer::create(&dir, schema)?, 0)
            }
        };
        index.tokenizers().register(ANALYZER, fields::analyzer());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let (position, _) = watch::channel(position);
        let search = SearchIndex {
            inner: Arc::new(Inner {
                reader,
                writer: Mutex::new(writer),
                fields,
                store,
                position,
                wanted: Arc::new(Notify::new()),
            }),
        };
        indexer::start(
            Arc::downgrade(&search.inner),
            search.inner.wanted.clone(),
            pace,
        );
        Ok(search)
    }

    /// The last log position the index reflects.
    pub fn position(&self) -> u64 {
        *self.inner.position.borrow()
    }

    /// Waits until the index has reached `target` (or [`CATCH_UP_WAIT`] has passed).
    pub async fn caught_up(&self, target: u64) -> Result<(), SearchError> {
        let mut rx = self.inner.position.subscribe();
        let wanted = &self.inner.wanted;
        // Until the index reaches the target, the indexer is told after each commit that a
        // search waits, so it commits what comes next without gathering (the read models may
        // reach the target in several steps).
        let reached = tokio::time::timeout(
            CATCH_UP_WAIT,
            rx.wait_for(|at| {
                if *at < target {
                    wanted.notify_one();
                }
                *at >= target
            }),
        )
        .await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(SearchError::Stopped("the indexer is gone".into())),
            Err(_) => Err(SearchError::CatchingUp {
                position: self.position(),
                target,
            }),
        }
    }

    /// Searches everything answered before it was called: on an embedded desk, what the read
    /// models hold; with a shared log, first everything the database had committed (any
    /// replica's writes), or, while the database cannot be reached, what the local copy has.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchPage, SearchError> {
        let store = &self.inner.store;
        let target = match store.database() {
            Some(_) => match store.barrier().await {
                Ok(()) => store.log.head().max(store.read_model.checkpoint()),
                Err(error) => {
                    tracing::debug!(%error, "searching the local copy: the database is not reachable");
                    store.read_model.checkpoint()
                }
            },
            None => store.read_model.checkpoint(),
        };
        self.caught_up(target).await?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.search(&request))
            .await
            .map_err(|e| SearchError::Stopped(e.to_string()))?
    }
}

impl Inner {
    fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let terms = Terms::parse(&request.q);
        let query = query::build(&self.fields, &terms, &request.filters);
        let searcher = self.reader.searcher();
        let limit = request.limit.clamp(1, MAX_LIMIT);
        let offset = request.offset.min(MAX_DEPTH);
        let top = TopDocs::with_limit(limit).and_offset(offset);
        let (addresses, total): (Vec<(f32, DocAddress)>, usize) = if terms.is_empty() {
            // Filters alone: newest first.
            let (found, total) = searcher.search(
                &query,
                &(
                    top.order_by_fast_field::<i64>("created", Order::Desc),
                    Count,
                ),
            )?;
            (found.into_iter().map(|(_, at)| (0.0, at)).collect(), total)
        } else {
            searcher.search(&query, &(top, Count))?
        };
        let position = *self.position.borrow();
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let (id, key) = (text(self.fields.id), text(self.fields.key));
            let hit = if key.starts_with(ANNOTATION) {
                self.annotation_hit(&id, score, &terms)?
            } else {
                self.article_hit(&id, score, &terms)?
            };
            hits.extend(hit);
        }
        let next = (offset + limit < total && offset + limit < MAX_DEPTH).then_some(offset + limit);
        Ok(SearchPage {
            total,
            hits,
            next,
            position,
        })
    }

    fn annotation_hit(
        &self,
        id: &str,
        score: f32,
        terms: &Terms,
    ) -> Result<Option<Hit>, SearchError> {
        let Ok(id) = AnnotationId::parse(id) else {
            return Ok(None);
        };
        // The row may be newer than the index (never older): a hit deleted since is dropped.
        let Some(row) = self.store.read_model.annotation(&id)? else {
            return Ok(None);
        };
        let Some(article) = row.annotation.targets.first().map(|t| t.article.clone()) else {
            return Ok(None);
        };
        if row.annotation.deleted {
            return Ok(None);
        }
        Ok(Some(Hit {
            kind_of_hit: HitKind::Annotation,
            id: id.to_string(),
            article,
            score,
            snippet: snippet::best(&fields::annotation_texts(&row), terms),
            annotation: Some(row.annotation),
        }))
    }

    fn article_hit(&self, id: &str, score: f32, terms: &Terms) -> Result<Option<Hit>, SearchError> {
        let Ok(id) = ArticleId::parse(id) else {
            return Ok(None);
        };
        let Some(row) = self.store.read_model.article(&id)? else {
            return Ok(None);
        };
        let mut texts = Vec::new();
        if let Some(title) = &row.title {
            texts.push((TextField::Title, title.clone()));
        }
        if let Some(latest) = row.latest() {
            if let Some(text) = self.store.read_model.article_text(&id, latest.number)? {
                texts.push((TextField::Body, text));
            }
        }
        Ok(Some(Hit {
            kind_of_hit: HitKind::Article,
            id: id.to_string(),
            article: id,
            score,
            snippet: snippet::best(&texts, terms),
            annotation: None,
        }))
    }
}
