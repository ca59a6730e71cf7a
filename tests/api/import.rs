//! Importing annotations from Hypothesis: `POST /api/import/hypothesis` and
//! `glossa import hypothesis` on a data directory, with `tests/fixtures/hypothesis.json` (rows
//! written against the seed articles: exact and drifted quotes, a tag, an orphan with a reply, a
//! reply chain, an unknown URL, a page note, replies whose root is missing).

use glossa::hypothesis::derived_id;
use reqwest::Method;
use serde_json::{json, Value};

use crate::conformance::annotation_must_failures;
use crate::helpers::{etag, glossa, spawn_app, TestApp, TestStore, ALICE, ARTICLE, BRUNO, CHIARA};

const FIXTURE: &str = include_str!("../fixtures/hypothesis.json");

/// The fixture with its articles' addresses on `base` (the rows name `glossa.test`, in http and
/// https).
fn fixture_on(base: &str) -> String {
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    FIXTURE.replace("glossa.test", host)
}

async fn import(app: &TestApp, body: &str, token: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/import/hypothesis", Some(token))
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST")
}

fn skipped_ids(report: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn hypothesis_annotations_are_filed_placed_and_threaded_and_a_second_import_changes_nothing()
{
    let app = spawn_app().await;
    let body = fixture_on(&app.base);
    let response = import(&app, &body, CHIARA).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["rows"], 12, "{report:#}");
    assert_eq!(
        report["imported"],
        json!({ "annotations": 4, "replies": 4 })
    );
    assert_eq!(
        report["placed"],
        json!({ "exact": 2, "fuzzy": 1 }),
        "{report:#}"
    );
    assert_eq!(report["already_imported"], 0);
    let orphaned = report["orphaned"].as_array().unwrap();
    assert_eq!(orphaned.len(), 1, "{report:#}");
    assert_eq!(orphaned[0]["id"], "Hy4Orphan");
    assert_eq!(orphaned[0]["article"], ARTICLE);
    assert_eq!(orphaned[0]["anchoring"], "orphaned");
    assert_eq!(
        skipped_ids(&report),
        [
            "Hy5Unknown",
            "Hy6PageNote",
            "HyAReplyUnknown",
            "HyBReplyNoRoot"
        ]
    );
    let reason = |id: &str| {
        report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason("Hy5Unknown").starts_with("unknown URL https://elsewhere.example/"));
    assert!(reason("Hy6PageNote").contains("page note"));
    assert!(reason("HyAReplyUnknown").contains("URL is unknown"));
    assert!(reason("HyBReplyNoRoot").contains("neither in the file nor imported before"));

    // The exact one, with its author, time, tags, provenance and thread, through the W3C API.
    let nato = app
        .get_json(&format!("/annotations/{}", derived_id("Hy1ExactNato")))
        .await;
    assert_eq!(nato["kind"], "comment");
    assert_eq!(nato["creator"]["nickname"], "h.jane_doe");
    assert_eq!(nato["created"], "2025-09-05T10:00:00.000Z");
    assert_eq!(nato["via"], "https://hypothes.is/a/Hy1ExactNato");
    let note = nato["body"][0]["value"].as_str().unwrap();
    assert!(note.starts_with("Check: was NATO membership explicitly ruled out"));
    assert!(note.ends_with("imported from Hypothesis, by acct:jane_doe@hypothes.is"));
    let tags: Vec<&Value> = nato["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["purpose"] == "tagging")
        .map(|b| &b["value"])
        .collect();
    assert_eq!(tags, [&json!("nato"), &json!("check")]);
    let target = &nato["target"][0];
    assert!(target["source"]
        .as_str()
        .unwrap()
        .ends_with("/articles/macron-us-guarantees-nato/versions/1"));
    assert_eq!(
        target["selector"][0]["exact"],
        "The United States is prepared to provide Ukraine with security guarantees"
    );
    let replies = nato["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 3, "{nato:#}");
    let reply = |hyp: &str| {
        replies
            .iter()
            .find(|r| r["id"].as_str().unwrap().ends_with(&derived_id(hyp)))
            .unwrap_or_else(|| panic!("{hyp} is in the thread"))
    };
    assert!(reply("Hy7Reply1").get("parent").is_none());
    assert!(reply("Hy8Reply2")["parent"]
        .as_str()
        .unwrap()
        .ends_with(&derived_id("Hy7Reply1")));
    assert!(reply("Hy9Reply3")["parent"]
        .as_str()
        .unwrap()
        .ends_with(&derived_id("Hy8Reply2")));
    assert_eq!(reply("Hy9Reply3")["creator"]["nickname"], "h.sam");
    assert!(reply("Hy7Reply1")["text"]
        .as_str()
        .unwrap()
        .starts_with("Only as a guarantee"));

    // The drifted quote is placed fuzzily on the article's own words; the address had a
    // trailing slash, tracking parameters, a fragment and https.
    let drifted = app
        .get_json(&format!("/annotations/{}", derived_id("Hy2DriftedPledge")))
        .await;
    assert_eq!(drifted["creator"]["nickname"], "h.marcor");
    assert_eq!(
        drifted["target"][0]["selector"][0]["exact"],
        "Germany, Spain, and Italy have declined to commit troops, preferring to focus on funding, training, and supplying arms."
    );
    // The one with tags and no text is a tag.
    let tag = app
        .get_json(&format!("/annotations/{}", derived_id("Hy3TagOnly")))
        .await;
    assert_eq!(tag["kind"], "tag");
    assert_eq!(
        tag["target"][0]["selector"][0]["exact"],
        "Kremlin spokesperson Dmitry Peskov"
    );
    // Nothing was written for the unknown URL or the page note.
    for missing in ["Hy5Unknown", "Hy6PageNote"] {
        let status = app
            .get(&format!("/annotations/{}", derived_id(missing)))
            .await
            .status();
        assert_eq!(status, 404, "{missing}");
    }

    // Again: nothing is written, and the report says what is there already.
    let head = app.log_head();
    let again: Value = import(&app, &body, CHIARA).await.json().await.unwrap();
    assert_eq!(again["imported"], json!({ "annotations": 0, "replies": 0 }));
    assert_eq!(again["already_imported"], 8, "{again:#}");
    assert!(
        again["orphaned"].as_array().unwrap().is_empty(),
        "{again:#}"
    );
    assert_eq!(skipped_ids(&again).len(), 4);
    assert_eq!(app.log_head(), head);
}

/// The row whose passage is in no version of its article is imported as orphaned, as a passage
/// a new version lost is: its selectors as Hypothesis wrote them, listed for a person in the
/// queue and the reader until re-attached, with its replies; importing again writes nothing.
#[tokio::test]
async fn a_row_with_no_place_is_imported_orphaned_for_a_person_to_re_attach() {
    let app = spawn_app().await;
    let body = fixture_on(&app.base);
    let report: Value = import(&app, &body, CHIARA).await.json().await.unwrap();
    assert_eq!(report["orphaned"][0]["id"], "Hy4Orphan", "{report:#}");
    let id = derived_id("Hy4Orphan");
    let lost =
        "The summit ended without any agreement on troop numbers or a timetable for deployment.";

    // Written, with the selectors it came with, its place in the version it is filed on
    // (the latest) `orphaned`, its reply threaded; valid W3C.
    let orphan = app.get_json(&format!("/annotations/{id}")).await;
    assert_eq!(orphan["creator"]["nickname"], "h.jane_doe");
    assert_eq!(orphan["via"], "https://hypothes.is/a/Hy4Orphan");
    let target = &orphan["target"][0];
    assert!(target["source"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/articles/{ARTICLE}/versions/1")));
    assert_eq!(target["selector"][0]["exact"], lost);
    assert_eq!(target["selector"][0]["prefix"], "supplying arms.\n");
    assert_eq!(
        target["selector"][1],
        json!({ "type": "TextPositionSelector", "start": 4400, "end": 4487 })
    );
    assert_eq!(target["anchor"]["version"], 1);
    assert_eq!(target["anchor"]["status"], "orphaned");
    assert!(target["anchor"].get("selector").is_none());
    let replies = orphan["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "{orphan:#}");
    assert!(replies[0]["id"]
        .as_str()
        .unwrap()
        .ends_with(&derived_id("HyCReplyOrphan")));
    assert!(replies[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("The wire copy had this line"));
    let failures = annotation_must_failures(&orphan);
    assert!(failures.is_empty(), "{failures:?}");

    // A person is asked to place it: in the queue's "needs a person" and the reader's list.
    let queued = needing_a_person(&app).await;
    let entry = queued
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} needs a person: {queued:#?}"));
    assert_eq!(entry["article"], ARTICLE);
    assert_eq!(entry["version"], 1);
    assert_eq!(entry["made_on"], 1);
    assert_eq!(entry["target_status"], "orphaned");
    assert_eq!(entry["quote"], lost);
    assert_eq!(to_re_attach(&app).await, [id.as_str()]);
    assert_eq!(
        queued.iter().filter(|e| e["id"] != id.as_str()).count(),
        0,
        "only the orphan waits for a person: {queued:#?}"
    );

    // Importing again writes nothing, the orphan included.
    let head = app.log_head();
    let again: Value = import(&app, &body, CHIARA).await.json().await.unwrap();
    assert_eq!(again["imported"], json!({ "annotations": 0, "replies": 0 }));
    assert_eq!(again["already_imported"], 8, "{again:#}");
    assert_eq!(app.log_head(), head);

    // Its note can be edited through the W3C API with its selectors as they are.
    let response = app.get(&format!("/annotations/{id}")).await;
    let tag = etag(&response);
    let mut edited: Value = response.json().await.unwrap();
    edited["body"][0]["value"] = json!("Cut from the published version; ask the desk why.");
    let put = app.put_annotation(&id, &edited, Some(&tag)).await;
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    // Sent twice, the second copy has no anchor at its index: it is checked, and refused.
    let response = app.get(&format!("/annotations/{id}")).await;
    let tag = etag(&response);
    let mut doubled: Value = response.json().await.unwrap();
    let target = match &doubled["target"] {
        Value::Array(targets) => targets[0].clone(),
        one => one.clone(),
    };
    doubled["target"] = json!([target.clone(), target]);
    let put = app.put_annotation(&id, &doubled, Some(&tag)).await;
    assert_eq!(put.status(), 422, "{}", put.text().await.unwrap());

    // A person re-attaches it with the re-attach action; it leaves both lists.
    let text = app.article_text(ARTICLE).await;
    let at = text.find("divisions remain").expect("the passage");
    let start = text[..at].chars().count();
    let reattached = app
        .post_json(
            &format!("/api/annotations/{id}/anchor"),
            &json!({ "start": start, "end": start + "divisions remain".chars().count() }),
            ALICE,
        )
        .await;
    assert_eq!(reattached.status(), 200);
    let placed: Value = reattached.json().await.unwrap();
    assert_eq!(placed["status"], "reattached");
    assert_eq!(placed["quote"]["exact"], "divisions remain");
    assert!(needing_a_person(&app)
        .await
        .iter()
        .all(|e| e["id"] != id.as_str()));
    assert!(to_re_attach(&app).await.is_empty());
    let orphan = app.get_json(&format!("/annotations/{id}")).await;
    assert_eq!(orphan["target"][0]["anchor"]["status"], "reattached");
    assert_eq!(
        orphan["target"][0]["anchor"]["selector"][0]["exact"],
        "divisions remain"
    );
    assert_eq!(orphan["target"][0]["selector"][0]["exact"], lost);
    let failures = annotation_must_failures(&orphan);
    assert!(failures.is_empty(), "{failures:?}");

    // And importing once more does not make it an orphan again.
    let head = app.log_head();
    let again: Value = import(&app, &body, CHIARA).await.json().await.unwrap();
    assert_eq!(again["already_imported"], 8, "{again:#}");
    assert_eq!(app.log_head(), head);
    assert!(to_re_attach(&app).await.is_empty());
}

/// An imported orphan is anchored in later versions like any annotation, from the selectors it
/// came with: a version that has its passage places it, and no person is asked any more.
#[tokio::test]
async fn a_later_version_with_the_passage_places_an_imported_orphan() {
    let app = spawn_app().await;
    import(&app, &fixture_on(&app.base), CHIARA).await;
    let id = derived_id("Hy4Orphan");
    assert_eq!(to_re_attach(&app).await, [id.as_str()]);
    let v1 = app.article_text(ARTICLE).await;
    // Hypothesis's position (counted in the page it ran on) lies past the end of the version
    // the orphan is filed on.
    assert!(v1.chars().count() < 4400, "{}", v1.chars().count());
    let arms = "preferring to focus on funding, training, and supplying arms.";
    assert!(v1.contains(arms));
    let lost =
        "The summit ended without any agreement on troop numbers or a timetable for deployment.";
    let v2 = v1.replacen(arms, &format!("{arms}\n{lost}"), 1);
    let published = app
        .post_json(
            &format!("/api/articles/{ARTICLE}/versions"),
            &json!({ "text": v2 }),
            ALICE,
        )
        .await;
    assert_eq!(published.status(), 201);
    assert!(to_re_attach(&app).await.is_empty());
    let orphan = app.get_json(&format!("/annotations/{id}")).await;
    let anchor = &orphan["target"][0]["anchor"];
    assert_eq!(anchor["version"], 2);
    assert!(
        ["exact", "moved"].contains(&anchor["status"].as_str().unwrap()),
        "{anchor}"
    );
    assert_eq!(anchor["selector"][0]["exact"], lost);
}

/// A quote that fits several places alike (a photo caption repeated at the top of an article)
/// and came with no position is imported `ambiguous`, with the places that fit, for a person to
/// choose one.
#[tokio::test]
async fn a_row_that_fits_several_places_is_imported_ambiguous() {
    let app = spawn_app().await;
    let article = "macron-us-support-finalised";
    let caption = "upon his arrival to attend the Coalition of the Willing Summit";
    let text = app.article_text(article).await;
    assert!(text.matches(caption).count() > 1);
    let row = json!([{
        "id": "HyDAmbiguous",
        "created": "2025-09-06T09:00:00.000000+00:00",
        "user": "acct:ana@hypothes.is",
        "uri": format!("{}/articles/{article}", app.base),
        "text": "Which copy of the caption is this about?",
        "tags": [],
        "target": [{ "selector": [{ "type": "TextQuoteSelector", "exact": caption }] }],
    }]);
    let report: Value = import(&app, &row.to_string(), CHIARA)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["imported"]["annotations"], 1, "{report:#}");
    assert_eq!(
        report["orphaned"][0]["anchoring"], "ambiguous",
        "{report:#}"
    );
    let id = derived_id("HyDAmbiguous");
    let w3c = app.get_json(&format!("/annotations/{id}")).await;
    let target = &w3c["target"][0];
    assert_eq!(target["selector"][0]["exact"], caption);
    // No position came with it: the quote's length from the start, where it was looked for.
    assert_eq!(
        target["selector"][1],
        json!({ "type": "TextPositionSelector", "start": 0, "end": caption.chars().count() })
    );
    assert_eq!(target["anchor"]["status"], "ambiguous");
    let candidates = target["anchor"]["candidates"].as_array().unwrap();
    assert!(candidates.len() > 1, "{target:#}");
    let failures = annotation_must_failures(&w3c);
    assert!(failures.is_empty(), "{failures:?}");
    let queued = needing_a_person(&app).await;
    let entry = queued
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} needs a person: {queued:#?}"));
    assert_eq!(entry["target_status"], "ambiguous");
    assert_eq!(entry["candidates"], candidates.len());

    // A person picks the second copy.
    let second = &candidates[1];
    let reattached = app
        .post_json(
            &format!("/api/annotations/{id}/anchor"),
            &json!({ "start": second["start"], "end": second["end"] }),
            ALICE,
        )
        .await;
    assert_eq!(reattached.status(), 200);
    let placed: Value = reattached.json().await.unwrap();
    assert_eq!(placed["quote"]["exact"], caption);
    assert!(needing_a_person(&app)
        .await
        .iter()
        .all(|e| e["id"] != id.as_str()));
}

/// The queue's "needs a person" list.
async fn needing_a_person(app: &TestApp) -> Vec<Value> {
    let response = app
        .request(Method::GET, "/api/queue?list=needs_attention", Some(BRUNO))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let queue: Value = response.json().await.unwrap();
    queue["needs_attention"].as_array().unwrap().clone()
}

/// The annotations the reader offers to re-attach on the article's latest version.
async fn to_re_attach(app: &TestApp) -> Vec<String> {
    let anchors = app
        .get_json(&format!("/api/articles/{ARTICLE}/anchors"))
        .await;
    anchors["needs_attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["annotation"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn only_admins_import_and_bad_input_is_refused_with_nothing_written() {
    let app = spawn_app().await;
    let head = app.log_head();
    let body = fixture_on(&app.base);
    assert_eq!(import(&app, &body, ALICE).await.status(), 403);
    for (bad, says) in [
        ("{\"rows\": [", "not valid JSON"),
        ("{\"total\": 2}", "\"rows\""),
        ("42", "search result"),
        (
            "[{\"id\": \"x\", \"uri\": \"http://a/b\", \"created\": \"2025-09-05T10:00:00Z\"}]",
            "missing field `user`",
        ),
    ] {
        let response = import(&app, bad, CHIARA).await;
        assert_eq!(response.status(), 400, "{bad}");
        let problem: Value = response.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{bad}: {detail}");
    }
    // One bad row refuses the whole file, the good rows with it.
    let mut rows: Value = serde_json::from_str(&body).unwrap();
    rows["rows"][3]["created"] = json!("yesterday");
    let response = import(&app, &rows.to_string(), CHIARA).await;
    assert_eq!(response.status(), 400);
    assert_eq!(app.log_head(), head);
}

#[tokio::test]
async fn the_command_imports_into_a_data_directory_once() {
    let store = TestStore::new();
    {
        let opened = glossa::store::Store::open_at(&store.location()).unwrap();
        let desk = glossa::desk::Desk::new(opened.clone(), Default::default());
        glossa::seeds::load(&desk).await.unwrap();
        desk.documents().shutdown().await;
        drop(desk);
        opened.close();
    }
    let fixture = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(fixture.path(), fixture_on("http://desk.example")).unwrap();
    let args = |file: &std::path::Path| {
        let mut args: Vec<std::ffi::OsString> =
            vec!["import".into(), "hypothesis".into(), file.into()];
        args.extend(store.args());
        args.extend(["--public-url".into(), "https://desk.example/".into()]);
        args
    };
    let (ok, out, err) = glossa(args(fixture.path())).await;
    assert!(ok, "{err}");
    assert!(out.contains("imported: 4 annotations, 4 replies"), "{out}");
    assert!(out.contains("placed: 2 exact, 1 fuzzy"), "{out}");
    assert!(
        out.contains("orphaned (imported without a place, for a person to re-attach): 1"),
        "{out}"
    );
    assert!(
        out.contains(
            "Hy4Orphan on twenty-six-nations-pledge (orphaned: its quote is nowhere in the text)"
        ),
        "{out}"
    );
    assert!(out.contains("skipped: 4"), "{out}");
    assert!(
        out.contains("unknown URL https://elsewhere.example/"),
        "{out}"
    );
    assert!(out.contains("already imported: 0"), "{out}");

    let (ok, out, err) = glossa(args(fixture.path())).await;
    assert!(ok, "{err}");
    assert!(out.contains("imported: 0 annotations, 0 replies"), "{out}");
    assert!(out.contains("already imported: 8"), "{out}");

    // A file that is not Hypothesis JSON: a message, a failure, nothing written.
    let head = {
        let opened = glossa::store::Store::open_at(&store.location()).unwrap();
        let head = opened.log.head();
        opened.close();
        head
    };
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "{\"rows\": 3}").unwrap();
    let (ok, _, err) = glossa(args(bad.path())).await;
    assert!(!ok);
    assert!(err.contains("nothing was imported"), "{err}");
    let opened = glossa::store::Store::open_at(&store.location()).unwrap();
    assert_eq!(opened.log.head(), head);
    let row = opened
        .read_model
        .annotation(&glossa::domain::AnnotationId::parse(&derived_id("Hy1ExactNato")).unwrap())
        .unwrap()
        .expect("imported");
    assert_eq!(row.annotation.replies.len(), 3);
    opened.close();
}

#[tokio::test]
async fn the_command_imports_through_a_running_server_as_an_admin() {
    let app = spawn_app().await;
    let fixture = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(fixture.path(), fixture_on(&app.base)).unwrap();
    let run = |token: &str| {
        glossa::<_, std::ffi::OsString>(vec![
            "import".into(),
            "hypothesis".into(),
            fixture.path().into(),
            "--server".into(),
            app.base.clone().into(),
            "--token".into(),
            token.into(),
        ])
    };
    let head = app.log_head();
    let (ok, _, err) = run(ALICE).await;
    assert!(!ok);
    assert!(
        err.contains("403") && err.contains("import annotations"),
        "{err}"
    );
    assert_eq!(app.log_head(), head);
    let (ok, out, err) = run(CHIARA).await;
    assert!(ok, "{err}");
    assert!(out.contains("imported: 4 annotations, 4 replies"), "{out}");
    assert!(out.contains("placed: 2 exact, 1 fuzzy"), "{out}");
}
