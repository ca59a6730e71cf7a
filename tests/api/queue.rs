//! The desk's work queue (`GET /api/queue`) and the counts on the article list: what is
//! waiting, for whom, and what a new version left for a person to place.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{detail, id_of, spawn_app, TestApp, ALICE, ARTICLE, BRUNO, CHIARA};

const NATO: &str = "macron-us-guarantees-nato";
/// A paragraph of the NATO article that the second version drops.
const DELETED: &str = "Zelensky has repeatedly said that NATO accession is the best possible security guarantee for postwar Ukraine. Kyiv officially applied for NATO membership in September 2022 after Russia illegally declared the annexation of four Ukrainian oblasts.\n";

async fn queue(app: &TestApp, query: &str, token: &str) -> Value {
    let response = app
        .request(Method::GET, &format!("/api/queue{query}"), Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET /api/queue{query}");
    response.json().await.unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A new fact-check on `exact` in `article`, filed by Alice; its id.
async fn fact_check(app: &TestApp, article: &str, exact: &str) -> String {
    let response = app
        .post_json(
            &format!("/articles/{article}/annotations/"),
            &app.fact_check_on(article, exact).await,
            ALICE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    id_of(&response)
}

async fn post_ok(app: &TestApp, path: &str, body: Value) {
    let response = app.post_json(path, &body, ALICE).await;
    let status = response.status();
    assert!(
        status.is_success(),
        "POST {path}: {status} {}",
        detail(response).await
    );
}

/// Moves an annotation through review to `status` (resolved or rejected).
async fn close(app: &TestApp, id: &str, status: &str) {
    for step in ["in_review", status] {
        post_ok(
            app,
            &format!("/api/annotations/{id}/status"),
            json!({ "status": step }),
        )
        .await;
    }
}

#[tokio::test]
async fn assigned_to_me_lists_my_unfinished_work_only() {
    let app = spawn_app().await;
    let id = fact_check(&app, ARTICLE, "following a Paris summit").await;
    assert!(!ids(&queue(&app, "", BRUNO).await["assigned"]).contains(&id));

    post_ok(
        &app,
        &format!("/api/annotations/{id}/assignee"),
        json!({ "assignee": "bruno" }),
    )
    .await;
    let bruno = queue(&app, "", BRUNO).await;
    assert_eq!(bruno["user"], "bruno");
    let assigned = bruno["assigned"].as_array().unwrap();
    let item = assigned
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("Bruno's queue has it");
    assert_eq!(item["article"], ARTICLE);
    assert_eq!(item["kind"], "fact-check");
    assert_eq!(item["quote"], "following a Paris summit");
    assert!(assigned.iter().all(|i| i["assignee"] == "bruno"));
    assert!(!ids(&queue(&app, "", ALICE).await["assigned"]).contains(&id));
    // A client that heard of an event on the live tail asks for a queue that reflects it.
    let head = app.log_head();
    let seen = queue(&app, &format!("?seen={head}&list=assigned"), BRUNO).await;
    assert!(seen["seq"].as_u64().unwrap() >= head);
    // A desk chief can read someone else's.
    assert!(
        ids(&queue(&app, "?assignee=bruno&list=assigned", CHIARA).await["assigned"]).contains(&id)
    );

    close(&app, &id, "resolved").await;
    assert!(!ids(&queue(&app, "", BRUNO).await["assigned"]).contains(&id));
}

#[tokio::test]
async fn open_fact_checks_and_corrections_come_oldest_first() {
    let app = spawn_app().await;
    let first = fact_check(&app, ARTICLE, "following a Paris summit").await;
    let second = fact_check(&app, NATO, "NATO accession is the best possible").await;
    let open = queue(&app, "?list=open", ALICE).await;
    assert!(open.get("assigned").is_none(), "only the list asked for");
    let items = open["open"].as_array().unwrap();
    assert!(
        items.len() >= 3,
        "the seeds' open fact-checks and corrections too"
    );
    assert!(items.iter().all(|i| ["fact-check", "correction"]
        .contains(&i["kind"].as_str().unwrap())
        && ["open", "in_review"].contains(&i["status"].as_str().unwrap())));
    let created: Vec<&str> = items
        .iter()
        .map(|i| i["created"].as_str().unwrap())
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted, "oldest first");
    let order = ids(&open["open"]);
    assert_eq!(&order[order.len() - 2..], [first.clone(), second.clone()]);

    close(&app, &first, "rejected").await;
    let order = ids(&queue(&app, "?list=open", ALICE).await["open"]);
    assert!(!order.contains(&first) && order.contains(&second));

    // Other kinds, and one article, on request.
    let questions = queue(&app, "?list=open&kind=question", ALICE).await;
    assert!(questions["open"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["kind"] == "question"));
    let nato = queue(&app, &format!("?list=open&article={NATO}"), ALICE).await;
    assert!(nato["open"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["article"] == NATO));
    assert!(ids(&nato["open"]).contains(&second));
}

#[tokio::test]
async fn an_orphan_after_a_new_version_needs_a_person_until_re_attached() {
    let app = spawn_app().await;
    let doomed = fact_check(
        &app,
        NATO,
        "NATO accession is the best possible security guarantee",
    )
    .await;
    let counts_before = article_counts(&app, NATO).await;
    assert_eq!(counts_before.1, 0, "nothing to place on a first version");

    let v1 = app.article_text(NATO).await;
    assert!(v1.contains(DELETED));
    let published = app
        .post_json(
            &format!("/api/articles/{NATO}/versions"),
            &json!({ "text": v1.replace(DELETED, "") }),
            ALICE,
        )
        .await;
    assert_eq!(published.status(), StatusCode::CREATED);

    let body = queue(&app, "", BRUNO).await;
    let attention = body["needs_attention"].as_array().unwrap();
    let entry = attention
        .iter()
        .find(|i| i["id"] == doomed.as_str())
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(entry["article"], NATO);
    assert_eq!(entry["version"], 2);
    assert_eq!(entry["made_on"], 1);
    assert_eq!(entry["target"], 0);
    assert_eq!(entry["target_status"], "orphaned");
    assert_eq!(
        entry["quote"],
        "NATO accession is the best possible security guarantee"
    );
    // The same list the reader offers to re-attach.
    let anchors = app.get_json(&format!("/api/articles/{NATO}/anchors")).await;
    let mut reader: Vec<String> = ids_of_placements(&anchors["needs_attention"]);
    let mut queued: Vec<String> = attention
        .iter()
        .filter(|i| i["article"] == NATO)
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    reader.sort();
    queued.sort();
    assert_eq!(queued, reader);

    let (open, waiting) = article_counts(&app, NATO).await;
    assert_eq!(waiting, reader.len());
    assert_eq!(open, counts_before.0);
    let listed = body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["article"] == NATO)
        .unwrap()
        .clone();
    assert_eq!(
        listed,
        json!({ "article": NATO, "open": open, "needs_attention": waiting })
    );

    // Re-attached by a person, it leaves the list.
    let v2 = app.article_text(NATO).await;
    let start = v2[..v2.find("Macron").unwrap()].chars().count();
    post_ok(
        &app,
        &format!("/api/annotations/{doomed}/anchor"),
        json!({ "start": start, "end": start + 6 }),
    )
    .await;
    let after = queue(&app, "?list=needs_attention", ALICE).await;
    assert!(!ids(&after["needs_attention"]).contains(&doomed));
    assert_eq!(article_counts(&app, NATO).await.1, waiting - 1);
}

fn ids_of_placements(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["annotation"].as_str().unwrap().to_owned())
        .collect()
}

/// The open and needs-attention counts of one article on the article list.
async fn article_counts(app: &TestApp, article: &str) -> (usize, usize) {
    let list = app.get_json("/api/articles").await;
    let row = list["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == article)
        .unwrap()
        .clone();
    let count = |key: &str| {
        row[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {row}")) as usize
    };
    (count("open_count"), count("needs_attention_count"))
}

#[tokio::test]
async fn the_article_list_counts_open_work() {
    let app = spawn_app().await;
    let (open, _) = article_counts(&app, ARTICLE).await;
    let id = fact_check(&app, ARTICLE, "following a Paris summit").await;
    assert_eq!(article_counts(&app, ARTICLE).await.0, open + 1);
    post_ok(
        &app,
        &format!("/api/annotations/{id}/status"),
        json!({ "status": "in_review" }),
    )
    .await;
    assert_eq!(
        article_counts(&app, ARTICLE).await.0,
        open + 1,
        "in review still waits"
    );
    post_ok(
        &app,
        &format!("/api/annotations/{id}/status"),
        json!({ "status": "resolved" }),
    )
    .await;
    assert_eq!(article_counts(&app, ARTICLE).await.0, open);
}

#[tokio::test]
async fn unknown_filter_values_are_refused_plainly() {
    let app = spawn_app().await;
    for (query, status, says) in [
        (
            "?list=everything",
            StatusCode::BAD_REQUEST,
            "`list` \"everything\" is not known",
        ),
        ("?list=", StatusCode::BAD_REQUEST, "`list` names no list"),
        ("?kind=opinion", StatusCode::BAD_REQUEST, "opinion"),
        (
            "?assignee=nobody",
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a user of this desk",
        ),
        ("?assignee=Not%20A%20Name", StatusCode::BAD_REQUEST, ""),
        (
            "?article=no-such-article",
            StatusCode::NOT_FOUND,
            "does not exist",
        ),
        (
            "?seen=soon",
            StatusCode::BAD_REQUEST,
            "`seen` must be an event sequence number",
        ),
        (
            "?seen=99999999",
            StatusCode::UNPROCESSABLE_ENTITY,
            "beyond the log's head",
        ),
        (
            "?status=open",
            StatusCode::BAD_REQUEST,
            "unknown field `status`",
        ),
    ] {
        let response = app
            .request(Method::GET, &format!("/api/queue{query}"), Some(ALICE))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{query}");
        let message = detail(response).await;
        assert!(message.contains(says), "{query}: {message}");
    }
    let anonymous = app
        .request(Method::GET, "/api/queue", None)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
