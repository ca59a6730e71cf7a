//! The annotation aggregate: what the desk says about a passage, and the rules it must keep.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    AnnotationId, ArticleId, ClaimOrigin, DomainError, EditLabel, Kind, ReplyId, Status,
    TextPosition, TextQuote, UserName, Verdict,
};

/// Upper bounds on user content, so one annotation cannot swamp a document.
#[derive(Clone, Copy, Debug)]
pub struct ContentLimits {
    pub max_body_chars: usize,
    pub max_targets: usize,
    pub max_tags: usize,
    pub max_sources: usize,
    /// Annotations an article's document may hold (deleted ones count: they stay in it).
    pub max_annotations_per_article: usize,
}

impl Default for ContentLimits {
    fn default() -> Self {
        Self {
            max_body_chars: 20_000,
            max_targets: 16,
            max_tags: 32,
            max_sources: 32,
            max_annotations_per_article: 5_000,
        }
    }
}

/// A passage of one version of an article.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub article: ArticleId,
    /// The article version the selectors were made on (1-based).
    pub version: u32,
    pub quote: TextQuote,
    pub position: TextPosition,
}

/// A piece of evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// An archived copy of the page, as fact-checkers keep in case the original changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<String>,
}

/// One message in an annotation's thread; `parent` makes threads nest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub id: ReplyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ReplyId>,
    pub creator: UserName,
    pub created: DateTime<Utc>,
    pub text: String,
}

/// The current state of an annotation, as folded from its events or read from its document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    pub id: AnnotationId,
    pub kind: Kind,
    /// The note: collaborative text.
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// For a correction: the text that should replace the quoted passage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_label: Option<EditLabel>,
    /// For a fact-check: who made the claim, when, and the claim in a line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Box<ClaimOrigin>>,
    #[serde(default)]
    pub sources: Vec<Source>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<UserName>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub targets: Vec<Target>,
    pub creator: UserName,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    #[serde(default)]
    pub replies: Vec<Reply>,
    #[serde(default)]
    pub deleted: bool,
    /// W3C `canonical`: set once by the creator, never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// W3C `via`: where this annotation came from (the id a client proposed, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// The user-editable content of an annotation, with targets already checked against the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    pub kind: Kind,
    pub body: String,
    pub verdict: Option<Verdict>,
    pub suggestion: Option<String>,
    pub edit_label: Option<EditLabel>,
    pub claim: Option<Box<ClaimOrigin>>,
    pub sources: Vec<Source>,
    pub tags: Vec<String>,
    pub targets: Vec<Target>,
}

impl Annotation {
    /// The article whose document holds this annotation: that of its first target.
    pub fn home_article(&self) -> &ArticleId {
        &self.targets[0].article
    }

    /// Every article this annotation is indexed under, first target first, without repeats.
    pub fn articles(&self) -> Vec<&ArticleId> {
        let mut seen: Vec<&ArticleId> = Vec::new();
        for target in &self.targets {
            if !seen.contains(&&target.article) {
                seen.push(&target.article);
            }
        }
        seen
    }

    pub fn content(&self) -> Content {
        Content {
            kind: self.kind,
            body: self.body.clone(),
            verdict: self.verdict,
            suggestion: self.suggestion.clone(),
            edit_label: self.edit_label,
            claim: self.claim.clone(),
            sources: self.sources.clone(),
            tags: self.tags.clone(),
            targets: self.targets.clone(),
        }
    }

    pub fn set_content(&mut self, content: Content) {
        self.kind = content.kind;
        self.body = content.body;
        self.verdict = content.verdict;
        self.suggestion = content.suggestion;
        self.edit_label = content.edit_label;
        self.claim = content.claim;
        self.sources = content.sources;
        self.tags = content.tags;
        self.targets = content.targets;
    }

    /// Checks every rule an annotation must keep, whichever path changed it.
    pub fn check(&self, limits: &ContentLimits) -> Result<(), DomainError> {
        self.content().check(limits)?;
        for reply in &self.replies {
            if reply.text.trim().is_empty() {
                return Err(DomainError::invalid("reply", "a reply needs some text"));
            }
            if reply.text.chars().count() > limits.max_body_chars {
                return Err(DomainError::invalid(
                    "reply",
                    format!("a reply is limited to {} characters", limits.max_body_chars),
                ));
            }
            if let Some(parent) = &reply.parent {
                if !self.replies.iter().any(|r| &r.id == parent) {
                    return Err(DomainError::invalid(
                        "reply",
                        format!(
                            "reply {} answers {parent}, which is not in this thread",
                            reply.id
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Content {
    /// The rules of each kind: a fact-check has a verdict, a correction a suggested text and a
    /// label, a contradiction passages in two or more articles; nothing else carries those.
    pub fn check(&self, limits: &ContentLimits) -> Result<(), DomainError> {
        self.check_verdict()?;
        self.check_claim()?;
        self.check_correction()?;
        self.check_targets(limits)?;
        self.check_extras(limits)
    }

    /// Fact-checks, and only they, carry a verdict.
    fn check_verdict(&self) -> Result<(), DomainError> {
        match (self.kind, self.verdict) {
            (Kind::FactCheck, None) => Err(DomainError::invalid(
                "verdict",
                "a fact-check needs a verdict: true, mostly-true, mixed, mostly-false, false, misleading or unverifiable",
            )),
            (Kind::FactCheck, Some(_)) | (_, None) => Ok(()),
            (kind, Some(_)) => Err(DomainError::invalid(
                "verdict",
                format!("only fact-checks carry a verdict, and this annotation is a {kind}"),
            )),
        }
    }

    /// Fact-checks, and only they, say who made the claim, when, and the claim in a line.
    fn check_claim(&self) -> Result<(), DomainError> {
        let Some(claim) = &self.claim else {
            return Ok(());
        };
        if self.kind != Kind::FactCheck {
            return Err(DomainError::invalid(
                "claimant",
                format!(
                    "only fact-checks carry a claimant, a claim date or a claim summary, and this annotation is a {}",
                    self.kind
                ),
            ));
        }
        claim.check()
    }

    /// Corrections, and only they, carry a suggested text and a label, and need both.
    fn check_correction(&self) -> Result<(), DomainError> {
        if self.kind == Kind::Correction {
            if self.suggestion.is_none() {
                return Err(DomainError::invalid(
                    "suggestion",
                    "a correction needs the suggested text: a TextualBody with purpose \"editing\"",
                ));
            }
            if self.edit_label.is_none() {
                return Err(DomainError::invalid(
                    "editLabel",
                    "a correction needs a label: correction, clarification or update",
                ));
            }
        } else if self.suggestion.is_some() || self.edit_label.is_some() {
            return Err(DomainError::invalid(
                "suggestion",
                format!(
                    "only corrections carry a suggested text and a label, and this annotation is a {}",
                    self.kind
                ),
            ));
        }
        Ok(())
    }

    /// One target at least and no more than the limit; contradictions span two or more
    /// articles, every other kind exactly one.
    fn check_targets(&self, limits: &ContentLimits) -> Result<(), DomainError> {
        if self.targets.is_empty() {
            return Err(DomainError::invalid(
                "target",
                "an annotation needs at least one target passage",
            ));
        }
        if self.targets.len() > limits.max_targets {
            return Err(DomainError::invalid(
                "target",
                format!("an annotation is limited to {} targets", limits.max_targets),
            ));
        }
        let mut articles: Vec<&ArticleId> = self.targets.iter().map(|t| &t.article).collect();
        articles.dedup();
        articles.sort();
        articles.dedup();
        if self.kind == Kind::Contradiction && articles.len() < 2 {
            return Err(DomainError::invalid(
                "target",
                "a contradiction links passages in two or more articles; give a target in each",
            ));
        }
        if self.kind != Kind::Contradiction && articles.len() > 1 {
            return Err(DomainError::invalid(
                "target",
                "only contradictions target several articles; annotate each article separately",
            ));
        }
        Ok(())
    }

    /// The note, tags and sources stay within the limits; each tag has 1 to 64 characters and
    /// each source is a link.
    fn check_extras(&self, limits: &ContentLimits) -> Result<(), DomainError> {
        if self.body.chars().count() > limits.max_body_chars {
            return Err(DomainError::invalid(
                "body",
                format!(
                    "the note is limited to {} characters",
                    limits.max_body_chars
                ),
            ));
        }
        if self.tags.len() > limits.max_tags {
            return Err(DomainError::invalid(
                "tags",
                format!("an annotation is limited to {} tags", limits.max_tags),
            ));
        }
        if let Some(tag) = self
            .tags
            .iter()
            .find(|t| t.trim().is_empty() || t.chars().count() > 64)
        {
            return Err(DomainError::invalid(
                "tags",
                format!("the tag {tag:?} must have 1 to 64 characters"),
            ));
        }
        if self.sources.len() > limits.max_sources {
            return Err(DomainError::invalid(
                "sources",
                format!("an annotation is limited to {} sources", limits.max_sources),
            ));
        }
        for source in &self.sources {
            check_link("sources.url", &source.url)?;
            if let Some(archived) = &source.archived {
                check_link("sources.archived", archived)?;
            }
        }
        Ok(())
    }
}

/// Evidence links are absolute http(s) URLs, or a path to an article on this desk.
fn check_link(field: &'static str, url: &str) -> Result<(), DomainError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
        && url.len() <= 2048
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            format!("{url:?} is not a link: use an absolute http(s) URL or a path such as /articles/<id>"),
        ))
    }
}
