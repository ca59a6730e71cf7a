//! Annotation, collection and page JSON-LD.

use serde_json::{json, Map, Value};

use crate::clock::timestamp;
use crate::domain::{Annotation, ArticleId, Kind, Target, UserName};
use crate::identity::Users;
use crate::store::{AnnotationRow, ReadModel};

pub const ANNO_CONTEXT: &str = "http://www.w3.org/ns/anno.jsonld";
pub const LDP_CONTEXT: &str = "http://www.w3.org/ns/ldp.jsonld";

/// The inline context that defines Glossa's extension terms.
fn glossa_context() -> Value {
    json!({
        "glossa": "urn:glossa:vocab#",
        "kind": "glossa:kind",
        "verdict": "glossa:verdict",
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
        let state = article
            .versions
            .iter()
            .find(|v| v.number == t.version)
            .map(|v| {
                json!({
                    "type": "TimeState",
                    "sourceDate": timestamp(v.ingested),
                    "cached": self.version_url(&t.article, t.version),
                })
            });
        let latest = article.latest().map_or(t.version, |v| v.number);
        if latest <= t.version {
            return (state, None);
        }
        let found = rm.anchors(&a.id).ok().and_then(|rows| {
            rows.into_iter()
                .find(|r| r.article == t.article && r.version == latest)
                .and_then(|r| r.anchors.into_iter().find(|x| x.target == index))
        });
        let mut anchor = json!({
            "version": latest,
            "source": self.version_url(&t.article, latest),
        });
        match found {
            None => anchor["status"] = "pending".into(),
            Some(found) => {
                let x = found.anchor;
                anchor["status"] = x.status.as_str().into();
                if let (Some(quote), Some(position)) = (&x.quote, x.position) {
                    anchor["selector"] = json!([
                        {
                            "type": "TextQuoteSelector",
                            "exact": quote.exact,
                            "prefix": quote.prefix,
                            "suffix": quote.suffix,
                        },
                        { "type": "TextPositionSelector", "start": position.start, "end": position.end }
                    ]);
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
            }
        }
        (state, Some(anchor))
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
        if !bodies.is_empty() {
            out.insert("body".into(), Value::Array(bodies));
        }
        let targets: Vec<Value> = a
            .targets
            .iter()
            .enumerate()
            .map(|(index, t)| {
                let (state, anchor) = self.placement(a, index, t);
                let mut target = json!({
                    "type": "SpecificResource",
                    "source": format!("{}/articles/{}/versions/{}", self.base, t.article, t.version),
                    "selector": [
                        {
                            "type": "TextQuoteSelector",
                            "exact": t.quote.exact,
                            "prefix": t.quote.prefix,
                            "suffix": t.quote.suffix,
                        },
                        {
                            "type": "TextPositionSelector",
                            "start": t.position.start,
                            "end": t.position.end,
                        }
                    ]
                });
                if let Some(state) = state {
                    target["state"] = state;
                }
                if let Some(anchor) = anchor {
                    target["anchor"] = anchor;
                }
                target
            })
            .collect();
        out.insert("target".into(), Value::Array(targets));
        out.insert("status".into(), a.status.as_str().into());
        if let Some(verdict) = a.verdict {
            out.insert("verdict".into(), verdict.as_str().into());
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
        let replies: Vec<Value> = a
            .replies
            .iter()
            .map(|r| {
                let mut reply = json!({
                    "id": format!("{}#reply-{}", self.annotation_iri(a.id.as_str()), r.id),
                    "creator": self.agent(&r.creator),
                    "created": timestamp(r.created),
                    "text": r.text,
                });
                if let Some(parent) = &r.parent {
                    reply["parent"] =
                        format!("{}#reply-{parent}", self.annotation_iri(a.id.as_str())).into();
                }
                reply
            })
            .collect();
        out.insert("replies".into(), Value::Array(replies));
        if let Some(canonical) = &a.canonical {
            out.insert("canonical".into(), canonical.clone().into());
        }
        if let Some(via) = &a.via {
            out.insert("via".into(), via.clone().into());
        }
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
