//! Annotation containers: `/annotations/` (everything) and `/articles/{id}/annotations/` (one
//! article), as W3C Web Annotation Protocol LDP Basic Containers with paging and `Prefer`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::clock::timestamp;
use crate::config::Limits;
use crate::domain::{ArticleId, Kind, Status, UserName};
use crate::history::AsOf;
use crate::store::{AnnotationRow, Filter};
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

/// The filter a listing asks for: its article, and the `status`, `kind` and `assignee` the
/// query names, each parsed or refused with the parser's message.
fn filter_of(query: &ListQuery, article: Option<ArticleId>) -> Result<Filter, ApiError> {
    Ok(Filter {
        article,
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
    })
}

/// How the rows of a listing are cut into pages and shown, read from the query and `Prefer`.
struct Layout {
    /// Rows a page holds: `limit`, or the configured default.
    page_size: usize,
    /// The page asked for with `?page=N`; `None` asks for the container itself.
    page: Option<usize>,
    /// Whether items are shown as IRIs rather than full descriptions.
    iris: bool,
    prefs: Preferences,
}

/// Decides the page size, the page and the item form. `limit` must lie within the configured
/// largest page; the `iris` parameter wins over `Prefer`, which wins over descriptions.
fn layout_of(req: &HttpRequest, query: &ListQuery, limits: Limits) -> Result<Layout, ApiError> {
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
    let prefs = preferences(req);
    let iris = match query.iris.as_deref() {
        None => prefs.iris.unwrap_or(false),
        Some("1" | "true") => true,
        Some("0" | "false") => false,
        Some(other) => return Err(bad(format!("`iris` must be 0 or 1, not {other:?}"))),
    };
    Ok(Layout {
        page_size,
        page,
        iris,
        prefs,
    })
}

/// The rows the filter selects, now or as of the query's `at`; with `at`, also the sequence
/// number the time resolved to, so the view's IRIs can pin it.
async fn rows_of(
    state: &AppState,
    filter: &Filter,
    at: Option<&str>,
) -> Result<(Arc<Vec<AnnotationRow>>, Option<u64>), ApiError> {
    let Some(raw) = at else {
        return Ok((state.desk.list_shared(filter)?, None));
    };
    let at = AsOf::parse(raw).map_err(ApiError::BadRequest)?;
    let (desk, filter) = (state.desk.clone(), filter.clone());
    let (seq, rows) = web::block(move || desk.annotations_at(&filter, at))
        .await
        .map_err(ApiError::internal)??;
    Ok((Arc::new(rows), Some(seq)))
}

/// The IRIs of one view of a container: the container path, and the query parameters that
/// shape the view, repeated in every IRI of it so that paging keeps the same view.
struct ViewIris {
    container_path: String,
    shape: Vec<String>,
}

impl ViewIris {
    /// Collects the shaping parameters: the item form, an explicit `limit`, the filters, and
    /// the sequence number a time resolved to (so a time keeps meaning the same state).
    fn new(container_path: String, query: &ListQuery, layout: &Layout, as_of: Option<u64>) -> Self {
        let mut shape: Vec<String> = Vec::new();
        if layout.iris {
            shape.push("iris=1".into());
        }
        if query.limit.is_some() {
            shape.push(format!("limit={}", layout.page_size));
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
            shape.push(format!("at={seq}"));
        }
        ViewIris {
            container_path,
            shape,
        }
    }

    /// The container as requested, with its shaping query if any.
    fn container(&self) -> String {
        if self.shape.is_empty() {
            self.container_path.clone()
        } else {
            format!("{}?{}", self.container_path, self.shape.join("&"))
        }
    }

    /// Page `n` of this view.
    fn page(&self, n: usize) -> String {
        let mut parts = vec![format!("page={n}")];
        parts.extend(self.shape.iter().cloned());
        format!("{}?{}", self.container_path, parts.join("&"))
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
    let filter = filter_of(&query, article.clone())?;
    let layout = layout_of(&req, &query, state.limits)?;
    let (rows, as_of) = rows_of(&state, &filter, query.at.as_deref()).await?;

    let total = rows.len();
    let last_page = total.saturating_sub(1) / layout.page_size;
    let number = layout.page.unwrap_or(0);
    if layout.page.is_some() && number > last_page {
        return Err(ApiError::NotFound(format!(
            "page {number} does not exist; this collection has pages 0 to {last_page}"
        )));
    }
    let (container_path, label) = container_of(state.renderer.base(), article.as_ref());
    let iris = ViewIris::new(container_path, &query, &layout, as_of);
    let container = iris.container();
    let page_iri = |n: usize| iris.page(n);
    let start = number * layout.page_size;
    let view = Page {
        container: &container,
        label: &label,
        total,
        page: number,
        last_page,
        page_iri: &page_iri,
        items: &rows[start.min(total)..(start + layout.page_size).min(total)],
        start_index: start,
        iris: layout.iris,
        modified: rows
            .iter()
            .map(|r| r.annotation.modified)
            .max()
            .map(timestamp),
    };
    let (body, location) = match layout.page {
        Some(_) => (state.renderer.page(&view), page_iri(number)),
        None => (
            state.renderer.collection(&view, layout.prefs.minimal),
            container.clone(),
        ),
    };
    Ok(listing_response(body.to_string(), location, &layout))
}

/// The container's path and label: one article's annotations, or everything.
fn container_of(base: &str, article: Option<&ArticleId>) -> (String, String) {
    match article {
        Some(id) => (
            format!("{base}/articles/{id}/annotations/"),
            format!("Annotations on {id}"),
        ),
        None => (format!("{base}/annotations/"), "All annotations".to_owned()),
    }
}

/// The `200` of a listing: JSON-LD with an ETag over its bytes; the container itself (not a
/// page) also carries the LDP headers and says when it honoured a `Prefer`.
fn listing_response(body: String, location: String, layout: &Layout) -> HttpResponse {
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
    if layout.page.is_none() {
        container_headers(&mut response);
        if layout.prefs.minimal || layout.prefs.iris.is_some() {
            response.insert_header(("Preference-Applied", "return=representation"));
        }
    }
    response.body(body)
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
