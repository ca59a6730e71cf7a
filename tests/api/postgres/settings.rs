//! A database whose settings would acknowledge a commit before its WAL is on disk is refused
//! at start, by the server and by the store, with a message naming the setting.

use glossa::store::{Location, Store};

use super::{on_postgres_or_skip, serve_refused};
use crate::backend::connect;
use crate::helpers::TestStore;
use crate::pg_cluster::PgCluster;

/// Opening a store on `url` fails with a message containing `setting`.
async fn store_refuses(url: &str, setting: &str) {
    let dir = tempfile::tempdir().unwrap();
    let location = Location::new(dir.path().to_path_buf(), Some(url.to_owned()));
    let opened = tokio::task::spawn_blocking(move || Store::open_at(&location).map(Store::close))
        .await
        .unwrap();
    let error = opened
        .expect_err("the store refuses the database")
        .to_string();
    assert!(error.contains(setting), "{error}");
}

/// `glossa serve` on `url` exits non-zero with a message containing `setting`.
async fn server_refuses(url: &str, setting: &str) {
    let desk = TestStore {
        dir: tempfile::tempdir().unwrap(),
        database_url: Some(url.to_owned()),
    };
    let ended = serve_refused(desk.args()).await;
    assert!(!ended.success, "the server exits with an error");
    assert!(ended.stderr.contains(setting), "{}", ended.stderr);
}

#[tokio::test]
async fn a_database_with_synchronous_commit_off_is_refused() {
    if !on_postgres_or_skip("a_database_with_synchronous_commit_off_is_refused") {
        return;
    }
    let desk = TestStore::new();
    let url = desk.database_url.clone().expect("a database");
    let set = |value: &'static str| {
        let url = url.clone();
        async move {
            connect(&url)
                .await
                .batch_execute(&format!(
                    "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = {value}', current_database()); END $$"
                ))
                .await
                .unwrap();
        }
    };
    set("off").await;
    server_refuses(&url, "synchronous_commit").await;
    store_refuses(&url, "synchronous_commit").await;

    // The same database with the setting back on is accepted.
    set("on").await;
    let location = desk.location();
    tokio::task::spawn_blocking(move || Store::open_at(&location).map(Store::close))
        .await
        .unwrap()
        .expect("a safe database is accepted");
}

#[tokio::test]
async fn a_cluster_with_fsync_off_is_refused() {
    if !on_postgres_or_skip("a_cluster_with_fsync_off_is_refused") {
        return;
    }
    let cluster = PgCluster::start();
    let admin = connect(cluster.url()).await;
    admin
        .batch_execute("ALTER SYSTEM SET fsync = off")
        .await
        .unwrap();
    admin
        .query_one("SELECT pg_reload_conf()", &[])
        .await
        .unwrap();
    // New sessions see the setting once the postmaster has read the file again.
    loop {
        let fsync: String = connect(cluster.url())
            .await
            .query_one("SHOW fsync", &[])
            .await
            .unwrap()
            .get(0);
        if fsync == "off" {
            break;
        }
        tokio::task::yield_now().await;
    }
    server_refuses(cluster.url(), "fsync = off").await;
    store_refuses(cluster.url(), "fsync = off").await;
}
