//! Webhook subscriptions, for admins: `GET`/`POST /api/webhooks`, `GET`/`DELETE
//! /api/webhooks/{id}`, `POST /api/webhooks/{id}/pause` and `…/resume`, and `GET
//! /api/webhooks/{id}/deliveries` (the latest attempts). The signing secret is in the 201 that
//! creates a subscription and nowhere else; a retried create (same `Idempotency-Key`) answers
//! the subscription without it.

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::timestamp;
use crate::webhooks::{NewSubscription, State, Subscription, SubscriptionId, WebhookError};

use super::extract::{Admin, JsonBody, ManageWebhooks};
use super::idempotency::{self, Attempt};
use super::request::parse_shape;
use super::{methods, ApiError, AppState};

/// Attempts listed by default, and at most.
const ATTEMPTS_PAGE: usize = 50;
const MAX_ATTEMPTS_PAGE: usize = crate::store::ATTEMPTS_KEPT;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        methods::resource("/api/webhooks", "GET, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        methods::resource("/api/webhooks/{id}", "GET, DELETE")
            .route(web::get().to(get))
            .route(web::delete().to(delete)),
    )
    .service(methods::only(
        "/api/webhooks/{id}/pause",
        Method::POST,
        pause,
    ))
    .service(methods::only(
        "/api/webhooks/{id}/resume",
        Method::POST,
        resume,
    ))
    .service(methods::only(
        "/api/webhooks/{id}/deliveries",
        Method::GET,
        deliveries,
    ));
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Unknown(_) => ApiError::NotFound(error.to_string()),
            WebhookError::Invalid(m) => ApiError::Unprocessable(m),
            WebhookError::Store(crate::store::StoreError::WrongExpectedVersion { .. }) => {
                ApiError::Conflict(
                    "another change to the webhook subscriptions was written at the same time; \
                     try again"
                        .into(),
                )
            }
            WebhookError::Store(e) => e.into(),
        }
    }
}

/// The `{id}` of a subscription's path: 404 if it cannot be one.
fn subscription_id(req: &HttpRequest) -> Result<SubscriptionId, ApiError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    uuid::Uuid::parse_str(raw)
        .map_err(|_| ApiError::NotFound(format!("there is no webhook subscription {raw:?}")))
}

/// A subscription as the API shows it, with where delivery has got to.
async fn view(state: &AppState, subscription: &Subscription) -> Result<Value, ApiError> {
    let deliveries = &state.desk.store().webhooks;
    let cursor = deliveries.cursor(subscription.id).await?;
    let last = deliveries.attempts(subscription.id, 1).await?;
    let (status, paused) = match &subscription.state {
        State::Active => ("active", Value::Null),
        State::Paused { reason, at, seq } => (
            "paused",
            json!({ "reason": reason, "at": timestamp(*at), "seq": seq }),
        ),
    };
    Ok(json!({
        "id": subscription.id,
        "url": subscription.url,
        "types": subscription.types,
        "articles": subscription.articles,
        "description": subscription.description,
        "status": status,
        "paused": paused,
        "created_by": subscription.created_by,
        "created": timestamp(subscription.created),
        "cursor": cursor.unwrap_or(subscription.since),
        "last_attempt": last.first().map(attempt_json),
    }))
}

fn attempt_json(attempt: &crate::store::Attempt) -> Value {
    json!({
        "seq": attempt.seq,
        "event_id": attempt.event_id,
        "type": attempt.event_type,
        "attempt": attempt.attempt,
        "at": timestamp(attempt.at),
        "status": attempt.status,
        "ok": attempt.succeeded(),
        "error": attempt.error,
        "millis": attempt.millis,
    })
}

#[tracing::instrument(skip_all)]
async fn list(
    state: web::Data<AppState>,
    _caller: Admin<ManageWebhooks>,
) -> Result<HttpResponse, ApiError> {
    let mut items = Vec::new();
    for subscription in state.webhooks.all() {
        items.push(view(&state, &subscription).await?);
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateWebhook {
    /// Where deliveries are POSTed: an http:// or https:// address.
    url: String,
    /// Event types to deliver (`annotation.created`, …); none or empty for every type.
    #[serde(default)]
    types: Vec<String>,
    /// Articles whose events are delivered; none or empty for every article's.
    #[serde(default)]
    articles: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Admin<ManageWebhooks>,
    bytes: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let desk = match idempotency::attempt(&state, &req, &caller, &bytes).await? {
        Attempt::Run(desk) => desk,
        Attempt::Replay(done) => {
            let id = state.webhooks.written_with(done.seq)?.ok_or_else(|| {
                ApiError::internal(format!(
                    "the receipt at {} is not about a webhook subscription",
                    done.seq
                ))
            })?;
            let subscription = state.webhooks.get(&id)?;
            let mut body = view(&state, &subscription).await?;
            body["secret"] = Value::Null;
            body["note"] = format!(
                "the signing secret was shown only in the first answer to this request, and is \
                 not shown again; if that answer was lost, delete {id} and subscribe again"
            )
            .into();
            return Ok(idempotency::replayed(created(&state, id).json(body)));
        }
    };
    let body: CreateWebhook = parse_shape(&bytes)?;
    let subscription = state
        .webhooks
        .subscribe(
            &caller.0.name,
            NewSubscription {
                url: body.url,
                types: body.types,
                articles: body.articles,
                description: body.description,
            },
            desk.receipt(),
        )
        .await?;
    let mut answer = view(&state, &subscription).await?;
    answer["secret"] = subscription.secret.clone().into();
    Ok(created(&state, subscription.id).json(answer))
}

fn created(state: &AppState, id: SubscriptionId) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Created();
    response.insert_header((
        header::LOCATION,
        format!("{}/api/webhooks/{id}", state.renderer.base()),
    ));
    response
}

async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    _caller: Admin<ManageWebhooks>,
) -> Result<HttpResponse, ApiError> {
    let subscription = state.webhooks.get(&subscription_id(&req)?)?;
    Ok(HttpResponse::Ok().json(view(&state, &subscription).await?))
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Admin<ManageWebhooks>,
) -> Result<HttpResponse, ApiError> {
    let id = subscription_id(&req)?;
    state.webhooks.unsubscribe(&caller.0.name, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn pause(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Admin<ManageWebhooks>,
) -> Result<HttpResponse, ApiError> {
    let id = subscription_id(&req)?;
    let reason = format!("paused by {}", caller.0.name);
    let subscription = state
        .webhooks
        .pause(&caller.0.name, id, reason, None)
        .await?;
    Ok(HttpResponse::Ok().json(view(&state, &subscription).await?))
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Admin<ManageWebhooks>,
) -> Result<HttpResponse, ApiError> {
    let id = subscription_id(&req)?;
    let subscription = state.webhooks.resume(&caller.0.name, id).await?;
    Ok(HttpResponse::Ok().json(view(&state, &subscription).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttemptsQuery {
    limit: Option<String>,
}

async fn deliveries(
    state: web::Data<AppState>,
    req: HttpRequest,
    _caller: Admin<ManageWebhooks>,
) -> Result<HttpResponse, ApiError> {
    let id = subscription_id(&req)?;
    state.webhooks.get(&id)?;
    let query = web::Query::<AttemptsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("{e}; the only parameter is limit")))?;
    let limit = match &query.limit {
        None => ATTEMPTS_PAGE,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_ATTEMPTS_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "`limit` must be a whole number from 1 to {MAX_ATTEMPTS_PAGE}"
                ))
            })?,
    };
    let attempts = state.desk.store().webhooks.attempts(id, limit).await?;
    let items: Vec<Value> = attempts.iter().map(attempt_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
