//! The query string of a search (`GET /api/search`, `glossa search`): each value parsed, or
//! refused with a message a person can act on.

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::domain::{ArticleId, Kind, Status, UserName, Verdict};

use super::{HitKind, SearchFilters, SearchRequest, DEFAULT_LIMIT, MAX_LIMIT};

/// The query string; anything else is refused, so a misspelt filter is not silently ignored.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    #[serde(rename = "type")]
    pub hit: Option<String>,
    pub article: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub verdict: Option<String>,
    pub assignee: Option<String>,
    pub author: Option<String>,
    pub tag: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The longest query text taken.
const MAX_QUERY: usize = 500;

fn bad(message: impl Into<String>) -> String {
    message.into()
}

fn parsed<T, E: std::fmt::Display>(
    name: &str,
    raw: &Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, String> {
    raw.as_deref()
        .map(|raw| parse(raw).map_err(|e| bad(format!("`{name}`: {e}"))))
        .transpose()
}

/// An RFC 3339 time, or a date (its start; with `end_of_day`, the start of the next day).
fn time(raw: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        format!(
            "{raw:?} is neither a date (2025-09-04) nor an RFC 3339 time (2025-09-04T12:00:00Z)"
        )
    })?;
    let date = if end_of_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    Ok(date.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

/// A cursor is the offset of the next page, opaque to clients.
pub fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o{offset}"))
}

fn offset_of(cursor: &str) -> Result<usize, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix('o').and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            format!("{cursor:?} is not a cursor this server gave; start again without one")
        })
}

/// The request the query string asks for, each value parsed or refused with a message.
pub fn request_of(query: &SearchQuery) -> Result<SearchRequest, String> {
    if query.q.chars().count() > MAX_QUERY {
        return Err(bad(format!("`q` is longer than {MAX_QUERY} characters")));
    }
    let limit = parsed("limit", &query.limit, |raw| match raw.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("{raw:?} is not a number from 1 to {MAX_LIMIT}")),
    })?
    .unwrap_or(DEFAULT_LIMIT);
    let filters = SearchFilters {
        hit: parsed("type", &query.hit, |raw| {
            HitKind::parse(raw).ok_or_else(|| format!("{raw:?} is neither annotation nor article"))
        })?,
        article: parsed("article", &query.article, ArticleId::parse)?,
        kind: parsed("kind", &query.kind, Kind::parse)?,
        status: parsed("status", &query.status, Status::parse)?,
        verdict: parsed("verdict", &query.verdict, Verdict::parse)?,
        assignee: parsed("assignee", &query.assignee, UserName::parse)?,
        author: parsed("author", &query.author, UserName::parse)?,
        tag: query.tag.clone().filter(|t| !t.trim().is_empty()),
        from: parsed("from", &query.from, |raw| time(raw, false))?,
        to: parsed("to", &query.to, |raw| time(raw, true))?,
    };
    if let (Some(from), Some(to)) = (filters.from, filters.to) {
        if from >= to {
            return Err(bad("`from` must be before `to`"));
        }
    }
    if filters.hit == Some(HitKind::Article) && filters_only_annotations_have(query) {
        return Err(bad(
            "`type=article` cannot be combined with kind, status, verdict, assignee, author or tag: only annotations have them",
        ));
    }
    Ok(SearchRequest {
        q: query.q.clone(),
        filters,
        limit,
        offset: parsed("cursor", &query.cursor, offset_of)?.unwrap_or(0),
    })
}

fn filters_only_annotations_have(query: &SearchQuery) -> bool {
    [
        &query.kind,
        &query.status,
        &query.verdict,
        &query.assignee,
        &query.author,
        &query.tag,
    ]
    .iter()
    .any(|f| f.is_some())
}
