//! Annotation containers: `/annotations/` (everything) and `/articles/{id}/annotations/` (one
//! article), as W3C Web Annotation Protocol LDP Basic Containers with paging and `Prefer`.

use actix_web::http::header;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::clock::timestamp;
use crate::domain::{ArticleId, Kind, Status, UserName};
use crate::history::AsOf;
use crate::store::Filter;
use crate::w3c::Page;

use super::annotations::{check_assignee, replay_annotation, written};
use super::extract::Writer;
use super::idempotency::{self, Attempt};
use super::request::{parse_json, read_body, require_acceptable, require_json, JSONLD};
use super::{methods, ApiError, AppState, Caller};

const ALLOW: &str = "GET, HEAD, OPTIONS, POST";
/// A page of a container (`?page=N`) is read-only.
const PAGE_ALLOW: &str = "GET, HEAD, OPTIONS";
const PREFER_MINIMAL: &str = "http://www.w3.org/ns/ldp#PreferMinimalContainer";
const PREFER_IRIS: &str = "http://www.w3.org/ns/oa#PreferContainedIRIs";
const PREFER_DESCRIPTIONS: &str = "http://www.w3.org/ns/oa#PreferContainedDescriptions";

pub fn routes(cfg: &mut web::ServiceConfig) {
    for path in ["/annotations/", "/articles/{article}/annotations/"] {
        cfg.service(
            methods::resource(path, ALLOW)
                .route(
                    web::route()
                        .guard(guard::Any(guard::Get()).or(guard::Head()))
                        .to(list),
                )
                .route(web::post().to(create))
                .route(web::route().guard(guard::Options()).to(options)),
        );
    }
}

/// Query parameters of a container or page request.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    page: Option<String>,
    iris: Option<String>,
    limit: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    assignee: Option<String>,
    /// Time travel: a sequence number or an RFC 3339 time.
    at: Option<String>,
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

fn article_of(req: &HttpRequest, state: &AppState) -> Result<Option<ArticleId>, ApiError> {
    let Some(raw) = req.match_info().get("article") else {
        return Ok(None);
    };
    let id = ArticleId::parse(raw)
        .map_err(|_| ApiError::NotFound(format!("article {raw:?} does not exist")))?;
    state.desk.article(&id)?;
    Ok(Some(id))
}

struct Preferences {
    minimal: bool,
    iris: Option<bool>,
}

/// Reads `Prefer: return=representation; include="…"`.
fn preferences(req: &HttpRequest) -> Preferences {
    let prefer: String = req
        .headers()
        .get_all("Prefer")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(" ");
    let iris = if prefer.contains(PREFER_IRIS) {
        Some(true)
    } else if prefer.contains(PREFER_DESCRIPTIONS) {
        Some(false)
    } else {
        None
    };
    Preferences {
        minimal: prefer.contains(PREFER_MINIMAL),
        iris,
    }
}

#[tracing::instrument(skip_all, fields(path = %req.path()))]
async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    require_acceptable(&req)?;
    let article = article_of(&req, &state)?;
    let filter = Filter {
        article: article.clone(),
        status: query
            .status
            .as_deref()
            .map(Status::parse)
            .transpose()
            .map_err(|e| bad(e.to_string()))?,
        kind: query
            .kind
            .as_deref()
            .map(Kind::parse)
            .transpose()
            .map_err(|e| bad(e.to_string()))?,
        assignee: query
            .assignee
            .as_deref()
            .map(UserName::parse)
            .transpose()
            .map_err(|e| bad(e.to_string()))?,
    };
    let limits = state.limits;
    let page_size = match &query.limit {
        None => limits.page_size,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=limits.max_page_size).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "`limit` must be a whole number from 1 to {}",
                    limits.max_page_size
                ))
            })?,
    };
    let page = query
        .page
        .as_deref()
        .map(|raw| {
            raw.parse::<usize>()
                .map_err(|_| bad(format!("`page` must be a page number from 0, not {raw:?}")))
        })
        .transpose()?;
    let prefs = preferences(&req);
    let iris = match query.iris.as_deref() {
        None => prefs.iris.unwrap_or(false),
        Some("1" | "true") => true,
        Some("0" | "false") => false,
        Some(other) => return Err(bad(format!("`iris` must be 0 or 1, not {other:?}"))),
    };

    let (rows, as_of) = match &query.at {
        None => (state.desk.list_shared(&filter)?, None),
        Some(raw) => {
            let at = AsOf::parse(raw).map_err(ApiError::BadRequest)?;
            let (desk, filter) = (state.desk.clone(), filter.clone());
            let (seq, rows) = web::block(move || desk.annotations_at(&filter, at))
                .await
                .map_err(ApiError::internal)??;
            (std::sync::Arc::new(rows), Some(seq))
        }
    };
    let total = rows.len();
    let last_page = total.saturating_sub(1) / page_size;
    let base = state.renderer.base();
    let container_path = match &article {
        Some(id) => format!("{base}/articles/{id}/annotations/"),
        None => format!("{base}/annotations/"),
    };
    // The query that shapes this view, repeated in every IRI of it.
    let mut shape: Vec<String> = Vec::new();
    if iris {
        shape.push("iris=1".into());
    }
    if query.limit.is_some() {
        shape.push(format!("limit={page_size}"));
    }
    for (key, value) in [
        ("status", &query.status),
        ("kind", &query.kind),
        ("assignee", &query.assignee),
    ] {
        if let Some(value) = value {
            shape.push(format!("{key}={value}"));
        }
    }
    if let Some(seq) = as_of {
        // Pin pages to the resolved sequence number, so a time keeps meaning the same state.
        shape.push(format!("at={seq}"));
    }
    let container = if shape.is_empty() {
        container_path.clone()
    } else {
        format!("{container_path}?{}", shape.join("&"))
    };
    let page_iri = |n: usize| {
        let mut parts = vec![format!("page={n}")];
        parts.extend(shape.iter().cloned());
        format!("{container_path}?{}", parts.join("&"))
    };
    let number = page.unwrap_or(0);
    if page.is_some() && number > last_page {
        return Err(ApiError::NotFound(format!(
            "page {number} does not exist; this collection has pages 0 to {last_page}"
        )));
    }
    let start = number * page_size;
    let items = &rows[start.min(total)..(start + page_size).min(total)];
    let modified = rows
        .iter()
        .map(|r| r.annotation.modified)
        .max()
        .map(timestamp);
    let label = match &article {
        Some(id) => format!("Annotations on {id}"),
        None => "All annotations".to_owned(),
    };
    let view = Page {
        container: &container,
        label: &label,
        total,
        page: number,
        last_page,
        page_iri: &page_iri,
        items,
        start_index: start,
        iris,
        modified,
    };
    let (body, location) = match page {
        Some(_) => (state.renderer.page(&view), page_iri(number)),
        None => (
            state.renderer.collection(&view, prefs.minimal),
            container.clone(),
        ),
    };
    let body = body.to_string();
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, JSONLD))
        .insert_header((header::ETAG, etag))
        .insert_header((header::VARY, "Accept, Prefer"))
        .insert_header((header::CONTENT_LOCATION, location));
    if page.is_none() {
        container_headers(&mut response);
        if prefs.minimal || prefs.iris.is_some() {
            response.insert_header(("Preference-Applied", "return=representation"));
        }
    }
    Ok(response.body(body))
}

fn container_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::ALLOW, ALLOW))
        .insert_header(("Accept-Post", JSONLD))
        .append_header((
            header::LINK,
            "<http://www.w3.org/ns/ldp#BasicContainer>; rel=\"type\", <http://www.w3.org/TR/annotation-protocol/>; rel=\"http://www.w3.org/ns/ldp#constrainedBy\"",
        ));
}

async fn options() -> HttpResponse {
    let mut response = HttpResponse::Ok();
    container_headers(&mut response);
    response
        .insert_header(("Access-Control-Allow-Methods", ALLOW))
        .insert_header((
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Prefer, If-Match, Slug, Accept, Idempotency-Key",
        ))
        .finish()
}

#[tracing::instrument(skip_all, fields(path = %req.path(), user = %caller.0.name))]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if req.query_string().contains("page=") {
        return Err(methods::not_allowed(
            PAGE_ALLOW,
            "a page cannot take new annotations; POST to the container itself",
        ));
    }
    let article = article_of(&req, &state)?;
    require_json(&req, "the annotation")?;
    let body = read_body(&req, payload, state.limits.max_body_bytes).await?;
    let desk = match idempotency::attempt(&state, &req, &caller, &body).await? {
        Attempt::Run(desk) => desk,
        Attempt::Replay(done) => {
            let id = idempotency::annotation_of(&done)?;
            return replay_annotation(&state, &id, HttpResponse::Created(), Some(&id));
        }
    };
    let json = parse_json(&body)?;
    let draft = crate::w3c::parse_annotation(&json, state.renderer.base())?;
    if let Some(article) = &article {
        if draft.targets[0].article != *article {
            return Err(ApiError::BadRequest(format!(
                "this container holds annotations on {article}, and the first target is on {}; POST to /annotations/ or to that article's container",
                draft.targets[0].article
            )));
        }
    }
    if let Some(assignee) = &draft.assignee {
        check_assignee(&state, assignee.as_ref(), None)?;
    }
    let slug = req
        .headers()
        .get("Slug")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let done = desk.create(&caller.0.name, draft, slug.as_deref()).await?;
    let location = state.renderer.annotation_iri(done.annotation.id.as_str());
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    Ok(written(&state, &done, response))
}
