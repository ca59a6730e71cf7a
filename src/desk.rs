//! The desk: the application service every entry point (HTTP, seeds, later sync and the CLI)
//! goes through. It resolves user drafts against article text, routes annotation edits to the
//! owning document, appends article events, and answers reads from the read models.
//!
//! It knows no HTTP: errors are [`DeskError`], which the HTTP layer maps to statuses.

use chrono::{DateTime, Utc};

use crate::documents::{receipt_event, DocError, DocState, Documents, Edit, Written};
use crate::domain::{
    commands, AnnotationId, ArticleId, ClaimOrigin, Content, ContentLimits, DomainError,
    DomainEvent, EditLabel, EventId, IndexedText, Kind, Reply, ReplyId, Source, Status, StreamId,
    Target, TextPosition, TextQuote, UserName, Verdict, SCHEMA_VERSION,
};
use crate::store::{
    AnnotationRow, AppendRequest, ArticleRow, Cause, Expected, Filter, NewEvent, Store, StoreError,
};

/// Why the desk refused or failed. Each variant's doc names its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// A rule was broken (422), or an immutable value changed (409), or it was deleted (410).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// No such annotation or article (404).
    #[error("{0}")]
    NotFound(String),
    /// The annotation was deleted (410).
    #[error("annotation {0} was deleted")]
    Gone(AnnotationId),
    /// The client's version is stale (412 over HTTP with If-Match).
    #[error(
        "the annotation changed since you read it: it is at version {actual}, you sent {expected}"
    )]
    Stale { expected: u64, actual: u64 },
    /// The thing exists already, or the request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// An idempotency key sent again with another request (422).
    #[error("{0}")]
    KeyReused(String),
    /// Storage failed: 503 while the log is not accepting writes, 500 otherwise (opaque to
    /// clients).
    #[error(transparent)]
    Store(StoreError),
    /// A document task failed (500, opaque to clients).
    #[error(transparent)]
    Document(DocError),
    /// Anything else that is the server's fault (500, opaque to clients): a stored value that
    /// does not decode, a broken invariant.
    #[error(transparent)]
    Internal(Cause),
    /// Search could not answer: 503 while its index catches up, 500 otherwise.
    #[error(transparent)]
    Search(crate::search::SearchError),
}

impl DeskError {
    /// A failure of the server's own, with its cause (a message, or an error kept as the source).
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        DeskError::Internal(Cause::from(cause.into()))
    }
}

impl From<StoreError> for DeskError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::WrongExpectedVersion { .. } | StoreError::PartialDuplicate => {
                DeskError::Conflict(error.to_string())
            }
            other => DeskError::Store(other),
        }
    }
}

impl From<DocError> for DeskError {
    fn from(error: DocError) -> Self {
        match error {
            DocError::Domain(DomainError::Deleted(id)) => DeskError::Gone(id),
            DocError::Domain(e) => DeskError::Domain(e),
            DocError::NotFound(id) => {
                DeskError::NotFound(format!("annotation {id} does not exist"))
            }
            DocError::AlreadyExists(id) => {
                DeskError::Conflict(format!("annotation {id} already exists"))
            }
            DocError::VersionMismatch { expected, actual } => DeskError::Stale { expected, actual },
            DocError::NoSuchVersion { .. } => DeskError::NotFound(error.to_string()),
            DocError::Store(e) => e.into(),
            other => DeskError::Document(other),
        }
    }
}

/// A passage as a client describes it, before it is checked against the article text.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetDraft {
    pub article: ArticleId,
    /// `None`: the latest version.
    pub version: Option<u32>,
    pub quote: TextQuote,
    pub position: Option<TextPosition>,
}

/// An annotation as a client describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub kind: Kind,
    pub body: String,
    pub verdict: Option<Verdict>,
    pub suggestion: Option<String>,
    pub edit_label: Option<EditLabel>,
    /// A fact-check's claimant, claim date and summary.
    pub claim: Option<ClaimOrigin>,
    pub sources: Vec<Source>,
    pub tags: Vec<String>,
    pub targets: Vec<TargetDraft>,
    pub status: Option<Status>,
    /// `None` leaves it as it is; `Some(None)` clears it.
    pub assignee: Option<Option<UserName>>,
    pub canonical: Option<String>,
    pub via: Option<String>,
}

/// A new article.
#[derive(Clone, Debug)]
pub struct ArticleDraft {
    pub id: ArticleId,
    pub title: Option<String>,
    pub outlet: Option<String>,
    pub url: Option<String>,
    pub published: Option<String>,
    pub text: String,
}

/// The outcome of publishing an article version.
#[derive(Clone, Debug)]
pub struct Published {
    pub article: ArticleRow,
    /// False when the text equalled the latest version: nothing was written.
    pub created: bool,
    /// Where the annotations went in the new version (for a version after the first).
    pub anchoring: Option<AnchoringReport>,
    /// What the house-style check of the new text flagged and resolved.
    pub style: Option<StyleReport>,
}

#[derive(Clone)]
pub struct Desk {
    store: Store,
    docs: Documents,
    limits: ContentLimits,
    /// Idempotency keys being carried out now (see `requests`).
    in_flight: requests::InFlight,
    /// On a desk scoped to one request with an idempotency key: that request.
    request: Option<std::sync::Arc<requests::Keyed>>,
    /// Full-text search, on a desk that serves (see `search`).
    search: Option<crate::search::SearchIndex>,
}

pub use crate::clock::now;

mod claims;
mod import;
mod peers;
mod queue;
mod reads;
mod requests;
mod search;
mod style;
mod versions;
pub use import::{ImportReport, Imported, Skipped, Unplaced};
pub use queue::{ArticleCounts, Attention, QueueScope, DEFAULT_OPEN_KINDS};
pub use requests::{Begun, Recorded};
pub use style::{default_rules, StyleReport, HOUSE_STYLE};
pub use versions::{AnchoringReport, Placement};

impl Desk {
    pub fn new(store: Store, limits: ContentLimits) -> Self {
        let docs = Documents::new(store.clone(), limits);
        Self {
            store,
            docs,
            limits,
            in_flight: Default::default(),
            request: None,
            search: None,
        }
    }

    /// Unloads documents that have had no peer and no request for `idle`.
    pub fn with_document_idle(mut self, idle: std::time::Duration) -> Self {
        self.docs = self.docs.with_idle(idle);
        self
    }

    /// Refuses sync changes that assign an annotation to someone who is not one of `people`
    /// (REST writes are checked before they reach the document).
    pub fn with_people(mut self, people: crate::identity::Users) -> Self {
        self.docs = self.docs.with_people(people);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn documents(&self) -> &Documents {
        &self.docs
    }

    pub fn limits(&self) -> &ContentLimits {
        &self.limits
    }

    // ---- annotations ------------------------------------------------------------------------

    /// A draft's target checked against its version's text. A target the annotation already
    /// has at the same index (`kept`), selectors and all, is kept as it is: it was checked when
    /// it was written, or was imported without a place and has its anchor there (ADR 0016);
    /// anchors are per target index, so a target moved to another index is checked again.
    fn resolve_target(
        &self,
        draft: &TargetDraft,
        index: usize,
        kept: &[Target],
    ) -> Result<Target, DeskError> {
        let same = |t: &&Target| {
            t.article == draft.article
                && draft.version == Some(t.version)
                && t.quote == draft.quote
                && draft.position == Some(t.position)
        };
        if let Some(target) = kept.get(index).filter(same) {
            return Ok(target.clone());
        }
        let selector_error = |message: String| {
            DeskError::Domain(DomainError::Selector(format!("target[{index}]: {message}")))
        };
        let article = self
            .store
            .read_model
            .article(&draft.article)?
            .ok_or_else(|| {
                selector_error(format!("there is no article {:?}", draft.article.as_str()))
            })?;
        let latest = article.latest().map_or(0, |v| v.number);
        let version = draft.version.unwrap_or(latest);
        let text = self
            .store
            .read_model
            .article_text(&draft.article, version)?
            .ok_or_else(|| {
                selector_error(format!(
                    "article {} has no version {version} (latest is {latest})",
                    draft.article
                ))
            })?;
        let indexed = IndexedText::new(&text);
        let position = indexed
            .locate(&draft.quote, draft.position)
            .map_err(|m| selector_error(m.0))?;
        // Store the quote with full context, so later re-anchoring has something to go on.
        let mut quote = indexed.describe(position);
        if !draft.quote.prefix.is_empty() || !draft.quote.suffix.is_empty() {
            quote.prefix = draft.quote.prefix.clone();
            quote.suffix = draft.quote.suffix.clone();
        }
        Ok(Target {
            article: draft.article.clone(),
            version,
            quote,
            position,
        })
    }

    fn resolve(&self, draft: &Draft) -> Result<Content, DeskError> {
        self.resolve_keeping(draft, &[])
    }

    /// [`Self::resolve`], keeping the targets of `kept` a draft repeats.
    fn resolve_keeping(&self, draft: &Draft, kept: &[Target]) -> Result<Content, DeskError> {
        if draft.targets.len() > self.limits.max_targets {
            return Err(DomainError::invalid(
                "target",
                format!(
                    "an annotation is limited to {} targets",
                    self.limits.max_targets
                ),
            )
            .into());
        }
        let targets = draft
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| self.resolve_target(t, i, kept))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Content {
            kind: draft.kind,
            body: draft.body.clone(),
            verdict: draft.verdict,
            suggestion: draft.suggestion.clone(),
            edit_label: draft.edit_label,
            claim: draft.claim.clone().map(Box::new),
            sources: draft.sources.clone(),
            tags: draft.tags.clone(),
            targets,
        })
    }

    /// Waits until the read models show a write, so the writer reads its own writes.
    async fn settle(&self, written: Written) -> Result<Written, DeskError> {
        self.store.read_model.wait_for(written.seq).await?;
        Ok(written)
    }

    /// Picks the id for a new annotation: the client's slug when it is free and valid.
    fn choose_id(&self, slug: Option<&str>) -> Result<AnnotationId, DeskError> {
        if let Some(slug) = slug.and_then(slugify) {
            if self.store.read_model.annotation(&slug)?.is_none() {
                return Ok(slug);
            }
        }
        Ok(AnnotationId::random())
    }

    /// Creates an annotation. A taken or invalid slug is replaced by a random id, as the W3C
    /// protocol asks.
    #[tracing::instrument(skip_all, fields(user = %user))]
    pub async fn create(
        &self,
        user: &UserName,
        draft: Draft,
        slug: Option<&str>,
    ) -> Result<Written, DeskError> {
        let content = self.resolve(&draft)?;
        content.check(&self.limits)?;
        if draft.status.is_some_and(|s| s != Status::Open) {
            return Err(DomainError::invalid(
                "status",
                "a new annotation starts open; change its status once it exists",
            )
            .into());
        }
        let article = content.targets[0].article.clone();
        let mut id = self.choose_id(slug)?;
        for _ in 0..3 {
            let create = commands::Create {
                id: id.clone(),
                creator: user.clone(),
                now: now(),
                content: content.clone(),
                assignee: draft.assignee.clone().flatten(),
                canonical: draft.canonical.clone(),
                via: draft.via.clone(),
            };
            match self
                .docs
                .edit_keyed(
                    &article,
                    user,
                    create.now,
                    Edit::Create(create),
                    self.receipt(),
                )
                .await
            {
                Ok(written) => {
                    self.receipt_logged();
                    let written = self.settle(written).await?;
                    return self.anchor_if_behind(written).await;
                }
                // Someone took the id between our check and the write: pick another.
                Err(DocError::AlreadyExists(_)) => id = AnnotationId::random(),
                Err(other) => return Err(other.into()),
            }
        }
        Err(DeskError::Conflict(
            "could not find a free annotation id".into(),
        ))
    }

    /// The current row of an annotation: 404 if unknown, 410 if deleted.
    pub fn live_row(&self, id: &AnnotationId) -> Result<AnnotationRow, DeskError> {
        let row = self.row(id)?;
        if row.annotation.deleted {
            return Err(DeskError::Gone(id.clone()));
        }
        Ok(row)
    }

    /// The row of an annotation, deleted or not: 404 if unknown.
    pub fn row(&self, id: &AnnotationId) -> Result<AnnotationRow, DeskError> {
        self.store
            .read_model
            .annotation(id)?
            .ok_or_else(|| DeskError::NotFound(format!("annotation {id} does not exist")))
    }

    async fn edit_existing(
        &self,
        user: &UserName,
        id: &AnnotationId,
        make: impl FnOnce(DateTime<Utc>) -> Edit,
    ) -> Result<Written, DeskError> {
        let row = self.live_row(id)?;
        let at = now();
        let written = self
            .docs
            .edit_keyed(
                row.annotation.home_article(),
                user,
                at,
                make(at),
                self.receipt(),
            )
            .await?;
        self.receipt_logged();
        self.settle(written).await
    }

    /// Replaces an annotation's content (W3C PUT).
    pub async fn replace(
        &self,
        user: &UserName,
        id: &AnnotationId,
        draft: Draft,
        expected: Option<u64>,
    ) -> Result<Written, DeskError> {
        let current = self.live_row(id)?;
        let content = self.resolve_keeping(&draft, &current.annotation.targets)?;
        let written = self
            .edit_existing(user, id, |now| Edit::Replace {
                id: id.clone(),
                expected,
                replace: commands::Replace {
                    content,
                    status: draft.status,
                    assignee: draft.assignee,
                    canonical: draft.canonical,
                    via: draft.via,
                    now,
                },
            })
            .await?;
        self.anchor_if_behind(written).await
    }

    pub async fn set_status(
        &self,
        user: &UserName,
        id: &AnnotationId,
        to: Status,
        expected: Option<u64>,
    ) -> Result<Written, DeskError> {
        self.edit_existing(user, id, |_| Edit::SetStatus {
            id: id.clone(),
            expected,
            to,
        })
        .await
    }

    pub async fn assign(
        &self,
        user: &UserName,
        id: &AnnotationId,
        assignee: Option<UserName>,
        expected: Option<u64>,
    ) -> Result<Written, DeskError> {
        self.edit_existing(user, id, |_| Edit::Assign {
            id: id.clone(),
            expected,
            assignee,
        })
        .await
    }

    pub async fn reply(
        &self,
        user: &UserName,
        id: &AnnotationId,
        text: String,
        parent: Option<ReplyId>,
    ) -> Result<Written, DeskError> {
        self.edit_existing(user, id, |now| Edit::AddReply {
            id: id.clone(),
            reply: Reply {
                id: ReplyId::random(),
                parent,
                creator: user.clone(),
                created: now,
                text,
            },
        })
        .await
    }

    pub async fn delete(
        &self,
        user: &UserName,
        id: &AnnotationId,
        expected: Option<u64>,
    ) -> Result<Written, DeskError> {
        self.edit_existing(user, id, |_| Edit::Delete {
            id: id.clone(),
            expected,
        })
        .await
    }

    pub fn list(&self, filter: &Filter) -> Result<Vec<AnnotationRow>, DeskError> {
        Ok(self.store.read_model.list(filter)?)
    }

    /// A listing shared between readers until the desk changes (container pages).
    pub fn list_shared(
        &self,
        filter: &Filter,
    ) -> Result<std::sync::Arc<Vec<AnnotationRow>>, DeskError> {
        Ok(self.store.read_model.list_shared(filter)?)
    }

    /// The live state of an article's document.
    pub async fn document(&self, article: &ArticleId) -> Result<DocState, DeskError> {
        self.article(article)?;
        Ok(self.docs.inspect(article).await?)
    }

    // ---- articles ---------------------------------------------------------------------------

    /// The article whose automerge-repo document has this id.
    pub fn article_by_document(&self, document_id: &str) -> Result<Option<ArticleId>, DeskError> {
        Ok(self
            .store
            .read_model
            .articles()?
            .into_iter()
            .find(|a| a.document_id == document_id)
            .map(|a| a.id))
    }

    pub fn articles(&self) -> Result<Vec<ArticleRow>, DeskError> {
        Ok(self.store.read_model.articles()?)
    }

    pub fn article(&self, id: &ArticleId) -> Result<ArticleRow, DeskError> {
        self.store
            .read_model
            .article(id)?
            .ok_or_else(|| DeskError::NotFound(format!("article {id} does not exist")))
    }

    pub fn article_text(&self, id: &ArticleId, version: u32) -> Result<String, DeskError> {
        self.store
            .read_model
            .article_text(id, version)?
            .ok_or_else(|| DeskError::NotFound(format!("article {id} has no version {version}")))
    }

    /// Ingests a new article with its first version. Ingesting the same article with the same
    /// text again is a no-op; with other text it is a conflict (publish a version instead).
    #[tracing::instrument(skip_all, fields(article = %draft.id))]
    pub async fn create_article(
        &self,
        user: &UserName,
        draft: ArticleDraft,
    ) -> Result<Published, DeskError> {
        let text = crate::domain::require_text(&draft.text)?;
        let sha256 = crate::domain::sha256_hex(&text);
        if let Some(existing) = self.store.read_model.article(&draft.id)? {
            return if existing.latest().is_some_and(|v| v.sha256 == sha256) {
                Ok(Published {
                    article: existing,
                    created: false,
                    anchoring: None,
                    style: None,
                })
            } else {
                Err(DeskError::Conflict(format!(
                    "article {} exists; publish new text as a version at /api/articles/{}/versions",
                    draft.id, draft.id
                )))
            };
        }
        let at = now();
        let stream = StreamId::Article(draft.id.clone());
        let events = vec![
            DomainEvent::ArticleCreated {
                article: draft.id.clone(),
                title: draft.title,
                outlet: draft.outlet,
                url: draft.url,
                published: draft.published,
                document_id: new_document_id(),
            },
            DomainEvent::ArticleVersionPublished {
                article: draft.id.clone(),
                version: 1,
                sha256,
                text,
            },
        ];
        let committed = self
            .append(user, at, &stream, Expected::NoStream, events)
            .await
            .map_err(|e| match e {
                DeskError::Conflict(_) => {
                    DeskError::Conflict(format!("article {} already exists", draft.id))
                }
                other => other,
            })?;
        self.store.read_model.wait_for(committed).await?;
        let style = self.check_style_if_set(&draft.id, 1).await?;
        Ok(Published {
            article: self.article(&draft.id)?,
            created: true,
            anchoring: None,
            style,
        })
    }

    /// Publishes a new version of an article's text; identical text is a no-op.
    #[tracing::instrument(skip_all, fields(article = %id))]
    pub async fn publish_version(
        &self,
        user: &UserName,
        id: &ArticleId,
        text: &str,
    ) -> Result<Published, DeskError> {
        let text = crate::domain::require_text(text)?;
        let sha256 = crate::domain::sha256_hex(&text);
        let article = self.article(id)?;
        let latest = article.latest().map_or(0, |v| v.number);
        if article.latest().is_some_and(|v| v.sha256 == sha256) {
            return Ok(Published {
                article,
                created: false,
                anchoring: None,
                style: None,
            });
        }
        let stream = StreamId::Article(id.clone());
        let version = self.store.log.stream_version(&stream)?;
        let event = DomainEvent::ArticleVersionPublished {
            article: id.clone(),
            version: latest + 1,
            sha256,
            text,
        };
        let committed = self
            .append(user, now(), &stream, Expected::Exact(version), vec![event])
            .await?;
        self.store.read_model.wait_for(committed).await?;
        // The version is durable; if anchoring is interrupted, start-up finishes it.
        let anchoring = self.reanchor(id, latest + 1).await?;
        let style = self.check_style_if_set(id, latest + 1).await?;
        Ok(Published {
            article: self.article(id)?,
            created: true,
            anchoring: Some(anchoring),
            style,
        })
    }

    /// Runs the house-style check on a new version once the desk has a term list (the seed
    /// loader ingests articles before the default list is set, then checks them all).
    async fn check_style_if_set(
        &self,
        article: &ArticleId,
        version: u32,
    ) -> Result<Option<StyleReport>, DeskError> {
        if self.store.read_model.style_rules()?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.check_style(article, version).await?))
    }

    async fn append(
        &self,
        user: &UserName,
        at: DateTime<Utc>,
        stream: &StreamId,
        expected: Expected,
        events: Vec<DomainEvent>,
    ) -> Result<u64, DeskError> {
        let receipt = self.receipt();
        let mut events: Vec<NewEvent> = events
            .into_iter()
            .map(|event| {
                let (event_type, data) = event.into_parts();
                NewEvent {
                    id: EventId::random(),
                    stream: stream.clone(),
                    event_type,
                    schema: SCHEMA_VERSION,
                    actor: user.clone(),
                    at,
                    data,
                    change: None,
                }
            })
            .collect();
        if let Some(receipt) = &receipt {
            events.push(receipt_event(receipt, stream, user, at));
        }
        let committed = self
            .store
            .log
            .append(AppendRequest {
                events,
                expectations: vec![(stream.clone(), expected)],
            })
            .await?;
        self.receipt_logged();
        Ok(committed.last_seq())
    }
}

/// Turns a client's `Slug` into an annotation id, or `None` if nothing usable is left.
fn slugify(raw: &str) -> Option<AnnotationId> {
    let mut slug = String::new();
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(64)
        .collect();
    AnnotationId::parse(slug.trim_end_matches('-')).ok()
}

/// A fresh automerge-repo document id: 16 random bytes, bs58check-encoded, as the JavaScript
/// repo makes them.
fn new_document_id() -> String {
    bs58::encode(uuid::Uuid::new_v4().as_bytes())
        .with_check()
        .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_cleaned_or_dropped() {
        assert_eq!(slugify("My Note!").unwrap().as_str(), "my-note");
        assert_eq!(slugify("../../etc/passwd").unwrap().as_str(), "etc-passwd");
        assert!(slugify("!!!").is_none());
    }
}
