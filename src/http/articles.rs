//! The articles API: list, read (text, versions with hashes, the document URL), ingest.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::timestamp;
use crate::desk::{ArticleDraft, Published};
use crate::domain::ArticleId;
use crate::store::{ArticleRow, Filter};

use super::extract::{ArticlePath, JsonBody, Writer};
use super::idempotency::{self, Attempt};
use super::request::{parse_shape, read_json_body};
use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        methods::resource("/api/articles", "GET, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    for (path, allow, route) in [
        ("/api/articles/{id}", "GET", web::get().to(get)),
        (
            "/api/articles/{id}/versions",
            "POST",
            web::post().to(publish),
        ),
        (
            "/api/articles/{id}/versions/{n}",
            "GET",
            web::get().to(version),
        ),
        (
            "/api/articles/{id}/document",
            "GET",
            web::get().to(document),
        ),
        ("/api/articles/{id}/anchors", "GET", web::get().to(anchors)),
        ("/articles/{id}", "GET", web::get().to(get)),
        ("/articles/{id}/versions/{n}", "GET", web::get().to(version)),
    ] {
        cfg.service(methods::resource(path, allow).route(route));
    }
}

fn view(state: &AppState, row: &ArticleRow) -> Value {
    let base = state.renderer.base();
    let versions: Vec<Value> = row
        .versions
        .iter()
        .map(|v| {
            json!({
                "number": v.number,
                "sha256": v.sha256,
                "length": v.length,
                "ingested": timestamp(v.ingested),
                "url": format!("{base}/articles/{}/versions/{}", row.id, v.number),
            })
        })
        .collect();
    json!({
        "id": row.id,
        "url": format!("{base}/articles/{}", row.id),
        "title": row.title,
        "outlet": row.outlet,
        "published": row.published,
        "source_url": row.url,
        "created": timestamp(row.created),
        "document_id": row.document_id,
        "document_url": format!("automerge:{}", row.document_id),
        "annotations": format!("{base}/articles/{}/annotations/", row.id),
        "latest_version": row.latest().map(|v| v.number),
        "versions": versions,
    })
}

async fn list(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let rows = state.desk.articles()?;
    let counts = state.desk.article_counts()?;
    let mut articles = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut article = view(&state, row);
        let all = state.desk.list(&Filter {
            article: Some(row.id.clone()),
            ..Filter::default()
        })?;
        article["annotation_count"] = all.len().into();
        // What is waiting on it: open or in review, and targets a person should place.
        if let Some(c) = counts.iter().find(|c| c.article == row.id) {
            article["open_count"] = c.open.into();
            article["needs_attention_count"] = c.needs_attention.into();
        }
        articles.push(article);
    }
    Ok(HttpResponse::Ok().json(json!({ "articles": articles })))
}

async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    ArticlePath(id): ArticlePath,
) -> Result<HttpResponse, ApiError> {
    let row = state.desk.article(&id)?;
    let mut body = view(&state, &row);
    if let Some(latest) = row.latest() {
        body["text"] = state.desk.article_text(&id, latest.number)?.into();
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn version(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    _caller: Caller,
    ArticlePath(id): ArticlePath,
) -> Result<HttpResponse, ApiError> {
    let (_, raw_version) = path.into_inner();
    let row = state.desk.article(&id)?;
    let number: u32 = raw_version
        .parse()
        .map_err(|_| ApiError::NotFound(format!("article {id} has no version {raw_version:?}")))?;
    let info = row
        .versions
        .iter()
        .find(|v| v.number == number)
        .ok_or_else(|| ApiError::NotFound(format!("article {id} has no version {number}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "article": id,
        "number": info.number,
        "sha256": info.sha256,
        "length": info.length,
        "ingested": timestamp(info.ingested),
        "text": state.desk.article_text(&id, number)?,
    })))
}

async fn document(
    state: web::Data<AppState>,
    _caller: Caller,
    ArticlePath(id): ArticlePath,
) -> Result<HttpResponse, ApiError> {
    let row = state.desk.article(&id)?;
    let doc = state.desk.document(&id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "article": id,
        "document_id": row.document_id,
        "document_url": format!("automerge:{}", row.document_id),
        "heads": doc.heads,
    })))
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<String>,
}

/// Where every annotation on the article is in one version (the latest by default), and the
/// ones a person should re-attach.
async fn anchors(
    state: web::Data<AppState>,
    query: web::Query<VersionQuery>,
    _caller: Caller,
    ArticlePath(id): ArticlePath,
) -> Result<HttpResponse, ApiError> {
    let version = query
        .version
        .as_deref()
        .map(|raw| {
            raw.parse::<u32>().map_err(|_| {
                ApiError::BadRequest(format!("`version` must be a version number, not {raw:?}"))
            })
        })
        .transpose()?;
    let (version, placements) = state.desk.placements(&id, version)?;
    let mut counts = serde_json::Map::new();
    for p in &placements {
        let n = counts.get(&p.status).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(p.status.clone(), (n + 1).into());
    }
    let attention: Vec<&crate::desk::Placement> =
        placements.iter().filter(|p| p.needs_attention()).collect();
    Ok(HttpResponse::Ok().json(json!({
        "article": id,
        "version": version,
        "counts": counts,
        "needs_attention": attention,
        "placements": placements,
    })))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewArticle {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    outlet: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    published: Option<String>,
    text: String,
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewVersion {
    text: String,
}

fn published(state: &AppState, done: Published) -> HttpResponse {
    let mut response = if done.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let mut body = view(state, &done.article);
    if let Some(anchoring) = &done.anchoring {
        body["anchoring"] = json!(anchoring);
    }
    if let Some(style) = &done.style {
        body["style"] = json!(style);
    }
    response
        .insert_header((
            header::LOCATION,
            format!("{}/api/articles/{}", state.renderer.base(), done.article.id),
        ))
        .json(body)
}

/// The answer to a retried ingest or publish that wrote: 201 and the article as it is now
/// (without the anchoring and house-style reports, which were the original's news).
fn replay(state: &AppState, id: &ArticleId) -> Result<HttpResponse, ApiError> {
    let done = Published {
        article: state.desk.article(id)?,
        created: true,
        anchoring: None,
        style: None,
    };
    Ok(idempotency::replayed(published(state, done)))
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let desk = match idempotency::attempt(&state, &req, &caller, &body).await? {
        Attempt::Run(desk) => desk,
        Attempt::Replay(done) => return replay(&state, &idempotency::article_of(&done)?),
    };
    let request: NewArticle = parse_shape(&body)?;
    let id = ArticleId::parse(&request.id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if let Some(url) = &request.url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ApiError::BadRequest(format!(
                "`url` {url:?} must be an absolute http(s) URL"
            )));
        }
    }
    let done = desk
        .create_article(
            &caller.0.name,
            ArticleDraft {
                id,
                title: request.title,
                outlet: request.outlet,
                url: request.url,
                published: request.published,
                text: request.text,
            },
        )
        .await?;
    Ok(published(&state, done))
}

#[tracing::instrument(skip_all, fields(article = %id, user = %caller.0.name))]
async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    ArticlePath(id): ArticlePath,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The article must exist before its body is read: its 404 comes first.
    state.desk.article(&id)?;
    let body = read_json_body(&req, payload, state.limits.max_body_bytes).await?;
    let desk = match idempotency::attempt(&state, &req, &caller, &body).await? {
        Attempt::Run(desk) => desk,
        Attempt::Replay(_) => return replay(&state, &id),
    };
    let request: NewVersion = parse_shape(&body)?;
    let done = desk
        .publish_version(&caller.0.name, &id, &request.text)
        .await?;
    Ok(published(&state, done))
}
