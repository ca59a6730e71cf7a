//! History for API consumers: the state of annotations as of any point in the log, and the
//! story of one annotation. Both are folds of the log's semantic events, the same fold that
//! builds the read models, so "as of now" and the read models always agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::desk::DeskError;
use crate::domain::{apply, AnnotationId, DomainEvent, EventError, EventType, StreamId};
use crate::store::{AnnotationRow, EventLog, EventRecord, Filter, StoreError};

/// A point in the log: a sequence number, or a time (the last event at or before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    Seq(u64),
    Time(DateTime<Utc>),
}

impl AsOf {
    /// Parses `?at=`: a sequence number or an RFC 3339 time.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Ok(seq) = raw.parse::<u64>() {
            return Ok(AsOf::Seq(seq));
        }
        DateTime::parse_from_rfc3339(raw)
            .map(|t| AsOf::Time(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!("`at` {raw:?} is neither an event sequence number nor an RFC 3339 time such as 2025-09-04T12:00:00Z")
            })
    }
}

/// An event that cannot be read or folded: the answer is an error, never a guess.
fn unreadable(record: &EventRecord, source: EventError) -> DeskError {
    StoreError::event(record.seq, source).into()
}

/// Every durable event up to and including `last`, in order, batch by batch.
fn each_event(
    log: &EventLog,
    last: u64,
    mut visit: impl FnMut(&EventRecord) -> Result<(), DeskError>,
) -> Result<(), DeskError> {
    let mut cursor = 0;
    while cursor < last {
        let batch = log.read_after(cursor, 1024)?;
        if batch.is_empty() {
            break;
        }
        for record in batch {
            if record.seq > last {
                return Ok(());
            }
            cursor = record.seq;
            visit(&record)?;
        }
    }
    Ok(())
}

/// Resolves a point in the log to a sequence number no later than the head.
pub fn resolve(log: &EventLog, at: AsOf) -> Result<u64, DeskError> {
    let head = log.head();
    match at {
        AsOf::Seq(seq) if seq > head => {
            Err(DeskError::Domain(crate::domain::DomainError::invalid(
                "at",
                format!("the log ends at event {head}; ask for a point at or before it"),
            )))
        }
        AsOf::Seq(seq) => Ok(seq),
        AsOf::Time(time) => {
            let mut found = 0;
            each_event(log, head, |record| {
                if record.at <= time {
                    found = record.seq;
                }
                Ok(())
            })?;
            Ok(found)
        }
    }
}

fn fold_into(
    rows: &mut BTreeMap<String, AnnotationRow>,
    record: &EventRecord,
) -> Result<(), DeskError> {
    // Types this version does not know are skipped, as the read models skip them.
    let Some(event_type) = EventType::parse(&record.event_type) else {
        return Ok(());
    };
    let event = DomainEvent::decode(event_type, &record.data).map_err(|e| unreadable(record, e))?;
    let Some(id) = event.annotation_id() else {
        return Ok(());
    };
    let key = id.to_string();
    let before = rows.remove(&key);
    let created_seq = before.as_ref().map_or(record.seq, |r| r.created_seq);
    let after = apply(before.map(|r| r.annotation), &event).map_err(|e| unreadable(record, e))?;
    if let Some(annotation) = after {
        rows.insert(
            key,
            AnnotationRow {
                annotation,
                version: record.version,
                created_seq,
                last_seq: record.seq,
            },
        );
    }
    Ok(())
}

/// One annotation as it was after event `seq` (deleted ones included).
pub fn annotation_at(
    log: &EventLog,
    id: &AnnotationId,
    seq: u64,
) -> Result<Option<AnnotationRow>, DeskError> {
    let records = log.read_stream(&StreamId::Annotation(id.clone()), 0)?;
    let mut rows = BTreeMap::new();
    for record in records.iter().filter(|r| r.seq <= seq) {
        fold_into(&mut rows, record)?;
    }
    Ok(rows.remove(id.as_str()))
}

/// The live annotations matching `filter` as they were after event `seq`, in creation order.
pub fn annotations_at(
    log: &EventLog,
    filter: &Filter,
    seq: u64,
) -> Result<Vec<AnnotationRow>, DeskError> {
    let mut rows = BTreeMap::new();
    each_event(log, seq, |record| fold_into(&mut rows, record))?;
    let mut live: Vec<AnnotationRow> = rows
        .into_values()
        .filter(|row| !row.annotation.deleted && filter.matches(&row.annotation))
        .collect();
    live.sort_by_key(|row| row.created_seq);
    Ok(live)
}

/// Summarises a text edit: what was removed and inserted between the common start and end.
fn text_edit(before: &str, after: &str) -> Value {
    let (b, a): (Vec<char>, Vec<char>) = (before.chars().collect(), after.chars().collect());
    let prefix = b.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let max_suffix = b.len().min(a.len()) - prefix;
    let suffix = b
        .iter()
        .rev()
        .zip(a.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    json!({
        "at": prefix,
        "removed": b[prefix..b.len() - suffix].iter().collect::<String>(),
        "inserted": a[prefix..a.len() - suffix].iter().collect::<String>(),
        "length_before": b.len(),
        "length_after": a.len(),
    })
}

/// Who changed what, and when: one entry per semantic event of the annotation.
pub fn story(log: &EventLog, id: &AnnotationId) -> Result<Vec<Value>, DeskError> {
    let records = log.read_stream(&StreamId::Annotation(id.clone()), 0)?;
    let mut entries = Vec::with_capacity(records.len());
    for record in records {
        let mut entry = json!({
            "seq": record.seq,
            "version": record.version,
            "type": record.event_type,
            "actor": record.actor.as_str(),
            "at": crate::clock::timestamp(record.at),
        });
        // A type this version does not know is shown as stored; a known one must decode.
        let Some(event_type) = EventType::parse(&record.event_type) else {
            entry["data"] = record.data.clone();
            entries.push(entry);
            continue;
        };
        let event =
            DomainEvent::decode(event_type, &record.data).map_err(|e| unreadable(&record, e))?;
        // Annotations, replies and statuses are shown in the shape the log carries them.
        match event {
            DomainEvent::AnnotationCreated { .. } => {
                entry["annotation"] = record.data["annotation"].clone();
            }
            DomainEvent::AnnotationUpdated { changes, .. } => {
                let mut fields = serde_json::Map::new();
                for (name, change) in changes {
                    let value = match (name.as_str(), change.before.as_str(), change.after.as_str())
                    {
                        ("body", Some(before), Some(after)) => {
                            json!({ "before": before, "after": after, "edit": text_edit(before, after) })
                        }
                        _ => json!({ "before": change.before, "after": change.after }),
                    };
                    fields.insert(name, value);
                }
                entry["changes"] = Value::Object(fields);
            }
            DomainEvent::AnnotationStatusChanged { .. } => {
                entry["changes"] = json!({
                    "status": { "before": record.data["from"], "after": record.data["to"] }
                });
            }
            DomainEvent::ReplyAdded { .. } => entry["reply"] = record.data["reply"].clone(),
            _ => {}
        }
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_edits_are_summarised_around_the_common_parts() {
        let edit = text_edit("Moscow denied it.", "Moscow quickly denied it.");
        assert_eq!(edit["inserted"], "quickly ");
        assert_eq!(edit["removed"], "");
        assert_eq!(edit["at"], 7);
        let edit = text_edit("aaa", "aa");
        assert_eq!(edit["removed"], "a");
    }

    #[test]
    fn at_reads_sequence_numbers_and_times() {
        assert_eq!(AsOf::parse("42"), Ok(AsOf::Seq(42)));
        assert!(matches!(
            AsOf::parse("2025-09-04T12:00:00Z"),
            Ok(AsOf::Time(_))
        ));
        assert!(AsOf::parse("yesterday").is_err());
    }
}
