//! Importing annotations from Hypothesis (`hypothesis` reads the format).
//!
//! Each top-level row is filed on the article whose address it names (the article's `url`, or
//! its own IRI `<base>/articles/<slug>`, compared by [`page_key`]) and placed in the article's
//! latest version with the same anchoring as a new version (`domain::anchoring`: the quote
//! with its prefix and suffix, near its position, fuzzy only above the minimum score and with
//! the margin). Replies become replies of their root's thread, under the nearest ancestor
//! the thread has.
//!
//! What the desk records, and why:
//! - ids: the annotation's (and each reply's) id is derived from the Hypothesis id, so a second
//!   import finds it and writes nothing (`already_imported`); an annotation deleted on the desk
//!   since stays deleted.
//! - authors: an annotation's and a reply's `creator` is `h.<name>` ([`author`]); they are not
//!   desk users and cannot sign in. The account as Hypothesis wrote it (`acct:name@host`) ends
//!   the note and the reply's text, and the annotation's `via` is its Hypothesis address. The
//!   events' actor is whoever imported.
//! - times: `created` (and `modified`) is the row's `created`, as is each reply's.
//! - kinds: a row with text is a comment; one with tags and no text is a tag; both keep tags.
//! - orphans: a row whose passage has no place in the latest version (nowhere, or several
//!   places alike) is imported all the same, as an annotation whose target has no place
//!   (ADR 0016): its selectors kept as Hypothesis wrote them, filed on the latest version, with
//!   the `orphaned` or `ambiguous` anchor recorded for that version in the same append. It is
//!   then where every passage that lost its place is: the reader's list to re-attach and the
//!   queue's "needs a person", until a person re-attaches it. Its replies are imported with it;
//!   the report lists it under `orphaned` (and counts it in `imported`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::documents::{DocError, Edit};
use crate::domain::anchoring::{self, Anchor, AnchorStatus, Base, DiffBudget, VersionDiff};
use crate::domain::{
    commands, AnnotationId, ArticleId, Content, IndexedText, Kind, Reply, Target, TextPosition,
    UserName,
};
use crate::hypothesis::{self, annotation_id, author, page_key, reply_id, Row};

use super::{now, Desk, DeskError, Draft, TargetDraft};

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// Rows in the file.
    pub rows: usize,
    /// Annotations and replies written by this import.
    pub imported: Imported,
    /// How the annotations written were placed: `exact` (the quote as it is, at its position
    /// or elsewhere) or `fuzzy` (similar text, with its score).
    pub placed: BTreeMap<&'static str, usize>,
    /// Annotations written by this import whose passage has no place in the article: filed
    /// on its latest version as orphaned or ambiguous, for a person to re-attach. Counted in
    /// `imported` too.
    pub orphaned: Vec<Unplaced>,
    /// Rows not imported, and why.
    pub skipped: Vec<Skipped>,
    /// Rows an earlier import wrote: nothing written again.
    pub already_imported: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub annotations: usize,
    pub replies: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unplaced {
    pub id: String,
    pub article: ArticleId,
    pub quote: String,
    /// `orphaned` (nowhere) or `ambiguous` (several places fit alike).
    pub anchoring: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

/// How a top-level row is filed: placed (`exact` or `fuzzy`), or without a place.
enum Filed {
    Placed(&'static str),
    Unplaced(Unplaced),
}

/// The outcome of one top-level row.
enum Root {
    /// On the desk (now or before): its id and home article.
    Present(AnnotationId),
    /// Not on the desk; why, for its replies.
    Missing(&'static str),
}

impl Desk {
    /// Imports Hypothesis rows as `actor`. `base` is the desk's public base URL (articles'
    /// own IRIs). A row the desk refuses (too long, too many tags) is skipped with the reason;
    /// a storage failure stops the import (what was written stays, and importing again
    /// finishes it).
    pub async fn import_hypothesis(
        &self,
        actor: &UserName,
        rows: Vec<Row>,
        base: &str,
    ) -> Result<ImportReport, DeskError> {
        let mut report = ImportReport {
            rows: rows.len(),
            ..ImportReport::default()
        };
        let pages = self.pages(base)?;
        let mut texts: HashMap<ArticleId, (u32, String)> = HashMap::new();
        let mut roots: HashMap<String, Root> = HashMap::new();
        let (top, mut replies): (Vec<Row>, Vec<Row>) =
            rows.into_iter().partition(|r| !r.is_reply());
        for row in &top {
            let root = self
                .import_root(actor, row, &pages, &mut texts, &mut report)
                .await?;
            roots.insert(row.id.clone(), root);
        }
        // Parents before their children, then oldest first.
        replies.sort_by_key(|r| (r.references.len(), r.created));
        for row in &replies {
            self.import_reply(actor, row, &roots, &mut report).await?;
        }
        Ok(report)
    }

    /// Every article by the key of each address it is known by.
    fn pages(&self, base: &str) -> Result<HashMap<String, ArticleId>, DeskError> {
        let base = base.trim_end_matches('/');
        let mut pages = HashMap::new();
        for article in self.articles()? {
            pages.insert(
                page_key(&format!("{base}/articles/{}", article.id)),
                article.id.clone(),
            );
            if let Some(url) = &article.url {
                pages.insert(page_key(url), article.id.clone());
            }
        }
        Ok(pages)
    }

    async fn import_root(
        &self,
        actor: &UserName,
        row: &Row,
        pages: &HashMap<String, ArticleId>,
        texts: &mut HashMap<ArticleId, (u32, String)>,
        report: &mut ImportReport,
    ) -> Result<Root, DeskError> {
        let id = annotation_id(row);
        if self.store.read_model.annotation(&id)?.is_some() {
            report.already_imported += 1;
            return Ok(Root::Present(id));
        }
        let skip = |report: &mut ImportReport, reason: String, why: &'static str| {
            report.skipped.push(Skipped {
                id: row.id.clone(),
                reason,
            });
            Ok(Root::Missing(why))
        };
        let Some(address) = row.address() else {
            return skip(report, "no uri".into(), "its root has no uri");
        };
        let Some(article) = pages.get(&page_key(address)) else {
            return skip(
                report,
                format!("unknown URL {address}: no article has it"),
                "its root's URL is unknown",
            );
        };
        let Some(passage) = row.passage() else {
            return skip(
                report,
                "a page note: no quoted passage to place".into(),
                "its root is a page note",
            );
        };
        let text = row.text();
        let tags = row.tags();
        if text.is_empty() && tags.is_empty() {
            return skip(
                report,
                "a highlight with neither text nor tags".into(),
                "its root is a bare highlight",
            );
        }
        if !texts.contains_key(article) {
            let latest = self.article(article)?.latest().map_or(1, |v| v.number);
            texts.insert(
                article.clone(),
                (latest, self.article_text(article, latest)?),
            );
        }
        let (version, article_text) = &texts[article];
        let anchor = place(article_text, &passage.quote, passage.position);
        let kind = if text.is_empty() {
            Kind::Tag
        } else {
            Kind::Comment
        };
        let (content, filed) = match (anchor.position, anchor.status.is_placed()) {
            (Some(position), true) => {
                let label = if anchor.status == AnchorStatus::Fuzzy {
                    "fuzzy"
                } else {
                    "exact"
                };
                let draft = Draft {
                    kind,
                    body: with_account(text, &row.user),
                    verdict: None,
                    suggestion: None,
                    edit_label: None,
                    claim: None,
                    sources: Vec::new(),
                    tags,
                    targets: vec![TargetDraft {
                        article: article.clone(),
                        version: Some(*version),
                        quote: IndexedText::new(article_text).describe(position),
                        position: Some(position),
                    }],
                    status: None,
                    assignee: None,
                    canonical: None,
                    via: None,
                };
                match self.resolve(&draft) {
                    Ok(content) => (content, Filed::Placed(label)),
                    Err(DeskError::Domain(refused)) => {
                        return skip(
                            report,
                            format!("refused by the desk: {refused}"),
                            "its root was refused",
                        )
                    }
                    Err(other) => return Err(other),
                }
            }
            // No place in the version: filed there as orphaned (or ambiguous), its selectors as
            // Hypothesis wrote them, for a person to re-attach (ADR 0016).
            _ => {
                let content = Content {
                    kind,
                    body: with_account(text, &row.user),
                    verdict: None,
                    suggestion: None,
                    edit_label: None,
                    claim: None,
                    sources: Vec::new(),
                    tags,
                    targets: vec![as_written(article, *version, &passage)],
                };
                let unplaced = Unplaced {
                    id: row.id.clone(),
                    article: article.clone(),
                    quote: passage.quote.exact.clone(),
                    anchoring: anchor.status.as_str(),
                };
                (content, Filed::Unplaced(unplaced))
            }
        };
        let unplaced = matches!(filed, Filed::Unplaced(_)).then_some(anchor);
        match self
            .create_imported(actor, id.clone(), author(&row.user), row, content, unplaced)
            .await
        {
            Ok(true) => {
                report.imported.annotations += 1;
                match filed {
                    Filed::Placed(label) => *report.placed.entry(label).or_default() += 1,
                    Filed::Unplaced(unplaced) => report.orphaned.push(unplaced),
                }
                Ok(Root::Present(id))
            }
            // Another import wrote it since the check above.
            Ok(false) => {
                report.already_imported += 1;
                Ok(Root::Present(id))
            }
            Err(DeskError::Domain(refused)) => skip(
                report,
                format!("refused by the desk: {refused}"),
                "its root was refused",
            ),
            Err(other) => Err(other),
        }
    }

    /// Creates an annotation under a fixed id with its imported author and time; with
    /// `unplaced`, its target's anchor in the version it is filed on, in the same append.
    /// `false` if the id exists.
    async fn create_imported(
        &self,
        actor: &UserName,
        id: AnnotationId,
        creator: UserName,
        row: &Row,
        content: Content,
        unplaced: Option<Anchor>,
    ) -> Result<bool, DeskError> {
        content.check(&self.limits)?;
        let article = content.targets[0].article.clone();
        let create = commands::Create {
            id,
            creator,
            now: row.created,
            content,
            assignee: None,
            canonical: None,
            via: Some(row.link()),
        };
        let edit = match unplaced {
            None => Edit::Create(create),
            Some(anchor) => Edit::CreateUnplaced { create, anchor },
        };
        match self
            .docs
            .edit_keyed(&article, actor, now(), edit, self.receipt())
            .await
        {
            Ok(written) => {
                self.receipt_logged();
                self.settle(written).await?;
                Ok(true)
            }
            Err(DocError::AlreadyExists(_)) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    async fn import_reply(
        &self,
        actor: &UserName,
        row: &Row,
        roots: &HashMap<String, Root>,
        report: &mut ImportReport,
    ) -> Result<(), DeskError> {
        let skip = |report: &mut ImportReport, reason: String| {
            report.skipped.push(Skipped {
                id: row.id.clone(),
                reason,
            });
            Ok(())
        };
        let root_id = &row.references[0];
        let annotation = match roots.get(root_id) {
            Some(Root::Present(id)) => id.clone(),
            Some(Root::Missing(why)) => {
                return skip(report, format!("a reply to {root_id}: {why}"))
            }
            // Imported before (by an earlier file, or an earlier part of this one).
            None => match hypothesis::annotation_id_of(root_id) {
                id if self.store.read_model.annotation(&id)?.is_some() => id,
                _ => {
                    return skip(
                        report,
                        format!(
                            "a reply to {root_id}, which is neither in the file nor imported \
                             before (import its root first)"
                        ),
                    )
                }
            },
        };
        let current = self.row(&annotation)?.annotation;
        let id = reply_id(&row.id);
        if current.replies.iter().any(|r| r.id == id) {
            report.already_imported += 1;
            return Ok(());
        }
        if current.deleted {
            return skip(report, format!("a reply to {root_id}, deleted on the desk"));
        }
        if row.text().is_empty() {
            return skip(report, "a reply without text".into());
        }
        // Under the nearest ancestor the thread has (the root itself: no parent).
        let parent = row.references[1..]
            .iter()
            .rev()
            .map(|r| reply_id(r))
            .find(|r| current.replies.iter().any(|x| &x.id == r));
        let reply = Reply {
            id,
            parent,
            creator: author(&row.user),
            created: row.created,
            text: with_account(row.text(), &row.user),
        };
        let edit = Edit::AddReply {
            id: annotation.clone(),
            reply,
        };
        match self
            .docs
            .edit_keyed(current.home_article(), actor, now(), edit, self.receipt())
            .await
        {
            Ok(written) => {
                self.receipt_logged();
                self.settle(written).await?;
                report.imported.replies += 1;
                Ok(())
            }
            // Another import added it since the check above.
            Err(DocError::Domain(_))
                if self
                    .row(&annotation)?
                    .annotation
                    .replies
                    .iter()
                    .any(|r| r.id == reply_id(&row.id)) =>
            {
                report.already_imported += 1;
                Ok(())
            }
            Err(DocError::Domain(refused)) => {
                skip(report, format!("refused by the desk: {refused}"))
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// Where a passage is in an article's text, by the anchoring new versions get: the text is
/// both the old and the new version, so the diff keeps every position and the search does the
/// work. Without a position, the passage is looked for from the start (distance weighs least).
fn place(
    text: &str,
    quote: &crate::domain::TextQuote,
    position: Option<TextPosition>,
) -> anchoring::Anchor {
    let indexed = IndexedText::new(text);
    let len = quote.exact.chars().count() as u64;
    let position = position.unwrap_or(TextPosition { start: 0, end: len });
    let base = Base {
        quote: quote.clone(),
        position: TextPosition {
            start: position.start.min(indexed.len()),
            end: position.end.min(indexed.len()),
        },
        resolved: false,
    };
    anchoring::reanchor(
        &VersionDiff::new(text, text, DiffBudget::STANDARD),
        &indexed,
        &base,
        None,
    )
}

/// The target of a passage with no place in the article: filed on `version` with the
/// selectors as Hypothesis wrote them, not checked against the text (ADR 0016). Hypothesis
/// writes a position with every quote; without one, the quote's length from the start, where
/// [`place`] looked for it.
fn as_written(article: &ArticleId, version: u32, passage: &hypothesis::Passage) -> Target {
    let len = passage.quote.exact.chars().count() as u64;
    Target {
        article: article.clone(),
        version,
        quote: passage.quote.clone(),
        position: passage
            .position
            .unwrap_or(TextPosition { start: 0, end: len }),
    }
}

/// The text with the Hypothesis account it came from on its last line.
fn with_account(text: &str, account: &str) -> String {
    let provenance = format!("— imported from Hypothesis, by {account}");
    if text.is_empty() {
        provenance
    } else {
        format!("{text}\n\n{provenance}")
    }
}
