//! Reading and writing single Automerge values of an annotation's entry, strictly: a value of
//! the wrong type is a [`SchemaError`] naming its path. The layout itself is `schema`'s.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use chrono::{DateTime, Utc};

use crate::clock::timestamp;
use crate::domain::{DomainError, Reply, Source, Target};

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
