//! The crash harness: REST writers and sync peers (a Rust automerge peer over the real
//! socket) write concurrently while the server is killed with SIGKILL at varying moments,
//! several times. Every write that was acknowledged (a 201, or a sync message from the server
//! whose heads include the change) must be there after each restart, and the log must reopen
//! and replay cleanly. `GLOSSA_CRASH_ROUNDS` runs more rounds (default 3).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ReadDoc};
use futures_util::{SinkExt, StreamExt};
use glossa::sync::wire::{self, SyncEnvelope, WireMessage};
use tokio_tungstenite::tungstenite::Message;

use crate::crash::Server;
use crate::helpers::{TestStore, ALICE, ARTICLE};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A bound on how long a healthy server takes to answer: a hang guard, not a speed test.
const PATIENCE: Duration = Duration::from_secs(20);

/// An automerge peer speaking the repo protocol over a real WebSocket.
pub struct WsPeer {
    socket: Socket,
    doc: Automerge,
    state: sync::State,
    document_id: String,
    me: String,
    server: String,
}

impl WsPeer {
    /// Connects and syncs until the document has arrived (the server has subscribed it).
    pub async fn connect(base: &str, token: &str, document_id: &str) -> Option<Self> {
        let url = format!("{}/sync?token={token}", base.replacen("http", "ws", 1));
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.ok()?;
        let me = format!("crash-peer-{}", uuid::Uuid::new_v4().simple());
        let join = wire::encode(&WireMessage::Join {
            sender_id: me.clone(),
            supported_versions: vec!["1".into()],
            metadata: None,
        });
        socket.send(Message::Binary(join.into())).await.ok()?;
        let server = match Self::next(&mut socket).await? {
            WireMessage::Peer { sender_id, .. } => sender_id,
            _ => return None,
        };
        let mut peer = Self {
            socket,
            doc: Automerge::new(),
            state: sync::State::new(),
            document_id: document_id.to_owned(),
            me,
            server,
        };
        // Sync until the document (with its annotations map) has arrived.
        while peer.doc.get(automerge::ROOT, "annotations").ok()?.is_none() {
            peer.send_sync().await?;
            peer.receive_one().await?;
        }
        Some(peer)
    }

    /// Closes the socket with a close frame.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    async fn next(socket: &mut Socket) -> Option<WireMessage> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, socket.next())
                .await
                .ok()??
                .ok()?;
            if let Message::Binary(bytes) = frame {
                return wire::decode(&bytes).ok();
            }
        }
    }

    async fn send_sync(&mut self) -> Option<()> {
        if let Some(message) = self.doc.generate_sync_message(&mut self.state) {
            let frame = wire::encode(&WireMessage::Sync(SyncEnvelope {
                document_id: self.document_id.clone(),
                sender_id: self.me.clone(),
                target_id: self.server.clone(),
                data: message.encode(),
            }));
            self.socket.send(Message::Binary(frame.into())).await.ok()?;
        }
        Some(())
    }

    /// Applies the next sync message from the server; returns its heads.
    async fn receive_one(&mut self) -> Option<Vec<automerge::ChangeHash>> {
        loop {
            if let WireMessage::Sync(envelope) = Self::next(&mut self.socket).await? {
                let message = sync::Message::decode(&envelope.data).ok()?;
                let heads = message.heads.clone();
                self.doc
                    .receive_sync_message(&mut self.state, message)
                    .ok()?;
                return Some(heads);
            }
        }
    }

    /// Adds an annotation and waits until the server's heads include it (durable by then).
    pub async fn write_confirmed(&mut self, id: &str) -> bool {
        crate::sync::add_annotation(&mut self.doc, id, "alice", "comment", None);
        let Some(change) = self.doc.get_last_local_change() else {
            return false;
        };
        let hash = change.hash();
        loop {
            if self.send_sync().await.is_none() {
                return false;
            }
            match self.receive_one().await {
                Some(heads) if heads.contains(&hash) => return true,
                Some(_) => continue,
                None => return false,
            }
        }
    }
}

/// A small deterministic generator for "random" kill moments.
fn moments(rounds: usize) -> Vec<usize> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..rounds)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            5 + (x % 25) as usize
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_rest_and_sync_writes_survive_repeated_sigkills() {
    let rounds: usize = std::env::var("GLOSSA_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let store = TestStore::new();
    let mut acknowledged: Vec<String> = Vec::new();
    for (round, kill_after) in moments(rounds).into_iter().enumerate() {
        let server = Arc::new(Server::start(&store));
        let document_id = server.json(&format!("/api/articles/{ARTICLE}")).await["document_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (enough_tx, mut enough) = tokio::sync::mpsc::channel::<()>(1);
        let mut writers = Vec::new();
        for w in 0..4 {
            let (server, acked, enough_tx) = (server.clone(), acked.clone(), enough_tx.clone());
            writers.push(tokio::spawn(async move {
                for n in 0..200 {
                    let Some(id) = server.comment(round * 10_000 + w * 1000 + n).await else {
                        return;
                    };
                    let mut acked = acked.lock().unwrap();
                    acked.push(id);
                    // Kill once enough REST writes and at least one sync write are in.
                    let sync = acked.iter().filter(|id| id.starts_with("sync-")).count();
                    if acked.len() - sync >= kill_after && sync > 0 {
                        let _ = enough_tx.try_send(());
                    }
                }
            }));
        }
        for w in 0..2 {
            let (server, acked, document_id) = (server.clone(), acked.clone(), document_id.clone());
            let enough_tx = enough_tx.clone();
            writers.push(tokio::spawn(async move {
                let Some(mut peer) = WsPeer::connect(&server.base, ALICE, &document_id).await
                else {
                    return;
                };
                for n in 0..200 {
                    let id = format!("sync-{round}-{w}-{n}");
                    if !peer.write_confirmed(&id).await {
                        return;
                    }
                    let mut acked = acked.lock().unwrap();
                    acked.push(id);
                    let sync = acked.iter().filter(|id| id.starts_with("sync-")).count();
                    if acked.len() - sync >= kill_after {
                        let _ = enough_tx.try_send(());
                    }
                }
            }));
        }
        drop(enough_tx);
        enough.recv().await;
        server.kill();
        for writer in writers {
            let _ = writer.await;
        }
        acknowledged.extend(acked.lock().unwrap().drain(..));

        let server = Server::start(&store);
        for id in &acknowledged {
            assert_eq!(
                server.get(&format!("/annotations/{id}")).await.status(),
                200,
                "round {round}: {id} was lost"
            );
        }
        // The log reopened and the read models replayed it to the end.
        let health = server.json("/healthz").await;
        assert_eq!(health["log_head"], health["read_model_checkpoint"]);
        server.kill();
    }
    assert!(
        acknowledged.iter().any(|id| id.starts_with("sync-")),
        "sync writes took part"
    );
}

#[tokio::test]
async fn sigterm_closes_sync_sockets_with_a_close_frame() {
    let store = TestStore::new();
    let server = Arc::new(Server::start(&store));
    let document_id = server.json(&format!("/api/articles/{ARTICLE}")).await["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut peer = WsPeer::connect(&server.base, ALICE, &document_id)
        .await
        .expect("connected");
    let stopping = {
        let server = server.clone();
        tokio::task::spawn_blocking(move || server.terminate())
    };
    let mut close = None;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(PATIENCE, peer.socket.next()).await {
        if let Message::Close(frame) = frame {
            close = frame;
            break;
        }
    }
    let close = close.expect("a close frame with a reason");
    assert_eq!(u16::from(close.code), 1001, "going away");
    assert!(stopping.await.unwrap().success(), "a clean exit");
}
