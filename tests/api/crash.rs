//! Durability: acknowledged writes survive SIGKILL of the real server process.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{glossa_with_lines, TestStore, ALICE, ARTICLE, JSONLD};

/// The `glossa` binary serving a desk on a free port.
pub struct Server {
    child: Mutex<Child>,
    pub base: String,
    pub client: reqwest::Client,
}

impl Server {
    pub fn start(store: &TestStore) -> Self {
        Self::start_with(store, &[])
    }

    /// Starts the server with extra command-line arguments.
    pub fn start_with(store: &TestStore, args: &[&str]) -> Self {
        Self::spawn(store, "127.0.0.1:0", args)
    }

    /// Starts the server on a given address (to come back on the same port after a restart).
    pub fn start_with_addr(store: &TestStore, addr: &str) -> Self {
        Self::spawn(store, addr, &[])
    }

    /// Starts the server on a given address with extra command-line arguments.
    pub fn start_at(store: &TestStore, addr: &str, args: &[&str]) -> Self {
        Self::spawn(store, addr, args)
    }

    fn spawn(store: &TestStore, addr: &str, args: &[&str]) -> Self {
        let head = ["serve", "--addr", addr];
        let desk = store.args();
        let mut all: Vec<&OsStr> = head.iter().map(OsStr::new).collect();
        all.extend(desk.iter().map(OsString::as_os_str));
        all.extend(args.iter().map(OsStr::new));
        let (child, lines) = glossa_with_lines(&all);
        // A guard against a server that never comes up, not a speed requirement.
        let base = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(120))
                .expect("the server printed where it listens");
            if let Some(base) = line.strip_prefix("Glossa is listening on ") {
                break base.to_owned();
            }
        };
        Self {
            child: Mutex::new(child),
            base,
            client: reqwest::Client::new(),
        }
    }

    /// SIGKILL: no shutdown, no flush, no snapshot.
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        child.wait().expect("reaped");
    }

    /// SIGTERM, then waits for the process to exit; returns its exit status.
    pub fn terminate(&self) -> std::process::ExitStatus {
        let mut child = self.child.lock().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        child.wait().expect("reaped")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ALICE)
            .send()
            .await
            .expect("GET")
    }

    pub async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// POSTs a comment on a fixed passage; returns the new annotation's id once acknowledged.
    pub async fn comment(&self, n: usize) -> Option<String> {
        let body = serde_json::json!({
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "Annotation",
            "motivation": "commenting",
            "bodyValue": format!("note {n}"),
            "target": {
                "source": format!("/articles/{ARTICLE}"),
                "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
            }
        });
        let response = self
            .client
            .request(Method::POST, format!("{}/annotations/", self.base))
            .bearer_auth(ALICE)
            .header("Content-Type", JSONLD)
            .body(body.to_string())
            .send()
            .await
            .ok()?;
        if response.status() != 201 {
            return None;
        }
        let location = response.headers().get("location")?.to_str().ok()?;
        Some(location.rsplit('/').next()?.to_owned())
    }
}

/// A test that fails half-way must not leave its server running.
impl Drop for Server {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let store = TestStore::new();
    let server = Server::start(&store);
    let seeded = server.json("/annotations/").await["total"]
        .as_u64()
        .unwrap();
    let mut acknowledged = Vec::new();
    let writes: Vec<_> = (0..40).map(|n| server.comment(n)).collect();
    for id in futures_util::future::join_all(writes).await {
        acknowledged.push(id.expect("every write is acknowledged"));
    }
    server.kill();

    let server = Server::start(&store);
    for id in &acknowledged {
        assert_eq!(
            server.get(&format!("/annotations/{id}")).await.status(),
            200,
            "{id} was lost"
        );
    }
    let total = server.json("/annotations/").await["total"]
        .as_u64()
        .unwrap();
    assert_eq!(
        total,
        seeded + 40,
        "seeds are not loaded twice and nothing is duplicated"
    );
    server.kill();
}

#[tokio::test]
async fn a_kill_during_concurrent_writes_loses_nothing_acknowledged() {
    let store = TestStore::new();
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let server = Arc::new(Server::start(&store));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (enough_tx, mut enough_rx) = tokio::sync::mpsc::channel::<()>(1);
        let mut writers = Vec::new();
        for w in 0..8 {
            let (server, acked, enough_tx) = (server.clone(), acked.clone(), enough_tx.clone());
            writers.push(tokio::spawn(async move {
                for n in 0..50 {
                    match server.comment(round * 1000 + w * 100 + n).await {
                        Some(id) => {
                            let count = {
                                let mut acked = acked.lock().unwrap();
                                acked.push(id);
                                acked.len()
                            };
                            if count == 30 {
                                let _ = enough_tx.try_send(());
                            }
                        }
                        None => return,
                    }
                }
            }));
        }
        drop(enough_tx);
        // Kill once 30 writes are acknowledged, while the others are in flight. Without that
        // many acknowledgements (every writer gave up) the round proves nothing, so it fails.
        let enough = enough_rx.recv().await;
        server.kill();
        for writer in writers {
            let _ = writer.await;
        }
        let acked_this_round: Vec<String> = acked.lock().unwrap().drain(..).collect();
        assert!(
            enough.is_some() && acked_this_round.len() >= 30,
            "round {round}: only {} writes were acknowledged before the kill; expected at least 30",
            acked_this_round.len()
        );
        let server = Server::start(&store);
        acknowledged.extend(acked_this_round);
        for id in &acknowledged {
            assert_eq!(
                server.get(&format!("/annotations/{id}")).await.status(),
                200,
                "round {round}: {id} was lost"
            );
        }
        server.kill();
    }
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_and_a_restart_needs_no_recovery() {
    let store = TestStore::new();
    let server = Server::start(&store);
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(server.comment(n).await.expect("acknowledged"));
    }
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    let server = Server::start(&store);
    for id in &ids {
        assert_eq!(
            server.get(&format!("/annotations/{id}")).await.status(),
            200
        );
    }
    server.kill();
}

/// Damage the newest bytes of the database: the server either comes back serving exactly what
/// was written (recovered to the last good state) or refuses to start with a clear message.
/// sled only, whatever the backend of the run: it damages sled's own file, which on PostgreSQL
/// is the local copy (a damaged copy is rebuilt from the database, not a log to recover).
#[tokio::test]
async fn damaged_newest_bytes_are_recovered_or_refused_never_served_wrong() {
    use std::io::{Seek, SeekFrom, Write};

    let store = TestStore::embedded();
    let dir = &store.dir;
    let server = Server::start(&store);
    let mut written = Vec::new();
    for n in 0..20 {
        written.push((n, server.comment(n).await.expect("acknowledged")));
    }
    server.kill();
    let db = dir.path().join("sled/db");
    let len = std::fs::metadata(&db).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    let damage = 4096.min(len / 4);
    file.seek(SeekFrom::Start(len - damage)).unwrap();
    file.write_all(&vec![0xAB; damage as usize]).unwrap();
    file.sync_all().unwrap();
    drop(file);

    let mut child = Command::new(env!("CARGO_BIN_EXE_glossa"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let listening =
        lines.find_map(|l| l.strip_prefix("Glossa is listening on ").map(str::to_owned));
    match listening {
        None => {
            let output = child.wait_with_output().unwrap();
            assert!(!output.status.success());
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("damaged") || stderr.contains("corrupt"),
                "a refusal must say why: {stderr}"
            );
        }
        Some(base) => {
            let client = reqwest::Client::new();
            for (n, id) in &written {
                let response = client
                    .get(format!("{base}/annotations/{id}"))
                    .bearer_auth(ALICE)
                    .send()
                    .await
                    .unwrap();
                if response.status() == 200 {
                    let json: Value = response.json().await.unwrap();
                    assert_eq!(
                        json["body"][0]["value"],
                        format!("note {n}"),
                        "wrong data for {id}"
                    );
                }
            }
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}
