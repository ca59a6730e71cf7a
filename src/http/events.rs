//! The event feed for API consumers: `GET /api/events` (pages with a cursor, JSON or NDJSON)
//! and `GET /api/events/stream` (a Server-Sent Events live tail that resumes from
//! `Last-Event-ID` with no gap and no duplicate).

use std::future::Future;

use actix_web::http::{header, Method};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::desk::Desk;
use crate::store::EventRecord;

use super::{methods, ApiError, AppState, Caller};

/// Most events a page may hold.
const MAX_LIMIT: usize = 1000;
/// Events scanned per request when filters skip most of them; the cursor continues from there.
const MAX_SCAN: usize = 10_000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::only("/api/events", Method::GET, page))
        .service(methods::only("/api/events/stream", Method::GET, stream));
}

/// Filters and options shared by the feed and the live tail.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    after: Option<String>,
    limit: Option<String>,
    article: Option<String>,
    annotation: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    actor: Option<String>,
    /// `ndjson` for one event per line.
    format: Option<String>,
    /// `change` to include raw Automerge change bytes (base64).
    include: Option<String>,
}

struct Filter {
    article: Option<String>,
    annotation: Option<String>,
    event_type: Option<String>,
    actor: Option<String>,
    with_change: bool,
}

impl EventQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        let with_change = match self.include.as_deref() {
            None => false,
            Some("change") => true,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "`include` {other:?} is not known; use include=change for raw change bytes"
                )))
            }
        };
        Ok(Filter {
            article: self.article.clone(),
            annotation: self.annotation.clone(),
            event_type: self.event_type.clone(),
            actor: self.actor.clone(),
            with_change,
        })
    }

    fn after(&self, req: &HttpRequest) -> Result<u64, ApiError> {
        let from_header = req
            .headers()
            .get("Last-Event-ID")
            .map(|v| v.to_str().unwrap_or("").trim().to_owned());
        let raw = from_header.or_else(|| self.after.clone());
        match raw {
            None => Ok(0),
            Some(raw) => raw.parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "the cursor {raw:?} is not an event sequence number (a whole number from 0)"
                ))
            }),
        }
    }

    /// The page size: 100 unless `limit` asks for 1 to [`MAX_LIMIT`].
    fn limit(&self) -> Result<usize, ApiError> {
        match &self.limit {
            None => Ok(100),
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "`limit` must be a whole number from 1 to {MAX_LIMIT}"
                    ))
                }),
        }
    }

    /// Whether the page is asked for as NDJSON (one event per line) rather than JSON.
    fn ndjson(&self) -> Result<bool, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("ndjson") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "`format` {other:?} is not known; use json or ndjson"
            ))),
        }
    }
}

fn annotation_of(record: &EventRecord) -> Option<String> {
    record
        .data
        .get("id")
        .and_then(Value::as_str)
        .or_else(|| record.data["annotation"]["id"].as_str())
        .map(str::to_owned)
}

impl Filter {
    fn matches(&self, record: &EventRecord) -> bool {
        self.event_type
            .as_ref()
            .is_none_or(|t| &record.event_type == t)
            && self
                .actor
                .as_ref()
                .is_none_or(|a| record.actor.as_str() == a)
            && self
                .article
                .as_ref()
                .is_none_or(|a| crate::feed::article_of(record).as_ref() == Some(a))
            && self
                .annotation
                .as_ref()
                .is_none_or(|a| annotation_of(record).as_ref() == Some(a))
    }

    /// The JSON form of an event.
    fn view(&self, record: &EventRecord) -> Value {
        crate::feed::event_json(record, self.with_change)
    }
}

/// Reads matching events after `after`; returns them and the cursor to continue from.
fn read(
    desk: &Desk,
    filter: &Filter,
    after: u64,
    limit: usize,
) -> Result<(Vec<Value>, u64), ApiError> {
    let mut cursor = after;
    let mut found = Vec::new();
    let mut scanned = 0;
    while found.len() < limit && scanned < MAX_SCAN {
        let batch = desk.events_after(cursor, 512)?;
        if batch.is_empty() {
            break;
        }
        for record in batch {
            scanned += 1;
            cursor = record.seq;
            if filter.matches(&record) {
                found.push(filter.view(&record));
                if found.len() == limit {
                    break;
                }
            }
        }
    }
    Ok((found, cursor))
}

#[tracing::instrument(skip_all)]
async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<EventQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?;
    let after = query.after(&req)?;
    let limit = query.limit()?;
    let ndjson = query.ndjson()?;
    let desk = state.desk.clone();
    let (events, cursor) = web::block(move || read(&desk, &filter, after, limit))
        .await
        .map_err(ApiError::internal)??;
    let next = next_page(&req, state.renderer.base(), cursor);
    let head = state.desk.log_head();
    if ndjson {
        return Ok(ndjson_page(&events, &next, head));
    }
    Ok(HttpResponse::Ok().json(json!({
        "events": events,
        "next": next,
        "cursor": cursor,
        "head": head,
    })))
}

/// The IRI of the next page: the same query, continuing after `cursor`.
fn next_page(req: &HttpRequest, base: &str, cursor: u64) -> String {
    let mut next_query: Vec<String> = req
        .query_string()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("after="))
        .map(str::to_owned)
        .collect();
    next_query.insert(0, format!("after={cursor}"));
    format!("{base}/api/events?{}", next_query.join("&"))
}

/// A page as NDJSON: the events one per line; the next page and the log's head in headers.
fn ndjson_page(events: &[Value], next: &str, head: u64) -> HttpResponse {
    let mut body = String::new();
    for event in events {
        body.push_str(&event.to_string());
        body.push('\n');
    }
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header((header::LINK, format!("<{next}>; rel=\"next\"")))
        .insert_header(("Glossa-Log-Head", head.to_string()))
        .body(body)
}

fn frame(event: &Value) -> Bytes {
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        event["seq"],
        event["type"].as_str().unwrap_or("event"),
        event
    ))
}

#[tracing::instrument(skip_all)]
async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<EventQuery>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?;
    // The stream ends when the caller's token is revoked.
    let revoked = state.users.revoked(&caller.1);
    let cursor = query.after(&req)?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, actix_web::Error>>(state.limits.tail_buffer);
    let tail = Tail {
        desk: state.desk.clone(),
        filter,
        cursor,
        tx,
        patience: state.limits.tail_slow_consumer,
    };
    actix_web::rt::spawn(tail.run(state.limits.heartbeat_every, revoked));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
}

/// One live-tail consumer: where it is in the log, what it wants, and its bounded buffer.
struct Tail {
    desk: Desk,
    filter: Filter,
    /// The last event read (sent or filtered out).
    cursor: u64,
    tx: mpsc::Sender<Result<Bytes, actix_web::Error>>,
    /// How long a full buffer may stay full before the consumer is dropped.
    patience: std::time::Duration,
}

impl Tail {
    /// Catches up to the durable head, then waits for the head to move, sending a comment
    /// every `every` while idle (so proxies and clients keep the stream open). Ends when the
    /// consumer leaves or is too slow, the token is revoked, or the log cannot be read.
    async fn run(mut self, every: std::time::Duration, revoked: impl Future<Output = ()>) {
        let mut head = self.desk.watch_head();
        let mut heartbeat = tokio::time::interval(every);
        heartbeat.tick().await;
        tokio::pin!(revoked);
        loop {
            if !self.catch_up().await {
                return;
            }
            tokio::select! {
                changed = head.changed() => if changed.is_err() { return },
                _ = heartbeat.tick() => {
                    if !self.send(Bytes::from_static(b": keep-alive\n\n")).await {
                        return;
                    }
                }
                _ = self.tx.closed() => return,
                _ = &mut revoked => return,
            }
        }
    }

    /// Sends every matching event after the cursor, in order, up to the durable head; `false`
    /// when the tail must end.
    async fn catch_up(&mut self) -> bool {
        loop {
            let Ok(batch) = read_batch(self.desk.clone(), self.cursor).await else {
                return false;
            };
            if batch.is_empty() {
                return true;
            }
            for record in batch {
                self.cursor = record.seq;
                if self.filter.matches(&record)
                    && !self.send(frame(&self.filter.view(&record))).await
                {
                    return false;
                }
            }
        }
    }

    /// Queues one item; `false` when the consumer has gone, or read nothing for the whole
    /// patience. The buffer is bounded, so memory is too; a dropped consumer resumes from its
    /// Last-Event-ID.
    async fn send(&self, item: Bytes) -> bool {
        match self.tx.send_timeout(Ok(item), self.patience).await {
            Ok(()) => true,
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                let patience = self.patience;
                tracing::warn!("dropping a live-tail consumer that read nothing for {patience:?}");
                crate::metrics::metrics().tail_consumers_dropped.inc();
                false
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
        }
    }
}

async fn read_batch(desk: Desk, after: u64) -> Result<Vec<EventRecord>, ()> {
    web::block(move || desk.events_after(after, 256))
        .await
        .map_err(|_| ())?
        .map_err(|error| tracing::error!(%error, "the live tail could not read the log"))
}
