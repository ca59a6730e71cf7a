//! What a writer puts in the document, and how much CPU the generator's thread has used.

use std::time::Duration;

use automerge::transaction::{Transactable, Transaction};
use automerge::{Automerge, ChangeHash, ObjId, ObjType, ReadDoc, Value, ROOT};

/// What each of a writer's edits is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Edit {
    /// A new comment on the article (about 170 Automerge operations).
    #[default]
    Comment,
    /// A few characters typed at the end of the writer's own note, which it adds before the
    /// run starts (a handful of operations), as people type into a note together.
    Typing,
}

impl std::str::FromStr for Edit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "comment" => Ok(Self::Comment),
            "typing" => Ok(Self::Typing),
            other => Err(format!("no edit `{other}`: comment or typing")),
        }
    }
}

/// Where a writer's annotations point: a passage of the document's article as the server reads
/// it (the quote and its character offsets in the current version).
#[derive(Clone, Debug)]
pub struct Anchor {
    pub article: String,
    pub version: i64,
    pub exact: String,
    pub start: i64,
    pub end: i64,
}

impl Anchor {
    /// "26 nations have pledged" in the seeded article `twenty-six-nations-pledge`.
    pub fn seeded() -> Self {
        Self {
            article: "twenty-six-nations-pledge".into(),
            version: 1,
            exact: "26 nations have pledged".into(),
            start: 514,
            end: 537,
        }
    }
}

/// Adds a new comment by `creator` under `key`, laid out as a JavaScript client writes one
/// (strings as text objects), in one change; that change's hash. `None` if the document has
/// no `annotations` map yet.
pub fn add_comment(
    doc: &mut Automerge,
    key: &str,
    creator: &str,
    at: &str,
    anchor: &Anchor,
) -> anyhow::Result<Option<ChangeHash>> {
    let Some((Value::Object(ObjType::Map), annotations)) = doc.get(ROOT, "annotations")? else {
        return Ok(None);
    };
    let mut tx = doc.transaction();
    let entry = tx.put_object(&annotations, key, ObjType::Map)?;
    for (field, value) in [
        ("id", key),
        ("kind", "comment"),
        ("status", "open"),
        ("creator", creator),
        ("created", at),
        ("modified", at),
        ("body", "Load generator: checking this claim."),
    ] {
        text(&mut tx, &entry, field, value)?;
    }
    for list in ["tags", "sources", "replies"] {
        tx.put_object(&entry, list, ObjType::List)?;
    }
    tx.put(&entry, "deleted", false)?;
    let targets = tx.put_object(&entry, "targets", ObjType::List)?;
    let target = tx.insert_object(&targets, 0, ObjType::Map)?;
    tx.put(&target, "article", anchor.article.as_str())?;
    tx.put(&target, "version", anchor.version)?;
    tx.put(&target, "exact", anchor.exact.as_str())?;
    tx.put(&target, "prefix", "")?;
    tx.put(&target, "suffix", "")?;
    tx.put(&target, "start", anchor.start)?;
    tx.put(&target, "end", anchor.end)?;
    let (hash, _) = tx.commit();
    Ok(hash)
}

/// Types `typed` at the end of the body of the annotation under `key`, in one change; that
/// change's hash. `None` if there is no such annotation.
pub fn type_into(
    doc: &mut Automerge,
    key: &str,
    typed: &str,
) -> anyhow::Result<Option<ChangeHash>> {
    let Some((Value::Object(ObjType::Map), annotations)) = doc.get(ROOT, "annotations")? else {
        return Ok(None);
    };
    let Some((Value::Object(ObjType::Map), entry)) = doc.get(&annotations, key)? else {
        return Ok(None);
    };
    let Some((Value::Object(ObjType::Text), body)) = doc.get(&entry, "body")? else {
        return Ok(None);
    };
    let end = doc.length(&body);
    let mut tx = doc.transaction();
    tx.splice_text(&body, end, 0, typed)?;
    let (hash, _) = tx.commit();
    Ok(hash)
}

fn text(tx: &mut Transaction<'_>, obj: &ObjId, field: &str, value: &str) -> anyhow::Result<()> {
    let t = tx.put_object(obj, field, ObjType::Text)?;
    tx.splice_text(&t, 0, 0, value)?;
    Ok(())
}

/// Whether the document has an entry under `key` in its `annotations` map.
pub fn has_entry(doc: &Automerge, key: &str) -> bool {
    match doc.get(ROOT, "annotations") {
        Ok(Some((Value::Object(ObjType::Map), map))) => matches!(doc.get(&map, key), Ok(Some(_))),
        _ => false,
    }
}

/// CPU time the calling thread has used so far: nanoseconds from the scheduler's statistics,
/// else clock ticks (user and system) from `stat`; `None` where neither can be read.
pub fn thread_cpu() -> Option<Duration> {
    if let Ok(text) = std::fs::read_to_string("/proc/thread-self/schedstat") {
        if let Some(ns) = text.split_whitespace().next().and_then(|n| n.parse().ok()) {
            return Some(Duration::from_nanos(ns));
        }
    }
    stat_cpu(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// CPU time (user and system) process `pid` has used so far, from its `stat`, in steps of
/// 10 ms; `None` if it cannot be read.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time (user and system) from the text of a `/proc/…/stat` file.
pub(super) fn stat_cpu(stat: &str) -> Option<Duration> {
    // Fields after the command (which may hold spaces) start at the third; utime and stime
    // are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, which is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}
