//! `scripts/cluster.sh`, as an operator runs it: it starts PostgreSQL, three replicas of the
//! binary under test and Caddy (the two-replica cluster is `cluster.rs`'s), prints one address
//! that serves the desk from every replica,
//! and on Ctrl-C stops everything it started and removes its temporary state. PostgreSQL runs
//! only (the script brings its own cluster; the embedded pass returns at once, saying so).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::backend::on_postgres;
use crate::helpers::{ALICE, ARTICLE};
use crate::proxied::replica_of;

/// Whether something accepts connections at host:port.
fn listening(addr: &str) -> bool {
    std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)).is_ok()
}

/// The script's process; if the test ends before it does, its whole group is stopped (SIGTERM:
/// the script's own clean-up runs), then killed.
struct Script(Child);

impl Drop for Script {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_script_serves_one_address_and_stops_everything_on_ctrl_c() {
    if !on_postgres() {
        eprintln!(
            "the_cluster_script_serves_one_address_and_stops_everything_on_ctrl_c: skipped, it \
             needs the PostgreSQL backend (GLOSSA_TEST_BACKEND=postgres)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let child = Command::new("bash")
        .arg(root.join("scripts/cluster.sh"))
        .args(["--port", "0", "--replicas", "3"])
        .env("GLOSSA_BIN", env!("CARGO_BIN_EXE_glossa"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // A group of its own, so a failed test can stop all it started.
        .process_group(0)
        .spawn()
        .expect("bash runs scripts/cluster.sh");
    let mut child = Script(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut base, mut state) = (None, None);
    while base.is_none() || state.is_none() {
        let line = tokio::task::block_in_place(|| lines.recv_timeout(Duration::from_secs(180)))
            .expect("scripts/cluster.sh printed its address and state directory");
        if let Some(url) = line.strip_prefix("Glossa cluster is listening on ") {
            base = Some(url.to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("state:") {
            let dir = rest.trim().trim_end_matches(" (removed on exit)");
            state = Some(PathBuf::from(dir));
        }
    }
    let (base, state) = (base.unwrap(), state.unwrap());
    assert!(state.exists());

    // One address; new sessions land on every replica; each serves the desk.
    let mut seen = HashSet::new();
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let response = client
            .get(format!("{base}/api/articles/{ARTICLE}"))
            .bearer_auth(ALICE)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        seen.insert(replica_of(&response));
        if seen.len() == 3 {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        3,
        "all three replicas answer behind {base}: {seen:?}"
    );

    // Ctrl-C: everything stops, the temporary state is removed.
    let status = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "scripts/cluster.sh did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    let proxy = base.trim_start_matches("http://");
    for addr in seen.iter().map(String::as_str).chain([proxy]) {
        assert!(!listening(addr), "{addr} still listens after Ctrl-C");
    }
    assert!(!state.exists(), "{} was not removed", state.display());
}
