//! Domain events: facts in the past tense, each with a stable type name and a schema version.
//!
//! [`DomainEvent`] is the events as the domain knows them, with the domain's types. What the
//! log holds is something else: each type's version 1 payload (`payloads`, with the shapes it
//! nests in `shapes` and the words in `words`), converted by `codec`. So the domain's structs can
//! change without changing a shipped event, and a change that would is a compile error in the
//! conversions. `types` is the one list of type names; `derive` compares an annotation before
//! and after a change to find its semantic events, so REST writes and sync changes produce the
//! same history; `fold` applies them.
//!
//! A shipped event shape is never edited: a new field is optional, anything else is a new type.
//! The CRDT change itself travels as the `document.changed` event.

mod codec;
mod derive;
mod fold;
mod payloads;
mod shapes;
mod types;
mod words;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::anchoring::Anchor;
use super::{
    Annotation, AnnotationId, ArticleId, ClaimId, Claimant, Reply, Status, TextPosition, TextQuote,
};

pub use derive::derive_events;
pub use fold::apply;
pub use types::EventType;

/// Schema version written with every event of this release: the version of each type's
/// payload in `payloads`.
pub const SCHEMA_VERSION: u16 = 1;

/// Why a stored event could not be read, or could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// A type this version does not know: callers that can skip it (projections) check
    /// [`EventType::parse`] first.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// The payload of a known type does not have that type's shape.
    #[error("a {event_type} event whose data does not fit its type: {source}")]
    Malformed {
        event_type: EventType,
        #[source]
        source: serde_json::Error,
    },
    /// An event about an annotation that does not exist at that point of the log.
    #[error("a {event_type} event for annotation {id}, which was never created")]
    NoSuchAnnotation {
        event_type: EventType,
        id: AnnotationId,
    },
    /// An `annotation.updated` whose changes do not give a valid annotation.
    #[error("the changes of an annotation.updated event do not fit annotation {id}: {source}")]
    UpdateDoesNotFit {
        id: AnnotationId,
        #[source]
        source: serde_json::Error,
    },
}

/// One field's value before and after an update, as the log carries it (`null` = absent).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    pub before: Value,
    pub after: Value,
}

/// An event as the domain knows it; [`DomainEvent::into_parts`] gives its type and payload.
#[derive(Clone, Debug, PartialEq)]
pub enum DomainEvent {
    ArticleCreated {
        article: ArticleId,
        title: Option<String>,
        outlet: Option<String>,
        url: Option<String>,
        published: Option<String>,
        /// The automerge-repo document id (bs58check) of the article's annotations.
        document_id: String,
    },
    ArticleVersionPublished {
        article: ArticleId,
        version: u32,
        sha256: String,
        text: String,
    },
    /// One Automerge change to an article's document; the change bytes ride beside the data.
    DocumentChanged {
        article: ArticleId,
        hash: String,
        /// Document heads after the change: the handle for time travel.
        heads: Vec<String>,
        actor: String,
        seq: u64,
    },
    AnnotationCreated {
        annotation: Annotation,
    },
    AnnotationUpdated {
        id: AnnotationId,
        article: ArticleId,
        /// Changed fields by name (`body`, `verdict`, `targets`…), with their old and new values.
        changes: BTreeMap<String, FieldChange>,
        modified: DateTime<Utc>,
    },
    AnnotationStatusChanged {
        id: AnnotationId,
        article: ArticleId,
        from: Status,
        to: Status,
        modified: DateTime<Utc>,
    },
    ReplyAdded {
        id: AnnotationId,
        article: ArticleId,
        reply: Reply,
        modified: DateTime<Utc>,
    },
    AnnotationDeleted {
        id: AnnotationId,
        article: ArticleId,
        modified: DateTime<Utc>,
    },
    /// Where an annotation's targets on `article` are in that article's version `version`,
    /// computed when the version was published. The original selectors are never changed.
    AnnotationAnchored {
        id: AnnotationId,
        article: ArticleId,
        version: u32,
        anchors: Vec<TargetAnchor>,
    },
    /// A person placed an annotation's target in a version (an orphaned or ambiguous one, or a
    /// correction of the server's placement).
    AnnotationReattached {
        id: AnnotationId,
        article: ArticleId,
        version: u32,
        /// Index of the target in the annotation's `targets`.
        target: usize,
        quote: TextQuote,
        position: TextPosition,
    },
    /// A claim: one statement that fact-checks and passages across articles are about.
    ClaimCreated {
        claim: ClaimId,
        /// The claim, briefly, as ClaimReview's `claimReviewed`.
        text: String,
        /// Who made the claim, if known (its URL and type were added after release 1).
        claimant: Option<Claimant>,
        /// When the claim was made (`YYYY-MM-DD` or RFC 3339; added after release 1).
        date: Option<String>,
    },
    ClaimLinked {
        claim: ClaimId,
        annotation: AnnotationId,
    },
    ClaimUnlinked {
        claim: ClaimId,
        annotation: AnnotationId,
    },
    /// The desk-wide term list: variants and the house spelling each should become.
    StyleRulesSet {
        rules: Vec<StyleRule>,
    },
    /// A request sent with an `Idempotency-Key` wrote: appended with its first write, so a
    /// retry is recognised (see `idempotency`). The key itself is not stored; the event's id
    /// is derived from it and the user.
    RequestRecorded {
        method: String,
        path: String,
        /// SHA-256 (hex) of the request body exactly as sent.
        body_sha256: String,
        /// The stream the request wrote (`annotation-<id>` for a new annotation, say).
        subject: String,
    },
    /// A sync client's change broke the document's rules; the server compensated it.
    ChangeRejected {
        article: ArticleId,
        /// The key under `annotations` the change touched (not necessarily a valid id).
        key: String,
        /// Who made the change.
        user: String,
        reason: String,
        /// Hashes of the rejected changes.
        changes: Vec<String>,
        /// The fields given back their last valid values, when only some were; absent when
        /// the entry was removed (a new annotation) or written afresh as a whole.
        restored: Option<Vec<String>>,
    },
}

/// Where one target (by index) is in one article version. Its serde is the read model's; the
/// log carries it as `shapes::TargetAnchorV1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetAnchor {
    pub target: usize,
    #[serde(flatten)]
    pub anchor: Anchor,
}

/// One entry of the desk's term list: occurrences of `variants` are flagged with a tag
/// annotation suggesting `preferred`. Matching is case-sensitive and on whole words. Its serde
/// is the API's and the read model's; the log carries it as `shapes::StyleRuleV1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StyleRule {
    /// A short slug, used as the tag on the annotations the rule makes.
    pub id: String,
    pub preferred: String,
    pub variants: Vec<String>,
}

impl DomainEvent {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        match self {
            DomainEvent::ArticleCreated { .. } => EventType::ArticleCreated,
            DomainEvent::ArticleVersionPublished { .. } => EventType::ArticleVersionPublished,
            DomainEvent::DocumentChanged { .. } => EventType::DocumentChanged,
            DomainEvent::AnnotationCreated { .. } => EventType::AnnotationCreated,
            DomainEvent::AnnotationUpdated { .. } => EventType::AnnotationUpdated,
            DomainEvent::AnnotationStatusChanged { .. } => EventType::AnnotationStatusChanged,
            DomainEvent::ReplyAdded { .. } => EventType::ReplyAdded,
            DomainEvent::AnnotationDeleted { .. } => EventType::AnnotationDeleted,
            DomainEvent::ChangeRejected { .. } => EventType::ChangeRejected,
            DomainEvent::AnnotationAnchored { .. } => EventType::AnnotationAnchored,
            DomainEvent::AnnotationReattached { .. } => EventType::AnnotationReattached,
            DomainEvent::ClaimCreated { .. } => EventType::ClaimCreated,
            DomainEvent::ClaimLinked { .. } => EventType::ClaimLinked,
            DomainEvent::ClaimUnlinked { .. } => EventType::ClaimUnlinked,
            DomainEvent::StyleRulesSet { .. } => EventType::StyleRulesSet,
            DomainEvent::RequestRecorded { .. } => EventType::RequestRecorded,
        }
    }

    /// The event type name, e.g. `annotation.created`.
    pub fn type_name(&self) -> &'static str {
        self.event_type().as_str()
    }

    /// Splits the event into its type name and its payload, as the log stores them.
    pub fn into_parts(self) -> (String, Value) {
        let (event_type, data) = codec::encode(self);
        (event_type.as_str().to_owned(), data)
    }

    /// Rebuilds an event from its type name and payload, as stored in the log.
    pub fn from_parts(event_type: &str, data: &Value) -> Result<Self, EventError> {
        let known = EventType::parse(event_type)
            .ok_or_else(|| EventError::UnknownType(event_type.to_owned()))?;
        Self::decode(known, data)
    }

    /// Rebuilds an event of a known type from its payload.
    pub fn decode(event_type: EventType, data: &Value) -> Result<Self, EventError> {
        codec::decode(event_type, data)
    }

    /// The annotation this event is about, if any.
    pub fn annotation_id(&self) -> Option<&AnnotationId> {
        match self {
            DomainEvent::AnnotationCreated { annotation } => Some(&annotation.id),
            DomainEvent::AnnotationUpdated { id, .. }
            | DomainEvent::AnnotationStatusChanged { id, .. }
            | DomainEvent::ReplyAdded { id, .. }
            | DomainEvent::AnnotationDeleted { id, .. }
            | DomainEvent::AnnotationAnchored { id, .. }
            | DomainEvent::AnnotationReattached { id, .. } => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
