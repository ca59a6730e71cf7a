//! Glossa against the reference automerge-repo server, side by side in one sitting: both
//! servers pinned to one core, the generator to another, the same workload on each, the total
//! edit rate raised step by step until fan-out p99 goes over the limit or an edit goes
//! missing. The sustained rate is the highest step that kept every edit and a p99 within the
//! limit, with its edits made at the rate it offered (a generator that falls behind shows
//! nothing about the server at that rate); the headline is the ratio of the two servers'
//! sustained rates.
//!
//! Each step connects fresh clients (which load the document as it is by then), takes the
//! server's CPU time and the generator thread's once they are all connected, lets the writers
//! write for the step's length, waits for every edit to reach every other client, and takes
//! both again. A step whose generator thread was busy nearly all along says so: a failure then
//! measures the generator, not the server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use automerge::{Automerge, ObjType, ReadDoc, Value, ROOT};

use super::servers::{self, Api, Server, Usage};
use super::{edit, run_many_dedicated, Anchor, Edit, Report, Workload};
use crate::bench::Row;

/// One case: `documents` documents with `clients` clients on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    pub documents: usize,
    pub clients: usize,
}

impl Case {
    /// `100` (100 clients on one document) or `100x10` (100 documents, 10 clients each).
    pub fn parse(text: &str) -> Result<Self, String> {
        let number = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{text}` is not N or DOCSxN"))
        };
        let (documents, clients) = match text.split_once('x') {
            Some((d, c)) => (number(d)?, number(c)?),
            None => (1, number(text)?),
        };
        if documents == 0 || clients < 3 {
            return Err(format!(
                "`{text}`: a case needs a document and 3 clients on it"
            ));
        }
        Ok(Self { documents, clients })
    }

    /// Writers per document: a tenth of the clients, at least 2 and at most 10.
    pub fn writers(&self) -> usize {
        (self.clients / 10).clamp(2, 10).min(self.clients - 1)
    }

    pub fn label(&self) -> String {
        if self.documents == 1 {
            format!("{} clients on one document", self.clients)
        } else {
            format!(
                "{} documents × {} clients ({} clients)",
                self.documents,
                self.clients,
                self.documents * self.clients
            )
        }
    }

    /// What the ratio line names: `100 clients`, or `100 documents × 10 clients`.
    pub fn short(&self) -> String {
        if self.documents == 1 {
            format!("{} clients", self.clients)
        } else {
            format!("{} documents × {} clients", self.documents, self.clients)
        }
    }
}

/// How to run the comparison.
#[derive(Clone, Debug)]
pub struct Options {
    pub glossa_bin: PathBuf,
    /// Where `reference-server.mjs` and its Node packages are.
    pub js_dir: PathBuf,
    /// `bench/read-doc.mjs`: what the official client finds in a document.
    pub read_doc: PathBuf,
    pub cases: Vec<Case>,
    /// How long writers write in each step.
    pub step: Duration,
    /// The first step's total edit rate (edits per second over all documents).
    pub start_rate: f64,
    /// No step above this rate.
    pub max_rate: f64,
    /// Steps between the last good and the first bad rate after the doubling.
    pub refinements: usize,
    /// The fan-out p99 a sustained step keeps within.
    pub p99_limit: Duration,
    pub server_core: usize,
    pub generator_core: usize,
    /// Sends of a writer's local edits at most this often.
    pub throttle: Duration,
    /// What each edit is (typing by default: the generator's clients then apply a handful of
    /// operations per edit, and stay cheaper than either server).
    pub edit: Edit,
}

impl Options {
    pub fn full(glossa_bin: PathBuf) -> Self {
        Self {
            glossa_bin,
            js_dir: PathBuf::from("tests/js"),
            read_doc: PathBuf::from("bench/read-doc.mjs"),
            cases: ["10", "100", "500", "100x10"]
                .iter()
                .map(|c| Case::parse(c).expect("a case"))
                .collect(),
            step: Duration::from_secs(3),
            start_rate: 5.0,
            max_rate: 5_000.0,
            refinements: 2,
            p99_limit: Duration::from_millis(100),
            server_core: 0,
            generator_core: 1,
            throttle: Duration::from_millis(20),
            edit: Edit::Typing,
        }
    }

    /// 100 clients only, short steps, one refinement: under two minutes.
    pub fn quick(glossa_bin: PathBuf) -> Self {
        Self {
            cases: vec![Case {
                documents: 1,
                clients: 100,
            }],
            step: Duration::from_secs(2),
            refinements: 1,
            ..Self::full(glossa_bin)
        }
    }
}

/// Annotations one article's document may hold on Glossa; the ladder stops short of it.
const DOCUMENT_BUDGET: usize = 4_500;

/// Connections per user on Glossa (it allows 32; a margin for connections still closing).
const PER_USER: usize = 16;

/// The share of the offered rate a step's edits must be made at to count (see
/// [`Step::offered_was_made`]): writers that keep pace make theirs at the rate or a little over
/// it (N edits at rate r take (N - 1) / r from the first), so this leaves room for timers only.
const MADE_AT_LEAST: f64 = 0.9;

/// One step of a ladder.
#[derive(Clone, Debug)]
pub struct Step {
    /// Total edits per second offered.
    pub rate: f64,
    pub edits: usize,
    pub expected: u64,
    pub delivered: u64,
    pub converged: bool,
    pub errors: usize,
    pub p50: Duration,
    pub p99: Duration,
    /// From the first edit to the last delivery (the slowest document's).
    pub elapsed: Duration,
    /// From the first edit to the last one made (the slowest document's).
    pub made_in: Duration,
    /// Between the samples: all clients connected, and every edit delivered.
    pub wall: Duration,
    pub server_cpu: Option<Duration>,
    /// Time the server's threads were ready to run but waiting for the core (other processes
    /// on it), summed over its threads.
    pub server_wait: Option<Duration>,
    pub generator_cpu: Option<Duration>,
    /// Time the generator's thread was ready to run but waiting for its core.
    pub generator_wait: Option<Duration>,
    pub rss_kb: u64,
    pub sustained: bool,
    /// A failed run that was run once more at the same rate: the next run decides the step.
    pub superseded: bool,
}

impl Step {
    pub fn server_cpu_per_edit(&self) -> Option<Duration> {
        self.server_cpu.map(|c| c / self.edits.max(1) as u32)
    }

    /// The generator thread's share of the wall time between the samples.
    pub fn generator_busy(&self) -> Option<f64> {
        self.generator_cpu
            .map(|c| c.as_secs_f64() / self.wall.as_secs_f64().max(1e-9))
    }

    /// The share of the wall time the generator's thread was running or ready to run.
    pub fn generator_demand(&self) -> Option<f64> {
        let wait = self.generator_wait.unwrap_or_default();
        self.generator_cpu
            .map(|c| (c + wait).as_secs_f64() / self.wall.as_secs_f64().max(1e-9))
    }

    /// Whether a step that failed might hold if run again: the generator kept up (neither
    /// saturated nor behind on the rate offered), so what failed was the server or the
    /// machine, and a passing stall of the machine does not recur on demand. A saturated
    /// generator would only fall behind again.
    pub fn worth_another_try(&self) -> bool {
        !self.sustained && !self.generator_bound() && self.offered_was_made()
    }

    /// The edits made per second, from the first edit to the last one made.
    pub fn made_per_second(&self) -> f64 {
        self.edits as f64 / self.made_in.as_secs_f64().max(1e-9)
    }

    /// Whether the edits were made at about the rate offered. A generator (or a server holding
    /// its writers back) that falls behind makes fewer: such a step did not show the server
    /// keeping up with the rate it names, however short its fan-out.
    pub fn offered_was_made(&self) -> bool {
        self.made_per_second() >= MADE_AT_LEAST * self.rate
    }

    /// Whether every edit reached every other client, all converged with no error reported,
    /// and fan-out p99 stayed within `p99_limit`.
    pub fn delivered_in_time(&self, p99_limit: Duration) -> bool {
        self.converged
            && self.errors == 0
            && self.delivered == self.expected
            && self.p99 <= p99_limit
    }

    /// Whether the step met everything but the rate its edits were made at.
    pub fn failed_only_on_rate(&self, p99_limit: Duration) -> bool {
        self.delivered_in_time(p99_limit) && !self.offered_was_made()
    }

    /// Whether the generator rather than the server was the limit: its thread running, or
    /// ready to run and waiting for its core, nearly all along.
    pub fn generator_bound(&self) -> bool {
        self.generator_demand().is_some_and(|b| b >= 0.85)
    }
}

/// Why a ladder stopped where it did.
#[derive(Clone, Debug, PartialEq)]
pub enum Limit {
    /// A step failed with the generator not saturated: the server's limit.
    Server,
    /// A step failed with the generator's thread busy nearly all along: a lower bound.
    Generator,
    /// A step failed only because its writers made fewer edits than offered, with the
    /// generator's thread not saturated: a writer task of its own, or the server holding its
    /// sends back; which one, the step does not show, so a lower bound.
    Writers,
    /// The ladder reached its top rate, or the document's annotation budget.
    Ceiling,
    /// A step could not run at all.
    Broken(String),
}

/// One server's ladder in one case.
#[derive(Debug)]
pub struct Side {
    pub server: &'static str,
    pub steps: Vec<Step>,
    pub sustained: Option<f64>,
    pub limit: Limit,
    pub peak_rss_kb: u64,
    /// The official client's view of the first document against the generator's: how many
    /// annotations both hold, or what differed.
    pub js_check: Result<usize, String>,
}

/// Both servers in one case.
#[derive(Debug)]
pub struct Outcome {
    pub case: Case,
    pub glossa: Side,
    pub reference: Side,
}

/// Runs every case: fresh servers for each, Glossa's ladder, then the reference server's.
pub async fn measure(options: &Options) -> anyhow::Result<Vec<Outcome>> {
    servers::pin_self(options.generator_core)?;
    let mut outcomes = Vec::new();
    for &case in &options.cases {
        eprintln!("sync ratio: {}", case.label());
        let glossa = servers::start_glossa(&options.glossa_bin, options.server_core).await?;
        let reference = servers::start_reference(&options.js_dir, options.server_core).await?;
        let targets = glossa_targets(&glossa, case).await?;
        let glossa_side = ladder(options, case, &glossa, &targets).await;
        drop(glossa);
        let mut documents = Vec::with_capacity(case.documents);
        for _ in 0..case.documents {
            documents.push(servers::create_document(&reference.sync_url).await?);
        }
        let targets = reference_targets(case, documents);
        let reference_side = ladder(options, case, &reference, &targets).await;
        drop(reference);
        outcomes.push(Outcome {
            case,
            glossa: glossa_side,
            reference: reference_side,
        });
    }
    Ok(outcomes)
}

/// Where each client of a case goes: per document, its id, anchor, the writers' tokens and
/// names and the readers' tokens (every user holding at most [`PER_USER`] connections).
struct Targets {
    documents: Vec<(String, Anchor)>,
    writers: Vec<Vec<(String, String)>>,
    readers: Vec<Vec<String>>,
    /// A token the official client may read with.
    reader: String,
}

async fn glossa_targets(server: &Server, case: Case) -> anyhow::Result<Targets> {
    let api = Api::new(server);
    let writers_each = case.writers();
    let readers_each = case.clients - writers_each;
    let editors = api
        .users(
            "bench-writer",
            "editor",
            (case.documents * writers_each).div_ceil(PER_USER),
        )
        .await?;
    let viewers = api
        .users(
            "bench-reader",
            "viewer",
            (case.documents * readers_each).div_ceil(PER_USER),
        )
        .await?;
    let mut documents = Vec::with_capacity(case.documents);
    for slug in api.articles(case.documents).await? {
        documents.push(api.document(&slug).await?);
    }
    let (mut w, mut r) = (0, 0);
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..case.documents {
        writers.push(
            (0..writers_each)
                .map(|_| {
                    w += 1;
                    editors[(w - 1) / PER_USER].clone()
                })
                .collect(),
        );
        readers.push(
            (0..readers_each)
                .map(|_| {
                    r += 1;
                    viewers[(r - 1) / PER_USER].0.clone()
                })
                .collect(),
        );
    }
    Ok(Targets {
        documents,
        writers,
        readers,
        reader: viewers[0].0.clone(),
    })
}

/// The reference server ignores tokens and does not check what an annotation points at.
fn reference_targets(case: Case, documents: Vec<String>) -> Targets {
    let token = "bench".to_owned();
    let writers_each = case.writers();
    Targets {
        documents: documents
            .into_iter()
            .map(|d| (d, Anchor::seeded()))
            .collect(),
        writers: (0..case.documents)
            .map(|_| {
                (0..writers_each)
                    .map(|i| (token.clone(), format!("bench-writer-{i}")))
                    .collect()
            })
            .collect(),
        readers: vec![vec![token.clone()]; case.documents],
        reader: token,
    }
}

/// How many times a step runs at most: a failing step whose generator kept up runs again.
const STEP_TRIES: usize = 2;

/// Raises the rate from `start_rate`, doubling while steps hold, then refines between the
/// last step that held and the first that did not. A step that fails with the generator
/// keeping up is run once more, and the second run decides.
async fn ladder(options: &Options, case: Case, server: &Server, targets: &Targets) -> Side {
    let mut side = Side {
        server: server.name,
        steps: Vec::new(),
        sustained: None,
        limit: Limit::Ceiling,
        peak_rss_kb: 0,
        js_check: Err("no step ran".into()),
    };
    let mut made = 0usize;
    let mut good: Option<f64> = None;
    let mut bad: Option<Step> = None;
    // At least two edits per document a step.
    let floor = 2.0 * case.documents as f64 / options.step.as_secs_f64();
    let mut rate = options.start_rate.max(floor.ceil());
    let mut refinements = options.refinements;
    'ladder: loop {
        let per_document = edits_per_writer(options, case, rate) * writers(options, case, rate);
        // A step that fails with the generator keeping up runs once more, and the second run
        // decides: a stall of the shared machine (one slow `fdatasync` holds an edit, and with
        // it every client's copy, past the p99 of a short step) is not the server's limit.
        let mut tries = 0;
        let step = loop {
            if made + per_document > DOCUMENT_BUDGET {
                eprintln!(
                    "  {}: {rate:.0} edits/s would take a document past {DOCUMENT_BUDGET} annotations; stopping",
                    server.name
                );
                break 'ladder;
            }
            settle(server).await;
            let mut step = match run_step(options, case, server, targets, rate).await {
                Ok((step, _)) => step,
                Err(error) => {
                    eprintln!("  {} at {rate:.0} edits/s: {error:#}", server.name);
                    side.limit = Limit::Broken(format!("{error:#}"));
                    break 'ladder;
                }
            };
            made += per_document;
            tries += 1;
            // A run the document has no room to repeat decides on its own.
            let again = step.worth_another_try()
                && tries < STEP_TRIES
                && made + per_document <= DOCUMENT_BUDGET;
            step.superseded = again;
            let note = if again { " (once more)" } else { "" };
            eprintln!("  {}{note}", describe(server.name, case, &step));
            side.steps.push(step.clone());
            if !again {
                break step;
            }
        };
        let held = step.sustained;
        if held {
            good = Some(rate);
        } else if bad.as_ref().is_none_or(|b| rate < b.rate) {
            bad = Some(step);
        }
        rate = match (good, &bad) {
            (Some(g), None) if g * 2.0 <= options.max_rate => g * 2.0,
            (Some(_), None) => break,
            (Some(_), Some(_)) if refinements == 0 => break,
            (Some(g), Some(b)) => {
                refinements -= 1;
                (g + b.rate) / 2.0
            }
            // Nothing held yet: halve, down to one edit per document a step.
            (None, Some(b)) if b.rate / 2.0 >= floor => b.rate / 2.0,
            (None, Some(_)) => break,
            (None, None) => unreachable!("a step ran"),
        };
    }
    side.sustained = good;
    if let Some(b) = &bad {
        side.limit = if b.generator_bound() {
            Limit::Generator
        } else if b.failed_only_on_rate(options.p99_limit) {
            Limit::Writers
        } else {
            Limit::Server
        };
    }
    side.peak_rss_kb = server.sample().map_or(0, |u| u.peak_rss_kb);
    if !side.steps.is_empty() {
        side.js_check = check_step(options, case, server, targets, floor).await;
    }
    side
}

/// The official client's view against the generator's, after one more step at the ladder's
/// first rate: its clients load the document afresh and every edit reaches them, where the
/// ladder's last step is often one that fell behind and stopped before its clients had all.
async fn check_step(
    options: &Options,
    case: Case,
    server: &Server,
    targets: &Targets,
    floor: f64,
) -> Result<usize, String> {
    settle(server).await;
    let rate = options.start_rate.max(floor.ceil());
    let (_, report) = run_step(options, case, server, targets, rate)
        .await
        .map_err(|e| format!("the check step failed: {e:#}"))?;
    if !report.converged || report.delivered < report.expected {
        return Err(format!(
            "the check step at {rate:.1} edits/s did not converge ({} of {} delivered)",
            report.delivered, report.expected
        ));
    }
    let (document, _) = &targets.documents[0];
    js_check(options, server, document, &targets.reader, &report).await
}

/// Writers per document at this rate: one per 20 edits/s on the document, up to the case's.
/// Every writer makes its first edit as the step starts, so more writers than that would
/// start each step with a burst rather than the rate.
fn writers(_options: &Options, case: Case, rate: f64) -> usize {
    let per_document = rate / case.documents as f64;
    ((per_document / 20.0).ceil() as usize).clamp(1, case.writers())
}

fn edits_per_writer(options: &Options, case: Case, rate: f64) -> usize {
    let per_writer = rate / (case.documents * writers(options, case, rate)) as f64;
    ((per_writer * options.step.as_secs_f64()).round() as usize).max(1)
}

/// Waits until the server is idle: a step that fell behind leaves work that would otherwise
/// land in the next one.
async fn settle(server: &Server) {
    servers::idle(server.pid(), Duration::from_secs(15)).await;
}

async fn run_step(
    options: &Options,
    case: Case,
    server: &Server,
    targets: &Targets,
    rate: f64,
) -> anyhow::Result<(Step, Report)> {
    let edits_per_writer = edits_per_writer(options, case, rate);
    let writers = writers(options, case, rate);
    let per_writer = rate / (case.documents * writers) as f64;
    let patience = Duration::from_secs(5);
    let workloads: Vec<Workload> = targets
        .documents
        .iter()
        .enumerate()
        .map(|(i, (document, anchor))| Workload {
            url: server.sync_url.clone(),
            document_id: document.clone(),
            writers: targets.writers[i][..writers].to_vec(),
            readers: targets.readers[i].clone(),
            clients: case.clients,
            edits_per_writer,
            rate: per_writer,
            throttle: options.throttle,
            anchor: anchor.clone(),
            edit: options.edit,
            server_pid: None,
            patience,
        })
        .collect();
    let pid = server.pid();
    let sample = move || {
        (
            Instant::now(),
            edit::thread_cpu(),
            Usage::of(pid),
            schedstat("/proc/thread-self/schedstat"),
            server_schedstat(pid),
        )
    };
    // Writing takes about a step; a server that falls far behind is not waited for long.
    let limit = options.step * 3 + patience;
    // Documents start one after another, spread over one edit interval of the whole step.
    let stagger = Duration::from_secs_f64(1.0 / rate);
    let sampled = run_many_dedicated(workloads, Some(limit), Some(pid), stagger, sample).await?;
    let (t0, g0, s0, gs0, ss0) = sampled.before;
    let (t1, g1, s1, gs1, ss1) = sampled.after;
    let mut latencies: Vec<Duration> = Vec::new();
    let (mut edits, mut expected, mut delivered, mut errors) = (0, 0, 0, 0);
    let mut converged = true;
    let (mut elapsed, mut made_in) = (Duration::ZERO, Duration::ZERO);
    for r in &sampled.reports {
        latencies.extend(r.latencies.iter().copied());
        edits += r.edits;
        expected += r.expected;
        delivered += r.delivered;
        errors += r.errors.len();
        converged &= r.converged;
        elapsed = elapsed.max(r.elapsed);
        made_in = made_in.max(r.made_in);
        if let Some(e) = r.errors.first() {
            eprintln!("  {} said: {e}", server.name);
        }
    }
    latencies.sort();
    let at = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let (p50, p99) = (at(0.5), at(0.99));
    let mut step = Step {
        rate,
        edits,
        expected,
        delivered,
        converged,
        errors,
        p50,
        p99,
        elapsed,
        made_in,
        wall: t1 - t0,
        server_cpu: s0.zip(s1).map(|(a, b)| b.cpu.saturating_sub(a.cpu)),
        server_wait: ss0.zip(ss1).map(|(a, b)| b.1.saturating_sub(a.1)),
        generator_cpu: g0.zip(g1).map(|(a, b)| b.saturating_sub(a)),
        generator_wait: gs0.zip(gs1).map(|(a, b)| b.1.saturating_sub(a.1)),
        rss_kb: s1.map_or(0, |u| u.rss_kb),
        sustained: false,
        superseded: false,
    };
    step.sustained = step.delivered_in_time(options.p99_limit) && step.offered_was_made();
    let first = sampled
        .reports
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no document ran"))?;
    Ok((step, first))
}

/// Time on the CPU and time ready but waiting for it, from a `schedstat` file.
fn schedstat(path: &str) -> Option<(Duration, Duration)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some((
        Duration::from_nanos(fields.next()??),
        Duration::from_nanos(fields.next()??),
    ))
}

/// [`schedstat`] summed over a process's threads.
fn server_schedstat(pid: u32) -> Option<(Duration, Duration)> {
    let mut total = (Duration::ZERO, Duration::ZERO);
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        if let Some((cpu, wait)) = schedstat(&path.to_string_lossy()) {
            total = (total.0 + cpu, total.1 + wait);
        }
    }
    Some(total)
}

fn describe(server: &str, case: Case, step: &Step) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{server}, {}, {} edits/s offered: {}/{} delivered{}, fan-out p50 {:.1} ms, p99 {:.1} ms, server CPU {} (waited {} for its core), RSS {:.0} MB, generator {} busy + {} waiting for its core: {}",
        case.label(),
        rate(step.rate),
        step.delivered,
        step.expected,
        if step.converged { "" } else { ", NOT converged" },
        ms(step.p50),
        ms(step.p99),
        step.server_cpu_per_edit()
            .map_or("not measured".into(), |c| format!("{:.2} ms/edit", ms(c))),
        share(step.server_wait, step.wall),
        step.rss_kb as f64 / 1024.0,
        step.generator_busy()
            .map_or("?".into(), |b| format!("{:.0}%", b * 100.0)),
        share(step.generator_wait, step.wall),
        if step.sustained {
            "held".to_owned()
        } else {
            let behind = if step.offered_was_made() {
                String::new()
            } else {
                format!(
                    ", edits made at only {:.1}/s",
                    step.made_per_second()
                )
            };
            let why = if step.generator_bound() {
                " (generator saturated)"
            } else {
                ""
            };
            format!("over{behind}{why}")
        }
    )
}

/// An official JavaScript client loads the document from the server afterwards; it must find
/// exactly the annotations (ids, bodies, creators) the generator's first client ended with.
async fn js_check(
    options: &Options,
    server: &Server,
    document: &str,
    token: &str,
    report: &Report,
) -> Result<usize, String> {
    let generator = report
        .docs
        .first()
        .map(annotations)
        .ok_or("the generator kept no document")?;
    let js = servers::read_with_js(&options.read_doc, &server.sync_url, document, token)
        .await
        .map_err(|e| format!("{e:#}"))?;
    if js == generator {
        return Ok(js.len());
    }
    let only_js = js.keys().filter(|k| !generator.contains_key(*k)).count();
    let only_generator = generator.keys().filter(|k| !js.contains_key(*k)).count();
    Err(format!(
        "the official client found {} annotations, the generator {} ({only_js} only in the former, {only_generator} only in the latter, the rest {})",
        js.len(),
        generator.len(),
        if only_js == 0 && only_generator == 0 {
            "with different bodies or creators"
        } else {
            "alike or not"
        }
    ))
}

/// A document's annotations: id → (body, creator).
pub fn annotations(doc: &Automerge) -> BTreeMap<String, (String, String)> {
    let mut found = BTreeMap::new();
    let Ok(Some((Value::Object(ObjType::Map), map))) = doc.get(ROOT, "annotations") else {
        return found;
    };
    for key in doc.keys(&map) {
        let Ok(Some((Value::Object(ObjType::Map), entry))) = doc.get(&map, &key) else {
            continue;
        };
        let field = |name: &str| match doc.get(&entry, name) {
            Ok(Some((Value::Object(ObjType::Text), text))) => doc.text(&text).unwrap_or_default(),
            Ok(Some((Value::Scalar(s), _))) => s.as_str().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        found.insert(key, (field("body"), field("creator")));
    }
    found
}

/// Each step as a row (server as the backend, `sync-ratio` as the suite).
pub fn rows(outcomes: &[Outcome]) -> Vec<Row> {
    let mut rows = Vec::new();
    for outcome in outcomes {
        for side in [&outcome.glossa, &outcome.reference] {
            for step in &side.steps {
                let case = describe(side.server, outcome.case, step);
                let mut case = case
                    .split_once(", ")
                    .map_or(case.clone(), |(_, rest)| rest.to_owned());
                if step.superseded {
                    case.push_str(" (run once more: the next run decides)");
                }
                rows.push(Row {
                    backend: side.server.into(),
                    suite: "sync-ratio".into(),
                    case,
                    ops: step.delivered,
                    seconds: step.elapsed.as_secs_f64(),
                    per_second: step.edits as f64 / step.elapsed.as_secs_f64().max(1e-9),
                    p50_ms: step.p50.as_secs_f64() * 1000.0,
                    p99_ms: step.p99.as_secs_f64() * 1000.0,
                });
            }
        }
    }
    rows
}

/// One side's summary: its sustained rate and why it stopped there.
fn summary(side: &Side) -> String {
    let rate = match side.sustained {
        Some(r) => format!("{} edits/s", rate(r)),
        None => "no step held".into(),
    };
    let why = match &side.limit {
        Limit::Server => "the server's limit".into(),
        Limit::Generator => "a lower bound: the generator was saturated".into(),
        Limit::Writers => {
            "a lower bound: the next step's writers made fewer edits than offered, the \
             generator not saturated"
                .into()
        }
        Limit::Ceiling => "a lower bound: the ladder's top".into(),
        Limit::Broken(e) => format!("a step failed to run: {e}"),
    };
    let check = match &side.js_check {
        Ok(n) => format!("official client agrees on {n} annotations"),
        Err(e) => format!("official client check FAILED: {e}"),
    };
    format!(
        "{}: {rate} ({why}); peak RSS {:.0} MB; {check}",
        side.server,
        side.peak_rss_kb as f64 / 1024.0
    )
}

/// `part` as a percentage of `whole`.
fn share(part: Option<Duration>, whole: Duration) -> String {
    part.map_or("?".into(), |p| {
        format!(
            "{:.0}%",
            p.as_secs_f64() / whole.as_secs_f64().max(1e-9) * 100.0
        )
    })
}

/// A rate as printed: whole edits per second, one decimal below 10.
fn rate(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.0}")
    }
}

/// A side's server CPU per edit: the median over the steps that held, or over all steps if
/// none did.
pub fn cpu_per_edit(side: &Side) -> Option<Duration> {
    let held: Vec<&Step> = side.steps.iter().filter(|s| s.sustained).collect();
    let steps: Vec<&Step> = if held.is_empty() {
        side.steps.iter().collect()
    } else {
        held
    };
    let mut cpu: Vec<Duration> = steps
        .iter()
        .filter_map(|s| s.server_cpu_per_edit())
        .collect();
    cpu.sort();
    cpu.get(cpu.len() / 2).copied()
}

/// The lines printed last: per case, both sides' summaries and their CPU per edit, then
/// `sync ratio at …`.
pub fn ratio_lines(outcomes: &[Outcome]) -> Vec<String> {
    let mut lines = Vec::new();
    for o in outcomes {
        lines.push(format!("{}: {}", o.case.label(), summary(&o.glossa)));
        lines.push(format!("{}: {}", o.case.label(), summary(&o.reference)));
        if let (Some(g), Some(r)) = (cpu_per_edit(&o.glossa), cpu_per_edit(&o.reference)) {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            lines.push(format!(
                "{}: server CPU per edit (median of the steps that held): Glossa {:.2} ms, reference {:.2} ms, {:.1}× less on Glossa",
                o.case.label(),
                ms(g),
                ms(r),
                ms(r) / ms(g).max(1e-9)
            ));
        }
    }
    for o in outcomes {
        lines.push(ratio_line(o));
    }
    lines
}

pub fn ratio_line(o: &Outcome) -> String {
    let head = format!("sync ratio at {}", o.case.short());
    let (g, r) = (&o.glossa, &o.reference);
    let (Some(gr), Some(rr)) = (g.sustained, r.sustained) else {
        let missing: Vec<&str> = [g, r]
            .iter()
            .filter(|s| s.sustained.is_none())
            .map(|s| s.server)
            .collect();
        return format!(
            "{head}: not measurable: no step held on {} (see the steps above)",
            missing.join(" and ")
        );
    };
    let ratio = gr / rr;
    let bounded = |s: &Side| matches!(s.limit, Limit::Generator | Limit::Writers | Limit::Ceiling);
    let qualifier = match (bounded(g), bounded(r)) {
        (false, false) => String::new(),
        (true, false) => " (at least: Glossa did not reach its own limit)".into(),
        (false, true) => " (at most: the reference server did not reach its own limit)".into(),
        (true, true) => {
            " (not a measure of the servers: neither reached its own limit, the generator did)"
                .into()
        }
    };
    format!(
        "{head}: Glossa {} edits/s, reference {} edits/s, ratio {ratio:.1}×{qualifier}",
        rate(gr),
        rate(rr)
    )
}

/// The whole run's steps, for `--json`.
pub fn to_json(outcomes: &[Outcome]) -> serde_json::Value {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let side = |s: &Side| {
        serde_json::json!({
            "server": s.server,
            "sustained_edits_per_s": s.sustained,
            "limit": format!("{:?}", s.limit),
            "peak_rss_kb": s.peak_rss_kb,
            "js_check": match &s.js_check { Ok(n) => serde_json::json!({"agree": n}), Err(e) => serde_json::json!({"error": e}) },
            "steps": s.steps.iter().map(|st| serde_json::json!({
                "rate": st.rate,
                "edits": st.edits,
                "expected": st.expected,
                "delivered": st.delivered,
                "converged": st.converged,
                "errors": st.errors,
                "p50_ms": ms(st.p50),
                "p99_ms": ms(st.p99),
                "server_cpu_ms_per_edit": st.server_cpu_per_edit().map(ms),
                "generator_busy": st.generator_busy(),
                "generator_waiting": st.generator_wait.map(|w| w.as_secs_f64() / st.wall.as_secs_f64().max(1e-9)),
                "server_wait_ms": st.server_wait.map(ms),
                "wall_ms": ms(st.wall),
                "rss_kb": st.rss_kb,
                "sustained": st.sustained,
                "superseded": st.superseded,
            })).collect::<Vec<_>>(),
        })
    };
    serde_json::Value::Array(
        outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "documents": o.case.documents,
                    "clients_per_document": o.case.clients,
                    "glossa": side(&o.glossa),
                    "reference": side(&o.reference),
                    "ratio": ratio_line(o),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, edits: usize, made_in_ms: u64) -> Step {
        Step {
            rate,
            edits,
            expected: 0,
            delivered: 0,
            converged: true,
            errors: 0,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            elapsed: Duration::from_millis(made_in_ms + 100),
            made_in: Duration::from_millis(made_in_ms),
            wall: Duration::from_millis(made_in_ms + 100),
            server_cpu: None,
            server_wait: None,
            generator_cpu: None,
            generator_wait: None,
            rss_kb: 0,
            sustained: false,
            superseded: false,
        }
    }

    /// Given steps of 2 s, when their edits were made at the offered rate (or a little under,
    /// as timers go), then they count; when the generator fell behind, they do not, and the step
    /// says at what rate the edits were made.
    #[test]
    fn a_step_counts_only_if_its_edits_were_made_at_the_rate_offered() {
        // 80/s offered, 160 edits, the last made 1.99 s after the first: 80.4/s.
        assert!(step(80.0, 160, 1_990).offered_was_made());
        // The same, the last made 2.2 s after the first: 72.7/s, 91% of the rate.
        assert!(step(80.0, 160, 2_200).offered_was_made());
        // 120/s offered, 240 edits made in 2.7 s: 88.9/s.
        let behind = step(120.0, 240, 2_700);
        assert!(!behind.offered_was_made());
        let case = Case {
            documents: 1,
            clients: 100,
        };
        let said = describe("Glossa", case, &behind);
        assert!(said.ends_with("over, edits made at only 88.9/s"), "{said}");
        // With nothing else wrong, that is all it failed on: not a measure of the server.
        let limit = Duration::from_millis(100);
        assert!(behind.failed_only_on_rate(limit));
        assert!(!step(80.0, 160, 1_990).failed_only_on_rate(limit));
        let slow = Step {
            p99: Duration::from_millis(150),
            ..behind
        };
        assert!(!slow.failed_only_on_rate(limit));
    }

    /// Given a step that failed, when its generator kept up, then it is run once more; when
    /// the generator was saturated or its edits were made behind the rate, or the step held,
    /// then not.
    #[test]
    fn only_a_failed_step_whose_generator_kept_up_is_run_again() {
        let kept_up = Step {
            p99: Duration::from_millis(213),
            generator_cpu: Some(Duration::from_millis(100)),
            generator_wait: Some(Duration::ZERO),
            ..step(20.0, 60, 2_950)
        };
        assert!(kept_up.worth_another_try());
        let saturated = Step {
            generator_cpu: Some(Duration::from_millis(2_900)),
            ..kept_up.clone()
        };
        assert!(!saturated.worth_another_try());
        // 20/s offered, 60 edits made in 3.5 s: 17.1/s.
        let behind = Step {
            made_in: Duration::from_millis(3_500),
            ..kept_up.clone()
        };
        assert!(!behind.worth_another_try());
        let held = Step {
            sustained: true,
            ..kept_up
        };
        assert!(!held.worth_another_try());
    }
}
