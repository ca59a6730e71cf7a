//! The JSON form of an event as it leaves the server: the feed, the live tail and webhook
//! deliveries all carry this shape.

use base64::Engine;
use serde_json::{json, Value};

use crate::clock::timestamp;
use crate::domain::StreamId;
use crate::store::EventRecord;

/// An event's JSON; `with_change` adds the raw Automerge change bytes (base64).
pub fn event_json(record: &EventRecord, with_change: bool) -> Value {
    let mut event = json!({
        "seq": record.seq,
        "id": record.id.to_string(),
        "type": record.event_type,
        "schema": record.schema,
        "stream": record.stream.to_string(),
        "version": record.version,
        "article": article_of(record),
        "actor": record.actor.as_str(),
        "at": timestamp(record.at),
        "data": public_data(record),
    });
    if let Some(change) = &record.change {
        event["change_hash"] = record.data["hash"].clone();
        if with_change {
            event["change"] = base64::engine::general_purpose::STANDARD
                .encode(change)
                .into();
        }
    }
    event
}

/// The article an event concerns, if any.
pub fn article_of(record: &EventRecord) -> Option<String> {
    record
        .data
        .get("article")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            record.data["annotation"]["targets"][0]["article"]
                .as_str()
                .map(str::to_owned)
        })
}

/// The data of an event as it may leave the server: never a token's hash (but a demo
/// token's, see `identity::public_data`), nor a webhook's signing secret or its address
/// (receivers' addresses often carry a secret of their own; admins read them at
/// `/api/webhooks`).
pub fn public_data(record: &EventRecord) -> Value {
    let mut data = crate::identity::public_data(record);
    if record.stream == StreamId::Webhooks {
        if let Some(fields) = data.as_object_mut() {
            fields.remove("secret");
            fields.remove("url");
        }
    }
    data
}
