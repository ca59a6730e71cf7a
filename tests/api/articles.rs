//! The articles API: reading, ingesting, immutable versions.

use serde_json::json;

use crate::helpers::{spawn_app, ALICE, ARTICLE};

#[tokio::test]
async fn the_seed_articles_are_listed_with_their_documents() {
    let app = spawn_app().await;
    let list = app.get_json("/api/articles").await;
    let articles = list["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 5);
    for article in articles {
        assert!(article["document_url"]
            .as_str()
            .unwrap()
            .starts_with("automerge:"));
        assert_eq!(article["versions"][0]["sha256"].as_str().unwrap().len(), 64);
    }
    let one = app.get_json(&format!("/api/articles/{ARTICLE}")).await;
    assert!(one["text"]
        .as_str()
        .unwrap()
        .starts_with("26 nations pledge"));
    let version = app
        .get_json(&format!("/api/articles/{ARTICLE}/versions/1"))
        .await;
    assert_eq!(version["text"], one["text"]);
    let document = app
        .get_json(&format!("/api/articles/{ARTICLE}/document"))
        .await;
    assert_eq!(document["document_url"], one["document_url"]);
    assert!(!document["heads"].as_array().unwrap().is_empty());
    assert_eq!(app.get("/api/articles/nope").await.status(), 404);
    assert_eq!(
        app.get(&format!("/api/articles/{ARTICLE}/versions/9"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn ingesting_is_idempotent_and_versions_are_immutable() {
    let app = spawn_app().await;
    let article = json!({
        "id": "ceasefire-talks",
        "title": "Ceasefire talks resume",
        "text": "Talks  resumed on Monday.\r\n\r\nBoth sides   met in Geneva.",
    });
    let created = app.post_json("/api/articles", &article, ALICE).await;
    assert_eq!(created.status(), 201);
    let head = app.log_head();
    let again = app.post_json("/api/articles", &article, ALICE).await;
    assert_eq!(again.status(), 200, "the same article again is a no-op");
    assert_eq!(app.log_head(), head);
    let mut different = article.clone();
    different["text"] = "Other text.".into();
    assert_eq!(
        app.post_json("/api/articles", &different, ALICE)
            .await
            .status(),
        409
    );
    assert_eq!(app.log_head(), head);

    let text = app.article_text("ceasefire-talks").await;
    assert_eq!(text, "Talks resumed on Monday.\nBoth sides met in Geneva.");

    // An annotation on version 1 stays pinned to it after version 2 arrives.
    let body = app.fact_check_on("ceasefire-talks", "met in Geneva").await;
    let annotation = app.post_annotation("/annotations/", &body, ALICE).await;
    assert_eq!(annotation.status(), 201);

    let same = app
        .post_json(
            "/api/articles/ceasefire-talks/versions",
            &json!({"text": text}),
            ALICE,
        )
        .await;
    assert_eq!(same.status(), 200, "identical text is a no-op");
    let next = app
        .post_json(
            "/api/articles/ceasefire-talks/versions",
            &json!({"text": "Talks resumed on Tuesday.\nBoth sides met in Geneva."}),
            ALICE,
        )
        .await;
    assert_eq!(next.status(), 201);
    let view: serde_json::Value = next.json().await.unwrap();
    assert_eq!(view["latest_version"], 2);
    assert_eq!(view["versions"].as_array().unwrap().len(), 2);
    let v1 = app
        .get_json("/api/articles/ceasefire-talks/versions/1")
        .await;
    assert_eq!(v1["text"], text);

    let listed = app.get_json("/articles/ceasefire-talks/annotations/").await;
    let source = listed["first"]["items"][0]["target"][0]["source"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(source.ends_with("/articles/ceasefire-talks/versions/1"));

    // The quote from version 1 is not in version 2's text at the same place.
    let mut on_latest = app
        .fact_check_on("ceasefire-talks", "Talks resumed on Tuesday")
        .await;
    on_latest["target"]["source"] = app.url("/articles/ceasefire-talks/versions/1").into();
    assert_eq!(
        app.post_annotation("/annotations/", &on_latest, ALICE)
            .await
            .status(),
        422
    );

    assert_eq!(
        app.post_json(
            "/api/articles",
            &json!({"id": "Bad Id", "text": "x"}),
            ALICE
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        app.post_json(
            "/api/articles",
            &json!({"id": "empty", "text": "  \n "}),
            ALICE
        )
        .await
        .status(),
        422
    );
}
