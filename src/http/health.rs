//! Operator endpoints.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

/// Liveness and progress: the durable log head and how far the read models have caught up.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "log_head": state.desk.log_head(),
        "read_model_checkpoint": state.desk.read_model_checkpoint(),
    }))
}

/// Prometheus metrics in the text exposition format.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::metrics().render())
}
