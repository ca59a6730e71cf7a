//! Claims: create, read, link and unlink annotations. A claim's appearances are the passages
//! of its annotations, across articles.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::{AnnotationId, ClaimId, Claimant, ClaimantType};
use crate::store::ClaimRow;

use super::extract::{ClaimPath, JsonBody, Writer};
use super::idempotency::{self, Attempt};
use super::request::parse_shape;
use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        methods::resource("/api/claims", "GET, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    for (path, allow, route) in [
        ("/api/claims/{id}", "GET", web::get().to(get)),
        ("/api/claims/{id}/annotations", "POST", web::post().to(link)),
        (
            "/api/claims/{id}/annotations/{annotation}",
            "DELETE",
            web::delete().to(unlink),
        ),
    ] {
        cfg.service(methods::resource(path, allow).route(route));
    }
}

fn annotation_id(raw: &str) -> Result<AnnotationId, ApiError> {
    let bare = raw.rsplit('/').next().unwrap_or(raw);
    AnnotationId::parse(bare).map_err(|e| ApiError::BadRequest(format!("`annotation`: {e}")))
}

/// Where a claim appears: each linked annotation's passages.
pub fn appearances(state: &AppState, claim: &ClaimRow) -> Vec<Value> {
    let base = state.renderer.base();
    let mut out = Vec::new();
    for id in &claim.annotations {
        let Ok(row) = state.desk.row(id) else {
            continue;
        };
        if row.annotation.deleted {
            continue;
        }
        for target in &row.annotation.targets {
            let article = state.desk.article(&target.article).ok();
            out.push(json!({
                "annotation": state.renderer.annotation_iri(id.as_str()),
                "kind": row.annotation.kind.as_str(),
                "article": target.article,
                "title": article.as_ref().and_then(|a| a.title.clone()),
                "url": article
                    .as_ref()
                    .and_then(|a| a.url.clone())
                    .unwrap_or_else(|| format!("{base}/articles/{}", target.article)),
                "version": target.version,
                "quote": target.quote.exact,
            }));
        }
    }
    out
}

fn view(state: &AppState, claim: &ClaimRow) -> Value {
    json!({
        "id": claim.id,
        "url": format!("{}/api/claims/{}", state.renderer.base(), claim.id),
        "text": claim.text,
        "claimant": claim.claimant,
        "claimantUrl": claim.claimant_url,
        "claimantType": claim.claimant_type.map(|t| t.as_str()),
        "claimDate": claim.claim_date,
        "creator": claim.creator,
        "created": crate::clock::timestamp(claim.created),
        "annotations": claim
            .annotations
            .iter()
            .map(|a| state.renderer.annotation_iri(a.as_str()))
            .collect::<Vec<_>>(),
        "appearances": appearances(state, claim),
    })
}

async fn list(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let claims: Vec<Value> = state
        .desk
        .claims()?
        .iter()
        .map(|c| view(&state, c))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "claims": claims })))
}

async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    ClaimPath(id): ClaimPath,
) -> Result<HttpResponse, ApiError> {
    let claim = state.desk.claim(&id)?;
    Ok(HttpResponse::Ok().json(view(&state, &claim)))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewClaim {
    /// A slug; made from the text when absent.
    #[serde(default)]
    id: Option<String>,
    text: String,
    #[serde(default)]
    claimant: Option<String>,
    /// The claimant's page (http(s)), and whether a `Person` or an `Organization`.
    #[serde(default, rename = "claimantUrl")]
    claimant_url: Option<String>,
    #[serde(default, rename = "claimantType")]
    claimant_type: Option<String>,
    /// When the claim was made: `YYYY-MM-DD` or an RFC 3339 date-time.
    #[serde(default, rename = "claimDate")]
    claim_date: Option<String>,
    #[serde(default)]
    annotations: Vec<String>,
}

fn slug_from(text: &str) -> Option<ClaimId> {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 48 {
            break;
        }
    }
    ClaimId::parse(slug.trim_end_matches('-')).ok()
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
        Attempt::Replay(done) => {
            let claim = state.desk.claim(&idempotency::claim_of(&done)?)?;
            return Ok(idempotency::replayed(created(&state, &claim)));
        }
    };
    let request: NewClaim = parse_shape(&body)?;
    if request.text.trim().is_empty() {
        return Err(ApiError::Unprocessable(
            "`text`: say what the claim is, in a sentence".into(),
        ));
    }
    let id = match &request.id {
        Some(raw) => ClaimId::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))?,
        None => slug_from(&request.text).ok_or_else(|| {
            ApiError::BadRequest("give the claim an `id` (a slug) or a `text` with letters".into())
        })?,
    };
    let annotations = request
        .annotations
        .iter()
        .map(|a| annotation_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let kind = request
        .claimant_type
        .as_deref()
        .map(ClaimantType::parse)
        .transpose()
        .map_err(|_| {
            ApiError::BadRequest("`claimantType` must be \"Person\" or \"Organization\"".into())
        })?;
    let claimant = match request.claimant {
        Some(name) => Some(Claimant {
            name,
            url: request.claimant_url,
            kind,
        }),
        None if request.claimant_url.is_some() || kind.is_some() => {
            return Err(ApiError::Unprocessable(
                "`claimant`: name who made the claim before giving its URL or type".into(),
            ))
        }
        None => None,
    };
    let claim = desk
        .create_claim(
            &caller.0.name,
            id,
            &request.text,
            claimant,
            request.claim_date,
            &annotations,
        )
        .await?;
    Ok(created(&state, &claim))
}

/// 201 with the claim and its `Location`.
fn created(state: &AppState, claim: &ClaimRow) -> HttpResponse {
    let body = view(state, claim);
    HttpResponse::Created()
        .insert_header((header::LOCATION, body["url"].as_str().unwrap_or_default()))
        .json(body)
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkRequest {
    annotation: String,
}

#[tracing::instrument(skip_all, fields(claim = %id, user = %caller.0.name))]
async fn link(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Writer,
    ClaimPath(id): ClaimPath,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let desk = match idempotency::attempt(&state, &req, &caller, &body).await? {
        Attempt::Run(desk) => desk,
        Attempt::Replay(_) => {
            let claim = state.desk.claim(&id)?;
            return Ok(idempotency::replayed(
                HttpResponse::Ok().json(view(&state, &claim)),
            ));
        }
    };
    let request: LinkRequest = parse_shape(&body)?;
    let annotation = annotation_id(&request.annotation)?;
    let claim = desk.link_claim(&caller.0.name, &id, &annotation).await?;
    Ok(HttpResponse::Ok().json(view(&state, &claim)))
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn unlink(
    state: web::Data<AppState>,
    caller: Writer,
    ClaimPath(id): ClaimPath,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, raw_annotation) = path.into_inner();
    let annotation = annotation_id(&raw_annotation)?;
    let claim = state
        .desk
        .unlink_claim(&caller.0.name, &id, &annotation)
        .await?;
    Ok(HttpResponse::Ok().json(view(&state, &claim)))
}
