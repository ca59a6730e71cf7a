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

/// An event's stored form encoded before the writer decides its version: the envelope's bytes
/// before the version and after it. The writer thread only puts them together, so appenders
/// pay for encoding on their own threads, and an event that cannot be encoded is refused to
/// its appender alone.
#[derive(Clone, Debug)]
pub(super) struct Prepared {
    id: EventId,
    bytes: Vec<u8>,
    /// Where the version goes in `bytes`.
    split: usize,
}

/// The envelope's fields before the version, in its order (postcard writes a struct as its
/// fields one after the other, so the parts put together are the envelope's encoding).
#[derive(Serialize)]
struct Head<'a> {
    format: u8,
    id: [u8; 16],
    stream: &'a str,
}

/// The envelope's fields after the version, in its order.
#[derive(Serialize)]
struct Tail<'a> {
    event_type: &'a str,
    schema: u16,
    actor: &'a str,
    at_micros: i64,
    data: &'a [u8],
    change: Option<&'a [u8]>,
}

impl Prepared {
    pub(super) fn new(event: &NewEvent) -> Result<Self, StoreError> {
        let stream = event.stream.to_string();
        let head = Head {
            format: FORMAT,
            id: *event.id.0.as_bytes(),
            stream: &stream,
        };
        let mut bytes =
            postcard::to_stdvec(&head).map_err(|e| StoreError::unencodable("event envelope", e))?;
        let split = bytes.len();
        let data = serde_json::to_vec(&event.data)
            .map_err(|e| StoreError::unencodable("event data", e))?;
        let actor = event.actor.to_string();
        let tail = Tail {
            event_type: &event.event_type,
            schema: event.schema,
            actor: &actor,
            at_micros: event.at.timestamp_micros(),
            data: &data,
            change: event.change.as_deref(),
        };
        bytes = postcard::to_extend(&tail, bytes)
            .map_err(|e| StoreError::unencodable("event envelope", e))?;
        Ok(Self {
            id: event.id,
            bytes,
            split,
        })
    }

    /// The stored form of `record`, which must be the event this was prepared from: the same
    /// bytes as [`encode`] gives.
    pub(super) fn landed(&self, record: &EventRecord) -> Result<Vec<u8>, StoreError> {
        if record.id != self.id {
            return Err(StoreError::Corrupt(format!(
                "event {} was prepared for event id {}, not {}",
                record.seq, self.id.0, record.id.0
            )));
        }
        let mut version = [0u8; 10];
        let version = postcard::to_slice(&record.version, &mut version)
            .map_err(|e| StoreError::unencodable("event version", e))?;
        let mut bytes = Vec::with_capacity(self.bytes.len() + version.len());
        bytes.extend_from_slice(&self.bytes[..self.split]);
        bytes.extend_from_slice(version);
        bytes.extend_from_slice(&self.bytes[self.split..]);
        Ok(bytes)
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{AnnotationId, ArticleId};

    fn event(stream: StreamId, change: Option<Vec<u8>>) -> NewEvent {
        NewEvent {
            id: EventId::random(),
            stream,
            event_type: "annotation.created".into(),
            schema: 1,
            actor: UserName::parse("alice").unwrap(),
            at: Utc::now(),
            data: json!({ "body": "ünïcode ✓", "n": [1, 2.5, null], "long": "x".repeat(300) }),
            change,
        }
    }

    /// Given events of every shape, when the writer lands them at versions across the varint's
    /// byte boundaries, then the prepared parts put together are the envelope `encode` writes.
    #[test]
    fn prepared_events_land_as_the_envelope_encode_writes() {
        let events = [
            event(StreamId::Annotation(AnnotationId::random()), None),
            event(
                StreamId::Document(ArticleId::parse("an-article").unwrap()),
                Some((0..=255).collect()),
            ),
            event(
                StreamId::Article(ArticleId::parse("a").unwrap()),
                Some(vec![]),
            ),
        ];
        for event in &events {
            let prepared = Prepared::new(event).unwrap();
            for version in [
                1,
                127,
                128,
                16_383,
                16_384,
                u64::from(u32::MAX) + 1,
                u64::MAX,
            ] {
                let record = EventRecord::landed(event, 42, version);
                let bytes = prepared.landed(&record).unwrap();
                assert_eq!(bytes, encode(&record).unwrap(), "version {version}");
                assert_eq!(decode(42, &bytes).unwrap(), record);
            }
        }
    }

    /// Given an event prepared for one id, when another event lands with it, then it is refused.
    #[test]
    fn a_prepared_event_is_not_landed_as_another() {
        let (one, other) = (
            event(StreamId::Annotation(AnnotationId::random()), None),
            event(StreamId::Annotation(AnnotationId::random()), None),
        );
        let prepared = Prepared::new(&one).unwrap();
        let record = EventRecord::landed(&other, 1, 1);
        assert!(matches!(
            prepared.landed(&record),
            Err(StoreError::Corrupt(_))
        ));
    }
}
