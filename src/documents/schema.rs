//! How annotations are laid out in an article's Automerge document, and the mapping both ways.
//!
//! ```text
//! ROOT
//! └─ annotations: Map  id → Map
//!      id, kind, status, creator, created, modified: str   (timestamps RFC 3339, UTC, `Z`)
//!      body: Text                                           (collaborative note)
//!      verdict, suggestion, editLabel, assignee, canonical, via: str (absent when unset)
//!      deleted: bool
//!      tags: List<str>
//!      sources: List<Map{url, title?, archived?}>
//!      targets: List<Map{article, version, exact, prefix, suffix, start, end}>
//!      replies: List<Map{id, parent?, creator, created, text}>
//! ```
//! Keys are camelCase because JavaScript clients read the same document. Reading is strict: a
//! field of the wrong type is a [`SchemaError`], which the sync path turns into a compensation.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, Value, ROOT};

use crate::domain::{Annotation, AnnotationId, EditLabel, Verdict};

use super::fields;
pub(super) use super::values::invalid;
pub use super::values::SchemaError;
use super::values::{
    insert_reply, opt_str, put_opt, put_sources, put_str_list, put_targets, req_time,
};

pub const ANNOTATIONS: &str = "annotations";

pub use crate::clock::timestamp;

/// The `annotations` map, if the document has been initialised.
pub fn annotations_map<R: ReadDoc>(doc: &R) -> Result<Option<ObjId>, SchemaError> {
    match doc.get(ROOT, ANNOTATIONS)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(Some(id)),
        Some(_) => Err(invalid(ANNOTATIONS, "is not a map")),
        None => Ok(None),
    }
}

/// Creates the `annotations` map: the first change of every article document.
pub fn initialise<T: Transactable>(tx: &mut T) -> Result<ObjId, SchemaError> {
    Ok(tx.put_object(ROOT, ANNOTATIONS, ObjType::Map)?)
}

/// Reads one annotation map: every field, strictly.
pub fn read_annotation<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
) -> Result<Annotation, SchemaError> {
    let path = format!("annotations.{key}");
    let p = path.as_str();
    // In the order errors have always been reported in.
    let id = fields::id(doc, obj, key, p)?;
    let body = fields::body(doc, obj, p)?;
    let tags = fields::tags(doc, obj, p)?;
    let sources = fields::sources(doc, obj, p)?;
    let targets = fields::targets(doc, obj, p)?;
    let replies = fields::replies(doc, obj, p)?;
    let deleted = fields::deleted(doc, obj, p)?;
    Ok(Annotation {
        id,
        kind: fields::kind(doc, obj, p)?,
        body,
        verdict: fields::verdict(doc, obj, p)?,
        suggestion: opt_str(doc, obj, "suggestion", p)?,
        edit_label: fields::edit_label(doc, obj, p)?,
        sources,
        status: fields::status(doc, obj, p)?,
        assignee: fields::assignee(doc, obj, p)?,
        tags,
        targets,
        creator: fields::creator(doc, obj, p)?,
        created: req_time(doc, obj, "created", p)?,
        modified: req_time(doc, obj, "modified", p)?,
        replies,
        deleted,
        canonical: opt_str(doc, obj, "canonical", p)?,
        via: opt_str(doc, obj, "via", p)?,
    })
}

/// Reads one annotation by id, if the document has it.
pub fn read_one<R: ReadDoc>(doc: &R, id: &AnnotationId) -> Result<Option<Annotation>, SchemaError> {
    let Some(map) = annotations_map(doc)? else {
        return Ok(None);
    };
    match doc.get(&map, id.as_str())? {
        Some((Value::Object(ObjType::Map), obj)) => {
            read_annotation(doc, &obj, id.as_str()).map(Some)
        }
        Some(_) => Err(invalid(format!("annotations.{id}"), "must be a map")),
        None => Ok(None),
    }
}

/// One entry of the `annotations` map by key: `None` if absent.
pub fn read_entry<R: ReadDoc>(
    doc: &R,
    map: &ObjId,
    key: &str,
) -> Result<Option<Result<Annotation, SchemaError>>, SchemaError> {
    Ok(match doc.get(map, key)? {
        None => None,
        Some((Value::Object(ObjType::Map), obj)) => Some(read_annotation(doc, &obj, key)),
        Some(_) => Some(Err(invalid(format!("annotations.{key}"), "must be a map"))),
    })
}

/// Reads every annotation in the document, in key order.
pub fn read_all<R: ReadDoc>(doc: &R) -> Result<Vec<Annotation>, SchemaError> {
    let Some(map) = annotations_map(doc)? else {
        return Ok(Vec::new());
    };
    let keys: Vec<String> = doc.keys(&map).collect();
    let mut all = Vec::with_capacity(keys.len());
    for key in keys {
        match doc.get(&map, key.as_str())? {
            Some((Value::Object(ObjType::Map), obj)) => all.push(read_annotation(doc, &obj, &key)?),
            _ => return Err(invalid(format!("annotations.{key}"), "must be a map")),
        }
    }
    Ok(all)
}

/// Writes `after` into the document, touching only what differs from `before`, so concurrent
/// edits of other fields (and of other parts of the body text) merge cleanly.
pub fn write_annotation<T: Transactable>(
    tx: &mut T,
    map: &ObjId,
    before: Option<&Annotation>,
    after: &Annotation,
) -> Result<(), SchemaError> {
    let obj = match (before, tx.get(map, after.id.as_str())?) {
        (Some(_), Some((Value::Object(ObjType::Map), obj))) => obj,
        _ => tx.put_object(map, after.id.as_str(), ObjType::Map)?,
    };
    match before {
        None => write_identity(tx, &obj, after)?,
        Some(before) => write_provenance(tx, &obj, before, after)?,
    }
    write_content(tx, &obj, before, after)?;
    append_replies(tx, &obj, before.map_or(0, |b| b.replies.len()), after)
}

/// What a new entry is born with: who made it and when, its note and an empty reply list.
fn write_identity<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    after: &Annotation,
) -> Result<(), SchemaError> {
    tx.put(obj, "id", after.id.as_str())?;
    tx.put(obj, "creator", after.creator.as_str())?;
    tx.put(obj, "created", timestamp(after.created))?;
    put_opt(tx, obj, "canonical", after.canonical.as_deref())?;
    put_opt(tx, obj, "via", after.via.as_deref())?;
    let body = tx.put_object(obj, "body", ObjType::Text)?;
    tx.splice_text(&body, 0, 0, &after.body)?;
    tx.put_object(obj, "replies", ObjType::List)?;
    Ok(())
}

/// The note (edited in place, so concurrent typing merges), `canonical` and `via` of an
/// existing entry, where they changed.
fn write_provenance<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    before: &Annotation,
    after: &Annotation,
) -> Result<(), SchemaError> {
    if before.body != after.body {
        match tx.get(obj, "body")? {
            Some((Value::Object(ObjType::Text), body)) => tx.update_text(&body, &after.body)?,
            _ => {
                let body = tx.put_object(obj, "body", ObjType::Text)?;
                tx.splice_text(&body, 0, 0, &after.body)?;
            }
        }
    }
    if before.canonical != after.canonical {
        put_opt(tx, obj, "canonical", after.canonical.as_deref())?;
    }
    if before.via != after.via {
        put_opt(tx, obj, "via", after.via.as_deref())?;
    }
    Ok(())
}

/// Every other field, where it changed (all of them for a new entry).
fn write_content<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    before: Option<&Annotation>,
    after: &Annotation,
) -> Result<(), SchemaError> {
    let changed = |f: &dyn Fn(&Annotation) -> bool| before.is_none_or(|b| !f(b));
    if changed(&|b| b.kind == after.kind) {
        tx.put(obj, "kind", after.kind.as_str())?;
    }
    if changed(&|b| b.status == after.status) {
        tx.put(obj, "status", after.status.as_str())?;
    }
    if changed(&|b| b.verdict == after.verdict) {
        put_opt(tx, obj, "verdict", after.verdict.map(Verdict::as_str))?;
    }
    if changed(&|b| b.suggestion == after.suggestion) {
        put_opt(tx, obj, "suggestion", after.suggestion.as_deref())?;
    }
    if changed(&|b| b.edit_label == after.edit_label) {
        let label = after.edit_label.map(EditLabel::as_str);
        put_opt(tx, obj, "editLabel", label)?;
    }
    if changed(&|b| b.assignee == after.assignee) {
        let assignee = after.assignee.as_ref().map(|a| a.as_str());
        put_opt(tx, obj, "assignee", assignee)?;
    }
    if changed(&|b| b.tags == after.tags) {
        put_str_list(tx, obj, "tags", &after.tags)?;
    }
    if changed(&|b| b.sources == after.sources) {
        put_sources(tx, obj, &after.sources)?;
    }
    if changed(&|b| b.targets == after.targets) {
        put_targets(tx, obj, &after.targets)?;
    }
    if changed(&|b| b.deleted == after.deleted) {
        tx.put(obj, "deleted", after.deleted)?;
    }
    if changed(&|b| b.modified == after.modified) {
        tx.put(obj, "modified", timestamp(after.modified))?;
    }
    Ok(())
}

/// The replies after the first `known`: replies are only ever added.
fn append_replies<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    known: usize,
    after: &Annotation,
) -> Result<(), SchemaError> {
    if after.replies.len() <= known {
        return Ok(());
    }
    let list = match tx.get(obj, "replies")? {
        Some((Value::Object(ObjType::List), list)) => list,
        _ => tx.put_object(obj, "replies", ObjType::List)?,
    };
    for reply in &after.replies[known..] {
        let end = tx.length(&list);
        insert_reply(tx, &list, end, reply)?;
    }
    Ok(())
}
