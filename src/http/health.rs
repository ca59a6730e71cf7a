//! Operator endpoints.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;

/// Liveness and progress: where the log is kept and whether it takes writes, the durable log
/// head and how far the read models have caught up. While the database that keeps the log
/// cannot be reached the status is `degraded`, with the problem, and still 200: the server
/// serves reads from its copy, and every server of the desk shares that database, so a load
/// balancer that took it out would gain nothing and lose the reads.
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
            HttpResponse::Ok().json(body)
        }
    }
}

/// Prometheus metrics in the text exposition format.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::metrics().render())
}
