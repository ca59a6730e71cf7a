//! Operator endpoints.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

/// Liveness and progress: where the log is kept and whether it takes writes, the durable log
/// head and how far the read models have caught up. 503 while the database that keeps the log
/// cannot be reached (reads are still served from the local copy).
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let (log, reachable) = state.desk.log_backend().await;
    let mut body = json!({
        "status": "ok",
        "log": log,
        "log_head": state.desk.log_head(),
        "read_model_checkpoint": state.desk.read_model_checkpoint(),
    });
    match reachable {
        Ok(()) => HttpResponse::Ok().json(body),
        Err(error) => {
            body["status"] = json!("degraded");
            body["problem"] = json!(format!(
                "{error}; writes are refused until it answers again, reads are served from this \
                 server's copy of the log"
            ));
            HttpResponse::ServiceUnavailable().json(body)
        }
    }
}

/// Prometheus metrics in the text exposition format.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::metrics().render())
}
