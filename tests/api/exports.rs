//! Exports, and the dump → restore → dump round trip.

use serde_json::Value;

use crate::backend::on_postgres;
use crate::crash::Server;
use crate::helpers::{spawn_app, TestStore, ALICE, DESK_ANNOTATIONS};

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

#[tokio::test]
async fn claimreview_csv_and_collection_exports() {
    let app = spawn_app().await;
    let reviews = app.get_json("/api/export/claimreview").await;
    let graph = reviews["@graph"].as_array().unwrap();
    assert_eq!(graph.len(), 3, "the seed fact-checks");
    for review in graph {
        assert_eq!(review["@type"], "ClaimReview");
        assert!(review["claimReviewed"]
            .as_str()
            .is_some_and(|c| !c.is_empty()));
        let rating = &review["reviewRating"];
        assert_eq!(rating["bestRating"], 5);
        assert_eq!(rating["worstRating"], 1);
        assert!(rating["alternateName"].is_string() && rating["ratingValue"].is_number());
        assert_eq!(review["itemReviewed"]["@type"], "Claim");
        assert!(!review["itemReviewed"]["appearance"]
            .as_array()
            .unwrap()
            .is_empty());
        assert!(review["author"]["name"].is_string() && review["datePublished"].is_string());
    }

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
