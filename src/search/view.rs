//! A page of results as JSON, as the API serves it and `glossa search --json` prints it.

use serde_json::{json, Value};

use crate::clock::timestamp;
use crate::domain::ArticleId;

use super::{Hit, SearchPage};

/// The page: the query, how many match, the hits and the cursor of the next page.
pub fn page(
    q: &str,
    page: &SearchPage,
    next: Option<String>,
    item: impl Fn(&Hit) -> Value,
) -> Value {
    json!({
        "q": q,
        "total": page.total,
        "items": page.hits.iter().map(item).collect::<Vec<_>>(),
        "cursor": page.next.map(super::params::cursor),
        "next": next,
        "position": page.position,
    })
}

/// One result as the API shows it: what it is, where, the snippet, and a link into the web UI.
pub fn item(hit: &Hit, base: &str, iri: &str, title: Option<String>) -> Value {
    let mut item = json!({
        "type": hit.kind_of_hit.as_str(),
        "id": hit.id,
        "score": hit.score,
        "article": {
            "id": hit.article,
            "title": title,
        },
        "snippet": hit.snippet,
    });
    match &hit.annotation {
        Some(a) => {
            item["annotation"] = json!(iri);
            item["kind"] = json!(a.kind.as_str());
            item["status"] = json!(a.status.as_str());
            item["verdict"] = json!(a.verdict.map(|v| v.as_str()));
            item["assignee"] = json!(a.assignee);
            item["creator"] = json!(a.creator);
            item["created"] = json!(timestamp(a.created));
            item["tags"] = json!(a.tags);
            let mut articles: Vec<&ArticleId> = a.targets.iter().map(|t| &t.article).collect();
            articles.dedup();
            item["articles"] = json!(articles);
            item["link"] = json!(format!(
                "{base}/#/articles/{}/annotations/{}",
                hit.article, hit.id
            ));
        }
        None => {
            item["link"] = json!(format!("{base}/#/articles/{}", hit.article));
        }
    }
    item
}
