//! The two servers of the side-by-side sync benchmark, each a process of its own pinned to one
//! core with `taskset`: `glossa serve` on a fresh data directory, and the reference
//! automerge-repo server (`tests/js/reference-server.mjs`) on a fresh storage directory. Also
//! what the runs need of them: users, tokens and articles on Glossa, documents on the reference
//! server, and each process's CPU time and resident memory from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::Anchor;
use crate::sync::wire::{self, PeerMetadata, SyncEnvelope, WireMessage, PROTOCOL_VERSION};

/// Pins every thread of this process to `core` (threads started later inherit it).
pub fn pin_self(core: usize) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args([
            "-a",
            "-c",
            "-p",
            &core.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .context("cannot run taskset (util-linux)")?;
    anyhow::ensure!(status.success(), "taskset could not pin this process");
    Ok(())
}

/// A server process started here, stopped when dropped; its directory is removed then.
pub struct Server {
    pub name: &'static str,
    /// ws://HOST:PORT/sync
    pub sync_url: String,
    /// http://HOST:PORT (Glossa's API; the reference server has none).
    pub base: String,
    child: Child,
    dir: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's CPU time and memory now.
    pub fn sample(&self) -> Option<Usage> {
        Usage::of(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A process's CPU time (user and system, all threads) and memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub cpu: Duration,
    pub rss_kb: u64,
    /// The most it has held resident.
    pub peak_rss_kb: u64,
}

impl Usage {
    pub fn of(pid: u32) -> Option<Self> {
        let cpu =
            super::edit::stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Some(Self {
            cpu,
            rss_kb: kb("VmRSS:"),
            peak_rss_kb: kb("VmHWM:"),
        })
    }
}

/// Waits until the process `pid` is idle (under 5% of a core over a quarter second), for at
/// most `max`.
pub async fn idle(pid: u32, max: Duration) {
    let deadline = Instant::now() + max;
    let mut before = Usage::of(pid);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = Usage::of(pid);
        match (before, now) {
            (Some(b), Some(n)) if n.cpu.saturating_sub(b.cpu) <= Duration::from_millis(12) => {
                return
            }
            _ => before = now,
        }
    }
}

fn scratch(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "glossa-sync-ratio-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `glossa serve` on a fresh demo desk, pinned to `core`; returns once it answers `/healthz`.
pub async fn start_glossa(bin: &Path, core: usize) -> anyhow::Result<Server> {
    let dir = scratch("glossa")?;
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = Command::new("taskset")
        .arg("-c")
        .arg(core.to_string())
        .arg(bin)
        .args(["serve", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env("GLOSSA_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let mut server = Server {
        name: "Glossa",
        sync_url: format!("ws://127.0.0.1:{port}/sync"),
        base: format!("http://127.0.0.1:{port}"),
        child,
        dir,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return Ok(server);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            let log = std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default();
            anyhow::bail!("glossa serve exited ({status}): {}", tail(&log));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "glossa serve did not come up in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The reference server (`reference-server.mjs` in `js_dir`) with file storage in a fresh
/// directory, pinned to `core`; returns once it has printed `LISTENING <port>`.
pub async fn start_reference(js_dir: &Path, core: usize) -> anyhow::Result<Server> {
    let js_dir = &js_dir
        .canonicalize()
        .with_context(|| format!("no {}", js_dir.display()))?;
    let dir = scratch("reference")?;
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage)?;
    let mut child = Command::new("taskset")
        .arg("-c")
        .arg(core.to_string())
        .arg("node")
        .arg(js_dir.join("reference-server.mjs"))
        .current_dir(js_dir)
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("STORAGE_DIR", &storage)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("server.err"))?)
        .spawn()
        .context("cannot start node (is Node.js installed?)")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut server = Server {
        name: "reference",
        sync_url: String::new(),
        base: String::new(),
        child,
        dir,
    };
    // The first line says where it listens; reading it waits for the server, not for time.
    let line = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).map(|_| line);
        // Whatever else it prints is read too, so that its writes never meet a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        read
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line)
        .await
        .context("the reference server did not say LISTENING in 60 s")???;
    let Some(port) = line.trim().strip_prefix("LISTENING ") else {
        let err = std::fs::read_to_string(server.dir.join("server.err")).unwrap_or_default();
        let _ = server.child.try_wait();
        anyhow::bail!("the reference server did not start: {}", tail(&err));
    };
    server.sync_url = format!("ws://127.0.0.1:{}/sync", port.trim());
    Ok(server)
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(1500);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// Creates `{annotations: {}}` on an automerge-repo sync server as a JavaScript repo does (a
/// new document, offered with `sync`), and returns its id once the server has it all.
pub async fn create_document(sync_url: &str) -> anyhow::Result<String> {
    let document_id = bs58::encode(uuid::Uuid::new_v4().as_bytes())
        .with_check()
        .into_string();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{sync_url}?token=bench")).await?;
    let me = format!("create-{}", uuid::Uuid::new_v4().simple());
    let send = |m: &WireMessage| Message::Binary(wire::encode(m).into());
    socket
        .send(send(&WireMessage::Join {
            sender_id: me.clone(),
            supported_versions: vec![PROTOCOL_VERSION.into()],
            metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
            }),
        }))
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let server = loop {
        if let WireMessage::Peer { sender_id, .. } = next(&mut socket, deadline).await? {
            break sender_id;
        }
    };
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put_object(ROOT, "annotations", ObjType::Map)?;
    tx.commit();
    let mut state = sync::State::new();
    let envelope = |data: Vec<u8>| {
        WireMessage::Sync(SyncEnvelope {
            document_id: document_id.clone(),
            sender_id: me.clone(),
            target_id: server.clone(),
            data,
        })
    };
    while state.shared_heads != doc.get_heads() {
        if let Some(message) = doc.generate_sync_message(&mut state) {
            socket.send(send(&envelope(message.encode()))).await?;
        }
        match next(&mut socket, deadline).await? {
            WireMessage::Sync(e) | WireMessage::Request(e) if e.document_id == document_id => {
                doc.receive_sync_message(&mut state, sync::Message::decode(&e.data)?)?;
            }
            WireMessage::Error { message } => anyhow::bail!("the server said: {message}"),
            _ => {}
        }
    }
    let _ = socket
        .send(send(&WireMessage::Leave { sender_id: me }))
        .await;
    let _ = socket.close(None).await;
    Ok(document_id)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next protocol message, skipping pings and the like.
async fn next(socket: &mut Socket, deadline: tokio::time::Instant) -> anyhow::Result<WireMessage> {
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .context("the server went quiet while a document was created")?;
        match frame {
            Some(Ok(Message::Binary(bytes))) => return Ok(wire::decode(&bytes)?),
            Some(Ok(Message::Close(_))) | None => anyhow::bail!("the server closed the socket"),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(_)) => {}
        }
    }
}

/// Glossa's API, as the demo admin and editor.
pub struct Api {
    base: String,
    client: reqwest::Client,
}

/// The demo desk's admin (makes users and tokens) and an editor (makes articles).
const ADMIN: &str = "demo-chiara-token";
const EDITOR: &str = "demo-alice-token";

impl Api {
    pub fn new(server: &Server) -> Self {
        Self {
            base: server.base.clone(),
            client: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "POST" => self.client.post(&url),
            _ => self.client.get(&url),
        }
        .bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{method} {path}: {status}: {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `count` new users of `role` named `PREFIX-i`, one token each: (token, name).
    pub async fn users(
        &self,
        prefix: &str,
        role: &str,
        count: usize,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let mut made = Vec::with_capacity(count);
        for i in 0..count {
            let name = format!("{prefix}-{i}");
            self.call(
                "POST",
                "/api/users",
                ADMIN,
                Some(json!({ "name": name, "role": role })),
            )
            .await?;
            let issued = self
                .call("POST", &format!("/api/users/{name}/tokens"), ADMIN, None)
                .await?;
            let token = issued["token"].as_str().context("no token in the answer")?;
            made.push((token.to_owned(), name));
        }
        Ok(made)
    }

    /// The articles' slugs: the seeded ones first, then new ones until there are `count`.
    pub async fn articles(&self, count: usize) -> anyhow::Result<Vec<String>> {
        let list = self.call("GET", "/api/articles", EDITOR, None).await?;
        let mut slugs: Vec<String> = list["articles"]
            .as_array()
            .context("no article list")?
            .iter()
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect();
        slugs.truncate(count);
        for i in slugs.len()..count {
            let slug = format!("bench-article-{i}");
            let text = format!(
                "Bench article {i}. The council approved the budget on Tuesday.\n\
                 Its spending rises by four percent next year."
            );
            self.call(
                "POST",
                "/api/articles",
                EDITOR,
                Some(json!({ "id": slug, "title": format!("Bench article {i}"), "text": text })),
            )
            .await?;
            slugs.push(slug);
        }
        Ok(slugs)
    }

    /// An article's document id and a passage of its latest version to anchor on: its first
    /// twenty characters, or the seeded anchor for the seeded article.
    pub async fn document(&self, slug: &str) -> anyhow::Result<(String, Anchor)> {
        let article = self
            .call("GET", &format!("/api/articles/{slug}"), EDITOR, None)
            .await?;
        let url = article["document_url"]
            .as_str()
            .context("no document_url")?;
        let seeded = Anchor::seeded();
        if slug == seeded.article {
            return Ok((url.to_owned(), seeded));
        }
        let text = article["text"].as_str().context("no text")?;
        let exact: String = text.chars().take(20).collect();
        let anchor = Anchor {
            article: slug.to_owned(),
            version: article["latest_version"].as_i64().unwrap_or(1),
            end: exact.chars().count() as i64,
            exact,
            start: 0,
        };
        Ok((url.to_owned(), anchor))
    }
}

/// What the official JavaScript client finds in a document: `node bench/read-doc.mjs` with
/// `WS_URL`, `DOC_URL` and `TOKEN`, its annotations' ids with their bodies and creators.
pub async fn read_with_js(
    script: &Path,
    sync_url: &str,
    document: &str,
    token: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, (String, String)>> {
    let doc_url = if document.starts_with("automerge:") {
        document.to_owned()
    } else {
        format!("automerge:{document}")
    };
    let mut command = Command::new("node");
    command
        .arg(script)
        .env("WS_URL", sync_url)
        .env("DOC_URL", doc_url)
        .env("TOKEN", token);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .context("cannot run node")?;
    anyhow::ensure!(
        output.status.success(),
        "read-doc.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: Value = serde_json::from_slice(&output.stdout)?;
    let mut annotations = std::collections::BTreeMap::new();
    for (id, entry) in found
        .as_object()
        .context("read-doc.mjs printed no object")?
    {
        let field = |f: &str| entry[f].as_str().unwrap_or_default().to_owned();
        annotations.insert(id.clone(), (field("body"), field("creator")));
    }
    Ok(annotations)
}
