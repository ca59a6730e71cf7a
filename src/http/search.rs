//! `GET /api/search`: full-text search over annotations and article text, with filters, ranked,
//! with highlighted snippets, paged with a cursor.

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::timestamp;
use crate::domain::{ArticleId, Kind, Status, UserName, Verdict};
use crate::search::{Hit, HitKind, SearchFilters, SearchRequest, DEFAULT_LIMIT, MAX_LIMIT};

use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::resource("/api/search", "GET").route(web::get().to(search)));
}

/// The query string; anything else is refused, so a misspelt filter is not silently ignored.
#[derive(Debug, Default, Deserialize)]
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

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

fn parsed<T, E: std::fmt::Display>(
    name: &str,
    raw: &Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
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
pub fn request_of(query: &SearchQuery) -> Result<SearchRequest, ApiError> {
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

async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<SearchQuery>::from_query(req.query_string())
        .map_err(|e| bad(format!("the query string: {e}")))?;
    let request = request_of(&query)?;
    let page = state.desk.search(request).await?;
    let items: Vec<Value> = page.hits.iter().map(|hit| item(&state, hit)).collect();
    let next = page.next.map(|offset| {
        let mut params: Vec<&str> = req
            .query_string()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
            .collect();
        let cursor = format!("cursor={}", cursor(offset));
        params.push(&cursor);
        format!("{}/api/search?{}", state.renderer.base(), params.join("&"))
    });
    Ok(HttpResponse::Ok().json(json!({
        "q": query.q,
        "total": page.total,
        "items": items,
        "cursor": page.next.map(cursor),
        "next": next,
        "position": page.position,
    })))
}

/// One result as the API shows it: what it is, where, the snippet, and a link into the web UI.
pub fn item(state: &AppState, hit: &Hit) -> Value {
    let base = state.renderer.base();
    let article = state.desk.article(&hit.article).ok();
    let mut item = json!({
        "type": hit.kind_of_hit.as_str(),
        "id": hit.id,
        "score": hit.score,
        "article": {
            "id": hit.article,
            "title": article.as_ref().and_then(|a| a.title.clone()),
        },
        "snippet": hit.snippet,
    });
    match &hit.annotation {
        Some(a) => {
            item["annotation"] = json!(state.renderer.annotation_iri(&hit.id));
            item["kind"] = json!(a.kind.as_str());
            item["status"] = json!(a.status.as_str());
            item["verdict"] = json!(a.verdict.map(|v| v.as_str()));
            item["assignee"] = json!(a.assignee);
            item["creator"] = json!(a.creator);
            item["created"] = json!(timestamp(a.created));
            item["tags"] = json!(a.tags);
            let mut articles: Vec<&ArticleId> = a.targets.iter().map(|t| &t.article).collect();
            articles.dedup();
            item["articles"] = json!(articles);
            item["link"] = json!(format!(
                "{base}/#/articles/{}/annotations/{}",
                hit.article, hit.id
            ));
        }
        None => {
            item["link"] = json!(format!("{base}/#/articles/{}", hit.article));
        }
    }
    item
}
