//! `GET /api/queue`: the desk's work queue for the caller, the lists the web UI's Desk page
//! shows, for any client to read: assigned to them, open fact-checks and corrections oldest
//! first, the targets that need a person after a new version, and counts per article.

use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::timestamp;
use crate::desk::{ArticleCounts, Attention, QueueScope, DEFAULT_OPEN_KINDS};
use crate::domain::{ArticleId, Kind, UserName};
use crate::store::AnnotationRow;

use super::annotations::check_assignee;
use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::only("/api/queue", Method::GET, queue));
}

/// The lists a queue answer can hold.
const LISTS: [&str; 4] = ["assigned", "open", "needs_attention", "articles"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    /// Comma-separated lists to include (all by default).
    list: Option<String>,
    /// Whose assignments (the caller by default).
    assignee: Option<String>,
    /// Comma-separated kinds of the open list (fact-check,correction by default).
    kind: Option<String>,
    /// One article only.
    article: Option<String>,
    /// An event sequence number the answer must reflect (from the live tail).
    seen: Option<String>,
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

/// The comma-separated values of a parameter, none empty.
fn values(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|v| !v.is_empty())
}

impl QueueQuery {
    fn lists(&self) -> Result<Vec<&'static str>, ApiError> {
        let Some(raw) = &self.list else {
            return Ok(LISTS.to_vec());
        };
        let mut lists = Vec::new();
        for value in values(raw) {
            let known = LISTS.iter().find(|l| **l == value).ok_or_else(|| {
                bad(format!(
                    "`list` {value:?} is not known; use any of {}",
                    LISTS.join(", ")
                ))
            })?;
            lists.push(*known);
        }
        if lists.is_empty() {
            return Err(bad(format!(
                "`list` names no list; use any of {}",
                LISTS.join(", ")
            )));
        }
        Ok(lists)
    }

    fn scope(&self, state: &AppState, caller: &UserName) -> Result<QueueScope, ApiError> {
        let assignee = match &self.assignee {
            None => caller.clone(),
            Some(raw) => {
                let name = UserName::parse(raw).map_err(|e| bad(e.to_string()))?;
                check_assignee(state, Some(&name), None)?;
                name
            }
        };
        let kinds = match &self.kind {
            None => DEFAULT_OPEN_KINDS.to_vec(),
            Some(raw) => {
                let kinds = values(raw)
                    .map(|k| Kind::parse(k).map_err(|e| bad(e.to_string())))
                    .collect::<Result<Vec<_>, _>>()?;
                if kinds.is_empty() {
                    return Err(bad("`kind` names no kind".into()));
                }
                kinds
            }
        };
        let article = self
            .article
            .as_deref()
            .map(|raw| {
                let id = ArticleId::parse(raw)
                    .map_err(|_| ApiError::NotFound(format!("article {raw:?} does not exist")))?;
                state.desk.article(&id)?;
                Ok::<_, ApiError>(id)
            })
            .transpose()?;
        Ok(QueueScope {
            assignee,
            kinds,
            article,
        })
    }

    fn seen(&self) -> Result<Option<u64>, ApiError> {
        self.seen
            .as_deref()
            .map(|raw| {
                raw.parse::<u64>().map_err(|_| {
                    bad(format!(
                        "`seen` must be an event sequence number (a whole number from 0), not {raw:?}"
                    ))
                })
            })
            .transpose()
    }
}

/// One annotation in a list: what a queue shows, and where to find it.
fn item(state: &AppState, row: &AnnotationRow) -> Value {
    let a = &row.annotation;
    let target = &a.targets[0];
    json!({
        "id": a.id,
        "url": state.renderer.annotation_iri(a.id.as_str()),
        "kind": a.kind.as_str(),
        "status": a.status.as_str(),
        "verdict": a.verdict.map(|v| v.as_str()),
        "assignee": a.assignee,
        "creator": a.creator,
        "created": timestamp(a.created),
        "modified": timestamp(a.modified),
        "article": target.article,
        "quote": target.quote.exact,
        "note": a.body,
    })
}

/// One target that needs a person: the annotation, and where its target stands.
fn attention(state: &AppState, found: &Attention) -> Result<Value, ApiError> {
    let row = state.desk.row(&found.placement.annotation)?;
    let mut entry = item(state, &row);
    let p = &found.placement;
    entry["article"] = json!(found.article);
    entry["version"] = found.version.into();
    entry["target"] = p.target.into();
    entry["made_on"] = p.made_on.into();
    entry["target_status"] = p.status.clone().into();
    entry["candidates"] = p.candidates.len().into();
    if let Some(t) = row.annotation.targets.get(p.target) {
        entry["quote"] = t.quote.exact.clone().into();
    }
    Ok(entry)
}

fn counts_json(counts: &ArticleCounts) -> Value {
    json!({
        "article": counts.article,
        "open": counts.open,
        "needs_attention": counts.needs_attention,
    })
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn queue(
    state: web::Data<AppState>,
    query: web::Query<QueueQuery>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let lists = query.lists()?;
    let scope = query.scope(&state, &caller.0.name)?;
    if let Some(seq) = query.seen()? {
        state.desk.caught_up_to(seq).await?;
    }
    let checkpoint = state.desk.read_model_checkpoint();
    let desk = &state.desk;
    let mut body = json!({
        "user": caller.0.name,
        "assignee": scope.assignee,
        "kinds": scope.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "seq": checkpoint,
    });
    if let Some(article) = &scope.article {
        body["article"] = json!(article);
    }
    for list in lists {
        body[list] = match list {
            "assigned" => desk
                .assigned(&scope)?
                .iter()
                .map(|r| item(&state, r))
                .collect(),
            "open" => desk
                .open_work(&scope)?
                .iter()
                .map(|r| item(&state, r))
                .collect(),
            "needs_attention" => desk
                .needing_attention(scope.article.as_ref())?
                .iter()
                .map(|found| attention(&state, found))
                .collect::<Result<Vec<_>, _>>()?
                .into(),
            _ => desk
                .article_counts()?
                .iter()
                .filter(|c| scope.article.as_ref().is_none_or(|a| a == &c.article))
                .map(counts_json)
                .collect(),
        };
    }
    Ok(HttpResponse::Ok().json(body))
}
