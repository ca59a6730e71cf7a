//! Annotation, collection and page JSON-LD.

use serde_json::{json, Map, Value};

use crate::clock::timestamp;
use crate::domain::{
    Annotation, ArticleId, Kind, Reply, Target, TargetAnchor, TextPosition, TextQuote, UserName,
};
use crate::identity::Users;
use crate::store::{AnnotationRow, ArticleRow, ReadModel};

pub const ANNO_CONTEXT: &str = "http://www.w3.org/ns/anno.jsonld";
pub const LDP_CONTEXT: &str = "http://www.w3.org/ns/ldp.jsonld";

/// The inline context that defines Glossa's extension terms.
fn glossa_context() -> Value {
    json!({
        "glossa": "urn:glossa:vocab#",
        "kind": "glossa:kind",
        "verdict": "glossa:verdict",
        "claimant": "glossa:claimant",
        "claimDate": "glossa:claimDate",
        "claimSummary": "glossa:claimSummary",
        "editLabel": "glossa:editLabel",
        "status": "glossa:status",
        "assignee": "glossa:assignee",
        "sources": "glossa:sources",
        "replies": "glossa:replies",
        "url": "glossa:url",
        "title": "glossa:title",
        "archived": "glossa:archived",
        "parent": "glossa:parent",
        "text": "glossa:text",
        "anchor": "glossa:anchor",
        "version": "glossa:version",
        "score": "glossa:score",
        "candidates": "glossa:candidates"
    })
}

/// One page of a container listing.
pub struct Page<'a> {
    /// IRI of the container as requested (with its query), e.g. `…/annotations/?iris=0`.
    pub container: &'a str,
    pub label: &'a str,
    pub total: usize,
    pub page: usize,
    pub last_page: usize,
    /// IRI of a page by number.
    pub page_iri: &'a dyn Fn(usize) -> String,
    pub items: &'a [AnnotationRow],
    pub start_index: usize,
    /// Items as IRIs (PreferContainedIRIs) rather than full descriptions.
    pub iris: bool,
    pub modified: Option<String>,
}

/// Renders JSON-LD with absolute IRIs under one base.
#[derive(Clone)]
pub struct Renderer {
    base: String,
    users: Users,
    /// Article versions and anchors, for each target's `TimeState` and current place.
    read_model: Option<ReadModel>,
}

impl Renderer {
    pub fn new(base: &str, users: Users) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            users,
            read_model: None,
        }
    }

    /// Lets targets say when their version was published and where they are in the latest.
    pub fn with_read_model(mut self, read_model: ReadModel) -> Self {
        self.read_model = Some(read_model);
        self
    }

    fn version_url(&self, article: &ArticleId, version: u32) -> String {
        format!("{}/articles/{article}/versions/{version}", self.base)
    }

    /// The target's `state` (the version it was made on, as a W3C `TimeState`) and, when the
    /// article has a newer version, where the target is in it (Glossa's `anchor`).
    fn placement(
        &self,
        a: &Annotation,
        index: usize,
        t: &Target,
    ) -> (Option<Value>, Option<Value>) {
        let Some(rm) = &self.read_model else {
            return (None, None);
        };
        let Ok(Some(article)) = rm.article(&t.article) else {
            return (None, None);
        };
        let state = self.time_state(&article, t);
        let latest = article.latest().map_or(t.version, |v| v.number);
        if latest < t.version {
            return (state, None);
        }
        let found = rm.anchors(&a.id).ok().and_then(|rows| {
            rows.into_iter()
                .find(|r| r.article == t.article && r.version == latest)
                .and_then(|r| r.anchors.into_iter().find(|x| x.target == index))
        });
        // On the version it was made on a target is where its selectors say, unless it was
        // filed there without a place (an import, ADR 0016) and has an anchor of its own.
        if latest == t.version && found.is_none() {
            return (state, None);
        }
        (state, Some(self.anchor_in_latest(t, latest, found)))
    }

    /// The W3C `TimeState` of the version the target was made on, if the article still has it.
    fn time_state(&self, article: &ArticleRow, t: &Target) -> Option<Value> {
        article
            .versions
            .iter()
            .find(|v| v.number == t.version)
            .map(|v| {
                json!({
                    "type": "TimeState",
                    "sourceDate": timestamp(v.ingested),
                    "cached": self.version_url(&t.article, t.version),
                })
            })
    }

    /// Where the target is in the latest version: `pending` until re-anchoring has placed it,
    /// then its status with the selectors, score and candidates that the placement found.
    fn anchor_in_latest(&self, t: &Target, latest: u32, found: Option<TargetAnchor>) -> Value {
        let mut anchor = json!({
            "version": latest,
            "source": self.version_url(&t.article, latest),
        });
        let Some(found) = found else {
            anchor["status"] = "pending".into();
            return anchor;
        };
        let x = found.anchor;
        anchor["status"] = x.status.as_str().into();
        if let (Some(quote), Some(position)) = (&x.quote, x.position) {
            anchor["selector"] = selectors(quote, position);
        }
        if let Some(score) = x.score {
            anchor["score"] = score.into();
        }
        if !x.candidates.is_empty() {
            anchor["candidates"] = x
                .candidates
                .iter()
                .map(|c| json!({ "type": "TextPositionSelector", "start": c.start, "end": c.end }))
                .collect();
        }
        anchor
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn annotation_iri(&self, id: &str) -> String {
        format!("{}/annotations/{id}", self.base)
    }

    pub fn user_iri(&self, name: &UserName) -> String {
        format!("{}/users/{name}", self.base)
    }

    fn agent(&self, name: &UserName) -> Value {
        let mut agent = json!({
            "id": self.user_iri(name),
            "type": "Person",
            "nickname": name.as_str(),
        });
        if let Some(display) = self.users.display_name(name) {
            agent["name"] = Value::String(display);
        }
        agent
    }

    /// The full JSON-LD of an annotation.
    pub fn annotation(&self, annotation: &Annotation) -> Value {
        let mut out = Map::new();
        out.insert("@context".into(), json!([ANNO_CONTEXT, glossa_context()]));
        self.fill(&mut out, annotation);
        Value::Object(out)
    }

    /// An annotation embedded in a page: the context is the page's.
    fn embedded(&self, annotation: &Annotation) -> Value {
        let mut out = Map::new();
        self.fill(&mut out, annotation);
        Value::Object(out)
    }

    fn fill(&self, out: &mut Map<String, Value>, a: &Annotation) {
        out.insert("id".into(), self.annotation_iri(a.id.as_str()).into());
        out.insert("type".into(), "Annotation".into());
        out.insert("motivation".into(), a.kind.motivation().into());
        out.insert("kind".into(), a.kind.as_str().into());
        out.insert("creator".into(), self.agent(&a.creator));
        out.insert("created".into(), timestamp(a.created).into());
        out.insert("modified".into(), timestamp(a.modified).into());
        out.insert(
            "generator".into(),
            json!({ "id": format!("{}/", self.base), "type": "Software", "name": "Glossa" }),
        );
        let bodies = bodies(a);
        if !bodies.is_empty() {
            out.insert("body".into(), Value::Array(bodies));
        }
        let targets = a.targets.iter().enumerate();
        let targets = targets.map(|(index, t)| self.target(a, index, t)).collect();
        out.insert("target".into(), Value::Array(targets));
        out.insert("status".into(), a.status.as_str().into());
        if let Some(verdict) = a.verdict {
            out.insert("verdict".into(), verdict.as_str().into());
        }
        if let Some(claim) = &a.claim {
            if let Some(claimant) = &claim.claimant {
                let mut c = Map::new();
                if let Some(kind) = claimant.kind {
                    c.insert("type".into(), kind.as_str().into());
                }
                c.insert("name".into(), claimant.name.clone().into());
                if let Some(url) = &claimant.url {
                    c.insert("url".into(), url.clone().into());
                }
                out.insert("claimant".into(), Value::Object(c));
            }
            if let Some(date) = &claim.date {
                out.insert("claimDate".into(), date.clone().into());
            }
            if let Some(summary) = &claim.summary {
                out.insert("claimSummary".into(), summary.clone().into());
            }
        }
        if let Some(label) = a.edit_label {
            out.insert("editLabel".into(), label.as_str().into());
        }
        if let Some(assignee) = &a.assignee {
            out.insert("assignee".into(), assignee.as_str().into());
        }
        if !a.sources.is_empty() {
            out.insert("sources".into(), json!(a.sources));
        }
        let replies = a.replies.iter().map(|r| self.reply(a, r)).collect();
        out.insert("replies".into(), Value::Array(replies));
        if let Some(canonical) = &a.canonical {
            out.insert("canonical".into(), canonical.clone().into());
        }
        if let Some(via) = &a.via {
            out.insert("via".into(), via.clone().into());
        }
    }

    /// Target `index` as a SpecificResource on the version it was made on, with its selectors
    /// and, when the read model knows them, its `state` and its `anchor` in the latest version.
    fn target(&self, a: &Annotation, index: usize, t: &Target) -> Value {
        let (state, anchor) = self.placement(a, index, t);
        let mut target = json!({
            "type": "SpecificResource",
            "source": self.version_url(&t.article, t.version),
            "selector": selectors(&t.quote, t.position),
        });
        if let Some(state) = state {
            target["state"] = state;
        }
        if let Some(anchor) = anchor {
            target["anchor"] = anchor;
        }
        target
    }

    /// A reply, identified by a fragment of its annotation's IRI, with its parent's if any.
    fn reply(&self, a: &Annotation, r: &Reply) -> Value {
        let annotation = self.annotation_iri(a.id.as_str());
        let mut reply = json!({
            "id": format!("{annotation}#reply-{}", r.id),
            "creator": self.agent(&r.creator),
            "created": timestamp(r.created),
            "text": r.text,
        });
        if let Some(parent) = &r.parent {
            reply["parent"] = format!("{annotation}#reply-{parent}").into();
        }
        reply
    }

    /// The container (AnnotationCollection + BasicContainer). With `minimal`, no embedded page.
    pub fn collection(&self, page: &Page<'_>, minimal: bool) -> Value {
        let mut out = json!({
            "@context": [ANNO_CONTEXT, LDP_CONTEXT, glossa_context()],
            "id": page.container,
            "type": ["BasicContainer", "AnnotationCollection"],
            "label": page.label,
            "total": page.total,
        });
        if let Some(modified) = &page.modified {
            out["modified"] = modified.clone().into();
        }
        if page.total > 0 {
            out["last"] = (page.page_iri)(page.last_page).into();
            out["first"] = if minimal {
                (page.page_iri)(0).into()
            } else {
                let mut first = self.page_body(page);
                if let Value::Object(map) = &mut first {
                    map.remove("partOf");
                }
                first
            };
        }
        out
    }

    /// One AnnotationPage on its own.
    pub fn page(&self, page: &Page<'_>) -> Value {
        let mut out = self.page_body(page);
        out["@context"] = json!([ANNO_CONTEXT, glossa_context()]);
        out
    }

    fn page_body(&self, page: &Page<'_>) -> Value {
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|row| {
                if page.iris {
                    self.annotation_iri(row.annotation.id.as_str()).into()
                } else {
                    self.embedded(&row.annotation)
                }
            })
            .collect();
        let mut out = json!({
            "id": (page.page_iri)(page.page),
            "type": "AnnotationPage",
            "partOf": {
                "id": page.container,
                "label": page.label,
                "total": page.total,
            },
            "startIndex": page.start_index,
            "items": items,
        });
        if let Some(modified) = &page.modified {
            out["partOf"]["modified"] = modified.clone().into();
        }
        if page.page < page.last_page {
            out["next"] = (page.page_iri)(page.page + 1).into();
        }
        if page.page > 0 {
            out["prev"] = (page.page_iri)(page.page - 1).into();
        }
        out
    }
}

/// The annotation's bodies: the note (its purpose follows the kind), the suggested text, and
/// one body per tag, in that order.
fn bodies(a: &Annotation) -> Vec<Value> {
    let mut bodies = Vec::new();
    if !a.body.is_empty() {
        let purpose = match a.kind {
            Kind::FactCheck => "assessing",
            Kind::Question => "questioning",
            _ => "commenting",
        };
        bodies.push(json!({
            "type": "TextualBody",
            "value": a.body,
            "format": "text/plain",
            "purpose": purpose,
        }));
    }
    if let Some(suggestion) = &a.suggestion {
        bodies.push(json!({
            "type": "TextualBody",
            "value": suggestion,
            "format": "text/plain",
            "purpose": "editing",
        }));
    }
    for tag in &a.tags {
        bodies.push(json!({ "type": "TextualBody", "value": tag, "purpose": "tagging" }));
    }
    bodies
}

/// A passage's selectors: the quote, then the position.
fn selectors(quote: &TextQuote, position: TextPosition) -> Value {
    json!([
        {
            "type": "TextQuoteSelector",
            "exact": quote.exact,
            "prefix": quote.prefix,
            "suffix": quote.suffix,
        },
        { "type": "TextPositionSelector", "start": position.start, "end": position.end }
    ])
}
