//! The web UI: the bundle built from `web/` (committed in `web/dist/`), compiled into the binary
//! so a server needs no Node and no files beside it. `/` is the page; `/assets/*` the rest.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::middleware::Compress;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::ApiError;

/// One file of the bundle.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Every file `web/build.mjs` writes. The bundle test checks this list against a fresh build.
pub const ASSETS: [Asset; 4] = [
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../../web/dist/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../web/dist/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../web/dist/app.css"),
    },
    Asset {
        name: "automerge.wasm",
        content_type: "application/wasm",
        bytes: include_bytes!("../../web/dist/automerge.wasm"),
    },
];

/// The page and its assets, gzip-compressed for clients that accept it (the WebAssembly file
/// shrinks to about a third).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .name("/")
            .wrap(Compress::default())
            .route(web::get().to(index)),
    )
    .service(
        web::scope("/assets").wrap(Compress::default()).service(
            web::resource("/{name}")
                .name("/assets/{name}")
                .guard(guard::Get())
                .route(web::get().to(asset)),
        ),
    );
}

fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.bytes))[..20]))
            .collect()
    })
}

fn serve(req: &HttpRequest, index: usize) -> HttpResponse {
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.as_str()))
        // Revalidate every time: the bundle changes with the binary, and the ETag makes it cheap.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if fresh {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.bytes)
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, 0)
}

async fn asset(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .position(|a| a.name == name.as_str())
        .map(|i| serve(&req, i))
        .ok_or_else(|| ApiError::NotFound(format!("the web UI has no file {:?}", name.as_str())))
}
