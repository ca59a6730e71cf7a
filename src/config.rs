//! Settings: built from command-line flags, each with a `GLOSSA_…` environment override and a
//! default that runs the embedded server on a laptop or a 2-core machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::ContentLimits;

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where to listen; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// The data directory: the sled log, read models and snapshots; with a database URL only
    /// what can be rebuilt from PostgreSQL.
    pub data_dir: PathBuf,
    /// Keep the log in PostgreSQL at this URL; `None` keeps it in sled in the data directory.
    pub database_url: Option<String>,
    /// The base IRI in links and annotation ids; defaults to `http://<addr>`.
    pub public_url: Option<String>,
    /// Make a new data directory a demo desk (seed articles, demo users); `false` makes it a
    /// real desk. An existing data directory keeps its kind (ADR 0008).
    pub seed: bool,
    /// Declared a demo: a demo desk may listen beyond loopback.
    pub demo: bool,
    pub limits: Limits,
}

/// Limits that protect the server from oversized input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Default and largest page of a container listing.
    pub page_size: usize,
    pub max_page_size: usize,
    /// Largest WebSocket message on `/sync` (the first sync of a big document is one message).
    pub max_frame_bytes: usize,
    /// How often `/sync` pings, and how long a silent peer may go before it is dropped.
    pub ping_every: Duration,
    pub ping_timeout: Duration,
    /// Open `/sync` connections one user may have at once (429 beyond).
    pub max_connections_per_user: usize,
    /// How often an idle event stream sends a keep-alive comment.
    pub heartbeat_every: Duration,
    /// Events a live-tail consumer may leave unread in the server's buffer (beyond what the
    /// network buffers hold) before the stream waits for it.
    pub tail_buffer: usize,
    /// How long the live tail waits for a consumer with a full buffer before dropping it; the
    /// consumer resumes from its `Last-Event-ID`.
    pub tail_slow_consumer: Duration,
    /// How long an article's document stays in memory with no sync peer and no request; it is
    /// saved and unloaded then, and loaded again by the next request.
    pub document_idle: Duration,
    /// How long the search indexer gathers changes before it commits them while no search is
    /// waiting (a search that waits has them committed at once).
    pub search_pace: Duration,
    pub content: ContentLimits,
    /// How webhooks are delivered: timeouts, retries, leases.
    pub webhooks: crate::webhooks::Policy,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            page_size: 20,
            max_page_size: 200,
            max_frame_bytes: 16 * 1024 * 1024,
            ping_every: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(30),
            heartbeat_every: Duration::from_secs(15),
            tail_buffer: 1024,
            tail_slow_consumer: Duration::from_secs(30),
            max_connections_per_user: 32,
            document_idle: Duration::from_secs(300),
            search_pace: Duration::from_secs(1),
            content: ContentLimits::default(),
            webhooks: crate::webhooks::Policy::default(),
        }
    }
}

impl Settings {
    /// Defaults for a data directory, listening on an ephemeral local port: what tests use.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url: None,
            public_url: None,
            seed: true,
            demo: false,
            limits: Limits {
                // Small enough that tests can exceed it cheaply, and quick to give up on
                // silent peers.
                max_frame_bytes: 1024 * 1024,
                ping_every: Duration::from_millis(500),
                ping_timeout: Duration::from_secs(2),
                heartbeat_every: Duration::from_millis(200),
                max_connections_per_user: 8,
                // Short, so every test also loads documents again after they were unloaded.
                document_idle: Duration::from_millis(300),
                ..Limits::default()
            },
        }
    }
}
