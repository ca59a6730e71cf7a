//! The event feed and the live tail.

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::Value;

use std::time::{Duration, Instant};

use glossa::domain::{AnnotationId, StreamId};
use glossa::store::{AppendRequest, NewEvent};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, ALICE, ARTICLE, DESK_ANNOTATIONS};

#[tokio::test]
async fn the_feed_pages_through_the_whole_log_in_order() {
    let app = spawn_app().await;
    let head = app.log_head();
    let mut seqs = Vec::new();
    let mut next = "/api/events?limit=25".to_owned();
    loop {
        let page = app.get_json(&next).await;
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            break;
        }
        for event in events {
            seqs.push(event["seq"].as_u64().unwrap());
            assert!(event["at"].as_str().unwrap().ends_with('Z'));
            assert!(event["id"].is_string() && event["actor"].is_string());
        }
        next = page["next"]
            .as_str()
            .unwrap()
            .strip_prefix(&app.base)
            .unwrap()
            .to_owned();
    }
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());

    let created = app
        .get_json("/api/events?type=annotation.created&limit=1000")
        .await;
    let created = created["events"].as_array().unwrap();
    assert_eq!(created.len() as u64, DESK_ANNOTATIONS);
    assert!(created
        .iter()
        .all(|e| e["type"] == "annotation.created" && e["article"].is_string()));
    let on_article = app
        .get_json(&format!("/api/events?article={ARTICLE}&limit=1000"))
        .await;
    assert!(on_article["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["article"] == ARTICLE));
    let changes = app
        .get_json("/api/events?type=document.changed&limit=1&include=change")
        .await;
    let change = &changes["events"][0];
    assert!(change["change_hash"].is_string() && change["change"].is_string());

    let ndjson = app.get("/api/events?format=ndjson&limit=5").await;
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    assert!(ndjson.headers()["link"]
        .to_str()
        .unwrap()
        .contains("after=5"));
    let text = ndjson.text().await.unwrap();
    assert_eq!(text.lines().count(), 5);
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    assert_eq!(app.get("/api/events?after=-1").await.status(), 400);
    assert_eq!(app.get("/api/events?limit=100000").await.status(), 400);
    assert_eq!(app.get("/api/events?format=xml").await.status(), 400);
}

/// Reads a live tail until `stop_after` events have arrived or event `up_to` has; returns the
/// sequence numbers received, in order.
async fn tail(
    app: &TestApp,
    last_event_id: Option<u64>,
    stop_after: usize,
    up_to: Option<u64>,
) -> Vec<u64> {
    let mut request = app.request(Method::GET, "/api/events/stream", Some(ALICE));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.unwrap();
    read_ids(response, stop_after, up_to).await
}

/// Reads an open live tail until `stop_after` events have arrived, event `up_to` has, or the
/// server ends the stream.
async fn read_ids(response: reqwest::Response, stop_after: usize, up_to: Option<u64>) -> Vec<u64> {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut seen = Vec::new();
    while let Some(chunk) = body.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if let Some(id) = frame.lines().find_map(|l| l.strip_prefix("id: ")) {
                seen.push(id.trim().parse::<u64>().unwrap());
            }
        }
        if seen.len() >= stop_after || up_to.is_some_and(|last| seen.last() == Some(&last)) {
            break;
        }
    }
    seen
}

#[tokio::test]
async fn the_live_tail_resumes_with_no_gap_and_no_duplicate() {
    let app = spawn_app().await;
    let start_head = app.log_head();
    // Writers keep appending while the consumer reads, drops, and comes back.
    let writer = {
        let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
        let (client, base) = (app.client.clone(), app.base.clone());
        tokio::spawn(async move {
            for _ in 0..30 {
                let response = client
                    .post(format!("{base}/annotations/"))
                    .bearer_auth(ALICE)
                    .header("Content-Type", crate::helpers::JSONLD)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
            }
        })
    };
    // First connection: stop part-way, in the middle of the concurrent writes.
    let first = tail(&app, None, start_head as usize + 20, None).await;
    writer.await.unwrap();
    let final_head = app.log_head();
    let second = tail(&app, first.last().copied(), usize::MAX, Some(final_head)).await;
    let all: Vec<u64> = first.into_iter().chain(second).collect();
    assert_eq!(all, (1..=final_head).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_idle_live_tail_gets_heartbeats() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/api/events/stream", Some(ALICE))
        .header("Last-Event-ID", app.log_head().to_string())
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert_eq!(&first[..], b": keep-alive\n\n");
    assert_eq!(app.get("/api/events/stream?after=x").await.status(), 400);
}

#[tokio::test]
async fn a_consumer_that_reads_nothing_is_dropped_and_resumes_where_it_was_cut() {
    let app = spawn_app_with(|settings| {
        settings.limits.tail_buffer = 4;
        settings.limits.tail_slow_consumer = Duration::from_millis(200);
    })
    .await;
    let start = app.log_head();
    let stalled = app
        .request(Method::GET, "/api/events/stream", Some(ALICE))
        .header("Last-Event-ID", start.to_string())
        .send()
        .await
        .unwrap();
    let dropped_before = dropped_consumers(&app).await;
    // 25 MiB of events: more than the socket buffers on both ends hold, so the server's own
    // buffer of four events fills while the consumer reads nothing.
    const EVENTS: u64 = 400;
    let stream = StreamId::Annotation(AnnotationId::parse("tail-flood").unwrap());
    for _ in 0..EVENTS / 50 {
        let events = (0..50)
            .map(|_| NewEvent {
                data: json!({ "payload": "x".repeat(64 * 1024) }),
                ..glossa::bench::event(&stream)
            })
            .collect();
        app.desk
            .store()
            .log
            .append(AppendRequest {
                events,
                expectations: Vec::new(),
            })
            .await
            .unwrap();
    }
    let head = app.log_head();
    assert_eq!(head, start + EVENTS);

    // The server gives up on the consumer once its buffer has stayed full for the patience.
    let deadline = Instant::now() + Duration::from_secs(60);
    while dropped_consumers(&app).await == dropped_before {
        assert!(
            Instant::now() < deadline,
            "a consumer that read nothing for a minute was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its stream ends after what was already buffered: a contiguous run short of the head...
    let cut = read_ids(stalled, usize::MAX, None).await;
    let last = *cut
        .last()
        .expect("the buffered events arrive before the end");
    assert!(
        last < head,
        "the stream was not cut: it delivered up to the head"
    );
    assert_eq!(cut, (start + 1..=last).collect::<Vec<_>>());
    // ...and the consumer resumes from its Last-Event-ID with no gap and no duplicate.
    let resumed = tail(&app, Some(last), usize::MAX, Some(head)).await;
    assert_eq!(resumed, (last + 1..=head).collect::<Vec<_>>());
}

async fn dropped_consumers(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("glossa_tail_consumers_dropped_total "))
        .expect("the metric is exposed")
        .parse()
        .unwrap()
}
