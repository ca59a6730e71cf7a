//! Prometheus metrics: counters, gauges and histograms kept in atomics and rendered as the
//! text exposition format at `/metrics`. One process-wide registry, as Prometheus expects.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// A histogram with fixed upper bounds.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum in millionths, to stay in integers.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            if value <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{braces} {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const SIZES: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
];

/// Everything Glossa measures.
pub struct Metrics {
    pub events_appended: AtomicU64,
    pub append_batches: AtomicU64,
    pub batch_events: Histogram,
    pub fsync_seconds: Histogram,
    /// Edits a document task logged in one append (its group commit).
    pub edit_batch: Histogram,
    pub sync_peers: AtomicI64,
    pub documents_loaded: AtomicI64,
    /// Documents saved and let go after an idle time.
    pub documents_unloaded: AtomicU64,
    pub changes_rejected: AtomicU64,
    /// Appends of a document that lost a race with another writer and were tried again.
    pub append_races: AtomicU64,
    /// Live-tail consumers dropped for leaving their buffer full past the patience.
    pub tail_consumers_dropped: AtomicU64,
    /// HTTP latency by (method, route pattern, status class).
    http: Mutex<BTreeMap<(String, String, String), Histogram>>,
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics {
        events_appended: AtomicU64::new(0),
        append_batches: AtomicU64::new(0),
        batch_events: Histogram::new(SIZES),
        fsync_seconds: Histogram::new(SECONDS),
        edit_batch: Histogram::new(SIZES),
        sync_peers: AtomicI64::new(0),
        documents_loaded: AtomicI64::new(0),
        documents_unloaded: AtomicU64::new(0),
        changes_rejected: AtomicU64::new(0),
        append_races: AtomicU64::new(0),
        tail_consumers_dropped: AtomicU64::new(0),
        http: Mutex::new(BTreeMap::new()),
    })
}

impl Metrics {
    pub fn observe_edit_batch(&self, edits: usize) {
        self.edit_batch.observe(edits as f64);
    }

    /// Records one HTTP request by its route pattern (never the raw path, to bound cardinality).
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let class = format!("{}xx", status / 100);
        let mut http = self.http.lock().expect("metrics lock");
        http.entry((method.to_owned(), route.to_owned(), class))
            .or_insert_with(|| Histogram::new(SECONDS))
            .observe(took.as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        counter(
            &mut out,
            "glossa_events_appended_total",
            "Events appended durably to the log.",
            self.events_appended.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "glossa_append_batches_total",
            "Group-commit batches written (one flush and fsync each).",
            self.append_batches.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "glossa_changes_rejected_total",
            "Sync changes compensated because they broke the rules.",
            self.changes_rejected.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "glossa_document_append_races_total",
            "Document appends that lost a race with another writer and were tried again.",
            self.append_races.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "glossa_tail_consumers_dropped_total",
            "Live-tail consumers dropped for reading nothing while their buffer was full.",
            self.tail_consumers_dropped.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "glossa_sync_peers",
            "Sync peers subscribed to documents.",
            self.sync_peers.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "glossa_documents_loaded",
            "Article documents loaded in memory.",
            self.documents_loaded.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "glossa_documents_unloaded_total",
            "Article documents saved and unloaded after an idle time.",
            self.documents_unloaded.load(Ordering::Relaxed),
        );
        let _ = writeln!(out, "# HELP glossa_batch_events Events per group-commit batch.\n# TYPE glossa_batch_events histogram");
        self.batch_events
            .render(&mut out, "glossa_batch_events", "");
        let _ = writeln!(out, "# HELP glossa_fsync_seconds Time to flush and fsync one batch.\n# TYPE glossa_fsync_seconds histogram");
        self.fsync_seconds
            .render(&mut out, "glossa_fsync_seconds", "");
        let _ = writeln!(out, "# HELP glossa_document_edit_batch Edits a document task logged in one append.\n# TYPE glossa_document_edit_batch histogram");
        self.edit_batch
            .render(&mut out, "glossa_document_edit_batch", "");
        let _ = writeln!(out, "# HELP glossa_http_request_seconds HTTP latency by route.\n# TYPE glossa_http_request_seconds histogram");
        for ((method, route, status), histogram) in self.http.lock().expect("metrics lock").iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            histogram.render(&mut out, "glossa_http_request_seconds", &labels);
        }
        out
    }
}
