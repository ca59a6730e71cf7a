//! Domain events: facts in the past tense, each with a stable type name and a schema version.
//!
//! A shipped event shape is never edited: a new field is optional, anything else is a new type.
//! The CRDT change itself travels as the `document.changed` event; the semantic events next to
//! it are derived by comparing the annotation before and after the change, so REST writes and
//! sync changes produce the same history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::anchoring::Anchor;
use super::{Annotation, AnnotationId, ArticleId, ClaimId, Reply, Status, TextPosition, TextQuote};

/// Schema version written with every event of this release.
pub const SCHEMA_VERSION: u16 = 1;

/// One field's value before and after an update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub before: Value,
    pub after: Value,
}

/// An event as the domain knows it. `type` is the event type name and `data` its payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    #[serde(rename = "article.created")]
    ArticleCreated {
        article: ArticleId,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        outlet: Option<String>,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        published: Option<String>,
        /// The automerge-repo document id (bs58check) of the article's annotations.
        document_id: String,
    },
    #[serde(rename = "article.version_published")]
    ArticleVersionPublished {
        article: ArticleId,
        version: u32,
        sha256: String,
        text: String,
    },
    /// One Automerge change to an article's document; the change bytes ride beside the data.
    #[serde(rename = "document.changed")]
    DocumentChanged {
        article: ArticleId,
        hash: String,
        /// Document heads after the change: the handle for time travel.
        heads: Vec<String>,
        actor: String,
        seq: u64,
    },
    #[serde(rename = "annotation.created")]
    AnnotationCreated { annotation: Annotation },
    #[serde(rename = "annotation.updated")]
    AnnotationUpdated {
        id: AnnotationId,
        article: ArticleId,
        /// Changed fields by name (`body`, `verdict`, `targets`…), with their old and new values.
        changes: BTreeMap<String, FieldChange>,
        modified: DateTime<Utc>,
    },
    #[serde(rename = "annotation.status_changed")]
    AnnotationStatusChanged {
        id: AnnotationId,
        article: ArticleId,
        from: Status,
        to: Status,
        modified: DateTime<Utc>,
    },
    #[serde(rename = "reply.added")]
    ReplyAdded {
        id: AnnotationId,
        article: ArticleId,
        reply: Reply,
        modified: DateTime<Utc>,
    },
    #[serde(rename = "annotation.deleted")]
    AnnotationDeleted {
        id: AnnotationId,
        article: ArticleId,
        modified: DateTime<Utc>,
    },
    /// Where an annotation's targets on `article` are in that article's version `version`,
    /// computed when the version was published. The original selectors are never changed.
    #[serde(rename = "annotation.anchored")]
    AnnotationAnchored {
        id: AnnotationId,
        article: ArticleId,
        version: u32,
        anchors: Vec<TargetAnchor>,
    },
    /// A person placed an annotation's target in a version (an orphaned or ambiguous one, or a
    /// correction of the server's placement).
    #[serde(rename = "annotation.reattached")]
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
    #[serde(rename = "claim.created")]
    ClaimCreated {
        claim: ClaimId,
        /// The claim, briefly, as ClaimReview's `claimReviewed`.
        text: String,
        /// Who made the claim, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claimant: Option<String>,
    },
    #[serde(rename = "claim.linked")]
    ClaimLinked {
        claim: ClaimId,
        annotation: AnnotationId,
    },
    #[serde(rename = "claim.unlinked")]
    ClaimUnlinked {
        claim: ClaimId,
        annotation: AnnotationId,
    },
    /// The desk-wide term list: variants and the house spelling each should become.
    #[serde(rename = "style.rules_set")]
    StyleRulesSet { rules: Vec<StyleRule> },
    /// A request sent with an `Idempotency-Key` wrote: appended with its first write, so a
    /// retry is recognised (see `idempotency`). The key itself is not stored; the event's id
    /// is derived from it and the user.
    #[serde(rename = "request.recorded")]
    RequestRecorded {
        method: String,
        path: String,
        /// SHA-256 (hex) of the request body exactly as sent.
        body_sha256: String,
        /// The stream the request wrote (`annotation-<id>` for a new annotation, say).
        subject: String,
    },
    /// A sync client's change broke the document's rules; the server compensated it.
    #[serde(rename = "change.rejected")]
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restored: Option<Vec<String>>,
    },
}

/// Where one target (by index) is in one article version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetAnchor {
    pub target: usize,
    #[serde(flatten)]
    pub anchor: Anchor,
}

/// One entry of the desk's term list: occurrences of `variants` are flagged with a tag
/// annotation suggesting `preferred`. Matching is case-sensitive and on whole words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StyleRule {
    /// A short slug, used as the tag on the annotations the rule makes.
    pub id: String,
    pub preferred: String,
    pub variants: Vec<String>,
}

/// Fields whose changes get their own event type, or that no update touches.
const NOT_IN_UPDATES: [&str; 5] = ["status", "replies", "deleted", "modified", "id"];

impl DomainEvent {
    /// Every event type this version understands.
    pub const TYPES: [&'static str; 16] = [
        "article.created",
        "article.version_published",
        "document.changed",
        "annotation.created",
        "annotation.updated",
        "annotation.status_changed",
        "reply.added",
        "annotation.deleted",
        "change.rejected",
        "annotation.anchored",
        "annotation.reattached",
        "claim.created",
        "claim.linked",
        "claim.unlinked",
        "style.rules_set",
        "request.recorded",
    ];

    /// The event type name, e.g. `annotation.created`.
    pub fn type_name(&self) -> &'static str {
        match self {
            DomainEvent::ArticleCreated { .. } => "article.created",
            DomainEvent::ArticleVersionPublished { .. } => "article.version_published",
            DomainEvent::DocumentChanged { .. } => "document.changed",
            DomainEvent::AnnotationCreated { .. } => "annotation.created",
            DomainEvent::AnnotationUpdated { .. } => "annotation.updated",
            DomainEvent::AnnotationStatusChanged { .. } => "annotation.status_changed",
            DomainEvent::ReplyAdded { .. } => "reply.added",
            DomainEvent::AnnotationDeleted { .. } => "annotation.deleted",
            DomainEvent::ChangeRejected { .. } => "change.rejected",
            DomainEvent::AnnotationAnchored { .. } => "annotation.anchored",
            DomainEvent::AnnotationReattached { .. } => "annotation.reattached",
            DomainEvent::ClaimCreated { .. } => "claim.created",
            DomainEvent::ClaimLinked { .. } => "claim.linked",
            DomainEvent::ClaimUnlinked { .. } => "claim.unlinked",
            DomainEvent::StyleRulesSet { .. } => "style.rules_set",
            DomainEvent::RequestRecorded { .. } => "request.recorded",
        }
    }

    /// Splits the event into its type name and JSON payload.
    pub fn into_parts(self) -> (String, Value) {
        let value = serde_json::to_value(&self).expect("domain events serialise to JSON");
        let Value::Object(mut map) = value else {
            unreachable!("adjacently tagged enums serialise to objects")
        };
        let data = map.remove("data").unwrap_or(Value::Null);
        (self.type_name().to_owned(), data)
    }

    /// Rebuilds an event from its type name and payload, as stored in the log.
    pub fn from_parts(event_type: &str, data: &Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "type": event_type, "data": data }))
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

/// The semantic events that take an annotation from `before` to `after`.
pub fn derive_events(before: Option<&Annotation>, after: &Annotation) -> Vec<DomainEvent> {
    let Some(before) = before else {
        return vec![DomainEvent::AnnotationCreated {
            annotation: after.clone(),
        }];
    };
    let id = after.id.clone();
    let article = after.home_article().clone();
    let mut events = Vec::new();
    let changes = field_changes(before, after);
    if !changes.is_empty() {
        events.push(DomainEvent::AnnotationUpdated {
            id: id.clone(),
            article: article.clone(),
            changes,
            modified: after.modified,
        });
    }
    if before.status != after.status {
        events.push(DomainEvent::AnnotationStatusChanged {
            id: id.clone(),
            article: article.clone(),
            from: before.status,
            to: after.status,
            modified: after.modified,
        });
    }
    for reply in &after.replies {
        if !before.replies.iter().any(|r| r.id == reply.id) {
            events.push(DomainEvent::ReplyAdded {
                id: id.clone(),
                article: article.clone(),
                reply: reply.clone(),
                modified: after.modified,
            });
        }
    }
    if after.deleted && !before.deleted {
        events.push(DomainEvent::AnnotationDeleted {
            id,
            article,
            modified: after.modified,
        });
    }
    events
}

fn as_fields(annotation: &Annotation) -> serde_json::Map<String, Value> {
    match serde_json::to_value(annotation) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("annotations serialise to objects"),
    }
}

fn field_changes(before: &Annotation, after: &Annotation) -> BTreeMap<String, FieldChange> {
    let (old, new) = (as_fields(before), as_fields(after));
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| !NOT_IN_UPDATES.contains(&name.as_str()))
        .filter_map(|name| {
            let before = old.get(name).cloned().unwrap_or(Value::Null);
            let after = new.get(name).cloned().unwrap_or(Value::Null);
            (before != after).then(|| (name.clone(), FieldChange { before, after }))
        })
        .collect()
}

/// Folds one event into the state of the annotation it concerns.
pub fn apply(state: Option<Annotation>, event: &DomainEvent) -> Option<Annotation> {
    match event {
        DomainEvent::AnnotationCreated { annotation } => Some(annotation.clone()),
        DomainEvent::AnnotationUpdated {
            changes, modified, ..
        } => state.map(|annotation| {
            let mut fields = as_fields(&annotation);
            for (name, change) in changes {
                if change.after.is_null() {
                    fields.remove(name);
                } else {
                    fields.insert(name.clone(), change.after.clone());
                }
            }
            let mut next: Annotation =
                serde_json::from_value(Value::Object(fields)).unwrap_or(annotation);
            next.modified = *modified;
            next
        }),
        DomainEvent::AnnotationStatusChanged { to, modified, .. } => state.map(|mut a| {
            a.status = *to;
            a.modified = *modified;
            a
        }),
        DomainEvent::ReplyAdded {
            reply, modified, ..
        } => state.map(|mut a| {
            a.replies.push(reply.clone());
            a.modified = *modified;
            a
        }),
        DomainEvent::AnnotationDeleted { modified, .. } => state.map(|mut a| {
            a.deleted = true;
            a.modified = *modified;
            a
        }),
        _ => state,
    }
}
