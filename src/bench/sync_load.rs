//! A sync load generator: many virtual clients on one document over real WebSockets, each with
//! its own Automerge copy and sync state (see `client`), some of them writers adding
//! annotations at a steady rate. Measures fan-out (from a writer making an edit to each other
//! client having it), counts edits delivered against expected, checks that every client ends
//! with the same heads, and times its own CPU.
//!
//! The clients run on one thread of their own ([`run_dedicated`]), so the CPU they use is
//! measured apart from a server in the same process, and a generator that needs more than that
//! one core shows as late deliveries rather than hiding in a shared pool.

mod client;
pub mod desk;
pub mod edit;
pub mod ratio;
pub mod servers;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use tokio::sync::watch;

pub use client::Shared;
use client::{Client, Outcome, Writing};
pub use edit::{Anchor, Edit};

use super::Row;

/// One run's shape.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The server's sync endpoint, `ws://HOST:PORT/sync`.
    pub url: String,
    /// The document id as it goes on the wire (an `automerge:` prefix is dropped).
    pub document_id: String,
    /// Writers' tokens and the user names they write as (annotations' `creator`).
    pub writers: Vec<(String, String)>,
    /// Tokens for the other clients, taken in turn.
    pub readers: Vec<String>,
    /// All clients, writers included.
    pub clients: usize,
    pub edits_per_writer: usize,
    /// Edits per second per writer.
    pub rate: f64,
    /// At most one send of local edits per this interval.
    pub throttle: Duration,
    pub anchor: Anchor,
    pub edit: Edit,
    /// A server process on this machine whose CPU to measure over the run.
    pub server_pid: Option<u32>,
    /// How long to wait for a connection, and for the last edits to arrive everywhere.
    pub patience: Duration,
}

/// What one run found.
#[derive(Debug)]
pub struct Report {
    pub clients: usize,
    pub writers: usize,
    pub edits: usize,
    /// Edits times the clients that did not make them.
    pub expected: u64,
    pub delivered: u64,
    /// Fan-out latencies, sorted.
    pub latencies: Vec<Duration>,
    /// Whether every client ended with the same heads.
    pub converged: bool,
    /// The heads every client ended with (the first client's if they differ).
    pub heads: Vec<ChangeHash>,
    /// What the server said that was not sync.
    pub errors: Vec<String>,
    /// From the first edit to the last delivery.
    pub elapsed: Duration,
    /// From the first edit to the last one made (to the last delivery if not all were made).
    pub made_in: Duration,
    /// The generator thread's CPU from the first edit to closing the last client (connecting
    /// and loading the document are not counted).
    pub cpu: Option<Duration>,
    /// The server's CPU over the same time, when it runs apart and its pid was given.
    pub server_cpu: Option<Duration>,
    /// Every client's document at the end.
    pub docs: Vec<Automerge>,
}

impl Report {
    pub fn cpu_per_edit(&self) -> Option<Duration> {
        self.cpu.map(|c| c / self.edits.max(1) as u32)
    }

    pub fn server_cpu_per_edit(&self) -> Option<Duration> {
        self.server_cpu.map(|c| c / self.edits.max(1) as u32)
    }

    pub fn cpu_per_client(&self) -> Option<Duration> {
        self.cpu.map(|c| c / self.clients.max(1) as u32)
    }

    /// The run as a row: delivered edits per second, fan-out percentiles.
    pub fn row(&self) -> Row {
        let mut cpu = match self.cpu_per_edit() {
            Some(c) => format!("generator CPU {} µs/edit", c.as_micros()),
            None => "generator CPU not measured".into(),
        };
        if let Some(c) = self.server_cpu_per_edit() {
            cpu.push_str(&format!(", server CPU {} µs/edit", c.as_micros()));
        }
        let case = format!(
            "fan-out, {} clients on one document ({} writers, {} edits, {}/{} delivered, {}, {})",
            self.clients,
            self.writers,
            self.edits,
            self.delivered,
            self.expected,
            if self.converged {
                "converged"
            } else {
                "NOT converged"
            },
            cpu
        );
        let mut row = super::row("sync", case, self.latencies.clone(), self.elapsed);
        row.ops = self.delivered;
        row.per_second = self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9);
        row
    }
}

/// Runs the workload on a thread of its own with a single-threaded runtime; callable from any
/// runtime.
pub async fn run_dedicated(workload: Workload) -> anyhow::Result<Report> {
    on_own_thread(move || run(workload)).await
}

/// Runs the future `make` gives on a thread named `sync-load` with a single-threaded runtime,
/// so that the generator's CPU is its own and measured apart from a server in this process.
async fn on_own_thread<T, F>(make: impl FnOnce() -> F + Send + 'static) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("sync-load".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(make()));
            let _ = tx.send(result);
        })?;
    rx.await?
}

/// Connects the clients, then lets the writers write, waits for every edit to reach every other
/// client and for all heads to agree (each within `patience` of the last edit), then closes.
pub async fn run(workload: Workload) -> anyhow::Result<Report> {
    connect(workload).await?.go(None).await.finish().await
}

/// Runs several workloads at once (different documents, say) on a thread of their own with a
/// single-threaded runtime: connects them all, waits for the process `quiet` (the server) to
/// go idle if given, takes `sample` (on that thread, so it can read the thread's CPU), starts
/// every writer (each workload's `stagger` after the one before), waits for every run's
/// delivery and convergence, takes `sample` again, then closes them all.
pub async fn run_many_dedicated<S: Send + 'static>(
    workloads: Vec<Workload>,
    limit: Option<Duration>,
    quiet: Option<u32>,
    stagger: Duration,
    sample: impl Fn() -> S + Send + 'static,
) -> anyhow::Result<Sampled<S>> {
    on_own_thread(move || run_many(workloads, limit, quiet, stagger, sample)).await
}

/// What [`run_many_dedicated`] found: a report per workload, and the samples taken once all
/// clients were connected and once every edit had arrived everywhere (or patience ran out).
pub struct Sampled<S> {
    pub reports: Vec<Report>,
    pub before: S,
    pub after: S,
}

async fn run_many<S>(
    workloads: Vec<Workload>,
    limit: Option<Duration>,
    quiet: Option<u32>,
    stagger: Duration,
    sample: impl Fn() -> S,
) -> anyhow::Result<Sampled<S>> {
    let connecting: Vec<_> = workloads
        .into_iter()
        .map(|w| tokio::spawn(connect(w)))
        .collect();
    let mut connected = Vec::with_capacity(connecting.len());
    let mut failed = None;
    for task in connecting {
        match task.await? {
            Ok(c) => connected.push(c),
            Err(error) => failed = failed.or(Some(error)),
        }
    }
    if let Some(error) = failed {
        for c in connected {
            let _ = c.stop.send(true);
        }
        return Err(error);
    }
    // The last rounds of the clients' first syncs are not part of the step.
    if let Some(pid) = quiet {
        servers::idle(pid, Duration::from_secs(15)).await;
    }
    let before = sample();
    let going: Vec<_> = connected
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            // Writers of the i-th workload start `i` staggers after the first's.
            tokio::spawn(async move {
                tokio::time::sleep(stagger * i as u32).await;
                c.go(limit).await
            })
        })
        .collect();
    let mut delivered = Vec::with_capacity(going.len());
    for task in going {
        delivered.push(task.await?);
    }
    let after = sample();
    let mut reports = Vec::with_capacity(delivered.len());
    for d in delivered {
        reports.push(d.finish().await?);
    }
    Ok(Sampled {
        reports,
        before,
        after,
    })
}

type Task = tokio::task::JoinHandle<anyhow::Result<Outcome>>;

/// A run whose clients are all connected and have the document, writers waiting for `go`.
pub struct Connected {
    workload: Workload,
    shared: Arc<Shared>,
    go: watch::Sender<bool>,
    stop: watch::Sender<bool>,
    tasks: Vec<Task>,
}

/// A run whose edits have all arrived everywhere (or whose patience ran out), clients still
/// connected.
pub struct Delivered {
    workload: Workload,
    stop: watch::Sender<bool>,
    tasks: Vec<Task>,
    expected: u64,
    converged: bool,
    elapsed: Duration,
    made_in: Duration,
    cpu_before: Option<Duration>,
    server_cpu: Option<Duration>,
}

/// Connects the workload's clients, each loading the document.
pub async fn connect(workload: Workload) -> anyhow::Result<Connected> {
    let w = &workload;
    anyhow::ensure!(
        !w.writers.is_empty() && w.clients > w.writers.len(),
        "a run needs writers and at least one other client"
    );
    anyhow::ensure!(!w.readers.is_empty(), "a run needs tokens for the readers");
    let document_id = w
        .document_id
        .strip_prefix("automerge:")
        .unwrap_or(&w.document_id)
        .to_owned();
    let shared = Arc::new(Shared {
        heads: std::sync::Mutex::new(vec![Vec::new(); w.clients]),
        ..Shared::default()
    });
    let (go, going) = watch::channel(false);
    let (stop, stopped) = watch::channel(false);
    let run_tag = uuid::Uuid::new_v4().simple().to_string();
    let every = Duration::from_secs_f64(1.0 / w.rate);
    // A few connections at a time; each client answers the server (pings included) as soon
    // as it is connected, and writers start on `go`, once all are.
    let connecting = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::with_capacity(w.clients);
    for index in 0..w.clients {
        let token = match w.writers.get(index) {
            Some((token, _)) => token,
            None => &w.readers[(index - w.writers.len()) % w.readers.len()],
        }
        .clone();
        let writing = w.writers.get(index).map(|(_, user)| Writing {
            user: user.clone(),
            edits: w.edits_per_writer,
            every,
            anchor: w.anchor.clone(),
            edit: w.edit,
            prefix: format!("load-{}-{index}", &run_tag[..12]),
        });
        let (url, document_id) = (w.url.clone(), document_id.clone());
        let (throttle, patience) = (w.throttle, w.patience);
        let (shared, connecting) = (shared.clone(), connecting.clone());
        let (going, stopped) = (going.clone(), stopped.clone());
        tasks.push(tokio::spawn(async move {
            let permit = connecting.acquire_owned().await?;
            let connected =
                Client::connect(index, &url, &token, &document_id, throttle, patience).await;
            drop(permit);
            let client = match connected {
                Ok(client) => client,
                Err(error) => {
                    shared
                        .failed
                        .lock()
                        .unwrap()
                        .get_or_insert(error.to_string());
                    shared.progress.notify_waiters();
                    return Err(error);
                }
            };
            shared.connected.fetch_add(1, Ordering::Relaxed);
            shared.progress.notify_waiters();
            client.run(writing, shared, going, stopped).await
        }));
    }
    wait_for(&shared, w.patience, || {
        shared.connected.load(Ordering::Relaxed) == w.clients
            || shared.failed.lock().unwrap().is_some()
    })
    .await;
    if shared.connected.load(Ordering::Relaxed) < w.clients {
        let _ = stop.send(true);
        let failed = shared.failed.lock().unwrap().clone();
        anyhow::bail!(
            "only {} of {} clients connected: {}",
            shared.connected.load(Ordering::Relaxed),
            w.clients,
            failed.unwrap_or_else(|| "the rest did not in time".into())
        );
    }
    // What clients wrote before the run (a typing writer's note) reaches everyone first.
    let settled = wait_for(&shared, w.patience, || {
        let heads = shared.heads.lock().unwrap();
        heads.iter().all(|h| *h == heads[0])
    })
    .await;
    if !settled {
        let _ = stop.send(true);
        anyhow::bail!("the clients did not agree on the document before the run");
    }
    Ok(Connected {
        workload,
        shared,
        go,
        stop,
        tasks,
    })
}

impl Connected {
    /// Lets the writers write and waits for delivery and convergence, each given `patience`
    /// from the last thing that moved, and all of it at most `limit` (a run that falls behind
    /// may otherwise drain its backlog for long).
    pub async fn go(self, limit: Option<Duration>) -> Delivered {
        let Connected {
            workload: w,
            shared,
            go,
            stop,
            tasks,
        } = self;
        let cpu_before = edit::thread_cpu();
        let server_before = w.server_pid.and_then(edit::process_cpu);
        let started = Instant::now();
        let _ = go.send(true);
        let edits = w.writers.len() * w.edits_per_writer;
        let expected = (edits * (w.clients - 1)) as u64;
        let mut delivered_at = started;
        let mut written_at = None;
        let waiting = wait_for(&shared, w.patience, || {
            let written = shared.writers_done.load(Ordering::Relaxed) == w.writers.len();
            if written && written_at.is_none() {
                written_at = Some(Instant::now());
            }
            let done = written && shared.delivered.load(Ordering::Relaxed) >= expected;
            if !done {
                delivered_at = Instant::now();
                return false;
            }
            let heads = shared.heads.lock().unwrap();
            heads.iter().all(|h| *h == heads[0])
        });
        let converged = match limit {
            Some(limit) => tokio::time::timeout(limit, waiting).await.unwrap_or(false),
            None => waiting.await,
        };
        let server_cpu = w
            .server_pid
            .and_then(edit::process_cpu)
            .zip(server_before)
            .map(|(after, before)| after.saturating_sub(before));
        Delivered {
            workload: w,
            stop,
            tasks,
            expected,
            converged,
            elapsed: delivered_at.duration_since(started),
            made_in: written_at.unwrap_or(delivered_at).duration_since(started),
            cpu_before,
            server_cpu,
        }
    }
}

impl Delivered {
    /// Closes every client and gathers what they saw.
    pub async fn finish(self) -> anyhow::Result<Report> {
        let w = &self.workload;
        let _ = self.stop.send(true);
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            outcomes.push(task.await??);
        }
        let cpu = edit::thread_cpu()
            .zip(self.cpu_before)
            .map(|(after, before)| after - before);
        let mut latencies: Vec<Duration> = outcomes
            .iter()
            .flat_map(|o| o.latencies.iter().copied())
            .collect();
        latencies.sort();
        let heads = outcomes[0].heads.clone();
        Ok(Report {
            clients: w.clients,
            writers: w.writers.len(),
            edits: outcomes.iter().map(|o| o.edits_made).sum(),
            expected: self.expected,
            delivered: latencies.len() as u64,
            latencies,
            converged: self.converged && outcomes.iter().all(|o| o.heads == heads),
            heads,
            errors: outcomes.iter().flat_map(|o| o.errors.clone()).collect(),
            elapsed: self.elapsed,
            made_in: self.made_in,
            cpu,
            server_cpu: self.server_cpu,
            docs: outcomes.into_iter().map(|o| o.doc).collect(),
        })
    }
}

/// Waits until `done` holds, re-checking whenever a client reports progress; false if nothing
/// moved for `patience` while it did not hold.
async fn wait_for(shared: &Shared, patience: Duration, mut done: impl FnMut() -> bool) -> bool {
    loop {
        let progress = shared.progress.notified();
        tokio::pin!(progress);
        progress.as_mut().enable();
        if done() {
            return true;
        }
        if tokio::time::timeout(patience, progress).await.is_err() {
            return done();
        }
    }
}
