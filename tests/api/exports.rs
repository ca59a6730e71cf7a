//! Exports, and the dump → restore → dump round trip.

use serde_json::{json, Value};

use crate::backend::on_postgres;
use crate::crash::Server;
use crate::helpers::{detail, etag, id_of, spawn_app, TestStore, ALICE, BRUNO, DESK_ANNOTATIONS};

/// Runs `glossa restore` from a dump into a desk.
fn restore(store: &TestStore, dump: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
        .arg("restore")
        .args(store.args())
        .arg("--from")
        .arg(dump)
        .output()
        .unwrap()
}

/// Runs `glossa dump` on a desk.
fn dump(store: &TestStore) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
        .arg("dump")
        .args(store.args())
        .output()
        .unwrap()
}

/// Checks one exported ClaimReview against schema.org and Google's ClaimReview guidance, and
/// returns what failed (empty when it passes).
pub fn claim_review_failures(review: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("{}: {what}", review["url"]));
    if review["@type"] != "ClaimReview" {
        fail("@type is not ClaimReview".into());
    }
    if review["claimReviewed"]
        .as_str()
        .is_none_or(|c| c.trim().is_empty())
    {
        fail("no claimReviewed".into());
    }
    if !(review["author"]["name"].is_string() && review["datePublished"].is_string()) {
        fail("the review has no author or datePublished".into());
    }
    let rating = &review["reviewRating"];
    if rating["@type"] != "Rating" {
        fail("reviewRating is not a Rating".into());
    }
    if rating["alternateName"].as_str().is_none_or(str::is_empty) {
        fail("the rating has no alternateName".into());
    }
    if !rating["description"]
        .as_str()
        .is_some_and(|d| d.contains('5'))
    {
        fail("the rating does not state its scale".into());
    }
    match rating.get("ratingValue") {
        Some(value) => {
            let (value, best, worst) = (
                value.as_f64(),
                rating["bestRating"].as_f64(),
                rating["worstRating"].as_f64(),
            );
            match (value, best, worst) {
                (Some(v), Some(b), Some(w)) if w <= v && v <= b => {}
                _ => fail(format!(
                    "ratingValue outside [worstRating, bestRating]: {rating}"
                )),
            }
        }
        None => {
            if rating.get("bestRating").is_some() || rating.get("worstRating").is_some() {
                fail(format!("a rating off the scale has a scale: {rating}"));
            }
        }
    }
    let item = &review["itemReviewed"];
    if item["@type"] != "Claim" {
        fail("itemReviewed is not a Claim".into());
    }
    let author = &item["author"];
    if !matches!(author["@type"].as_str(), Some("Person" | "Organization"))
        || author["name"].as_str().is_none_or(str::is_empty)
    {
        fail(format!(
            "the Claim has no author (Person/Organization with a name): {author}"
        ));
    }
    if author
        .get("url")
        .is_some_and(|u| !u.as_str().is_some_and(|u| u.starts_with("http")))
    {
        fail(format!("the claimant's url is not a link: {author}"));
    }
    if !item["datePublished"]
        .as_str()
        .is_some_and(|d| d.len() >= 10 && d.as_bytes()[4] == b'-')
    {
        fail(format!("the Claim has no datePublished: {item}"));
    }
    let appearances = item["appearance"].as_array().cloned().unwrap_or_default();
    if appearances.is_empty() {
        fail("the Claim has no appearance".into());
    }
    for appearance in appearances.iter().chain([&item["firstAppearance"]]) {
        if appearance["@type"] != "CreativeWork"
            || !appearance["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http"))
        {
            fail(format!(
                "an appearance is not a CreativeWork with a URL: {appearance}"
            ));
        }
    }
    if appearances.first() != Some(&item["firstAppearance"]) {
        fail("firstAppearance is not the first appearance".into());
    }
    failures
}

#[tokio::test]
async fn claimreview_csv_and_collection_exports() {
    let app = spawn_app().await;
    let reviews = app.get_json("/api/export/claimreview").await;
    let graph = reviews["@graph"].as_array().unwrap();
    assert_eq!(graph.len(), 3, "the seed fact-checks");
    for review in graph {
        let failures = claim_review_failures(review);
        assert!(failures.is_empty(), "{failures:#?}");
        // Every seed fact-check has a summary short enough for search engines.
        let reviewed = review["claimReviewed"].as_str().unwrap();
        assert!(reviewed.chars().count() <= 75, "{reviewed}");
    }
    let by_id = |id: &str| {
        graph
            .iter()
            .find(|r| r["url"].as_str().unwrap().ends_with(id))
            .unwrap()
            .clone()
    };
    let no_problem = by_id("/seed-003-no-problem");
    assert_eq!(no_problem["itemReviewed"]["author"]["name"], "Donald Trump");
    assert_eq!(no_problem["itemReviewed"]["datePublished"], "2025-02-24");
    assert!(no_problem["claimReviewed"]
        .as_str()
        .unwrap()
        .contains("Putin"));
    assert_eq!(no_problem["reviewRating"]["ratingValue"], 2);
    let direct_talks = by_id("/seed-004-direct-talks");
    assert_eq!(
        direct_talks["reviewRating"]["alternateName"],
        "Unverifiable"
    );
    assert!(direct_talks["reviewRating"].get("ratingValue").is_none());

    let csv = app.get("/api/export/annotations.csv").await;
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("id,article,kind,status"));
    assert!(text.contains("seed-003-no-problem"));

    let collection = app
        .get_json("/api/export/annotations?article=twenty-six-nations-pledge")
        .await;
    let items = collection["first"]["items"].as_array().unwrap();
    assert_eq!(collection["total"].as_u64().unwrap() as usize, items.len());
    assert!(crate::conformance::collection_must_failures(&collection).is_empty());
    assert_eq!(
        app.get("/api/export/annotations?article=nope")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn dump_restore_dump_is_identical_and_serves_the_same_desk() {
    let args = ["--public-url", "http://glossa.test"];
    // On PostgreSQL the desk moves from sled into a database, as an operator moves one.
    let original = if on_postgres() {
        TestStore::embedded()
    } else {
        TestStore::new()
    };
    let server = Server::start_with(&original, &args);
    for n in 0..5 {
        server.comment(n).await.expect("acknowledged");
    }
    let first = server
        .client
        .get(format!("{}/api/export/log.ndjson", server.base))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let listing = server.json("/annotations/?limit=200").await;
    let heads = server
        .json("/api/articles/twenty-six-nations-pledge/document")
        .await;
    server.kill();

    let dump_file = original.path().join("dump.ndjson");
    std::fs::write(&dump_file, &first).unwrap();
    // On PostgreSQL, a new database.
    let restored = TestStore::new();
    let restoring = restore(&restored, &dump_file);
    assert!(
        restoring.status.success(),
        "{}",
        String::from_utf8_lossy(&restoring.stderr)
    );
    let second = dump(&restored);
    assert!(second.status.success());
    assert!(
        first == String::from_utf8(second.stdout).unwrap(),
        "dump → restore → dump differs"
    );

    let server = Server::start_with(&restored, &args);
    let feed = server
        .client
        .get(format!("{}/api/export/log.ndjson", server.base))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed == first, "the restored server serves another log");
    let listing_after: Value = server.json("/annotations/?limit=200").await;
    assert_eq!(
        listing_after, listing,
        "the restored server serves the same annotations"
    );
    let heads_after = server
        .json("/api/articles/twenty-six-nations-pledge/document")
        .await;
    assert_eq!(
        heads_after["heads"], heads["heads"],
        "and the same document"
    );
    server.kill();

    // Restoring over existing data is refused.
    let again = restore(&restored, &dump_file);
    assert!(!again.status.success());
}

#[tokio::test]
async fn the_cli_reads_events_and_exports_from_a_running_server() {
    let store = TestStore::new();
    let server = Server::start(&store);
    let glossa = env!("CARGO_BIN_EXE_glossa");
    let cli = |args: &[&str]| {
        let mut command = std::process::Command::new(glossa);
        command
            .args(args)
            .args(["--server", &server.base, "--token", ALICE]);
        command
    };
    let page = cli(&["events", "--after", "3", "--limit", "5"])
        .output()
        .unwrap();
    assert!(
        page.status.success(),
        "{}",
        String::from_utf8_lossy(&page.stderr)
    );
    let seqs: Vec<u64> = String::from_utf8(page.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, vec![4, 5, 6, 7, 8]);

    // Follow the live tail from the head: a new write shows up.
    let head = server.json("/healthz").await["log_head"].as_u64().unwrap();
    let follower = cli(&[
        "events",
        "--follow",
        "--limit",
        "2",
        "--after",
        &head.to_string(),
    ])
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    server.comment(1).await.expect("acknowledged");
    let output = tokio::task::spawn_blocking(move || follower.wait_with_output().unwrap())
        .await
        .unwrap();
    let followed: Vec<u64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(followed, vec![head + 1, head + 2]);

    let export = cli(&["export", "claimreview"]).output().unwrap();
    assert!(export.status.success());
    let reviews: Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(reviews["@graph"].as_array().unwrap().len(), 3);
    server.kill();

    // The same exports straight from the data directory.
    let offline = std::process::Command::new(glossa)
        .args(["export", "csv"])
        .args(store.args())
        .output()
        .unwrap();
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let csv = String::from_utf8(offline.stdout).unwrap();
    assert!(csv.starts_with("id,article,kind") && csv.contains("seed-004-kiev"));
}

/// A log written by the first release stays readable: restoring its dump gives the desk it
/// recorded, and dumping again gives the same bytes. Keep this fixture as it is; add new ones
/// when event shapes grow.
#[tokio::test]
async fn a_log_written_by_release_one_stays_readable() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/log-v1.ndjson");
    let store = TestStore::new();
    let restoring = restore(&store, &fixture);
    assert!(
        restoring.status.success(),
        "{}",
        String::from_utf8_lossy(&restoring.stderr)
    );
    let dumped = dump(&store);
    assert!(
        std::fs::read(&fixture).unwrap() == dumped.stdout,
        "the dump format changed"
    );

    let server = Server::start_with(&store, &["--public-url", "http://glossa.test"]);
    // The first start sets the default term list, which tags what the seeds left untagged.
    assert_eq!(
        server.json("/annotations/").await["total"],
        DESK_ANNOTATIONS
    );
    let article = server.json("/api/articles/twenty-six-nations-pledge").await;
    assert_eq!(article["latest_version"], 2);
    let claim = server.json("/annotations/seed-003-aid-claim").await;
    assert_eq!(claim["status"], "in_review");
    let replies = claim["replies"].as_array().unwrap();
    assert_eq!(
        replies.last().unwrap()["text"],
        "Aid tracker figures attached."
    );
    server.kill();
}

/// A fact-check written through the W3C API with its claimant, claim date and summary gives
/// them back as extension terms (in conformant JSON-LD) and in the ClaimReview export; values
/// that break the rules are refused with what to send.
#[tokio::test]
async fn a_fact_checks_claimant_date_and_summary_reach_the_claimreview_export() {
    let app = spawn_app().await;
    let container = "/articles/twenty-six-nations-pledge/annotations/";
    let mut annotation = app
        .fact_check_on("twenty-six-nations-pledge", "26 nations have pledged")
        .await;
    annotation["verdict"] = json!("mostly-true");
    annotation["claimant"] = json!({
        "type": "Person", "name": "Emmanuel Macron", "url": "https://www.elysee.fr/"
    });
    annotation["claimDate"] = json!("2025-09-04");
    annotation["claimSummary"] = json!("26 nations pledged troops for postwar Ukraine");

    // Refused: each rule, with a message naming the term.
    let refusals = [
        ("claimant", json!({ "name": "  " }), 422, "name"),
        ("claimant", json!({ "name": "x".repeat(201) }), 422, "200"),
        (
            "claimant",
            json!({ "name": "A", "url": "ftp://a.example/" }),
            422,
            "http",
        ),
        (
            "claimant",
            json!({ "name": "A", "type": "Robot" }),
            400,
            "Organization",
        ),
        ("claimant", json!(7), 400, "claimant"),
        ("claimDate", json!("24/02/2025"), 422, "YYYY-MM-DD"),
        ("claimDate", json!("2999-01-01"), 422, "future"),
        ("claimSummary", json!("y".repeat(201)), 422, "200"),
    ];
    for (term, value, status, says) in refusals {
        let mut bad = annotation.clone();
        bad[term] = value.clone();
        let response = app.post_annotation(container, &bad, BRUNO).await;
        assert_eq!(response.status(), status, "{term} = {value}");
        let message = detail(response).await;
        assert!(message.contains(says), "{term} = {value}: {message}");
    }
    let mut comment = annotation.clone();
    comment["motivation"] = json!("commenting");
    comment.as_object_mut().unwrap().remove("verdict");
    let response = app.post_annotation(container, &comment, BRUNO).await;
    assert_eq!(response.status(), 422, "only fact-checks carry a claimant");

    let response = app.post_annotation(container, &annotation, BRUNO).await;
    assert_eq!(response.status(), 201);
    let id = id_of(&response);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["claimant"]["name"], "Emmanuel Macron");
    assert_eq!(created["claimant"]["url"], "https://www.elysee.fr/");
    assert_eq!(created["claimant"]["type"], "Person");
    assert_eq!(created["claimDate"], "2025-09-04");
    let must = crate::conformance::annotation_must_failures(&created);
    assert!(must.is_empty(), "{must:#?}");

    let export = app.get_json("/api/export/claimreview").await;
    let review = export["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with(&id))
        .expect("the fact-check is exported")
        .clone();
    let failures = claim_review_failures(&review);
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        review["claimReviewed"],
        "26 nations pledged troops for postwar Ukraine"
    );
    let item = &review["itemReviewed"];
    assert_eq!(
        item["author"],
        json!({ "@type": "Person", "name": "Emmanuel Macron", "url": "https://www.elysee.fr/" })
    );
    assert_eq!(item["datePublished"], "2025-09-04");
    assert_eq!(review["reviewRating"]["ratingValue"], 4);

    // A claimant given by name alone, as an organisation, replaces it; the update is logged.
    let mut replaced = annotation.clone();
    replaced["claimant"] = json!({ "type": "Organization", "name": "Élysée Palace" });
    replaced["claimDate"] = json!("2025-09-04T18:30:00+02:00");
    let current = app.get(&format!("/annotations/{id}")).await;
    let tag = etag(&current);
    let response = app.put_annotation(&id, &replaced, Some(&tag)).await;
    assert_eq!(response.status(), 200, "{}", detail(response).await);
    let export = app.get_json("/api/export/claimreview").await;
    let review = export["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with(&id))
        .unwrap()
        .clone();
    assert_eq!(
        review["itemReviewed"]["author"],
        json!({ "@type": "Organization", "name": "Élysée Palace" })
    );
    assert_eq!(
        review["itemReviewed"]["datePublished"],
        "2025-09-04T18:30:00+02:00"
    );
    let updated = app
        .events()
        .into_iter()
        .rev()
        .find(|e| e.event_type == "annotation.updated")
        .expect("an update");
    assert!(
        updated.data["changes"]["claim"].is_object(),
        "{:?}",
        updated.data
    );
}
