//! The `Idempotency-Key` request header (IETF httpapi draft "The Idempotency-Key HTTP Header
//! Field"), for every POST that creates or changes something.
//!
//! A handler reads its body, then asks [`attempt`]: without a key, or with a key not seen
//! before, it gets the desk to carry the request out through ([`Attempt::Run`]); with the key
//! of a request that wrote before and the same method, path and body, it gets what that
//! request wrote ([`Attempt::Replay`]) and answers the original status and `Location` again,
//! with the current representation, writing nothing. The key of another request is 422, a key
//! in use by a request still running is 409, a malformed key is 400. The desk keeps keys in
//! the log (see `desk::requests`), so they outlive restarts.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::desk::{Begun, Desk, Recorded};
use crate::domain::idempotency::{Fingerprint, IdempotencyKey};
use crate::domain::{AnnotationId, ArticleId, ClaimId, StreamId};
use crate::identity::AccessEvent;

use super::{ApiError, AppState, Caller};

pub const HEADER: &str = "Idempotency-Key";

/// What to do with a POST.
// Made once per request and matched at once: boxing the desk would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Attempt {
    /// Carry it out through this desk (scoped to the key, if one was sent).
    Run(Desk),
    /// It was carried out before: answer about what it wrote.
    Replay(Recorded),
}

/// Reads the request's `Idempotency-Key` and looks it up for the caller; `body` is the body
/// exactly as received.
pub async fn attempt(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    body: &[u8],
) -> Result<Attempt, ApiError> {
    let Some(key) = key_of(req)? else {
        return Ok(Attempt::Run(state.desk.clone()));
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
    let fingerprint = Fingerprint::new(req.method().as_str(), &path, body);
    Ok(
        match state
            .desk
            .begin_request(&caller.0.name, &key, fingerprint)
            .await?
        {
            Begun::Fresh(desk) => Attempt::Run(desk),
            Begun::Done(recorded) => Attempt::Replay(recorded),
        },
    )
}

/// The key, if the request has one; 400 if it is not one well-formed key.
fn key_of(req: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut values = req.headers().get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::BadRequest(format!(
            "send one {HEADER} header, not several"
        )));
    }
    let raw = value
        .to_str()
        .map_err(|_| ApiError::BadRequest(format!("the {HEADER} is not printable ASCII")))?;
    IdempotencyKey::parse(raw)
        .map(Some)
        .map_err(ApiError::BadRequest)
}

/// Marks a response as the answer to a retry (`Idempotent-Replayed: true`).
pub fn replayed(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    response
}

fn unexpected(recorded: &Recorded, what: &str) -> ApiError {
    ApiError::internal(format!(
        "the receipt at {} is about {}, not {what}",
        recorded.seq, recorded.subject
    ))
}

/// The annotation a replayed request wrote.
pub fn annotation_of(recorded: &Recorded) -> Result<AnnotationId, ApiError> {
    match &recorded.subject {
        StreamId::Annotation(id) => Ok(id.clone()),
        _ => Err(unexpected(recorded, "an annotation")),
    }
}

/// The article a replayed request wrote.
pub fn article_of(recorded: &Recorded) -> Result<ArticleId, ApiError> {
    match &recorded.subject {
        StreamId::Article(id) => Ok(id.clone()),
        _ => Err(unexpected(recorded, "an article")),
    }
}

/// The claim a replayed request wrote.
pub fn claim_of(recorded: &Recorded) -> Result<ClaimId, ApiError> {
    match &recorded.subject {
        StreamId::Claim(id) => Ok(id.clone()),
        _ => Err(unexpected(recorded, "a claim")),
    }
}

/// The user or token a replayed request wrote: the access event logged with its receipt.
pub fn access_of(state: &AppState, recorded: &Recorded) -> Result<AccessEvent, ApiError> {
    let written = match &recorded.subject {
        StreamId::Access => state.users.written_with(recorded.seq)?,
        _ => None,
    };
    written.ok_or_else(|| unexpected(recorded, "a user or a token"))
}
