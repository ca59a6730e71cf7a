//! Prometheus metrics: counters, gauges and histograms on the `prometheus` crate, rendered as
//! the text exposition format at `/metrics`. One process-wide registry, as Prometheus expects.
//!
//! Two rules keep the numbers honest and cheap:
//! - A gauge that counts live things (sync peers, loaded documents) is moved only by a guard
//!   that the thing holds: [`PeerGauge`] and [`LoadedDocument`] add one when made and take it
//!   back when dropped, so a path that forgets to decrement, or a task that panics, cannot
//!   leave the gauge drifting.
//! - A request's labels are borrowed `&str`s from a bounded set (the method folded into a fixed
//!   list, the route pattern, the status class), so recording one allocates nothing; the
//!   crate escapes label values when it renders them.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntGauge, Opts, Registry,
    TextEncoder,
};

const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const SIZES: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
];

/// Everything Glossa measures.
pub struct Metrics {
    registry: Registry,
    pub events_appended: IntCounter,
    pub append_batches: IntCounter,
    pub batch_events: Histogram,
    pub fsync_seconds: Histogram,
    /// Edits a document task logged in one append (its group commit).
    pub edit_batch: Histogram,
    /// Moved only by [`PeerGauge`].
    sync_peers: IntGauge,
    /// Moved only by [`LoadedDocument`].
    documents_loaded: IntGauge,
    /// Documents saved and let go after an idle time.
    pub documents_unloaded: IntCounter,
    pub changes_rejected: IntCounter,
    /// Document appends that lost a race with another writer and were tried again.
    pub append_races: IntCounter,
    /// Live-tail consumers dropped for leaving their buffer full past the patience.
    pub tail_consumers_dropped: IntCounter,
    /// HTTP latency by (method, route pattern, status class).
    http: HistogramVec,
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    /// A registry of its own with every metric registered (the process uses [`metrics`]).
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            let counter = IntCounter::new(name, help).expect("a valid counter");
            registry
                .register(Box::new(counter.clone()))
                .expect("a metric name registered once");
            counter
        };
        let gauge = |name: &str, help: &str| {
            let gauge = IntGauge::new(name, help).expect("a valid gauge");
            registry
                .register(Box::new(gauge.clone()))
                .expect("a metric name registered once");
            gauge
        };
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
            let histogram = Histogram::with_opts(opts).expect("a valid histogram");
            registry
                .register(Box::new(histogram.clone()))
                .expect("a metric name registered once");
            histogram
        };
        let http = HistogramVec::new(
            HistogramOpts::from(Opts::new(
                "glossa_http_request_seconds",
                "HTTP latency by route.",
            ))
            .buckets(SECONDS.to_vec()),
            &["method", "route", "status"],
        )
        .expect("a valid histogram");
        registry
            .register(Box::new(http.clone()))
            .expect("a metric name registered once");
        Self {
            events_appended: counter(
                "glossa_events_appended_total",
                "Events appended durably to the log.",
            ),
            append_batches: counter(
                "glossa_append_batches_total",
                "Group-commit batches written (one flush and fsync each).",
            ),
            changes_rejected: counter(
                "glossa_changes_rejected_total",
                "Sync changes compensated because they broke the rules.",
            ),
            append_races: counter(
                "glossa_document_append_races_total",
                "Document appends that lost a race with another writer and were tried again.",
            ),
            tail_consumers_dropped: counter(
                "glossa_tail_consumers_dropped_total",
                "Live-tail consumers dropped for reading nothing while their buffer was full.",
            ),
            sync_peers: gauge("glossa_sync_peers", "Sync peers subscribed to documents."),
            documents_loaded: gauge(
                "glossa_documents_loaded",
                "Article documents loaded in memory.",
            ),
            documents_unloaded: counter(
                "glossa_documents_unloaded_total",
                "Article documents saved and unloaded after an idle time.",
            ),
            batch_events: histogram(
                "glossa_batch_events",
                "Events per group-commit batch.",
                SIZES,
            ),
            fsync_seconds: histogram(
                "glossa_fsync_seconds",
                "Time to flush and fsync one batch.",
                SECONDS,
            ),
            edit_batch: histogram(
                "glossa_document_edit_batch",
                "Edits a document task logged in one append.",
                SIZES,
            ),
            http,
            registry,
        }
    }

    pub fn observe_edit_batch(&self, edits: usize) {
        self.edit_batch.observe(edits as f64);
    }

    /// Records one HTTP request by its route pattern (never the raw path, to bound
    /// cardinality). Methods outside the standard set count as `OTHER`, for the same reason.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.http
            .with_label_values(&[method_label(method), route, status_class(status)])
            .observe(took.as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into memory fails only on a metric the crate itself built wrongly.
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%error, "rendering the metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// One sync peer subscribed to one document: counted in `glossa_sync_peers` for as long as
/// the value lives. The document keeps it with the peer's state.
pub struct PeerGauge {
    _held: Held,
}

impl PeerGauge {
    /// Counts a peer in the process-wide metrics.
    pub fn join() -> Self {
        Self::on(metrics())
    }

    pub fn on(metrics: &Metrics) -> Self {
        Self {
            _held: Held::new(&metrics.sync_peers),
        }
    }
}

/// One article document in memory: counted in `glossa_documents_loaded` for as long as the
/// value lives. The document's task holds it until it ends, however it ends.
pub struct LoadedDocument {
    _held: Held,
}

impl LoadedDocument {
    /// Counts a document in the process-wide metrics.
    pub fn load() -> Self {
        Self::on(metrics())
    }

    pub fn on(metrics: &Metrics) -> Self {
        Self {
            _held: Held::new(&metrics.documents_loaded),
        }
    }
}

/// One unit of a gauge, given back on drop.
struct Held(IntGauge);

impl Held {
    fn new(gauge: &IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The method as a label from a fixed set: a client inventing methods cannot grow the series.
fn method_label(method: &str) -> &'static str {
    const KNOWN: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("OTHER")
}

fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(metrics: &Metrics, name: &str) -> String {
        metrics
            .render()
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")).map(str::to_owned))
            .unwrap_or_else(|| panic!("{name} is rendered"))
    }

    #[test]
    fn gauges_return_to_zero_once_their_holders_are_gone() {
        let metrics = Metrics::new();
        let peers: Vec<_> = (0..3).map(|_| PeerGauge::on(&metrics)).collect();
        let document = LoadedDocument::on(&metrics);
        assert_eq!(value(&metrics, "glossa_sync_peers"), "3");
        assert_eq!(value(&metrics, "glossa_documents_loaded"), "1");
        drop(peers);
        drop(document);
        assert_eq!(value(&metrics, "glossa_sync_peers"), "0");
        assert_eq!(value(&metrics, "glossa_documents_loaded"), "0");
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.http_request("GET", "/a\"b\\c\nd", 200, Duration::from_millis(1));
        let text = metrics.render();
        assert!(
            text.contains(r#"route="/a\"b\\c\nd""#),
            "the route is escaped: {text}"
        );
        assert!(!text.contains("/a\"b\\c\nd"), "no raw newline or quote");
    }

    #[test]
    fn invented_methods_share_one_series() {
        let metrics = Metrics::new();
        for method in ["BREW", "WHEN", "GET"] {
            metrics.http_request(method, "/x", 404, Duration::from_millis(1));
        }
        let text = metrics.render();
        assert!(text.contains(
            r#"glossa_http_request_seconds_count{method="OTHER",route="/x",status="4xx"} 2"#
        ));
        assert!(text.contains(
            r#"glossa_http_request_seconds_count{method="GET",route="/x",status="4xx"} 1"#
        ));
    }
}
