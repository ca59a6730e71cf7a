//! `glossa-bench`'s command line: usage without measuring, refusals that say what is there,
//! and one run compared with another.

use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glossa-bench"))
        .args(args)
        .env_remove("GLOSSA_BENCH_DATABASE_URL")
        .output()
        .expect("glossa-bench runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_prints_the_usage_and_the_suites_and_measures_nothing() {
    let out = bench(&["--help"]);
    assert!(out.status.success());
    let usage = text(&out.stdout);
    for wanted in [
        "--only",
        "--seconds",
        "--json",
        "--compare",
        "--database-url",
        "replicas",
        "typists",
        "sync",
        "--sync-url",
        "reanchoring",
    ] {
        assert!(usage.contains(wanted), "{wanted} in {usage}");
    }
    assert!(!usage.contains("| backend |"), "nothing was measured");
}

#[test]
fn unknown_suites_parts_and_durations_are_refused_with_what_there_is() {
    let out = bench(&["--only", "gossip"]);
    assert_eq!(out.status.code(), Some(2));
    let error = text(&out.stderr);
    assert!(
        error.contains("no suite `gossip`") && error.contains("appends, growth, http"),
        "{error}"
    );
    let out = bench(&["--only", "replicas:sideways"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("propagation, appends, creates"));
    let out = bench(&["--seconds=0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("positive number of seconds"));
}

#[test]
fn compare_prints_one_run_against_another_case_by_case() {
    let dir = tempfile::tempdir().unwrap();
    let row = |case: &str, per_second: f64, p99: f64| {
        serde_json::json!({
            "backend": "sled", "suite": "http", "case": case, "ops": 100, "seconds": 3.0,
            "per_second": per_second, "p50_ms": 1.0, "p99_ms": p99
        })
    };
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(
        &a,
        serde_json::json!([row("create, 64 clients", 1000.0, 40.0)]).to_string(),
    )
    .unwrap();
    std::fs::write(
        &b,
        serde_json::json!([row("create, 64 clients", 2500.0, 20.0)]).to_string(),
    )
    .unwrap();
    let out = bench(&["--compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains(
            "| sled | http | create, 64 clients | 1000 | 2500 | 2.50 | 40.00 | 20.00 | 0.50 |"
        ),
        "{table}"
    );
    // A file that is not a run is refused, saying which.
    std::fs::write(&b, "not json").unwrap();
    let out = bench(&["--compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not a glossa-bench --json file"));
}
