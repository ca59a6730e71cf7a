//! Containers: paging, Prefer, filters and the LDP headers.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{spawn_app, ALICE, DESK_ANNOTATIONS};

const MINIMAL: &str =
    "return=representation;include=\"http://www.w3.org/ns/ldp#PreferMinimalContainer\"";
const IRIS: &str = "return=representation;include=\"http://www.w3.org/ns/oa#PreferContainedIRIs\"";

async fn fetch(
    app: &crate::helpers::TestApp,
    path: &str,
    prefer: Option<&str>,
) -> (reqwest::header::HeaderMap, Value) {
    let mut request = app.request(Method::GET, path, Some(ALICE));
    if let Some(prefer) = prefer {
        request = request.header("Prefer", prefer);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    (headers, response.json().await.unwrap())
}

#[tokio::test]
async fn the_container_pages_through_every_annotation() {
    let app = spawn_app().await;
    let (headers, container) = fetch(&app, "/annotations/?limit=5", None).await;
    let link = headers["link"].to_str().unwrap();
    assert!(link.contains("<http://www.w3.org/ns/ldp#BasicContainer>; rel=\"type\""));
    assert!(link.contains("rel=\"http://www.w3.org/ns/ldp#constrainedBy\""));
    assert!(headers["allow"].to_str().unwrap().contains("POST"));
    assert!(headers["accept-post"]
        .to_str()
        .unwrap()
        .contains("application/ld+json"));
    assert_eq!(headers["vary"], "Accept, Prefer");
    assert!(headers.contains_key("etag"));
    assert_eq!(
        headers["content-location"].to_str().unwrap(),
        container["id"]
    );
    assert_eq!(container["total"], DESK_ANNOTATIONS);
    assert_eq!(
        container["type"],
        serde_json::json!(["BasicContainer", "AnnotationCollection"])
    );
    let first = &container["first"];
    assert_eq!(first["items"].as_array().unwrap().len(), 5);
    assert_eq!(first["startIndex"], 0);

    // Follow `next` to the end and collect every id exactly once.
    let mut seen = Vec::new();
    let mut next = Some(first["id"].as_str().unwrap().to_owned());
    let mut pages = 0;
    while let Some(url) = next {
        let path = url.strip_prefix(&app.base).unwrap().to_owned();
        let (page_headers, page) = fetch(&app, &path, None).await;
        assert_eq!(
            page_headers["content-location"].to_str().unwrap(),
            page["id"]
        );
        assert_eq!(page["type"], "AnnotationPage");
        assert_eq!(page["partOf"]["total"], DESK_ANNOTATIONS);
        if pages > 0 {
            assert!(page["prev"].is_string());
        }
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        next = page["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    let expected_pages = DESK_ANNOTATIONS.div_ceil(5);
    assert_eq!(pages, expected_pages);
    assert_eq!(
        container["last"],
        format!(
            "{}/annotations/?page={}&limit=5",
            app.base,
            expected_pages - 1
        )
    );
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len() as u64, DESK_ANNOTATIONS);
    assert_eq!(app.get("/annotations/?page=9").await.status(), 404);
    assert_eq!(app.get("/annotations/?limit=100000").await.status(), 400);
}

#[tokio::test]
async fn prefer_minimal_and_iris_shape_the_container() {
    let app = spawn_app().await;
    let (headers, minimal) = fetch(&app, "/annotations/", Some(MINIMAL)).await;
    assert!(
        minimal["first"].is_string(),
        "a minimal container links its first page"
    );
    assert!(minimal["last"].is_string());
    assert!(minimal.get("items").is_none());
    assert!(headers["vary"].to_str().unwrap().contains("Prefer"));
    let (_, iris) = fetch(&app, "/annotations/", Some(IRIS)).await;
    let items = iris["first"]["items"].as_array().unwrap();
    assert!(items.iter().all(Value::is_string));
    assert!(iris["id"].as_str().unwrap().contains("iris=1"));
    let (_, descriptions) = fetch(&app, "/annotations/", None).await;
    assert!(descriptions["first"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(Value::is_object));
}

#[tokio::test]
async fn article_containers_and_filters_select_annotations() {
    let app = spawn_app().await;
    let (_, article) = fetch(
        &app,
        "/articles/macron-us-guarantees-nato/annotations/",
        None,
    )
    .await;
    let items = article["first"]["items"].as_array().unwrap();
    assert_eq!(article["total"].as_u64().unwrap() as usize, items.len());
    for item in items {
        let targets = item["target"].as_array().unwrap();
        assert!(targets.iter().any(|t| t["source"]
            .as_str()
            .unwrap()
            .contains("/articles/macron-us-guarantees-nato/")));
    }
    // The contradiction is listed under both articles it links.
    for article in ["macron-us-support-finalised", "twenty-six-nations-pledge"] {
        let (_, listing) = fetch(
            &app,
            &format!("/articles/{article}/annotations/?kind=contradiction&iris=1"),
            None,
        )
        .await;
        assert_eq!(listing["total"], 1, "{article}");
    }
    let (_, resolved) = fetch(&app, "/annotations/?status=resolved", None).await;
    for item in resolved["first"]["items"].as_array().unwrap() {
        assert_eq!(item["status"], "resolved");
    }
    let (_, assigned) = fetch(&app, "/annotations/?assignee=chiara&kind=correction", None).await;
    assert!(assigned["total"].as_u64().unwrap() > 0);
    for item in assigned["first"]["items"].as_array().unwrap() {
        assert_eq!(item["assignee"], "chiara");
        assert_eq!(item["kind"], "correction");
    }
    assert_eq!(app.get("/annotations/?status=closed").await.status(), 400);
    assert_eq!(app.get("/articles/nope/annotations/").await.status(), 404);
}

#[tokio::test]
async fn pages_do_not_take_posts() {
    let app = spawn_app().await;
    let body = app
        .fact_check_on(crate::helpers::ARTICLE, "26 nations have pledged")
        .await;
    let response = app
        .post_annotation("/annotations/?page=0", &body, ALICE)
        .await;
    assert_eq!(response.status(), 405);
    let wrong_article = app
        .post_annotation(
            "/articles/macron-turning-point-trump/annotations/",
            &body,
            ALICE,
        )
        .await;
    assert_eq!(wrong_article.status(), 400);
    let right = app
        .post_annotation(
            &format!("/articles/{}/annotations/", crate::helpers::ARTICLE),
            &body,
            ALICE,
        )
        .await;
    assert_eq!(right.status(), 201);
}

#[tokio::test]
async fn head_options_and_content_negotiation() {
    let app = spawn_app().await;
    let head = app
        .request(Method::HEAD, "/annotations/", Some(ALICE))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("etag"));
    assert!(head.headers()["link"]
        .to_str()
        .unwrap()
        .contains("BasicContainer"));
    let options = app
        .request(Method::OPTIONS, "/annotations/", None)
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 200);
    assert!(options.headers()["allow"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let turtle = app
        .request(Method::GET, "/annotations/", Some(ALICE))
        .header("Accept", "text/turtle")
        .send()
        .await
        .unwrap();
    assert_eq!(turtle.status(), 406);
    let patch = app
        .request(Method::PATCH, "/annotations/", Some(ALICE))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 405);
}

#[tokio::test]
async fn metrics_are_exposed_for_prometheus() {
    let app = spawn_app().await;
    assert_eq!(app.get("/annotations/seed-004-kiev").await.status(), 200);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "glossa_events_appended_total",
        "glossa_append_batches_total",
        "glossa_batch_events_bucket",
        "glossa_fsync_seconds_count",
        "glossa_sync_peers",
        "glossa_documents_loaded",
        "glossa_changes_rejected_total",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    assert!(
        text.contains("route=\"/annotations/{id}\""),
        "latency by route pattern"
    );
    let appended = text
        .lines()
        .find_map(|l| l.strip_prefix("glossa_events_appended_total "))
        .unwrap();
    assert!(appended.parse::<u64>().unwrap() > 0);
}
