//! The load generator behind `glossa-bench`: whole-path figures for durable appends, the HTTP
//! API and start-up, reported as medians and percentiles (never asserted in tests).
//! `history` preloads a document with a long history for the sync benchmark; `backend` gives
//! each case a fresh desk on sled or PostgreSQL, `open_loop` offers appends at a fixed rate, and
//! `compare` prints the two backends side by side.

pub mod apart;
pub mod backend;
pub mod compare;
pub mod disk;
pub mod history;
pub mod open_loop;
pub mod peer;
pub mod propagation;
pub mod replicas;
pub mod search;
pub mod sync_load;
pub mod typists;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::Settings;
use crate::desk::{ArticleDraft, Desk, Draft, TargetDraft};
use crate::domain::{
    AnnotationId, ArticleId, EventId, IndexedText, Kind, StreamId, TextPosition, UserName,
};
use crate::startup::Application;
use crate::store::{AppendRequest, Expected, NewEvent, Store};

/// One measured case.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// Where the log was kept: "sled" or "PostgreSQL".
    pub backend: String,
    pub suite: String,
    pub case: String,
    pub ops: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn row(suite: &str, case: String, mut latencies: Vec<Duration>, elapsed: Duration) -> Row {
    latencies.sort();
    let ops = latencies.len() as u64;
    Row {
        backend: "sled".into(),
        suite: suite.to_owned(),
        case,
        ops,
        seconds: elapsed.as_secs_f64(),
        per_second: ops as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
    }
}

/// One benchmark event on `stream`: about 200 bytes of data, of a type the read models skip.
pub fn event(stream: &StreamId) -> NewEvent {
    NewEvent {
        id: EventId::random(),
        stream: stream.clone(),
        event_type: "bench.appended".into(),
        schema: 1,
        actor: UserName::system(),
        at: Utc::now(),
        data: json!({ "payload": "x".repeat(200) }),
        change: None,
    }
}

/// Durable appends: `clients` tasks appending `batch` events per request for `duration`,
/// optionally paced to `offered` events per second in total.
pub async fn appends(
    store: &Store,
    clients: usize,
    batch: usize,
    offered: Option<f64>,
    duration: Duration,
) -> Row {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (log, latencies) = (store.log.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let stream = StreamId::Annotation(AnnotationId::parse(&format!("bench-{c}")).unwrap());
            let interval =
                offered.map(|rate| Duration::from_secs_f64(batch as f64 * clients as f64 / rate));
            let mut next = Instant::now();
            while started.elapsed() < duration {
                if let Some(interval) = interval {
                    next += interval;
                    tokio::time::sleep_until(next.into()).await;
                }
                let request = AppendRequest {
                    events: (0..batch).map(|_| event(&stream)).collect(),
                    expectations: vec![(stream.clone(), Expected::Any)],
                };
                let t = Instant::now();
                if log.append(request).await.is_err() {
                    return;
                }
                let took = t.elapsed();
                let mut all = latencies.lock().unwrap();
                all.extend(std::iter::repeat_n(took, batch));
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    let case = match offered {
        Some(rate) => format!("{clients} clients, batch {batch}, offered {rate:.0}/s"),
        None => format!("{clients} clients, batch {batch}"),
    };
    row(
        "durable appends (events)",
        case,
        latencies,
        started.elapsed(),
    )
}

/// Fills a log to `total` events with large batches, four events to a stream (as annotations
/// have a few events each), so that the log's indexes hold many streams.
pub async fn prefill(store: &Store, total: u64) {
    while store.log.head() < total {
        let head = store.log.head();
        let n = (total - head).min(1000);
        let request = AppendRequest {
            events: (head..head + n)
                .map(|i| {
                    let name = format!("prefill-{}", i / 4);
                    event(&StreamId::Annotation(AnnotationId::parse(&name).unwrap()))
                })
                .collect(),
            expectations: Vec::new(),
        };
        store.log.append(request).await.expect("prefill");
    }
}

/// The HTTP API: `clients` concurrent clients doing `what` for `duration`.
pub async fn http(base: &str, clients: usize, what: &'static str, duration: Duration) -> Row {
    // The clients run on a runtime of their own, as they would in a process of their own: on
    // the server's runtime their tasks would queue with its document tasks and handlers, and
    // every answer would wait for a turn among the clients that are about to ask again.
    let base = base.to_owned();
    let (latencies, elapsed) = tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-client")
            .enable_all()
            .build()
            .expect("a runtime for the benchmark's clients")
            .block_on(http_timed(base, clients, what, duration))
    })
    .await
    .expect("the benchmark's clients ran");
    row(
        "HTTP (requests)",
        format!("{what}, {clients} clients"),
        latencies,
        elapsed,
    )
}

/// [`http`]'s latencies of the requests answered with a 2xx, and how long it ran.
pub async fn http_timed(
    base: String,
    clients: usize,
    what: &'static str,
    duration: Duration,
) -> (Vec<Duration>, Duration) {
    let base = base.as_str();
    let client = reqwest::Client::new();
    let body = json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "load",
        "target": {
            "source": format!("{base}/articles/twenty-six-nations-pledge"),
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    })
    .to_string();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    // When the last request answered with a 2xx ended: a create that is refused (the article
    // is full, say) stops its client, and the rate is of the time creates were answered.
    let last_ok = Arc::new(Mutex::new(started));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, base, body, latencies, refused, last_ok) = (
            client.clone(),
            base.to_owned(),
            body.clone(),
            latencies.clone(),
            refused.clone(),
            last_ok.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < duration {
                let request = match what {
                    "create" => client
                        .post(format!("{base}/annotations/"))
                        .header("Content-Type", "application/ld+json")
                        .body(body.clone()),
                    "read" => client.get(format!("{base}/annotations/seed-003-no-problem")),
                    _ => client.get(format!(
                        "{base}/articles/twenty-six-nations-pledge/annotations/?limit=20"
                    )),
                };
                let t = Instant::now();
                let Ok(response) = request.bearer_auth("demo-alice-token").send().await else {
                    return;
                };
                let ok = response.status().is_success();
                let _ = response.bytes().await;
                if ok {
                    latencies.lock().unwrap().push(t.elapsed());
                    let mut last = last_ok.lock().unwrap();
                    *last = (*last).max(Instant::now());
                } else {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if what == "create" {
                        return;
                    }
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let refused = refused.load(std::sync::atomic::Ordering::Relaxed);
    let elapsed = if refused > 0 && what == "create" {
        let last = *last_ok.lock().unwrap();
        last.duration_since(started)
    } else {
        started.elapsed()
    };
    if refused > 0 {
        // Left out of the figures, which are of answered requests; never silently.
        eprintln!(
            "{what}, {clients} clients on {base}: {refused} requests not answered with a 2xx"
        );
    }
    let latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    (latencies, elapsed)
}

/// Prints rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| backend | suite | case | ops | per second | p50 ms | p99 ms |\n\
         |---|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} |\n",
            r.backend, r.suite, r.case, r.ops, r.per_second, r.p50_ms, r.p99_ms
        ));
    }
    out
}

/// Re-anchoring: an article of `annotations` sentences, one comment on each, and a second
/// version that inserts a paragraph at the top, rewords every tenth sentence, deletes every
/// fiftieth and duplicates one in a hundred. Times publishing it (the durable version, the
/// re-anchoring pass with its events, and the house-style check) and reports the outcome.
pub async fn reanchoring(data_dir: &Path, annotations: usize) -> Row {
    let app = Application::build(Settings {
        seed: false,
        ..Settings::for_tests(data_dir.to_path_buf())
    })
    .await
    .expect("the server starts");
    let desk = app.desk().clone();
    tokio::spawn(app.run_until_stopped());
    let sentences = varied_sentences(annotations);
    let v1: String = sentences.join("\n");
    let article = ArticleId::parse("bench-reanchoring").unwrap();
    let user = UserName::parse("alice").unwrap();
    desk.create_article(
        &user,
        ArticleDraft {
            id: article.clone(),
            title: Some("Re-anchoring benchmark".into()),
            outlet: None,
            url: None,
            published: None,
            text: v1.clone(),
        },
    )
    .await
    .expect("the article is ingested");
    annotate_each_sentence(&desk, &user, &article, &v1, &sentences).await;
    let v2 = edited_version(&sentences);
    let started = Instant::now();
    let published = desk
        .publish_version(&user, &article, &v2)
        .await
        .expect("the version is published");
    let took = started.elapsed();
    let report = published.anchoring.expect("a second version re-anchors");
    let outcome: Vec<String> = report
        .targets
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    Row {
        backend: "sled".into(),
        suite: "re-anchoring".into(),
        case: format!(
            "publish a version of an article with {annotations} annotations ({})",
            outcome.join(", ")
        ),
        ops: report.annotations as u64,
        seconds: took.as_secs_f64(),
        per_second: report.annotations as f64 / took.as_secs_f64(),
        p50_ms: took.as_secs_f64() * 1000.0,
        p99_ms: took.as_secs_f64() * 1000.0,
    }
}

/// `n` sentences of 10 to 21 words drawn from a news vocabulary by a fixed pseudo-random
/// sequence, each numbered, so that, as in a real article, no two are near-copies and every
/// run measures the same text.
fn varied_sentences(n: usize) -> Vec<String> {
    let words: Vec<&str> = "the a minister said leaders Kyiv Paris summit talks ceasefire troops \
        guarantees coalition willing pledge border region oblast army drone strike port grain \
        envoy treaty vote parliament budget aid sanctions energy winter front line city village \
        mayor general report deal plan proposal meeting call week month spokesperson Kremlin \
        Washington Brussels Berlin London Warsaw Rome negotiators observers evidence figures \
        estimates officials residents families hospital school bridge railway convoy supplies"
        .split_whitespace()
        .collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    (0..n)
        .map(|i| {
            let length = 10 + next(12);
            let body: Vec<&str> = (0..length).map(|_| words[next(words.len())]).collect();
            format!("{} ({i}).", body.join(" "))
        })
        .collect()
}

/// Comments on every sentence of the first version (one a line), quoting the whole sentence.
async fn annotate_each_sentence(
    desk: &Desk,
    user: &UserName,
    article: &ArticleId,
    v1: &str,
    sentences: &[String],
) {
    let text = IndexedText::new(v1);
    let mut start = 0u64;
    for sentence in sentences {
        let len = sentence.chars().count() as u64;
        let position = TextPosition {
            start,
            end: start + len,
        };
        start += len + 1;
        let draft = Draft {
            kind: Kind::Comment,
            body: "Check this.".into(),
            verdict: None,
            suggestion: None,
            edit_label: None,
            claim: None,
            sources: Vec::new(),
            tags: Vec::new(),
            targets: vec![TargetDraft {
                article: article.clone(),
                version: Some(1),
                quote: text.describe(position),
                position: Some(position),
            }],
            status: None,
            assignee: None,
            canonical: None,
            via: None,
        };
        desk.create(user, draft, None)
            .await
            .expect("the annotation is created");
    }
}

/// The second version an editor might publish: a note on top, one sentence in fifty cut, one
/// in ten lightly reworded, and one in a hundred repeated.
fn edited_version(sentences: &[String]) -> String {
    let mut v2 = vec!["Editor’s Note: this report was updated.".to_owned()];
    for (i, sentence) in sentences.iter().enumerate() {
        if i % 50 == 49 {
            continue;
        }
        if i % 10 == 5 {
            // A light rewording: one word changed near the end.
            let mut reworded: Vec<&str> = sentence.split(' ').collect();
            let at = reworded.len().saturating_sub(3);
            reworded[at] = "reportedly";
            v2.push(reworded.join(" "));
        } else {
            v2.push(sentence.clone());
        }
        if i % 100 == 42 {
            v2.push(sentence.clone());
        }
    }
    v2.join("\n")
}
