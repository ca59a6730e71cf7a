//! One annotation through the W3C protocol: create, read, replace, delete, and the refusals.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{detail, etag, id_of, spawn_app, ALICE, ARTICLE, JSONLD};

#[tokio::test]
async fn a_created_annotation_reads_back_with_protocol_headers() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let response = app.post_annotation("/annotations/", &body, ALICE).await;
    assert_eq!(response.status(), 201);
    assert_eq!(etag(&response), "\"v1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["id"], location);
    assert_eq!(created["creator"]["nickname"], "alice");
    assert_eq!(created["verdict"], "unverifiable");
    assert_eq!(created["status"], "open");

    let read = app
        .client
        .get(&location)
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let headers = read.headers().clone();
    assert_eq!(headers["content-type"], JSONLD);
    assert_eq!(headers["etag"], "\"v1\"");
    assert_eq!(headers["vary"], "Accept");
    assert!(headers["allow"].to_str().unwrap().contains("PUT"));
    assert!(headers["link"]
        .to_str()
        .unwrap()
        .contains("<http://www.w3.org/ns/ldp#Resource>; rel=\"type\""));
    assert_eq!(read.json::<Value>().await.unwrap(), created);

    let head = app
        .client
        .head(&location)
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], "\"v1\"");
    let options = app
        .client
        .request(Method::OPTIONS, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 200);
    assert!(options.headers()["allow"]
        .to_str()
        .unwrap()
        .contains("DELETE"));
}

#[tokio::test]
async fn a_write_is_logged_as_a_change_with_its_events_and_its_actor() {
    let app = spawn_app().await;
    let before = app.log_head();
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let response = app.post_annotation("/annotations/", &body, ALICE).await;
    assert_eq!(response.status(), 201);
    let events: Vec<_> = app
        .events()
        .into_iter()
        .filter(|e| e.seq > before)
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["document.changed", "annotation.created"]);
    assert!(events.iter().all(|e| e.actor.as_str() == "alice"));
    assert!(events[0].change.as_ref().is_some_and(|c| !c.is_empty()));
    assert_eq!(events[1].data["annotation"]["verdict"], "unverifiable");
    // Both were written in one append: consecutive sequence numbers.
    assert_eq!(events[1].seq, events[0].seq + 1);
}

#[tokio::test]
async fn slug_is_honoured_unless_taken() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let first = app
        .request(Method::POST, "/annotations/", Some(ALICE))
        .header("Content-Type", JSONLD)
        .header("Slug", "Pledge claim")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.headers()["location"],
        app.url("/annotations/pledge-claim")
    );
    let second = app
        .request(Method::POST, "/annotations/", Some(ALICE))
        .header("Content-Type", JSONLD)
        .header("Slug", "pledge-claim")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 201);
    assert_ne!(
        second.headers()["location"],
        app.url("/annotations/pledge-claim")
    );
}

#[tokio::test]
async fn put_needs_a_current_if_match() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app.post_annotation("/annotations/", &body, ALICE).await;
    let id = id_of(&created);
    let mut changed = body.clone();
    changed["verdict"] = "mostly-true".into();
    let head = app.log_head();

    let missing = app.put_annotation(&id, &changed, None).await;
    assert_eq!(missing.status(), 428);
    let stale = app.put_annotation(&id, &changed, Some("\"v7\"")).await;
    assert_eq!(stale.status(), 412);
    let garbage = app.put_annotation(&id, &changed, Some("not-an-etag")).await;
    assert_eq!(garbage.status(), 412);
    assert_eq!(app.log_head(), head, "refused updates write nothing");

    let updated = app.put_annotation(&id, &changed, Some("\"v1\"")).await;
    assert_eq!(updated.status(), 200);
    assert_eq!(etag(&updated), "\"v2\"");
    let json: Value = updated.json().await.unwrap();
    assert_eq!(json["verdict"], "mostly-true");
    let types: Vec<String> = app
        .events()
        .into_iter()
        .filter(|e| e.seq > head)
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["document.changed", "annotation.updated"]);
    // The old ETag is now stale.
    assert_eq!(
        app.put_annotation(&id, &body, Some("\"v1\""))
            .await
            .status(),
        412
    );
}

#[tokio::test]
async fn delete_leaves_a_tombstone_that_answers_410() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app.post_annotation("/annotations/", &body, ALICE).await;
    let id = id_of(&created);
    assert_eq!(app.delete_annotation(&id, None).await.status(), 428);
    assert_eq!(
        app.delete_annotation(&id, Some("\"v1\"")).await.status(),
        204
    );
    assert_eq!(app.get(&format!("/annotations/{id}")).await.status(), 410);
    assert_eq!(
        app.delete_annotation(&id, Some("\"v2\"")).await.status(),
        410
    );
    let container = app
        .get_json(&format!("/articles/{ARTICLE}/annotations/?iris=1"))
        .await;
    let listed = container["first"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!listed
        .iter()
        .any(|iri| iri.as_str().unwrap().ends_with(&id)));
    let last = app.events().pop().unwrap();
    assert_eq!(last.event_type, "annotation.deleted");
}

#[tokio::test]
async fn unknown_annotations_are_404() {
    let app = spawn_app().await;
    assert_eq!(app.get("/annotations/no-such-thing").await.status(), 404);
    assert_eq!(app.get("/annotations/..%2F..%2Fetc").await.status(), 404);
    assert_eq!(app.get("/annotations/%00").await.status(), 404);
    let bad_cursor = app
        .request(Method::GET, "/api/events/stream", Some(ALICE))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_cursor.status(), 400);
}

/// Every refused input gets the right status and a message, and the log does not move.
#[tokio::test]
async fn refused_input_changes_nothing() {
    let app = spawn_app().await;
    let good = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let with = |path: &[&str], value: Value| {
        let mut body = good.clone();
        let mut node = &mut body;
        for key in &path[..path.len() - 1] {
            node = if let Ok(i) = key.parse::<usize>() {
                &mut node[i]
            } else {
                &mut node[*key]
            };
        }
        node[path[path.len() - 1]] = value;
        body
    };
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        (
            "malformed JSON",
            "{\"type\": ".into(),
            JSONLD,
            400,
            "not valid JSON",
        ),
        ("not an object", "[1,2]".into(), JSONLD, 400, "JSON object"),
        (
            "wrong media type",
            good.to_string(),
            "text/plain",
            415,
            "application/ld+json",
        ),
        (
            "no target",
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("target");
                b.to_string()
            },
            JSONLD,
            400,
            "target",
        ),
        (
            "no context",
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("@context");
                b.to_string()
            },
            JSONLD,
            400,
            "@context",
        ),
        (
            "unknown motivation",
            with(&["motivation"], json!("bookmarking")).to_string(),
            JSONLD,
            400,
            "bookmarking",
        ),
        (
            "invalid verdict",
            with(&["verdict"], json!("pants-on-fire")).to_string(),
            JSONLD,
            400,
            "verdict",
        ),
        (
            "fact-check without verdict",
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("verdict");
                b.to_string()
            },
            JSONLD,
            422,
            "verdict",
        ),
        (
            "quote not in the text",
            with(
                &["target", "selector", "0", "exact"],
                json!("forty nations"),
            )
            .to_string(),
            JSONLD,
            422,
            "TextQuoteSelector",
        ),
        (
            "position disagrees",
            with(&["target", "selector", "1", "start"], json!(3)).to_string(),
            JSONLD,
            422,
            "TextPositionSelector",
        ),
        (
            "negative position",
            with(&["target", "selector", "1", "start"], json!(-4)).to_string(),
            JSONLD,
            400,
            "non-negative",
        ),
        (
            "reversed position",
            with(&["target", "selector", "1", "start"], json!(9999)).to_string(),
            JSONLD,
            400,
            "after end",
        ),
        (
            "unknown article",
            with(&["target", "source"], json!(app.url("/articles/nope"))).to_string(),
            JSONLD,
            422,
            "no article",
        ),
        (
            "foreign source",
            with(&["target", "source"], json!("https://example.org/x")).to_string(),
            JSONLD,
            400,
            "not an article of this desk",
        ),
        (
            "body and bodyValue",
            with(&["bodyValue"], json!("x")).to_string(),
            JSONLD,
            400,
            "not both",
        ),
        (
            "wrong type",
            with(&["verdict"], json!(5)).to_string(),
            JSONLD,
            400,
            "must be a string",
        ),
        (
            "oversized body",
            format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)),
            JSONLD,
            413,
            "limit",
        ),
        (
            "deep nesting",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            JSONLD,
            400,
            "not valid JSON",
        ),
        (
            "huge note",
            with(&["body", "0", "value"], json!("x".repeat(30_000))).to_string(),
            JSONLD,
            422,
            "limited to 20000 characters",
        ),
    ];
    let head = app.log_head();
    for (name, body, content_type, status, message) in cases {
        let response = app
            .request(Method::POST, "/annotations/", Some(ALICE))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        let problem = detail(response).await;
        assert!(problem.contains(message), "{name}: {problem}");
        assert_eq!(app.log_head(), head, "{name} wrote to the log");
    }
    // Bytes that are not UTF-8 at all.
    let response = app
        .request(Method::POST, "/annotations/", Some(ALICE))
        .header("Content-Type", JSONLD)
        .body(vec![b'{', 0xff, 0xfe, b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(app.log_head(), head);
}

#[tokio::test]
async fn the_workflow_moves_step_by_step_and_replies_thread() {
    let app = spawn_app().await;
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let created = app.post_annotation("/annotations/", &body, ALICE).await;
    let id = id_of(&created);
    let status = |to: &str| json!({ "status": to });
    let skip = app
        .post_json(
            &format!("/api/annotations/{id}/status"),
            &status("resolved"),
            ALICE,
        )
        .await;
    assert_eq!(skip.status(), 422);
    assert!(detail(skip).await.contains("cannot become resolved"));
    for step in ["in_review", "resolved", "open"] {
        let response = app
            .post_json(
                &format!("/api/annotations/{id}/status"),
                &status(step),
                ALICE,
            )
            .await;
        assert_eq!(response.status(), 200, "{step}");
    }
    let assigned = app
        .post_json(
            &format!("/api/annotations/{id}/assignee"),
            &json!({"assignee": "bruno"}),
            ALICE,
        )
        .await;
    assert_eq!(assigned.status(), 200);
    let first = app
        .post_json(
            &format!("/api/annotations/{id}/replies"),
            &json!({"text": "Which source?"}),
            ALICE,
        )
        .await;
    assert_eq!(first.status(), 201);
    let thread: Value = first.json().await.unwrap();
    let parent = thread["replies"][0]["id"].as_str().unwrap().to_owned();
    let answer = app
        .post_json(
            &format!("/api/annotations/{id}/replies"),
            &json!({"text": "The Kremlin's statement.", "parent": parent}),
            crate::helpers::BRUNO,
        )
        .await;
    assert_eq!(answer.status(), 201);
    let annotation = app.get_json(&format!("/annotations/{id}")).await;
    assert_eq!(annotation["assignee"], "bruno");
    assert_eq!(annotation["status"], "open");
    assert_eq!(annotation["replies"][1]["parent"], parent);
    assert_eq!(annotation["replies"][1]["creator"]["nickname"], "bruno");
    let types: Vec<String> = app.events().into_iter().map(|e| e.event_type).collect();
    assert!(
        types
            .iter()
            .filter(|t| *t == "annotation.status_changed")
            .count()
            >= 3
    );
    assert!(types.iter().any(|t| t == "reply.added"));
    let orphan = app
        .post_json(
            &format!("/api/annotations/{id}/replies"),
            &json!({"text": "?", "parent": "nope"}),
            ALICE,
        )
        .await;
    assert_eq!(orphan.status(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_one_annotation_are_each_logged_once_in_order() {
    // A document task logs the edits waiting for it in one append; each still gets its own
    // version, and the log folds to exactly what the read side serves.
    let app = spawn_app().await;
    let created = app
        .post_json(
            "/annotations/",
            &app.fact_check_on(ARTICLE, "26 nations have pledged").await,
            ALICE,
        )
        .await;
    assert_eq!(created.status(), 201);
    let id = id_of(&created);
    let mut requests = Vec::new();
    for i in 0..20 {
        let (app_client, url) = (
            app.client.clone(),
            app.url(&format!("/api/annotations/{id}/replies")),
        );
        requests.push(tokio::spawn(async move {
            app_client
                .post(url)
                .bearer_auth(ALICE)
                .json(&json!({ "text": format!("reply {i}") }))
                .send()
                .await
                .unwrap()
        }));
    }
    let status_url = app.url(&format!("/api/annotations/{id}/status"));
    let client = app.client.clone();
    requests.push(tokio::spawn(async move {
        client
            .post(status_url)
            .bearer_auth(ALICE)
            .json(&json!({ "status": "in_review" }))
            .send()
            .await
            .unwrap()
    }));
    let mut etags = Vec::new();
    for request in requests {
        let response = request.await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        etags.push(etag(&response));
    }
    etags.sort();
    etags.dedup();
    assert_eq!(etags.len(), 21, "every change got its own version");

    let row = app
        .desk
        .row(&glossa::domain::AnnotationId::parse(&id).unwrap())
        .unwrap();
    assert_eq!(row.version, 22);
    assert_eq!(row.annotation.replies.len(), 20);
    let folded =
        glossa::history::annotation_at(&app.desk.store().log, &row.annotation.id, app.log_head())
            .unwrap()
            .unwrap();
    assert_eq!(folded.annotation, row.annotation);
    assert_eq!(folded.version, row.version);
    let document = app
        .desk
        .document(&glossa::domain::ArticleId::parse(ARTICLE).unwrap())
        .await
        .unwrap();
    let in_document = document
        .annotations
        .iter()
        .find(|a| a.id.as_str() == id)
        .unwrap();
    assert_eq!(in_document.replies.len(), 20);
}
