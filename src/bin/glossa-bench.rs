//! `glossa-bench`: measures durable appends, the HTTP API, start-up and re-anchoring on this
//! machine and prints a table (and JSON with `--json FILE`). `--only appends|growth|http|
//! replicas|reanchoring` runs one suite. Build with `--release` for meaningful numbers.
//!
//! `--database-url URL` (or `GLOSSA_BENCH_DATABASE_URL`) names a PostgreSQL cluster (any
//! database on it whose role may create databases): the appends and HTTP suites then run every
//! case on sled and on PostgreSQL, each on a fresh desk (a new data directory, and a new
//! database on that cluster), one right after the other, and a side-by-side table follows.
//!
//! `--only replicas` (needs a database URL; `--only replicas:PART` runs one part) starts several servers in-process over one fresh
//! database and measures what crosses between them: propagation from an acknowledgement on one
//! to a sync peer on another, append throughput through one, two and three replicas, and two
//! typists on one document, on one replica and then on two. It runs with the other suites too
//! whenever a URL is given.
//!
//! `glossa-bench preload-history --data-dir DIR --changes N [--article SLUG]` seeds DIR and
//! gives the article's document N earlier changes, for the sync benchmark over a long history
//! (`bench/run-history-bench.sh`).

use std::time::{Duration, Instant};

use glossa::bench::backend::Backend;
use glossa::bench::{self, Row};
use glossa::store::Store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("preload-history") {
        return preload_history(&args).await;
    }
    let options = Options::from_args(args);
    let duration = Duration::from_secs_f64(options.seconds);
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
    if options.runs("reanchoring") {
        reanchoring(&mut rows).await?;
    }
    println!("{}", bench::table(&rows));
    if let Some(table) = bench::compare::side_by_side(&rows) {
        println!("{table}");
    }
    if let Some(path) = options.json_out {
        std::fs::write(&path, serde_json::to_vec_pretty(&rows)?)?;
        eprintln!("wrote {path}");
    }
    std::process::exit(0);
}

/// The command line: `--json FILE`, `--seconds N` (3 by default), `--big`, `--only SUITE`,
/// `--database-url URL`.
struct Options {
    json_out: Option<String>,
    database_url: Option<String>,
    seconds: f64,
    big: bool,
    only: Option<String>,
}

impl Options {
    fn from_args(args: Vec<String>) -> Self {
        let value = |flag: &str| args.windows(2).find(|w| w[0] == flag).map(|w| w[1].clone());
        Self {
            json_out: value("--json"),
            database_url: value("--database-url")
                .or_else(|| std::env::var("GLOSSA_BENCH_DATABASE_URL").ok())
                .filter(|url| !url.trim().is_empty()),
            seconds: value("--seconds")
                .and_then(|s| s.parse().ok())
                .unwrap_or(3.0),
            big: args.iter().any(|a| a == "--big"),
            only: value("--only"),
        }
    }

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
    Ok(())
}

/// Appends as the log grows, and start-up on each size of log: reopening with read models
/// present, then rebuilding them from scratch.
async fn growth(sizes: &[u64], duration: Duration, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    for &size in sizes {
        let dir = tempfile_dir("growth")?;
        let store = Store::open(&dir)?;
        bench::prefill(&store, size).await;
        let mut row = bench::appends(&store, 128, 1, None, duration).await;
        row.case = format!("128 clients, batch 1, log of {size} events");
        rows.push(row);
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

/// Re-anchoring an article with 1,000 annotations on a new version.
async fn reanchoring(rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let dir = tempfile_dir("reanchoring")?;
    let row = bench::reanchoring(&dir, 1000).await;
    eprintln!("{}: {:.0} ms", row.case, row.p50_ms);
    rows.push(row);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// `preload-history`: see the module docs.
async fn preload_history(args: &[String]) -> anyhow::Result<()> {
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let dir = flag("--data-dir").ok_or_else(|| anyhow::anyhow!("--data-dir DIR is required"))?;
    let changes: usize = flag("--changes")
        .ok_or_else(|| anyhow::anyhow!("--changes N is required"))?
        .parse()?;
    let article = flag("--article").unwrap_or_else(|| "twenty-six-nations-pledge".into());
    let done = bench::history::preload(std::path::Path::new(&dir), &article, changes).await?;
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
