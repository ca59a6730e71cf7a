//! `glossa search`: a search on a running server, or on a data directory no server holds (its
//! index is brought level with the log first), printed as a list or as the API's JSON.

use std::io::{IsTerminal, Write};

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

use crate::cli::{SearchArgs, Source};
use crate::config::Limits;
use crate::desk::{Desk, DeskError};
use crate::identity::Users;
use crate::search::{params, view, SearchError, SearchIndex, SearchQuery};
use crate::store::{Location, Store};
use crate::w3c::Renderer;

pub async fn search_command(
    q: &str,
    source: Source,
    args: SearchArgs,
    json: bool,
    public_url: &str,
) -> anyhow::Result<()> {
    let query = SearchQuery {
        q: q.to_owned(),
        hit: args.hit,
        article: args.article,
        kind: args.kind,
        status: args.status,
        verdict: args.verdict,
        assignee: args.assignee,
        author: args.author,
        tag: args.tag,
        from: args.from,
        to: args.to,
        limit: Some(args.limit),
        cursor: None,
    };
    // Refused here with the server's own message, before anything is opened or sent.
    params::request_of(&query).map_err(|message| anyhow!(message))?;
    let page = match (&source.server, &source.token) {
        (Some(server), Some(token)) => on_server(server, token, &query).await?,
        (Some(_), None) => bail!("--server needs --token (or GLOSSA_TOKEN)"),
        (None, _) => in_data_dir(&source.location(), &query, public_url).await?,
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &page)?;
        writeln!(out)?;
    } else {
        print_list(&mut out, &page, std::io::stdout().is_terminal())?;
    }
    Ok(())
}

fn pairs(query: &SearchQuery) -> Vec<(&'static str, String)> {
    let optional = [
        ("type", &query.hit),
        ("article", &query.article),
        ("kind", &query.kind),
        ("status", &query.status),
        ("verdict", &query.verdict),
        ("assignee", &query.assignee),
        ("author", &query.author),
        ("tag", &query.tag),
        ("from", &query.from),
        ("to", &query.to),
        ("limit", &query.limit),
    ];
    let mut pairs = vec![("q", query.q.clone())];
    pairs.extend(
        optional
            .into_iter()
            .filter_map(|(name, value)| value.clone().map(|v| (name, v))),
    );
    pairs
}

async fn on_server(server: &str, token: &str, query: &SearchQuery) -> anyhow::Result<Value> {
    // Only the encoded query string is taken from this URL; `call` joins it to the server's.
    let encoded = reqwest::Url::parse_with_params("http://search.invalid/", pairs(query))
        .expect("a fixed URL parses");
    let path = format!("/api/search?{}", encoded.query().unwrap_or_default());
    super::call(server, token, "GET", &path, None).await
}

/// Searches a data directory: opens its store and index, waits while the index catches up
/// with the log, and renders the page as the server would.
async fn in_data_dir(
    location: &Location,
    query: &SearchQuery,
    public_url: &str,
) -> anyhow::Result<Value> {
    let request = params::request_of(query).map_err(|message| anyhow!(message))?;
    let store = Store::open_at(location)
        .with_context(|| format!("opening the data directory {}", location.data_dir.display()))?;
    let users = Users::open(&store.log)?;
    let renderer = Renderer::new(public_url, users).with_read_model(store.read_model.clone());
    let index = SearchIndex::open(
        &location.data_dir,
        store.clone(),
        Limits::default().search_pace,
    )
    .context("opening the search index")?;
    let desk = Desk::new(store, Limits::default().content).with_search(index);
    let page = loop {
        match desk.search(request.clone()).await {
            Err(DeskError::Search(SearchError::CatchingUp { position, target })) => {
                eprintln!("indexing the log for search: event {position} of {target}…");
            }
            other => break other?,
        }
    };
    Ok(view::page(&query.q, &page, None, |hit| {
        view::item(
            hit,
            renderer.base(),
            &renderer.annotation_iri(&hit.id),
            desk.article(&hit.article).ok().and_then(|a| a.title),
        )
    }))
}

/// One hit per paragraph: what it is and where, the snippet with its matches marked (bold on
/// a terminal), and its link.
fn print_list(out: &mut impl Write, page: &Value, terminal: bool) -> std::io::Result<()> {
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let total = page["total"].as_u64().unwrap_or(0);
    let q = page["q"].as_str().unwrap_or_default();
    if items.is_empty() {
        return writeln!(out, "No matches for “{q}”.");
    }
    writeln!(
        out,
        "{total} matches for “{q}”, best first (showing {}):",
        items.len()
    )?;
    for (n, item) in items.iter().enumerate() {
        let what = match item["type"].as_str() {
            Some("annotation") => [&item["kind"], &item["status"], &item["verdict"]]
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" · "),
            _ => "article".to_owned(),
        };
        let article = &item["article"];
        let place = article["title"]
            .as_str()
            .or(article["id"].as_str())
            .unwrap_or_default();
        writeln!(out, "\n{:>3}. {what} — {place}", n + 1)?;
        writeln!(out, "     {}", marked(&item["snippet"], terminal))?;
        writeln!(out, "     {}", item["link"].as_str().unwrap_or_default())?;
    }
    if !page["cursor"].is_null() {
        writeln!(
            out,
            "\n(more: raise --limit, or page with the API's cursor)"
        )?;
    }
    Ok(())
}

/// A snippet's text with its highlights in bold (on a terminal) or in [brackets].
fn marked(snippet: &Value, terminal: bool) -> String {
    let text: Vec<char> = snippet["text"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .collect();
    let (open, close) = if terminal {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("[", "]")
    };
    let mut out = String::new();
    let mut at = 0;
    for range in snippet["highlights"].as_array().into_iter().flatten() {
        let (from, to) = (
            range[0].as_u64().unwrap_or(0) as usize,
            range[1].as_u64().unwrap_or(0) as usize,
        );
        if from < at || to > text.len() {
            continue;
        }
        out.extend(&text[at..from]);
        out.push_str(open);
        out.extend(&text[from..to]);
        out.push_str(close);
        at = to;
    }
    out.extend(&text[at..]);
    out.replace('\n', " ")
}
