//! Everything the API emits for the seed data passes the W3C annotation-model schemas.

use reqwest::Method;
use serde_json::Value;

use crate::conformance::{
    annotation_must_failures, collection_must_failures, extra_failures, page_must_failures,
};
use crate::helpers::{spawn_app, TestApp, ALICE, DESK_ANNOTATIONS};

const MINIMAL: &str =
    "return=representation;include=\"http://www.w3.org/ns/ldp#PreferMinimalContainer\"";

fn assert_annotation_conforms(annotation: &Value) {
    let mut failures = annotation_must_failures(annotation);
    failures.extend(extra_failures(annotation));
    assert!(failures.is_empty(), "{}: {failures:#?}", annotation["id"]);
}

async fn get(app: &TestApp, url: &str, prefer: Option<&str>) -> Value {
    let mut request = app.client.request(Method::GET, url).bearer_auth(ALICE);
    if let Some(prefer) = prefer {
        request = request.header("Prefer", prefer);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

/// Walks a container: checks it, every page, and every annotation (embedded and on its own).
async fn check_container(app: &TestApp, url: &str) -> usize {
    let container = get(app, url, None).await;
    let failures = collection_must_failures(&container);
    assert!(failures.is_empty(), "{url}: {failures:#?}");
    let minimal = get(app, url, Some(MINIMAL)).await;
    let failures = collection_must_failures(&minimal);
    assert!(failures.is_empty(), "{url} (minimal): {failures:#?}");
    let mut checked = 0;
    let mut next = container["first"]["id"].as_str().map(str::to_owned);
    while let Some(page_url) = next {
        let page = get(app, &page_url, None).await;
        let failures = page_must_failures(&page);
        assert!(failures.is_empty(), "{page_url}: {failures:#?}");
        for item in page["items"].as_array().unwrap() {
            // Embedded annotations take their context from the page; check them with it.
            let mut embedded = item.clone();
            embedded["@context"] = page["@context"].clone();
            assert_annotation_conforms(&embedded);
            let own = get(app, item["id"].as_str().unwrap(), None).await;
            assert_annotation_conforms(&own);
            checked += 1;
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    checked
}

#[tokio::test]
async fn every_annotation_collection_and_page_passes_the_w3c_musts() {
    let app = spawn_app().await;
    let total = check_container(&app, &app.url("/annotations/?limit=7")).await;
    assert_eq!(total as u64, DESK_ANNOTATIONS);
    let articles = app.get_json("/api/articles").await;
    for article in articles["articles"].as_array().unwrap() {
        check_container(&app, article["annotations"].as_str().unwrap()).await;
    }
}

#[tokio::test]
async fn created_and_updated_annotations_conform_too() {
    let app = spawn_app().await;
    let body = app
        .fact_check_on(crate::helpers::ARTICLE, "26 nations have pledged")
        .await;
    let created: Value = app
        .post_annotation("/annotations/", &body, ALICE)
        .await
        .json()
        .await
        .unwrap();
    assert_annotation_conforms(&created);
    let id = created["id"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let mut changed = body;
    changed["status"] = "in_review".into();
    let updated: Value = app
        .put_annotation(&id, &changed, Some("\"v1\""))
        .await
        .json()
        .await
        .unwrap();
    assert_annotation_conforms(&updated);
    assert_eq!(updated["status"], "in_review");
}
