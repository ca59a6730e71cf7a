//! The shapes events carry inside their payloads (an annotation, a target, a reply, an anchor,
//! a style rule), version 1, written out field by field with the names that were shipped.
//!
//! They are not the domain's structs: the domain may rename or regroup its fields freely, and
//! the conversions below (which destructure every field, with no `..`) stop compiling until
//! someone decides what the change means for the log. Ids are carried as their own types:
//! their wire form is the string they parse from, with no fields to rename.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::words::{AnchorStatusV1, ClaimantTypeV1, EditLabelV1, KindV1, StatusV1, VerdictV1};
use super::{StyleRule, TargetAnchor};
use crate::domain::anchoring::Anchor;
use crate::domain::{
    Annotation, AnnotationId, ArticleId, ClaimOrigin, Claimant, Reply, ReplyId, Source, Target,
    TextPosition, TextQuote, UserName,
};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct PositionV1 {
    start: u64,
    end: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct QuoteV1 {
    exact: String,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct TargetV1 {
    article: ArticleId,
    version: u32,
    quote: QuoteV1,
    position: PositionV1,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct SourceV1 {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    archived: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ReplyV1 {
    id: ReplyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<ReplyId>,
    creator: UserName,
    created: DateTime<Utc>,
    text: String,
}

/// Who made a fact-checked claim (added after release 1: optional in `AnnotationV1`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ClaimantV1 {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<ClaimantTypeV1>,
}

/// A fact-check's claim: claimant, date, summary (added after release 1: optional in
/// `AnnotationV1`, absent from every earlier event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct ClaimOriginV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claimant: Option<ClaimantV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
}

/// The whole annotation, as `annotation.created` carries it; `annotation.updated` names its
/// fields in `changes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct AnnotationV1 {
    id: AnnotationId,
    kind: KindV1,
    body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<VerdictV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suggestion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    edit_label: Option<EditLabelV1>,
    /// Added after release 1; absent when unset, so earlier shapes are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<ClaimOriginV1>,
    #[serde(default)]
    sources: Vec<SourceV1>,
    status: StatusV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assignee: Option<UserName>,
    #[serde(default)]
    tags: Vec<String>,
    targets: Vec<TargetV1>,
    creator: UserName,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    #[serde(default)]
    replies: Vec<ReplyV1>,
    #[serde(default)]
    deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    canonical: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    via: Option<String>,
}

/// Where one target (by index) is in one version: the target's index beside the anchor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct TargetAnchorV1 {
    target: usize,
    status: AnchorStatusV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    position: Option<PositionV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quote: Option<QuoteV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    candidates: Vec<PositionV1>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct StyleRuleV1 {
    id: String,
    preferred: String,
    variants: Vec<String>,
}

impl From<TextPosition> for PositionV1 {
    fn from(TextPosition { start, end }: TextPosition) -> Self {
        Self { start, end }
    }
}

impl From<PositionV1> for TextPosition {
    fn from(PositionV1 { start, end }: PositionV1) -> Self {
        Self { start, end }
    }
}

impl From<TextQuote> for QuoteV1 {
    fn from(
        TextQuote {
            exact,
            prefix,
            suffix,
        }: TextQuote,
    ) -> Self {
        Self {
            exact,
            prefix,
            suffix,
        }
    }
}

impl From<QuoteV1> for TextQuote {
    fn from(
        QuoteV1 {
            exact,
            prefix,
            suffix,
        }: QuoteV1,
    ) -> Self {
        Self {
            exact,
            prefix,
            suffix,
        }
    }
}

impl From<Target> for TargetV1 {
    fn from(target: Target) -> Self {
        let Target {
            article,
            version,
            quote,
            position,
        } = target;
        Self {
            article,
            version,
            quote: quote.into(),
            position: position.into(),
        }
    }
}

impl From<TargetV1> for Target {
    fn from(target: TargetV1) -> Self {
        let TargetV1 {
            article,
            version,
            quote,
            position,
        } = target;
        Self {
            article,
            version,
            quote: quote.into(),
            position: position.into(),
        }
    }
}

impl From<Source> for SourceV1 {
    fn from(
        Source {
            url,
            title,
            archived,
        }: Source,
    ) -> Self {
        Self {
            url,
            title,
            archived,
        }
    }
}

impl From<SourceV1> for Source {
    fn from(
        SourceV1 {
            url,
            title,
            archived,
        }: SourceV1,
    ) -> Self {
        Self {
            url,
            title,
            archived,
        }
    }
}

impl From<Reply> for ReplyV1 {
    fn from(reply: Reply) -> Self {
        let Reply {
            id,
            parent,
            creator,
            created,
            text,
        } = reply;
        Self {
            id,
            parent,
            creator,
            created,
            text,
        }
    }
}

impl From<ReplyV1> for Reply {
    fn from(reply: ReplyV1) -> Self {
        let ReplyV1 {
            id,
            parent,
            creator,
            created,
            text,
        } = reply;
        Self {
            id,
            parent,
            creator,
            created,
            text,
        }
    }
}

fn each<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

impl From<Annotation> for AnnotationV1 {
    fn from(annotation: Annotation) -> Self {
        let Annotation {
            id,
            kind,
            body,
            verdict,
            suggestion,
            edit_label,
            claim,
            sources,
            status,
            assignee,
            tags,
            targets,
            creator,
            created,
            modified,
            replies,
            deleted,
            canonical,
            via,
        } = annotation;
        Self {
            id,
            kind: kind.into(),
            body,
            verdict: verdict.map(Into::into),
            suggestion,
            edit_label: edit_label.map(Into::into),
            claim: claim.map(|c| (*c).into()),
            sources: each(sources),
            status: status.into(),
            assignee,
            tags,
            targets: each(targets),
            creator,
            created,
            modified,
            replies: each(replies),
            deleted,
            canonical,
            via,
        }
    }
}

impl From<AnnotationV1> for Annotation {
    fn from(annotation: AnnotationV1) -> Self {
        let AnnotationV1 {
            id,
            kind,
            body,
            verdict,
            suggestion,
            edit_label,
            claim,
            sources,
            status,
            assignee,
            tags,
            targets,
            creator,
            created,
            modified,
            replies,
            deleted,
            canonical,
            via,
        } = annotation;
        Self {
            id,
            kind: kind.into(),
            body,
            verdict: verdict.map(Into::into),
            suggestion,
            edit_label: edit_label.map(Into::into),
            claim: claim.map(|c| Box::new(c.into())),
            sources: each(sources),
            status: status.into(),
            assignee,
            tags,
            targets: each(targets),
            creator,
            created,
            modified,
            replies: each(replies),
            deleted,
            canonical,
            via,
        }
    }
}

impl From<Claimant> for ClaimantV1 {
    fn from(Claimant { name, url, kind }: Claimant) -> Self {
        Self {
            name,
            url,
            kind: kind.map(Into::into),
        }
    }
}

impl From<ClaimantV1> for Claimant {
    fn from(ClaimantV1 { name, url, kind }: ClaimantV1) -> Self {
        Self {
            name,
            url,
            kind: kind.map(Into::into),
        }
    }
}

impl From<ClaimOrigin> for ClaimOriginV1 {
    fn from(
        ClaimOrigin {
            claimant,
            date,
            summary,
        }: ClaimOrigin,
    ) -> Self {
        Self {
            claimant: claimant.map(Into::into),
            date,
            summary,
        }
    }
}

impl From<ClaimOriginV1> for ClaimOrigin {
    fn from(
        ClaimOriginV1 {
            claimant,
            date,
            summary,
        }: ClaimOriginV1,
    ) -> Self {
        Self {
            claimant: claimant.map(Into::into),
            date,
            summary,
        }
    }
}

impl From<TargetAnchor> for TargetAnchorV1 {
    fn from(TargetAnchor { target, anchor }: TargetAnchor) -> Self {
        let Anchor {
            status,
            position,
            quote,
            score,
            candidates,
        } = anchor;
        Self {
            target,
            status: status.into(),
            position: position.map(Into::into),
            quote: quote.map(Into::into),
            score,
            candidates: each(candidates),
        }
    }
}

impl From<TargetAnchorV1> for TargetAnchor {
    fn from(anchor: TargetAnchorV1) -> Self {
        let TargetAnchorV1 {
            target,
            status,
            position,
            quote,
            score,
            candidates,
        } = anchor;
        Self {
            target,
            anchor: Anchor {
                status: status.into(),
                position: position.map(Into::into),
                quote: quote.map(Into::into),
                score,
                candidates: each(candidates),
            },
        }
    }
}

impl From<StyleRule> for StyleRuleV1 {
    fn from(
        StyleRule {
            id,
            preferred,
            variants,
        }: StyleRule,
    ) -> Self {
        Self {
            id,
            preferred,
            variants,
        }
    }
}

impl From<StyleRuleV1> for StyleRule {
    fn from(
        StyleRuleV1 {
            id,
            preferred,
            variants,
        }: StyleRuleV1,
    ) -> Self {
        Self {
            id,
            preferred,
            variants,
        }
    }
}
