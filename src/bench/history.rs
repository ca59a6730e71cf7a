//! A document with a long history, for measuring what an edit costs as history grows: appends
//! `changes` real Automerge changes to one seeded article's document, each logged as the server
//! would log it (`document.changed` with the change's bytes and heads, and the semantic events
//! derived from it), in big appends through the store's public API.
//!
//! The changes are a note typed keystroke by keystroke on one of the article's annotations:
//! one character per change, the note cleared back to its first text every `LINE` characters,
//! so the history grows without the note outgrowing the body limit.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use automerge::Automerge;
use chrono::Utc;

use crate::config::Settings;
use crate::documents::{change_event, commit_options, new_event, schema, user_actor};
use crate::domain::{derive_events, Annotation, ArticleId, StreamId, UserName};
use crate::startup::Application;
use crate::store::{AppendRequest, NewEvent, Snapshot, Store};

/// Characters typed before the note is cleared.
const LINE: usize = 200;
/// Changes per append (each brings two events).
const CHANGES_PER_APPEND: usize = 1000;

/// What was written.
#[derive(Clone, Debug)]
pub struct Preloaded {
    pub article: ArticleId,
    /// The annotation whose note was typed.
    pub annotation: String,
    pub changes: usize,
    pub events: usize,
    pub took: Duration,
}

/// Seeds `data_dir` (as `glossa serve` does on first start) and appends `changes` changes to
/// `article`'s document. The directory must not be open in another process.
pub async fn preload(data_dir: &Path, article: &str, changes: usize) -> anyhow::Result<Preloaded> {
    let started = Instant::now();
    let app = Application::build(Settings::for_tests(data_dir.to_path_buf()))
        .await
        .context("opening the data directory")?;
    let store = app.desk().store().clone();
    let article = ArticleId::parse(article).map_err(|e| anyhow!("article: {e}"))?;
    let (mut doc, mut annotation) = load(&store, &article)?;
    let stream = StreamId::Document(article.clone());
    let user = annotation.creator.clone();
    let first_body = annotation.body.clone();
    let mut events = 0;
    let mut done = 0;
    while done < changes {
        let mut batch = Vec::new();
        for _ in 0..CHANGES_PER_APPEND.min(changes - done) {
            let mut next = annotation.clone();
            next.modified = Utc::now();
            if next.body.chars().count() >= first_body.chars().count() + LINE {
                next.body = first_body.clone();
            } else {
                next.body.push(char::from(b'a' + (done % 26) as u8));
            }
            batch.extend(change(&mut doc, &stream, &user, &annotation, &next)?);
            annotation = next;
            done += 1;
        }
        events += batch.len();
        store
            .log
            .append(AppendRequest {
                events: batch,
                expectations: Vec::new(),
            })
            .await
            .context("appending the history")?;
    }
    // A snapshot at the last change, as a server that kept the document would have saved one.
    let last = store
        .log
        .read_stream(&stream, store.log.head().saturating_sub(2))?
        .into_iter()
        .rfind(|r| r.change.is_some())
        .ok_or_else(|| anyhow!("no change was logged"))?;
    store.snapshots.put(
        &article,
        &Snapshot {
            seq: last.seq,
            bytes: doc.save(),
        },
    )?;
    // Every event projected, so the server starts on read models that are up to date, and
    // everything on disk before this process ends.
    store.read_model.wait_for(store.log.head()).await?;
    store.close();
    Ok(Preloaded {
        article,
        annotation: annotation.id.to_string(),
        changes,
        events,
        took: started.elapsed(),
    })
}

/// The article's document as the log has it, and the first annotation on it.
fn load(store: &Store, article: &ArticleId) -> anyhow::Result<(Automerge, Annotation)> {
    let records = store
        .log
        .read_stream(&StreamId::Document(article.clone()), 0)?;
    let mut bytes = Vec::new();
    for record in &records {
        bytes.extend_from_slice(record.change.as_deref().unwrap_or_default());
    }
    let mut doc = Automerge::new();
    doc.load_incremental(&bytes)?;
    let annotation = schema::read_all(&doc)?
        .into_iter()
        .find(|a| !a.deleted)
        .ok_or_else(|| anyhow!("article {article} has no annotation to type into"))?;
    Ok((doc, annotation))
}

/// One change from `before` to `after`, and the events that log it.
fn change(
    doc: &mut Automerge,
    stream: &StreamId,
    user: &UserName,
    before: &Annotation,
    after: &Annotation,
) -> anyhow::Result<Vec<NewEvent>> {
    let at = after.modified;
    doc.set_actor(user_actor(user, &uuid::Uuid::nil()));
    let mut tx = doc.transaction();
    let map = schema::annotations_map(&tx)?.ok_or_else(|| anyhow!("no annotations map"))?;
    schema::write_annotation(&mut tx, &map, Some(before), after)?;
    tx.commit_with(commit_options(user, at));
    let change = doc
        .get_last_local_change()
        .ok_or_else(|| anyhow!("no change"))?;
    let StreamId::Document(article) = stream else {
        unreachable!("a document stream")
    };
    let mut events = vec![change_event(article, doc, user, at, &change)];
    let annotation = StreamId::Annotation(after.id.clone());
    for semantic in derive_events(Some(before), after) {
        events.push(new_event(annotation.clone(), user, at, semantic, None));
    }
    Ok(events)
}
