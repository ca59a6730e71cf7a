//! The load generator behind `glossa-bench`: whole-path figures for durable appends, the HTTP
//! API and start-up, reported as medians and percentiles (never asserted in tests).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::config::Settings;
use crate::domain::{AnnotationId, EventId, StreamId, UserName};
use crate::startup::Application;
use crate::store::{AppendRequest, Expected, NewEvent, Store};

/// One measured case.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
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
        suite: suite.to_owned(),
        case,
        ops,
        seconds: elapsed.as_secs_f64(),
        per_second: ops as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
    }
}

fn event(stream: &StreamId) -> NewEvent {
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

/// Fills a log to `total` events with large batches.
pub async fn prefill(store: &Store, total: u64) {
    let stream = StreamId::Annotation(AnnotationId::parse("prefill").unwrap());
    while store.log.head() < total {
        let n = (total - store.log.head()).min(1000) as usize;
        let request = AppendRequest {
            events: (0..n).map(|_| event(&stream)).collect(),
            expectations: Vec::new(),
        };
        store.log.append(request).await.expect("prefill");
    }
}

/// The HTTP API: `clients` concurrent clients doing `what` for `duration`.
pub async fn http(base: &str, clients: usize, what: &'static str, duration: Duration) -> Row {
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
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, base, body, latencies) = (
            client.clone(),
            base.to_owned(),
            body.clone(),
            latencies.clone(),
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
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    row(
        "HTTP (requests)",
        format!("{what}, {clients} clients"),
        latencies,
        started.elapsed(),
    )
}

/// Starts a server in-process on a fresh data directory.
pub async fn server(data_dir: &Path) -> String {
    let app = Application::build(Settings::for_tests(data_dir.to_path_buf()))
        .await
        .expect("the server starts");
    let base = app.base_url().to_owned();
    tokio::spawn(app.run_until_stopped());
    base
}

/// Prints rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| suite | case | ops | per second | p50 ms | p99 ms |\n|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} |\n",
            r.suite, r.case, r.ops, r.per_second, r.p50_ms, r.p99_ms
        ));
    }
    out
}
