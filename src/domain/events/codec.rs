//! Domain events to and from the log's `(type, data)`: each variant of [`DomainEvent`] through
//! its version 1 payload in `payloads`, never through the domain's own serde.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::payloads::*;
use super::{DomainEvent, EventError, EventType, FieldChange};

fn to_data(payload: impl Serialize) -> Value {
    serde_json::to_value(payload).expect("event payloads are plain data and serialise to JSON")
}

fn each<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

/// The event's type and its payload.
pub(super) fn encode(event: DomainEvent) -> (EventType, Value) {
    let event_type = event.event_type();
    let data = match event {
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
        DomainEvent::AnnotationDeleted {
            id,
            article,
            modified,
        } => to_data(AnnotationDeletedV1 {
            id,
            article,
            modified,
        }),
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
        DomainEvent::ClaimCreated {
            claim,
            text,
            claimant,
        } => to_data(ClaimCreatedV1 {
            claim,
            text,
            claimant,
        }),
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
    };
    (event_type, data)
}

fn payload<T: DeserializeOwned>(event_type: EventType, data: &Value) -> Result<T, EventError> {
    T::deserialize(data).map_err(|source| EventError::Malformed { event_type, source })
}

/// The event a payload of a known type records.
pub(super) fn decode(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    use EventType as T;
    Ok(match event_type {
        T::ArticleCreated => {
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
        T::ArticleVersionPublished => {
            let p: ArticleVersionPublishedV1 = payload(event_type, data)?;
            DomainEvent::ArticleVersionPublished {
                article: p.article,
                version: p.version,
                sha256: p.sha256,
                text: p.text,
            }
        }
        T::DocumentChanged => {
            let p: DocumentChangedV1 = payload(event_type, data)?;
            DomainEvent::DocumentChanged {
                article: p.article,
                hash: p.hash,
                heads: p.heads,
                actor: p.actor,
                seq: p.seq,
            }
        }
        T::AnnotationCreated => {
            let p: AnnotationCreatedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationCreated {
                annotation: p.annotation.into(),
            }
        }
        T::AnnotationUpdated => {
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
        T::AnnotationStatusChanged => {
            let p: AnnotationStatusChangedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationStatusChanged {
                id: p.id,
                article: p.article,
                from: p.from.into(),
                to: p.to.into(),
                modified: p.modified,
            }
        }
        T::ReplyAdded => {
            let p: ReplyAddedV1 = payload(event_type, data)?;
            DomainEvent::ReplyAdded {
                id: p.id,
                article: p.article,
                reply: p.reply.into(),
                modified: p.modified,
            }
        }
        T::AnnotationDeleted => {
            let p: AnnotationDeletedV1 = payload(event_type, data)?;
            DomainEvent::AnnotationDeleted {
                id: p.id,
                article: p.article,
                modified: p.modified,
            }
        }
        other => decode_others(other, data)?,
    })
}

/// The events that are not about an annotation's own fields.
fn decode_others(event_type: EventType, data: &Value) -> Result<DomainEvent, EventError> {
    use EventType as T;
    Ok(match event_type {
        T::AnnotationAnchored => {
            let p: AnnotationAnchoredV1 = payload(event_type, data)?;
            DomainEvent::AnnotationAnchored {
                id: p.id,
                article: p.article,
                version: p.version,
                anchors: each(p.anchors),
            }
        }
        T::AnnotationReattached => {
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
        T::ClaimCreated => {
            let p: ClaimCreatedV1 = payload(event_type, data)?;
            DomainEvent::ClaimCreated {
                claim: p.claim,
                text: p.text,
                claimant: p.claimant,
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
        T::ChangeRejected => {
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
        T::ArticleCreated
        | T::ArticleVersionPublished
        | T::DocumentChanged
        | T::AnnotationCreated
        | T::AnnotationUpdated
        | T::AnnotationStatusChanged
        | T::ReplyAdded
        | T::AnnotationDeleted => return decode(event_type, data),
    })
}
