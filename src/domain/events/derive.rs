//! Deriving the semantic events of a change: comparing an annotation before and after it, so
//! REST writes and sync changes produce the same history.

use std::collections::BTreeMap;

use serde_json::Value;

use super::shapes::AnnotationV1;
use super::{DomainEvent, FieldChange};
use crate::domain::Annotation;

/// Fields whose changes get their own event type, or that no update touches (wire names).
const NOT_IN_UPDATES: [&str; 5] = ["status", "replies", "deleted", "modified", "id"];

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

/// The annotation's fields by their names in the log (those of `annotation.created`), which
/// are the names `annotation.updated` lists its changes under.
pub(super) fn wire_fields(annotation: &Annotation) -> serde_json::Map<String, Value> {
    match serde_json::to_value(AnnotationV1::from(annotation.clone())) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("annotation payloads serialise to objects"),
    }
}

fn field_changes(before: &Annotation, after: &Annotation) -> BTreeMap<String, FieldChange> {
    let (old, new) = (wire_fields(before), wire_fields(after));
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
