//! The automerge-repo wire format: one CBOR map per binary WebSocket message.
//!
//! Decoding is by key, never by position, and tolerant of what the JavaScript encoder (cbor-x)
//! produces: 16-bit map headers, `undefined` values, numbers as float64, unknown keys. It is
//! strict about what matters: the `type`, the ids, and `data` being a byte string. Nesting is
//! bounded so hostile input cannot exhaust the stack.

use std::collections::BTreeMap;

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

/// The only protocol version there is.
pub const PROTOCOL_VERSION: &str = "1";

/// How deep a peer's CBOR may nest before it is refused.
const MAX_DEPTH: usize = 16;

/// Peer metadata exchanged in the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    pub storage_id: Option<String>,
    pub is_ephemeral: bool,
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq)]
pub enum WireMessage {
    Join {
        sender_id: String,
        supported_versions: Vec<String>,
        metadata: Option<PeerMetadata>,
    },
    Peer {
        sender_id: String,
        target_id: String,
        selected_version: String,
        metadata: PeerMetadata,
    },
    /// "Sync, and tell me if you don't have it."
    Request(SyncEnvelope),
    Sync(SyncEnvelope),
    DocUnavailable {
        document_id: String,
        sender_id: String,
        target_id: String,
    },
    Ephemeral(EphemeralEnvelope),
    Error {
        message: String,
    },
    Leave {
        sender_id: String,
    },
    /// Remote-heads gossip, which this server neither needs nor offers.
    Gossip {
        message_type: String,
    },
}

/// An Automerge sync message addressed to a document.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncEnvelope {
    pub document_id: String,
    pub sender_id: String,
    pub target_id: String,
    pub data: Vec<u8>,
}

/// Presence and other fleeting state: relayed, never stored.
#[derive(Clone, Debug, PartialEq)]
pub struct EphemeralEnvelope {
    pub document_id: String,
    pub sender_id: String,
    pub target_id: String,
    pub count: u64,
    pub session_id: String,
    pub data: Vec<u8>,
}

/// Why a frame could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message is not well-formed CBOR: {0}")]
    Cbor(String),
    #[error("the message is not a CBOR map")]
    NotAMap,
    #[error("the message has no `type`")]
    NoType,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("`{field}` {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error("the message nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// A decoded CBOR value, just rich enough for protocol fields.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Text(String),
    Bytes(Vec<u8>),
    Number(f64),
    Bool(bool),
    Array(Vec<Item>),
    Map(BTreeMap<String, Item>),
    /// null, undefined, or anything else without meaning here.
    Nothing,
}

fn cbor(e: minicbor::decode::Error) -> WireError {
    WireError::Cbor(e.to_string())
}

fn read_item(d: &mut Decoder<'_>, depth: usize) -> Result<Item, WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError::TooDeep);
    }
    let item = match d.datatype().map_err(cbor)? {
        Type::String | Type::StringIndef => {
            let mut text = String::new();
            for part in d.str_iter().map_err(cbor)? {
                text.push_str(part.map_err(cbor)?);
            }
            Item::Text(text)
        }
        Type::Bytes | Type::BytesIndef => {
            let mut bytes = Vec::new();
            for part in d.bytes_iter().map_err(cbor)? {
                bytes.extend_from_slice(part.map_err(cbor)?);
            }
            Item::Bytes(bytes)
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Item::Number(d.u64().map_err(cbor)? as f64),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            d.skip().map_err(cbor)?;
            Item::Nothing
        }
        Type::F16 | Type::F32 | Type::F64 => Item::Number(d.f64().map_err(cbor)?),
        Type::Bool => Item::Bool(d.bool().map_err(cbor)?),
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(cbor)?;
            let mut items = Vec::new();
            match len {
                Some(n) => {
                    for _ in 0..n {
                        items.push(read_item(d, depth + 1)?);
                    }
                }
                None => {
                    while d.datatype().map_err(cbor)? != Type::Break {
                        items.push(read_item(d, depth + 1)?);
                    }
                    d.skip().map_err(cbor)?;
                }
            }
            Item::Array(items)
        }
        Type::Map | Type::MapIndef => Item::Map(read_map(d, depth + 1)?),
        _ => {
            d.skip().map_err(cbor)?;
            Item::Nothing
        }
    };
    Ok(item)
}

fn read_map(d: &mut Decoder<'_>, depth: usize) -> Result<BTreeMap<String, Item>, WireError> {
    let len = d.map().map_err(cbor)?;
    let mut map = BTreeMap::new();
    let mut read_entry = |d: &mut Decoder<'_>| -> Result<(), WireError> {
        let key = match read_item(d, depth)? {
            Item::Text(key) => Some(key),
            _ => None,
        };
        let value = read_item(d, depth)?;
        if let Some(key) = key {
            map.insert(key, value);
        }
        Ok(())
    };
    match len {
        Some(n) => {
            for _ in 0..n {
                read_entry(d)?;
            }
        }
        None => {
            while d.datatype().map_err(cbor)? != Type::Break {
                read_entry(d)?;
            }
            d.skip().map_err(cbor)?;
        }
    }
    Ok(map)
}

struct Fields(BTreeMap<String, Item>);

impl Fields {
    /// The strings of an array field: empty when the field is missing or not an array, and
    /// items that are not strings are skipped.
    fn texts(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(Item::Array(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Item::Text(v) => Some(v.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn text(&self, field: &'static str) -> Result<String, WireError> {
        match self.0.get(field) {
            Some(Item::Text(text)) => Ok(text.clone()),
            Some(Item::Nothing) | None => Err(WireError::Field {
                field,
                problem: "is missing".into(),
            }),
            Some(_) => Err(WireError::Field {
                field,
                problem: "must be a text string".into(),
            }),
        }
    }

    fn bytes(&self, field: &'static str) -> Result<Vec<u8>, WireError> {
        match self.0.get(field) {
            Some(Item::Bytes(bytes)) => Ok(bytes.clone()),
            Some(Item::Nothing) | None => Err(WireError::Field {
                field,
                problem: "is missing".into(),
            }),
            Some(_) => Err(WireError::Field {
                field,
                problem: "must be a byte string".into(),
            }),
        }
    }

    fn count(&self, field: &'static str) -> Result<u64, WireError> {
        match self.0.get(field) {
            Some(Item::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as u64),
            _ => Err(WireError::Field {
                field,
                problem: "must be a non-negative integer".into(),
            }),
        }
    }

    fn metadata(&self) -> Option<PeerMetadata> {
        let map = match self
            .0
            .get("peerMetadata")
            .or_else(|| self.0.get("metadata"))
        {
            Some(Item::Map(map)) => map,
            _ => return None,
        };
        Some(PeerMetadata {
            storage_id: match map.get("storageId") {
                Some(Item::Text(id)) => Some(id.clone()),
                _ => None,
            },
            is_ephemeral: matches!(map.get("isEphemeral"), Some(Item::Bool(true))),
        })
    }

    fn sync(&self) -> Result<SyncEnvelope, WireError> {
        Ok(SyncEnvelope {
            document_id: self.text("documentId")?,
            sender_id: self.text("senderId")?,
            target_id: self.text("targetId")?,
            data: self.bytes("data")?,
        })
    }
}

/// Decodes one frame.
pub fn decode(frame: &[u8]) -> Result<WireMessage, WireError> {
    let mut d = Decoder::new(frame);
    match d.datatype().map_err(cbor)? {
        Type::Map | Type::MapIndef => {}
        _ => return Err(WireError::NotAMap),
    }
    let fields = Fields(read_map(&mut d, 1)?);
    let message_type = match fields.0.get("type") {
        Some(Item::Text(t)) => t.clone(),
        _ => return Err(WireError::NoType),
    };
    Ok(match message_type.as_str() {
        "join" => WireMessage::Join {
            sender_id: fields.text("senderId")?,
            supported_versions: fields.texts("supportedProtocolVersions"),
            metadata: fields.metadata(),
        },
        "peer" => WireMessage::Peer {
            sender_id: fields.text("senderId")?,
            target_id: fields.text("targetId")?,
            selected_version: fields.text("selectedProtocolVersion")?,
            metadata: fields.metadata().unwrap_or_default(),
        },
        "request" => WireMessage::Request(fields.sync()?),
        "sync" => WireMessage::Sync(fields.sync()?),
        "doc-unavailable" => WireMessage::DocUnavailable {
            document_id: fields.text("documentId")?,
            sender_id: fields.text("senderId")?,
            target_id: fields.text("targetId")?,
        },
        "ephemeral" => WireMessage::Ephemeral(EphemeralEnvelope {
            document_id: fields.text("documentId")?,
            sender_id: fields.text("senderId")?,
            target_id: fields.text("targetId")?,
            count: fields.count("count")?,
            session_id: fields.text("sessionId")?,
            data: fields.bytes("data")?,
        }),
        "error" => WireMessage::Error {
            message: fields.text("message").unwrap_or_default(),
        },
        "leave" => WireMessage::Leave {
            sender_id: fields.text("senderId").unwrap_or_default(),
        },
        "remote-subscription-change" | "remote-heads-changed" => {
            WireMessage::Gossip { message_type }
        }
        _ => return Err(WireError::UnknownType(message_type)),
    })
}

type Enc = Encoder<Vec<u8>>;

fn entry_str(e: &mut Enc, key: &str, value: &str) {
    e.str(key)
        .and_then(|e| e.str(value))
        .expect("writing to a Vec cannot fail");
}

fn entry_bytes(e: &mut Enc, key: &str, value: &[u8]) {
    e.str(key)
        .and_then(|e| e.bytes(value))
        .expect("writing to a Vec cannot fail");
}

fn metadata(e: &mut Enc, metadata: &PeerMetadata) {
    let fields = 1 + u64::from(metadata.storage_id.is_some());
    e.str("peerMetadata")
        .and_then(|e| e.map(fields))
        .expect("Vec");
    if let Some(id) = &metadata.storage_id {
        entry_str(e, "storageId", id);
    }
    e.str("isEphemeral")
        .and_then(|e| e.bool(metadata.is_ephemeral))
        .expect("Vec");
}

fn sync_fields(e: &mut Enc, kind: &str, envelope: &SyncEnvelope) {
    e.map(5).expect("Vec");
    entry_str(e, "type", kind);
    entry_str(e, "documentId", &envelope.document_id);
    entry_str(e, "senderId", &envelope.sender_id);
    entry_str(e, "targetId", &envelope.target_id);
    entry_bytes(e, "data", &envelope.data);
}

/// Encodes one message as a CBOR map, with the field names the JavaScript client reads.
pub fn encode(message: &WireMessage) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    match message {
        WireMessage::Join {
            sender_id,
            supported_versions,
            metadata: meta,
        } => join_fields(&mut e, sender_id, supported_versions, meta.as_ref()),
        WireMessage::Peer {
            sender_id,
            target_id,
            selected_version,
            metadata: meta,
        } => {
            e.map(5).expect("Vec");
            entry_str(&mut e, "type", "peer");
            entry_str(&mut e, "senderId", sender_id);
            entry_str(&mut e, "targetId", target_id);
            entry_str(&mut e, "selectedProtocolVersion", selected_version);
            metadata(&mut e, meta);
        }
        WireMessage::Request(envelope) => sync_fields(&mut e, "request", envelope),
        WireMessage::Sync(envelope) => sync_fields(&mut e, "sync", envelope),
        WireMessage::DocUnavailable {
            document_id,
            sender_id,
            target_id,
        } => {
            e.map(4).expect("Vec");
            entry_str(&mut e, "type", "doc-unavailable");
            entry_str(&mut e, "documentId", document_id);
            entry_str(&mut e, "senderId", sender_id);
            entry_str(&mut e, "targetId", target_id);
        }
        WireMessage::Ephemeral(envelope) => ephemeral_fields(&mut e, envelope),
        WireMessage::Error { message } => {
            e.map(2).expect("Vec");
            entry_str(&mut e, "type", "error");
            entry_str(&mut e, "message", message);
        }
        WireMessage::Leave { sender_id } => {
            e.map(2).expect("Vec");
            entry_str(&mut e, "type", "leave");
            entry_str(&mut e, "senderId", sender_id);
        }
        WireMessage::Gossip { message_type } => {
            e.map(1).expect("Vec");
            entry_str(&mut e, "type", message_type);
        }
    }
    e.into_writer()
}

/// A `join`: the sender, the protocol versions it speaks, and its metadata when it has some.
fn join_fields(
    e: &mut Enc,
    sender_id: &str,
    supported_versions: &[String],
    meta: Option<&PeerMetadata>,
) {
    e.map(3 + u64::from(meta.is_some())).expect("Vec");
    entry_str(e, "type", "join");
    entry_str(e, "senderId", sender_id);
    e.str("supportedProtocolVersions")
        .and_then(|e| e.array(supported_versions.len() as u64))
        .expect("Vec");
    for version in supported_versions {
        e.str(version).expect("Vec");
    }
    if let Some(meta) = meta {
        metadata(e, meta);
    }
}

/// An `ephemeral` message: routing, the sender's session and count, and the opaque data.
fn ephemeral_fields(e: &mut Enc, envelope: &EphemeralEnvelope) {
    e.map(7).expect("Vec");
    entry_str(e, "type", "ephemeral");
    entry_str(e, "documentId", &envelope.document_id);
    entry_str(e, "senderId", &envelope.sender_id);
    entry_str(e, "targetId", &envelope.target_id);
    e.str("count")
        .and_then(|e| e.u64(envelope.count))
        .expect("Vec");
    entry_str(e, "sessionId", &envelope.session_id);
    entry_bytes(e, "data", &envelope.data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let messages = [
            WireMessage::Join {
                sender_id: "peer-a".into(),
                supported_versions: vec!["1".into()],
                metadata: Some(PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                }),
            },
            WireMessage::Sync(SyncEnvelope {
                document_id: "doc".into(),
                sender_id: "a".into(),
                target_id: "b".into(),
                data: vec![0x42, 1, 2],
            }),
            WireMessage::Ephemeral(EphemeralEnvelope {
                document_id: "doc".into(),
                sender_id: "a".into(),
                target_id: "b".into(),
                count: 7,
                session_id: "s".into(),
                data: vec![1],
            }),
            WireMessage::Error {
                message: "no".into(),
            },
        ];
        for message in messages {
            assert_eq!(decode(&encode(&message)).unwrap(), message);
        }
    }

    #[test]
    fn cbor_x_quirks_are_accepted() {
        // A join as cbor-x writes it: 16-bit map header, `undefined` storageId, float64 count.
        let mut e = Encoder::new(Vec::new());
        e.map(4).unwrap();
        e.str("type").unwrap().str("join").unwrap();
        e.str("senderId").unwrap().str("peer-x").unwrap();
        e.str("peerMetadata").unwrap().map(2).unwrap();
        e.str("storageId").unwrap().undefined().unwrap();
        e.str("isEphemeral").unwrap().bool(true).unwrap();
        e.str("supportedProtocolVersions")
            .unwrap()
            .array(1)
            .unwrap()
            .str("1")
            .unwrap();
        let mut frame = e.into_writer();
        // Rewrite the 1-byte map header (0xa4) as a 16-bit one (0xb9 00 04).
        frame.splice(0..1, [0xb9, 0x00, 0x04]);
        let WireMessage::Join { metadata, .. } = decode(&frame).unwrap() else {
            panic!("not a join")
        };
        assert_eq!(metadata.unwrap().storage_id, None);

        let mut e = Encoder::new(Vec::new());
        e.map(7).unwrap();
        e.str("type").unwrap().str("ephemeral").unwrap();
        e.str("documentId").unwrap().str("d").unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("count").unwrap().f64(12.0).unwrap();
        e.str("sessionId").unwrap().str("s").unwrap();
        e.str("data").unwrap().bytes(&[1]).unwrap();
        let WireMessage::Ephemeral(envelope) = decode(&e.into_writer()).unwrap() else {
            panic!("not ephemeral")
        };
        assert_eq!(envelope.count, 12);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(matches!(
            decode(b"\xff\x00garbage"),
            Err(WireError::Cbor(_)) | Err(WireError::NotAMap)
        ));
        assert_eq!(decode(&[0x01]), Err(WireError::NotAMap));
        let unknown = encode(&WireMessage::Gossip {
            message_type: "teleport".into(),
        });
        assert_eq!(
            decode(&unknown),
            Err(WireError::UnknownType("teleport".into()))
        );
        // 10,000 nested arrays inside a map.
        let mut deep = vec![0xa1, 0x61, b'x'];
        deep.extend(std::iter::repeat_n(0x81, 10_000));
        deep.push(0x01);
        assert_eq!(decode(&deep), Err(WireError::TooDeep));
        let mut no_data = Encoder::new(Vec::new());
        no_data.map(4).unwrap();
        no_data.str("type").unwrap().str("sync").unwrap();
        no_data.str("documentId").unwrap().str("d").unwrap();
        no_data.str("senderId").unwrap().str("a").unwrap();
        no_data.str("targetId").unwrap().str("b").unwrap();
        assert!(matches!(
            decode(&no_data.into_writer()),
            Err(WireError::Field { field: "data", .. })
        ));
    }
}
