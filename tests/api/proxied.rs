//! A person using the API through the load balancer: a reqwest client that keeps Caddy's
//! stickiness cookie as a browser would, REST writes that check read-your-writes, the event
//! feed read page by page, and a live tail that resumes with `Last-Event-ID` whenever its
//! stream ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::helpers::{ALICE, ARTICLE, JSONLD};

/// How long the test waits for something that takes milliseconds before it gives up.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// The cookie `deploy/Caddyfile` keeps a person on one replica with.
pub const STICKY_COOKIE: &str = "glossa_replica";

/// Writes sent again after a failed attempt, and retries answered as a replay of a first
/// attempt that had committed (reported by the test, not asserted: they depend on timing).
pub static SENT_AGAIN: AtomicUsize = AtomicUsize::new(0);
pub static REPLAYED: AtomicUsize = AtomicUsize::new(0);

/// Which replica answered (the header `deploy/Caddyfile` adds).
pub fn replica_of(response: &Response) -> String {
    response
        .headers()
        .get("Glossa-Replica")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// One person's client: the balancer's address, and its cookie once it has set one.
#[derive(Clone)]
pub struct Session {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

impl Session {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .timeout(PATIENCE)
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ALICE);
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", format!("{STICKY_COOKIE}={cookie}"));
        }
        request
    }

    /// Keeps the cookie the balancer sets (a new one when the old one's replica is down).
    fn remember(&mut self, response: &Response) {
        for value in response.headers().get_all("Set-Cookie") {
            let value = value.to_str().unwrap_or_default();
            if let Some(rest) = value.strip_prefix(&format!("{STICKY_COOKIE}=")) {
                self.cookie = Some(rest.split(';').next().unwrap_or_default().to_owned());
            }
        }
    }

    /// A GET with the token and the cookie (a GET answered leaves the cookie as it was).
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }
}

/// A session that Caddy keeps on `replica` (host:port): new sessions get a replica at random.
pub async fn session_on(base: &str, replica: &str) -> Session {
    for _ in 0..200 {
        let mut session = Session::new(base);
        let response = session.get("/healthz").await;
        if replica_of(&response) == replica {
            session.remember(&response);
            assert!(session.cookie.is_some(), "Caddy sets its stickiness cookie");
            return session;
        }
    }
    panic!("Caddy never sent a new session to {replica}");
}

/// Each replica's stickiness cookie value (what the balancer sets for it), by replica:
/// WebSocket upgrades carry the cookie but not the balancer's Glossa-Replica header.
pub async fn cookies(base: &str, replicas: &[String]) -> std::collections::HashMap<String, String> {
    let mut found = std::collections::HashMap::new();
    for _ in 0..200 {
        let mut session = Session::new(base);
        let response = session.get("/healthz").await;
        session.remember(&response);
        if let Some(cookie) = session.cookie {
            found.insert(cookie, replica_of(&response));
        }
        if replicas.iter().all(|r| found.values().any(|v| v == r)) {
            return found;
        }
    }
    panic!("Caddy did not send new sessions to every replica: {found:?}");
}

/// POSTs the comment "note `n`" through the balancer with an `Idempotency-Key`, sending it
/// again (same key, same body) until it is acknowledged, as a careful client does when a
/// replica dies under its request; its id. A write is read back at once from the replica that
/// acknowledged it (read-your-writes). `None` only if it was never acknowledged.
pub async fn comment(session: &mut Session, n: usize) -> Option<String> {
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
    let deadline = Instant::now() + PATIENCE;
    let response = loop {
        let sent = session
            .request(Method::POST, "/annotations/")
            .header("Content-Type", JSONLD)
            .header("Idempotency-Key", format!("cluster-test-{n}"))
            .body(body.to_string())
            .send()
            .await;
        if let Ok(response) = sent {
            session.remember(&response);
            if response.status() == 201 {
                if response.headers().contains_key("Idempotent-Replayed") {
                    REPLAYED.fetch_add(1, Ordering::Relaxed);
                }
                break response;
            }
            let status = response.status().as_u16();
            SENT_AGAIN.fetch_add(1, Ordering::Relaxed);
            // 502: its replica died under it; 503: the database was unreachable; 409: the
            // first attempt is still running somewhere. Anything else is a bug.
            assert!(
                [409, 502, 503].contains(&status),
                "note {n}: {status} {}",
                response.text().await.unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let wrote = replica_of(&response);
    let location = response.headers().get("location")?.to_str().ok()?;
    let id = location.rsplit('/').next()?.to_owned();
    if let Ok(read) = session
        .request(Method::GET, &format!("/annotations/{id}"))
        .send()
        .await
    {
        if replica_of(&read) == wrote {
            assert_eq!(
                read.status(),
                200,
                "{wrote} acknowledged {id} but does not serve it"
            );
        }
    }
    Some(id)
}

/// The whole event feed after `after`, read through the balancer page by page.
pub async fn feed(session: &Session, after: u64) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor = after;
    loop {
        let page: Value = session
            .get(&format!("/api/events?after={cursor}&limit=1000"))
            .await
            .json()
            .await
            .expect("a page of the feed");
        let batch = page["events"].as_array().expect("events").clone();
        cursor = page["cursor"].as_u64().expect("a cursor");
        let done = batch.is_empty() || cursor >= page["head"].as_u64().expect("the head");
        events.extend(batch);
        if done {
            return events;
        }
    }
}

/// Follows `/api/events/stream` through the balancer, sending each event's position to `seqs`;
/// when the stream ends or breaks, opens it again with `Last-Event-ID` (the balancer picks
/// another replica when the cookie's is down). Runs until aborted.
pub async fn tail(mut session: Session, seqs: mpsc::UnboundedSender<u64>) {
    // No overall timeout: the stream is meant to stay open.
    let client = reqwest::Client::new();
    let mut last = 0u64;
    loop {
        let mut request = client
            .get(format!("{}/api/events/stream", session.base))
            .bearer_auth(ALICE);
        if let Some(cookie) = &session.cookie {
            request = request.header("Cookie", format!("{STICKY_COOKIE}={cookie}"));
        }
        if last > 0 {
            request = request.header("Last-Event-ID", last.to_string());
        }
        let opened = Instant::now();
        let Ok(mut response) = request.send().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        session.remember(&response);
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                let id = frame.lines().find_map(|l| l.strip_prefix("id: "));
                if let Some(seq) = id.and_then(|s| s.trim().parse::<u64>().ok()) {
                    last = seq;
                    if seqs.send(seq).is_err() {
                        return;
                    }
                }
            }
        }
        // A stream refused at once (e.g. a 502 while the balancer learns of a dead replica)
        // is tried again shortly, not in a tight loop.
        if opened.elapsed() < Duration::from_millis(50) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
