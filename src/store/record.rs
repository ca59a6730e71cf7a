//! The stored form of an event: a compact binary envelope. The JSON form is for the API.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::{EventId, StreamId, UserName};

use super::StoreError;

/// An event to append.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: EventId,
    pub stream: StreamId,
    pub event_type: String,
    pub schema: u16,
    pub actor: UserName,
    pub at: DateTime<Utc>,
    pub data: Value,
    /// Raw Automerge change bytes, for `document.changed`.
    pub change: Option<Vec<u8>>,
}

/// An event as it sits in the log.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub seq: u64,
    pub id: EventId,
    pub stream: StreamId,
    /// Version of the stream after this event (1-based).
    pub version: u64,
    pub event_type: String,
    pub schema: u16,
    pub actor: UserName,
    pub at: DateTime<Utc>,
    pub data: Value,
    pub change: Option<Vec<u8>>,
}

impl EventRecord {
    /// `event` as it lands at `seq`, version `version` of its stream.
    pub fn landed(event: &NewEvent, seq: u64, version: u64) -> Self {
        Self {
            seq,
            id: event.id,
            stream: event.stream.clone(),
            version,
            event_type: event.event_type.clone(),
            schema: event.schema,
            actor: event.actor.clone(),
            // As stored: to the microsecond.
            at: Utc
                .timestamp_micros(event.at.timestamp_micros())
                .single()
                .unwrap_or(event.at),
            data: event.data.clone(),
            change: event.change.clone(),
        }
    }
}

/// The bytes on disk. Field order is part of the format: add fields only at the end, optional.
#[derive(Serialize, Deserialize)]
struct Envelope {
    format: u8,
    id: [u8; 16],
    stream: String,
    version: u64,
    event_type: String,
    schema: u16,
    actor: String,
    at_micros: i64,
    data: Vec<u8>,
    change: Option<Vec<u8>>,
}

const FORMAT: u8 = 1;

pub fn encode(record: &EventRecord) -> Result<Vec<u8>, StoreError> {
    let envelope = Envelope {
        format: FORMAT,
        id: *record.id.0.as_bytes(),
        stream: record.stream.to_string(),
        version: record.version,
        event_type: record.event_type.clone(),
        schema: record.schema,
        actor: record.actor.to_string(),
        at_micros: record.at.timestamp_micros(),
        data: serde_json::to_vec(&record.data)
            .map_err(|e| StoreError::unencodable("event data", e))?,
        change: record.change.clone(),
    };
    postcard::to_stdvec(&envelope).map_err(|e| StoreError::unencodable("event envelope", e))
}

pub fn decode(seq: u64, bytes: &[u8]) -> Result<EventRecord, StoreError> {
    let field = |name: &str| format!("event {seq}: {name}");
    let envelope: Envelope =
        postcard::from_bytes(bytes).map_err(|e| StoreError::undecodable(field("envelope"), e))?;
    if envelope.format != FORMAT {
        return Err(StoreError::Corrupt(field(&format!(
            "unknown format {}",
            envelope.format
        ))));
    }
    Ok(EventRecord {
        seq,
        id: EventId(Uuid::from_bytes(envelope.id)),
        stream: StreamId::parse(&envelope.stream)
            .map_err(|e| StoreError::undecodable(field("stream"), e))?,
        version: envelope.version,
        event_type: envelope.event_type,
        schema: envelope.schema,
        actor: UserName::parse(&envelope.actor)
            .map_err(|e| StoreError::undecodable(field("actor"), e))?,
        at: Utc
            .timestamp_micros(envelope.at_micros)
            .single()
            .ok_or_else(|| StoreError::Corrupt(field("timestamp out of range")))?,
        data: serde_json::from_slice(&envelope.data)
            .map_err(|e| StoreError::undecodable(field("data"), e))?,
        change: envelope.change,
    })
}
