//! A log that stopped taking writes answers 503 with `Retry-After`, on every write path, and
//! says nothing internal.

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, ALICE, ARTICLE, CHIARA};

async fn assert_unavailable(response: Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    assert_eq!(
        response.headers()["retry-after"],
        "5",
        "{what}: a 503 says when to try again"
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 503);
    assert_eq!(
        body["detail"], "the server cannot accept writes right now; try again later",
        "{what}"
    );
}

fn comment(article: &str, exact: &str) -> Value {
    json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "checked twice",
        "target": {
            "source": format!("/articles/{article}"),
            "selector": {"type": "TextQuoteSelector", "exact": exact}
        }
    })
}

#[tokio::test]
async fn writes_to_a_closed_log_are_503_with_retry_after_on_every_path() {
    let app = spawn_app().await;
    // A document already loaded, so its task is there when the log closes.
    let before = app
        .post_annotation(
            "/annotations/",
            &comment(ARTICLE, "26 nations have pledged"),
            ALICE,
        )
        .await;
    assert_eq!(before.status(), 201);
    // An article whose document was never written: its first edit must set the document up.
    let fresh = json!({"id": "not-yet-annotated", "text": "A passage nobody has marked."});
    assert_eq!(
        app.post_json("/api/articles", &fresh, ALICE).await.status(),
        201
    );
    let head = app.log_head();

    app.desk.store().log.close();

    // An edit through an article's document.
    let edit = app
        .post_annotation(
            "/annotations/",
            &comment(ARTICLE, "26 nations have pledged"),
            ALICE,
        )
        .await;
    assert_unavailable(edit, "an annotation").await;
    let first = app
        .post_annotation(
            "/annotations/",
            &comment("not-yet-annotated", "nobody has marked"),
            ALICE,
        )
        .await;
    assert_unavailable(first, "the first annotation of an article").await;
    // The desk's own append: a new article.
    let article = json!({"id": "closed-log", "text": "Nothing is written."});
    let ingest = app.post_json("/api/articles", &article, ALICE).await;
    assert_unavailable(ingest, "an article").await;
    // The access-control stream: a new user.
    let user = json!({"name": "nadia", "role": "editor"});
    let access = app.post_json("/api/users", &user, CHIARA).await;
    assert_unavailable(access, "a user").await;

    assert_eq!(app.log_head(), head, "nothing was written");
}
