//! REST creates through two and three replicas with each replica's on an article of its own,
//! so no document is written from two replicas: what the shared log and the following cost
//! without races, next to the one-article cases in `replicas`.

use std::time::{Duration, Instant};

use super::replicas::{merge, postgres, races, Cluster};
use super::Row;

/// Seeded articles the creates of the replicas go to when each has one of its own.
const OWN_ARTICLES: [&str; 3] = [
    "twenty-six-nations-pledge",
    "macron-us-guarantees-nato",
    "macron-align-europe-trump",
];

/// REST creates from `clients` clients spread evenly over 2 and 3 replicas, each replica's
/// on an article of its own (so their documents never race): what the shared log gives.
pub async fn creates_apart(
    cluster_url: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for n in 2..=3 {
        let cluster = Cluster::start(cluster_url, n).await?;
        let races = races();
        let per_replica = clients / n;
        let mut runs = Vec::new();
        for (replica, article) in cluster.replicas.iter().zip(OWN_ARTICLES) {
            let id = crate::domain::ArticleId::parse(article).unwrap();
            let text = replica.desk.article_text(&id, 1)?;
            // The first line's first words: long enough to occur once.
            let first_line = text.lines().next().unwrap_or_default();
            let quote: String = first_line.split(' ').take(12).collect::<Vec<_>>().join(" ");
            runs.push(tokio::spawn(create_on(
                replica.base.clone(),
                article,
                quote,
                per_replica,
                duration,
            )));
        }
        let (latencies, elapsed) = merge(runs).await;
        let races = super::replicas::races() - races;
        rows.push(postgres(super::row(
            "replicas",
            format!(
                "REST create, an article per replica, {} clients over {n} replicas ({races} races)",
                per_replica * n
            ),
            latencies,
            elapsed,
        )));
        cluster.remove().await;
    }
    Ok(rows)
}

/// `clients` clients creating comments on `article` quoting `quote`, for `duration`.
async fn create_on(
    base: String,
    article: &'static str,
    quote: String,
    clients: usize,
    duration: Duration,
) -> (Vec<Duration>, Duration) {
    let client = reqwest::Client::new();
    let body = serde_json::json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "load",
        "target": {
            "source": format!("{base}/articles/{article}"),
            "selector": {"type": "TextQuoteSelector", "exact": quote}
        }
    })
    .to_string();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, base, body) = (client.clone(), base.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0;
            while started.elapsed() < duration {
                let t = Instant::now();
                let Ok(response) = client
                    .post(format!("{base}/annotations/"))
                    .header("Content-Type", "application/ld+json")
                    .bearer_auth("demo-alice-token")
                    .body(body.clone())
                    .send()
                    .await
                else {
                    break;
                };
                let status = response.status();
                let answer = response.text().await.unwrap_or_default();
                if status.is_success() {
                    latencies.push(t.elapsed());
                } else {
                    if refused == 0 {
                        eprintln!("a create on {article} was refused: {status} {answer}");
                    }
                    refused += 1;
                }
            }
            if refused > 0 {
                eprintln!("{refused} creates refused");
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    (latencies, started.elapsed())
}
