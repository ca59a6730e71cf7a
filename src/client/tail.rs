//! The command line's live tail: `glossa events --server … --follow`.
//!
//! The Server-Sent Events of `/api/events/stream` are decoded by `eventsource-stream`, which
//! turns bytes into text across chunk boundaries (a character split between two chunks stays
//! whole) and parses the event fields as the SSE specification says. When the stream ends or
//! the server cannot be reached, the tail connects again after an exponential backoff with
//! jitter and a cap, resuming with `Last-Event-ID` from the last event it printed; an event at
//! or before that id is never printed again, so nothing is printed twice or skipped.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use backon::{BackoffBuilder, ExponentialBuilder};
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

/// The first wait before connecting again.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest wait before jitter, which adds up to as much again.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// One event of the tail: its sequence number (the SSE id) and its JSON.
#[derive(Debug, PartialEq)]
pub struct TailEvent {
    pub seq: u64,
    pub event: Value,
}

/// Prints events after `after` as NDJSON as they happen, until `limit` events were printed
/// (forever without one). Only a refusal (a bad token, a bad query) ends it early.
pub async fn follow(
    server: &str,
    token: &str,
    after: u64,
    limit: Option<usize>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("{}/api/events/stream", server.trim_end_matches('/'));
    let mut last = after;
    let mut left = limit.unwrap_or(usize::MAX);
    let mut waits = backoff();
    loop {
        let request = client
            .get(&url)
            .bearer_auth(token)
            .header("Last-Event-ID", last.to_string());
        match request.send().await {
            Ok(response) if response.status().is_client_error() => {
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                bail!(
                    "{status}: {}",
                    body["detail"].as_str().unwrap_or("no details")
                );
            }
            Ok(response) if response.status().is_success() => {
                let mut events = std::pin::pin!(decode(response.bytes_stream()));
                while let Some(event) = events.next().await {
                    let event = match event {
                        Ok(event) => event,
                        Err(error) => {
                            eprintln!("the live tail broke off: {error:#}");
                            break;
                        }
                    };
                    // The server resumes after Last-Event-ID; this guards against any overlap.
                    if event.seq <= last {
                        continue;
                    }
                    writeln!(out, "{}", event.event)?;
                    out.flush()?;
                    last = event.seq;
                    // Events flow again: the next outage starts with a short wait.
                    waits = backoff();
                    left = left.saturating_sub(1);
                    if left == 0 {
                        return Ok(());
                    }
                }
                eprintln!("the live tail closed after event {last}");
            }
            Ok(response) => eprintln!("the live tail was answered {}", response.status()),
            Err(error) => eprintln!("cannot reach {server}: {error}"),
        }
        let delay = waits.next().unwrap_or(MAX_DELAY);
        eprintln!(
            "connecting again in {:.1} s, from event {last}",
            delay.as_secs_f64()
        );
        tokio::time::sleep(delay).await;
    }
}

/// The events of an SSE byte stream; comments (keep-alives) and frames without an id are
/// skipped. Text is decoded across chunk boundaries.
pub fn decode<S, B, E>(bytes: S) -> impl Stream<Item = anyhow::Result<TailEvent>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: std::error::Error + Send + Sync + 'static,
{
    bytes.eventsource().filter_map(|frame| async move {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => return Some(Err(anyhow::Error::new(error))),
        };
        if frame.id.is_empty() {
            return None;
        }
        Some(parse(&frame.id, &frame.data))
    })
}

fn parse(id: &str, data: &str) -> anyhow::Result<TailEvent> {
    let seq = id
        .parse()
        .with_context(|| format!("the event id {id:?} is not a sequence number"))?;
    let event =
        serde_json::from_str(data).with_context(|| format!("event {seq} does not carry JSON"))?;
    Ok(TailEvent { seq, event })
}

/// Waits that double from `FIRST_DELAY` up to `MAX_DELAY`, each with jitter, without end.
fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use futures_util::stream;

    use super::*;

    const NOTE: &str = "Zelenskyy — «déclaration» 🇺🇦";

    /// Chunks of an SSE body cut at every byte, so every multi-byte character is split.
    fn byte_by_byte(body: &str) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> {
        stream::iter(
            body.as_bytes()
                .iter()
                .map(|b| Ok(vec![*b]))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn characters_split_across_chunks_come_out_whole() {
        let event = serde_json::json!({"seq": 7, "data": {"body": NOTE}});
        let body = format!(": keep-alive\n\nid: 7\nevent: annotation.created\ndata: {event}\n\n");
        let events: Vec<TailEvent> = decode(byte_by_byte(&body))
            .map(|e| e.unwrap())
            .collect()
            .await;
        assert_eq!(events, vec![TailEvent { seq: 7, event }]);
        assert_eq!(events[0].event["data"]["body"], NOTE);
    }

    #[tokio::test]
    async fn a_chunk_cut_inside_the_flag_keeps_the_following_events() {
        let first = serde_json::json!({"seq": 1, "note": NOTE});
        let second = serde_json::json!({"seq": 2, "note": "ok"});
        let body = format!("id: 1\ndata: {first}\n\nid: 2\ndata: {second}\n\n");
        // Cut in the middle of the four-byte regional indicator.
        let cut = body.find('🇺').unwrap() + 2;
        let chunks = vec![
            Ok::<_, std::io::Error>(body.as_bytes()[..cut].to_vec()),
            Ok(body.as_bytes()[cut..].to_vec()),
        ];
        let events: Vec<TailEvent> = decode(stream::iter(chunks))
            .map(|e| e.unwrap())
            .collect()
            .await;
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(events[0].event["note"], NOTE);
    }

    #[test]
    fn the_backoff_grows_to_a_cap_with_jitter() {
        let waits: Vec<Duration> = backoff().take(12).collect();
        for (n, wait) in waits.iter().enumerate() {
            let base = FIRST_DELAY.saturating_mul(1 << n.min(10)).min(MAX_DELAY);
            assert!(
                *wait >= base && *wait <= base * 2,
                "wait {n} is {wait:?}, base {base:?}"
            );
        }
        assert!(waits[11] >= MAX_DELAY && waits[11] <= MAX_DELAY * 2);
    }
}
