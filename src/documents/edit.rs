//! What callers ask of a document and what they get back.

use crate::domain::anchoring::{Anchor, AnchorStatus};
use crate::domain::idempotency::Receipt;
use crate::domain::{
    commands, Annotation, AnnotationId, ArticleId, Reply, Status, TextPosition, UserName,
};

/// A change a user asks of an annotation.
#[derive(Clone, Debug)]
pub enum Edit {
    Create(commands::Create),
    /// An annotation whose one target has no place in the version it is filed on (an import
    /// whose passage is nowhere, or in several places alike): created with its selectors as
    /// they were written, and with `anchor` (`orphaned` or `ambiguous`) recorded for that
    /// version in the same append, so it is never seen as placed there (ADR 0016).
    CreateUnplaced {
        create: commands::Create,
        anchor: Anchor,
    },
    Replace {
        id: AnnotationId,
        expected: Option<u64>,
        replace: commands::Replace,
    },
    SetStatus {
        id: AnnotationId,
        expected: Option<u64>,
        to: Status,
    },
    Assign {
        id: AnnotationId,
        expected: Option<u64>,
        assignee: Option<UserName>,
    },
    AddReply {
        id: AnnotationId,
        reply: Reply,
    },
    Delete {
        id: AnnotationId,
        expected: Option<u64>,
    },
}

impl Edit {
    pub fn target(&self) -> &AnnotationId {
        match self {
            Edit::Create(create) | Edit::CreateUnplaced { create, .. } => &create.id,
            Edit::Replace { id, .. }
            | Edit::SetStatus { id, .. }
            | Edit::Assign { id, .. }
            | Edit::AddReply { id, .. }
            | Edit::Delete { id, .. } => id,
        }
    }

    pub fn expected(&self) -> Option<u64> {
        match self {
            Edit::Create(_) | Edit::CreateUnplaced { .. } => Some(0),
            Edit::Replace { expected, .. }
            | Edit::SetStatus { expected, .. }
            | Edit::Assign { expected, .. }
            | Edit::Delete { expected, .. } => *expected,
            Edit::AddReply { .. } => None,
        }
    }
}

/// The outcome of a durable write.
#[derive(Clone, Debug)]
pub struct Written {
    pub annotation: Annotation,
    /// The annotation stream's version after the write (its ETag).
    pub version: u64,
    /// The last sequence number written (wait for it before reading the read models).
    pub seq: u64,
}

/// The document's heads and annotations, for inspection.
#[derive(Clone, Debug, PartialEq)]
pub struct DocState {
    pub heads: Vec<String>,
    pub annotations: Vec<Annotation>,
    pub saved: Vec<u8>,
}

/// What one re-anchoring pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reanchored {
    /// Annotations that got an anchor for the version.
    pub annotations: usize,
    /// Of their targets, how many ended in each status.
    pub by_status: Vec<(AnchorStatus, usize)>,
}

/// A person's placement of one target of an annotation in one version of an article.
#[derive(Clone, Debug)]
pub struct Reattachment {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub version: u32,
    /// Index of the target in the annotation's `targets`.
    pub target: usize,
    /// The passage, in code points of that version's text.
    pub position: TextPosition,
    /// An idempotency key's receipt, logged with the placement.
    pub receipt: Option<Receipt>,
}
