//! `glossa-bench`: measures durable appends, the log's growth, the HTTP API, replicas over one
//! PostgreSQL and re-anchoring on this machine, and prints a table (and JSON with `--json
//! PATH`). `glossa-bench --help` lists the options and the suites; `--only SUITE[:PART]` runs
//! one; `--compare A.json B.json` prints one run against another, case by case.
//!
//! With `--database-url URL` (or `GLOSSA_BENCH_DATABASE_URL`) naming a PostgreSQL cluster, the
//! appends and HTTP suites run every case on sled and on PostgreSQL, each on a fresh desk (a new
//! data directory, and a new database on that cluster), one right after the other, and a
//! side-by-side table follows; the replicas suite starts several servers in-process over one
//! fresh database and measures what crosses between them.
//!
//! `glossa-bench preload-history --data-dir DIR --changes N [--article SLUG]` seeds DIR and
//! gives the article's document N earlier changes, for the sync benchmark over a long history
//! (`bench/run-history-bench.sh`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use glossa::bench::backend::Backend;
use glossa::bench::{self, Row};
use glossa::store::Store;

/// The suites, and the parts of those that have parts (`--only SUITE:PART`).
const SUITES: &[(&str, &str, &[&str])] = &[
    (
        "appends",
        "durable appends at 1, 16 and 128 clients, batches of 1 and 100, open loop; the disk's serial fdatasync and bare group-commit rates beside them",
        &[],
    ),
    (
        "growth",
        "appends and start-up (reopening, rebuilding the read models) on a log of 1,000 and 100,000 events (--big adds a million)",
        &[],
    ),
    ("http", "REST creates, reads and lists at 1, 16 and 64 clients", &[]),
    (
        "replicas",
        "several servers over one PostgreSQL (needs --database-url)",
        &["propagation", "appends", "creates", "apart", "typists"],
    ),
    (
        "sync",
        "automerge-repo clients over WebSockets on one document: fan-out from 2 writers to 10 and 100 clients, the generator's own CPU",
        &[],
    ),
    (
        "reanchoring",
        "re-anchoring an article with 1,000 annotations on a new version",
        &[],
    ),
    (
        "search",
        "full-text search over 10,000 and 100,000 annotations: rebuilding the index, its size, queries at 1 and 16 clients, how soon new annotations are found",
        &[],
    ),
];

/// Measures Glossa on this machine and prints a table (and JSON with `--json`). Build with
/// `--release` for meaningful figures, and compare runs of one sitting: absolute figures move
/// 2–5× between runs on shared machines, ratios from one sitting do not.
#[derive(Parser)]
#[command(name = "glossa-bench", version, after_help = suites_help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Run one suite, or one part of one (SUITE:PART); every suite runs without it.
    #[arg(long, value_name = "SUITE[:PART]", value_parser = only)]
    only: Option<String>,
    /// Seconds per throughput case.
    #[arg(long, value_name = "N", default_value_t = 3.0, value_parser = seconds)]
    seconds: f64,
    /// Also write the measured rows to PATH as JSON (what `--compare` reads).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// The growth suite also at a million events.
    #[arg(long)]
    big: bool,
    /// A PostgreSQL cluster (any database whose role may create databases): the appends and
    /// HTTP suites then run every case on sled and on PostgreSQL, and the replicas suite runs.
    #[arg(long, value_name = "URL", env = "GLOSSA_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Measure nothing: print, case by case, run B against run A (two `--json` files).
    #[arg(long, num_args = 2, value_names = ["A.json", "B.json"], conflicts_with_all = ["only", "json", "big"])]
    compare: Option<Vec<PathBuf>>,
    /// The sync suite against another server instead of one in-process: its sync WebSocket
    /// (ws://HOST:PORT/sync), e.g. the reference automerge-repo server.
    #[arg(long, value_name = "URL", requires = "sync_document")]
    sync_url: Option<String>,
    /// With --sync-url: the document to load (automerge:… as `bench/create-doc.mjs` prints).
    #[arg(long, value_name = "ID", requires = "sync_url")]
    sync_document: Option<String>,
    /// With --sync-url: the bearer token every client connects with.
    #[arg(long, value_name = "TOKEN", default_value = "bench")]
    sync_token: String,
    /// What the sync suite's writers do: `comment` (each edit a new comment) or `typing` (each
    /// edit a few characters typed into the writer's own note).
    #[arg(long, value_name = "EDIT", default_value = "comment")]
    sync_edit: bench::sync_load::Edit,
    /// The sync suite's client counts, one case each.
    #[arg(
        long,
        value_name = "N,…",
        value_delimiter = ',',
        default_value = "10,100"
    )]
    sync_clients: Vec<usize>,
    /// With --sync-url: the user that token belongs to, written as the writers' annotations'
    /// creator (a server that checks authorship needs it).
    #[arg(long, value_name = "NAME", default_value = "bench")]
    sync_user: String,
    /// With --sync-url: the server's process id, to measure its CPU per edit.
    #[arg(long, value_name = "PID", requires = "sync_url")]
    sync_server_pid: Option<u32>,
    /// List the suites and their parts.
    #[arg(long)]
    list: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Seed a data directory and give an article's document N earlier changes, for the sync
    /// benchmark over a long history (`bench/run-history-bench.sh`).
    PreloadHistory {
        /// The data directory to seed.
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// How many earlier changes.
        #[arg(long, value_name = "N")]
        changes: usize,
        /// The article whose document gets them.
        #[arg(long, value_name = "SLUG", default_value = "twenty-six-nations-pledge")]
        article: String,
    },
    /// Glossa against the reference automerge-repo server, side by side: each started here and
    /// pinned to one core, the generator to another; the total edit rate raised step by step
    /// until fan-out p99 passes 100 ms, an edit goes missing, or the edits are not made at the
    /// rate offered (90% of it); a step that fails with the generator keeping up runs once
    /// more, and the second run decides. Prints each step, then
    /// `sync ratio at N clients: …` (the sustained rates and their ratio) last. Run from the
    /// repository (it needs tests/js and bench/read-doc.mjs).
    SyncRatio {
        /// 100 clients on one document only, 2 s steps: under two minutes.
        #[arg(long)]
        quick: bool,
        /// The cases: N clients on one document, or DOCSxN (DOCS documents, N clients each).
        #[arg(long, value_name = "CASE", value_delimiter = ',', value_parser = glossa::bench::sync_load::ratio::Case::parse)]
        cases: Option<Vec<glossa::bench::sync_load::ratio::Case>>,
        /// Seconds writers write in each step.
        #[arg(long, value_name = "N", value_parser = seconds)]
        step_seconds: Option<f64>,
        /// The glossa binary to start (default: the one beside glossa-bench).
        #[arg(long, value_name = "PATH")]
        glossa_bin: Option<PathBuf>,
        /// Where reference-server.mjs and the Node packages are.
        #[arg(long, value_name = "DIR", default_value = "tests/js")]
        js_dir: PathBuf,
        /// The core the servers are pinned to, and the generator's.
        #[arg(long, value_name = "CPU", default_value_t = 0)]
        server_core: usize,
        #[arg(long, value_name = "CPU", default_value_t = 1)]
        generator_core: usize,
        /// The fan-out p99 (ms) a step must keep within to hold.
        #[arg(long, value_name = "MS", default_value_t = 100.0)]
        p99_ms: f64,
        /// What each edit is: `typing` (a few characters into the writer's own note) or
        /// `comment` (a new comment).
        #[arg(long, value_name = "EDIT", default_value = "typing")]
        edit: bench::sync_load::Edit,
    },
}

fn suites_help() -> String {
    let mut help = String::from("Suites (--only SUITE, or SUITE:PART):\n");
    for (suite, what, parts) in SUITES {
        help.push_str(&format!("  {suite:<12} {what}\n"));
        if !parts.is_empty() {
            help.push_str(&format!("  {:<12} parts: {}\n", "", parts.join(", ")));
        }
    }
    help
}

/// `--only`: a suite this tool has, and a part that suite has.
fn only(value: &str) -> Result<String, String> {
    let (suite, part) = match value.split_once(':') {
        Some((suite, part)) => (suite, Some(part)),
        None => (value, None),
    };
    let names = || {
        SUITES
            .iter()
            .map(|(s, _, _)| *s)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((_, _, parts)) = SUITES.iter().find(|(s, _, _)| *s == suite) else {
        return Err(format!("no suite `{suite}`; the suites are {}", names()));
    };
    match part {
        Some(part) if !parts.contains(&part) => Err(if parts.is_empty() {
            format!("the {suite} suite has no parts; use --only {suite}")
        } else {
            format!(
                "the {suite} suite has no part `{part}`; its parts are {}",
                parts.join(", ")
            )
        }),
        _ => Ok(value.to_owned()),
    }
}

fn seconds(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("`{value}` is not a positive number of seconds")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::PreloadHistory {
        data_dir,
        changes,
        article,
    }) = &cli.command
    {
        return preload_history(data_dir, *changes, article).await;
    }
    if let Some(Command::SyncRatio {
        quick,
        cases,
        step_seconds,
        glossa_bin,
        js_dir,
        server_core,
        generator_core,
        p99_ms,
        edit,
    }) = &cli.command
    {
        use bench::sync_load::ratio::{self, Options as RatioOptions};
        let bin = match glossa_bin {
            Some(bin) => bin.clone(),
            None => std::env::current_exe()?
                .parent()
                .map(|dir| dir.join("glossa"))
                .ok_or_else(|| anyhow::anyhow!("cannot tell where glossa-bench is"))?,
        };
        let mut options = if *quick {
            RatioOptions::quick(bin)
        } else {
            RatioOptions::full(bin)
        };
        if let Some(cases) = cases {
            options.cases = cases.clone();
        }
        if let Some(step) = step_seconds {
            options.step = Duration::from_secs_f64(*step);
        }
        options.js_dir = js_dir.clone();
        options.read_doc = js_dir.join("../../bench/read-doc.mjs");
        if !options.read_doc.exists() {
            options.read_doc = PathBuf::from("bench/read-doc.mjs");
        }
        (options.server_core, options.generator_core) = (*server_core, *generator_core);
        options.p99_limit = Duration::from_secs_f64(p99_ms / 1000.0);
        options.edit = *edit;
        let outcomes = ratio::measure(&options).await?;
        let rows = ratio::rows(&outcomes);
        println!("{}", bench::table(&rows));
        if let Some(path) = &cli.json {
            // The rows, as every suite writes them (what --compare reads), and every step's
            // figures beside them.
            std::fs::write(path, serde_json::to_vec_pretty(&rows)?)?;
            let steps = path.with_extension("steps.json");
            std::fs::write(
                &steps,
                serde_json::to_vec_pretty(&ratio::to_json(&outcomes))?,
            )?;
            eprintln!("wrote {} and {}", path.display(), steps.display());
        }
        for line in ratio::ratio_lines(&outcomes) {
            println!("{line}");
        }
        std::process::exit(0);
    }
    if cli.list {
        print!("{}", suites_help());
        return Ok(());
    }
    if let Some(runs) = &cli.compare {
        let read = |path: &PathBuf| -> anyhow::Result<Vec<Row>> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("{} is not a glossa-bench --json file: {e}", path.display())
            })
        };
        let compared = read(&runs[0])
            .and_then(|a| Ok((a, read(&runs[1])?)))
            .and_then(|(a, b)| bench::compare::runs(&a, &b));
        match compared {
            Ok(table) => print!("{table}"),
            Err(error) => {
                eprintln!("glossa-bench: {error}");
                std::process::exit(1);
            }
        }
        return Ok(());
    }
    let options = Options {
        database_url: cli.database_url.filter(|url| !url.trim().is_empty()),
        big: cli.big,
        only: cli.only,
    };
    let duration = Duration::from_secs_f64(cli.seconds);
    let mut rows: Vec<Row> = Vec::new();
    let backends = Backend::all(options.database_url.as_deref());
    if options.runs("appends") {
        appends(&backends, duration, &mut rows).await?;
    }
    if options.runs("growth") {
        growth(&options.growth_sizes(), duration, &mut rows).await?;
    }
    if options.runs("http") {
        http(&backends, duration, &mut rows).await?;
    }
    if options.runs("replicas") {
        match options.database_url.as_deref() {
            Some(url) => replicas(&options, url, duration, &mut rows).await?,
            None if options.only.is_some() => {
                anyhow::bail!("--only replicas needs --database-url URL (a PostgreSQL cluster)")
            }
            None => {}
        }
    }
    if options.runs("sync") {
        let external = cli
            .sync_url
            .as_deref()
            .zip(cli.sync_document.as_deref())
            .map(|(url, document)| External {
                url,
                document,
                token: &cli.sync_token,
                user: &cli.sync_user,
                pid: cli.sync_server_pid,
            });
        sync(external, cli.sync_edit, &cli.sync_clients, &mut rows).await?;
    }
    if options.runs("reanchoring") {
        reanchoring(&mut rows).await?;
    }
    if options.runs("search") {
        search(duration, &mut rows).await?;
    }
    println!("{}", bench::table(&rows));
    if let Some(table) = bench::compare::side_by_side(&rows) {
        println!("{table}");
    }
    if let Some(path) = cli.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&rows)?)?;
        eprintln!("wrote {}", path.display());
    }
    std::process::exit(0);
}

/// What the suites need of the command line.
struct Options {
    database_url: Option<String>,
    big: bool,
    only: Option<String>,
}

impl Options {
    /// Whether this suite runs: all do unless `--only` names one.
    fn runs(&self, suite: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|o| o.split(':').next() == Some(suite))
    }

    /// Whether this part of a suite runs: `--only SUITE:PART` runs that part alone.
    fn runs_part(&self, part: &str) -> bool {
        match self.only.as_deref().and_then(|o| o.split_once(':')) {
            Some((_, only)) => only == part,
            None => true,
        }
    }

    /// The log sizes the growth suite measures; `--big` adds a million events.
    fn growth_sizes(&self) -> Vec<u64> {
        if self.big {
            vec![1_000, 100_000, 1_000_000]
        } else {
            vec![1_000, 100_000]
        }
    }
}

/// Durable appends at 1, 16 and 128 clients in batches of 1 and 100 events, and open loop at
/// fixed offered rates; each case on a fresh desk, on every backend in turn.
async fn appends(
    backends: &[Backend],
    duration: Duration,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let closed = [(1, 1), (16, 1), (128, 1), (1, 100), (16, 100), (128, 100)];
    let cases = closed
        .iter()
        .map(|&(clients, batch)| (clients, batch, None))
        .chain([5_000.0, 10_000.0].map(|rate| (0, 1, Some(rate))));
    for (clients, batch, offered) in cases {
        for backend in backends {
            let desk = backend.desk("appends").await?;
            let store = desk.open()?;
            let mut row = match offered {
                None => bench::appends(&store, clients, batch, None, duration).await,
                Some(rate) => bench::open_loop::offered(&store, rate, duration).await,
            };
            store.close();
            desk.remove().await;
            row.backend = backend.name().into();
            eprintln!(
                "{} {}: {:.0}/s, p99 {:.1} ms",
                row.backend, row.case, row.per_second, row.p99_ms
            );
            rows.push(row);
        }
    }
    disk_baselines(duration, rows).await
}

/// The disk's own rates in a directory like the desks' (serial `fdatasync`, a bare group-commit
/// writer at 128 clients), and the log's 128-client rate on sled over each.
async fn disk_baselines(duration: Duration, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let dir = tempfile_dir("disk")?;
    let serial = bench::disk::serial_fdatasync(&dir, duration)?;
    let group = bench::disk::group_commit(&dir, 128, duration).await?;
    std::fs::remove_dir_all(&dir).ok();
    let log = rows
        .iter()
        .find(|r| r.backend == "sled" && r.case == "128 clients, batch 1")
        .cloned();
    for row in [&serial, &group] {
        eprintln!(
            "{}: {:.0}/s, p99 {:.2} ms",
            row.case, row.per_second, row.p99_ms
        );
    }
    if let Some(log) = log {
        eprintln!("{}", bench::disk::ratios(&log, &serial, &group));
    }
    rows.extend([serial, group]);
    Ok(())
}

/// Start-up on each size of log (reopening with read models present, then rebuilding them from
/// scratch), then appends on it.
async fn growth(sizes: &[u64], duration: Duration, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    for &size in sizes {
        let dir = tempfile_dir("growth")?;
        let store = Store::open(&dir)?;
        bench::prefill(&store, size).await;
        store.close();
        let reopen = time_open(&dir)?;
        rows.push(single(
            "start-up",
            format!("open a log of {size} events"),
            reopen,
        ));
        glossa::store::drop_derived_state(&dir)?;
        let rebuild = time_open(&dir)?;
        rows.push(single(
            "start-up",
            format!("rebuild read models over {size} events"),
            rebuild,
        ));
        let store = Store::open(&dir)?;
        let mut row = bench::appends(&store, 128, 1, None, duration).await;
        row.case = format!("128 clients, batch 1, log of {size} events");
        rows.push(row);
        store.close();
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(())
}

/// The HTTP API through a real socket, on every backend in turn. Creates start on a fresh desk
/// each time, so the per-article limit of 5,000 annotations is never what stops them; lists
/// then page through the article the last create case filled (thousands of annotations).
async fn http(backends: &[Backend], duration: Duration, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let mut bases = vec![String::new(); backends.len()];
    // The servers run until the benchmark ends; their desks are removed then.
    let mut desks = Vec::new();
    for what in ["create", "read", "list"] {
        for clients in [1, 16, 64] {
            for (backend, base) in backends.iter().zip(bases.iter_mut()) {
                if what == "create" {
                    let desk = backend.desk("http").await?;
                    *base = desk.serve().await?;
                    desks.push(desk);
                }
                let mut row = bench::http(base, clients, what, duration).await;
                row.backend = backend.name().into();
                eprintln!("{} {}: {:.0}/s", row.backend, row.case, row.per_second);
                rows.push(row);
            }
        }
    }
    for desk in desks {
        desk.remove().await;
    }
    Ok(())
}

/// Several replicas over one database: propagation (REST creates at 20/s for at least 10 s),
/// throughput through 1, 2 and 3 replicas, and two typists at 10 keystrokes/s each.
/// `--only replicas:propagation|appends|creates|apart|typists` runs one of them.
async fn replicas(
    options: &Options,
    url: &str,
    duration: Duration,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let mut report = |new: Vec<Row>| {
        for row in new {
            eprintln!(
                "{}: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
                row.case, row.per_second, row.p50_ms, row.p99_ms
            );
            rows.push(row);
        }
    };
    let long = duration.max(Duration::from_secs(10));
    if options.runs_part("propagation") {
        report(bench::propagation::measure(url, 20.0, long).await?);
    }
    if options.runs_part("appends") {
        report(bench::replicas::appends(url, 24, duration).await?);
    }
    if options.runs_part("creates") {
        report(bench::replicas::creates(url, 24, duration).await?);
    }
    if options.runs_part("apart") {
        report(bench::apart::creates_apart(url, 24, duration).await?);
    }
    if options.runs_part("typists") {
        report(bench::typists::measure(url, 10.0, long).await?);
    }
    Ok(())
}

/// A server the sync suite runs against instead of one in-process.
struct External<'a> {
    url: &'a str,
    document: &'a str,
    token: &'a str,
    user: &'a str,
    pid: Option<u32>,
}

/// The sync load generator on a fresh desk served in-process (or on `external`: a sync URL, a
/// document id and a token): 2 writers adding an annotation 5 times a second each, with 10 and
/// then 100 clients on the document.
async fn sync(
    external: Option<External<'_>>,
    edit: bench::sync_load::Edit,
    clients: &[usize],
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    use bench::sync_load::desk::{self, Case};
    anyhow::ensure!(
        clients.iter().all(|&n| n > 2),
        "--sync-clients: each case needs more clients than its 2 writers"
    );
    let cases: Vec<Case> = clients
        .iter()
        .map(|&clients| Case {
            clients,
            writers: 2,
            edits_per_writer: 50,
            rate: 5.0,
            edit,
        })
        .collect();
    let throttle = Duration::from_millis(100);
    let reports = match &external {
        Some(e) => {
            desk::external(
                e.url,
                e.document,
                (e.token, e.user),
                e.pid,
                &cases,
                throttle,
            )
            .await?
        }
        None => desk::in_process(&cases, throttle).await?,
    };
    for report in reports {
        if !report.errors.is_empty() {
            eprintln!(
                "sync, {} clients: the server said {:?}",
                report.clients, report.errors
            );
        }
        let mut row = report.row();
        if let Some(e) = &external {
            row.backend = format!("external ({})", e.url);
        }
        eprintln!(
            "{}: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, generator CPU {:?} per client",
            row.case,
            row.per_second,
            row.p50_ms,
            row.p99_ms,
            report.cpu_per_client()
        );
        rows.push(row);
    }
    Ok(())
}

/// Re-anchoring an article with 1,000 annotations on a new version.
async fn reanchoring(rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let dir = tempfile_dir("reanchoring")?;
    let row = bench::reanchoring(&dir, 1000).await;
    eprintln!("{}: {:.0} ms", row.case, row.p50_ms);
    rows.push(row);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// The search index over 10,000 and 100,000 annotations, side by side.
async fn search(duration: Duration, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    for annotations in [10_000, 100_000] {
        let dir = tempfile_dir("search")?;
        for row in bench::search::search(&dir, annotations, duration).await? {
            eprintln!(
                "{}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
                row.case, row.per_second, row.p50_ms, row.p99_ms
            );
            rows.push(row);
        }
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(())
}

/// `preload-history`: see [`Command::PreloadHistory`].
async fn preload_history(
    dir: &std::path::Path,
    changes: usize,
    article: &str,
) -> anyhow::Result<()> {
    let done = bench::history::preload(dir, article, changes).await?;
    eprintln!(
        "preloaded {} changes ({} events) on {}'s annotation {} in {:.1} s",
        done.changes,
        done.events,
        done.article,
        done.annotation,
        done.took.as_secs_f64()
    );
    std::process::exit(0);
}

fn single(suite: &str, case: String, took: Duration) -> Row {
    Row {
        backend: "sled".into(),
        suite: suite.to_owned(),
        case,
        ops: 1,
        seconds: took.as_secs_f64(),
        per_second: 1.0 / took.as_secs_f64(),
        p50_ms: took.as_secs_f64() * 1000.0,
        p99_ms: took.as_secs_f64() * 1000.0,
    }
}

/// Opens a data directory and times it until reads are served; closes it again, which frees
/// the directory for the next open at once.
fn time_open(dir: &std::path::Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let store = Store::open(dir)?;
    let took = started.elapsed();
    store.close();
    Ok(took)
}

fn tempfile_dir(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "glossa-bench-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
