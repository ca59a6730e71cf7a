//! Which methods each resource supports, and the 405 for every other method.
//!
//! A route registered on its own (`cfg.route(path, web::get())`) answers 404 to any other
//! method, as if the resource did not exist. A resource built here answers 405 instead, with
//! the `Allow` header RFC 9110 (section 15.5.6) requires, listing exactly the methods it has
//! routes for. Every route at one path belongs in one such resource: a second resource at the
//! same path would never be reached.
//!
//! Every resource is named after its pattern, so the request metrics can label a request with
//! the borrowed name (`HttpRequest::match_name`) instead of building the pattern each time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use actix_web::http::Method;
use actix_web::{guard, web, FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder};

use super::ApiError;

/// Every pattern a resource was built for here, with the methods it answers: filled as the
/// routes are configured, and read by the OpenAPI document's drift test.
static SERVED: Mutex<BTreeMap<String, BTreeSet<String>>> = Mutex::new(BTreeMap::new());

fn record<'a>(path: &str, methods: impl IntoIterator<Item = &'a str>) {
    let mut served = SERVED.lock().unwrap_or_else(|e| e.into_inner());
    let entry = served.entry(path.to_owned()).or_default();
    entry.extend(methods.into_iter().map(|m| m.trim().to_ascii_uppercase()));
}

/// Every (pattern, methods) pair a resource was built for by `resource` or `only`.
pub fn served() -> BTreeMap<String, BTreeSet<String>> {
    SERVED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A resource at `path` whose routes are the methods in `allow`; any other method gets 405.
pub fn resource(path: &str, allow: &'static str) -> Resource {
    record(path, allow.split(','));
    web::resource(path)
        .name(path)
        .default_service(web::to(move |req: HttpRequest| async move {
            Err::<HttpResponse, _>(not_allowed(
                allow,
                format!("{} {} is not supported", req.method(), req.path()),
            ))
        }))
}

/// A resource at `path` that answers only `method` (any other method goes on to the next
/// resource, and 404 if none takes it), named after its pattern like every resource.
pub fn only<F, Args>(path: &str, method: Method, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    record(path, [method.as_str()]);
    web::resource(path)
        .name(path)
        .guard(guard::Method(method.clone()))
        .route(web::method(method).to(handler))
}

/// The 405 for a resource that supports `allow`, with what the client can do instead.
pub fn not_allowed(allow: &'static str, detail: impl Into<String>) -> ApiError {
    let detail = detail.into();
    ApiError::MethodNotAllowed {
        allow,
        detail: format!("{detail}; this resource supports {allow}"),
    }
}
