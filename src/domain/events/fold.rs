//! The fold: one event applied to the state of the annotation it concerns. It is what read
//! models and time travel are built with, so it never guesses: an event it cannot apply is an
//! [`EventError`] with its cause, and the caller decides what that means.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::derive::wire_fields;
use super::shapes::AnnotationV1;
use super::{DomainEvent, EventError, FieldChange};
use crate::domain::{Annotation, AnnotationId};

/// Folds one event into the state of the annotation it concerns (`None`: not created yet).
/// Events that change no annotation's fields leave the state as it is.
pub fn apply(
    state: Option<Annotation>,
    event: &DomainEvent,
) -> Result<Option<Annotation>, EventError> {
    let (id, modified) = match event {
        DomainEvent::AnnotationCreated { annotation } => return Ok(Some(annotation.clone())),
        DomainEvent::AnnotationUpdated { id, modified, .. }
        | DomainEvent::AnnotationStatusChanged { id, modified, .. }
        | DomainEvent::ReplyAdded { id, modified, .. }
        | DomainEvent::AnnotationDeleted { id, modified, .. } => (id, *modified),
        _ => return Ok(state),
    };
    let mut annotation = state.ok_or_else(|| EventError::NoSuchAnnotation {
        event_type: event.event_type(),
        id: id.clone(),
    })?;
    match event {
        DomainEvent::AnnotationUpdated { changes, .. } => {
            annotation = updated(&annotation, id, changes)?;
        }
        DomainEvent::AnnotationStatusChanged { to, .. } => annotation.status = *to,
        DomainEvent::ReplyAdded { reply, .. } => annotation.replies.push(reply.clone()),
        DomainEvent::AnnotationDeleted { .. } => annotation.deleted = true,
        _ => unreachable!("only the events matched above change an annotation's fields"),
    }
    annotation.modified = modified;
    Ok(Some(annotation))
}

/// The annotation with each changed field (named as in the log) set to its new value.
fn updated(
    annotation: &Annotation,
    id: &AnnotationId,
    changes: &BTreeMap<String, FieldChange>,
) -> Result<Annotation, EventError> {
    let mut fields = wire_fields(annotation);
    for (name, change) in changes {
        if change.after.is_null() {
            fields.remove(name);
        } else {
            fields.insert(name.clone(), change.after.clone());
        }
    }
    let next = AnnotationV1::deserialize(Value::Object(fields)).map_err(|source| {
        EventError::UpdateDoesNotFit {
            id: id.clone(),
            source,
        }
    })?;
    Ok(next.into())
}
