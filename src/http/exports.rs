//! The export endpoints: `crate::exports` renders, these handlers answer with the media type
//! and, for files meant to be saved, a `Content-Disposition`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::exports::{Export, Exporter};

use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    for (path, route) in [
        ("/api/export/log.ndjson", web::get().to(log_dump)),
        ("/api/export/annotations", web::get().to(collection)),
        ("/api/export/annotations.csv", web::get().to(csv)),
        ("/api/export/claimreview", web::get().to(claim_review)),
    ] {
        cfg.service(methods::resource(path, "GET").route(route));
    }
}

async fn respond(
    state: web::Data<AppState>,
    export: Export,
    article: Option<String>,
    filename: Option<&'static str>,
) -> Result<HttpResponse, ApiError> {
    let (content_type, body) = web::block(move || {
        let exporter = Exporter {
            desk: &state.desk,
            renderer: &state.renderer,
            users: &state.users,
        };
        exporter.render(export, article.as_deref())
    })
    .await
    .map_err(ApiError::internal)??;
    let mut response = HttpResponse::Ok();
    response.content_type(content_type);
    if let Some(name) = filename {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ));
    }
    Ok(response.body(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    article: Option<String>,
}

/// Every event, one JSON object per line; `glossa restore` rebuilds a data directory from it.
async fn log_dump(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    respond(state, Export::Log, None, Some("glossa-log.ndjson")).await
}

async fn collection(
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    respond(state, Export::Annotations, query.into_inner().article, None).await
}

async fn csv(
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    respond(
        state,
        Export::Csv,
        query.into_inner().article,
        Some("annotations.csv"),
    )
    .await
}

async fn claim_review(
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    respond(state, Export::ClaimReview, query.into_inner().article, None).await
}
