//! A PostgreSQL cluster of one test's own (through `scripts/pg-cluster.sh`), for tests that stop
//! and start PostgreSQL under a server: the cluster at `GLOSSA_TEST_DATABASE_URL` holds every
//! other test's database and must stay up. Only on a PostgreSQL run (the binaries are installed
//! then).

use std::path::PathBuf;
use std::process::Command;

use crate::backend::{self, TestStore};

/// A running cluster in a temporary directory; destroyed when dropped.
pub struct PgCluster {
    dir: PathBuf,
    url: String,
}

fn script(action: &str, dir: &std::path::Path, extra: &[&str]) -> String {
    let output = Command::new("bash")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-cluster.sh"))
        .arg(action)
        .arg(dir)
        .args(extra)
        .output()
        .expect("bash runs scripts/pg-cluster.sh");
    assert!(
        output.status.success(),
        "scripts/pg-cluster.sh {action} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl PgCluster {
    /// A new cluster, started: loopback on a free port, fsync and synchronous_commit on.
    pub fn start() -> Self {
        // Kept by the cluster itself (destroyed on drop), not by a TempDir: as root the
        // directory belongs to the `postgres` user.
        let dir = tempfile::Builder::new()
            .prefix("glossa-pg-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        script("init", &dir, &[]);
        script("start", &dir, &[]);
        let url = script("url", &dir, &[]);
        Self { dir, url }
    }

    /// The admin URL (the `postgres` database); it stays the same across stops and starts.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new desk with a database of its own on this cluster.
    pub fn store(&self) -> TestStore {
        TestStore {
            dir: tempfile::tempdir().expect("a temporary directory"),
            database_url: Some(backend::create_database(&self.url)),
        }
    }

    /// Stops PostgreSQL: `fast` (a clean shutdown) or `immediate` (a crash; the next start
    /// recovers from the WAL).
    pub fn stop(&self, mode: &str) {
        script("stop", &self.dir, &[mode]);
    }

    /// Starts PostgreSQL again on the same port; returns once it accepts connections.
    pub fn start_again(&self) {
        script("start", &self.dir, &[]);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-cluster.sh"))
            .arg("destroy")
            .arg(&self.dir)
            .status();
    }
}

/// A row committed before an immediate stop is there after the restart, at the same URL.
#[test]
fn a_private_cluster_survives_an_immediate_stop_with_its_commits() {
    if !backend::on_postgres() {
        return;
    }
    let cluster = PgCluster::start();
    let admin = cluster.url().to_owned();
    let store = cluster.store();
    assert!(store
        .database_url
        .as_deref()
        .unwrap()
        .starts_with(&admin[..admin.rfind('/').unwrap()]));
    let url = store.database_url.clone().unwrap();
    let write = url.clone();
    backend::blocking(async move {
        let client = backend::connect(&write).await;
        client
            .batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
            .await
            .unwrap();
    });
    cluster.stop("immediate");
    let refused = url.clone();
    let down = backend::blocking(async move {
        tokio_postgres::connect(&refused, tokio_postgres::NoTls)
            .await
            .is_err()
    });
    assert!(down, "the cluster stopped");
    cluster.start_again();
    let x: i32 = backend::blocking(async move {
        let client = backend::connect(&url).await;
        client
            .query_one("SELECT x FROM t", &[])
            .await
            .unwrap()
            .get(0)
    });
    assert_eq!(x, 7);
    let dir = cluster.dir.clone();
    drop(cluster);
    assert!(!dir.exists(), "the cluster is destroyed when dropped");
}
