//! `POST /api/import/hypothesis`: an admin files annotations exported from Hypothesis on the
//! desk's articles (`desk::import`). The body is the Hypothesis API's search result or an
//! array of its rows; a body that is not is refused (400) before anything is written. The
//! answer is the import's report; importing the same body again writes nothing.

use actix_web::{web, HttpResponse};

use super::extract::{Admin, ImportAnnotations, JsonBody};
use super::{methods, ApiError, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        methods::resource("/api/import/hypothesis", "POST").route(web::post().to(hypothesis)),
    );
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn hypothesis(
    state: web::Data<AppState>,
    caller: Admin<ImportAnnotations>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let rows = crate::hypothesis::parse(&body).map_err(ApiError::BadRequest)?;
    let report = state
        .desk
        .import_hypothesis(&caller.0.name, rows, state.renderer.base())
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
