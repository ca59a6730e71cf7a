//! Storage: the only code that names sled.
//!
//! One data directory holds one sled database with four trees: the event log (the single source
//! of truth), the read models and the document snapshots (both derived, rebuilt from the log
//! when missing) and a little metadata. Key encoding lives in `keys`.

mod durability;
mod embedded;
mod error;
mod index;
mod keys;
mod local;
mod log;
mod plan;
mod postgres;
mod read_model;
mod record;
mod runs;
mod sled_lock;
mod snapshots;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::thread;

pub use error::{Cause, StoreError};
pub use log::{AppendRequest, Appended, Committed, EventLog, Expected, Position};
pub use postgres::{Database, ScratchDatabase, StartupLock};
pub use read_model::{
    AnchorRow, AnnotationRow, ArticleRow, ClaimRow, Filter, ReadModel, VersionInfo,
};
pub use record::{EventRecord, NewEvent};
pub use snapshots::{Snapshot, Snapshots};
pub use webhooks::{Attempt, Deliveries, ATTEMPTS_KEPT};

/// The on-disk layout version this build writes. Layout 2 stopped storing stream heads (they
/// are derived from the stream index); layout 3 writes one stream index entry per stream and
/// batch, holding the sequence numbers of all the batch's events of that stream; layout 4
/// stores a batch's events in runs under one key each (`runs`); layout 5 keeps the event id and
/// stream indexes in memory, writing chunks of their entries now and then instead of keys per
/// event and stream (`index`). Directories of layouts 1 to 4 open as they are and are marked 5,
/// so an older build, which would trust stale heads, read one event of an index entry, take a
/// run for one event or miss the events indexed only in chunks, refuses them.
const SCHEMA_VERSION: u64 = 5;

/// Where a store keeps its log: sled in the data directory, or PostgreSQL with the data
/// directory holding only what can be rebuilt from it.
#[derive(Clone, Debug)]
pub struct Location {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl Location {
    pub fn new(data_dir: PathBuf, database_url: Option<String>) -> Self {
        Self {
            data_dir,
            database_url: database_url.filter(|url| !url.trim().is_empty()),
        }
    }
}

/// Everything stored in one data directory.
#[derive(Clone)]
pub struct Store {
    pub log: EventLog,
    pub read_model: ReadModel,
    pub snapshots: Snapshots,
    /// Webhook cursors, leases and attempts.
    pub webhooks: Deliveries,
    meta: sled::Tree,
    /// The desk's PostgreSQL, when the log is kept there.
    database: Option<Database>,
}

impl Store {
    /// Opens the store where `location` says: with a database URL, connects to PostgreSQL
    /// (refusing unsafe settings, migrating the schema), checks the data directory's copy of
    /// the log against it and brings the copy level before anything is served.
    pub fn open_at(location: &Location) -> Result<Self, StoreError> {
        match &location.database_url {
            None => Self::open(&location.data_dir),
            Some(url) => {
                let database = Database::connect(url)?;
                Self::open_with(&location.data_dir, Some(database))
            }
        }
    }

    /// Opens (or creates) the store in `data_dir`, catches the read models up with the log and
    /// starts the writer and projector threads.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, None)
    }

    fn open_with(data_dir: &Path, database: Option<Database>) -> Result<Self, StoreError> {
        // sled panics on some kinds of damage rather than returning an error; either way the
        // operator gets a message, not a backtrace, and nothing is served.
        let db = std::panic::catch_unwind(|| open_db(data_dir)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(StoreError::Corrupt(format!(
                "the database in {} is damaged ({what}); restore it from a dump with `glossa restore`",
                data_dir.display()
            )))
        })?;
        let meta = db.open_tree(keys::META_TREE)?;
        match meta.get(keys::META_SCHEMA)? {
            None => {
                meta.insert(keys::META_SCHEMA, &keys::u64_value(SCHEMA_VERSION))?;
            }
            Some(v) if keys::u64_at(&v, 0) == SCHEMA_VERSION => {}
            Some(v) if matches!(keys::u64_at(&v, 0), 1..=4) => {
                meta.insert(keys::META_SCHEMA, &keys::u64_value(SCHEMA_VERSION))?;
            }
            Some(v) => {
                return Err(StoreError::UnknownLayout {
                    found: keys::u64_at(&v, 0),
                    supported: SCHEMA_VERSION,
                })
            }
        }
        sled_lock::flush(&db)?;
        let log_tree = db.open_tree(keys::LOG_TREE)?;
        let (sink, index) = match &database {
            None => {
                if meta.get(keys::META_DESK)?.is_some() {
                    return Err(StoreError::WrongDirectory(format!(
                        "{} is the local copy of a desk whose log is in PostgreSQL; start \
                         with --database-url (or GLOSSA_DATABASE_URL)",
                        data_dir.display()
                    )));
                }
                let durability = durability::Durability::open(&sled_dir(data_dir))?;
                let index = index::Index::open(&log_tree)?;
                let sink = log::Sink::Embedded(embedded::Embedded::new(db.clone(), durability));
                (sink, index)
            }
            Some(database) => {
                let (copied, index) = postgres::level(database, &db, &meta)?;
                if copied > 0 {
                    tracing::info!(copied, "copied events from the database into the local log");
                }
                (log::Sink::Postgres(database.writer()), index)
            }
        };
        let read_model = ReadModel::open(&db)?;
        let snapshots = Snapshots::open(&db)?;
        let webhooks = Deliveries::open(&db, &sled_dir(data_dir), database.as_ref())?;
        let (committed_tx, committed_rx) = std_mpsc::channel::<Vec<EventRecord>>();
        let log = EventLog::open(log_tree, index, sink, committed_tx)?;
        if let Some(database) = &database {
            postgres::listen(database, log.doorbell());
        }
        read_model.catch_up(&log)?;
        let projecting = read_model.clone();
        let projector = thread::Builder::new()
            .name("glossa-projector".into())
            .spawn(move || {
                for records in committed_rx {
                    if let Err(error) = projecting.project(&records) {
                        tracing::error!(error = %error, "projecting events failed; the read models are behind until restart");
                        projecting.fail();
                        return;
                    }
                }
            })?;
        log.adopt_projector(projector);
        Ok(Self {
            log,
            read_model,
            snapshots,
            webhooks,
            meta,
            database,
        })
    }

    /// Stops the store, waits for its threads (see [`EventLog::close`]) and flushes what was
    /// written outside the log (snapshots, read models, metadata), which sled would otherwise
    /// write on its next flush interval. Once every handle is gone (this one is consumed), the
    /// data directory can be opened again at once; dropping the last handle without closing
    /// does the same, but for that flush.
    pub fn close(self) {
        self.log.close();
        if let Err(error) = sled_lock::flush(&self.meta) {
            tracing::warn!(%error, "could not flush the store on close");
        }
    }

    /// The stable id of this data directory, advertised to sync peers as the server's storage
    /// id so clients with storage can keep their sync state with it.
    pub fn storage_id(&self) -> Result<String, StoreError> {
        if let Some(database) = &self.database {
            return database.setting_or("storage_id", uuid::Uuid::new_v4().to_string());
        }
        if let Some(id) = self.meta.get(keys::META_STORAGE_ID)? {
            return String::from_utf8(id.to_vec())
                .map_err(|e| StoreError::undecodable("storage id", e));
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.meta.insert(keys::META_STORAGE_ID, id.as_bytes())?;
        sled_lock::flush(&self.meta)?;
        Ok(id)
    }

    /// Waits until the local log holds everything the shared log had committed when this was
    /// called (at once for an embedded desk, whose log is the local one).
    pub async fn barrier(&self) -> Result<(), StoreError> {
        let Some(database) = &self.database else {
            return Ok(());
        };
        let head = database.head().await?;
        let mut local = self.log.watch_head();
        if !self.log.doorbell().ring(Some(head)) {
            return Err(StoreError::Unavailable);
        }
        local
            .wait_for(|local| *local >= head)
            .await
            .map(drop)
            .map_err(|_| StoreError::Unavailable)
    }

    /// With a shared log, waits until no other process is starting the desk, then brings the
    /// local log level with the shared one: start-up work (seeding, house style, re-anchoring)
    /// is done once, by one process, on the whole log. `None` for an embedded desk.
    pub async fn startup_lock(&self) -> Result<Option<StartupLock>, StoreError> {
        let Some(database) = &self.database else {
            return Ok(None);
        };
        let lock = database.startup_lock().await?;
        self.barrier().await?;
        Ok(Some(lock))
    }

    /// The desk's PostgreSQL, when its log is kept there.
    pub fn database(&self) -> Option<&Database> {
        self.database.as_ref()
    }

    /// Whether the seed data has been loaded into this store.
    pub fn is_seeded(&self) -> Result<bool, StoreError> {
        if let Some(database) = &self.database {
            return Ok(database.setting("seeded")?.is_some());
        }
        Ok(self.meta.get(keys::META_SEEDED)?.is_some())
    }

    pub fn mark_seeded(&self) -> Result<(), StoreError> {
        if let Some(database) = &self.database {
            return database.setting_or("seeded", "1".into()).map(drop);
        }
        self.meta.insert(keys::META_SEEDED, &[1])?;
        sled_lock::flush(&self.meta)?;
        Ok(())
    }
}

/// Deletes the derived state (read models and snapshots) of a data directory that no server has
/// open; the next start rebuilds it from the log.
pub fn drop_derived_state(data_dir: &Path) -> Result<(), StoreError> {
    let db = open_db(data_dir)?;
    db.drop_tree(keys::READ_MODEL_TREE)?;
    db.drop_tree(keys::SNAPSHOT_TREE)?;
    sled_lock::flush(&db)?;
    Ok(())
}

fn sled_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sled")
}

/// sled's flush interval; its lock outlives its last handle by up to one of these.
const FLUSH_EVERY_MS: u64 = 500;
/// How long a lock is waited for before the directory is said to be open elsewhere.
const LOCK_RELEASE: std::time::Duration = std::time::Duration::from_millis(4 * FLUSH_EVERY_MS);

fn open_db(data_dir: &Path) -> Result<sled::Db, StoreError> {
    std::fs::create_dir_all(data_dir)?;
    refuse_if_locked(data_dir)?;
    let db = sled::Config::new()
        .path(sled_dir(data_dir))
        .cache_capacity(128 * 1024 * 1024)
        // The background flusher is also the only place sled itself calls fsync; keep it on.
        .flush_every_ms(Some(FLUSH_EVERY_MS))
        .open()?;
    Ok(db)
}

/// Tells a data directory held by another store apart from any other failure to open it.
/// sled (pinned to 0.34.7) holds an exclusive lock on its `db` file while open and reports a
/// held lock only as an I/O error with a message, so the lock is tried here first. sled lets go
/// of it from its flusher thread, up to one flush interval after its last handle is dropped:
/// a lock still held is waited for, for a few flush intervals, before the directory is said to
/// be open elsewhere. Another store could still take it between this check and sled's; that
/// store's open then fails as a plain storage error.
fn refuse_if_locked(data_dir: &Path) -> Result<(), StoreError> {
    use fs2::FileExt;
    let file = match std::fs::File::open(sled_dir(data_dir).join("db")) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let patience = std::time::Instant::now() + LOCK_RELEASE;
    loop {
        match file.try_lock_exclusive() {
            // Closing the file releases the lock at once, for sled to take.
            Ok(()) => return Ok(()),
            Err(e) if e.kind() != fs2::lock_contended_error().kind() => return Err(e.into()),
            Err(_) if std::time::Instant::now() >= patience => {
                return Err(StoreError::Locked {
                    dir: data_dir.to_path_buf(),
                })
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

#[cfg(test)]
mod tests;
