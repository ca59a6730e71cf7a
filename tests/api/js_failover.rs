//! The official automerge-repo client through a load balancer while a replica is killed:
//! `tests/js/scenario.mjs failover`, driven step by step (it says which replica each client
//! reached, waits to hear that one was killed, then reports how long convergence took).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{ALICE, BRUNO};
use crate::js_client::{last_json, scenario, setup};

/// How long the scenario may take to reach a step (it bounds its own waits too).
const STEP: Duration = Duration::from_secs(120);

pub struct Failover {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

/// Starts two clients (alice as A, bruno as B) on the seeded article through `base`.
pub async fn failover_scenario(base: &str) -> Failover {
    let setup = setup(base, &reqwest::Client::new()).await;
    let mut command = scenario(&setup, "failover", (ALICE, BRUNO), ("alice", "bruno"));
    // The web UI's reconnect interval.
    command.env("RETRY_MS", "2000");
    let mut child = command.spawn().expect("node runs");
    let stdout = child.stdout.take().expect("stdout");
    let stdin = child.stdin.take();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Failover {
        child,
        stdin,
        lines,
        seen: Vec::new(),
    }
}

impl Failover {
    /// Waits for `READY {…}`: which replica (host:port) clients A and B reached.
    pub async fn ready(&mut self) -> Value {
        loop {
            let line = tokio::task::block_in_place(|| self.lines.recv_timeout(STEP));
            match line {
                Ok(line) => {
                    if let Some(json) = line.strip_prefix("READY ") {
                        return serde_json::from_str(json).expect("READY names the replicas");
                    }
                    self.seen.push(line);
                }
                Err(_) => panic!("the failover scenario did not get ready:\n{}", self.fail()),
            }
        }
    }

    /// Tells the scenario that A's replica was killed.
    pub fn killed(&mut self) {
        let mut stdin = self.stdin.take().expect("told once");
        writeln!(stdin, "killed").expect("the scenario reads its stdin");
    }

    /// Waits for the scenario to end; its JSON result.
    pub async fn finish(mut self) -> Value {
        let status = tokio::task::block_in_place(|| {
            let deadline = std::time::Instant::now() + STEP;
            loop {
                if let Some(status) = self.child.try_wait().expect("the scenario runs") {
                    return Some(status);
                }
                if std::time::Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        self.seen.extend(self.lines.try_iter());
        match status {
            Some(status) if status.success() => last_json(&self.seen.join("\n")),
            _ => panic!("the failover scenario failed:\n{}", self.fail()),
        }
    }

    /// What it printed, for a failure message (the process is ended first).
    fn fail(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
        }
        self.seen.extend(self.lines.try_iter());
        format!("{}\n{stderr}", self.seen.join("\n"))
    }
}

impl Drop for Failover {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
