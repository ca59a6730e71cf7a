//! Which methods each resource supports, and the 405 for every other method.
//!
//! A route registered on its own (`cfg.route(path, web::get())`) answers 404 to any other
//! method, as if the resource did not exist. A resource built here answers 405 instead, with
//! the `Allow` header RFC 9110 (section 15.5.6) requires, listing exactly the methods it has
//! routes for. Every route at one path belongs in one such resource: a second resource at the
//! same path would never be reached.

use actix_web::{web, HttpRequest, HttpResponse, Resource};

use super::ApiError;

/// A resource at `path` whose routes are the methods in `allow`; any other method gets 405.
pub fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(not_allowed(
            allow,
            format!("{} {} is not supported", req.method(), req.path()),
        ))
    }))
}

/// The 405 for a resource that supports `allow`, with what the client can do instead.
pub fn not_allowed(allow: &'static str, detail: impl Into<String>) -> ApiError {
    let detail = detail.into();
    ApiError::MethodNotAllowed {
        allow,
        detail: format!("{detail}; this resource supports {allow}"),
    }
}
