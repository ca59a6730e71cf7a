//! The log in PostgreSQL: the durable original when a desk outgrows one machine.
//!
//! PostgreSQL holds every event (`glossa_events`), each stream's version, the last position and
//! the desk's own settings; the data directory keeps a local sled copy of the log that serves
//! every read, and the read models and snapshots derived from it, all of which can be rebuilt
//! from PostgreSQL. The log's writer sends each group commit to PostgreSQL as one transaction
//! (`append`), and copies what committed into the local log before anyone is answered. At start
//! the local copy is checked against PostgreSQL and brought level (`copy`); the schema is
//! migrated by the binary (`schema`), and a database whose settings would acknowledge a commit
//! before its WAL is on disk is refused (`settings`).

mod append;
mod cluster;
mod copy;
mod follow;
mod schema;
mod scratch;
mod settings;
mod signals;
mod webhooks;
#[cfg(test)]
mod writer_tests;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use super::index::Index;
use super::log::{AppendRequest, Failure, Outcome};
use super::StoreError;

pub use cluster::StartupLock;
pub(super) use copy::level;
pub(super) use follow::listen;
pub use scratch::ScratchDatabase;

/// How long connecting, or one statement or transaction on a connection, may take before the
/// database counts as unreachable.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection to the desk's database for everything but the writer's transactions: start-up
/// work, the desk's settings, health checks. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    runtime: Background,
    client: tokio::sync::Mutex<Option<Client>>,
    /// Signals received from the desk's processes (see `signals`).
    signals: tokio::sync::broadcast::Sender<String>,
}

impl Database {
    /// Connects, refuses unsafe settings, and migrates the schema.
    pub(super) fn connect(url: &str) -> Result<Self, StoreError> {
        let config = parse(url)?;
        let runtime = Background::start("glossa-postgres")?;
        let database = Self {
            inner: Arc::new(Inner {
                config,
                runtime,
                client: tokio::sync::Mutex::new(None),
                signals: tokio::sync::broadcast::channel(signals::BACKLOG).0,
            }),
        };
        let db = database.clone();
        database.block(async move {
            let mut client = connect(&db.inner.config).await?;
            schema::migrate(&mut client).await?;
            *db.inner.client.lock().await = Some(client);
            Ok(())
        })?;
        Ok(database)
    }

    /// Runs `work` on the database's runtime and waits for it, from any thread.
    pub(super) fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.inner.runtime.handle().spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().map_err(|_| StoreError::Unavailable)?
    }

    /// Runs `work` with the shared connection (made again if it was lost), within `PATIENCE`.
    pub(super) async fn with_client<T>(
        &self,
        work: impl for<'c> FnOnce(
            &'c Client,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>,
        >,
    ) -> Result<T, StoreError> {
        let mut slot = self.inner.client.lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = Some(connect(&self.inner.config).await?);
        }
        let client = slot.as_ref().expect("connected just above");
        let done = within_patience(work(client)).await;
        if matches!(done, Err(StoreError::DatabaseUnreachable { .. })) {
            *slot = None;
        }
        done
    }

    /// Whether the database answers now, from async code.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let db = self.clone();
        let handle = self.inner.runtime.handle().spawn(async move {
            db.with_client(|client| {
                Box::pin(async move {
                    client.simple_query("SELECT 1").await.map_err(pg_error)?;
                    Ok(())
                })
            })
            .await
        });
        handle.await.map_err(|_| StoreError::Unavailable)?
    }

    /// A setting of the desk's (`glossa_meta`).
    pub(super) fn setting(&self, key: &'static str) -> Result<Option<String>, StoreError> {
        let db = self.clone();
        self.block(async move {
            db.with_client(|client| {
                Box::pin(async move {
                    let row = client
                        .query_opt("SELECT value FROM glossa_meta WHERE key = $1", &[&key])
                        .await
                        .map_err(pg_error)?;
                    Ok(row.map(|row| row.get(0)))
                })
            })
            .await
        })
    }

    /// Sets a setting of the desk's unless it is set, and returns its value.
    pub(super) fn setting_or(
        &self,
        key: &'static str,
        value: String,
    ) -> Result<String, StoreError> {
        let db = self.clone();
        self.block(async move {
            db.with_client(|client| {
                Box::pin(async move {
                    client
                        .execute(
                            "INSERT INTO glossa_meta (key, value) VALUES ($1, $2) \
                             ON CONFLICT (key) DO NOTHING",
                            &[&key, &value],
                        )
                        .await
                        .map_err(pg_error)?;
                    let row = client
                        .query_one("SELECT value FROM glossa_meta WHERE key = $1", &[&key])
                        .await
                        .map_err(pg_error)?;
                    Ok(row.get(0))
                })
            })
            .await
        })
    }

    /// The writer's end: its own connection, made on first use and again after a failure.
    pub(super) fn writer(&self) -> Remote {
        Remote {
            database: self.clone(),
            client: None,
        }
    }
}

/// The log writer's connection to PostgreSQL, with its prepared statements.
pub(crate) struct Remote {
    database: Database,
    client: Option<(Client, append::Statements)>,
}

impl Remote {
    /// Commits a batch in one transaction, then copies it (and anything committed elsewhere
    /// since the local head) into the local log. A database that cannot be reached fails this
    /// batch only.
    pub(super) fn commit(
        &mut self,
        tree: &sled::Tree,
        index: &Index,
        head: u64,
        requests: &[&AppendRequest],
    ) -> Result<Outcome, Failure> {
        let runtime = self.database.inner.runtime.handle().clone();
        let (config, client) = (&self.database.inner.config, &mut self.client);
        // The whole commit is bounded, preparing a new connection's statements included: a
        // server that stops answering would otherwise hold every append behind this one.
        let committed = runtime.block_on(within_patience(async {
            let (connection, statements) = connected(client, config).await?;
            append::append(connection, statements, requests, head).await
        }));
        if committed.is_err() {
            // The connection may be in any state (a transaction half sent, say).
            self.client = None;
        }
        let (plans, records) = committed.map_err(|error| match error {
            StoreError::DatabaseBehind { .. } => Failure::Fatal(error),
            _ => Failure::Transient(error),
        })?;
        super::local::apply(tree, index, &records).map_err(Failure::Fatal)?;
        Ok(Outcome { plans, records })
    }
}

/// The writer's connection and its prepared statements, made again if there is none or it
/// was lost.
async fn connected<'c>(
    client: &'c mut Option<(Client, append::Statements)>,
    config: &Config,
) -> Result<(&'c Client, &'c append::Statements), StoreError> {
    if client.as_ref().is_none_or(|(c, _)| c.is_closed()) {
        let connection = connect(config).await?;
        let statements = append::Statements::prepare(&connection).await?;
        *client = Some((connection, statements));
    }
    let (connection, statements) = client.as_ref().expect("connected just above");
    Ok((connection, statements))
}

/// `work`, or `DatabaseUnreachable` once it has taken longer than `PATIENCE`.
async fn within_patience<T>(
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(PATIENCE, work)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::DatabaseUnreachable {
                reason: format!("no answer within {} s", PATIENCE.as_secs()),
            })
        })
}

/// A runtime of the store's own, so the database can be used from any thread, async or not.
/// Stopped without waiting when the store goes (its connections simply close).
struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    fn start(name: &str) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(Self(Some(runtime)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("running until dropped").handle()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn parse(url: &str) -> Result<Config, StoreError> {
    let mut config: Config = url.parse().map_err(|e| {
        StoreError::Database(format!(
            "the database URL is not one PostgreSQL understands ({e}); write it as \
             postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        ))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.keepalives_idle(Duration::from_secs(30));
    if config.get_application_name().is_none() {
        config.application_name("glossa");
    }
    Ok(config)
}

/// Connects and refuses a database whose settings would lose acknowledged commits.
/// A connection with its settings checked, within the patience: a server that takes the
/// connection and never answers (stopping, or hung) would otherwise hold its caller forever.
async fn connect(config: &Config) -> Result<Client, StoreError> {
    within_patience(async {
        let (client, connection) = config.connect(NoTls).await.map_err(pg_error)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "lost a connection to the database");
            }
        });
        settings::refuse_unsafe(&client).await?;
        Ok(client)
    })
    .await
}

/// A PostgreSQL failure as the store sees it: the database out of reach (a retry may
/// succeed), or a statement refused.
pub(super) fn pg_error(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        // Connection exceptions, a server shutting down or starting, out of resources.
        Some(db) if unreachable_state(db.code().code()) => StoreError::DatabaseUnreachable {
            reason: db.message().to_owned(),
        },
        Some(db) => StoreError::Database(format!("{} ({})", db.message(), db.code().code())),
        None => StoreError::DatabaseUnreachable {
            reason: with_causes(&error),
        },
    }
}

/// "error connecting to server: Connection refused (os error 111)", not just the first part.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text = format!("{text}: {next}");
        cause = next.source();
    }
    text
}

fn unreachable_state(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}
