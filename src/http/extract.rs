//! Extractors for what most handlers check before anything else, so a handler states them in
//! its signature instead of repeating a preamble: a caller who may write ([`Writer`]) or an
//! admin ([`Admin`]), an id from the path ([`AnnotationPath`], [`ArticlePath`], [`ClaimPath`],
//! [`UserPath`], [`TokenPath`]), and a JSON body within
//! the size limit ([`JsonBody`], which keeps the bytes for an idempotency key's fingerprint,
//! and [`Json`], which also parses them into a shape).
//!
//! Actix runs extractors in the order of the handler's arguments and answers with the first
//! refusal, so a handler lists them in the order its checks apply: who (401, 403), which
//! resource (404), then the body (415, 413, 400). A check that must come after reading state
//! (an `If-Match` against the current version, say) stays in the handler, and so does the
//! body it precedes.

use std::fmt;
use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::domain::{AnnotationId, ArticleId, ClaimId, UserName};
use crate::identity::TokenId;

use super::request::{parse_shape, read_json_body};
use super::{ApiError, AppState, Caller};

/// A caller allowed to write: 401 without a valid token, 403 for a viewer. Derefs to the
/// [`Caller`].
pub struct Writer {
    caller: Caller,
}

impl Deref for Writer {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl FromRequest for Writer {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            Caller::from_request(req, payload)
                .into_inner()
                .and_then(|caller| {
                    caller.require_writer()?;
                    Ok(Writer { caller })
                }),
        )
    }
}

/// Something only an admin may do, named in the 403 that refuses everyone else.
pub trait AdminTask {
    /// What only an admin may do, completing "only an admin may …".
    const WHAT: &'static str;
}

/// An admin, about to do `T`: 401 without a valid token, 403 for anyone else. Derefs to the
/// [`Caller`].
pub struct Admin<T> {
    caller: Caller,
    task: PhantomData<T>,
}

impl<T> Deref for Admin<T> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<T: AdminTask> FromRequest for Admin<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            Caller::from_request(req, payload)
                .into_inner()
                .and_then(|caller| {
                    caller.require_admin_to(T::WHAT)?;
                    Ok(Admin {
                        caller,
                        task: PhantomData,
                    })
                }),
        )
    }
}

macro_rules! admin_tasks {
    ($($name:ident => $what:literal),+ $(,)?) => {$(
        pub struct $name;

        impl AdminTask for $name {
            const WHAT: &'static str = $what;
        }
    )+};
}

admin_tasks! {
    CreateUsers => "create users",
    ChangeRoles => "change roles",
    IssueTokens => "issue tokens",
    ListTokens => "list tokens",
    ReadTokens => "read tokens",
    RevokeTokens => "revoke tokens",
    ChangeStyle => "change the house style",
    ImportAnnotations => "import annotations",
    ManageWebhooks => "manage webhooks",
}

/// The `{id}` of an annotation's path; one that cannot be an id names no annotation (404).
pub struct AnnotationPath(pub AnnotationId);

/// The `{id}` of an article's path; one that cannot be an id names no article (404).
pub struct ArticlePath(pub ArticleId);

/// The `{id}` of a claim's path; one that cannot be an id names no claim (404).
pub struct ClaimPath(pub ClaimId);

/// The path's `{id}`, or 404 saying which `what` does not exist.
fn path_id<T, E>(
    req: &HttpRequest,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    parse(raw).map_err(|_| ApiError::NotFound(format!("{what} {raw:?} does not exist")))
}

macro_rules! path_extractor {
    ($name:ident, $id:ty, $what:literal) => {
        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(path_id(req, $what, <$id>::parse).map($name))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

path_extractor!(AnnotationPath, AnnotationId, "annotation");
path_extractor!(ArticlePath, ArticleId, "article");
path_extractor!(ClaimPath, ClaimId, "claim");

/// The `{name}` of a user's path: 422 if it cannot be a user name, saying what one is.
pub struct UserPath(pub UserName);

impl FromRequest for UserPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("name").unwrap_or_default();
        ready(user_name(raw).map(UserPath))
    }
}

/// A user name from a request (path, query or body): 422 saying what one is.
pub fn user_name(raw: &str) -> Result<UserName, ApiError> {
    UserName::parse(raw).map_err(|e| {
        ApiError::Unprocessable(format!(
            "{e}; a user name is lower-case letters, digits, '-', '_' or '.'"
        ))
    })
}

/// The `{id}` of a token's path: 404 if it cannot be a token id.
pub struct TokenPath(pub TokenId);

impl FromRequest for TokenPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("id").unwrap_or_default();
        ready(
            TokenId::parse(raw)
                .map(TokenPath)
                .map_err(ApiError::NotFound),
        )
    }
}

/// A JSON body as received: a JSON media type (415), at most the configured size (413).
pub struct JsonBody(pub web::BytesMut);

impl Deref for JsonBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        // Taking the payload cannot fail; its error type is actix's.
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let payload = payload
                .map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
            let limit = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal("application state missing"))?
                .limits
                .max_body_bytes;
            read_json_body(&req, payload, limit).await.map(JsonBody)
        })
    }
}

/// A JSON body parsed into `T`: everything [`JsonBody`] checks, then its syntax and its shape
/// (400 each, saying where it broke).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBody::from_request(req, payload);
        Box::pin(async move { parse_shape(&body.await?).map(Json) })
    }
}
