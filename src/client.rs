//! The command line's reading side: events and exports from a running server (`--server`),
//! or from a data directory that no server holds, and publishing a version to a server.

mod import;
mod search;
mod tail;
mod webhooks;

pub use import::import_hypothesis_command;
pub use search::search_command;
pub use webhooks::webhook_command;

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::backup::DumpLine;
use crate::cli::{ExportKind, Source};
use crate::desk::Desk;
use crate::exports::{Export, Exporter};
use crate::identity::Users;
use crate::store::{Location, Store};
use crate::w3c::Renderer;

/// `glossa events`: from a running server (following its live tail with `follow`), or from a
/// data directory.
pub async fn events_command(
    source: Source,
    after: u64,
    limit: Option<usize>,
    follow: bool,
) -> anyhow::Result<()> {
    let location = source.location();
    match (source.server, source.token) {
        (Some(server), Some(token)) => events(&server, &token, after, limit, follow).await,
        (Some(_), None) => bail!("--server needs --token (or GLOSSA_TOKEN)"),
        (None, _) if follow => {
            bail!("--follow reads the live tail of a running server; give --server and --token")
        }
        (None, _) => events_in_data_dir(&location, after, limit),
    }
}

/// Prints the events of a data directory after `after`, as the public feed shows them.
fn events_in_data_dir(location: &Location, after: u64, limit: Option<usize>) -> anyhow::Result<()> {
    let store = Store::open_at(location)?;
    let mut out = std::io::stdout().lock();
    let mut cursor = after;
    let mut left = limit.unwrap_or(usize::MAX);
    while left > 0 {
        let batch = store.log.read_after(cursor, left.min(1024))?;
        if batch.is_empty() {
            break;
        }
        for record in &batch {
            cursor = record.seq;
            serde_json::to_writer(&mut out, &DumpLine::public(record))?;
            out.write_all(b"\n")?;
        }
        left -= batch.len();
    }
    Ok(())
}

/// `glossa export`: from a running server, or rendered from a data directory with ids under
/// `public_url`.
pub async fn export_command(
    what: ExportKind,
    source: Source,
    public_url: &str,
    article: Option<&str>,
) -> anyhow::Result<()> {
    let location = source.location();
    match (source.server, source.token) {
        (Some(server), Some(token)) => export(&server, &token, what, article).await,
        (Some(_), None) => bail!("--server needs --token (or GLOSSA_TOKEN)"),
        (None, _) => {
            let bytes = export_offline(&location, public_url, what, article)?;
            std::io::stdout().lock().write_all(&bytes)?;
            Ok(())
        }
    }
}

/// Renders an export straight from a data directory (no server may have it open), through
/// the desk as the server would.
fn export_offline(
    location: &Location,
    public_url: &str,
    what: ExportKind,
    article: Option<&str>,
) -> anyhow::Result<Vec<u8>> {
    let store = Store::open_at(location)
        .with_context(|| format!("opening the data directory {}", location.data_dir.display()))?;
    let users = Users::open(&store.log)?;
    let renderer =
        Renderer::new(public_url, users.clone()).with_read_model(store.read_model.clone());
    let desk = Desk::new(store, crate::config::Limits::default().content);
    let export = match what {
        ExportKind::Annotations => Export::Annotations,
        ExportKind::Csv => Export::Csv,
        ExportKind::Claimreview => Export::ClaimReview,
        ExportKind::Log => Export::Log,
    };
    let exporter = Exporter {
        desk: &desk,
        renderer: &renderer,
        users: &users,
    };
    let (_, bytes) = exporter.render(export, article)?;
    Ok(bytes)
}

/// `glossa publish`: a new version of an article from a file (`-` for standard input).
pub async fn publish_command(
    server: &str,
    token: &str,
    article: &str,
    file: &Path,
) -> anyhow::Result<()> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    publish(server, token, article, &text).await
}

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

/// Prints a server's events after `after` as NDJSON; with `follow`, keeps printing from the
/// live tail (see `tail`: reconnecting with backoff, from the last event printed).
async fn events(
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

/// Writes a server's export to standard output.
async fn export(
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
async fn publish(server: &str, token: &str, article: &str, text: &str) -> anyhow::Result<()> {
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
