//! The web UI: the bundle built from `web/` (committed in `web/dist/`), compiled into the binary
//! so a server needs no Node and no files beside it. `/` is the page; `/assets/*` the rest.
//! `/api/reference` is the API reference: Swagger UI, from the same bundle, reading
//! `/api/openapi.json`; like the document, it needs no token.

use std::sync::OnceLock;

use actix_web::http::{header, Method};
use actix_web::middleware::Compress;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::{methods, ApiError};

/// One file of the bundle.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// Every file `web/build.mjs` writes. The bundle test checks this list against a fresh build.
pub const ASSETS: [Asset; 10] = [
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
    Asset {
        name: "reference.html",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../../web/dist/reference.html"),
    },
    Asset {
        name: "reference.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../web/dist/reference.js"),
    },
    Asset {
        name: "reference.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../web/dist/reference.css"),
    },
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../web/dist/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../web/dist/swagger-ui.css"),
    },
    Asset {
        name: "swagger-ui-bundle.js.LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../web/dist/swagger-ui-bundle.js.LICENSE.txt"),
    },
];

/// The index in `ASSETS` of the API reference's page.
const REFERENCE: usize = 4;

/// The page and its assets, gzip-compressed for clients that accept it (the WebAssembly file
/// shrinks to about a third).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .name("/")
            .wrap(Compress::default())
            .route(web::get().to(index)),
    )
    .service(methods::only("/api/reference", Method::GET, reference).wrap(Compress::default()))
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

async fn reference(req: HttpRequest) -> HttpResponse {
    serve(&req, REFERENCE)
}

async fn asset(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .position(|a| a.name == name.as_str())
        .map(|i| serve(&req, i))
        .ok_or_else(|| ApiError::NotFound(format!("the web UI has no file {:?}", name.as_str())))
}
