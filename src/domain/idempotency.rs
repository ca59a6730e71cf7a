//! Idempotency keys: what makes a retried request recognisable, so it is answered again
//! instead of carried out twice.
//!
//! A client names a request with a key it chooses (the `Idempotency-Key` header of the IETF
//! httpapi draft). The key belongs to the user who sent it: the same key from two people is
//! two keys. A request is identified by its [`Fingerprint`] (method, path and a hash of the
//! exact body bytes); a key reused with another fingerprint is a client error, never a replay.
//!
//! A request that writes carries a [`Receipt`] into its first durable append: a
//! `request.recorded` event whose id is derived from the user and the key. The log's
//! idempotency by event id makes the receipt durable exactly when the write is, and findable
//! by id after a restart; nothing else stores keys.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{DomainEvent, EventId, StreamId, UserName};

/// Longest key accepted, in characters (a UUID is 36; the draft sets no limit).
pub const MAX_KEY_CHARS: usize = 255;

/// An idempotency key as the client sent it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header value: a structured-field string (`"8e03…"`, as the draft has it) or,
    /// for clients that send the key bare, a run of token characters (`8e03978e-40d5…`). Both
    /// spell the same key. The error is a message for the client.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim_matches([' ', '\t']);
        let key = match raw.strip_prefix('"') {
            Some(quoted) => unquote(quoted)?,
            None => bare(raw)?,
        };
        if key.is_empty() {
            return Err("the Idempotency-Key is empty; send a unique key such as a UUID".into());
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(format!(
                "the Idempotency-Key is over {MAX_KEY_CHARS} characters; a UUID is enough"
            ));
        }
        Ok(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the receipt this key leaves when `user` writes with it. Lengths separate the
    /// parts, so no two (user, key) pairs share a name.
    pub fn receipt_id(&self, user: &UserName) -> EventId {
        EventId::derived(&format!(
            "idempotency-key:{}:{}:{}",
            user.as_str().len(),
            user.as_str(),
            self.0
        ))
    }
}

/// An sf-string after its opening quote: printable ASCII, `\"` and `\\` escaped, then the
/// closing quote and nothing else.
fn unquote(rest: &str) -> Result<String, String> {
    let mut key = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                match chars.next() {
                    Some(escaped @ ('"' | '\\')) => key.push(escaped),
                    _ => return Err(
                        "the quoted Idempotency-Key has a backslash that escapes neither \" nor \\"
                            .into(),
                    ),
                }
            }
            '"' => {
                return if chars.as_str().is_empty() {
                    Ok(key)
                } else {
                    Err(format!(
                        "the Idempotency-Key has {:?} after its closing quote; send one key, without parameters",
                        chars.as_str()
                    ))
                };
            }
            ' '..='~' => key.push(c),
            other => {
                return Err(format!(
                    "the Idempotency-Key contains {other:?}; a key is printable ASCII"
                ))
            }
        }
    }
    Err("the quoted Idempotency-Key has no closing quote".into())
}

/// A bare key: token characters (RFC 9110 `tchar`, plus `:` and `/` as sf-tokens allow). A
/// strict sf-token starts with a letter; keys that start with a digit, as most UUIDs do, are
/// accepted as well.
fn bare(raw: &str) -> Result<String, String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:/".contains(c);
    match raw.chars().find(|&c| !token(c)) {
        None => Ok(raw.to_owned()),
        Some(c) => Err(format!(
            "the Idempotency-Key contains {c:?}; quote it as a string (\"…\") or use letters, digits and -._~:/ only"
        )),
    }
}

/// What makes two requests the same request: the method, the path with its query, and the
/// SHA-256 of the body exactly as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub method: String,
    pub path: String,
    pub body_sha256: String,
}

impl Fingerprint {
    pub fn new(method: &str, path: &str, body: &[u8]) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            body_sha256: hex::encode(Sha256::digest(body)),
        }
    }

    /// How `self` (the request now) differs from `original`, for the client's message.
    pub fn difference(&self, original: &Fingerprint) -> Option<String> {
        if self.method != original.method || self.path != original.path {
            Some(format!(
                "it was used for {} {}, and this is {} {}",
                original.method, original.path, self.method, self.path
            ))
        } else if self.body_sha256 != original.body_sha256 {
            Some(format!(
                "it was used for {} {} with another body",
                original.method, original.path
            ))
        } else {
            None
        }
    }
}

/// A keyed request on its way to being written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The `request.recorded` event's id (see [`IdempotencyKey::receipt_id`]).
    pub id: EventId,
    pub fingerprint: Fingerprint,
}

impl Receipt {
    /// The receipt's own stream: one per (user, key).
    pub fn stream(&self) -> StreamId {
        StreamId::Request(self.id)
    }

    /// The event to append with the request's first write; `subject` is the stream that write
    /// is about (the annotation a POST created, say), so a replay can answer about it.
    pub fn event(&self, subject: &StreamId) -> DomainEvent {
        DomainEvent::RequestRecorded {
            method: self.fingerprint.method.clone(),
            path: self.fingerprint.path.clone(),
            body_sha256: self.fingerprint.body_sha256.clone(),
            subject: subject.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> Result<String, String> {
        IdempotencyKey::parse(raw).map(|k| k.0)
    }

    #[test]
    fn quoted_and_bare_keys_spell_the_same_key() {
        assert_eq!(key("\"8e03978e-40d5\"").unwrap(), "8e03978e-40d5");
        assert_eq!(key("8e03978e-40d5").unwrap(), "8e03978e-40d5");
        assert_eq!(key(" \"a \\\"b\\\\\" ").unwrap(), "a \"b\\");
    }

    #[test]
    fn malformed_keys_are_refused_with_the_reason() {
        for (raw, reason) in [
            ("", "empty"),
            ("\"\"", "empty"),
            ("\"open", "no closing quote"),
            ("\"k\";a=1", "after its closing quote"),
            ("two words", "quote it"),
            ("\"é\"", "printable ASCII"),
            ("\"a\\b\"", "backslash"),
        ] {
            let error = key(raw).expect_err(raw);
            assert!(error.contains(reason), "{raw:?}: {error}");
        }
        let long = "k".repeat(MAX_KEY_CHARS + 1);
        assert!(key(&long).expect_err("too long").contains("over 255"));
        assert!(key(&long[1..]).is_ok());
    }

    #[test]
    fn a_key_is_the_users_own() {
        let k = IdempotencyKey::parse("k1").unwrap();
        let alice = UserName::parse("alice").unwrap();
        let bruno = UserName::parse("bruno").unwrap();
        assert_eq!(k.receipt_id(&alice), k.receipt_id(&alice));
        assert_ne!(k.receipt_id(&alice), k.receipt_id(&bruno));
    }

    #[test]
    fn fingerprints_say_what_differs() {
        let original = Fingerprint::new("POST", "/annotations/", b"{}");
        assert_eq!(
            Fingerprint::new("POST", "/annotations/", b"{}").difference(&original),
            None
        );
        let body = Fingerprint::new("POST", "/annotations/", b"{ }").difference(&original);
        assert!(body.unwrap().contains("another body"));
        let path = Fingerprint::new("POST", "/api/claims", b"{}").difference(&original);
        assert!(path.unwrap().contains("POST /api/claims"));
    }
}
