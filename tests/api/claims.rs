//! Claims: one statement, many appearances. Fact-checks and passages in several articles are
//! grouped under a claim, and the ClaimReview export reviews it as one Claim.

use serde_json::{json, Value};

use crate::helpers::{id_of, spawn_app, ALICE, BRUNO, VICTOR};

const CLAIM: &str = "twenty-six-nations-reassurance-force";

#[tokio::test]
async fn the_26_nations_claim_appears_in_two_articles_and_is_reviewed_once() {
    let app = spawn_app().await;
    let claim = app.get_json(&format!("/api/claims/{CLAIM}")).await;
    assert_eq!(claim["claimant"], "Emmanuel Macron");
    let articles: Vec<&str> = claim["appearances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["article"].as_str().unwrap())
        .collect();
    assert_eq!(
        articles,
        ["macron-us-support-finalised", "twenty-six-nations-pledge"]
    );

    // A fact-checker rates the figure and links the fact-check to the claim.
    let response = app
        .post_json(
            "/articles/twenty-six-nations-pledge/annotations/",
            &app.fact_check_on("twenty-six-nations-pledge", "26 nations have pledged")
                .await,
            BRUNO,
        )
        .await;
    assert_eq!(response.status(), 201);
    let fact_check = id_of(&response);
    let linked = app
        .post_json(
            &format!("/api/claims/{CLAIM}/annotations"),
            &json!({ "annotation": fact_check }),
            BRUNO,
        )
        .await;
    assert_eq!(linked.status(), 200);
    let linked: Value = linked.json().await.unwrap();
    assert_eq!(linked["annotations"].as_array().unwrap().len(), 2);

    let export = app.get_json("/api/export/claimreview").await;
    let review = export["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with(&fact_check))
        .expect("the fact-check is exported")
        .clone();
    let item = &review["itemReviewed"];
    assert_eq!(item["@type"], "Claim");
    assert!(item["@id"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/claims/{CLAIM}")));
    assert_eq!(
        item["author"],
        json!({ "@type": "Person", "name": "Emmanuel Macron" })
    );
    assert_eq!(item["datePublished"], "2025-09-04", "the seed claim's date");
    let failures = crate::exports::claim_review_failures(&review);
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(review["claimReviewed"], claim["text"]);
    let urls: Vec<&str> = item["appearance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(urls
        .iter()
        .any(|u| u.ends_with("/articles/twenty-six-nations-pledge")));
    assert!(urls
        .iter()
        .any(|u| u.ends_with("/articles/macron-us-support-finalised")));

    // Unlinking takes it out again; the claim's events are in the feed.
    let unlinked = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/claims/{CLAIM}/annotations/{fact_check}"),
            Some(BRUNO),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unlinked.status(), 200);
    let events = app.get_json("/api/events?type=claim.linked").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_claims_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let head = app.log_head();
    let cases = [
        (json!({ "text": "" }), ALICE, 422),
        (json!({ "text": "x".repeat(301) }), ALICE, 422),
        (
            json!({ "text": "A claim", "annotations": ["nope"] }),
            ALICE,
            404,
        ),
        (json!({ "id": CLAIM, "text": "Again" }), ALICE, 409),
        (json!({ "id": "Not A Slug", "text": "A claim" }), ALICE, 400),
        (json!({ "text": "A claim", "extra": 1 }), ALICE, 400),
        (json!({ "text": "A claim" }), VICTOR, 403),
        (
            json!({ "text": "A claim", "claimant": "A", "claimantUrl": "ftp://a.example/" }),
            ALICE,
            422,
        ),
        (
            json!({ "text": "A claim", "claimant": "A", "claimantType": "Robot" }),
            ALICE,
            400,
        ),
        (
            json!({ "text": "A claim", "claimantUrl": "https://a.example/" }),
            ALICE,
            422,
        ),
        (
            json!({ "text": "A claim", "claimant": "A", "claimDate": "2999-01-01" }),
            ALICE,
            422,
        ),
        (
            json!({ "text": "A claim", "claimant": "A", "claimDate": "4 Sept" }),
            ALICE,
            422,
        ),
    ];
    for (body, token, status) in cases {
        let response = app.post_json("/api/claims", &body, token).await;
        assert_eq!(response.status(), status, "{body}");
    }
    let link = app
        .post_json(
            "/api/claims/no-such-claim/annotations",
            &json!({ "annotation": "seed-004-kiev" }),
            ALICE,
        )
        .await;
    assert_eq!(link.status(), 404);
    assert_eq!(app.log_head(), head, "nothing refused was written");

    let created = app
        .post_json(
            "/api/claims",
            &json!({
                "text": "Trump secured Putin's agreement to direct talks",
                "claimant": "The White House",
                "claimantType": "Organization",
                "claimantUrl": "https://www.whitehouse.gov/",
                "claimDate": "2025-08-18",
                "annotations": ["seed-004-direct-talks"]
            }),
            ALICE,
        )
        .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["claimantType"], "Organization");
    assert_eq!(body["claimDate"], "2025-08-18");
    assert!(location.ends_with("/api/claims/trump-secured-putin-s-agreement-to-direct-talks"));
    assert_eq!(
        app.get_json("/api/claims").await["claims"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
