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
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use chrono::{DateTime, Utc};

use crate::domain::{
    Annotation, AnnotationId, DomainError, EditLabel, Reply, Source, Target, Verdict,
};

use super::fields;

pub const ANNOTATIONS: &str = "annotations";

/// The document does not hold a valid annotation. `Clone` (the Automerge error shared) so a
/// failure can answer every edit of a batch with the error itself.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Automerge(std::sync::Arc<AutomergeError>),
}

impl From<AutomergeError> for SchemaError {
    fn from(error: AutomergeError) -> Self {
        SchemaError::Automerge(std::sync::Arc::new(error))
    }
}

pub(super) fn invalid(path: impl Into<String>, message: impl Into<String>) -> SchemaError {
    SchemaError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

impl From<(String, DomainError)> for SchemaError {
    fn from((path, error): (String, DomainError)) -> Self {
        invalid(path, error.to_string())
    }
}

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

// ---- reading ---------------------------------------------------------------------------------

pub(super) fn scalar<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<ScalarValue>, SchemaError> {
    match doc.get(obj, key)? {
        None => Ok(None),
        Some((Value::Scalar(value), _)) => match value.into_owned() {
            ScalarValue::Null => Ok(None),
            value => Ok(Some(value)),
        },
        Some((Value::Object(ObjType::Text), text)) => {
            Ok(Some(ScalarValue::Str(doc.text(&text)?.into())))
        }
        Some((Value::Object(_), _)) => {
            Err(invalid(format!("{path}.{key}"), "must not be an object"))
        }
    }
}

pub(super) fn opt_str<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<String>, SchemaError> {
    match scalar(doc, obj, key, path)? {
        None => Ok(None),
        Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
        Some(other) => Err(invalid(
            format!("{path}.{key}"),
            format!("must be a string, not {other}"),
        )),
    }
}

pub(super) fn req_str<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<String, SchemaError> {
    opt_str(doc, obj, key, path)?.ok_or_else(|| invalid(format!("{path}.{key}"), "is missing"))
}

pub(super) fn req_uint<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<u64, SchemaError> {
    let bad = || invalid(format!("{path}.{key}"), "must be a non-negative integer");
    match scalar(doc, obj, key, path)? {
        Some(ScalarValue::Uint(n)) => Ok(n),
        Some(ScalarValue::Int(n)) => u64::try_from(n).map_err(|_| bad()),
        // JavaScript numbers can arrive as floats.
        Some(ScalarValue::F64(f)) if f >= 0.0 && f.fract() == 0.0 && f < 9.0e15 => Ok(f as u64),
        _ => Err(bad()),
    }
}

pub(super) fn req_time<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<DateTime<Utc>, SchemaError> {
    let raw = req_str(doc, obj, key, path)?;
    DateTime::parse_from_rfc3339(&raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(format!("{path}.{key}"), "must be an RFC 3339 timestamp"))
}

pub(super) fn parsed<T>(path: String, result: Result<T, DomainError>) -> Result<T, SchemaError> {
    result.map_err(|e| SchemaError::from((path, e)))
}

pub(super) fn child<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    kind: ObjType,
    path: &str,
) -> Result<Option<ObjId>, SchemaError> {
    match doc.get(obj, key)? {
        None => Ok(None),
        Some((Value::Object(t), id)) if t == kind => Ok(Some(id)),
        Some(_) => Err(invalid(
            format!("{path}.{key}"),
            format!("must be a {kind:?}"),
        )),
    }
}

pub(super) fn list_items<R: ReadDoc>(
    doc: &R,
    list: &ObjId,
) -> Result<Vec<(Value<'static>, ObjId)>, SchemaError> {
    let mut items = Vec::new();
    for index in 0..doc.length(list) {
        if let Some((value, id)) = doc.get(list, index)? {
            items.push((value.into_owned(), id));
        }
    }
    Ok(items)
}

pub(super) fn map_list<R: ReadDoc, T>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
    read: impl Fn(&ObjId, &str) -> Result<T, SchemaError>,
) -> Result<Vec<T>, SchemaError> {
    let Some(list) = child(doc, obj, key, ObjType::List, path)? else {
        return Ok(Vec::new());
    };
    list_items(doc, &list)?
        .into_iter()
        .enumerate()
        .map(|(i, (value, id))| {
            let item_path = format!("{path}.{key}[{i}]");
            match value {
                Value::Object(ObjType::Map) => read(&id, &item_path),
                _ => Err(invalid(item_path, "must be a map")),
            }
        })
        .collect()
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

// ---- writing ---------------------------------------------------------------------------------

pub(super) fn put_opt<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<(), SchemaError> {
    match value {
        Some(v) => tx.put(obj, key, v)?,
        None => {
            if tx.get(obj, key)?.is_some() {
                tx.delete(obj, key)?;
            }
        }
    }
    Ok(())
}

pub(super) fn put_str_list<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    items: &[String],
) -> Result<(), SchemaError> {
    let list = tx.put_object(obj, key, ObjType::List)?;
    for (i, item) in items.iter().enumerate() {
        tx.insert(&list, i, item.as_str())?;
    }
    Ok(())
}

pub(super) fn put_sources<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    sources: &[Source],
) -> Result<(), SchemaError> {
    let list = tx.put_object(obj, "sources", ObjType::List)?;
    for (i, source) in sources.iter().enumerate() {
        let item = tx.insert_object(&list, i, ObjType::Map)?;
        tx.put(&item, "url", source.url.as_str())?;
        put_opt(tx, &item, "title", source.title.as_deref())?;
        put_opt(tx, &item, "archived", source.archived.as_deref())?;
    }
    Ok(())
}

pub(super) fn put_targets<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    targets: &[Target],
) -> Result<(), SchemaError> {
    let list = tx.put_object(obj, "targets", ObjType::List)?;
    for (i, target) in targets.iter().enumerate() {
        let item = tx.insert_object(&list, i, ObjType::Map)?;
        tx.put(&item, "article", target.article.as_str())?;
        tx.put(&item, "version", u64::from(target.version))?;
        tx.put(&item, "exact", target.quote.exact.as_str())?;
        tx.put(&item, "prefix", target.quote.prefix.as_str())?;
        tx.put(&item, "suffix", target.quote.suffix.as_str())?;
        tx.put(&item, "start", target.position.start)?;
        tx.put(&item, "end", target.position.end)?;
    }
    Ok(())
}

pub(super) fn insert_reply<T: Transactable>(
    tx: &mut T,
    list: &ObjId,
    index: usize,
    reply: &Reply,
) -> Result<(), SchemaError> {
    let item = tx.insert_object(list, index, ObjType::Map)?;
    tx.put(&item, "id", reply.id.as_str())?;
    put_opt(
        tx,
        &item,
        "parent",
        reply.parent.as_ref().map(|p| p.as_str()),
    )?;
    tx.put(&item, "creator", reply.creator.as_str())?;
    tx.put(&item, "created", timestamp(reply.created))?;
    tx.put(&item, "text", reply.text.as_str())?;
    Ok(())
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
