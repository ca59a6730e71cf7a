//! Why a document refused or failed a write.

use crate::domain::{AnnotationId, ArticleId, DomainError};
use crate::store::StoreError;

use super::schema::SchemaError;

/// Why a document refused or failed a write. `Clone`, so one failure answers every edit of a
/// batch with the error itself, cause and all.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DocError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("annotation {0} does not exist")]
    NotFound(AnnotationId),
    #[error("annotation {0} already exists")]
    AlreadyExists(AnnotationId),
    #[error("the annotation is at version {actual}, not {expected}")]
    VersionMismatch { expected: u64, actual: u64 },
    /// The article has no such version (no text to anchor on).
    #[error("article {article} has no version {version}")]
    NoSuchVersion { article: ArticleId, version: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Other writers kept appending to the document first, try after try.
    #[error("the document is too busy to take this change; try again")]
    Contended,
    #[error("document: {0}")]
    Schema(#[from] SchemaError),
    #[error("the document's task stopped")]
    Stopped,
}
