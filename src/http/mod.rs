//! HTTP: the only code that names actix types and status codes.
//!
//! `/annotations/…` and `/articles/{id}/annotations/…` speak the W3C Web Annotation Protocol;
//! `/api/…` is Glossa's JSON API (articles, workflow shortcuts); `/healthz` is for operators.
//! Handlers parse requests into desk calls and render the answers; the desk decides.

mod access;
mod annotations;
mod articles;
mod auth;
mod claims;
mod containers;
mod error;
mod events;
mod exports;
mod extract;
mod health;
mod idempotency;
mod import;
mod methods;
mod openapi;
mod people;
mod queue;
mod request;
mod search;
mod style;
mod sync_socket;
mod web_ui;
mod webhooks;

use actix_web::http::Method;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

use crate::config::Limits;
use crate::desk::Desk;
use crate::identity::Users;
use crate::w3c::Renderer;

pub use auth::Caller;
pub use error::ApiError;
pub use openapi::document as openapi_document;
pub use web_ui::{Asset, ASSETS as WEB_ASSETS};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub desk: Desk,
    pub users: Users,
    pub webhooks: crate::webhooks::Webhooks,
    pub renderer: Renderer,
    pub limits: Limits,
    /// This server's peer id and storage id on `/sync`.
    pub sync_peer_id: String,
    pub storage_id: String,
    /// Open `/sync` connections per user.
    pub connections: Connections,
    /// Becomes true when the server shuts down.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Counts open sync connections per user, to enforce `max_connections_per_user`.
#[derive(Clone, Default)]
pub struct Connections(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>);

/// Releases a connection slot when the connection ends.
pub struct ConnectionSlot {
    connections: Connections,
    user: String,
}

impl Connections {
    /// Takes a slot for `user`, unless they already have `max` connections open.
    pub fn acquire(&self, user: &str, max: usize) -> Option<ConnectionSlot> {
        let mut open = self.0.lock().expect("connection counter lock");
        let count = open.entry(user.to_owned()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            connections: self.clone(),
            user: user.to_owned(),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.connections.0.lock().expect("connection counter lock");
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
        }
    }
}

/// Cross-origin headers, so browser-based clients (the W3C protocol test page among them) can
/// call the API from another origin. Authentication is by bearer token, never by cookie.
pub fn cors() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Access-Control-Allow-Origin", "*"))
        .add((
            "Access-Control-Expose-Headers",
            "ETag, Allow, Vary, Link, Content-Type, Location, Content-Location, Prefer, Preference-Applied, Idempotent-Replayed",
        ))
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::only("/healthz", Method::GET, health::healthz))
        .service(methods::only("/metrics", Method::GET, health::metrics))
        .service(methods::only(
            "/sync",
            Method::GET,
            sync_socket::sync_socket,
        ))
        .configure(containers::routes)
        .configure(annotations::routes)
        .configure(articles::routes)
        .configure(events::routes)
        .configure(exports::routes)
        .configure(people::routes)
        .configure(queue::routes)
        .configure(access::routes)
        .configure(claims::routes)
        .configure(style::routes)
        .configure(import::routes)
        .configure(search::routes)
        .configure(webhooks::routes)
        .configure(openapi::routes)
        .configure(web_ui::routes);
}

/// Every (pattern, methods) the router serves through `methods` (all but the web UI's `/` and
/// `/assets/*`): the routes are configured into an app that is never run, and `methods`
/// records each resource as it is built.
pub fn served_routes() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let _ = actix_web::App::new().configure(routes);
    methods::served()
}
