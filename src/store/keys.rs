//! Every sled key Glossa writes, in one place.
//!
//! Integers are big-endian so that sled's byte order is numeric order. Variable-length parts are
//! length-prefixed (or followed by a zero byte where they cannot contain one), so that no key is
//! a prefix of an unrelated key: `doc1` never matches a scan for `doc10`.

#[cfg(test)]
use crate::domain::{EventId, StreamId};

/// Names of the sled trees.
pub const LOG_TREE: &str = "log";
pub const READ_MODEL_TREE: &str = "read_model";
pub const SNAPSHOT_TREE: &str = "snapshots";
pub const META_TREE: &str = "meta";
/// Webhook cursors and attempts (`store::webhooks`); not derived, so never dropped.
pub const WEBHOOKS_TREE: &str = "webhooks";

// Prefixes in the log tree.
const EVENT: u8 = 0x01;
const STREAM_EVENT: u8 = 0x02;
// 0x03 held each stream's head until layout 2, which derives it from the last 0x02 key;
// layout-1 data directories still have those keys, and nothing reads them.
const EVENT_ID: u8 = 0x05;
const INDEX_CHUNK: u8 = 0x06;

/// `0x01 | seq` → the stored events up to `seq`: since layout 4 a run of consecutive events
/// ending at `seq` (`runs`), before it the event at `seq` alone (a run of one).
pub fn event(seq: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = EVENT;
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub fn event_prefix() -> [u8; 1] {
    [EVENT]
}

/// Reads the sequence number back from an event key.
pub fn seq_of_event_key(key: &[u8]) -> u64 {
    u64_at(key, 1)
}

#[cfg(test)]
fn stream_part(prefix: u8, stream: &StreamId) -> Vec<u8> {
    let name = stream.to_string();
    let mut key = Vec::with_capacity(3 + name.len() + 8);
    key.push(prefix);
    key.extend_from_slice(&(name.len() as u16).to_be_bytes());
    key.extend_from_slice(name.as_bytes());
    key
}

// The per-event index keys of layouts 1 to 4 are read once now, to be rewritten as chunks
// (`index`); tests write them to make such directories.

/// `0x02 | len | stream | version` → the sequence numbers of the stream's events up to this
/// version that one batch wrote, in order (8 bytes each; layout 3 and 4 batches wrote one such
/// key per stream, at the last version they wrote; layout-2 keys hold one). Written until layout
/// 4; since layout 5 the stream index is kept in memory (`index`) and these keys are read once.
#[cfg(test)]
pub fn stream_event(stream: &StreamId, version: u64) -> Vec<u8> {
    let mut key = stream_part(STREAM_EVENT, stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

#[cfg(test)]
pub fn stream_events_prefix(stream: &StreamId) -> Vec<u8> {
    stream_part(STREAM_EVENT, stream)
}

/// The prefix of every stream index key, of every stream.
pub fn stream_index_prefix() -> [u8; 1] {
    [STREAM_EVENT]
}

/// The stream's name and the version of a stream index key; `None` for a malformed key.
pub fn stream_of_index_key(key: &[u8]) -> Option<(&str, u64)> {
    let len = u16::from_be_bytes(key.get(1..3)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(key.get(3..3 + len)?).ok()?;
    let version = key.get(3 + len..)?;
    (version.len() == 8).then(|| (name, u64_at(version, 0)))
}

/// `0x05 | event id` → seq: the idempotency index, one key per event until layout 4; since
/// layout 5 kept in memory (`index`) and these keys are read once.
#[cfg(test)]
pub fn event_id(id: EventId) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = EVENT_ID;
    key[1..].copy_from_slice(id.0.as_bytes());
    key
}

pub fn event_id_prefix() -> [u8; 1] {
    [EVENT_ID]
}

/// `0x06 | seq` → the index entries (`index`) of the events after the previous such key up to
/// `seq`: since layout 5, what rebuilds the in-memory indexes at start.
pub fn index_chunk(seq: u64) -> [u8; 9] {
    let mut key = event(seq);
    key[0] = INDEX_CHUNK;
    key
}

pub fn index_chunk_prefix() -> [u8; 1] {
    [INDEX_CHUNK]
}

/// `0x07` → nothing: written with the chunks that replace the per-event index keys of layouts 1
/// to 4, which are then never read again (`index`).
pub const LEGACY_INDEX_SUPERSEDED: &[u8] = &[0x07];

pub fn u64_value(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

/// Reads a big-endian u64 at `offset`; short input reads as zero rather than panicking.
pub fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    bytes
        .get(offset..offset + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

// Prefixes in the read-model tree. Index keys end with the creation sequence and the id, so a
// prefix scan lists annotations in the order they were created.
pub const RM_ANNOTATION: u8 = 0x10;
pub const RM_BY_ARTICLE: u8 = 0x11;
pub const RM_BY_STATUS: u8 = 0x12;
pub const RM_BY_KIND: u8 = 0x13;
pub const RM_BY_ASSIGNEE: u8 = 0x14;
pub const RM_ALL: u8 = 0x15;
pub const RM_ARTICLE: u8 = 0x20;
pub const RM_ARTICLE_TEXT: u8 = 0x21;
pub const RM_ANCHOR: u8 = 0x30;
pub const RM_CLAIM: u8 = 0x40;
pub const RM_STYLE: &[u8] = &[0x50];
pub const RM_CHECKPOINT: &[u8] = &[0xf0];

/// `prefix | name` for a row keyed by a slug (slugs never contain a zero byte).
pub fn rm_row(prefix: u8, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + name.len());
    key.push(prefix);
    key.extend_from_slice(name.as_bytes());
    key
}

/// `prefix | value | 0 |` — the scan prefix of one index value.
pub fn rm_index_prefix(prefix: u8, value: &str) -> Vec<u8> {
    let mut key = rm_row(prefix, value);
    key.push(0);
    key
}

/// `prefix | value | 0 | created seq | id` — one index entry.
pub fn rm_index(prefix: u8, value: &str, created_seq: u64, id: &str) -> Vec<u8> {
    let mut key = rm_index_prefix(prefix, value);
    key.extend_from_slice(&created_seq.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// The annotation id at the end of an index key.
pub fn id_of_index_key(key: &[u8]) -> Option<&str> {
    let zero = key.iter().position(|&b| b == 0)?;
    std::str::from_utf8(key.get(zero + 9..)?).ok()
}

/// `0x21 | article | 0 | version` → that version's text.
pub fn rm_article_text(article: &str, version: u32) -> Vec<u8> {
    let mut key = rm_index_prefix(RM_ARTICLE_TEXT, article);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// `0x30 | annotation | 0 |` — the scan prefix of one annotation's anchors.
pub fn rm_anchor_prefix(annotation: &str) -> Vec<u8> {
    rm_index_prefix(RM_ANCHOR, annotation)
}

/// `0x30 | annotation | 0 | article | 0 | version` → where its targets on that article are in
/// that version.
pub fn rm_anchor(annotation: &str, article: &str, version: u32) -> Vec<u8> {
    let mut key = rm_anchor_prefix(annotation);
    key.extend_from_slice(article.as_bytes());
    key.push(0);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

// Keys in the meta tree.
pub const META_SCHEMA: &[u8] = b"schema_version";
pub const META_SEEDED: &[u8] = b"seeded";
pub const META_STORAGE_ID: &[u8] = b"storage_id";
/// The id of the PostgreSQL desk whose log this directory copies (absent for an embedded desk).
pub const META_DESK: &[u8] = b"database_desk_id";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ArticleId;

    #[test]
    fn stream_keys_do_not_prefix_each_other() {
        let short = StreamId::Document(ArticleId::parse("doc1").unwrap());
        let long = StreamId::Document(ArticleId::parse("doc10").unwrap());
        assert!(!stream_event(&long, 1).starts_with(&stream_events_prefix(&short)));
        assert_eq!(
            stream_of_index_key(&stream_event(&long, 7)),
            Some(("document-doc10", 7))
        );
        assert_eq!(stream_of_index_key(&stream_event(&long, 7)[..12]), None);
    }

    #[test]
    fn index_keys_sort_by_creation_and_give_back_the_id() {
        let a = rm_index(RM_BY_STATUS, "open", 2, "zzz");
        let b = rm_index(RM_BY_STATUS, "open", 10, "aaa");
        assert!(a < b);
        assert_eq!(id_of_index_key(&b), Some("aaa"));
    }
}
