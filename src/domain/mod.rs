//! The annotation desk's domain: articles, annotations, their rules and their events.
//!
//! Pure code: no IO, no sled, no actix, no tokio. Time and ids come in as arguments, so every
//! rule can be tested given/when/then without a server.

pub mod anchoring;
mod annotation;
mod claim_origin;
pub mod commands;
mod events;
pub mod idempotency;
mod ids;
mod text;
mod vocab;

pub use annotation::{Annotation, Content, ContentLimits, Reply, Source, Target};
pub use claim_origin::{
    ClaimOrigin, Claimant, ClaimantType, MAX_SUMMARY_CHARS, RECOMMENDED_SUMMARY_CHARS,
};
pub use events::{
    apply, derive_events, DomainEvent, EventError, EventType, FieldChange, StyleRule, TargetAnchor,
    SCHEMA_VERSION,
};
pub use ids::{
    AnnotationId, ArticleId, ClaimId, EventId, ReplyId, StreamId, UserName, MAX_SLUG_LEN,
};
pub use text::{
    normalise, require_text, sha256_hex, IndexedText, SelectorMismatch, TextPosition, TextQuote,
};
pub use vocab::{EditLabel, Kind, Status, Verdict, W3C_MOTIVATIONS};

/// Why the domain refused something. Each variant's doc names the HTTP status it becomes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value breaks a rule (422): the field and a message a person can act on.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A selector does not fit the article text (422).
    #[error("{0}")]
    Selector(String),
    /// The annotation was deleted (410).
    #[error("annotation {0} was deleted")]
    Deleted(AnnotationId),
    /// A value that must never change was changed (409).
    #[error("cannot change {0}")]
    Immutable(&'static str),
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<SelectorMismatch> for DomainError {
    fn from(mismatch: SelectorMismatch) -> Self {
        Self::Selector(mismatch.0)
    }
}

#[cfg(test)]
mod tests;
