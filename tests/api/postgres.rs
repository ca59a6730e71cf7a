//! What only a desk on PostgreSQL promises: contiguous positions under concurrent appenders,
//! refusal of unsafe database settings, a local copy that is checked and rebuilt, writes
//! refused (and reads served) while the database is out of reach, nothing acknowledged lost
//! when PostgreSQL crashes under load, and a desk moved into PostgreSQL from sled.
//!
//! These tests run in the suite's PostgreSQL pass (`GLOSSA_TEST_BACKEND=postgres
//! scripts/with-postgres.sh cargo test`); in the embedded pass each says it was skipped and
//! passes.

mod durability;
mod gap;
mod local_copy;
mod moving;
mod outage;
mod settings;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::backend::on_postgres;
use crate::crash::Server;
use crate::helpers::ARTICLE;

/// Whether this run is the PostgreSQL pass; says the test was skipped otherwise.
fn on_postgres_or_skip(test: &str) -> bool {
    if !on_postgres() {
        eprintln!(
            "{test}: skipped, it needs PostgreSQL (GLOSSA_TEST_BACKEND=postgres \
             scripts/with-postgres.sh cargo test)"
        );
    }
    on_postgres()
}

/// Ids and links in what a server says, whatever its port.
const PUBLIC_URL: &str = "http://glossa.test";

/// What a desk serves: its annotations, an article's document heads, and its feed.
#[derive(Debug, PartialEq)]
struct View {
    annotations: Value,
    heads: Value,
    feed: String,
}

async fn view(server: &Server) -> View {
    let feed = server.get("/api/export/log.ndjson").await;
    assert_eq!(feed.status(), 200);
    let document = server
        .json(&format!("/api/articles/{ARTICLE}/document"))
        .await;
    View {
        annotations: server.json("/annotations/?limit=200").await,
        heads: document["heads"].clone(),
        feed: feed.text().await.unwrap(),
    }
}

/// Acknowledged comments, one after the other; their ids.
async fn comments(server: &Server, from: usize, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in from..from + count {
        ids.push(server.comment(n).await.expect("acknowledged"));
    }
    ids
}

/// How a `glossa serve` that was expected to refuse ended.
struct Refusal {
    success: bool,
    stderr: String,
}

/// Runs `glossa serve ARGS` on a free port and waits for it to exit; a server that starts
/// listening instead is killed and fails the test.
async fn serve_refused(args: Vec<OsString>) -> Refusal {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_glossa"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the glossa binary starts");
        let mut stderr = child.stderr.take().expect("stderr");
        let reading = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        // Standard output ends when the process does, or says that it listens.
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        for line in stdout.lines().map_while(Result::ok) {
            if line.starts_with("Glossa is listening on ") {
                let _ = child.kill();
                let _ = child.wait();
                panic!("glossa serve {args:?} started instead of refusing");
            }
        }
        let status = child.wait().expect("reaped");
        Refusal {
            success: status.success(),
            stderr: reading.join().expect("stderr read"),
        }
    })
    .await
    .expect("glossa ran")
}
