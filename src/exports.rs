//! The desk's exports: annotations as one W3C AnnotationCollection or as CSV for desk reports,
//! fact-checks as schema.org ClaimReview, and the whole log as NDJSON.
//!
//! Rendered from the desk, the renderer and the users, and nothing else: the HTTP handlers
//! and `glossa export --data-dir` (which opens a data directory with no server) share this.

use serde_json::{json, Value};

use crate::backup::Secrets;
use crate::clock::timestamp;
use crate::desk::{Desk, DeskError};
use crate::domain::{Annotation, ArticleId, ClaimantType, Kind, Verdict};
use crate::identity::Users;
use crate::store::{AnnotationRow, ClaimRow, Filter};
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
        let mut reviews = Vec::new();
        for row in rows.iter().filter(|r| r.annotation.kind == Kind::FactCheck) {
            let a = &row.annotation;
            let Some(verdict) = a.verdict else { continue };
            reviews.push(self.claim_review(a, verdict)?);
        }
        Ok(json!({ "@context": "https://schema.org", "@graph": reviews }).to_string())
    }

    /// One fact-check as a schema.org ClaimReview, as Google's ClaimReview guidance asks:
    /// `claimReviewed` is the fact-check's claim summary when it has one (else a linked claim's
    /// text, else the quoted passage of its first target); `itemReviewed` is a `Claim` with its
    /// `author` (the fact-check's claimant, else the linked claim's), `datePublished` (when the
    /// claim was made), `appearance` and `firstAppearance`; `reviewRating` has a `ratingValue`
    /// within `worstRating`..`bestRating`, or, for a verdict off the scale (unverifiable), only
    /// its `alternateName`. Each rating's `description` states the scale.
    fn claim_review(&self, a: &Annotation, verdict: Verdict) -> Result<Value, DeskError> {
        let base = self.renderer.base();
        let claim = self.desk.claims_of(&a.id)?.into_iter().next();
        let appearances = self
            .reviewed_articles(a, claim.as_ref())
            .iter()
            .map(|id| self.appearance(id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut item = json!({
            "@type": "Claim",
            "appearance": appearances,
            "firstAppearance": appearances.first().cloned().unwrap_or(Value::Null),
        });
        let origin = a.claim.as_deref();
        let mut claim_reviewed = a.targets[0].quote.exact.clone();
        if let Some(claim) = &claim {
            item["@id"] = format!("{base}/api/claims/{}", claim.id).into();
            item["name"] = claim.text.clone().into();
            if let Some(claimant) = &claim.claimant {
                let kind = claim.claimant_type.unwrap_or(ClaimantType::Person);
                item["author"] = json!({ "@type": kind.as_str(), "name": claimant });
                if let Some(url) = &claim.claimant_url {
                    item["author"]["url"] = url.clone().into();
                }
            }
            if let Some(date) = &claim.claim_date {
                item["datePublished"] = date.clone().into();
            }
            claim_reviewed = claim.text.clone();
        }
        if let Some(claimant) = origin.and_then(|o| o.claimant.as_ref()) {
            let mut author = json!({
                "@type": claimant.kind.unwrap_or(ClaimantType::Person).as_str(),
                "name": claimant.name,
            });
            if let Some(url) = &claimant.url {
                author["url"] = url.clone().into();
            }
            item["author"] = author;
        }
        if let Some(date) = origin.and_then(|o| o.date.as_ref()) {
            item["datePublished"] = date.clone().into();
        }
        if let Some(summary) = origin.and_then(|o| o.summary.as_ref()) {
            claim_reviewed = summary.clone();
        }
        let author = self
            .users
            .display_name(&a.creator)
            .unwrap_or_else(|| a.creator.to_string());
        Ok(json!({
            "@type": "ClaimReview",
            "url": self.renderer.annotation_iri(a.id.as_str()),
            "datePublished": a.created.format("%Y-%m-%d").to_string(),
            "dateModified": timestamp(a.modified),
            "author": { "@type": "Person", "name": author, "url": self.renderer.user_iri(&a.creator) },
            "claimReviewed": claim_reviewed,
            "reviewBody": a.body,
            "reviewRating": rating(verdict),
            "itemReviewed": item,
        }))
    }

    /// The articles a review covers, each once, in order of first mention: the fact-check's
    /// own targets, then those of the live annotations linked to the same claim.
    fn reviewed_articles(&self, a: &Annotation, claim: Option<&ClaimRow>) -> Vec<ArticleId> {
        let linked: Vec<AnnotationRow> = match claim {
            Some(claim) => claim
                .annotations
                .iter()
                .filter_map(|id| self.desk.row(id).ok())
                .filter(|r| !r.annotation.deleted)
                .collect(),
            None => Vec::new(),
        };
        let mut articles: Vec<ArticleId> = Vec::new();
        for target in a
            .targets
            .iter()
            .chain(linked.iter().flat_map(|r| r.annotation.targets.iter()))
        {
            if !articles.contains(&target.article) {
                articles.push(target.article.clone());
            }
        }
        articles
    }

    /// Where a claim appeared: the article's own URL (or its page on this desk), its headline
    /// and its outlet.
    fn appearance(&self, id: &ArticleId) -> Result<Value, DeskError> {
        let base = self.renderer.base();
        let article = self.desk.article(id)?;
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
        Ok(appearance)
    }
}

/// How the numbers of `reviewRating` read, stated in every rating (schema.org `description`).
pub const RATING_SCALE: &str = "Glossa's rating scale: 5 true, 4 mostly true, 3 mixed, 2 mostly false or misleading, 1 false (worstRating 1, bestRating 5). Unverifiable is not on the scale: it has no ratingValue, only its alternateName.";

/// A verdict as a schema.org Rating: on the scale with its number, off it (unverifiable) with
/// its name alone.
fn rating(verdict: Verdict) -> Value {
    let mut rating = json!({
        "@type": "Rating",
        "alternateName": verdict_label(verdict),
        "description": RATING_SCALE,
    });
    if let Some(value) = verdict.rating() {
        rating["ratingValue"] = value.into();
        rating["bestRating"] = Verdict::BEST_RATING.into();
        rating["worstRating"] = Verdict::WORST_RATING.into();
    }
    rating
}

/// A verdict in words, as readers see it (`alternateName` is human-readable).
fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::True => "True",
        Verdict::MostlyTrue => "Mostly true",
        Verdict::Mixed => "Mixed",
        Verdict::MostlyFalse => "Mostly false",
        Verdict::False => "False",
        Verdict::Misleading => "Misleading",
        Verdict::Unverifiable => "Unverifiable",
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}
