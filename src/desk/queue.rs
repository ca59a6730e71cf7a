//! The desk's work queue: what is waiting, and for whom. Three lists and a count per article,
//! all read from the read models: the unfinished annotations assigned to a person, the
//! unfinished annotations of some kinds (fact-checks and corrections by default) oldest first,
//! and the targets that a new version left without a place.
//!
//! "Needs a person" is not a notion of its own: it is [`Placement::needs_attention`] on each
//! article's latest version, the list the reader offers to re-attach, so the queue and the
//! reader cannot disagree.

use crate::domain::{ArticleId, Kind, Status, UserName};
use crate::store::{AnnotationRow, Filter};

use super::versions::Placement;
use super::{Desk, DeskError};

/// How long a read that names an event (`seen`) waits for the log to reach it.
const SEEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The kinds the open list holds when a caller names none.
pub const DEFAULT_OPEN_KINDS: [Kind; 2] = [Kind::FactCheck, Kind::Correction];

/// Which annotations a queue read covers.
#[derive(Clone, Debug)]
pub struct QueueScope {
    /// Whose assignments the assigned list holds.
    pub assignee: UserName,
    /// The kinds the open list holds.
    pub kinds: Vec<Kind>,
    /// One article only, or every article.
    pub article: Option<ArticleId>,
}

/// A target a person should place: where it stands in its article's latest version.
#[derive(Clone, Debug)]
pub struct Attention {
    pub article: ArticleId,
    pub version: u32,
    pub placement: Placement,
}

/// How much is waiting on one article.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleCounts {
    pub article: ArticleId,
    /// Live annotations that are open or in review.
    pub open: usize,
    /// Targets a person should place in the latest version.
    pub needs_attention: usize,
}

/// Whether an annotation still waits for someone: open or in review.
fn unfinished(status: Status) -> bool {
    matches!(status, Status::Open | Status::InReview)
}

/// Oldest first: by creation time, then by the order the log took them.
fn oldest_first(rows: &mut [AnnotationRow]) {
    rows.sort_by(|a, b| {
        a.annotation
            .created
            .cmp(&b.annotation.created)
            .then(a.created_seq.cmp(&b.created_seq))
    });
}

impl Desk {
    /// The unfinished annotations assigned to `scope.assignee`, oldest first.
    pub fn assigned(&self, scope: &QueueScope) -> Result<Vec<AnnotationRow>, DeskError> {
        let mut rows: Vec<AnnotationRow> = self
            .list(&Filter {
                article: scope.article.clone(),
                assignee: Some(scope.assignee.clone()),
                ..Filter::default()
            })?
            .into_iter()
            .filter(|row| unfinished(row.annotation.status))
            .collect();
        oldest_first(&mut rows);
        Ok(rows)
    }

    /// The unfinished annotations of `scope.kinds`, whoever they are assigned to, oldest first.
    pub fn open_work(&self, scope: &QueueScope) -> Result<Vec<AnnotationRow>, DeskError> {
        let mut rows = Vec::new();
        for kind in &scope.kinds {
            rows.extend(
                self.list(&Filter {
                    article: scope.article.clone(),
                    kind: Some(*kind),
                    ..Filter::default()
                })?
                .into_iter()
                .filter(|row| unfinished(row.annotation.status)),
            );
        }
        oldest_first(&mut rows);
        Ok(rows)
    }

    /// Every target a person should place in its article's latest version, article by article
    /// (in the articles' order), each article's in the order of its passages.
    pub fn needing_attention(
        &self,
        article: Option<&ArticleId>,
    ) -> Result<Vec<Attention>, DeskError> {
        let mut found = Vec::new();
        for row in self.articles()? {
            if article.is_some_and(|a| a != &row.id) {
                continue;
            }
            found.extend(self.attention_on(&row.id, row.latest().map_or(1, |v| v.number))?);
        }
        Ok(found)
    }

    /// The targets on `article` a person should place in `latest`. A first version has them
    /// too: an import files a passage it could not place there as orphaned (ADR 0016).
    fn attention_on(&self, article: &ArticleId, latest: u32) -> Result<Vec<Attention>, DeskError> {
        let (version, placements) = self.placements(article, Some(latest))?;
        Ok(placements
            .into_iter()
            .filter(Placement::needs_attention)
            .map(|placement| Attention {
                article: article.clone(),
                version,
                placement,
            })
            .collect())
    }

    /// How much is waiting on each article, in the articles' order.
    pub fn article_counts(&self) -> Result<Vec<ArticleCounts>, DeskError> {
        let mut counts = Vec::new();
        for row in self.articles()? {
            let open = self
                .list_shared(&Filter {
                    article: Some(row.id.clone()),
                    ..Filter::default()
                })?
                .iter()
                .filter(|r| unfinished(r.annotation.status))
                .count();
            let needs_attention = self
                .attention_on(&row.id, row.latest().map_or(1, |v| v.number))?
                .len();
            counts.push(ArticleCounts {
                article: row.id,
                open,
                needs_attention,
            });
        }
        Ok(counts)
    }

    /// Waits until the read models hold every event up to `seq`, so a client that heard of an
    /// event on the live tail reads a queue that includes it. With a shared log the tail may
    /// have come from another process a little ahead of this one: the log's head is given
    /// [`SEEN_PATIENCE`] to reach `seq`, and a sequence still beyond it is refused rather than
    /// waited for.
    pub async fn caught_up_to(&self, seq: u64) -> Result<(), DeskError> {
        let mut head = self.watch_head();
        let reached = tokio::time::timeout(SEEN_PATIENCE, head.wait_for(|h| *h >= seq)).await;
        if !matches!(reached, Ok(Ok(_))) {
            let head = self.log_head();
            return Err(DeskError::Domain(crate::domain::DomainError::invalid(
                "seen",
                format!("event {seq} is beyond the log's head ({head})"),
            )));
        }
        Ok(self.store.read_model.wait_for(seq).await?)
    }
}
