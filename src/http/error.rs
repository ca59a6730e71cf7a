//! The one mapping from errors to HTTP statuses, as `application/problem+json` bodies.
//!
//! Client errors say what was wrong and what to do; server errors say nothing internal (the
//! cause goes to the log with the request's span).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::desk::DeskError;
use crate::documents::DocError;
use crate::domain::DomainError;
use crate::search::SearchError;
use crate::store::{Cause, StoreError};
use crate::w3c::ParseError;

/// Seconds a client is asked to wait before retrying a write the log could not take.
const RETRY_AFTER_SECS: &str = "5";

/// Everything an endpoint can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not valid JSON or not a valid annotation.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or unknown bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the user's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 405: the resource does not support this method; `allow` lists the methods it does
    /// support, for the `Allow` header every 405 must carry (RFC 9110, section 15.5.6).
    #[error("{detail}")]
    MethodNotAllowed { allow: &'static str, detail: String },
    /// 406: the client accepts no representation we serve.
    #[error("{0}")]
    NotAcceptable(String),
    /// 409: conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 410: deleted.
    #[error("{0}")]
    Gone(String),
    /// 412: `If-Match` does not match.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: the body is over the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415: wrong media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: valid JSON-LD that breaks a rule (selectors that do not fit the text, a fact-check
    /// without a verdict, a forbidden status change…).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many open connections for this user.
    #[error("{0}")]
    TooManyRequests(String),
    /// 428: `If-Match` is required.
    #[error("{0}")]
    PreconditionRequired(String),
    /// 503 with `Retry-After`: the event log is not accepting writes. The cause is logged, not
    /// shown.
    #[error("unavailable")]
    Unavailable(#[source] Cause),
    /// 500: anything else. The cause is logged, not shown.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    /// A 500 with its cause: an error kept as the source, or a message.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(Cause::from(cause.into()))
    }

    /// A 503 with its cause.
    pub fn unavailable(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Unavailable(std::sync::Arc::new(cause))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        DeskError::from(error).into()
    }
}

/// An error and every cause under it on one line, for the log. A cause whose text its parent
/// already ends with (a wrapper that prints its source) is not repeated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let line = error.to_string();
        if !text.ends_with(&line) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&line);
        }
        next = error.source();
    }
    text
}

impl ApiError {
    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "Bad request",
            ApiError::Unauthorized(_) => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::NotAcceptable(_) => "Not acceptable",
            ApiError::Conflict(_) => "Conflict",
            ApiError::Gone(_) => "Gone",
            ApiError::PreconditionFailed(_) => "Precondition failed",
            ApiError::TooLarge(_) => "Payload too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::Unprocessable(_) => "Unprocessable request",
            ApiError::PreconditionRequired(_) => "Precondition required",
            ApiError::TooManyRequests(_) => "Too many requests",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            ApiError::Internal(cause) => {
                tracing::error!(cause = %chain(cause.as_ref()), "request failed");
                "the server could not complete the request; it has been logged".to_owned()
            }
            ApiError::Unavailable(cause) => {
                tracing::error!(cause = %chain(cause.as_ref()), "request refused: storage unavailable");
                match cause.downcast_ref::<StoreError>() {
                    Some(StoreError::DatabaseUnreachable { .. }) => format!(
                        "the database that keeps the event log cannot be reached, so nothing was \
                         written; try again in {RETRY_AFTER_SECS} s"
                    ),
                    _ => match cause.downcast_ref::<SearchError>() {
                        Some(catching_up) => catching_up.to_string(),
                        None => {
                            "the server cannot accept writes right now; try again later".to_owned()
                        }
                    },
                }
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            response.insert_header((
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            ));
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"glossa\""),
            ));
        }
        response.body(
            json!({
                "type": "about:blank",
                "title": self.title(),
                "status": status.as_u16(),
                "detail": detail,
            })
            .to_string(),
        )
    }
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> Self {
        ApiError::BadRequest(error.0)
    }
}

impl From<DeskError> for ApiError {
    fn from(error: DeskError) -> Self {
        match error {
            DeskError::Domain(DomainError::Immutable(_)) => ApiError::Conflict(error.to_string()),
            DeskError::Domain(DomainError::Deleted(_)) | DeskError::Gone(_) => {
                ApiError::Gone(error.to_string())
            }
            DeskError::Domain(e) => ApiError::Unprocessable(e.to_string()),
            DeskError::NotFound(m) => ApiError::NotFound(m),
            DeskError::Stale { .. } => ApiError::PreconditionFailed(error.to_string()),
            DeskError::Conflict(m) => ApiError::Conflict(m),
            DeskError::KeyReused(m) => ApiError::Unprocessable(m),
            DeskError::Store(e) if e.is_unavailable() => ApiError::unavailable(e),
            DeskError::Document(DocError::Store(e)) if e.is_unavailable() => {
                ApiError::unavailable(e)
            }
            DeskError::Store(e) => ApiError::internal(e),
            DeskError::Document(DocError::Contended) => ApiError::unavailable(DocError::Contended),
            DeskError::Document(e) => ApiError::internal(e),
            DeskError::Internal(cause) => ApiError::Internal(cause),
            DeskError::Search(e @ SearchError::CatchingUp { .. }) => ApiError::unavailable(e),
            DeskError::Search(e) => ApiError::internal(e),
        }
    }
}
