//! Managing who may use the desk while it runs: admins create users, change their roles, issue
//! tokens (the secret is in the 201 answer and nowhere else, ever), list tokens (never a
//! secret or a hash) and revoke them. `GET /api/desk`, unauthenticated, says whether this is
//! a demo desk and which demo users the sign-in page may offer.
//!
//! Creating a user and issuing a token honour an `Idempotency-Key` (ADR 0007). A retried token
//! issue answers the token without its secret, which the server never kept.

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::identity::{AccessError, AccessEvent, NewUser, Role, TokenInfo, User, DEMO_USERS};

use super::extract::{
    user_name, Admin, ChangeRoles, CreateUsers, IssueTokens, Json, JsonBody, ListTokens,
    ReadTokens, RevokeTokens, TokenPath, UserPath,
};
use super::idempotency::{self, Attempt};
use super::methods;
use super::request::{parse_shape, read_body};
use super::{ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::only("/api/desk", Method::GET, desk))
        .service(methods::only("/api/users", Method::POST, create_user))
        .service(methods::only("/api/users/{name}", Method::GET, get_user))
        .service(methods::only(
            "/api/users/{name}",
            Method::PATCH,
            change_user,
        ))
        .service(methods::only(
            "/api/users/{name}/tokens",
            Method::POST,
            issue_token,
        ))
        .service(methods::only("/api/tokens", Method::GET, list_tokens))
        .service(methods::only("/api/tokens/{id}", Method::GET, get_token))
        .service(methods::only(
            "/api/tokens/{id}",
            Method::DELETE,
            revoke_token,
        ));
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::UserExists(_) => ApiError::Conflict(error.to_string()),
            AccessError::UnknownUser(_) | AccessError::UnknownToken(_) => {
                ApiError::NotFound(error.to_string())
            }
            AccessError::Invalid(m) => ApiError::Unprocessable(m),
            AccessError::Store(e) => match e {
                e if e.is_unavailable() => ApiError::unavailable(e),
                // Two admins writing at once: the loser may simply retry.
                crate::store::StoreError::WrongExpectedVersion { .. } => ApiError::Conflict(
                    "another change to users or tokens was written at the same time; try again"
                        .into(),
                ),
                other => ApiError::internal(other),
            },
        }
    }
}

pub fn user_json(user: &User) -> Value {
    json!({
        "name": user.name,
        "display_name": user.display_name,
        "role": user.role,
        "can_write": user.role.can_write(),
    })
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    Role::parse(raw).map_err(ApiError::Unprocessable)
}

/// Whether this is a demo desk, and the demo users whose well-known token still works (with
/// that token: it is printed in the README anyway). A real desk offers nobody.
async fn desk(state: web::Data<AppState>) -> HttpResponse {
    let demo_users: Vec<Value> = state
        .users
        .live_demo_users()
        .iter()
        .filter_map(|user| {
            let demo = DEMO_USERS.iter().find(|d| d.name == user.name.as_str())?;
            let mut entry = user_json(user);
            entry["token"] = demo.token.into();
            Some(entry)
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "demo": state.users.is_demo_desk(),
        "demo_users": demo_users,
    }))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateUser {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    role: String,
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Admin<CreateUsers>,
    bytes: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let desk = match idempotency::attempt(&state, &req, &caller, &bytes).await? {
        Attempt::Run(desk) => desk,
        Attempt::Replay(done) => {
            let AccessEvent::UserCreated { name, .. } = idempotency::access_of(&state, &done)?
            else {
                return Err(ApiError::internal(format!(
                    "the receipt at {} is not about a new user",
                    done.seq
                )));
            };
            let user = state
                .users
                .user(&name)
                .ok_or(AccessError::UnknownUser(name))?;
            return Ok(idempotency::replayed(user_created(&state, &user)));
        }
    };
    let body: CreateUser = parse_shape(&bytes)?;
    let new = NewUser {
        name: user_name(&body.name)?,
        display_name: body.display_name,
        role: parse_role(&body.role)?,
    };
    let user = state
        .users
        .create_user(&caller.0.name, new, desk.receipt())
        .await?;
    Ok(user_created(&state, &user))
}

/// 201 at `path`, for a user or a token just made (or made by the request a retry repeats).
fn created(state: &AppState, path: String) -> HttpResponseBuilder {
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("{}{path}", state.renderer.base())));
    response
}

fn user_created(state: &AppState, user: &User) -> HttpResponse {
    created(state, format!("/api/users/{}", user.name)).json(user_json(user))
}

async fn get_user(
    state: web::Data<AppState>,
    _caller: Caller,
    UserPath(name): UserPath,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .users
        .user(&name)
        .ok_or_else(|| AccessError::UnknownUser(name))?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

/// A request body, described in the OpenAPI document as it is read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ChangeUser {
    role: String,
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn change_user(
    state: web::Data<AppState>,
    caller: Admin<ChangeRoles>,
    UserPath(name): UserPath,
    Json(body): Json<ChangeUser>,
) -> Result<HttpResponse, ApiError> {
    let role = parse_role(&body.role)?;
    let user = state.users.set_role(&caller.0.name, &name, role).await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

/// 201 with the token: the only time anyone sees it. A retry with the request's
/// `Idempotency-Key` answers the same token without it, and says so in `note`.
#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Admin<IssueTokens>,
    UserPath(name): UserPath,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // No body is expected; whatever is sent is part of the request a key names.
    let bytes = read_body(&req, payload, state.limits.max_body_bytes).await?;
    let desk = match idempotency::attempt(&state, &req, &caller, &bytes).await? {
        Attempt::Run(desk) => desk,
        Attempt::Replay(done) => {
            let AccessEvent::TokenIssued { token, .. } = idempotency::access_of(&state, &done)?
            else {
                return Err(ApiError::internal(format!(
                    "the receipt at {} is not about a new token",
                    done.seq
                )));
            };
            let info = state.users.token(&token)?;
            let mut body = info.listing();
            body["token"] = Value::Null;
            body["note"] = format!(
                "the token itself was shown only in the first answer to this request, and the \
                 server does not keep it; if that answer was lost, revoke {token} (DELETE \
                 /api/tokens/{token}) and issue a new one"
            )
            .into();
            return Ok(idempotency::replayed(token_created(&state, &info, body)));
        }
    };
    let issued = state
        .users
        .issue_token(&caller.0.name, &name, desk.receipt())
        .await?;
    let mut body = issued.info.listing();
    body["token"] = issued.secret.into();
    Ok(token_created(&state, &issued.info, body))
}

fn token_created(state: &AppState, token: &TokenInfo, body: Value) -> HttpResponse {
    created(state, format!("/api/tokens/{}", token.id))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenQuery {
    user: Option<String>,
}

async fn list_tokens(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    _caller: Admin<ListTokens>,
) -> Result<HttpResponse, ApiError> {
    let user = query.user.as_deref().map(user_name).transpose()?;
    let tokens: Vec<Value> = state
        .users
        .tokens()
        .iter()
        .filter(|t| user.as_ref().is_none_or(|u| &t.user == u))
        .map(TokenInfo::listing)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "tokens": tokens })))
}

async fn get_token(
    state: web::Data<AppState>,
    _caller: Admin<ReadTokens>,
    TokenPath(id): TokenPath,
) -> Result<HttpResponse, ApiError> {
    let token = state
        .users
        .tokens()
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(AccessError::UnknownToken(id))?;
    Ok(HttpResponse::Ok().json(token.listing()))
}

/// Revokes a token: refused on its next request, and its open sync sockets and live tails are
/// closed. Revoking a revoked token answers the same.
#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn revoke_token(
    state: web::Data<AppState>,
    caller: Admin<RevokeTokens>,
    TokenPath(id): TokenPath,
) -> Result<HttpResponse, ApiError> {
    let token = state.users.revoke(&caller.0.name, &id).await?;
    Ok(HttpResponse::Ok().json(token.listing()))
}
