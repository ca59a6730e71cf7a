//! How annotations are laid out in an article's Automerge document, and the mapping both ways.
//!
//! ```text
//! ROOT
//! └─ annotations: Map  id → Map
//!      id, kind, status, creator, created, modified: str   (timestamps RFC 3339, UTC, `Z`)
//!      body: Text                                           (collaborative note)
//!      verdict, suggestion, editLabel, assignee, canonical, via: str (absent when unset)
//!      claimantName, claimantUrl, claimantType, claimDate, claimSummary: str
//!                                                     (a fact-check's claim; absent when unset)
//!      deleted: bool
//!      tags: List<str>
//!      sources: List<Map{url, title?, archived?}>
//!      targets: List<Map{article, version, exact, prefix, suffix, start, end}>
//!      replies: List<Map{id, parent?, creator, created, text}>
//! ```
//! Keys are camelCase because JavaScript clients read the same document. Reading is strict: a
//! field of the wrong type is a [`SchemaError`], which the sync path turns into a compensation.

use std::collections::HashMap;

use automerge::transaction::Transactable;
use automerge::{hydrate, ObjId, ObjType, ReadDoc, ScalarValue, TextEncoding, Value, ROOT};

use crate::domain::{Annotation, AnnotationId, ClaimantType, EditLabel, Verdict};

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
        claim: fields::claim(doc, obj, p)?.map(Box::new),
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
/// edits of other fields (and of other parts of the body text) merge cleanly. A new entry
/// (`before` is `None`) is written whole, in one batch (see [`create_entry`]).
pub fn write_annotation<T: Transactable>(
    tx: &mut T,
    map: &ObjId,
    before: Option<&Annotation>,
    after: &Annotation,
) -> Result<(), SchemaError> {
    let Some(before) = before else {
        return create_entry(tx, map, after);
    };
    let obj = match tx.get(map, after.id.as_str())? {
        Some((Value::Object(ObjType::Map), obj)) => obj,
        _ => tx.put_object(map, after.id.as_str(), ObjType::Map)?,
    };
    write_provenance(tx, &obj, before, after)?;
    write_content(tx, &obj, Some(before), after)?;
    append_replies(tx, &obj, before.replies.len(), after)
}

/// Puts a new entry for `after` under its id, replacing whatever was there: the same objects,
/// keys and values as writing each field in turn (an absent optional field is no key at all),
/// but made with one batch insertion into Automerge's op set instead of one insertion per
/// value, which is most of what a create cost the document before.
fn create_entry<T: Transactable>(
    tx: &mut T,
    map: &ObjId,
    after: &Annotation,
) -> Result<(), SchemaError> {
    let entry = entry_value(after, tx.text_encoding());
    tx.batch_create_object(map, after.id.as_str(), &entry, false)?;
    Ok(())
}

/// A whole entry as a value, laid out as the module's documentation says.
fn entry_value(a: &Annotation, encoding: TextEncoding) -> hydrate::Value {
    let mut entry = Fields::default();
    entry.put("id", a.id.as_str());
    entry.put("kind", a.kind.as_str());
    entry.put("status", a.status.as_str());
    entry.put("creator", a.creator.as_str());
    entry.put("created", timestamp(a.created));
    entry.put("modified", timestamp(a.modified));
    entry.value("body", hydrate::Value::text(encoding, &a.body));
    entry.opt("verdict", a.verdict.map(Verdict::as_str));
    entry.opt("suggestion", a.suggestion.as_deref());
    entry.opt("editLabel", a.edit_label.map(EditLabel::as_str));
    let claimant = a.claim.as_ref().and_then(|c| c.claimant.as_ref());
    entry.opt("claimantName", claimant.map(|c| c.name.as_str()));
    entry.opt("claimantUrl", claimant.and_then(|c| c.url.as_deref()));
    entry.opt(
        "claimantType",
        claimant.and_then(|c| c.kind).map(ClaimantType::as_str),
    );
    entry.opt(
        "claimDate",
        a.claim.as_ref().and_then(|c| c.date.as_deref()),
    );
    entry.opt(
        "claimSummary",
        a.claim.as_ref().and_then(|c| c.summary.as_deref()),
    );
    entry.opt("assignee", a.assignee.as_ref().map(|u| u.as_str()));
    entry.opt("canonical", a.canonical.as_deref());
    entry.opt("via", a.via.as_deref());
    entry.put("deleted", a.deleted);
    let tags = a.tags.iter().map(|t| hydrate::Value::scalar(t.as_str()));
    entry.value("tags", tags.collect::<Vec<_>>().into());
    let sources = a.sources.iter().map(|s| {
        let mut item = Fields::default();
        item.put("url", s.url.as_str());
        item.opt("title", s.title.as_deref());
        item.opt("archived", s.archived.as_deref());
        item.done()
    });
    entry.value("sources", sources.collect::<Vec<_>>().into());
    let targets = a.targets.iter().map(|t| {
        let mut item = Fields::default();
        item.put("article", t.article.as_str());
        item.put("version", u64::from(t.version));
        item.put("exact", t.quote.exact.as_str());
        item.put("prefix", t.quote.prefix.as_str());
        item.put("suffix", t.quote.suffix.as_str());
        item.put("start", t.position.start);
        item.put("end", t.position.end);
        item.done()
    });
    entry.value("targets", targets.collect::<Vec<_>>().into());
    let replies = a.replies.iter().map(|r| {
        let mut item = Fields::default();
        item.put("id", r.id.as_str());
        item.opt("parent", r.parent.as_ref().map(|p| p.as_str()));
        item.put("creator", r.creator.as_str());
        item.put("created", timestamp(r.created));
        item.put("text", r.text.as_str());
        item.done()
    });
    entry.value("replies", replies.collect::<Vec<_>>().into());
    entry.done()
}

/// The keys of a map being built; an optional value that is absent is no key.
#[derive(Default)]
struct Fields(HashMap<String, hydrate::Value>);

impl Fields {
    fn value(&mut self, key: &str, value: hydrate::Value) {
        self.0.insert(key.to_owned(), value);
    }

    fn put(&mut self, key: &str, value: impl Into<ScalarValue>) {
        self.value(key, hydrate::Value::scalar(value));
    }

    fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.put(key, value);
        }
    }

    fn done(self) -> hydrate::Value {
        hydrate::Value::Map(self.0.into())
    }
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
    if changed(&|b| b.claim == after.claim) {
        fields::put_claim(tx, obj, after.claim.as_deref())?;
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

#[cfg(test)]
mod tests {
    use automerge::transaction::CommitOptions;
    use automerge::{ActorId, Automerge};
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::{
        ArticleId, Kind, Reply, ReplyId, Source, Status, Target, TextPosition, TextQuote, UserName,
    };

    fn at(minute: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, minute, 0).unwrap()
    }

    /// Every field set, lists of several items, optional values both present and absent.
    fn full() -> Annotation {
        Annotation {
            id: AnnotationId::parse("full-entry").unwrap(),
            kind: Kind::Correction,
            body: "Moscow denied it — twice. ✓".into(),
            verdict: Some(Verdict::MostlyFalse),
            suggestion: Some("24 nations".into()),
            edit_label: Some(EditLabel::Clarification),
            claim: Some(Box::new(crate::domain::ClaimOrigin {
                claimant: Some(crate::domain::Claimant {
                    name: "Donald Trump".into(),
                    url: Some("https://www.whitehouse.gov/".into()),
                    kind: Some(ClaimantType::Person),
                }),
                date: Some("2025-02-24".into()),
                summary: Some("Putin has no problem with European troops".into()),
            })),
            sources: vec![
                Source {
                    url: "https://example.org/a".into(),
                    title: Some("A report".into()),
                    archived: None,
                },
                Source {
                    url: "https://example.org/b".into(),
                    title: None,
                    archived: Some("https://archive.example/b".into()),
                },
            ],
            status: Status::InReview,
            assignee: Some(UserName::parse("bruno").unwrap()),
            tags: vec!["energy".into(), "pledges".into()],
            targets: vec![
                Target {
                    article: ArticleId::parse("twenty-six-nations-pledge").unwrap(),
                    version: 2,
                    quote: TextQuote {
                        exact: "26 nations have pledged".into(),
                        prefix: "So far ".into(),
                        suffix: " to".into(),
                    },
                    position: TextPosition { start: 7, end: 30 },
                },
                Target {
                    article: ArticleId::parse("other-article").unwrap(),
                    version: 1,
                    quote: TextQuote {
                        exact: "pledged".into(),
                        prefix: String::new(),
                        suffix: String::new(),
                    },
                    position: TextPosition { start: 0, end: 7 },
                },
            ],
            creator: UserName::parse("alice").unwrap(),
            created: at(0),
            modified: at(5),
            replies: vec![
                Reply {
                    id: ReplyId::parse("r1").unwrap(),
                    parent: None,
                    creator: UserName::parse("bruno").unwrap(),
                    created: at(1),
                    text: "Which report?".into(),
                },
                Reply {
                    id: ReplyId::parse("r2").unwrap(),
                    parent: Some(ReplyId::parse("r1").unwrap()),
                    creator: UserName::parse("alice").unwrap(),
                    created: at(2),
                    text: "The second.".into(),
                },
            ],
            deleted: true,
            canonical: Some("https://elsewhere.example/annotations/1".into()),
            via: Some("https://elsewhere.example/".into()),
        }
    }

    /// As little as an entry can have: no optional value, empty lists, an empty note.
    fn bare() -> Annotation {
        Annotation {
            id: AnnotationId::parse("bare-entry").unwrap(),
            kind: Kind::Comment,
            body: String::new(),
            verdict: None,
            suggestion: None,
            edit_label: None,
            claim: None,
            sources: vec![],
            status: Status::Open,
            assignee: None,
            tags: vec![],
            targets: vec![],
            creator: UserName::parse("alice").unwrap(),
            created: at(0),
            modified: at(0),
            replies: vec![],
            deleted: false,
            canonical: None,
            via: None,
        }
    }

    fn document() -> Automerge {
        let mut doc = Automerge::new();
        doc.set_actor(ActorId::from(&[1u8; 16][..]));
        let mut tx = doc.transaction();
        initialise(&mut tx).unwrap();
        tx.commit_with(CommitOptions::default().with_time(0));
        doc
    }

    /// One change by `actor` on `doc`.
    fn change(
        doc: &mut Automerge,
        actor: u8,
        write: impl FnOnce(&mut automerge::transaction::Transaction<'_>, &ObjId),
    ) {
        doc.set_actor(ActorId::from(&[actor; 16][..]));
        let mut tx = doc.transaction();
        let map = annotations_map(&tx).unwrap().unwrap();
        write(&mut tx, &map);
        tx.commit_with(CommitOptions::default().with_time(0));
    }

    /// How a new entry was written before it was written in one batch: value by value.
    fn write_each_field<T: Transactable>(tx: &mut T, map: &ObjId, after: &Annotation) {
        let obj = tx.put_object(map, after.id.as_str(), ObjType::Map).unwrap();
        tx.put(&obj, "id", after.id.as_str()).unwrap();
        tx.put(&obj, "creator", after.creator.as_str()).unwrap();
        tx.put(&obj, "created", timestamp(after.created)).unwrap();
        put_opt(tx, &obj, "canonical", after.canonical.as_deref()).unwrap();
        put_opt(tx, &obj, "via", after.via.as_deref()).unwrap();
        let body = tx.put_object(&obj, "body", ObjType::Text).unwrap();
        tx.splice_text(&body, 0, 0, &after.body).unwrap();
        tx.put_object(&obj, "replies", ObjType::List).unwrap();
        write_content(tx, &obj, None, after).unwrap();
        append_replies(tx, &obj, 0, after).unwrap();
    }

    #[test]
    fn a_new_entry_holds_the_same_values_as_one_written_field_by_field() {
        for annotation in [full(), bare()] {
            let mut batched = document();
            change(&mut batched, 2, |tx, map| {
                write_annotation(tx, map, None, &annotation).unwrap()
            });
            let mut each = document();
            change(&mut each, 2, |tx, map| {
                write_each_field(tx, map, &annotation)
            });
            // Same objects, keys, value types and values (a Uint stays a Uint).
            assert_eq!(
                batched.hydrate(None),
                each.hydrate(None),
                "{}",
                annotation.id
            );
            assert_eq!(read_all(&batched).unwrap(), vec![annotation.clone()]);
            // And so after saving and loading, as a snapshot is.
            let loaded = Automerge::load(&batched.save()).unwrap();
            assert_eq!(read_all(&loaded).unwrap(), vec![annotation]);
        }
    }

    #[test]
    fn a_batched_entry_takes_later_edits_and_merges_with_a_peer() {
        let annotation = full();
        let mut doc = document();
        change(&mut doc, 2, |tx, map| {
            write_annotation(tx, map, None, &annotation).unwrap()
        });
        // A peer with the entry edits the note; the server meanwhile changes the status and
        // adds a reply.
        let mut peer = doc.fork();
        let mut typed = annotation.clone();
        typed.body.push_str(" Confirmed.");
        change(&mut peer, 3, |tx, map| {
            write_annotation(tx, map, Some(&annotation), &typed).unwrap()
        });
        let mut later = annotation.clone();
        later.status = Status::Resolved;
        later.modified = at(9);
        later.replies.push(Reply {
            id: ReplyId::parse("r3").unwrap(),
            parent: None,
            creator: UserName::parse("carla").unwrap(),
            created: at(9),
            text: "Done.".into(),
        });
        change(&mut doc, 2, |tx, map| {
            write_annotation(tx, map, Some(&annotation), &later).unwrap()
        });
        doc.merge(&mut peer).unwrap();
        let mut both = later.clone();
        both.body = typed.body.clone();
        assert_eq!(read_all(&doc).unwrap(), vec![both]);
    }

    #[test]
    fn a_new_entry_replaces_whatever_was_under_its_id() {
        let annotation = full();
        let mut doc = document();
        change(&mut doc, 2, |tx, map| {
            write_annotation(tx, map, None, &annotation).unwrap()
        });
        let mut repaired = bare();
        repaired.id = annotation.id.clone();
        change(&mut doc, 2, |tx, map| {
            write_annotation(tx, map, None, &repaired).unwrap()
        });
        assert_eq!(read_all(&doc).unwrap(), vec![repaired]);
    }
}
