//! The house style: a desk-wide term list whose variants become tag annotations in every
//! article version, kept up to date as versions arrive.

use glossa::desk::HOUSE_STYLE;
use glossa::domain::{ArticleId, Status};
use glossa::store::Filter;
use serde_json::json;

use crate::helpers::{detail, spawn_app, TestApp, ALICE, HOUSE_STYLE_TAGS};

const FINALISED: &str = "macron-us-support-finalised";
const CHIARA: &str = "demo-chiara-token";

/// House-style tags on an article: (quote, status), in creation order.
fn house_style(app: &TestApp, article: &str) -> Vec<(String, Status)> {
    app.desk
        .list(&Filter {
            article: Some(ArticleId::parse(article).unwrap()),
            ..Filter::default()
        })
        .unwrap()
        .into_iter()
        .filter(|row| row.annotation.tags.iter().any(|t| t == HOUSE_STYLE))
        .map(|row| {
            (
                row.annotation.targets[0].quote.exact.clone(),
                row.annotation.status,
            )
        })
        .collect()
}

#[tokio::test]
async fn the_default_term_list_flags_every_untagged_variant() {
    let app = spawn_app().await;
    let rules = app.get_json("/api/style-rules").await;
    let ids: Vec<&str> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["zelensky", "kyiv", "nato"]);
    let all: usize = app.get_json("/api/articles").await["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| house_style(&app, a["id"].as_str().unwrap()).len())
        .sum();
    assert_eq!(all as u64, HOUSE_STYLE_TAGS);
    let finalised = house_style(&app, FINALISED);
    assert!(finalised.iter().all(|(quote, status)| {
        (quote == "Zelenskyy" || quote == "Nato") && *status == Status::Open
    }));
    // "Kiev" in twenty-six-nations-pledge already had a person's tag: not flagged twice.
    assert!(house_style(&app, "twenty-six-nations-pledge").is_empty());
}

#[tokio::test]
async fn a_new_version_resolves_fixed_words_and_flags_new_ones() {
    let app = spawn_app().await;
    let before = house_style(&app, FINALISED).len();
    let zelenskyy = house_style(&app, FINALISED)
        .iter()
        .filter(|(q, _)| q == "Zelenskyy")
        .count();
    let text = app.article_text(FINALISED).await;
    let fixed = format!(
        "{}\nThe leaders met again in Kiev.",
        text.replace("Zelenskyy", "Zelensky")
    );
    let published = app
        .post_json(
            &format!("/api/articles/{FINALISED}/versions"),
            &json!({ "text": fixed }),
            ALICE,
        )
        .await;
    assert_eq!(published.status(), 201);
    let body: serde_json::Value = published.json().await.unwrap();
    assert_eq!(body["style"]["flagged"], 1);
    assert_eq!(body["style"]["resolved"], zelenskyy);

    let after = house_style(&app, FINALISED);
    assert_eq!(after.len(), before + 1);
    let resolved = after.iter().filter(|(_, s)| *s == Status::Resolved).count();
    assert_eq!(resolved, zelenskyy);
    assert!(after.iter().any(|(q, s)| q == "Kiev" && *s == Status::Open));
    // Publishing the same text again changes nothing.
    let again = app
        .post_json(
            &format!("/api/articles/{FINALISED}/versions"),
            &json!({ "text": app.article_text(FINALISED).await }),
            ALICE,
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(house_style(&app, FINALISED).len(), before + 1);
}

#[tokio::test]
async fn only_an_admin_changes_the_term_list_and_bad_lists_change_nothing() {
    let app = spawn_app().await;
    let new_rule = json!({ "rules": [
        { "id": "kyiv", "preferred": "Kyiv", "variants": ["Kiev"] },
        { "id": "oblast", "preferred": "Donetsk region", "variants": ["Donetsk Oblast"] }
    ]});
    let editor = app
        .request(reqwest::Method::PUT, "/api/style-rules", Some(ALICE))
        .json(&new_rule)
        .send()
        .await
        .unwrap();
    assert_eq!(editor.status(), 403);
    assert!(detail(editor).await.contains("only an admin"));

    let head = app.log_head();
    for bad in [
        json!({ "rules": [{ "id": "Bad Id", "preferred": "x", "variants": ["y"] }] }),
        json!({ "rules": [{ "id": "same", "preferred": "Kyiv", "variants": ["Kyiv"] }] }),
        json!({ "rules": [{ "id": "none", "preferred": "Kyiv", "variants": [] }] }),
        json!({ "rules": [{ "id": "x", "preferred": "Kyiv" }] }),
    ] {
        let response = app
            .request(reqwest::Method::PUT, "/api/style-rules", Some(CHIARA))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 422 || response.status() == 400,
            "{bad}: {}",
            response.status()
        );
    }
    assert_eq!(app.log_head(), head);

    let admin = app
        .request(reqwest::Method::PUT, "/api/style-rules", Some(CHIARA))
        .json(&new_rule)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let body: serde_json::Value = admin.json().await.unwrap();
    // "Donetsk Oblast" occurs in macron-us-guarantees-nato.
    assert!(body["flagged"].as_u64().unwrap() >= 1);
    assert!(house_style(&app, "macron-us-guarantees-nato")
        .iter()
        .any(|(q, _)| q == "Donetsk Oblast"));
}
