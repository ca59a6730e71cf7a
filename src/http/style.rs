//! The desk's house-style term list: read by anyone signed in, replaced by an admin (which
//! re-checks every article's latest version).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::domain::StyleRule;

use super::extract::{Admin, ChangeStyle, Json};
use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        methods::resource("/api/style-rules", "GET, PUT")
            .route(web::get().to(get))
            .route(web::put().to(put)),
    );
}

async fn get(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({ "rules": state.desk.style_rules()? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesRequest {
    rules: Vec<StyleRule>,
}

#[tracing::instrument(skip_all, fields(user = %caller.0.name))]
async fn put(
    state: web::Data<AppState>,
    caller: Admin<ChangeStyle>,
    Json(request): Json<RulesRequest>,
) -> Result<HttpResponse, ApiError> {
    let report = state
        .desk
        .set_style_rules(&caller.0.name, request.rules)
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "rules": state.desk.style_rules()?,
        "flagged": report.flagged,
        "resolved": report.resolved,
    })))
}
