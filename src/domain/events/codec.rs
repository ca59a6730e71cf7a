//! Domain events to and from the log's `(type, data)`: each variant of [`DomainEvent`] through
//! its version 1 payload in `payloads`, never through the domain's own serde.
//!
//! Both directions go family by family (see [`Family`]): one exhaustive match routes each type
//! to its family, and each family's pair of functions knows only its own payloads.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::payloads::*;
use super::{DomainEvent, EventError, EventType, FieldChange};
use crate::domain::Claimant;

/// The event types whose payloads are encoded and decoded together.
#[derive(Clone, Copy, Debug)]
enum Family {
    /// An article and its published versions.
    Article,
    /// Changes to an article's live document, and refused changes.
    Document,
    /// An annotation's creation, field updates and deletion.
    Annotation,
    /// The desk's review of an annotation: its status moves and the replies.
    Review,
    /// Where an annotation's targets were placed in a version.
    Anchoring,
    /// Claims, the style rules and the audit record of requests.
    Desk,
}

impl Family {
    /// The family a type belongs to; every type has exactly one.
    fn of(event_type: EventType) -> Self {
        use EventType as T;
        match event_type {
            T::ArticleCreated | T::ArticleVersionPublished => Family::Article,
            T::DocumentChanged | T::ChangeRejected => Family::Document,
            T::AnnotationCreated | T::AnnotationUpdated | T::AnnotationDeleted => {
                Family::Annotation
            }
            T::AnnotationStatusChanged | T::ReplyAdded => Family::Review,
            T::AnnotationAnchored | T::AnnotationReattached => Family::Anchoring,
            T::ClaimCreated
            | T::ClaimLinked
            | T::ClaimUnlinked
            | T::StyleRulesSet
            | T::RequestRecorded => Family::Desk,
        }
    }
}

/// Reached only if [`Family::of`] and a family's functions disagree about a type.
fn misrouted(family: Family, event_type: EventType) -> ! {
    unreachable!(
        "{} was routed to the {family:?} family",
        event_type.as_str()
    )
}

fn to_data(payload: impl Serialize) -> Value {
    serde_json::to_value(payload).expect("event payloads are plain data and serialise to JSON")
}

fn each<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

fn payload<T: DeserializeOwned>(event_type: EventType, data: &Value) -> Result<T, EventError> {
    T::deserialize(data).map_err(|source| EventError::Malformed { event_type, source })
}

/// The event's type and its payload.
pub(super) fn encode(event: DomainEvent) -> (EventType, Value) {
    let event_type = event.event_type();
    let data = match Family::of(event_type) {
        Family::Article => article_data(event),
        Family::Document => document_data(event),
        Family::Annotation => annotation_data(event),
        Family::Review => review_data(event),
        Family::Anchoring => anchoring_data(event),
        Family::Desk => desk_data(event),
    };
    (event_type, data)
}

/// The event a payload of a known type records.
pub(super) fn decode(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    match Family::of(event_type) {
        Family::Article => article_event(event_type, data),
        Family::Document => document_event(event_type, data),
        Family::Annotation => annotation_event(event_type, data),
        Family::Review => review_event(event_type, data),
        Family::Anchoring => anchoring_event(event_type, data),
        Family::Desk => desk_event(event_type, data),
    }
}

/// The payload of an article's creation or of a published version.
fn article_data(event: DomainEvent) -> Value {
    match event {
        DomainEvent::ArticleCreated {
            article,
            title,
            outlet,
            url,
            published,
            document_id,
        } => to_data(ArticleCreatedV1 {
            article,
            title,
            outlet,
            url,
            published,
            document_id,
        }),
        DomainEvent::ArticleVersionPublished {
            article,
            version,
            sha256,
            text,
        } => to_data(ArticleVersionPublishedV1 {
            article,
            version,
            sha256,
            text,
        }),
        other => misrouted(Family::Article, other.event_type()),
    }
}

/// The article event an article payload records.
fn article_event(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    Ok(match event_type {
        EventType::ArticleCreated => {
            let p: ArticleCreatedV1 = payload(event_type, data)?;
            DomainEvent::ArticleCreated {
                article: p.article,
                title: p.title,
                outlet: p.outlet,
                url: p.url,
                published: p.published,
                document_id: p.document_id,
            }
        }
        EventType::ArticleVersionPublished => {
            let p: ArticleVersionPublishedV1 = payload(event_type, data)?;
            DomainEvent::ArticleVersionPublished {
                article: p.article,
                version: p.version,
                sha256: p.sha256,
                text: p.text,
            }
        }
        other => misrouted(Family::Article, other),
    })
}

/// The payload of an accepted or a refused change to a live document.
fn document_data(event: DomainEvent) -> Value {
    match event {
        DomainEvent::DocumentChanged {
            article,
            hash,
            heads,
            actor,
            seq,
        } => to_data(DocumentChangedV1 {
            article,
            hash,
            heads,
            actor,
            seq,
        }),
        DomainEvent::ChangeRejected {
            article,
            key,
            user,
            reason,
            changes,
            restored,
        } => to_data(ChangeRejectedV1 {
            article,
            key,
            user,
            reason,
            changes,
            restored,
        }),
        other => misrouted(Family::Document, other.event_type()),
    }
}

/// The document event a document payload records.
fn document_event(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    Ok(match event_type {
        EventType::DocumentChanged => {
            let p: DocumentChangedV1 = payload(event_type, data)?;
            DomainEvent::DocumentChanged {
                article: p.article,
                hash: p.hash,
                heads: p.heads,
                actor: p.actor,
                seq: p.seq,
            }
        }
        EventType::ChangeRejected => {
            let p: ChangeRejectedV1 = payload(event_type, data)?;
            DomainEvent::ChangeRejected {
                article: p.article,
                key: p.key,
                user: p.user,
                reason: p.reason,
                changes: p.changes,
                restored: p.restored,
            }
        }
        other => misrouted(Family::Document, other),
    })
}

/// The payload of an annotation's creation, field update or deletion.
fn annotation_data(event: DomainEvent) -> Value {
    match event {
        DomainEvent::AnnotationCreated { annotation } => to_data(AnnotationCreatedV1 {
            annotation: annotation.into(),
        }),
        DomainEvent::AnnotationUpdated {
            id,
            article,
            changes,
            modified,
        } => to_data(AnnotationUpdatedV1 {
            id,
            article,
            changes: changes
                .into_iter()
                .map(|(name, FieldChange { before, after })| {
                    (name, FieldChangeV1 { before, after })
                })
                .collect(),
            modified,
        }),
        DomainEvent::AnnotationDeleted {
            id,
            article,
            modified,
        } => to_data(AnnotationDeletedV1 {
            id,
            article,
            modified,
        }),
        other => misrouted(Family::Annotation, other.event_type()),
    }
}

/// The annotation event an annotation payload records.
fn annotation_event(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    Ok(match event_type {
        EventType::AnnotationCreated => {
            let p: AnnotationCreatedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationCreated {
                annotation: p.annotation.into(),
            }
        }
        EventType::AnnotationUpdated => {
            let p: AnnotationUpdatedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationUpdated {
                id: p.id,
                article: p.article,
                changes: p
                    .changes
                    .into_iter()
                    .map(|(name, FieldChangeV1 { before, after })| {
                        (name, FieldChange { before, after })
                    })
                    .collect(),
                modified: p.modified,
            }
        }
        EventType::AnnotationDeleted => {
            let p: AnnotationDeletedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationDeleted {
                id: p.id,
                article: p.article,
                modified: p.modified,
            }
        }
        other => misrouted(Family::Annotation, other),
    })
}

/// The payload of a status move or a reply.
fn review_data(event: DomainEvent) -> Value {
    match event {
        DomainEvent::AnnotationStatusChanged {
            id,
            article,
            from,
            to,
            modified,
        } => to_data(AnnotationStatusChangedV1 {
            id,
            article,
            from: from.into(),
            to: to.into(),
            modified,
        }),
        DomainEvent::ReplyAdded {
            id,
            article,
            reply,
            modified,
        } => to_data(ReplyAddedV1 {
            id,
            article,
            reply: reply.into(),
            modified,
        }),
        other => misrouted(Family::Review, other.event_type()),
    }
}

/// The review event a review payload records.
fn review_event(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    Ok(match event_type {
        EventType::AnnotationStatusChanged => {
            let p: AnnotationStatusChangedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationStatusChanged {
                id: p.id,
                article: p.article,
                from: p.from.into(),
                to: p.to.into(),
                modified: p.modified,
            }
        }
        EventType::ReplyAdded => {
            let p: ReplyAddedV1 = payload(event_type, data)?;
            DomainEvent::ReplyAdded {
                id: p.id,
                article: p.article,
                reply: p.reply.into(),
                modified: p.modified,
            }
        }
        other => misrouted(Family::Review, other),
    })
}

/// The payload of a placement by the server or of a re-attachment by a person.
fn anchoring_data(event: DomainEvent) -> Value {
    match event {
        DomainEvent::AnnotationAnchored {
            id,
            article,
            version,
            anchors,
        } => to_data(AnnotationAnchoredV1 {
            id,
            article,
            version,
            anchors: each(anchors),
        }),
        DomainEvent::AnnotationReattached {
            id,
            article,
            version,
            target,
            quote,
            position,
        } => to_data(AnnotationReattachedV1 {
            id,
            article,
            version,
            target,
            quote: quote.into(),
            position: position.into(),
        }),
        other => misrouted(Family::Anchoring, other.event_type()),
    }
}

/// The anchoring event an anchoring payload records.
fn anchoring_event(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    Ok(match event_type {
        EventType::AnnotationAnchored => {
            let p: AnnotationAnchoredV1 = payload(event_type, data)?;
            DomainEvent::AnnotationAnchored {
                id: p.id,
                article: p.article,
                version: p.version,
                anchors: each(p.anchors),
            }
        }
        EventType::AnnotationReattached => {
            let p: AnnotationReattachedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationReattached {
                id: p.id,
                article: p.article,
                version: p.version,
                target: p.target,
                quote: p.quote.into(),
                position: p.position.into(),
            }
        }
        other => misrouted(Family::Anchoring, other),
    })
}

/// The payload of a claim event, of new style rules or of a recorded request.
fn desk_data(event: DomainEvent) -> Value {
    match event {
        DomainEvent::ClaimCreated {
            claim,
            text,
            claimant,
            date,
        } => {
            let (claimant, claimant_url, claimant_type) = match claimant {
                Some(Claimant { name, url, kind }) => (Some(name), url, kind.map(Into::into)),
                None => (None, None, None),
            };
            to_data(ClaimCreatedV1 {
                claim,
                text,
                claimant,
                claimant_url,
                claimant_type,
                claim_date: date,
            })
        }
        DomainEvent::ClaimLinked { claim, annotation }
        | DomainEvent::ClaimUnlinked { claim, annotation } => {
            to_data(ClaimLinkV1 { claim, annotation })
        }
        DomainEvent::StyleRulesSet { rules } => to_data(StyleRulesSetV1 { rules: each(rules) }),
        DomainEvent::RequestRecorded {
            method,
            path,
            body_sha256,
            subject,
        } => to_data(RequestRecordedV1 {
            method,
            path,
            body_sha256,
            subject,
        }),
        other => misrouted(Family::Desk, other.event_type()),
    }
}

/// The desk event a desk payload records; a link and an unlink share one payload and differ
/// only in their type.
fn desk_event(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    use EventType as T;
    Ok(match event_type {
        T::ClaimCreated => {
            let p: ClaimCreatedV1 = payload(event_type, data)?;
            DomainEvent::ClaimCreated {
                claim: p.claim,
                text: p.text,
                claimant: p.claimant.map(|name| Claimant {
                    name,
                    url: p.claimant_url,
                    kind: p.claimant_type.map(Into::into),
                }),
                date: p.claim_date,
            }
        }
        T::ClaimLinked | T::ClaimUnlinked => {
            let ClaimLinkV1 { claim, annotation } = payload(event_type, data)?;
            if event_type == T::ClaimLinked {
                DomainEvent::ClaimLinked { claim, annotation }
            } else {
                DomainEvent::ClaimUnlinked { claim, annotation }
            }
        }
        T::StyleRulesSet => {
            let p: StyleRulesSetV1 = payload(event_type, data)?;
            DomainEvent::StyleRulesSet {
                rules: each(p.rules),
            }
        }
        T::RequestRecorded => {
            let p: RequestRecordedV1 = payload(event_type, data)?;
            DomainEvent::RequestRecorded {
                method: p.method,
                path: p.path,
                body_sha256: p.body_sha256,
                subject: p.subject,
            }
        }
        other => misrouted(Family::Desk, other),
    })
}
