//! The `data` of each event type, version 1, exactly as shipped: one struct per type, with
//! serde names written out. These are the log's contract; `codec` converts them to and from
//! the domain's [`DomainEvent`](super::DomainEvent).
//!
//! A shipped shape is never edited: a new field must be an `Option` with `#[serde(default)]`
//! (older events lack it), and anything else is a new type or a version 2 with an upcaster.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::shapes::{AnnotationV1, PositionV1, QuoteV1, ReplyV1, StyleRuleV1, TargetAnchorV1};
use super::words::{ClaimantTypeV1, StatusV1};
use crate::domain::{AnnotationId, ArticleId, ClaimId};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ArticleCreatedV1 {
    pub article: ArticleId,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub outlet: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    pub document_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ArticleVersionPublishedV1 {
    pub article: ArticleId,
    pub version: u32,
    pub sha256: String,
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DocumentChangedV1 {
    pub article: ArticleId,
    pub hash: String,
    pub heads: Vec<String>,
    pub actor: String,
    pub seq: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AnnotationCreatedV1 {
    pub annotation: AnnotationV1,
}

/// One field's value before and after; the field names are those of [`AnnotationV1`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct FieldChangeV1 {
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AnnotationUpdatedV1 {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub changes: BTreeMap<String, FieldChangeV1>,
    pub modified: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AnnotationStatusChangedV1 {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub from: StatusV1,
    pub to: StatusV1,
    pub modified: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ReplyAddedV1 {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub reply: ReplyV1,
    pub modified: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AnnotationDeletedV1 {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub modified: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AnnotationAnchoredV1 {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub version: u32,
    pub anchors: Vec<TargetAnchorV1>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AnnotationReattachedV1 {
    pub id: AnnotationId,
    pub article: ArticleId,
    pub version: u32,
    pub target: usize,
    pub quote: QuoteV1,
    pub position: PositionV1,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ClaimCreatedV1 {
    pub claim: ClaimId,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant: Option<String>,
    /// Added after release 1, like the two below: absent when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant_type: Option<ClaimantTypeV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_date: Option<String>,
}

/// `claim.linked` and `claim.unlinked`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ClaimLinkV1 {
    pub claim: ClaimId,
    pub annotation: AnnotationId,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StyleRulesSetV1 {
    pub rules: Vec<StyleRuleV1>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RequestRecordedV1 {
    pub method: String,
    pub path: String,
    pub body_sha256: String,
    pub subject: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ChangeRejectedV1 {
    pub article: ArticleId,
    pub key: String,
    pub user: String,
    pub reason: String,
    pub changes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<Vec<String>>,
}
