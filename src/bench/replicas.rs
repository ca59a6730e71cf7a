//! Several replicas over one PostgreSQL database, in one process: [`Cluster`] starts servers
//! on a fresh database (each with its own data directory, as `glossa serve --database-url`
//! would), and the throughput cases here compare one replica with two and three in the same
//! sitting: REST creates spread over the replicas, and raw appends from several stores on one
//! database. Creates with each replica on an article of its own are in `apart`, propagation
//! and racing typists in `propagation` and `typists`.

use std::path::PathBuf;
use std::time::Duration;

use std::time::Instant;

use super::Row;
use crate::config::Settings;
use crate::desk::Desk;
use crate::domain::{AnnotationId, StreamId};
use crate::startup::Application;
use crate::store::{AppendRequest, Expected};
use crate::store::{Location, ScratchDatabase, Store};

/// One server of a cluster: its base URL and its desk (for its documents and its log).
pub struct Replica {
    pub base: String,
    pub desk: Desk,
}

/// Servers sharing one fresh database; they run until the process ends.
pub struct Cluster {
    pub replicas: Vec<Replica>,
    scratch: ScratchDatabase,
    dirs: Vec<PathBuf>,
}

impl Cluster {
    /// Creates a database on the cluster `cluster_url` points at and starts `n` servers on it,
    /// one after the other (the first seeds the desk, the others find it seeded).
    pub async fn start(cluster_url: &str, n: usize) -> anyhow::Result<Self> {
        let scratch = ScratchDatabase::create(cluster_url).await?;
        let mut replicas = Vec::new();
        let mut dirs = Vec::new();
        for _ in 0..n {
            let dir = fresh_dir("replica")?;
            let settings = Settings {
                database_url: Some(scratch.url.clone()),
                ..Settings::for_tests(dir.clone())
            };
            let app = Application::build(settings).await?;
            replicas.push(Replica {
                base: app.base_url().to_owned(),
                desk: app.desk().clone(),
            });
            tokio::spawn(app.run_until_stopped());
            dirs.push(dir);
        }
        Ok(Self {
            replicas,
            scratch,
            dirs,
        })
    }

    /// Drops the database (closing the servers' connections to it) and the data directories.
    pub async fn remove(self) {
        if let Err(error) = self.scratch.drop().await {
            eprintln!("could not drop a benchmark database: {error}");
        }
        for dir in self.dirs {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

/// REST creates on one article from `clients` clients spread evenly over 1, 2 and 3 replicas.
pub async fn creates(
    cluster_url: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for n in 1..=3 {
        let cluster = Cluster::start(cluster_url, n).await?;
        let races = races();
        let per_replica = clients / n;
        let runs = cluster.replicas.iter().map(|r| {
            tokio::spawn(super::http_timed(
                r.base.clone(),
                per_replica,
                "create",
                duration,
            ))
        });
        let (latencies, elapsed) = merge(runs.collect()).await;
        let races = self::races() - races;
        let (annotations, rollback_ms) = rollback_cost(&cluster.replicas[0].desk).await?;
        rows.push(postgres(super::row(
            "replicas",
            format!(
                "REST create, one article, {} clients over {n} replica{} ({races} races; \
                 then {annotations} annotations, a rollback {rollback_ms:.0} ms)",
                per_replica * n,
                plural(n)
            ),
            latencies,
            elapsed,
        )));
        cluster.remove().await;
    }
    Ok(rows)
}

/// Raw appends (batch 1, one stream per client) from `clients` clients spread evenly over 1, 2
/// and 3 stores opened on one database, each with its own data directory and follower.
pub async fn appends(
    cluster_url: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for n in 1..=3 {
        let scratch = ScratchDatabase::create(cluster_url).await?;
        let mut stores = Vec::new();
        let mut dirs = Vec::new();
        for _ in 0..n {
            let dir = fresh_dir("replica-appends")?;
            let location = Location::new(dir.clone(), Some(scratch.url.clone()));
            stores.push(tokio::task::spawn_blocking(move || Store::open_at(&location)).await??);
            dirs.push(dir);
        }
        let per_store = clients / n;
        let runs = stores
            .iter()
            .enumerate()
            .map(|(i, s)| tokio::spawn(appends_timed(s.clone(), per_store, i, duration)));
        let (latencies, elapsed) = merge(runs.collect()).await;
        // Every store's copy holds every store's events once the followers have caught up.
        let finished = Instant::now();
        let head = stores.iter().map(|s| s.log.head()).max().unwrap_or(0);
        for store in &stores {
            store.log.watch_head().wait_for(|h| *h >= head).await?;
        }
        let caught_up = finished.elapsed().as_secs_f64() * 1000.0;
        rows.push(postgres(super::row(
                "replicas",
                format!(
                    "appends, batch 1, {} clients over {n} store{} (every copy level {caught_up:.0} ms after the last)",
                    per_store * n,
                    plural(n)
                ),
            latencies,
            elapsed,
        )));
        for store in stores {
            store.close();
        }
        scratch.drop().await.ok();
        for dir in dirs {
            std::fs::remove_dir_all(dir).ok();
        }
    }
    Ok(rows)
}

/// `clients` tasks appending one event at a time, each to a stream of its own (named after
/// `store_index` too, so stores never share a stream); the latencies and how long it ran.
async fn appends_timed(
    store: Store,
    clients: usize,
    store_index: usize,
    duration: Duration,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let log = store.log.clone();
        tasks.push(tokio::spawn(async move {
            let stream = StreamId::Annotation(
                AnnotationId::parse(&format!("replica-{store_index}-{c}")).unwrap(),
            );
            let mut latencies = Vec::new();
            while started.elapsed() < duration {
                let request = AppendRequest {
                    events: vec![super::event(&stream)],
                    expectations: vec![(stream.clone(), Expected::Any)],
                };
                let t = Instant::now();
                if log.append(request).await.is_err() {
                    break;
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    (latencies, started.elapsed())
}

/// What a lost race costs the document task beyond the retried append: it rolls its document
/// back to the heads before the append (`Automerge::fork_at`), which rebuilds the document.
/// Times that on a copy of the article's document as it now is; with its annotation count.
async fn rollback_cost(desk: &Desk) -> anyhow::Result<(usize, f64)> {
    let article = crate::domain::ArticleId::parse("twenty-six-nations-pledge").unwrap();
    let state = desk.documents().inspect(&article).await?;
    let doc = automerge::Automerge::load(&state.saved)?;
    let heads = doc.get_heads();
    let started = Instant::now();
    for _ in 0..3 {
        std::hint::black_box(doc.fork_at(&heads)?);
    }
    Ok((
        state.annotations.len(),
        started.elapsed().as_secs_f64() * 1000.0 / 3.0,
    ))
}

/// The latencies of all runs and the longest run's time.
pub(super) async fn merge(
    runs: Vec<tokio::task::JoinHandle<(Vec<Duration>, Duration)>>,
) -> (Vec<Duration>, Duration) {
    let mut latencies = Vec::new();
    let mut elapsed = Duration::ZERO;
    for run in runs {
        if let Ok((l, e)) = run.await {
            latencies.extend(l);
            elapsed = elapsed.max(e);
        }
    }
    (latencies, elapsed)
}

/// Document appends that lost a race so far, in this process (all its replicas).
pub(super) fn races() -> u64 {
    crate::metrics::metrics().append_races.get()
}

pub(super) fn postgres(mut row: Row) -> Row {
    row.backend = "PostgreSQL".into();
    row
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(super) fn fresh_dir(label: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "glossa-bench-{label}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
