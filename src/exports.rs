//! The desk's exports: annotations as one W3C AnnotationCollection or as CSV for desk reports,
//! fact-checks as schema.org ClaimReview, and the whole log as NDJSON.
//!
//! Rendered from the desk, the renderer and the users, and nothing else: the HTTP handlers
//! and `glossa export --data-dir` (which opens a data directory with no server) share this.

use serde_json::{json, Value};

use crate::backup::Secrets;
use crate::clock::timestamp;
use crate::desk::{Desk, DeskError};
use crate::domain::{ArticleId, Kind, Verdict};
use crate::identity::Users;
use crate::store::{AnnotationRow, Filter};
use crate::w3c::{Page, Renderer};

/// The media type of W3C annotations in JSON-LD.
const JSONLD: &str = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"";

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

/// What an export reads: the desk, and how annotations and people are rendered.
pub struct Exporter<'a> {
    pub desk: &'a Desk,
    pub renderer: &'a Renderer,
    pub users: &'a Users,
}

impl Exporter<'_> {
    /// Renders an export of the whole desk or of one `article`: its media type and bytes.
    /// The log never carries token hashes here ([`Secrets::Omit`]).
    pub fn render(
        &self,
        export: Export,
        article: Option<&str>,
    ) -> Result<(&'static str, Vec<u8>), DeskError> {
        match export {
            Export::Log => {
                let mut out = Vec::new();
                self.desk.dump(&mut out, Secrets::Omit)?;
                Ok(("application/x-ndjson", out))
            }
            Export::Annotations => Ok((JSONLD, self.collection_body(article)?.into_bytes())),
            Export::Csv => Ok((
                "text/csv; charset=utf-8",
                self.csv_body(article)?.into_bytes(),
            )),
            Export::ClaimReview => Ok((
                "application/ld+json",
                self.claim_review_body(article)?.into_bytes(),
            )),
        }
    }
}

impl Exporter<'_> {
    fn rows(
        &self,
        article: Option<&str>,
    ) -> Result<(Option<ArticleId>, Vec<AnnotationRow>), DeskError> {
        let article = article
            .map(|raw| {
                ArticleId::parse(raw)
                    .map_err(|_| DeskError::NotFound(format!("article {raw:?} does not exist")))
            })
            .transpose()?;
        if let Some(article) = &article {
            self.desk.article(article)?;
        }
        let rows = self.desk.list(&Filter {
            article: article.clone(),
            ..Filter::default()
        })?;
        Ok((article, rows))
    }

    /// All annotations (of one article, or of the desk) as one AnnotationCollection.
    fn collection_body(&self, article: Option<&str>) -> Result<String, DeskError> {
        let (article, rows) = self.rows(article)?;
        let base = self.renderer.base();
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
        Ok(self.renderer.collection(&view, false).to_string())
    }

    /// One row per annotation, for desk reports in a spreadsheet.
    fn csv_body(&self, article: Option<&str>) -> Result<String, DeskError> {
        let (_, rows) = self.rows(article)?;
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
    fn claim_review_body(&self, article: Option<&str>) -> Result<String, DeskError> {
        let (_, rows) = self.rows(article)?;
        let base = self.renderer.base();
        let mut reviews = Vec::new();
        for row in rows.iter().filter(|r| r.annotation.kind == Kind::FactCheck) {
            let a = &row.annotation;
            let Some(verdict) = a.verdict else { continue };
            // A fact-check linked to a claim reviews the claim, wherever it appears.
            let claim = self.desk.claims_of(&a.id)?.into_iter().next();
            let mut articles: Vec<&crate::domain::ArticleId> = Vec::new();
            let linked: Vec<crate::store::AnnotationRow> = match &claim {
                Some(claim) => claim
                    .annotations
                    .iter()
                    .filter_map(|id| self.desk.row(id).ok())
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
                let article = self.desk.article(article_id)?;
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
            let author = self
                .users
                .display_name(&a.creator)
                .unwrap_or_else(|| a.creator.to_string());
            reviews.push(json!({
            "@type": "ClaimReview",
            "url": self.renderer.annotation_iri(a.id.as_str()),
            "datePublished": a.created.format("%Y-%m-%d").to_string(),
            "dateModified": timestamp(a.modified),
            "author": { "@type": "Person", "name": author, "url": self.renderer.user_iri(&a.creator) },
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
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}
