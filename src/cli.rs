//! The `glossa` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::FalseyValueParser;
use clap::{Args, Parser, Subcommand};

use crate::config::{Limits, Settings};
use crate::store::Location;
use crate::telemetry::LogFormat;

/// Glossa: an annotation server for newsrooms.
#[derive(Debug, Parser)]
#[command(name = "glossa", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server. A new data directory becomes a demo desk (seed articles, demo users)
    /// unless --no-seed makes it a real desk; an existing one keeps its kind.
    Serve(ServeArgs),
    /// Issue, list and revoke access tokens, on a running server (--server, --token of an
    /// admin) or on a data directory no server has open.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create users and change their roles, on a running server or a data directory.
    #[command(subcommand)]
    User(UserCommand),
    /// Write every event of a data directory as NDJSON (the server must not be running; a
    /// running server offers the same at /api/export/log.ndjson).
    Dump {
        #[command(flatten)]
        data: DataDirArg,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild an empty data directory from an NDJSON dump.
    Restore {
        #[command(flatten)]
        data: DataDirArg,
        /// The dump to read.
        #[arg(long)]
        from: PathBuf,
    },
    /// Print events after a sequence number as NDJSON, from a running server (`--server`) or
    /// from a data directory; `--follow` keeps printing new events as they happen.
    Events {
        #[command(flatten)]
        source: Source,
        /// Print events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Print at most this many events.
        #[arg(long)]
        limit: Option<usize>,
        /// Keep following the live tail (needs --server).
        #[arg(long)]
        follow: bool,
    },
    /// Export annotations (W3C AnnotationCollection), csv, claimreview or log (NDJSON dump),
    /// from a running server (`--server`) or from a data directory.
    Export {
        /// What to export.
        #[arg(value_enum)]
        what: ExportKind,
        #[command(flatten)]
        source: Source,
        /// The base URL of ids in an export read from a data directory.
        #[arg(
            long,
            env = "GLOSSA_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        /// Only this article (annotations, csv, claimreview).
        #[arg(long)]
        article: Option<String>,
    },
    /// Publish a new version of an article's text on a running server; every annotation is
    /// re-anchored and the house style re-checked. Prints where the annotations went.
    Publish {
        /// A running server, e.g. http://127.0.0.1:8080.
        #[arg(long, env = "GLOSSA_SERVER")]
        server: String,
        /// Bearer token of an editor.
        #[arg(long, env = "GLOSSA_TOKEN")]
        token: String,
        /// The article's id.
        #[arg(long)]
        article: String,
        /// The new text, as a UTF-8 file (`-` for standard input).
        #[arg(long)]
        file: PathBuf,
    },
    /// Search annotations (notes, quotes, replies, suggestions, tags, sources) and article text,
    /// on a running server (`--server`) or a data directory. Words must all match (small
    /// misspellings and accents forgiven, the last word as a prefix); "quoted phrases" match in
    /// order.
    Search {
        /// The query, e.g. `Zelenskiy` or `"26 nations" pledge`.
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        filters: Box<SearchArgs>,
        /// Print the API's JSON page instead of a list.
        #[arg(long)]
        json: bool,
        /// The base URL of links read from a data directory.
        #[arg(
            long,
            env = "GLOSSA_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
    /// Import annotations from another tool, on a running server (--server, --token of an
    /// admin) or on a data directory no server has open. Prints what was imported, how it was
    /// placed, what was orphaned or skipped and why; importing the same file again writes
    /// nothing.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Subscribe URLs to the desk's events and watch their deliveries, on a running server
    /// (--server, --token of an admin). Deliveries are signed the Standard Webhooks way.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Delete the derived state (read models, snapshots, search index) of a data directory;
    /// the next start rebuilds it from the event log. The server must not be running.
    Rebuild(DataDirArg),
}

/// The filters of `glossa search`, as `GET /api/search` takes them.
#[derive(Debug, Default, Args)]
pub struct SearchArgs {
    /// Only `annotation`s or only `article`s.
    #[arg(long = "type")]
    pub hit: Option<String>,
    #[arg(long)]
    pub article: Option<String>,
    /// fact-check, correction, contradiction, comment, question or tag.
    #[arg(long)]
    pub kind: Option<String>,
    /// open, in_review, resolved or rejected.
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub verdict: Option<String>,
    #[arg(long)]
    pub assignee: Option<String>,
    /// Who created the annotation.
    #[arg(long)]
    pub author: Option<String>,
    #[arg(long)]
    pub tag: Option<String>,
    /// Created on or after (a date, 2025-09-04, or an RFC 3339 time).
    #[arg(long)]
    pub from: Option<String>,
    /// Created before (a date counts whole).
    #[arg(long)]
    pub to: Option<String>,
    /// How many results (1 to 100).
    #[arg(long, default_value = "20")]
    pub limit: String,
}

#[derive(Debug, Args)]
pub struct DataDirArg {
    /// The data directory (with --database-url, the replica's local copy of the log).
    #[arg(long, env = "GLOSSA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Keep the log in PostgreSQL (postgres://USER@HOST/DB); sled in the data directory
    /// otherwise.
    #[arg(long, env = "GLOSSA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DataDirArg {
    pub fn location(&self) -> Location {
        Location::new(self.data_dir.clone(), self.database_url.clone())
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GLOSSA_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The data directory: the sled log, read models and snapshots; with --database-url only
    /// what can be rebuilt from PostgreSQL (the local copy of the log, read models, snapshots).
    #[arg(long, env = "GLOSSA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Keep the log in PostgreSQL (postgres://USER@HOST/DB); without it, sled in the data
    /// directory is the log.
    #[arg(long, env = "GLOSSA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Base URL in annotation ids and links, when clients reach the server by another name.
    #[arg(long, env = "GLOSSA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Make a new data directory a real desk: no seed articles, no demo users; its first start
    /// creates an admin and prints their token once. Refused on a demo desk.
    #[arg(long, env = "GLOSSA_NO_SEED", conflicts_with = "demo", value_parser = FalseyValueParser::new())]
    pub no_seed: bool,
    /// This is a demo on purpose: a new data directory becomes a demo desk, and a demo desk may
    /// listen on a non-loopback address (its tokens are public). Refused on a real desk.
    #[arg(long, env = "GLOSSA_DEMO", value_parser = FalseyValueParser::new())]
    pub demo: bool,
    /// Largest request body in bytes.
    #[arg(long, env = "GLOSSA_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Largest WebSocket message on /sync, in bytes.
    #[arg(long, env = "GLOSSA_MAX_FRAME_BYTES", default_value_t = Limits::default().max_frame_bytes)]
    pub max_frame_bytes: usize,
    /// Events a live-tail (`/api/events/stream`) consumer may leave unread before the server
    /// waits for it.
    #[arg(long, env = "GLOSSA_TAIL_BUFFER", default_value_t = Limits::default().tail_buffer)]
    pub tail_buffer: usize,
    /// Seconds the live tail waits for a consumer that reads nothing before dropping it.
    #[arg(long, env = "GLOSSA_TAIL_SLOW_CONSUMER_SECS", default_value_t = Limits::default().tail_slow_consumer.as_secs())]
    pub tail_slow_consumer_secs: u64,
    /// Milliseconds an article's document stays in memory with no sync peer and no request
    /// before it is saved and unloaded (the next request loads it again).
    #[arg(long, env = "GLOSSA_DOCUMENT_IDLE_MS", default_value_t = Limits::default().document_idle.as_millis() as u64)]
    pub document_idle_ms: u64,
    /// Log format.
    #[arg(long, env = "GLOSSA_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

impl ServeArgs {
    pub fn settings(&self) -> Settings {
        Settings {
            addr: self.addr,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            public_url: self.public_url.clone(),
            seed: !self.no_seed,
            demo: self.demo,
            limits: Limits {
                max_body_bytes: self.max_body_bytes,
                max_frame_bytes: self.max_frame_bytes,
                tail_buffer: self.tail_buffer.max(1),
                tail_slow_consumer: std::time::Duration::from_secs(self.tail_slow_consumer_secs),
                document_idle: std::time::Duration::from_millis(self.document_idle_ms),
                ..Limits::default()
            },
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a user and print it (it is shown this once; only its hash is
    /// stored). On a data directory, a user who does not exist yet is created with --role.
    Create {
        #[command(flatten)]
        source: Source,
        /// User name (a-z, 0-9, '-', '_', '.').
        #[arg(long)]
        user: String,
        /// viewer, editor or admin: the role of a user created on a data directory.
        #[arg(long)]
        role: Option<String>,
    },
    /// List tokens (ids, users, roles, when issued and revoked; never a token).
    List {
        #[command(flatten)]
        source: Source,
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id: it is refused from its next request, and its open connections
    /// are closed.
    Revoke {
        #[command(flatten)]
        source: Source,
        /// The token's id, as `token list` shows it (tok-…).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (then issue them a token with `token create`).
    Create {
        #[command(flatten)]
        source: Source,
        /// User name (a-z, 0-9, '-', '_', '.').
        #[arg(long)]
        name: String,
        /// The name people see; defaults to the user name.
        #[arg(long)]
        display_name: Option<String>,
        /// viewer, editor or admin.
        #[arg(long)]
        role: String,
    },
    /// Change a user's role; their tokens carry it from their next request.
    Role {
        #[command(flatten)]
        source: Source,
        #[arg(long)]
        name: String,
        /// viewer, editor or admin.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Annotations as the Hypothesis API returns them (a search result, `{"rows": [...]}`, or
    /// an array of rows), filed on the articles whose URL (or own IRI) they name.
    Hypothesis {
        /// The JSON file (`-` for standard input).
        file: PathBuf,
        #[command(flatten)]
        source: Source,
        /// The desk's base URL, by which articles' own IRIs (`<URL>/articles/<id>`) are known,
        /// on a data directory (a server knows its own).
        #[arg(
            long,
            env = "GLOSSA_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a URL and print its signing secret (shown this once).
    Create {
        #[command(flatten)]
        api: Api,
        /// Where deliveries are POSTed (http:// or https://).
        #[arg(long)]
        url: String,
        /// Only events of this type (annotation.created, …); repeat for more. All by default.
        #[arg(long = "type")]
        types: Vec<String>,
        /// Only events about this article; repeat for more. All by default.
        #[arg(long = "article")]
        articles: Vec<String>,
        /// A note for admins: who receives it, what for.
        #[arg(long)]
        description: Option<String>,
        /// Print the API's JSON (with the secret) instead.
        #[arg(long)]
        json: bool,
    },
    /// List subscriptions: status, cursor, URL.
    List {
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        json: bool,
    },
    /// One subscription as JSON, with its cursor and last attempt.
    Show {
        #[command(flatten)]
        api: Api,
        id: String,
    },
    /// Stop deliveries until resumed.
    Pause {
        #[command(flatten)]
        api: Api,
        id: String,
    },
    /// Deliver again, from the event it stopped at.
    Resume {
        #[command(flatten)]
        api: Api,
        id: String,
    },
    /// End a subscription.
    Delete {
        #[command(flatten)]
        api: Api,
        id: String,
    },
    /// The latest delivery attempts, newest first.
    Deliveries {
        #[command(flatten)]
        api: Api,
        id: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// A running server and an admin's token.
#[derive(Debug, Args)]
pub struct Api {
    /// A running server, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "GLOSSA_SERVER")]
    pub server: String,
    /// Bearer token of an admin.
    #[arg(long, env = "GLOSSA_TOKEN")]
    pub token: String,
}

/// Where a command reads from or writes to: a running server, or a data directory.
#[derive(Debug, Args)]
pub struct Source {
    /// A running server, e.g. http://127.0.0.1:8080 (reads the data directory otherwise).
    #[arg(long, env = "GLOSSA_SERVER")]
    pub server: Option<String>,
    /// Bearer token for --server.
    #[arg(long, env = "GLOSSA_TOKEN")]
    pub token: Option<String>,
    /// The data directory, when no --server is given (the server must not be running).
    #[arg(long, env = "GLOSSA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The desk's PostgreSQL log, when no --server is given and the desk keeps its log there.
    #[arg(long, env = "GLOSSA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl Source {
    pub fn location(&self) -> Location {
        Location::new(self.data_dir.clone(), self.database_url.clone())
    }
}

/// What `glossa export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportKind {
    Annotations,
    Csv,
    Claimreview,
    Log,
}
