//! Request helpers shared by handlers: body limits, media types, content negotiation, ETags.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use super::ApiError;

pub const JSONLD: &str = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"";

/// Reads the body up to `limit` bytes: 413 beyond, with the limit in the message.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let too_large = || {
        ApiError::TooLarge(format!(
            "the request body is over the limit of {limit} bytes"
        ))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Requires a JSON media type: `application/ld+json` (any profile) or `application/json`.
pub fn require_json(req: &HttpRequest, what: &str) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/ld+json" || essence == "application/json" {
        Ok(())
    } else if content_type.is_empty() {
        Err(ApiError::UnsupportedMediaType(format!(
            "send {what} with Content-Type: {JSONLD}"
        )))
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "{content_type:?} is not accepted; send {what} as {JSONLD}"
        )))
    }
}

/// Parses a JSON body with a message that says where it broke.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "the request body is empty; send a JSON object".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

/// Checks `Accept`: JSON-LD, JSON or anything (`*/*`) are served; anything else is 406.
pub fn require_acceptable(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let ok = accept.split(',').any(|range| {
        let essence = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            essence.as_str(),
            "application/ld+json" | "application/json" | "*/*" | "application/*" | ""
        )
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::NotAcceptable(format!(
            "cannot serve {accept:?}; this resource is available as {JSONLD}"
        )))
    }
}

/// The strong ETag of an annotation version.
pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// What `If-Match` asks for.
pub enum Precondition {
    /// `*`: any current version.
    Any,
    /// The current version.
    Matches,
}

/// Reads `If-Match`, which PUT and DELETE require (428 without). A value that is no ETag of
/// ours can never match: 412. `If-Match` uses the strong comparison (RFC 9110, section
/// 13.1.1): a weak tag (`W/"v3"`) never matches, even when its opaque part does.
pub fn if_match(req: &HttpRequest, current: u64) -> Result<Precondition, ApiError> {
    let Some(raw) = req.headers().get(header::IF_MATCH) else {
        return Err(ApiError::PreconditionRequired(format!(
            "send If-Match with the annotation's current ETag ({}) so concurrent edits are not lost",
            etag(current)
        )));
    };
    let raw = raw.to_str().unwrap_or("").trim();
    if raw == "*" {
        return Ok(Precondition::Any);
    }
    for candidate in raw.split(',') {
        let tag = candidate.trim();
        if let Some(version) = tag
            .strip_prefix("\"v")
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse::<u64>().ok())
        {
            if version == current {
                return Ok(Precondition::Matches);
            }
        }
    }
    let weak = if raw.contains("W/") {
        " (a weak tag never matches: If-Match compares strong tags only)"
    } else {
        ""
    };
    Err(ApiError::PreconditionFailed(format!(
        "If-Match {raw:?} does not match the current ETag {}{weak}; fetch the annotation again and reapply your change",
        etag(current)
    )))
}

impl Precondition {
    /// The expected version to hand to the desk, which checks it again under the document lock.
    pub fn expected(&self, current: u64) -> Option<u64> {
        match self {
            Precondition::Any => None,
            Precondition::Matches => Some(current),
        }
    }
}

/// A JSON request's media type and size limit, leaving the bytes (for an idempotency key's
/// fingerprint, say); `extract::JsonBody` does the same as an extractor.
pub async fn read_json_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    require_json(req, "the request")?;
    read_body(req, payload, limit).await
}

/// A JSON request's syntax, then its shape.
pub fn parse_shape<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_value(parse_json(body)?).map_err(|e| {
        ApiError::BadRequest(format!(
            "the request body is not what this endpoint takes: {e}"
        ))
    })
}
