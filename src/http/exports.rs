//! Exports: the whole log as NDJSON, annotations as one W3C AnnotationCollection or as CSV for
//! desk reports, and fact-checks as schema.org ClaimReview.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::documents::schema::timestamp;
use crate::domain::{ArticleId, Kind, Verdict};
use crate::store::{AnnotationRow, Filter};
use crate::w3c::Page;

use super::request::JSONLD;
use super::{methods, ApiError, AppState, Caller};

pub fn routes(cfg: &mut web::ServiceConfig) {
    for (path, route) in [
        ("/api/export/log.ndjson", web::get().to(log_dump)),
        ("/api/export/annotations", web::get().to(collection)),
        ("/api/export/annotations.csv", web::get().to(csv)),
        ("/api/export/claimreview", web::get().to(claim_review)),
    ] {
        cfg.service(methods::resource(path, "GET").route(route));
    }
}

/// What can be exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// The whole log as NDJSON.
    Log,
    /// A W3C AnnotationCollection with every item.
    Annotations,
    Csv,
    ClaimReview,
}

/// Renders an export: its media type and bytes. The HTTP handlers and `glossa export
/// --data-dir` both come here.
pub fn render(
    state: &AppState,
    export: Export,
    article: Option<&str>,
) -> Result<(&'static str, Vec<u8>), ApiError> {
    let query = ExportQuery {
        article: article.map(str::to_owned),
    };
    match export {
        Export::Log => {
            let mut out = Vec::new();
            // Served over HTTP: without token hashes.
            let secrets = crate::backup::Secrets::Omit;
            crate::backup::dump(&state.desk.store().log, &mut out, secrets)
                .map_err(ApiError::internal)?;
            Ok(("application/x-ndjson", out))
        }
        Export::Annotations => Ok((JSONLD, collection_body(state, &query)?.into_bytes())),
        Export::Csv => Ok((
            "text/csv; charset=utf-8",
            csv_body(state, &query)?.into_bytes(),
        )),
        Export::ClaimReview => Ok((
            "application/ld+json",
            claim_review_body(state, &query)?.into_bytes(),
        )),
    }
}

async fn respond(
    state: web::Data<AppState>,
    export: Export,
    article: Option<String>,
    filename: Option<&'static str>,
) -> Result<HttpResponse, ApiError> {
    let (content_type, body) = web::block(move || render(&state, export, article.as_deref()))
        .await
        .map_err(ApiError::internal)??;
    let mut response = HttpResponse::Ok();
    response.content_type(content_type);
    if let Some(name) = filename {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ));
    }
    Ok(response.body(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    article: Option<String>,
}

/// Every event, one JSON object per line; `glossa restore` rebuilds a data directory from it.
async fn log_dump(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    respond(state, Export::Log, None, Some("glossa-log.ndjson")).await
}

async fn collection(
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    respond(state, Export::Annotations, query.into_inner().article, None).await
}

async fn csv(
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    respond(
        state,
        Export::Csv,
        query.into_inner().article,
        Some("annotations.csv"),
    )
    .await
}

async fn claim_review(
    state: web::Data<AppState>,
    query: web::Query<ExportQuery>,
    _caller: Caller,
) -> Result<HttpResponse, ApiError> {
    respond(state, Export::ClaimReview, query.into_inner().article, None).await
}

fn rows(
    state: &AppState,
    query: &ExportQuery,
) -> Result<(Option<ArticleId>, Vec<AnnotationRow>), ApiError> {
    let article = query
        .article
        .as_deref()
        .map(|raw| {
            ArticleId::parse(raw)
                .map_err(|_| ApiError::NotFound(format!("article {raw:?} does not exist")))
        })
        .transpose()?;
    if let Some(article) = &article {
        state.desk.article(article)?;
    }
    let rows = state.desk.list(&Filter {
        article: article.clone(),
        ..Filter::default()
    })?;
    Ok((article, rows))
}

/// All annotations (of one article, or of the desk) as one AnnotationCollection.
fn collection_body(state: &AppState, query: &ExportQuery) -> Result<String, ApiError> {
    let (article, rows) = rows(state, query)?;
    let base = state.renderer.base();
    let id = match &article {
        Some(a) => format!("{base}/api/export/annotations?article={a}"),
        None => format!("{base}/api/export/annotations"),
    };
    let label = match &article {
        Some(a) => format!("Annotations on {a}"),
        None => "All annotations".to_owned(),
    };
    let page_iri = |n: usize| format!("{id}#page-{n}");
    let view = Page {
        container: &id,
        label: &label,
        total: rows.len(),
        page: 0,
        last_page: 0,
        page_iri: &page_iri,
        items: &rows,
        start_index: 0,
        iris: false,
        modified: rows
            .iter()
            .map(|r| r.annotation.modified)
            .max()
            .map(timestamp),
    };
    Ok(state.renderer.collection(&view, false).to_string())
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// One row per annotation, for desk reports in a spreadsheet.
fn csv_body(state: &AppState, query: &ExportQuery) -> Result<String, ApiError> {
    let (_, rows) = rows(state, query)?;
    let mut out = String::from(
        "id,article,kind,status,verdict,assignee,creator,created,modified,quote,note,replies\n",
    );
    for row in &rows {
        let a = &row.annotation;
        let fields = [
            a.id.to_string(),
            a.home_article().to_string(),
            a.kind.as_str().to_owned(),
            a.status.as_str().to_owned(),
            a.verdict
                .map(Verdict::as_str)
                .unwrap_or_default()
                .to_owned(),
            a.assignee
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            a.creator.to_string(),
            timestamp(a.created),
            timestamp(a.modified),
            a.targets[0].quote.exact.clone(),
            a.body.clone(),
            a.replies.len().to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// Fact-checks as schema.org ClaimReview, the format search engines and fact-check
/// aggregators read.
fn claim_review_body(state: &AppState, query: &ExportQuery) -> Result<String, ApiError> {
    let (_, rows) = rows(state, query)?;
    let base = state.renderer.base();
    let mut reviews = Vec::new();
    for row in rows.iter().filter(|r| r.annotation.kind == Kind::FactCheck) {
        let a = &row.annotation;
        let Some(verdict) = a.verdict else { continue };
        // A fact-check linked to a claim reviews the claim, wherever it appears.
        let claim = state.desk.claims_of(&a.id)?.into_iter().next();
        let mut articles: Vec<&crate::domain::ArticleId> = Vec::new();
        let linked: Vec<crate::store::AnnotationRow> = match &claim {
            Some(claim) => claim
                .annotations
                .iter()
                .filter_map(|id| state.desk.row(id).ok())
                .filter(|r| !r.annotation.deleted)
                .collect(),
            None => Vec::new(),
        };
        for target in a
            .targets
            .iter()
            .chain(linked.iter().flat_map(|r| r.annotation.targets.iter()))
        {
            if !articles.contains(&&target.article) {
                articles.push(&target.article);
            }
        }
        let mut appearances = Vec::new();
        for article_id in articles {
            let article = state.desk.article(article_id)?;
            let mut appearance = json!({
                "@type": "CreativeWork",
                "url": article.url.clone().unwrap_or_else(|| format!("{base}/articles/{}", article.id)),
            });
            if let Some(title) = &article.title {
                appearance["headline"] = title.clone().into();
            }
            if let Some(outlet) = &article.outlet {
                appearance["publisher"] = json!({ "@type": "Organization", "name": outlet });
            }
            appearances.push(appearance);
        }
        let mut item = json!({
            "@type": "Claim",
            "appearance": appearances,
            "firstAppearance": appearances.first().cloned().unwrap_or(Value::Null),
        });
        let mut claim_reviewed = a.targets[0].quote.exact.clone();
        if let Some(claim) = &claim {
            item["@id"] = format!("{base}/api/claims/{}", claim.id).into();
            item["name"] = claim.text.clone().into();
            if let Some(claimant) = &claim.claimant {
                item["author"] = json!({ "@type": "Person", "name": claimant });
            }
            claim_reviewed = claim.text.clone();
        }
        let author = state
            .users
            .display_name(&a.creator)
            .unwrap_or_else(|| a.creator.to_string());
        reviews.push(json!({
            "@type": "ClaimReview",
            "url": state.renderer.annotation_iri(a.id.as_str()),
            "datePublished": a.created.format("%Y-%m-%d").to_string(),
            "dateModified": timestamp(a.modified),
            "author": { "@type": "Person", "name": author, "url": state.renderer.user_iri(&a.creator) },
            "claimReviewed": claim_reviewed,
            "reviewBody": a.body,
            "reviewRating": {
                "@type": "Rating",
                "ratingValue": verdict.rating(),
                "bestRating": Verdict::BEST_RATING,
                "worstRating": Verdict::WORST_RATING,
                "alternateName": verdict.as_str(),
            },
            "itemReviewed": item,
        }));
    }
    Ok(json!({ "@context": "https://schema.org", "@graph": reviews }).to_string())
}
