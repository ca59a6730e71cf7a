//! The append-only event log: global sequence, per-stream versions, idempotent appends, and a
//! single writer that commits batches with one flush (group commit).
//!
//! Appends from every document and request queue up on one channel. The writer thread drains
//! whatever is waiting and hands the batch to its sink: `embedded` decides each append against
//! the sled trees, writes them all in one atomic batch and makes it durable (see
//! `durability`); `postgres` commits the batch in one transaction and copies it into the local
//! log. Only then are the waiters answered and the batch handed to the read-model projector.
//! With PostgreSQL the writer also follows the shared log when its doorbell rings (what other
//! processes committed). Readers never see past the durable head.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex, PoisonError, RwLock};
use std::thread::{self, JoinHandle};

use tokio::sync::{mpsc, oneshot};

use crate::domain::{EventId, StreamId};

use super::embedded::Syncer;
use super::index::Index;
use super::plan::Plan;
use super::record::{EventRecord, NewEvent, Prepared};
use super::StoreError;

/// Most events committed in one batch; bounds latency and batch size.
const MAX_BATCH_EVENTS: usize = 2048;
/// Appends that may wait for the writer before callers are slowed down.
const QUEUE_DEPTH: usize = 4096;

/// What a stream's version must be for an append to go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version.
    Exact(u64),
}

/// Events to append atomically, with the stream versions they expect.
#[derive(Clone, Debug, Default)]
pub struct AppendRequest {
    pub events: Vec<NewEvent>,
    pub expectations: Vec<(StreamId, Expected)>,
}

/// Where an appended event landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub seq: u64,
    pub version: u64,
}

/// The answer to a durable append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// One position per event, in request order.
    pub positions: Vec<Position>,
    /// The events had been appended before (same ids): nothing new was written.
    pub duplicate: bool,
}

impl Committed {
    pub fn last_seq(&self) -> u64 {
        self.positions.iter().map(|p| p.seq).max().unwrap_or(0)
    }
}

struct Job {
    request: AppendRequest,
    /// The request's events encoded by the appender (the embedded log only): the writer
    /// thread puts in the versions it decides.
    prepared: Vec<Prepared>,
    reply: oneshot::Sender<Result<Committed, StoreError>>,
}

/// What the local log gains, read in order (see [`EventLog::appended`]).
pub struct Appended {
    log: EventLog,
    head: tokio::sync::watch::Receiver<u64>,
    cursor: u64,
}

impl Appended {
    /// Events read per step.
    const STEP: usize = 1024;

    /// The next events after those already returned, waiting for the log to gain some;
    /// `None` once the log is closed or cannot be read.
    pub async fn next(&mut self) -> Option<Vec<EventRecord>> {
        loop {
            if self.cursor >= *self.head.borrow_and_update()
                && (self.head.changed().await.is_err() || self.log.is_closed())
            {
                return None;
            }
            let (log, after) = (self.log.clone(), self.cursor);
            let read = tokio::task::spawn_blocking(move || log.read_after(after, Self::STEP));
            match read.await {
                Ok(Ok(records)) if records.is_empty() => continue,
                Ok(Ok(records)) => {
                    self.cursor = records.last().map_or(self.cursor, |r| r.seq);
                    return Some(records);
                }
                Ok(Err(error)) => {
                    tracing::error!(%error, "could not read what the log gained");
                    return None;
                }
                Err(_) => return None,
            }
        }
    }
}

/// Rung when the shared log has grown (a notification, or a timer): the writer copies the new
/// events into the local log.
pub(super) struct Doorbell {
    shared: std::sync::Weak<Shared>,
    threads: std::sync::Weak<Threads>,
}

impl Doorbell {
    /// Asks the writer to follow the log, unless the local copy already holds `seq`. `false`
    /// once the log is closed or has failed (it follows nothing more until a restart).
    pub(super) fn ring(&self, seq: Option<u64>) -> bool {
        let (Some(shared), Some(threads)) = (self.shared.upgrade(), self.threads.upgrade()) else {
            return false;
        };
        if shared.closing.load(Ordering::Acquire) {
            return false;
        }
        if seq.is_some_and(|seq| seq <= shared.durable.load(Ordering::Acquire)) {
            return true;
        }
        // A failed log's writer copies nothing more: a follow asked of it would never come.
        if shared.poisoned.load(Ordering::Acquire) {
            return false;
        }
        let jobs = threads.jobs.read().unwrap_or_else(PoisonError::into_inner);
        let Some(jobs) = jobs.as_ref().filter(|jobs| !jobs.is_closed()) else {
            return false;
        };
        // One follow waiting is enough: it reads everything new. More would queue appends
        // behind follows that each wait out the database's patience while it is out of reach.
        if shared.follow_queued.swap(true, Ordering::AcqRel) {
            return true;
        }
        match jobs.try_send(Message::Follow) {
            Ok(()) => true,
            // A full queue means the writer is busy: its next commit copies what is new.
            Err(mpsc::error::TrySendError::Full(_)) => {
                shared.follow_queued.store(false, Ordering::Release);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                shared.follow_queued.store(false, Ordering::Release);
                false
            }
        }
    }
}

/// What the writer's queue carries.
enum Message {
    Append(Job),
    /// Sent by `close`, so an idle writer looks at the closing flag.
    Wake,
    /// Copy what was committed elsewhere (another process on the same database).
    Follow,
}

struct Shared {
    tree: sled::Tree,
    /// Where each event id landed and each stream's events, of everything written (durable or
    /// not).
    index: Index,
    /// Highest sequence number known to be on disk.
    durable: AtomicU64,
    poisoned: AtomicBool,
    /// Whether a `Follow` waits in the writer's queue (the doorbell queues at most one).
    follow_queued: AtomicBool,
    /// Set by `close`: the writer ends as soon as its queue is empty.
    closing: AtomicBool,
    durable_tx: tokio::sync::watch::Sender<u64>,
    /// Whether appenders encode their events for the writer (the embedded log's writer
    /// stores what they encoded; PostgreSQL's stores rows).
    prepares: bool,
}

/// A handle to the log; cheap to clone. `close`, or dropping the last handle, stops the writer.
#[derive(Clone)]
pub struct EventLog {
    shared: Arc<Shared>,
    threads: Arc<Threads>,
}

/// The writer's queue and the threads that serve the log. Stopping them drops the queue's only
/// sender: the writer commits what was queued, flushes and ends, which closes the projector's
/// channel, so the projector ends after projecting the rest. Both are joined, so the data
/// directory is free again once the store's handles are gone.
struct Threads {
    shared: Arc<Shared>,
    /// `None` once stopped: appends are refused from then on.
    jobs: RwLock<Option<mpsc::Sender<Message>>>,
    /// The writer hands back the embedded log's syncer (its handle on the database) when it
    /// ends; see [`Threads::stop`].
    writer: Mutex<Option<JoinHandle<Option<Syncer>>>>,
    projector: Mutex<Option<JoinHandle<()>>>,
}

impl Threads {
    fn stop(&self) {
        // An append waiting for room in a full queue holds a sender until it is polled again,
        // which may be never if it runs on the thread that is closing: so the writer does not
        // wait for every sender to go, only for the queue to be empty once it is closing. A
        // full queue means the writer is busy and will look at the flag after its batch; an
        // idle one is woken.
        self.shared.closing.store(true, Ordering::Release);
        let jobs = self
            .jobs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(jobs) = jobs {
            let _ = jobs.try_send(Message::Wake);
        }
        // The writer first: its end is what ends the projector.
        let syncer = join(&self.writer).flatten();
        join(&self.projector);
        // The syncer holds the store's `sled::Db`. sled flushes when the last handle of a tree
        // goes, outside `sled_lock`, holding a lock shared by every sled database in the
        // process while it waits for its disk writes. So the handle goes after the writer and
        // the projector have ended and after a flush of its own, when its flush on drop finds
        // nothing of theirs left to write (the store's other trees flush as their own last
        // handles go).
        if let Some(syncer) = syncer {
            syncer.finish();
        }
    }
}

/// Joins a storage thread, unless it is the calling thread (it could only get here by dropping
/// the last handle), and returns what it handed back.
fn join<T>(thread: &Mutex<Option<JoinHandle<T>>>) -> Option<T> {
    let handle = thread
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()?;
    if handle.thread().id() == thread::current().id() {
        return None;
    }
    match handle.join() {
        Ok(value) => Some(value),
        Err(_) => {
            tracing::error!("a storage thread panicked before it stopped");
            None
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.stop();
    }
}

impl EventLog {
    /// Opens the log and starts its writer thread. Committed batches are sent, in order, to
    /// `committed` (the projector).
    pub(super) fn open(
        tree: sled::Tree,
        index: Index,
        sink: Sink,
        committed: std_mpsc::Sender<Vec<EventRecord>>,
    ) -> Result<Self, StoreError> {
        let head = super::local::head(&tree)?;
        let (durable_tx, _) = tokio::sync::watch::channel(head);
        let prepares = matches!(sink, Sink::Embedded(_));
        let shared = Arc::new(Shared {
            prepares,
            tree,
            index,
            durable: AtomicU64::new(head),
            poisoned: AtomicBool::new(false),
            follow_queued: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            durable_tx,
        });
        let (jobs, rx) = mpsc::channel(QUEUE_DEPTH);
        let writer = Writer {
            sink,
            shared: shared.clone(),
            committed,
            written: head,
            syncer: None,
        };
        let writer = thread::Builder::new()
            .name("glossa-log-writer".into())
            .spawn(move || writer.run(rx))?;
        let threads = Arc::new(Threads {
            shared: shared.clone(),
            jobs: RwLock::new(Some(jobs)),
            writer: Mutex::new(Some(writer)),
            projector: Mutex::new(None),
        });
        Ok(Self { shared, threads })
    }

    /// A handle that asks the writer to copy what other processes committed, and that does
    /// not keep the log open.
    pub(super) fn doorbell(&self) -> Doorbell {
        Doorbell {
            shared: Arc::downgrade(&self.shared),
            threads: Arc::downgrade(&self.threads),
        }
    }

    /// Hands the projector's thread to the log, to be joined when the log stops.
    pub(super) fn adopt_projector(&self, projector: JoinHandle<()>) {
        *self
            .threads
            .projector
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(projector);
    }

    /// Stops the log for every handle: appends already queued are committed, later ones are
    /// refused with `Unavailable`, and the writer and projector threads have ended when this
    /// returns. It blocks for at most one commit.
    pub fn close(&self) {
        self.threads.stop();
    }

    /// Appends events atomically; resolves once they are on disk.
    #[tracing::instrument(skip_all, fields(events = request.events.len()))]
    pub async fn append(&self, request: AppendRequest) -> Result<Committed, StoreError> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable);
        }
        let jobs = self
            .threads
            .jobs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(StoreError::Unavailable)?;
        let prepared = if self.shared.prepares {
            request
                .events
                .iter()
                .map(Prepared::new)
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            request,
            prepared,
            reply,
        };
        let sent = jobs.send(Message::Append(job)).await;
        // The writer ends only once every sender is gone; this one is not kept while waiting.
        drop(jobs);
        sent.map_err(|_| StoreError::Unavailable)?;
        answer.await.map_err(|_| StoreError::Unavailable)?
    }

    /// Follows what the local log gains from now on (its own commits and, with a shared log,
    /// what was copied from other processes), in order, a step at a time.
    pub fn appended(&self) -> Appended {
        let mut head = self.watch_head();
        let cursor = *head.borrow_and_update();
        Appended {
            log: self.clone(),
            head,
            cursor,
        }
    }

    /// Whether the log was closed (appends are refused from then on).
    pub fn is_closed(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
    }

    /// The sequence number of the last durable event (0 for an empty log).
    pub fn head(&self) -> u64 {
        self.shared.durable.load(Ordering::Acquire)
    }

    /// Watches the durable head: for live tails.
    pub fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.durable_tx.subscribe()
    }

    /// Up to `limit` durable events after sequence number `after`, in order.
    pub fn read_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        super::local::read_after(&self.shared.tree, after, self.head(), limit)
    }

    /// One durable event by sequence number.
    pub fn get(&self, seq: u64) -> Result<Option<EventRecord>, StoreError> {
        if seq == 0 || seq > self.head() {
            return Ok(None);
        }
        super::local::get(&self.shared.tree, seq)
    }

    /// One durable event by id, through the index that makes appends idempotent: what a
    /// deterministic id (an idempotency key's receipt, say) finds after a restart.
    pub fn by_id(&self, id: EventId) -> Result<Option<EventRecord>, StoreError> {
        match self.shared.index.seq_of(id) {
            Some(seq) => self.get(seq),
            None => Ok(None),
        }
    }

    /// Every durable event of a stream with a sequence number above `after_seq`, in order.
    pub fn read_stream(
        &self,
        stream: &StreamId,
        after_seq: u64,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let seqs = self.shared.index.seqs(stream, after_seq, self.head());
        super::local::get_each(&self.shared.tree, &seqs)?
            .into_iter()
            .map(|(seq, record)| {
                record.ok_or_else(|| {
                    StoreError::Corrupt(format!("the index of {stream} names missing event {seq}"))
                })
            })
            .collect()
    }

    /// A stream's version counting what the writer wrote, durable or not: for tests that look on
    /// while a sync is held.
    #[cfg(test)]
    pub(super) fn written_version(&self, stream: &StreamId) -> u64 {
        self.shared.index.version(stream, u64::MAX)
    }

    /// The current version of a stream, counting its durable events (0 if it has none).
    pub fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        Ok(self.shared.index.version(stream, self.head()))
    }
}

/// Where the writer's batches go: sled in the data directory, made durable by the writer
/// itself, or PostgreSQL, copied into the local sled log once committed.
pub(super) enum Sink {
    Embedded(super::embedded::Embedded),
    Postgres(super::postgres::Remote),
}

/// Why a batch was not committed.
pub(super) enum Failure {
    /// The log cannot go on (a local disk failure): everything queued is refused and the
    /// writer stops; a restart recovers from what is durable.
    Fatal(StoreError),
    /// This batch is refused with this error (the database is unreachable, say); later
    /// batches are tried again.
    Transient(StoreError),
}

/// A committed batch: one plan per append, and the events now in the local log, in order
/// (with PostgreSQL, also those committed elsewhere that the local copy lacked).
pub(super) struct Outcome {
    pub(super) plans: Vec<Plan>,
    pub(super) records: Vec<EventRecord>,
}

/// What the writer does next.
enum Next {
    Job(Job),
    Follow,
}

struct Writer {
    sink: Sink,
    shared: Arc<Shared>,
    committed: std_mpsc::Sender<Vec<EventRecord>>,
    /// The last position written into sled, durable or not (the embedded log only).
    written: u64,
    /// The embedded log's syncer thread and the batches it is to make durable.
    syncer: Option<(std_mpsc::Sender<Written>, JoinHandle<Syncer>)>,
}

/// A batch the embedded writer wrote into sled, waiting for the syncer.
struct Written {
    jobs: Vec<Job>,
    outcome: Outcome,
    started: std::time::Instant,
}

impl Writer {
    /// Serves the queue until the log is closed; hands back the syncer, if it had one.
    fn run(mut self, mut rx: mpsc::Receiver<Message>) -> Option<Syncer> {
        if let Err(error) = self.start_syncer() {
            tracing::error!(%error, "could not start the event log's syncer; refusing appends");
            self.refuse_all(&mut rx);
        } else {
            self.serve(&mut rx);
        }
        // The syncer answers and publishes what it was handed, then ends.
        let syncer = self.syncer.take().and_then(|(batches, syncer)| {
            drop(batches);
            syncer
                .join()
                .map_err(|_| tracing::error!("the event log's syncer panicked"))
                .ok()
        });
        if let Err(error) = super::sled_lock::flush(&self.shared.tree) {
            tracing::error!(error = %error, "final flush of the event log failed");
        }
        syncer
    }

    fn serve(&mut self, rx: &mut mpsc::Receiver<Message>) {
        while let Some(first) = self.next_job(rx) {
            let first = match first {
                Next::Job(job) => job,
                Next::Follow => {
                    self.follow();
                    continue;
                }
            };
            let mut jobs = vec![first];
            let mut events = jobs[0].request.events.len();
            // A doorbell rung meanwhile is answered by the commit itself, which copies what
            // was committed elsewhere before this batch.
            while events < MAX_BATCH_EVENTS {
                match rx.try_recv() {
                    Ok(Message::Append(job)) => {
                        events += job.request.events.len();
                        jobs.push(job);
                    }
                    Ok(Message::Follow) => {
                        self.shared.follow_queued.store(false, Ordering::Release);
                    }
                    Ok(Message::Wake) => {}
                    Err(_) => break,
                }
            }
            if let Err(error) = self.commit(jobs) {
                tracing::error!(error = %error, "the event log failed to commit; refusing further appends");
                self.refuse_all(rx);
                return;
            }
        }
    }

    /// Poisons the log and answers everything still queued: a restart recovers from disk.
    fn refuse_all(&self, rx: &mut mpsc::Receiver<Message>) {
        self.shared.poisoned.store(true, Ordering::Release);
        rx.close();
        while let Ok(message) = rx.try_recv() {
            if let Message::Append(job) = message {
                let _ = job.reply.send(Err(StoreError::Unavailable));
            }
        }
    }

    /// The embedded log makes its batches durable on a thread of its own.
    fn start_syncer(&mut self) -> Result<(), StoreError> {
        let Sink::Embedded(sink) = &mut self.sink else {
            return Ok(());
        };
        let Some(syncer) = sink.take_syncer() else {
            return Ok(());
        };
        let (batches, waiting) = std_mpsc::channel();
        let (shared, committed) = (self.shared.clone(), self.committed.clone());
        let thread = thread::Builder::new()
            .name("glossa-log-sync".into())
            .spawn(move || sync_written(syncer, waiting, &shared, &committed))?;
        self.written = self.shared.durable.load(Ordering::Acquire);
        self.syncer = Some((batches, thread));
        Ok(())
    }

    /// The next append to commit, or a doorbell; `None` once the log is closed and its queue
    /// drained.
    fn next_job(&self, rx: &mut mpsc::Receiver<Message>) -> Option<Next> {
        loop {
            let message = if self.shared.closing.load(Ordering::Acquire) {
                rx.try_recv().ok()?
            } else {
                rx.blocking_recv()?
            };
            match message {
                Message::Append(job) => return Some(Next::Job(job)),
                Message::Follow => {
                    // Taken: a doorbell rung from now on queues the next follow.
                    self.shared.follow_queued.store(false, Ordering::Release);
                    return Some(Next::Follow);
                }
                Message::Wake => {}
            }
        }
    }

    /// Copies into the local log what other processes committed to the shared log.
    fn follow(&mut self) {
        let Sink::Postgres(sink) = &mut self.sink else {
            return;
        };
        // After a failure the local copy and its index may disagree: a restart rebuilds them.
        if self.shared.poisoned.load(Ordering::Acquire) {
            return;
        }
        loop {
            let head = self.shared.durable.load(Ordering::Acquire);
            match sink.follow(&self.shared.tree, &self.shared.index, head) {
                Ok(records) if records.is_empty() => return,
                Ok(records) => {
                    let last = records.last().map_or(head, |r| r.seq);
                    self.shared.durable.store(last, Ordering::Release);
                    if self.committed.send(records).is_err() {
                        tracing::warn!(
                            "the read-model projector has stopped; events stay in the log"
                        );
                    }
                    self.shared.durable_tx.send_replace(last);
                }
                Err(Failure::Transient(error)) => {
                    tracing::debug!(%error, "could not follow the log; trying again on the next doorbell");
                    return;
                }
                Err(Failure::Fatal(error)) => {
                    tracing::error!(%error, "could not copy the log's new events; refusing further appends");
                    self.shared.poisoned.store(true, Ordering::Release);
                    return;
                }
            }
        }
    }

    fn commit(&mut self, mut jobs: Vec<Job>) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        // A failed sync poisons the log: nothing written after it may be answered.
        if self.shared.poisoned.load(Ordering::Acquire) {
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Unavailable));
            }
            return Err(StoreError::Unavailable);
        }
        let requests: Vec<&AppendRequest> = jobs.iter().map(|job| &job.request).collect();
        if let (Sink::Embedded(sink), Some((batches, _))) = (&mut self.sink, &self.syncer) {
            let prepared: Vec<&[Prepared]> = jobs.iter().map(|job| &job.prepared[..]).collect();
            let outcome = match sink.write(
                &self.shared.tree,
                &self.shared.index,
                self.written,
                &requests,
                &prepared,
            ) {
                Ok(outcome) => outcome,
                Err(error) => {
                    for job in jobs {
                        let _ = job.reply.send(Err(StoreError::Unavailable));
                    }
                    return Err(error);
                }
            };
            self.written = outcome.records.last().map_or(self.written, |r| r.seq);
            // Written: what the appenders encoded is not kept until the sync.
            for job in &mut jobs {
                job.prepared = Vec::new();
            }
            let written = Written {
                jobs,
                outcome,
                started,
            };
            return batches.send(written).map_err(|unsent| {
                for job in unsent.0.jobs {
                    let _ = job.reply.send(Err(StoreError::Unavailable));
                }
                StoreError::Unavailable
            });
        }
        let outcome = match &mut self.sink {
            Sink::Postgres(sink) => {
                let head = self.shared.durable.load(Ordering::Acquire);
                sink.commit(&self.shared.tree, &self.shared.index, head, &requests)
            }
            // Only without its syncer, which `run` starts first.
            Sink::Embedded(_) => Err(Failure::Fatal(StoreError::Unavailable)),
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(Failure::Transient(error)) => {
                for job in jobs {
                    let _ = job.reply.send(Err(error.clone()));
                }
                return Ok(());
            }
            Err(Failure::Fatal(error)) => {
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Unavailable));
                }
                return Err(error);
            }
        };
        acknowledge(&self.shared, &self.committed, jobs, outcome, started);
        Ok(())
    }
}

/// The embedded log's syncer thread: takes every batch written so far, makes them durable with
/// one flush and `fdatasync` that starts after they were all written, then answers and
/// publishes them in order. Ends once the writer lets go of the channel, and hands the syncer
/// back.
fn sync_written(
    mut syncer: Syncer,
    waiting: std_mpsc::Receiver<Written>,
    shared: &Shared,
    committed: &std_mpsc::Sender<Vec<EventRecord>>,
) -> Syncer {
    let mut failed = false;
    while let Ok(first) = waiting.recv() {
        let mut written = vec![first];
        written.extend(waiting.try_iter());
        if !failed {
            if let Err(error) = syncer.sync() {
                tracing::error!(%error, "the event log failed to sync; refusing further appends");
                shared.poisoned.store(true, Ordering::Release);
                failed = true;
            }
        }
        for Written {
            jobs,
            outcome,
            started,
        } in written
        {
            if failed {
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Unavailable));
                }
            } else {
                acknowledge(shared, committed, jobs, outcome, started);
            }
        }
    }
    syncer
}

/// Answers a durable batch and makes it visible: the durable head, its watchers, the
/// projector.
fn acknowledge(
    shared: &Shared,
    committed: &std_mpsc::Sender<Vec<EventRecord>>,
    jobs: Vec<Job>,
    outcome: Outcome,
    started: std::time::Instant,
) {
    // Visible before anyone is answered: whoever hears of a position can read it.
    let Outcome { plans, records } = outcome;
    if let Some(last) = records.last().map(|r| r.seq) {
        shared.durable.store(last, Ordering::Release);
    }
    for (job, plan) in jobs.into_iter().zip(plans) {
        let _ = job.reply.send(plan.answer());
    }
    let Some(last) = records.last().map(|r| r.seq) else {
        return;
    };
    shared.durable_tx.send_replace(last);
    let m = crate::metrics::metrics();
    m.fsync_seconds.observe(started.elapsed().as_secs_f64());
    m.batch_events.observe(records.len() as f64);
    m.append_batches.inc();
    m.events_appended.inc_by(records.len() as u64);
    if committed.send(records).is_err() {
        tracing::warn!("the read-model projector has stopped; events stay in the log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An append waiting for room in a full queue keeps a sender; on a single-threaded runtime
    /// it cannot run while `close` blocks the thread. Closing must not wait for it.
    #[test]
    fn closing_does_not_wait_for_an_append_still_holding_a_sender() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let waiting = store
            .log
            .threads
            .jobs
            .read()
            .unwrap()
            .clone()
            .expect("an open log has a queue");
        let (done, closed) = std_mpsc::channel();
        thread::spawn(move || {
            store.close();
            let _ = done.send(());
        });
        closed
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("close must return while an append still holds a sender");
        drop(waiting);
    }
}
