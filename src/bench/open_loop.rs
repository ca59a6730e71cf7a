//! Appends at an offered rate, open loop: one event is sent every 1/rate seconds whether or not
//! earlier ones were answered, and each acknowledgement is timed from when its event was due,
//! so a slow commit shows in the latencies of everything that queued behind it (no coordinated
//! omission, unlike clients that wait for their previous answer).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{event, row, Row};
use crate::domain::{AnnotationId, StreamId};
use crate::store::{AppendRequest, Expected, Store};

/// Streams the events are spread over.
const STREAMS: usize = 64;

/// Offers `rate` single-event appends per second for `duration`; the row counts the events
/// acknowledged and their latency from the moment each was due.
pub async fn offered(store: &Store, rate: f64, duration: Duration) -> Row {
    let streams: Vec<StreamId> = (0..STREAMS)
        .map(|i| StreamId::Annotation(AnnotationId::parse(&format!("open-{i}")).unwrap()))
        .collect();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(0u64));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut sent: u64 = 0;
    while started.elapsed() < duration {
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let scheduled = started + Duration::from_secs_f64(sent as f64 / rate);
            let stream = streams[sent as usize % STREAMS].clone();
            let (log, latencies, failed) = (store.log.clone(), latencies.clone(), failed.clone());
            tasks.push(tokio::spawn(async move {
                let request = AppendRequest {
                    events: vec![event(&stream)],
                    expectations: vec![(stream, Expected::Any)],
                };
                match log.append(request).await {
                    Ok(_) => latencies.lock().unwrap().push(scheduled.elapsed()),
                    Err(_) => *failed.lock().unwrap() += 1,
                }
            }));
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for task in tasks {
        let _ = task.await;
    }
    let failed = *failed.lock().unwrap();
    if failed > 0 {
        eprintln!("{failed} of {sent} offered appends failed");
    }
    let latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    row(
        "durable appends (events)",
        format!("open loop, offered {rate:.0}/s"),
        latencies,
        started.elapsed(),
    )
}
