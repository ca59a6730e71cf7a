//! One field of an annotation at a time: reading it from its map in the document, writing it
//! back, comparing and copying it between annotations. `schema::read_annotation` reads every
//! field through the readers here; compensation undoes a sync change field by field with the
//! rest, so that it leaves valid concurrent edits (typing in the note) alone.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};

use crate::domain::{
    Annotation, AnnotationId, ArticleId, ClaimOrigin, Claimant, ClaimantType, EditLabel, Kind,
    Reply, ReplyId, Source, Status, Target, TextPosition, TextQuote, UserName, Verdict,
};

use super::values::{
    child, insert_reply, invalid, list_items, map_list, opt_str, parsed, put_opt, put_sources,
    put_str_list, put_targets, req_str, req_time, req_uint, scalar, SchemaError,
};
use crate::clock::timestamp;

/// A field of an annotation's map in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Id,
    Creator,
    Created,
    Kind,
    Status,
    Deleted,
    Canonical,
    Via,
    Targets,
    Verdict,
    Suggestion,
    EditLabel,
    Claim,
    Assignee,
    Tags,
    Sources,
    Replies,
    Body,
    Modified,
}

impl Field {
    /// Every field, the ones other rules depend on first.
    pub const ALL: [Field; 19] = [
        Field::Id,
        Field::Creator,
        Field::Created,
        Field::Kind,
        Field::Status,
        Field::Deleted,
        Field::Canonical,
        Field::Via,
        Field::Targets,
        Field::Verdict,
        Field::Suggestion,
        Field::EditLabel,
        Field::Claim,
        Field::Assignee,
        Field::Tags,
        Field::Sources,
        Field::Replies,
        Field::Body,
        Field::Modified,
    ];

    /// The field's key in the annotation's map.
    pub fn key(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Creator => "creator",
            Field::Created => "created",
            Field::Kind => "kind",
            Field::Status => "status",
            Field::Deleted => "deleted",
            Field::Canonical => "canonical",
            Field::Via => "via",
            Field::Targets => "targets",
            Field::Verdict => "verdict",
            Field::Suggestion => "suggestion",
            Field::EditLabel => "editLabel",
            // One field under five keys (claimantName, claimantUrl, claimantType, claimDate,
            // claimSummary), named by the one every claimant has.
            Field::Claim => "claimantName",
            Field::Assignee => "assignee",
            Field::Tags => "tags",
            Field::Sources => "sources",
            Field::Replies => "replies",
            Field::Body => "body",
            Field::Modified => "modified",
        }
    }

    /// Copies this field of `from` into `to`.
    pub fn copy(self, from: &Annotation, to: &mut Annotation) {
        match self {
            Field::Id => to.id = from.id.clone(),
            Field::Creator => to.creator = from.creator.clone(),
            Field::Created => to.created = from.created,
            Field::Kind => to.kind = from.kind,
            Field::Status => to.status = from.status,
            Field::Deleted => to.deleted = from.deleted,
            Field::Canonical => to.canonical = from.canonical.clone(),
            Field::Via => to.via = from.via.clone(),
            Field::Targets => to.targets = from.targets.clone(),
            Field::Verdict => to.verdict = from.verdict,
            Field::Suggestion => to.suggestion = from.suggestion.clone(),
            Field::EditLabel => to.edit_label = from.edit_label,
            Field::Claim => to.claim = from.claim.clone(),
            Field::Assignee => to.assignee = from.assignee.clone(),
            Field::Tags => to.tags = from.tags.clone(),
            Field::Sources => to.sources = from.sources.clone(),
            Field::Replies => to.replies = from.replies.clone(),
            Field::Body => to.body = from.body.clone(),
            Field::Modified => to.modified = from.modified,
        }
    }

    /// Whether `a` and `b` agree on this field.
    pub fn same(self, a: &Annotation, b: &Annotation) -> bool {
        let mut probe = b.clone();
        self.copy(a, &mut probe);
        &probe == b
    }

    /// Reads this field of the annotation map `obj` (under key `key`) into `into`.
    pub fn read<R: ReadDoc>(
        self,
        doc: &R,
        obj: &ObjId,
        key: &str,
        into: &mut Annotation,
    ) -> Result<(), SchemaError> {
        let path = format!("annotations.{key}");
        let p = path.as_str();
        match self {
            Field::Id => into.id = id(doc, obj, key, p)?,
            Field::Creator => into.creator = creator(doc, obj, p)?,
            Field::Created => into.created = req_time(doc, obj, "created", p)?,
            Field::Kind => into.kind = kind(doc, obj, p)?,
            Field::Status => into.status = status(doc, obj, p)?,
            Field::Deleted => into.deleted = deleted(doc, obj, p)?,
            Field::Canonical => into.canonical = opt_str(doc, obj, "canonical", p)?,
            Field::Via => into.via = opt_str(doc, obj, "via", p)?,
            Field::Targets => into.targets = targets(doc, obj, p)?,
            Field::Verdict => into.verdict = verdict(doc, obj, p)?,
            Field::Suggestion => into.suggestion = opt_str(doc, obj, "suggestion", p)?,
            Field::EditLabel => into.edit_label = edit_label(doc, obj, p)?,
            Field::Claim => into.claim = claim(doc, obj, p)?.map(Box::new),
            Field::Assignee => into.assignee = assignee(doc, obj, p)?,
            Field::Tags => into.tags = tags(doc, obj, p)?,
            Field::Sources => into.sources = sources(doc, obj, p)?,
            Field::Replies => into.replies = replies(doc, obj, p)?,
            Field::Body => into.body = body(doc, obj, p)?,
            Field::Modified => into.modified = req_time(doc, obj, "modified", p)?,
        }
        Ok(())
    }

    /// Writes this field of `from` over whatever the map `obj` holds. The note is updated in
    /// place (only the characters that differ), so concurrent typing elsewhere in it stays.
    pub fn write<T: Transactable>(
        self,
        tx: &mut T,
        obj: &ObjId,
        from: &Annotation,
    ) -> Result<(), SchemaError> {
        match self {
            Field::Id => tx.put(obj, "id", from.id.as_str())?,
            Field::Creator => tx.put(obj, "creator", from.creator.as_str())?,
            Field::Created => tx.put(obj, "created", timestamp(from.created))?,
            Field::Kind => tx.put(obj, "kind", from.kind.as_str())?,
            Field::Status => tx.put(obj, "status", from.status.as_str())?,
            Field::Deleted => tx.put(obj, "deleted", from.deleted)?,
            Field::Canonical => put_opt(tx, obj, "canonical", from.canonical.as_deref())?,
            Field::Via => put_opt(tx, obj, "via", from.via.as_deref())?,
            Field::Targets => put_targets(tx, obj, &from.targets)?,
            Field::Verdict => put_opt(tx, obj, "verdict", from.verdict.map(Verdict::as_str))?,
            Field::Suggestion => put_opt(tx, obj, "suggestion", from.suggestion.as_deref())?,
            Field::EditLabel => {
                put_opt(tx, obj, "editLabel", from.edit_label.map(EditLabel::as_str))?
            }
            Field::Claim => put_claim(tx, obj, from.claim.as_deref())?,
            Field::Assignee => put_opt(
                tx,
                obj,
                "assignee",
                from.assignee.as_ref().map(|a| a.as_str()),
            )?,
            Field::Tags => put_str_list(tx, obj, "tags", &from.tags)?,
            Field::Sources => put_sources(tx, obj, &from.sources)?,
            Field::Replies => {
                let list = tx.put_object(obj, "replies", ObjType::List)?;
                for (i, reply) in from.replies.iter().enumerate() {
                    insert_reply(tx, &list, i, reply)?;
                }
            }
            Field::Body => match tx.get(obj, "body")? {
                Some((Value::Object(ObjType::Text), text)) => tx.update_text(&text, &from.body)?,
                _ => {
                    let text = tx.put_object(obj, "body", ObjType::Text)?;
                    tx.splice_text(&text, 0, 0, &from.body)?;
                }
            },
            Field::Modified => tx.put(obj, "modified", timestamp(from.modified))?,
        }
        Ok(())
    }
}

// ---- the readers, one per field that needs more than a string ---------------------------------

pub(super) fn id<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    p: &str,
) -> Result<AnnotationId, SchemaError> {
    let id = parsed(
        format!("{p}.id"),
        AnnotationId::parse(&req_str(doc, obj, "id", p)?),
    )?;
    if id.as_str() != key {
        return Err(invalid(
            format!("{p}.id"),
            "must equal the annotation's key",
        ));
    }
    Ok(id)
}

pub(super) fn kind<R: ReadDoc>(doc: &R, obj: &ObjId, p: &str) -> Result<Kind, SchemaError> {
    parsed(
        format!("{p}.kind"),
        Kind::parse(&req_str(doc, obj, "kind", p)?),
    )
}

pub(super) fn status<R: ReadDoc>(doc: &R, obj: &ObjId, p: &str) -> Result<Status, SchemaError> {
    parsed(
        format!("{p}.status"),
        Status::parse(&req_str(doc, obj, "status", p)?),
    )
}

pub(super) fn creator<R: ReadDoc>(doc: &R, obj: &ObjId, p: &str) -> Result<UserName, SchemaError> {
    parsed(
        format!("{p}.creator"),
        UserName::parse(&req_str(doc, obj, "creator", p)?),
    )
}

pub(super) fn verdict<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    p: &str,
) -> Result<Option<Verdict>, SchemaError> {
    opt_str(doc, obj, "verdict", p)?
        .map(|v| parsed(format!("{p}.verdict"), Verdict::parse(&v)))
        .transpose()
}

pub(super) fn edit_label<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    p: &str,
) -> Result<Option<EditLabel>, SchemaError> {
    opt_str(doc, obj, "editLabel", p)?
        .map(|v| parsed(format!("{p}.editLabel"), EditLabel::parse(&v)))
        .transpose()
}

/// A fact-check's claim: the claimant's name (without which its URL and type mean nothing),
/// the date, the summary; `None` when none is there.
pub(super) fn claim<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    p: &str,
) -> Result<Option<ClaimOrigin>, SchemaError> {
    let name = opt_str(doc, obj, "claimantName", p)?;
    let url = opt_str(doc, obj, "claimantUrl", p)?;
    let kind = opt_str(doc, obj, "claimantType", p)?
        .map(|v| parsed(format!("{p}.claimantType"), ClaimantType::parse(&v)))
        .transpose()?;
    let claimant = match name {
        Some(name) => Some(Claimant { name, url, kind }),
        None if url.is_some() || kind.is_some() => {
            return Err(invalid(
                format!("{p}.claimantName"),
                "is missing, and a claimant's URL or type needs it",
            ))
        }
        None => None,
    };
    Ok(ClaimOrigin {
        claimant,
        date: opt_str(doc, obj, "claimDate", p)?,
        summary: opt_str(doc, obj, "claimSummary", p)?,
    }
    .or_none())
}

/// Writes a fact-check's claim over the five keys (absent parts are no keys).
pub(super) fn put_claim<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    claim: Option<&ClaimOrigin>,
) -> Result<(), SchemaError> {
    let claimant = claim.and_then(|c| c.claimant.as_ref());
    put_opt(tx, obj, "claimantName", claimant.map(|c| c.name.as_str()))?;
    put_opt(
        tx,
        obj,
        "claimantUrl",
        claimant.and_then(|c| c.url.as_deref()),
    )?;
    let kind = claimant.and_then(|c| c.kind).map(ClaimantType::as_str);
    put_opt(tx, obj, "claimantType", kind)?;
    put_opt(tx, obj, "claimDate", claim.and_then(|c| c.date.as_deref()))?;
    put_opt(
        tx,
        obj,
        "claimSummary",
        claim.and_then(|c| c.summary.as_deref()),
    )
}

pub(super) fn assignee<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    p: &str,
) -> Result<Option<UserName>, SchemaError> {
    opt_str(doc, obj, "assignee", p)?
        .map(|v| parsed(format!("{p}.assignee"), UserName::parse(&v)))
        .transpose()
}

pub(super) fn body<R: ReadDoc>(doc: &R, obj: &ObjId, p: &str) -> Result<String, SchemaError> {
    Ok(match doc.get(obj, "body")? {
        Some((Value::Object(ObjType::Text), text)) => doc.text(&text)?,
        Some((Value::Scalar(s), _)) if s.is_str() => s.as_str().unwrap_or_default().to_owned(),
        None => String::new(),
        Some(_) => return Err(invalid(format!("{p}.body"), "must be text")),
    })
}

pub(super) fn deleted<R: ReadDoc>(doc: &R, obj: &ObjId, p: &str) -> Result<bool, SchemaError> {
    match scalar(doc, obj, "deleted", p)? {
        None => Ok(false),
        Some(ScalarValue::Boolean(b)) => Ok(b),
        Some(_) => Err(invalid(format!("{p}.deleted"), "must be a boolean")),
    }
}

pub(super) fn tags<R: ReadDoc>(doc: &R, obj: &ObjId, p: &str) -> Result<Vec<String>, SchemaError> {
    let Some(list) = child(doc, obj, "tags", ObjType::List, p)? else {
        return Ok(Vec::new());
    };
    list_items(doc, &list)?
        .into_iter()
        .enumerate()
        .map(|(i, (value, item))| match value {
            Value::Scalar(s) if s.is_str() => Ok(s.as_str().unwrap_or_default().to_owned()),
            Value::Object(ObjType::Text) => Ok(doc.text(&item)?),
            _ => Err(invalid(format!("{p}.tags[{i}]"), "must be a string")),
        })
        .collect()
}

pub(super) fn sources<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    p: &str,
) -> Result<Vec<Source>, SchemaError> {
    map_list(doc, obj, "sources", p, |item, ip| {
        Ok(Source {
            url: req_str(doc, item, "url", ip)?,
            title: opt_str(doc, item, "title", ip)?,
            archived: opt_str(doc, item, "archived", ip)?,
        })
    })
}

pub(super) fn targets<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    p: &str,
) -> Result<Vec<Target>, SchemaError> {
    map_list(doc, obj, "targets", p, |item, ip| {
        let version = req_uint(doc, item, "version", ip)?;
        Ok(Target {
            article: parsed(
                format!("{ip}.article"),
                ArticleId::parse(&req_str(doc, item, "article", ip)?),
            )?,
            version: u32::try_from(version)
                .map_err(|_| invalid(format!("{ip}.version"), "is too large"))?,
            quote: TextQuote {
                exact: req_str(doc, item, "exact", ip)?,
                prefix: opt_str(doc, item, "prefix", ip)?.unwrap_or_default(),
                suffix: opt_str(doc, item, "suffix", ip)?.unwrap_or_default(),
            },
            position: TextPosition {
                start: req_uint(doc, item, "start", ip)?,
                end: req_uint(doc, item, "end", ip)?,
            },
        })
    })
}

pub(super) fn replies<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    p: &str,
) -> Result<Vec<Reply>, SchemaError> {
    map_list(doc, obj, "replies", p, |item, ip| {
        Ok(Reply {
            id: parsed(
                format!("{ip}.id"),
                ReplyId::parse(&req_str(doc, item, "id", ip)?),
            )?,
            parent: opt_str(doc, item, "parent", ip)?
                .map(|r| parsed(format!("{ip}.parent"), ReplyId::parse(&r)))
                .transpose()?,
            creator: parsed(
                format!("{ip}.creator"),
                UserName::parse(&req_str(doc, item, "creator", ip)?),
            )?,
            created: req_time(doc, item, "created", ip)?,
            text: req_str(doc, item, "text", ip)?,
        })
    })
}
