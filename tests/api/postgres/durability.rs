//! PostgreSQL crashes (`pg_ctl stop -m immediate`) under concurrent REST and sync writes to the
//! real server: every acknowledged write is in the log afterwards, in the API and in the
//! database, and every writer that was refused succeeds when it tries again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::on_postgres_or_skip;
use crate::backend::connect;
use crate::crash::Server;
use crate::crash_sync::WsPeer;
use crate::helpers::{ALICE, ARTICLE};
use crate::pg_cluster::PgCluster;

const REST_WRITERS: usize = 4;
const SYNC_WRITERS: usize = 2;

/// What the writers share: the acknowledged ids, a signal per acknowledgement and per first
/// refusal, and whether PostgreSQL is back.
#[derive(Clone)]
struct Writers {
    acked: Arc<Mutex<Vec<String>>>,
    progress: mpsc::UnboundedSender<()>,
    refused: mpsc::UnboundedSender<()>,
    back: watch::Receiver<bool>,
}

impl Writers {
    fn acknowledged(&self, id: String) {
        self.acked.lock().unwrap().push(id);
        let _ = self.progress.send(());
    }

    /// Reports the writer's first refusal and waits until PostgreSQL is back.
    async fn refused(&mut self, first: &mut bool) {
        if *first {
            *first = false;
            let _ = self.refused.send(());
        }
        let _ = self.back.wait_for(|back| *back).await;
    }
}

/// Comments until one is acknowledged after a refusal; returns whether that happened.
async fn rest_writer(server: Arc<Server>, mut writers: Writers, w: usize) -> bool {
    let mut first = true;
    for n in 0..10_000 {
        match server.comment(w * 10_000 + n).await {
            Some(id) => {
                writers.acknowledged(id);
                if !first {
                    return true;
                }
            }
            None => writers.refused(&mut first).await,
        }
    }
    false
}

/// Writes through a sync peer until a write is confirmed after a refusal (then on a new
/// connection: the server drops a peer whose change it could not store).
async fn sync_writer(
    server: Arc<Server>,
    mut writers: Writers,
    document: String,
    w: usize,
) -> bool {
    let mut first = true;
    let mut n = 0;
    loop {
        let Some(mut peer) = WsPeer::connect(&server.base, ALICE, &document).await else {
            writers.refused(&mut first).await;
            continue;
        };
        loop {
            n += 1;
            let id = format!("sync-{w}-{n}");
            if !peer.write_confirmed(&id).await {
                break;
            }
            writers.acknowledged(id);
            if !first {
                return true;
            }
        }
        writers.refused(&mut first).await;
    }
}

/// Fails the test if `work` has not happened within a long while: a guard against a hang, not
/// a speed requirement.
async fn guard(what: &str, work: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(180), work)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing after 180 s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_stop_under_load_loses_nothing_acknowledged() {
    if !on_postgres_or_skip("an_immediate_stop_under_load_loses_nothing_acknowledged") {
        return;
    }
    let cluster = PgCluster::start();
    let desk = cluster.store();
    let url = desk.database_url.clone().unwrap();
    let server = Arc::new(Server::start(&desk));
    let document = server.json(&format!("/api/articles/{ARTICLE}")).await["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (progress, mut progressed) = mpsc::unbounded_channel();
    let (refused, mut refusals) = mpsc::unbounded_channel();
    let (back_tx, back) = watch::channel(false);
    let writers = Writers {
        acked: Arc::new(Mutex::new(Vec::new())),
        progress,
        refused,
        back,
    };
    let mut tasks = Vec::new();
    for w in 0..REST_WRITERS {
        tasks.push(tokio::spawn(rest_writer(
            server.clone(),
            writers.clone(),
            w,
        )));
    }
    for w in 0..SYNC_WRITERS {
        let document = document.clone();
        tasks.push(tokio::spawn(sync_writer(
            server.clone(),
            writers.clone(),
            document,
            w,
        )));
    }

    // Stop PostgreSQL once REST and sync writes are being acknowledged.
    guard("REST and sync writes acknowledged", async {
        loop {
            progressed.recv().await.expect("the writers run");
            let acked = writers.acked.lock().unwrap();
            let sync = acked.iter().filter(|id| id.starts_with("sync-")).count();
            if acked.len() - sync >= 20 && sync >= 2 {
                break;
            }
        }
    })
    .await;
    tokio::task::block_in_place(|| cluster.stop("immediate"));
    guard("every writer refused", async {
        for _ in 0..REST_WRITERS + SYNC_WRITERS {
            refusals.recv().await.expect("every writer is refused");
        }
    })
    .await;
    tokio::task::block_in_place(|| cluster.start_again());
    back_tx.send_replace(true);
    guard("every writer acknowledged again", async {
        for task in tasks {
            assert!(
                task.await.unwrap(),
                "a refused writer succeeds when it tries again"
            );
        }
    })
    .await;

    let acked = writers.acked.lock().unwrap().clone();
    for id in &acked {
        let status = server.get(&format!("/annotations/{id}")).await.status();
        assert_eq!(status, 200, "{id} was acknowledged and lost");
    }
    let database = connect(&url).await;
    let rows = database
        .query(
            "SELECT seq, data::text FROM glossa_events ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "1..N");
    let data: Vec<String> = rows.iter().map(|row| row.get(1)).collect();
    for id in &acked {
        assert!(
            data.iter().any(|d| d.contains(&format!("\"{id}\""))),
            "{id} is not in the database"
        );
    }
    server.kill();
}
