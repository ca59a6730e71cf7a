//! The events a document writes, and the Automerge actor and commit metadata of the changes it
//! makes on behalf of a user.

use automerge::transaction::CommitOptions;
use automerge::{ActorId, Automerge};
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::idempotency::Receipt;
use crate::domain::{ArticleId, DomainEvent, EventId, StreamId, UserName, SCHEMA_VERSION};
use crate::store::NewEvent;

/// The Automerge actor id a document's writer (one loaded document in one process) uses on
/// behalf of a user. It differs between writers, so two replicas never both make "the next
/// change" of one actor, and a lost race can keep its changes beside the winner's (ADR 0012);
/// who made a change is in its message (`commit_options`) and in its event.
pub fn user_actor(user: &UserName, writer: &Uuid) -> ActorId {
    let digest = Sha256::digest(format!("glossa-user:{user}:{writer}").as_bytes());
    ActorId::from(&digest[..16])
}

/// The message and time of a change made on behalf of `user`.
pub fn commit_options(user: &UserName, at: DateTime<Utc>) -> CommitOptions {
    CommitOptions::default()
        .with_message(json!({ "user": user.as_str() }).to_string())
        .with_time(at.timestamp_millis())
}

/// The `document.changed` event of one change of `doc`; the heads it records are the
/// document's heads now (for changes applied together, after all of them).
pub fn change_event(
    article: &ArticleId,
    doc: &Automerge,
    user: &UserName,
    at: DateTime<Utc>,
    change: &automerge::Change,
) -> NewEvent {
    let event = DomainEvent::DocumentChanged {
        article: article.clone(),
        hash: change.hash().to_string(),
        heads: doc.get_heads().iter().map(|h| h.to_string()).collect(),
        actor: change.actor_id().to_hex_string(),
        seq: change.seq(),
    };
    new_event(
        StreamId::Document(article.clone()),
        user,
        at,
        event,
        Some(change.raw_bytes().to_vec()),
    )
}

/// The `request.recorded` event of an idempotency key, about `subject`. Its id is the
/// receipt's, derived from the key, never random: that is what finds it again.
pub fn receipt_event(
    receipt: &Receipt,
    subject: &StreamId,
    user: &UserName,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        id: receipt.id,
        ..new_event(receipt.stream(), user, at, receipt.event(subject), None)
    }
}

/// One append's events on a stream the desk keeps for itself (who may use it, its webhook
/// subscriptions): each written by serde as `{"type", "data"}`, with the receipt of a keyed
/// request last.
pub fn own_events<E: serde::Serialize>(
    stream: &StreamId,
    actor: &UserName,
    at: DateTime<Utc>,
    events: &[E],
    receipt: Option<&Receipt>,
) -> Vec<NewEvent> {
    let mut new_events: Vec<NewEvent> = events
        .iter()
        .map(|event| {
            let json = serde_json::to_value(event).expect("the desk's own events serialise");
            NewEvent {
                id: EventId::random(),
                stream: stream.clone(),
                event_type: json["type"].as_str().expect("a tagged event").to_owned(),
                schema: SCHEMA_VERSION,
                actor: actor.clone(),
                at,
                data: json["data"].clone(),
                change: None,
            }
        })
        .collect();
    if let Some(receipt) = receipt {
        new_events.push(receipt_event(receipt, stream, actor, at));
    }
    new_events
}

pub fn new_event(
    stream: StreamId,
    user: &UserName,
    at: DateTime<Utc>,
    event: DomainEvent,
    change: Option<Vec<u8>>,
) -> NewEvent {
    let (event_type, data) = event.into_parts();
    NewEvent {
        id: EventId::random(),
        stream,
        event_type,
        schema: SCHEMA_VERSION,
        actor: user.clone(),
        at,
        data,
        change,
    }
}
