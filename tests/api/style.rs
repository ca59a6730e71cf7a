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

/// The tags on an article's latest version, seen from the house-style variants in it.
#[derive(Debug)]
struct TagView {
    /// Every whole-word occurrence of a variant: (variant, start, open tags placed on it).
    occurrences: Vec<(String, u64, usize)>,
    /// Open tags that re-anchoring found ambiguous: the starts of their candidates.
    ambiguous: Vec<Vec<u64>>,
    /// Open house-style tags with neither a place nor candidates (orphaned, pending).
    lost: usize,
}

async fn tag_view(app: &TestApp, article: &str) -> TagView {
    let text: Vec<char> = app.article_text(article).await.chars().collect();
    let anchors = app
        .get_json(&format!("/api/articles/{article}/anchors"))
        .await;
    let open: Vec<&serde_json::Value> = anchors["placements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "tag" && p["annotation_status"] == "open")
        .collect();
    let house_style: Vec<String> = app
        .desk
        .list(&Filter {
            article: Some(ArticleId::parse(article).unwrap()),
            ..Filter::default()
        })
        .unwrap()
        .into_iter()
        .filter(|row| row.annotation.tags.iter().any(|t| t == HOUSE_STYLE))
        .map(|row| row.annotation.id.to_string())
        .collect();
    let boundary = |i: Option<usize>| {
        i.and_then(|i| text.get(i))
            .is_none_or(|c| !c.is_alphanumeric())
    };
    let mut occurrences = Vec::new();
    for rule in glossa::desk::default_rules() {
        for variant in &rule.variants {
            let word: Vec<char> = variant.chars().collect();
            for start in 0..=text.len().saturating_sub(word.len()) {
                let end = start + word.len();
                if text[start..end] == word[..]
                    && boundary(start.checked_sub(1))
                    && boundary(Some(end))
                {
                    let (start, end) = (start as u64, end as u64);
                    let on_it = open
                        .iter()
                        .filter(|p| {
                            p["position"]["start"].as_u64().is_some_and(|s| s < end)
                                && p["position"]["end"].as_u64().is_some_and(|e| e > start)
                        })
                        .count();
                    occurrences.push((variant.clone(), start, on_it));
                }
            }
        }
    }
    let ambiguous = open
        .iter()
        .filter(|p| p["status"] == "ambiguous")
        .map(|p| {
            p["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["start"].as_u64().unwrap())
                .collect()
        })
        .collect();
    let lost = open
        .iter()
        .filter(|p| p.get("position").is_none() && p.get("candidates").is_none())
        .filter(|p| house_style.iter().any(|id| p["annotation"] == id.as_str()))
        .count();
    TagView {
        occurrences,
        ambiguous,
        lost,
    }
}

/// Every occurrence has exactly one open tag: placed on it, or an ambiguous tag that has it
/// among its candidates (one ambiguous tag for each occurrence without a placed one).
fn assert_one_open_tag_each(view: &TagView) {
    let doubled: Vec<_> = view.occurrences.iter().filter(|(_, _, n)| *n > 1).collect();
    assert!(doubled.is_empty(), "tagged twice: {doubled:?} in {view:?}");
    let bare: Vec<u64> = view
        .occurrences
        .iter()
        .filter(|(_, _, n)| *n == 0)
        .map(|(_, start, _)| *start)
        .collect();
    assert_eq!(bare.len(), view.ambiguous.len(), "{view:?}");
    for start in &bare {
        assert!(
            view.ambiguous.iter().any(|c| c.contains(start)),
            "no tag for the occurrence at {start}: {view:?}"
        );
    }
    assert_eq!(view.lost, 0, "{view:?}");
}

#[tokio::test]
async fn republishing_with_one_word_changed_flags_nothing_twice() {
    let app = spawn_app().await;
    let before = tag_view(&app, FINALISED).await;
    // Eight "Zelenskyy" (four in the repeated caption) and two "Nato".
    assert_eq!(before.occurrences.len(), 10, "{before:?}");
    assert_one_open_tag_each(&before);
    let flagged = house_style(&app, FINALISED).len();
    let text = app.article_text(FINALISED).await;
    let published = app
        .post_json(
            &format!("/api/articles/{FINALISED}/versions"),
            &json!({ "text": text.replace("Nato", "NATO") }),
            ALICE,
        )
        .await;
    assert_eq!(published.status(), 201);
    let body: serde_json::Value = published.json().await.unwrap();
    assert_eq!(body["style"]["flagged"], 0, "{body}");
    assert_eq!(house_style(&app, FINALISED).len(), flagged);
    let after = tag_view(&app, FINALISED).await;
    assert_eq!(after.occurrences.len(), 8, "{after:?}");
    assert!(after.ambiguous.is_empty(), "{after:?}");
    assert!(
        after.occurrences.iter().all(|(_, _, n)| *n == 1),
        "{after:?}"
    );
    assert_one_open_tag_each(&after);
}

#[tokio::test]
async fn every_occurrence_keeps_one_open_tag_however_many_versions_are_published() {
    let app = spawn_app().await;
    assert!(house_style(&app, FINALISED)
        .iter()
        .all(|(q, _)| q != "Kiev"));
    for n in 1..=4 {
        let text = app.article_text(FINALISED).await;
        let published = app
            .post_json(
                &format!("/api/articles/{FINALISED}/versions"),
                &json!({ "text": format!("{text}\nThe leaders met again in Kiev.") }),
                ALICE,
            )
            .await;
        assert_eq!(published.status(), 201);
        let kiev: Vec<_> = house_style(&app, FINALISED)
            .into_iter()
            .filter(|(q, s)| q == "Kiev" && *s == Status::Open)
            .collect();
        assert_eq!(kiev.len(), n, "after {n} publishes");
        let view = tag_view(&app, FINALISED).await;
        let kiev = view
            .occurrences
            .iter()
            .filter(|(v, _, _)| v == "Kiev")
            .count();
        assert_eq!(kiev, n, "{view:?}");
        assert_one_open_tag_each(&view);
    }
}
