//! Who is signed in, and who is on the desk: what the web UI needs to show names and to offer
//! assignees. Token hashes never leave the server.

use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{methods, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::only("/api/me", Method::GET, me))
        .service(methods::only("/api/users", Method::GET, users));
}

/// The caller: name, display name, role, and whether they may write.
async fn me(caller: Caller) -> HttpResponse {
    let user = caller.0;
    HttpResponse::Ok().json(json!({
        "name": user.name,
        "display_name": user.display_name,
        "role": user.role,
        "can_write": user.role.can_write(),
    }))
}

/// Every user of the desk, in name order (for the assignee picker).
async fn users(state: web::Data<AppState>, _caller: Caller) -> HttpResponse {
    let users: Vec<_> = state
        .users
        .people()
        .into_iter()
        .map(|user| super::access::user_json(&user))
        .collect();
    HttpResponse::Ok().json(json!({ "users": users }))
}
