//! Bearer-token authentication as an extractor: a handler that takes a [`Caller`] is only
//! reached with a valid token (401 otherwise).

use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use crate::identity::{TokenId, User};

use super::{ApiError, AppState};

/// The authenticated user of a request, and the id of the token they used (open streams
/// close when it is revoked).
pub struct Caller(pub User, pub TokenId);

impl Caller {
    /// Refuses viewers (403).
    pub fn require_writer(&self) -> Result<(), ApiError> {
        if self.0.role.can_write() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "{} has the viewer role and cannot change anything; ask an admin for an editor token",
                self.0.name
            )))
        }
    }
}

impl Caller {
    /// Refuses everyone but admins (403), saying what only an admin may `what`.
    pub fn require_admin_to(&self, what: &str) -> Result<(), ApiError> {
        if self.0.role == crate::identity::Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "only an admin may {what}; {} is {}",
                self.0.name,
                match self.0.role {
                    crate::identity::Role::Viewer => "a viewer",
                    _ => "an editor",
                }
            )))
        }
    }
}

/// Authenticates a WebSocket upgrade: a `token` query parameter or a bearer header.
pub fn authenticate_token(req: &HttpRequest, token: Option<&str>) -> Result<Caller, ApiError> {
    match token {
        Some(token) => {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal("application state missing"))?;
            state
                .users
                .authenticate_token(token)
                .map(|(user, id)| Caller(user, id))
                .ok_or_else(|| ApiError::Unauthorized("the token is not valid".into()))
        }
        None => authenticate(req),
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let Some(raw) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "send Authorization: Bearer <token>; an admin issues tokens (POST /api/users/{name}/tokens or glossa token create)"
                .into(),
        ));
    };
    let token = raw
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
    state
        .users
        .authenticate_token(token)
        .map(|(user, id)| Caller(user, id))
        .ok_or_else(|| {
            ApiError::Unauthorized("the bearer token is not valid (unknown or revoked)".into())
        })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}
