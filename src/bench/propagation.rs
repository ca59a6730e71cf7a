//! Propagation between replicas: REST creates on replica A at a steady rate, a sync peer
//! subscribed to the article's document on replica B, and for each create the time from A's
//! acknowledgement (the 201) to B's peer holding the annotation. Split in two: A's
//! acknowledgement to B's local log holding the write (the follow: doorbell, read by position,
//! local copy), then B's local log to its peer (hand-over to the document task, apply, fan-out).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::ReadDoc;

use super::peer::Peer;
use super::replicas::{postgres, Cluster};
use super::Row;
use crate::documents::schema;
use crate::domain::ArticleId;

const ARTICLE: &str = "twenty-six-nations-pledge";

/// One create: when A acknowledged it, and A's log head then (the write's last position).
struct Acked {
    id: String,
    at: Instant,
    seq: u64,
}

/// Three rows: end to end, the follow, and B's hand-over to its peer.
pub async fn measure(cluster_url: &str, rate: f64, duration: Duration) -> anyhow::Result<Vec<Row>> {
    let cluster = Cluster::start(cluster_url, 2).await?;
    let (a, b) = (&cluster.replicas[0], &cluster.replicas[1]);
    let article = ArticleId::parse(ARTICLE).unwrap();
    let document_id = b.desk.article(&article)?.document_id;
    let mut peer = Peer::new(b.desk.documents(), &article, &document_id, "bruno");
    peer.settle().await?;

    // When B's local log reached each head.
    let heads: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let mut watch = b.desk.store().log.watch_head();
    let recorder = heads.clone();
    let watching = tokio::spawn(async move {
        while watch.changed().await.is_ok() {
            let head = *watch.borrow_and_update();
            recorder.lock().unwrap().push((head, Instant::now()));
        }
    });
    // When B's peer first held each annotation.
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let recorder = seen.clone();
    let listening = tokio::spawn(async move {
        while let Some(outbound) = peer.inbox.recv().await {
            if !matches!(peer.receive(outbound), Ok(Some(_))) {
                continue;
            }
            let now = Instant::now();
            if let Ok(Some(map)) = schema::annotations_map(&peer.doc) {
                let mut seen = recorder.lock().unwrap();
                for key in peer.doc.keys(&map) {
                    seen.entry(key).or_insert(now);
                }
            }
            // Answer as a client does, so the server knows what the peer has.
            if peer.send().await.is_err() {
                return;
            }
        }
    });

    let acked = write_steadily(&a.base, a, rate, duration).await;
    // Let the last ones arrive.
    let patience = Instant::now() + Duration::from_secs(5);
    while Instant::now() < patience
        && !acked
            .iter()
            .all(|w| seen.lock().unwrap().contains_key(&w.id))
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    listening.abort();
    watching.abort();

    let seen = seen.lock().unwrap().clone();
    let heads = heads.lock().unwrap().clone();
    let (mut end_to_end, mut follow, mut hand_over) = (Vec::new(), Vec::new(), Vec::new());
    let (mut missing, mut early) = (0, 0);
    for write in &acked {
        let Some(&arrived) = seen.get(&write.id) else {
            missing += 1;
            continue;
        };
        if arrived < write.at {
            early += 1;
        }
        end_to_end.push(arrived.saturating_duration_since(write.at));
        if let Some(&(_, copied)) = heads.iter().find(|(head, _)| *head >= write.seq) {
            follow.push(copied.saturating_duration_since(write.at));
            hand_over.push(arrived.saturating_duration_since(copied));
        }
    }
    let elapsed = duration;
    let case = |what: &str| {
        format!(
            "{what}, REST creates at {rate:.0}/s on A ({} acknowledged, {missing} never arrived, {early} before A's 201)",
            acked.len()
        )
    };
    let rows = vec![
        postgres(super::row(
            "replicas",
            case("propagation A's 201 → B's peer"),
            end_to_end,
            elapsed,
        )),
        postgres(super::row(
            "replicas",
            case("  follow: A's 201 → B's local log"),
            follow,
            elapsed,
        )),
        postgres(super::row(
            "replicas",
            case("  hand-over: B's local log → B's peer"),
            hand_over,
            elapsed,
        )),
    ];
    cluster.remove().await;
    Ok(rows)
}

/// Creates annotations on `base` at `rate` per second for `duration`, one at a time (a create
/// that runs late is followed at once by the next due).
async fn write_steadily(
    base: &str,
    a: &super::replicas::Replica,
    rate: f64,
    duration: Duration,
) -> Vec<Acked> {
    let client = reqwest::Client::new();
    let body = serde_json::json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "propagation",
        "target": {
            "source": format!("{base}/articles/{ARTICLE}"),
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    })
    .to_string();
    let started = Instant::now();
    let mut acked = Vec::new();
    let mut sent = 0u64;
    while started.elapsed() < duration {
        let due = started + Duration::from_secs_f64(sent as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        sent += 1;
        let response = client
            .post(format!("{base}/annotations/"))
            .header("Content-Type", "application/ld+json")
            .bearer_auth("demo-alice-token")
            .body(body.clone())
            .send()
            .await;
        let Ok(response) = response else { continue };
        if response.status() != 201 {
            continue;
        }
        let at = Instant::now();
        let seq = a.desk.store().log.head();
        let Ok(json) = response.json::<serde_json::Value>().await else {
            continue;
        };
        let Some(id) = json["id"].as_str().and_then(|id| id.rsplit('/').next()) else {
            continue;
        };
        acked.push(Acked {
            id: id.to_owned(),
            at,
            seq,
        });
    }
    acked
}
