//! One annotation: `/annotations/{id}` (W3C protocol) and the workflow shortcuts under
//! `/api/annotations/{id}/…`.

use actix_web::http::header;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::documents::Written;
use crate::domain::{AnnotationId, ArticleId, ReplyId, Status, TextPosition, UserName};
use crate::history::AsOf;
use crate::store::AnnotationRow;

use super::extract::{AnnotationPath, JsonBody, Writer};
use super::idempotency::{self, Attempt};
use super::request::{
    etag, if_match, parse_json, parse_shape, read_body, require_acceptable, require_json, JSONLD,
};
use super::{methods, ApiError, AppState, Caller};

const ALLOW: &str = "GET, HEAD, OPTIONS, PUT, DELETE";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        methods::resource("/annotations/{id}", ALLOW)
            .route(
                web::route()
                    .guard(guard::Any(guard::Get()).or(guard::Head()))
                    .to(get),
            )
            .route(web::put().to(put))
            .route(web::delete().to(delete))
            .route(web::route().guard(guard::Options()).to(options)),
    )
    .service(
        methods::resource("/api/annotations/{id}/history", "GET").route(web::get().to(history)),
    )
    .service(
        methods::resource("/api/annotations/{id}/replies", "POST").route(web::post().to(reply)),
    )
    .service(
        methods::resource("/api/annotations/{id}/status", "POST").route(web::post().to(set_status)),
    )
    .service(
        methods::resource("/api/annotations/{id}/assignee", "POST").route(web::post().to(assign)),
    )
    .service(
        methods::resource("/api/annotations/{id}/anchor", "POST").route(web::post().to(reattach)),
    );
}

fn parse_id(raw: &str) -> Result<AnnotationId, ApiError> {
    AnnotationId::parse(raw)
        .map_err(|_| ApiError::NotFound(format!("annotation {raw:?} does not exist")))
}

fn annotation_headers(response: &mut actix_web::HttpResponseBuilder, version: u64) {
    response
        .insert_header((header::CONTENT_TYPE, JSONLD))
        .insert_header((header::ETAG, etag(version)))
        .insert_header((header::ALLOW, ALLOW))
        .insert_header((header::VARY, "Accept"))
        .append_header((
            header::LINK,
            "<http://www.w3.org/ns/ldp#Resource>; rel=\"type\", <http://www.w3.org/ns/oa#Annotation>; rel=\"type\"",
        ));
}

fn represent(state: &AppState, row: &AnnotationRow) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    annotation_headers(&mut response, row.version);
    response.body(state.renderer.annotation(&row.annotation).to_string())
}

/// The response to a successful write: the new state, with its ETag.
pub fn written(
    state: &AppState,
    written: &Written,
    mut response: actix_web::HttpResponseBuilder,
) -> HttpResponse {
    annotation_headers(&mut response, written.version);
    response.body(state.renderer.annotation(&written.annotation).to_string())
}

/// The answer to a retried POST about annotation `id`: `response`'s status again, with
/// `Location` when the original had one (`location`), and the annotation as it is now.
pub fn replay_annotation(
    state: &AppState,
    id: &AnnotationId,
    mut response: actix_web::HttpResponseBuilder,
    location: Option<&AnnotationId>,
) -> Result<HttpResponse, ApiError> {
    let row = state.desk.row(id)?;
    if let Some(id) = location {
        response.insert_header((header::LOCATION, state.renderer.annotation_iri(id.as_str())));
    }
    annotation_headers(&mut response, row.version);
    let body = state.renderer.annotation(&row.annotation).to_string();
    Ok(idempotency::replayed(response.body(body)))
}

/// The idempotency key's verdict on a write to annotation `id`, which comes before the
/// annotation's state (so a retry is answered even if the annotation changed since): the desk to
/// write with, or the first answer given again (`response`, with `location`).
async fn keyed(
    state: &AppState,
    req: &HttpRequest,
    caller: &Writer,
    body: &JsonBody,
    id: &AnnotationId,
    response: actix_web::HttpResponseBuilder,
    location: Option<&AnnotationId>,
) -> Result<Result<crate::desk::Desk, HttpResponse>, ApiError> {
    match idempotency::attempt(state, req, caller, body).await? {
        Attempt::Run(desk) => Ok(Ok(desk)),
        Attempt::Replay(_) => replay_annotation(state, id, response, location).map(Err),
    }
}

/// Refuses an assignee who is not a user of the desk (422, naming them), so work is never
/// assigned to nobody. `current` is the annotation's assignee now: keeping it is always
/// allowed, so an annotation assigned to someone who has since left can still be edited.
pub fn check_assignee(
    state: &AppState,
    assignee: Option<&UserName>,
    current: Option<&UserName>,
) -> Result<(), ApiError> {
    let Some(name) = assignee else {
        return Ok(());
    };
    if Some(name) == current || state.users.is_user(name) {
        return Ok(());
    }
    let people: Vec<String> = state
        .users
        .people()
        .into_iter()
        .map(|user| user.name.to_string())
        .collect();
    Err(ApiError::Unprocessable(format!(
        "`assignee`: {:?} is not a user of this desk; assign the annotation to one of {}",
        name.as_str(),
        people.join(", ")
    )))
}

#[derive(Deserialize)]
struct AtQuery {
    at: Option<String>,
}

#[tracing::instrument(skip_all, fields(annotation = %path))]
async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<AtQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    require_acceptable(&req)?;
    let id = parse_id(&path)?;
    let Some(at) = &query.at else {
        let row = state.desk.live_row(&id)?;
        return Ok(represent(&state, &row));
    };
    // Time travel: the annotation as it was after a point in the log.
    let at = AsOf::parse(at).map_err(ApiError::BadRequest)?;
    let desk = state.desk.clone();
    let (seq, row) = web::block(move || desk.annotation_at(&id, at))
        .await
        .map_err(ApiError::internal)??;
    let row = row.ok_or_else(|| {
        ApiError::NotFound(format!("the annotation did not exist yet at event {seq}"))
    })?;
    if row.annotation.deleted {
        return Err(ApiError::Gone(format!(
            "the annotation had been deleted by event {seq}"
        )));
    }
    let mut response = represent(&state, &row);
    response.headers_mut().insert(
        header::HeaderName::from_static("glossa-as-of"),
        header::HeaderValue::from(seq),
    );
    Ok(response)
}

/// Who changed what, and when.
#[tracing::instrument(skip_all, fields(annotation = %id))]
async fn history(
    state: web::Data<AppState>,
    _caller: Caller,
    AnnotationPath(id): AnnotationPath,
) -> Result<HttpResponse, ApiError> {
    state.desk.row(&id)?;
    let (desk, story_id) = (state.desk.clone(), id.clone());
    let entries = web::block(move || desk.story(&story_id))
        .await
        .map_err(ApiError::internal)??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": id,
        "annotation": state.renderer.annotation_iri(id.as_str()),
        "history": entries,
    })))
}

async fn options(path: web::Path<String>) -> HttpResponse {
    let _ = path;
    HttpResponse::Ok()
        .insert_header((header::ALLOW, ALLOW))
        .insert_header(("Access-Control-Allow-Methods", ALLOW))
        .insert_header((
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Prefer, If-Match, Slug, Accept, Idempotency-Key",
        ))
        .finish()
}

#[tracing::instrument(skip_all, fields(annotation = %id, user = %caller.0.name))]
async fn put(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    AnnotationPath(id): AnnotationPath,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let row = state.desk.live_row(&id)?;
    let precondition = if_match(&req, row.version)?;
    require_json(&req, "the annotation")?;
    let body = read_body(&req, payload, state.limits.max_body_bytes).await?;
    let json = parse_json(&body)?;
    let draft = crate::w3c::parse_annotation(&json, state.renderer.base())?;
    if let Some(assignee) = &draft.assignee {
        check_assignee(&state, assignee.as_ref(), row.annotation.assignee.as_ref())?;
    }
    let done = state
        .desk
        .replace(
            &caller.0.name,
            &id,
            draft,
            precondition.expected(row.version),
        )
        .await?;
    Ok(written(&state, &done, HttpResponse::Ok()))
}

#[tracing::instrument(skip_all, fields(annotation = %id, user = %caller.0.name))]
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    AnnotationPath(id): AnnotationPath,
) -> Result<HttpResponse, ApiError> {
    let row = state.desk.live_row(&id)?;
    let precondition = if_match(&req, row.version)?;
    state
        .desk
        .delete(&caller.0.name, &id, precondition.expected(row.version))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The checks of a workflow shortcut that runs: a live annotation, and an optional `If-Match`
/// (checked when sent) turned into the expected version.
fn shortcut(
    state: &AppState,
    req: &HttpRequest,
    id: &AnnotationId,
) -> Result<(AnnotationRow, Option<u64>), ApiError> {
    let row = state.desk.live_row(id)?;
    let expected = if req.headers().contains_key(header::IF_MATCH) {
        if_match(req, row.version)?.expected(row.version)
    } else {
        None
    };
    Ok((row, expected))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplyRequest {
    text: String,
    #[serde(default)]
    parent: Option<String>,
}

#[tracing::instrument(skip_all, fields(annotation = %id, user = %caller.0.name))]
async fn reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    AnnotationPath(id): AnnotationPath,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let created = HttpResponse::Created();
    let desk = match keyed(&state, &req, &caller, &body, &id, created, Some(&id)).await? {
        Ok(desk) => desk,
        Err(replayed) => return Ok(replayed),
    };
    shortcut(&state, &req, &id)?;
    let request: ReplyRequest = parse_shape(&body)?;
    let parent = request
        .parent
        .as_deref()
        .map(|p| {
            // Accept the reply's IRI fragment as well as its bare id.
            let bare = p.rsplit("#reply-").next().unwrap_or(p);
            ReplyId::parse(bare).map_err(|e| ApiError::BadRequest(format!("`parent`: {e}")))
        })
        .transpose()?;
    let done = desk
        .reply(&caller.0.name, &id, request.text, parent)
        .await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, state.renderer.annotation_iri(id.as_str())));
    Ok(written(&state, &done, response))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    #[schema(schema_with = super::openapi::status_schema)]
    status: String,
}

#[tracing::instrument(skip_all, fields(annotation = %id, user = %caller.0.name))]
async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    AnnotationPath(id): AnnotationPath,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let desk = match keyed(&state, &req, &caller, &body, &id, HttpResponse::Ok(), None).await? {
        Ok(desk) => desk,
        Err(replayed) => return Ok(replayed),
    };
    let (_, expected) = shortcut(&state, &req, &id)?;
    let request: StatusRequest = parse_shape(&body)?;
    let to = Status::parse(&request.status).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let done = desk.set_status(&caller.0.name, &id, to, expected).await?;
    Ok(written(&state, &done, HttpResponse::Ok()))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssignRequest {
    assignee: Option<String>,
}

#[tracing::instrument(skip_all, fields(annotation = %id, user = %caller.0.name))]
async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    AnnotationPath(id): AnnotationPath,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let desk = match keyed(&state, &req, &caller, &body, &id, HttpResponse::Ok(), None).await? {
        Ok(desk) => desk,
        Err(replayed) => return Ok(replayed),
    };
    let (row, expected) = shortcut(&state, &req, &id)?;
    let request: AssignRequest = parse_shape(&body)?;
    let assignee = request
        .assignee
        .map(|name| UserName::parse(&name).map_err(|e| ApiError::BadRequest(e.to_string())))
        .transpose()?;
    check_assignee(&state, assignee.as_ref(), row.annotation.assignee.as_ref())?;
    let done = desk.assign(&caller.0.name, &id, assignee, expected).await?;
    Ok(written(&state, &done, HttpResponse::Ok()))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReattachRequest {
    /// The article of the target (the annotation's first article by default).
    #[serde(default)]
    article: Option<String>,
    /// Which target (the first on the article by default).
    #[serde(default)]
    target: Option<usize>,
    /// The article version (the latest by default).
    #[serde(default)]
    version: Option<u32>,
    /// The passage, in code points of that version's text, end exclusive.
    start: u64,
    end: u64,
}

/// A person places an orphaned or ambiguous target (or corrects the server's placement).
#[tracing::instrument(skip_all, fields(annotation = %id, user = %caller.0.name))]
async fn reattach(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    AnnotationPath(id): AnnotationPath,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    // The idempotency key's verdict comes before the annotation's state, so a retry is
    // answered even if the annotation changed since.
    let attempt = idempotency::attempt(&state, &req, &caller, &body).await?;
    let request: ReattachRequest = parse_shape(&body)?;
    let article = request
        .article
        .as_deref()
        .map(|raw| ArticleId::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string())))
        .transpose()?;
    let desk = match attempt {
        Attempt::Run(desk) => desk,
        Attempt::Replay(_) => {
            let placement = state
                .desk
                .placement(&id, article, request.target, request.version)?;
            return Ok(idempotency::replayed(HttpResponse::Ok().json(placement)));
        }
    };
    let placement = desk
        .reattach(
            &caller.0.name,
            &id,
            article,
            request.target,
            request.version,
            TextPosition {
                start: request.start,
                end: request.end,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(placement))
}
