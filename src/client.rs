//! The command line's client side: reading events and exports from a running server.

mod tail;

use std::io::Write;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::cli::ExportKind;

fn url(server: &str, path: &str) -> String {
    format!("{}{path}", server.trim_end_matches('/'))
}

async fn get(server: &str, token: &str, path: &str) -> anyhow::Result<reqwest::Response> {
    let response = reqwest::Client::new()
        .get(url(server, path))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach {server}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        bail!(
            "{status}: {}",
            body["detail"].as_str().unwrap_or("no details")
        );
    }
    Ok(response)
}

/// Prints events after `after` as NDJSON; with `follow`, keeps printing from the live tail
/// (see `tail`: reconnecting with backoff, from the last event printed).
pub async fn events(
    server: &str,
    token: &str,
    mut after: u64,
    limit: Option<usize>,
    follow: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut left = limit.unwrap_or(usize::MAX);
    if !follow {
        while left > 0 {
            let page: Value = get(
                server,
                token,
                &format!("/api/events?after={after}&limit={}", left.min(1000)),
            )
            .await?
            .json()
            .await?;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            for event in &events {
                writeln!(out, "{event}")?;
            }
            left = left.saturating_sub(events.len());
            let cursor = page["cursor"].as_u64().unwrap_or(after);
            if events.is_empty() || cursor == after {
                return Ok(());
            }
            after = cursor;
        }
        return Ok(());
    }
    tail::follow(server, token, after, limit, &mut out).await
}

/// Writes an export to standard output.
pub async fn export(
    server: &str,
    token: &str,
    what: ExportKind,
    article: Option<&str>,
) -> anyhow::Result<()> {
    let query = article.map(|a| format!("?article={a}")).unwrap_or_default();
    let path = match what {
        ExportKind::Annotations => format!("/api/export/annotations{query}"),
        ExportKind::Csv => format!("/api/export/annotations.csv{query}"),
        ExportKind::Claimreview => format!("/api/export/claimreview{query}"),
        ExportKind::Log => "/api/export/log.ndjson".to_owned(),
    };
    let bytes = get(server, token, &path).await?.bytes().await?;
    std::io::stdout().lock().write_all(&bytes)?;
    Ok(())
}

/// Publishes a new version of an article and prints the server's report as JSON: the version,
/// how the annotations re-anchored, what the house-style check did, and the annotations a
/// person should re-attach.
pub async fn publish(server: &str, token: &str, article: &str, text: &str) -> anyhow::Result<()> {
    let (status, body) = exchange(
        server,
        token,
        "POST",
        &format!("/api/articles/{article}/versions"),
        Some(serde_json::json!({ "text": text })),
    )
    .await?;
    let anchors: Value = get(server, token, &format!("/api/articles/{article}/anchors"))
        .await?
        .json()
        .await?;
    let report = serde_json::json!({
        "article": article,
        "version": body["latest_version"],
        "created": status == reqwest::StatusCode::CREATED,
        "anchoring": body["anchoring"],
        "style": body["style"],
        "needs_attention": anchors["needs_attention"],
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}

/// One API call; a non-2xx answer becomes an error with the server's detail.
pub async fn call(
    server: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    Ok(exchange(server, token, method, path, body).await?.1)
}

/// One API call, answering its status too; a non-2xx answer becomes an error with the
/// server's detail.
async fn exchange(
    server: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(reqwest::StatusCode, Value)> {
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut request = reqwest::Client::new()
        .request(method, url(server, path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {server}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{status}: {}",
            body["detail"].as_str().unwrap_or("no details")
        );
    }
    Ok((status, body))
}
