//! The search index at scale: a log of N annotations (varied news sentences as notes and
//! quotes, over twenty articles, with kinds, verdicts, tags and authors), then
//! - the rebuild: a new index brought level with the whole log, and its size on disk;
//! - queries at 1 and 16 clients, a mix of words, phrases, misspellings, prefixes and filters;
//! - freshness: how long after a batch of 100 new annotations is durable they are searchable.
//!
//! The annotations are appended to the log as `annotation.created` events, as their documents
//! would, without the documents: the index reads the read models' rows, which is all it needs.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::config::Limits;
use crate::domain::{
    Annotation, AnnotationId, ArticleId, DomainEvent, EventId, Kind, Status, StreamId, Target,
    TextPosition, TextQuote, UserName, Verdict,
};
use crate::search::{HitKind, SearchFilters, SearchIndex, SearchRequest};
use crate::store::{NewEvent, Store};

use super::Row;

/// The queries, in turn: (text, only fact-checks).
const QUERIES: [(&str, bool); 8] = [
    ("kremlin", false),
    ("summit talks", false),
    ("\"grain deal\"", false),
    ("ceasfire", false),
    ("negoti", false),
    ("minister", true),
    ("Brussels sanctions energy", false),
    ("convoy suplies", true),
];

/// Measures the index on a log of `annotations` annotations in `dir`; `duration` per query case.
pub async fn search(
    dir: &Path,
    annotations: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Row>> {
    let store = Store::open(dir)?;
    append_annotations(&store, 0, annotations).await?;
    let head = store.log.head();
    store.read_model.wait_for(head).await?;

    let started = Instant::now();
    let index = SearchIndex::open(dir, store.clone(), Limits::default().search_pace)?;
    level(&index, head).await?;
    let took = started.elapsed();
    let bytes = size_of(&crate::search::index_dir(dir));
    let mut rows = vec![Row {
        backend: "sled".into(),
        suite: "search".into(),
        case: format!(
            "rebuild the index of {annotations} annotations from the log ({:.1} MB on disk)",
            bytes as f64 / 1e6
        ),
        ops: annotations as u64,
        seconds: took.as_secs_f64(),
        per_second: annotations as f64 / took.as_secs_f64(),
        p50_ms: took.as_secs_f64() * 1000.0,
        p99_ms: took.as_secs_f64() * 1000.0,
    }];

    for clients in [1, 16] {
        rows.push(queries(&index, annotations, clients, duration).await?);
    }

    // Freshness: a batch of 100 new annotations, durable, then searchable.
    let mut latencies = Vec::new();
    let rounds = 20;
    let started = Instant::now();
    for round in 0..rounds {
        let first = annotations + round * 100;
        append_annotations(&store, first, 100).await?;
        let at = Instant::now();
        level(&index, store.log.head()).await?;
        latencies.push(at.elapsed());
    }
    rows.push(super::row(
        "search",
        format!("100 new annotations searchable after they are durable, at {annotations}"),
        latencies,
        started.elapsed(),
    ));
    drop(index);
    store.close();
    Ok(rows)
}

/// `clients` tasks searching in turn through [`QUERIES`] for `duration`.
async fn queries(
    index: &SearchIndex,
    annotations: usize,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Row> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let index = index.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut found = 0;
            let mut n = client;
            while Instant::now() < deadline {
                let (q, fact_checks) = QUERIES[n % QUERIES.len()];
                n += 1;
                let request = SearchRequest {
                    q: q.into(),
                    filters: SearchFilters {
                        hit: Some(HitKind::Annotation),
                        kind: fact_checks.then_some(Kind::FactCheck),
                        ..SearchFilters::default()
                    },
                    limit: 20,
                    offset: 0,
                };
                let at = Instant::now();
                let page = index.search(request).await?;
                latencies.push(at.elapsed());
                found += page.total;
            }
            anyhow::Ok((latencies, found))
        }));
    }
    let mut latencies = Vec::new();
    let mut found = 0;
    for task in tasks {
        let (mine, hits) = task.await??;
        latencies.extend(mine);
        found += hits;
    }
    let per_query = found / latencies.len().max(1);
    Ok(super::row(
        "search",
        format!(
            "queries at {clients} client(s), {annotations} annotations (words, phrases, misspellings, prefixes, filters; {per_query} hits each on average)"
        ),
        latencies,
        started.elapsed(),
    ))
}

/// Waits until the index has reached `seq`, however long a rebuild takes.
async fn level(index: &SearchIndex, seq: u64) -> anyhow::Result<()> {
    loop {
        match index.caught_up(seq).await {
            Ok(()) => return Ok(()),
            Err(crate::search::SearchError::CatchingUp { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}

/// Appends annotations `first..first + n` to the log, a thousand per batch.
async fn append_annotations(store: &Store, first: usize, n: usize) -> anyhow::Result<()> {
    let sentences = super::varied_sentences(first + n);
    let users = ["alice", "bruno", "chiara", "victor"].map(|u| UserName::parse(u).unwrap());
    let now = Utc::now();
    let mut i = first;
    while i < first + n {
        let end = (i + 1000).min(first + n);
        let events = (i..end)
            .map(|i| {
                let annotation = annotation(i, &sentences[i], &users[i % users.len()], now);
                let stream = StreamId::Annotation(annotation.id.clone());
                let (event_type, data) = DomainEvent::AnnotationCreated { annotation }.into_parts();
                NewEvent {
                    id: EventId::random(),
                    stream,
                    event_type,
                    schema: 1,
                    actor: users[i % users.len()].clone(),
                    at: now,
                    data,
                    change: None,
                }
            })
            .collect();
        crate::backup::append(store, events).await?;
        i = end;
    }
    Ok(())
}

/// Annotation `i`: its sentence as the note, the sentence's first words as the quote.
fn annotation(
    i: usize,
    sentence: &str,
    creator: &UserName,
    at: chrono::DateTime<Utc>,
) -> Annotation {
    let kind = [Kind::Comment, Kind::FactCheck, Kind::Question, Kind::Tag][i % 4];
    let quote: String = sentence.split(' ').take(5).collect::<Vec<_>>().join(" ");
    let length = quote.chars().count() as u64;
    Annotation {
        id: AnnotationId::parse(&format!("bench-search-{i}")).expect("a valid id"),
        kind,
        body: sentence.to_owned(),
        verdict: (kind == Kind::FactCheck).then_some(Verdict::Misleading),
        suggestion: None,
        edit_label: None,
        claim: None,
        sources: Vec::new(),
        status: if i % 3 == 0 {
            Status::Resolved
        } else {
            Status::Open
        },
        assignee: None,
        tags: if kind == Kind::Tag {
            vec!["house-style".into(), format!("term-{}", i % 50)]
        } else {
            Vec::new()
        },
        targets: vec![Target {
            article: ArticleId::parse(&format!("bench-article-{}", i % 20)).expect("a valid id"),
            version: 1,
            quote: TextQuote {
                exact: quote,
                prefix: String::new(),
                suffix: String::new(),
            },
            position: TextPosition {
                start: 0,
                end: length,
            },
        }],
        creator: creator.clone(),
        created: at,
        modified: at,
        replies: Vec::new(),
        deleted: false,
        canonical: None,
        via: None,
    }
}
