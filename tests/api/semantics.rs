//! HTTP semantics: every 405 says which methods the resource supports, `If-Match` compares
//! strong tags only, and work is assigned to people who are users of the desk.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{detail, id_of, spawn_app, ALICE, ARTICLE, JSONLD};

fn methods(list: &str) -> BTreeSet<String> {
    list.split(',').map(|m| m.trim().to_owned()).collect()
}

#[tokio::test]
async fn every_405_lists_exactly_the_methods_the_resource_supports() {
    let app = spawn_app().await;
    let annotation = "seed-003-no-problem";
    let claim = "twenty-six-nations-reassurance-force";
    // (path, a method it does not support, the methods it does)
    let cases = [
        (
            "/annotations/".to_owned(),
            "DELETE",
            "GET, HEAD, OPTIONS, POST",
        ),
        (
            format!("/articles/{ARTICLE}/annotations/"),
            "PUT",
            "GET, HEAD, OPTIONS, POST",
        ),
        (
            "/annotations/?page=0".to_owned(),
            "POST",
            "GET, HEAD, OPTIONS",
        ),
        (
            format!("/annotations/{annotation}"),
            "PATCH",
            "GET, HEAD, OPTIONS, PUT, DELETE",
        ),
        (
            format!("/annotations/{annotation}"),
            "POST",
            "GET, HEAD, OPTIONS, PUT, DELETE",
        ),
        (
            format!("/api/annotations/{annotation}/history"),
            "POST",
            "GET",
        ),
        (
            format!("/api/annotations/{annotation}/replies"),
            "GET",
            "POST",
        ),
        (
            format!("/api/annotations/{annotation}/status"),
            "PUT",
            "POST",
        ),
        (
            format!("/api/annotations/{annotation}/assignee"),
            "DELETE",
            "POST",
        ),
        (
            format!("/api/annotations/{annotation}/anchor"),
            "GET",
            "POST",
        ),
        ("/api/articles".to_owned(), "DELETE", "GET, POST"),
        (format!("/api/articles/{ARTICLE}"), "PUT", "GET"),
        (format!("/api/articles/{ARTICLE}/versions"), "GET", "POST"),
        (
            format!("/api/articles/{ARTICLE}/versions/1"),
            "DELETE",
            "GET",
        ),
        (format!("/api/articles/{ARTICLE}/document"), "POST", "GET"),
        (format!("/api/articles/{ARTICLE}/anchors"), "POST", "GET"),
        (format!("/articles/{ARTICLE}"), "POST", "GET"),
        (format!("/articles/{ARTICLE}/versions/1"), "PUT", "GET"),
        ("/api/claims".to_owned(), "PUT", "GET, POST"),
        (format!("/api/claims/{claim}"), "DELETE", "GET"),
        (format!("/api/claims/{claim}/annotations"), "GET", "POST"),
        (
            format!("/api/claims/{claim}/annotations/{annotation}"),
            "GET",
            "DELETE",
        ),
        ("/api/style-rules".to_owned(), "POST", "GET, PUT"),
        ("/api/import/hypothesis".to_owned(), "GET", "POST"),
        ("/api/export/log.ndjson".to_owned(), "POST", "GET"),
        ("/api/export/annotations".to_owned(), "DELETE", "GET"),
        ("/api/export/annotations.csv".to_owned(), "PUT", "GET"),
        ("/api/export/claimreview".to_owned(), "POST", "GET"),
    ];
    let head = app.log_head();
    for (path, method, allow) in &cases {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .request(method.clone(), path, Some(ALICE))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        let header = response
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("{method} {path}: a 405 without Allow"))
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(methods(&header), methods(allow), "{method} {path}");
        assert!(detail(response).await.contains(allow), "{method} {path}");
    }
    assert_eq!(app.log_head(), head, "no 405 wrote anything");
    // Each method Allow lists is one the resource answers (with an empty body: some other
    // status, never 405). DELETE is left out: it would delete.
    for (path, _, allow) in &cases {
        for listed in methods(allow).into_iter().filter(|m| m != "DELETE") {
            let method = Method::from_bytes(listed.as_bytes()).unwrap();
            let response = app
                .request(method.clone(), path, Some(ALICE))
                .send()
                .await
                .unwrap();
            assert_ne!(response.status(), 405, "{method} {path} is listed in Allow");
        }
    }
}

#[tokio::test]
async fn a_weak_if_match_never_matches() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app.post_annotation("/annotations/", &body, ALICE).await;
    let id = id_of(&created);
    let mut changed = body.clone();
    changed["verdict"] = "mostly-true".into();
    let head = app.log_head();

    let put = app.put_annotation(&id, &changed, Some("W/\"v1\"")).await;
    assert_eq!(put.status(), 412);
    assert!(detail(put).await.contains("weak"));
    let delete = app.delete_annotation(&id, Some("W/\"v1\"")).await;
    assert_eq!(delete.status(), 412);
    let status = app
        .request(
            Method::POST,
            &format!("/api/annotations/{id}/status"),
            Some(ALICE),
        )
        .header("If-Match", "W/\"v1\"")
        .json(&json!({"status": "in_review"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 412);
    assert_eq!(app.log_head(), head, "refused writes write nothing");

    // The strong tag, alone or in a list after a weak one, matches.
    let listed = app
        .put_annotation(&id, &changed, Some("W/\"v1\", \"v1\""))
        .await;
    assert_eq!(listed.status(), 200);
}

#[tokio::test]
async fn an_assignee_who_is_not_a_user_is_refused_by_name() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app.post_annotation("/annotations/", &body, ALICE).await;
    let id = id_of(&created);
    let head = app.log_head();

    let assign = |name: &str| {
        app.request(
            Method::POST,
            &format!("/api/annotations/{id}/assignee"),
            Some(ALICE),
        )
        .json(&json!({ "assignee": name }))
        .send()
    };
    let refused = assign("zed").await.unwrap();
    assert_eq!(refused.status(), 422);
    let message = detail(refused).await;
    assert!(
        message.contains("\"zed\"") && message.contains("bruno"),
        "{message}"
    );

    let mut put: Value = app.get_json(&format!("/annotations/{id}")).await;
    put["assignee"] = "zed".into();
    let replaced = app.put_annotation(&id, &put, Some("\"v1\"")).await;
    assert_eq!(replaced.status(), 422);
    assert!(detail(replaced).await.contains("\"zed\""));

    let mut new = body.clone();
    new["assignee"] = "zed".into();
    let posted = app
        .request(Method::POST, "/annotations/", Some(ALICE))
        .header("Content-Type", JSONLD)
        .body(new.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 422);
    assert!(detail(posted).await.contains("\"zed\""));
    assert_eq!(app.log_head(), head, "nothing refused was written");

    // A user of the desk is assigned, and clearing the assignee is always allowed.
    assert_eq!(assign("bruno").await.unwrap().status(), 200);
    let cleared = app
        .request(
            Method::POST,
            &format!("/api/annotations/{id}/assignee"),
            Some(ALICE),
        )
        .json(&json!({ "assignee": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
}
