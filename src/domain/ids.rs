//! Identifiers that cross module boundaries, parsed once so the rest of the code never sees an invalid one.
//!
//! Article and annotation ids are slugs because they end up in IRIs and sled keys: a restricted
//! alphabet keeps both unambiguous and rules out path traversal by construction.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DomainError;

/// Longest slug we accept; long enough for readable ids, short enough to keep keys compact.
pub const MAX_SLUG_LEN: usize = 64;

fn check_slug(what: &'static str, raw: &str, max: usize) -> Result<(), DomainError> {
    let valid_start = raw
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid_rest = raw
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.');
    if raw.len() > max || !valid_start || !valid_rest {
        return Err(DomainError::invalid(
            what,
            format!(
                "{raw:?} is not a valid {what}: use 1 to {max} characters from a-z, 0-9, '-', '_' and '.', starting with a letter or digit"
            ),
        ));
    }
    Ok(())
}

macro_rules! slug_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a user-supplied value.
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                check_slug($what, raw, $max)?;
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(raw: String) -> Result<Self, DomainError> {
                check_slug($what, &raw, $max)?;
                Ok(Self(raw))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_type!(
    /// The slug of an article, e.g. `twenty-six-nations-pledge`.
    ArticleId,
    "article id",
    MAX_SLUG_LEN
);
slug_type!(
    /// The id of an annotation: the last segment of its IRI.
    AnnotationId,
    "annotation id",
    MAX_SLUG_LEN
);
slug_type!(
    /// The slug of a claim that fact-checks across articles are about.
    ClaimId,
    "claim id",
    MAX_SLUG_LEN
);
slug_type!(
    /// The id of a reply inside an annotation's thread.
    ReplyId,
    "reply id",
    MAX_SLUG_LEN
);
slug_type!(
    /// A user's login name, e.g. `alice`.
    UserName,
    "user name",
    32
);

impl AnnotationId {
    /// A fresh random id for an annotation whose creator suggested none.
    pub fn random() -> Self {
        Self(Uuid::new_v4().simple().to_string())
    }
}

impl ReplyId {
    pub fn random() -> Self {
        Self(Uuid::new_v4().simple().to_string())
    }
}

impl UserName {
    /// The actor recorded on events the server writes on its own behalf (article ingestion by
    /// the seed loader, document initialisation).
    pub fn system() -> Self {
        Self("glossa".to_owned())
    }
}

/// The unique id of one event; appends are idempotent by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventId(pub Uuid);

impl EventId {
    /// A new id, ordered by the time it was made (UUID version 7): the log's index of event ids
    /// then grows at its end, as the log does, instead of at random places in its tree.
    pub fn random() -> Self {
        Self(Uuid::now_v7())
    }

    /// A deterministic id derived from a name, so that replaying the same logical step (the seed
    /// loader after a crash, say) produces the same event id and the append is a no-op.
    pub fn derived(name: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(name.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stream groups the events of one aggregate; its version is the optimistic-concurrency token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    /// Article metadata and versions.
    Article(ArticleId),
    /// The CRDT changes of an article's Automerge document.
    Document(ArticleId),
    /// The semantic events of one annotation; its version is the annotation's ETag.
    Annotation(AnnotationId),
    /// A claim and the annotations linked to it.
    Claim(ClaimId),
    /// The desk's house style (its term list).
    Style,
    /// The receipt of one idempotency key of one user (see `idempotency`).
    Request(EventId),
    /// Who may use the desk: users, their roles, and their tokens (hashed).
    Access,
    /// The desk's webhook subscriptions.
    Webhooks,
}

impl StreamId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid("stream", format!("{raw:?} is not a stream id"));
        let (kind, id) = raw.split_once('-').ok_or_else(bad)?;
        match kind {
            "article" => Ok(Self::Article(ArticleId::parse(id)?)),
            "document" => Ok(Self::Document(ArticleId::parse(id)?)),
            "annotation" => Ok(Self::Annotation(AnnotationId::parse(id)?)),
            "claim" => Ok(Self::Claim(ClaimId::parse(id)?)),
            "style" if id == "rules" => Ok(Self::Style),
            "request" => uuid::Uuid::parse_str(id)
                .map(|uuid| Self::Request(EventId(uuid)))
                .map_err(|_| bad()),
            "access" if id == "control" => Ok(Self::Access),
            "webhook" if id == "subscriptions" => Ok(Self::Webhooks),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Article(id) => write!(f, "article-{id}"),
            Self::Document(id) => write!(f, "document-{id}"),
            Self::Annotation(id) => write!(f, "annotation-{id}"),
            Self::Claim(id) => write!(f, "claim-{id}"),
            Self::Style => f.write_str("style-rules"),
            Self::Request(id) => write!(f, "request-{id}"),
            Self::Access => f.write_str("access-control"),
            Self::Webhooks => f.write_str("webhook-subscriptions"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_refuse_traversal_and_upper_case() {
        assert!(ArticleId::parse("../etc").is_err());
        assert!(ArticleId::parse("Macron").is_err());
        assert!(ArticleId::parse("").is_err());
        assert!(ArticleId::parse(&"a".repeat(65)).is_err());
        assert!(ArticleId::parse("twenty-six-nations").is_ok());
    }

    #[test]
    fn stream_ids_round_trip() {
        let stream = StreamId::Annotation(AnnotationId::parse("seed-1").unwrap());
        assert_eq!(StreamId::parse(&stream.to_string()).unwrap(), stream);
        let request = StreamId::Request(EventId::derived("k"));
        assert_eq!(StreamId::parse(&request.to_string()).unwrap(), request);
    }

    #[test]
    fn new_event_ids_sort_in_the_order_they_were_made() {
        // The log's id index is keyed by the id's bytes: made one after the other, ids must
        // land one after the other, at the index's end.
        let ids: Vec<EventId> = (0..10_000).map(|_| EventId::random()).collect();
        for pair in ids.windows(2) {
            assert!(
                pair[0].0.as_bytes() < pair[1].0.as_bytes(),
                "{} was made before {} but sorts after it",
                pair[0].0,
                pair[1].0
            );
        }
    }

    #[test]
    fn derived_event_ids_are_stable() {
        assert_eq!(EventId::derived("x"), EventId::derived("x"));
        assert_ne!(EventId::derived("x"), EventId::derived("y"));
    }
}
