//! In-process figures through the library's public API (criterion): durable appends, selector
//! location, Web Annotation JSON-LD, and annotation changes to an article's Automerge document.
//!
//! `cargo bench` runs them all (about two minutes); `cargo bench -- selectors` runs one group.
//! Whole-server figures (HTTP, sync, memory) are `glossa-bench` and `bench/`; see
//! `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::Duration;

use automerge::transaction::CommitOptions;
use automerge::{Automerge, Change};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::{json, Value};

use glossa::bench::event;
use glossa::documents::{schema, user_actor};
use glossa::domain::{
    normalise, Annotation, AnnotationId, ArticleId, IndexedText, Kind, Reply, ReplyId, Source,
    Status, StreamId, Target, TextPosition, UserName, Verdict,
};
use glossa::identity::Users;
use glossa::store::{AppendRequest, Expected, Store};
use glossa::w3c::{parse_annotation, Renderer};

/// The longest article of the demo corpus (about 5.7 kB), and its slug.
const ARTICLE_TEXT: &str = include_str!("../seeds/articles/001_e66dc6db878f3d90.txt");
const ARTICLE: &str = "macron-us-support-finalised";
/// The seed annotations: real client JSON-LD (a fact-check with tags, sources and selectors).
const SEED_ANNOTATIONS: &str = include_str!("../seeds/annotations.json");
const BASE: &str = "http://127.0.0.1:8080";

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 4, 12, 0, 0).unwrap()
}

// ---- durable appends -------------------------------------------------------------------------

/// One client appending a batch and waiting for it to be durable (flushed and fsynced), so the
/// figure is the acknowledgement latency of one append without group commit across clients.
fn appends(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let store = {
        let _guard = runtime.enter();
        Store::open(dir.path()).expect("the store opens")
    };
    let stream = StreamId::Annotation(AnnotationId::parse("bench-appends").unwrap());
    let mut group = c.benchmark_group("durable appends");
    // Every append waits for an fsync: few samples, each of many appends.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    for batch in [1usize, 100] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch of {batch}"), |b| {
            b.iter_batched(
                || AppendRequest {
                    events: (0..batch).map(|_| event(&stream)).collect(),
                    expectations: vec![(stream.clone(), Expected::Any)],
                },
                |request| {
                    runtime
                        .block_on(store.log.append(request))
                        .expect("the append is durable")
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    drop(store);
}

// ---- selectors -------------------------------------------------------------------------------

fn selectors(c: &mut Criterion) {
    let text = normalise(ARTICLE_TEXT);
    let indexed = IndexedText::new(&text);
    // A 40-character passage four fifths into the article, described as the server describes
    // a selection (the quote with 32 characters of context on each side).
    let start = indexed.len() * 4 / 5;
    let position = TextPosition {
        start,
        end: start + 40,
    };
    let quote = indexed.describe(position);
    assert_eq!(indexed.locate(&quote, None), Ok(position));
    // A short quote that occurs more than once, picked out by its context only.
    let the = text.rfind(" the ").expect("the article has a \"the\"") + 1;
    let the_start = text[..the].chars().count() as u64;
    let short_position = TextPosition {
        start: the_start,
        end: the_start + 3,
    };
    let short = indexed.describe(short_position);
    assert!(text.matches("the").count() > 1);
    assert_eq!(indexed.locate(&short, None), Ok(short_position));

    let mut group = c.benchmark_group("selectors");
    group.bench_function("normalise the article (5.7 kB)", |b| {
        b.iter(|| normalise(black_box(ARTICLE_TEXT)))
    });
    group.bench_function("index the article", |b| {
        b.iter(|| IndexedText::new(black_box(&text)).len())
    });
    group.bench_function("locate a quote with its context", |b| {
        b.iter(|| indexed.locate(black_box(&quote), None))
    });
    group.bench_function("locate a quote and its position", |b| {
        b.iter(|| indexed.locate(black_box(&quote), Some(position)))
    });
    group.bench_function("locate \"the\" by its context", |b| {
        b.iter(|| indexed.locate(black_box(&short), None))
    });
    group.finish();
}

// ---- Web Annotation JSON-LD ------------------------------------------------------------------

fn sample_annotation(id: &str, body_chars: usize) -> Annotation {
    let text = normalise(ARTICLE_TEXT);
    let indexed = IndexedText::new(&text);
    let position = TextPosition {
        start: 200,
        end: 260,
    };
    let alice = UserName::parse("alice").unwrap();
    Annotation {
        id: AnnotationId::parse(id).unwrap(),
        kind: Kind::FactCheck,
        body: "Rated mostly false: the claim rests on one account. "
            .repeat(body_chars / 52 + 1)
            .chars()
            .take(body_chars)
            .collect(),
        verdict: Some(Verdict::MostlyFalse),
        suggestion: None,
        edit_label: None,
        claim: None,
        sources: vec![
            Source {
                url: "https://example.org/report".into(),
                title: Some("A report".into()),
                archived: None,
            },
            Source {
                url: format!("{BASE}/articles/twenty-six-nations-pledge"),
                title: Some("26 nations pledge postwar security guarantees".into()),
                archived: None,
            },
        ],
        status: Status::InReview,
        assignee: Some(UserName::parse("bruno").unwrap()),
        tags: vec!["disputed-claim".into(), "ukraine".into()],
        targets: vec![Target {
            article: ArticleId::parse(ARTICLE).unwrap(),
            version: 1,
            quote: indexed.describe(position),
            position,
        }],
        creator: alice.clone(),
        created: at(),
        modified: at(),
        replies: vec![
            Reply {
                id: ReplyId::parse("r1").unwrap(),
                parent: None,
                creator: UserName::parse("bruno").unwrap(),
                created: at(),
                text: "Which report is this?".into(),
            },
            Reply {
                id: ReplyId::parse("r2").unwrap(),
                parent: Some(ReplyId::parse("r1").unwrap()),
                creator: alice,
                created: at(),
                text: "The second source; the first one only repeats it.".into(),
            },
        ],
        deleted: false,
        canonical: None,
        via: None,
    }
}

fn w3c(c: &mut Criterion) {
    let seeds: Vec<Value> = serde_json::from_str(SEED_ANNOTATIONS).unwrap();
    // The first seed is a fact-check: two bodies (note and tag), a verdict, two sources, a
    // target with quote and position selectors.
    let request = serde_json::to_vec(&seeds[0]["annotation"]).unwrap();
    parse_annotation(&serde_json::from_slice(&request).unwrap(), BASE)
        .expect("the seed annotation parses");
    // No users: the rendering cost is the same, without a display name lookup hit.
    let renderer = Renderer::new(BASE, Users::default());
    let annotation = sample_annotation("bench-render", 700);

    let mut group = c.benchmark_group("json-ld");
    group.throughput(Throughput::Bytes(request.len() as u64));
    group.bench_function("parse an annotation (request bytes to draft)", |b| {
        b.iter(|| {
            let json: Value = serde_json::from_slice(black_box(&request)).unwrap();
            parse_annotation(&json, BASE).unwrap()
        })
    });
    let rendered = serde_json::to_vec(&renderer.annotation(&annotation)).unwrap();
    group.throughput(Throughput::Bytes(rendered.len() as u64));
    group.bench_function("render an annotation (annotation to bytes)", |b| {
        b.iter(|| serde_json::to_vec(&renderer.annotation(black_box(&annotation))).unwrap())
    });
    group.finish();
}

// ---- the article's Automerge document --------------------------------------------------------

fn commit_options(user: &UserName) -> CommitOptions {
    CommitOptions::default()
        .with_message(json!({ "user": user.as_str() }).to_string())
        .with_time(at().timestamp_millis())
}

/// Writes `after` (over `before`) in one change, as the document's task does for a REST edit,
/// and returns the change's bytes, which is what the log stores.
fn write(doc: &mut Automerge, before: Option<&Annotation>, after: &Annotation) -> Vec<u8> {
    let user = after.creator.clone();
    doc.set_actor(user_actor(&user, &uuid::Uuid::nil()));
    let mut tx = doc.transaction();
    let map = schema::annotations_map(&tx)
        .unwrap()
        .expect("the document is initialised");
    schema::write_annotation(&mut tx, &map, before, after).unwrap();
    tx.commit_with(commit_options(&user));
    doc.get_last_local_change()
        .expect("a change was made")
        .raw_bytes()
        .to_vec()
}

fn document(c: &mut Criterion) {
    const HELD: usize = 100;
    let mut doc = Automerge::new();
    doc.set_actor(user_actor(&UserName::system(), &uuid::Uuid::nil()));
    let mut tx = doc.transaction();
    schema::initialise(&mut tx).unwrap();
    tx.commit_with(commit_options(&UserName::system()));
    let mut held = Vec::new();
    for i in 0..HELD {
        let annotation = sample_annotation(&format!("held-{i:03}"), 300);
        write(&mut doc, None, &annotation);
        held.push(annotation);
    }
    let last = held.last().unwrap().clone();
    let fresh = sample_annotation("bench-new", 300);
    let mut resolved = last.clone();
    resolved.status = Status::Resolved;
    let mut longer = last.clone();
    longer.body.push_str(" Updated after the Kremlin's denial.");
    // A change made elsewhere (by a sync client, say), to apply to the server's copy.
    let peer_change = {
        let mut peer = doc.fork();
        write(&mut peer, None, &fresh)
    };

    let mut group = c.benchmark_group(format!("automerge document of {HELD} annotations"));
    group.bench_function("create an annotation", |b| {
        b.iter_batched_ref(
            || doc.clone(),
            |doc| write(doc, None, black_box(&fresh)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("change an annotation's status", |b| {
        b.iter_batched_ref(
            || doc.clone(),
            |doc| write(doc, Some(&last), black_box(&resolved)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("append to an annotation's note", |b| {
        b.iter_batched_ref(
            || doc.clone(),
            |doc| write(doc, Some(&last), black_box(&longer)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("apply a peer's change (create)", |b| {
        b.iter_batched(
            || {
                (
                    doc.clone(),
                    Change::from_bytes(peer_change.clone()).unwrap(),
                )
            },
            |(mut doc, change)| {
                doc.apply_changes([change]).unwrap();
                doc
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("read an annotation back", |b| {
        let id = last.id.clone();
        b.iter(|| schema::read_one(&doc, black_box(&id)).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = fast;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = selectors, w3c, document
}
criterion_group!(durable, appends);
criterion_main!(fast, durable);
