//! Article versions and server-side re-anchoring, with real edits of a seed article: every
//! annotation follows its passage to the new text or says plainly that it did not.

use serde_json::{json, Value};

use crate::conformance::annotation_must_failures;
use crate::helpers::{detail, id_of, spawn_app, TestApp, ALICE, BRUNO, VICTOR};

const NATO: &str = "macron-us-guarantees-nato";
const DELETED: &str = "Zelensky has repeatedly said that NATO accession is the best possible security guarantee for postwar Ukraine. Kyiv officially applied for NATO membership in September 2022 after Russia illegally declared the annexation of four Ukrainian oblasts.\n";
const HEADLINE: &str = "As Putin, Trump debate Ukraine’s future borders, Donetsk Oblast residents are split on what they would accept to end the war";

/// The corrected text: the typo fixed, a paragraph inserted before "after a the call", the
/// Kramatorsk paragraph lightly reworded, its headline duplicated, one paragraph deleted.
fn second_version(v1: &str) -> String {
    let v2 = v1
        .replace("remakrs", "remarks")
        .replacen(
            "Speaking to reporters",
            "Editor’s Note: Details of the video call were added.\nSpeaking to reporters",
            1,
        )
        .replace(
            "began to actively push Ukraine",
            "began actively pushing Ukraine",
        )
        .replace(HEADLINE, &format!("{HEADLINE}\n{HEADLINE}"))
        .replace(DELETED, "");
    assert_eq!(v2.matches(HEADLINE).count(), 2);
    assert!(!v2.contains("Kyiv officially applied"));
    v2
}

async fn placement(app: &TestApp, id: &str, version: Option<u32>) -> Value {
    let query = version.map_or(String::new(), |v| format!("?version={v}"));
    let anchors = app
        .get_json(&format!("/api/articles/{NATO}/anchors{query}"))
        .await;
    anchors["placements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["annotation"] == id)
        .unwrap_or_else(|| panic!("{id} is not placed: {anchors}"))
        .clone()
}

#[tokio::test]
async fn a_new_version_re_anchors_every_annotation_and_never_guesses() {
    let app = spawn_app().await;
    let v1 = app.article_text(NATO).await;
    // An annotation inside the paragraph the new version deletes.
    let response = app
        .post_json(
            &format!("/articles/{NATO}/annotations/"),
            &app.fact_check_on(
                NATO,
                "NATO accession is the best possible security guarantee",
            )
            .await,
            BRUNO,
        )
        .await;
    assert_eq!(response.status(), 201);
    let doomed = id_of(&response);

    // Publishing the corrected text re-anchors, and says how it went.
    let published = app
        .post_json(
            &format!("/api/articles/{NATO}/versions"),
            &json!({ "text": second_version(&v1) }),
            ALICE,
        )
        .await;
    assert_eq!(published.status(), 201);
    let body: Value = published.json().await.unwrap();
    assert_eq!(body["latest_version"], 2);
    assert_eq!(body["anchoring"]["version"], 2);
    assert_eq!(body["anchoring"]["annotations"], 5);

    let v2 = app.article_text(NATO).await;
    let text_at = |p: &Value| -> String {
        let (start, end) = (
            p["position"]["start"].as_u64().unwrap() as usize,
            p["position"]["end"].as_u64().unwrap() as usize,
        );
        v2.chars().skip(start).take(end - start).collect()
    };

    let remakrs = placement(&app, "seed-000-remakrs", None).await;
    assert_eq!(remakrs["status"], "resolved", "{remakrs}");
    assert_eq!(text_at(&remakrs), "remarks");

    let after = placement(&app, "seed-000-after-a-the", None).await;
    assert_eq!(after["status"], "moved", "{after}");
    assert_eq!(text_at(&after), "after a the call");

    let reworded = placement(&app, "seed-000-truncated-ending", None).await;
    assert_eq!(reworded["status"], "fuzzy", "{reworded}");
    assert!(text_at(&reworded).starts_with(
        "KRAMATORSK, Donetsk Oblast — U.S. President Donald Trump began actively pushing Ukraine"
    ));
    let score = reworded["score"].as_f64().unwrap();
    assert!(score > 0.7 && score < 1.0, "{score}");

    let duplicated = placement(&app, "seed-000-second-story", None).await;
    assert_eq!(duplicated["status"], "ambiguous", "{duplicated}");
    assert!(
        duplicated.get("position").is_none(),
        "an ambiguous passage is not placed"
    );
    assert_eq!(duplicated["candidates"].as_array().unwrap().len(), 2);

    let orphan = placement(&app, &doomed, None).await;
    assert_eq!(orphan["status"], "orphaned", "{orphan}");

    // The orphan and the ambiguous one are listed for a person; version 1 is as it was.
    let anchors = app.get_json(&format!("/api/articles/{NATO}/anchors")).await;
    let mut attention: Vec<&str> = anchors["needs_attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["annotation"].as_str().unwrap())
        .collect();
    attention.sort();
    let mut expected = vec![doomed.as_str(), "seed-000-second-story"];
    expected.sort();
    assert_eq!(attention, expected);
    assert_eq!(
        placement(&app, "seed-000-remakrs", Some(1)).await["status"],
        "original"
    );

    // Every result is an event; the original selectors are untouched.
    let anchored: Vec<Value> = app
        .get_json("/api/events?type=annotation.anchored&limit=100")
        .await["events"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(anchored.len(), 5);
    let w3c = app.get_json("/annotations/seed-000-remakrs").await;
    let target = &w3c["target"][0];
    assert!(target["source"].as_str().unwrap().ends_with("/versions/1"));
    assert_eq!(target["selector"][0]["exact"], "remakrs");
    assert_eq!(target["state"]["type"], "TimeState");
    assert!(target["state"]["sourceDate"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(target["anchor"]["version"], 2);
    assert_eq!(target["anchor"]["status"], "resolved");
    assert_eq!(target["anchor"]["selector"][0]["exact"], "remarks");
    assert!(
        annotation_must_failures(&w3c).is_empty(),
        "{:?}",
        annotation_must_failures(&w3c)
    );

    // A person re-attaches the ambiguous headline to its second copy: an event too.
    let second = duplicated["candidates"][1].clone();
    let reattached = app
        .post_json(
            "/api/annotations/seed-000-second-story/anchor",
            &json!({ "start": second["start"], "end": second["end"] }),
            ALICE,
        )
        .await;
    assert_eq!(reattached.status(), 200);
    let after: Value = reattached.json().await.unwrap();
    assert_eq!(after["status"], "reattached");
    assert_eq!(after["by"], "alice");
    assert_eq!(text_at(&after), HEADLINE);
    let events = app.get_json("/api/events?type=annotation.reattached").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    let anchors = app.get_json(&format!("/api/articles/{NATO}/anchors")).await;
    assert_eq!(anchors["needs_attention"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn re_attaching_checks_its_input_and_its_caller() {
    let app = spawn_app().await;
    let v1 = app.article_text(NATO).await;
    app.post_json(
        &format!("/api/articles/{NATO}/versions"),
        &json!({ "text": second_version(&v1) }),
        ALICE,
    )
    .await;
    let head = app.log_head();
    let cases = [
        (json!({ "start": 5, "end": 2 }), ALICE, 422, "not a passage"),
        (
            json!({ "start": 0, "end": 9_999_999 }),
            ALICE,
            422,
            "not a passage",
        ),
        (
            json!({ "start": 0, "end": 4, "version": 7 }),
            ALICE,
            422,
            "no version 7",
        ),
        (
            json!({ "start": 0, "end": 4, "target": 3 }),
            ALICE,
            422,
            "no target 3",
        ),
        (
            json!({ "start": 0, "end": 4, "article": "twenty-six-nations-pledge" }),
            ALICE,
            422,
            "no target on article",
        ),
        (json!({ "start": "x", "end": 4 }), ALICE, 400, ""),
        (json!({ "start": 0, "end": 4 }), VICTOR, 403, "viewer"),
    ];
    for (body, token, status, message) in cases {
        let response = app
            .post_json(
                "/api/annotations/seed-000-second-story/anchor",
                &body,
                token,
            )
            .await;
        assert_eq!(response.status(), status, "{body}");
        let text = detail(response).await;
        assert!(text.contains(message), "{body}: {text}");
    }
    assert_eq!(app.log_head(), head, "nothing refused was written");
    let missing = app
        .post_json(
            "/api/annotations/nope/anchor",
            &json!({ "start": 0, "end": 4 }),
            ALICE,
        )
        .await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_version_of_the_second_article_re_anchors_a_contradiction_kept_in_the_first() {
    // seed-001-004-reassurance-force lives in macron-us-support-finalised's document and
    // targets twenty-six-nations-pledge too.
    let app = spawn_app().await;
    let article = "twenty-six-nations-pledge";
    let v1 = app.article_text(article).await;
    let v2 = format!("Editor’s Note: updated with the leaders’ statements.\n{v1}");
    let published = app
        .post_json(
            &format!("/api/articles/{article}/versions"),
            &json!({ "text": v2 }),
            ALICE,
        )
        .await;
    assert_eq!(published.status(), 201);
    let anchors = app
        .get_json(&format!("/api/articles/{article}/anchors"))
        .await;
    let contradiction = anchors["placements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["annotation"] == "seed-001-004-reassurance-force")
        .expect("the contradiction is placed on the second article")
        .clone();
    assert_eq!(contradiction["status"], "moved");
    assert_eq!(contradiction["target"], 1);
    assert!(anchors["needs_attention"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glossa_publish_ingests_a_version_and_reports_what_needs_a_person() {
    let app = spawn_app().await;
    let v1 = app.article_text(NATO).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v2.txt");
    std::fs::write(&file, second_version(&v1)).unwrap();
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
            .args([
                "publish",
                "--server",
                &base,
                "--token",
                ALICE,
                "--article",
                NATO,
            ])
            .arg("--file")
            .arg(&file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["version"], 2);
    assert_eq!(report["created"], true);
    assert_eq!(report["anchoring"]["targets"]["resolved"], 1);
    let attention: Vec<&str> = report["needs_attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["annotation"].as_str().unwrap())
        .collect();
    assert_eq!(attention, ["seed-000-second-story"]);

    // A refused version is a clear error and a failing exit.
    let base = app.base.clone();
    let refused = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
            .args([
                "publish",
                "--server",
                &base,
                "--token",
                VICTOR,
                "--article",
                NATO,
            ])
            .args(["--file", "/dev/null"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403"));
}

#[tokio::test]
async fn an_annotation_made_on_an_older_version_is_anchored_in_the_latest_at_once() {
    // A page opened before the new version arrived still annotates version 1.
    let app = spawn_app().await;
    let v1 = app.article_text(NATO).await;
    app.post_json(
        &format!("/api/articles/{NATO}/versions"),
        &json!({ "text": second_version(&v1) }),
        ALICE,
    )
    .await;
    let quote = "Macron hailed Washington’s readiness";
    let byte = v1.find(quote).unwrap();
    let start = v1[..byte].chars().count();
    let annotation = json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "bodyValue": "Which readiness?",
        "target": {
            "source": format!("/articles/{NATO}/versions/1"),
            "selector": [
                { "type": "TextQuoteSelector", "exact": quote },
                { "type": "TextPositionSelector", "start": start, "end": start + quote.chars().count() }
            ]
        }
    });
    let created = app
        .post_json(
            &format!("/articles/{NATO}/annotations/"),
            &annotation,
            BRUNO,
        )
        .await;
    assert_eq!(created.status(), 201);
    // The answer's ETag already includes the anchoring.
    assert_eq!(created.headers()["etag"], "\"v2\"");
    let id = id_of(&created);
    let placed = placement(&app, &id, None).await;
    assert_eq!(placed["status"], "moved", "{placed}");

    // Replacing its targets drops the old anchors and places the new ones.
    let mut w3c = app.get_json(&format!("/annotations/{id}")).await;
    let other = "Trump himself has echoed these narratives";
    let byte = v1.find(other).unwrap();
    let start = v1[..byte].chars().count();
    w3c["target"][0]["selector"] = json!([
        { "type": "TextQuoteSelector", "exact": other },
        { "type": "TextPositionSelector", "start": start, "end": start + other.chars().count() }
    ]);
    let put = app.put_annotation(&id, &w3c, Some("\"v2\"")).await;
    assert_eq!(put.status(), 200);
    let placed = placement(&app, &id, None).await;
    assert_eq!(placed["status"], "moved", "{placed}");
    assert_eq!(placed["quote"]["exact"], other);
}

const FINALISED: &str = "macron-us-support-finalised";

/// Every placement on an article in one version, by (annotation, target).
async fn placements_of(app: &TestApp, article: &str, version: u32) -> Vec<Value> {
    app.get_json(&format!(
        "/api/articles/{article}/anchors?version={version}"
    ))
    .await["placements"]
        .as_array()
        .unwrap()
        .clone()
}

fn same_target<'a>(all: &'a [Value], p: &Value) -> &'a Value {
    all.iter()
        .find(|q| q["annotation"] == p["annotation"] && q["target"] == p["target"])
        .unwrap_or_else(|| panic!("{} is not placed", p["annotation"]))
}

#[tokio::test]
async fn a_passage_repeated_in_the_text_keeps_its_place_when_an_edit_does_not_touch_it() {
    let app = spawn_app().await;
    let v1 = app.article_text(FINALISED).await;
    let caption = v1.lines().next().unwrap().to_owned();
    assert_eq!(v1.matches(&caption).count(), 4);
    // The four copies of the caption open the article.
    let run_end = ([caption.as_str(); 4].join("\n").chars().count()) as u64;
    let on_caption: Vec<Value> = placements_of(&app, FINALISED, 1)
        .await
        .into_iter()
        .filter(|p| p["position"]["end"].as_u64().is_some_and(|e| e <= run_end))
        .collect();
    // alice's correction on the first copy, and a house-style tag on each "Zelenskyy".
    assert_eq!(on_caption.len(), 5, "{on_caption:?}");

    // Only "Nato" becomes "NATO", further down.
    let published = app
        .post_json(
            &format!("/api/articles/{FINALISED}/versions"),
            &json!({ "text": v1.replace("Nato", "NATO") }),
            ALICE,
        )
        .await;
    assert_eq!(published.status(), 201);
    let v2 = placements_of(&app, FINALISED, 2).await;
    for before in &on_caption {
        let now = same_target(&v2, before);
        assert_eq!(now["status"], "exact", "{now}");
        assert_eq!(now["position"], before["position"], "{now}");
    }

    // A note added above the caption moves every copy by exactly its length.
    let note = "Editor’s Note: NATO’s spelling was corrected.\n";
    let shift = note.chars().count() as u64;
    let v2_text = app.article_text(FINALISED).await;
    app.post_json(
        &format!("/api/articles/{FINALISED}/versions"),
        &json!({ "text": format!("{note}{v2_text}") }),
        ALICE,
    )
    .await;
    let v3 = placements_of(&app, FINALISED, 3).await;
    for before in &on_caption {
        let now = same_target(&v3, before);
        assert_eq!(now["status"], "moved", "{now}");
        for side in ["start", "end"] {
            assert_eq!(
                now["position"][side].as_u64().unwrap(),
                before["position"][side].as_u64().unwrap() + shift,
                "{now}"
            );
        }
    }
}

#[tokio::test]
async fn a_tag_the_server_resolved_itself_needs_no_one() {
    let app = spawn_app().await;
    let v1 = app.article_text(FINALISED).await;
    assert_eq!(v1.matches("Nato").count(), 2);
    let published = app
        .post_json(
            &format!("/api/articles/{FINALISED}/versions"),
            &json!({ "text": v1.replace("Nato", "NATO") }),
            ALICE,
        )
        .await;
    let body: Value = published.json().await.unwrap();
    // The server's tag on the second "Nato" is resolved; alice's own tag on the first is
    // hers to close.
    assert_eq!(body["style"]["resolved"], 1, "{body}");
    let anchors = app
        .get_json(&format!("/api/articles/{FINALISED}/anchors"))
        .await;
    let orphaned: Vec<&Value> = anchors["placements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "orphaned")
        .collect();
    assert_eq!(orphaned.len(), 2, "{orphaned:?}");
    let attention: Vec<&str> = anchors["needs_attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["annotation"].as_str().unwrap())
        .collect();
    assert_eq!(attention, ["seed-001-nato"]);
}
