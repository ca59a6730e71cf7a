//! `GET /api/search`: full-text search over annotations and article text, with filters, ranked,
//! with highlighted snippets, paged with a cursor. The query string and the results are the
//! `search` module's (`params`, `view`), shared with `glossa search`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::search::{params, view, SearchQuery};

use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::resource("/api/search", "GET").route(web::get().to(search)));
}

async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<SearchQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("the query string: {e}")))?;
    let request = params::request_of(&query).map_err(ApiError::BadRequest)?;
    let page = state.desk.search(request).await?;
    let base = state.renderer.base();
    let next = page.next.map(|offset| {
        let mut params: Vec<&str> = req
            .query_string()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
            .collect();
        let cursor = format!("cursor={}", params::cursor(offset));
        params.push(&cursor);
        format!("{base}/api/search?{}", params.join("&"))
    });
    let body = view::page(&query.q, &page, next, |hit| {
        view::item(
            hit,
            base,
            &state.renderer.annotation_iri(&hit.id),
            state.desk.article(&hit.article).ok().and_then(|a| a.title),
        )
    });
    Ok(HttpResponse::Ok().json(body))
}
