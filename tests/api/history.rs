//! Time travel and per-annotation history, checked against states recorded along the way.

use serde_json::{json, Value};

use crate::helpers::{etag, id_of, spawn_app, ALICE, ARTICLE};

#[tokio::test]
async fn reads_at_a_point_in_the_log_return_the_state_recorded_then() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app.post_annotation("/annotations/", &body, ALICE).await;
    let id = id_of(&created);
    // Record (head, annotation, article listing) after each step of a scripted sequence.
    let mut recorded: Vec<(u64, Value, Value)> = Vec::new();
    let listing = format!("/articles/{ARTICLE}/annotations/?iris=1&limit=200");
    recorded.push((
        app.log_head(),
        app.get_json(&format!("/annotations/{id}")).await,
        app.get_json(&listing).await,
    ));
    let mut changed = body.clone();
    changed["verdict"] = "mostly-false".into();
    changed["bodyValue"] = "Moscow quickly denied it.".into();
    changed.as_object_mut().unwrap().remove("body");
    let put = app.put_annotation(&id, &changed, Some("\"v1\"")).await;
    assert_eq!(put.status(), 200);
    let version = etag(&put);
    recorded.push((
        app.log_head(),
        app.get_json(&format!("/annotations/{id}")).await,
        app.get_json(&listing).await,
    ));
    let status = app
        .post_json(
            &format!("/api/annotations/{id}/status"),
            &json!({"status": "in_review"}),
            ALICE,
        )
        .await;
    assert_eq!(status.status(), 200);
    recorded.push((
        app.log_head(),
        app.get_json(&format!("/annotations/{id}")).await,
        app.get_json(&listing).await,
    ));
    let deleted = app.delete_annotation(&id, Some("\"v3\"")).await;
    assert_eq!(deleted.status(), 204, "after {version}");

    for (seq, annotation, listing_then) in &recorded {
        let then = app.get_json(&format!("/annotations/{id}?at={seq}")).await;
        assert_eq!(&then, annotation, "annotation at {seq}");
        let listed = app
            .get_json(&format!(
                "/articles/{ARTICLE}/annotations/?iris=1&limit=200&at={seq}"
            ))
            .await;
        assert_eq!(listed["total"], listing_then["total"], "total at {seq}");
        assert_eq!(
            listed["first"]["items"], listing_then["first"]["items"],
            "items at {seq}"
        );
    }
    // Before it existed, and after it was deleted.
    let before = recorded[0].0 - 1;
    assert_eq!(
        app.get(&format!("/annotations/{id}?at={before}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/annotations/{id}?at={}", app.log_head()))
            .await
            .status(),
        410
    );
    // A time resolves to the last event at or before it.
    let events = app.events();
    let second = events.iter().find(|e| e.seq == recorded[1].0).unwrap();
    let at = second
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let by_time = app.get_json(&format!("/annotations/{id}?at={at}")).await;
    assert_eq!(by_time["verdict"], "mostly-false");
    assert_eq!(
        app.get(&format!("/annotations/{id}?at=yesterday"))
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get(&format!("/annotations/{id}?at=99999999"))
            .await
            .status(),
        422
    );
}

#[tokio::test]
async fn history_says_who_changed_what_and_when() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app.post_annotation("/annotations/", &body, ALICE).await;
    let id = id_of(&created);
    let mut changed = body.clone();
    changed["body"][0]["value"] = "Needs a source. Moscow denied it.".into();
    assert_eq!(
        app.put_annotation(&id, &changed, Some("\"v1\""))
            .await
            .status(),
        200
    );
    let history = app
        .get_json(&format!("/api/annotations/{id}/history"))
        .await;
    let entries = history["history"].as_array().unwrap();
    assert_eq!(entries[0]["type"], "annotation.created");
    assert_eq!(entries[0]["actor"], "alice");
    let edit = &entries[1]["changes"]["body"]["edit"];
    assert_eq!(edit["inserted"], " Moscow denied it.");
    assert_eq!(app.get("/api/annotations/nope/history").await.status(), 404);
}
