//! Bearer-token authentication as an extractor: a handler that takes a [`Caller`] is only
//! reached with a valid token (401 otherwise).

use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use crate::identity::User;

use super::{ApiError, AppState};

/// The authenticated user of a request.
pub struct Caller(pub User);

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
    /// Refuses everyone but admins (403).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.role == crate::identity::Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "only an admin may change the house style; {} is {}",
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
pub fn authenticate_token(req: &HttpRequest, token: Option<&str>) -> Result<User, ApiError> {
    match token {
        Some(token) => {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            state
                .users
                .authenticate(token)
                .ok_or_else(|| ApiError::Unauthorized("the token is not valid".into()))
        }
        None => authenticate(req).map(|caller| caller.0),
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let Some(raw) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(
            "send Authorization: Bearer <token>; the server's start-up message lists demo tokens"
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
        .authenticate(token)
        .map(Caller)
        .ok_or_else(|| ApiError::Unauthorized("the bearer token is not valid".into()))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}
