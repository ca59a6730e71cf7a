//! The web UI: the bundle the server ships is the one its sources build, the server serves it,
//! and the desk works in a real headless Chromium (Debian's package, driven by playwright-core
//! from `tests/js/web-e2e.mjs`) against a server started here. Screenshots are kept in
//! `test-artifacts/web/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use glossa::http::WEB_ASSETS;
use reqwest::{header, Method, StatusCode};
use serde_json::Value;

use crate::helpers::{ensure_node_packages, spawn_app, TestApp, ALICE, VICTOR};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn artifacts() -> PathBuf {
    root().join("test-artifacts/web")
}

#[test]
fn the_shipped_bundle_is_built_from_the_sources() {
    ensure_node_packages();
    let fresh = tempfile::tempdir().unwrap();
    let status = Command::new("node")
        .arg("build.mjs")
        .arg("--outdir")
        .arg(fresh.path())
        .current_dir(root().join("web"))
        .status()
        .expect("node runs the web build");
    assert!(status.success(), "web/build.mjs failed");

    let mut built: Vec<String> = std::fs::read_dir(fresh.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    built.sort();
    let mut shipped: Vec<String> = WEB_ASSETS.iter().map(|a| a.name.to_owned()).collect();
    shipped.sort();
    assert_eq!(
        built, shipped,
        "the server must embed exactly the files the build writes"
    );

    for asset in &WEB_ASSETS {
        let fresh_bytes = std::fs::read(fresh.path().join(asset.name)).unwrap();
        assert!(
            fresh_bytes == asset.bytes,
            "web/dist/{} is stale: rebuild it with `npm --prefix web run build` and commit it",
            asset.name
        );
    }
}

#[tokio::test]
async fn the_server_serves_the_desk_with_validators() {
    let app = spawn_app().await;
    let page = app.request(Method::GET, "/", None).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("/assets/app.js"));

    for (path, kind) in [
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
        ("/assets/automerge.wasm", "application/wasm"),
    ] {
        let response = app.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(kind));
        let etag = response.headers()[header::ETAG].clone();
        let again = app
            .request(Method::GET, path, None)
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }

    let wasm = WEB_ASSETS
        .iter()
        .find(|a| a.name == "automerge.wasm")
        .unwrap();
    let compressed = app
        .request(Method::GET, "/assets/automerge.wasm", None)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()[header::CONTENT_ENCODING], "gzip");
    let sent = compressed.bytes().await.unwrap().len();
    assert!(
        sent < wasm.bytes.len() / 2,
        "{sent} bytes sent for a {}-byte file",
        wasm.bytes.len()
    );

    let missing = app
        .request(Method::GET, "/assets/../Cargo.toml", None)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let unknown = app
        .request(Method::GET, "/assets/secret.txt", None)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_desk_learns_who_is_signed_in_and_who_can_be_assigned() {
    let app = spawn_app().await;
    let me: Value = app.json_as(Method::GET, "/api/me", Some(VICTOR)).await;
    assert_eq!(me["name"], "victor");
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["can_write"], false);

    let users: Value = app.json_as(Method::GET, "/api/users", Some(ALICE)).await;
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bruno", "chiara", "victor"]);
    assert!(
        !users.to_string().contains("sha256"),
        "no token hashes leave the server"
    );

    let anonymous = app
        .request(Method::GET, "/api/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_sign_in_page_offers_demo_users_only_on_a_demo_desk() {
    let demo = spawn_app().await;
    assert_eq!(run_scenario(&demo, "signin", &[]).await["offered"], 4);
    let store = crate::helpers::TestStore::new();
    let real = crate::helpers::spawn_app_from(glossa::config::Settings {
        seed: false,
        ..store.settings()
    })
    .await;
    assert_eq!(run_scenario(&real, "signin", &[]).await["offered"], 0);
}

/// Runs one scenario of `tests/js/web-e2e.mjs` against a fresh server; returns its JSON line.
async fn browser(scenario: &str) -> Value {
    let app = spawn_app().await;
    run_scenario(&app, scenario, &[]).await
}

async fn run_scenario(app: &TestApp, scenario: &str, env: &[(&str, &str)]) -> Value {
    ensure_node_packages();
    let base = app.base.clone();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let scenario = scenario.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("web-e2e.mjs")
            .arg(&scenario)
            .current_dir(root().join("tests/js"))
            .env("GLOSSA_BASE", base)
            .env("GLOSSA_ARTIFACTS", artifacts())
            .envs(env)
            .output()
            .expect("node runs the browser scenario")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser scenario failed:\n{stderr}\n{stdout}"
    );
    let line = stdout.lines().last().expect("the scenario prints a result");
    serde_json::from_str(line).expect("the scenario prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_editors_annotate_and_type_together_in_chromium() {
    let result = browser("collaborate").await;
    assert_eq!(result["ok"], true);
    // Both people's words are in the one note, and the server logged the same text.
    let note = result["note"].as_str().unwrap();
    assert!(note.contains("Alpha checked the pool report.") && note.contains("Bravo: "));
    assert_eq!(result["server_note"], result["note"]);
    assert!(result["story_entries"].as_u64().unwrap() >= 4);
    assert!(artifacts().join("web-collaboration-alice.png").exists());
    assert!(artifacts().join("web-collaboration-bruno.png").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_but_cannot_edit_in_chromium() {
    let result = browser("viewer").await;
    assert_eq!(result["readOnly"], true);
    assert_eq!(result["controls"], 0);
    assert_eq!(result["annotate"], false);
    assert_eq!(result["status"], 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_fits_desktop_and_phone_and_works_from_the_keyboard() {
    let result = browser("layout").await;
    for viewport in ["desktop", "phone"] {
        assert_eq!(result[viewport]["overflow"], 0, "{viewport}");
        assert!(result[viewport]["worst_contrast"].as_f64().unwrap() >= 4.5);
        assert_eq!(result[viewport]["desk_overflow"], 0, "{viewport}");
        assert!(result[viewport]["desk_contrast"].as_f64().unwrap() >= 4.5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_survives_annotations_arriving_mid_selection_in_chromium() {
    let result = browser("selection").await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["stored"], "Zelensky hailed the pledges as");
    assert_eq!(result["arrived"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_composed_from_a_selection_in_chromium() {
    // Emoji before the passages: the browser counts UTF-16 units, selectors count code points.
    let app = spawn_app().await;
    let text = "Crowds 🎉🎉 gathered in Kyiv’s Maidan as the “reassurance force” was announced.\n\
                The minister said 26 nations had signed, though only 12 confirmed troops.\n\
                A third line about Kiev and Nato.";
    let created = app
        .request(Method::POST, "/api/articles", Some(ALICE))
        .json(&serde_json::json!({ "id": "emoji-desk", "title": "Emoji desk", "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let result = run_scenario(&app, "compose", &[("GLOSSA_COMPOSE_ARTICLE", "emoji-desk")]).await;
    let quote = "“reassurance force” was announced";
    let start = text[..text.find(quote).unwrap()].chars().count();
    assert_eq!(result["correction"]["start"], start);
    assert_eq!(result["correction"]["end"], start + quote.chars().count());
    // Three tags: "Kiev" and "Nato" flagged by the house style on arrival, and the one made here.
    assert_eq!(result["filtered"], 3);
    assert!(result["synced"]
        .as_str()
        .unwrap()
        .ends_with("Written offline."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_anchored_article_shows_its_versions_and_what_to_re_attach_in_chromium() {
    let app = spawn_app().await;
    let article = "macron-us-guarantees-nato";
    let v1 = app.article_text(article).await;
    let headline = "As Putin, Trump debate Ukraine’s future borders, Donetsk Oblast residents are split on what they would accept to end the war";
    let v2 = v1
        .replace("remakrs", "remarks")
        .replace(headline, &format!("{headline}\n{headline}"));
    let published = app
        .request(
            Method::POST,
            &format!("/api/articles/{article}/versions"),
            Some(ALICE),
        )
        .json(&serde_json::json!({ "text": v2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), StatusCode::CREATED);
    let result = run_scenario(&app, "versions", &[]).await;
    assert_eq!(result["reattached"], 1);
    let anchors: Value = app
        .json_as(
            Method::GET,
            &format!("/api/articles/{article}/anchors"),
            Some(ALICE),
        )
        .await;
    assert!(anchors["needs_attention"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_page_follows_assignments_orphans_and_re_attachments_live_in_chromium() {
    let app = spawn_app().await;
    let result = run_scenario(&app, "queue", &[]).await;
    assert_eq!(result["ok"], true);
    let orphaned = result["orphaned"].as_str().unwrap();
    // What the page showed is what the API says: assigned to Bruno, nothing left to place.
    let queue: Value = app
        .json_as(Method::GET, "/api/queue", Some(crate::helpers::BRUNO))
        .await;
    let has = |list: &str, id: &str| {
        queue[list]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["id"] == id)
    };
    assert!(has("assigned", result["assigned"].as_str().unwrap()));
    assert!(!has("needs_attention", orphaned));
    assert!(artifacts().join("web-desk-bruno.png").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_box_finds_a_passage_and_opens_the_reader_on_it_in_chromium() {
    let app = spawn_app().await;
    let result = run_scenario(&app, "search", &[]).await;
    assert_eq!(result["ok"], true);
    // The phrase's fact-check, in the article the server says it is on.
    assert_eq!(result["opened"], "seed-003-no-problem");
    assert_eq!(result["article"], "macron-turning-point-trump");
    // The annotation made during the scenario is one the server has.
    let fresh = result["fresh"].as_str().unwrap();
    let found: Value = app
        .json_as(
            Method::GET,
            "/api/search?q=vexillographer&type=annotation",
            Some(ALICE),
        )
        .await;
    assert!(found["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|item| item["id"] == fresh));
    assert_eq!(result["phone"]["overflow"], 0);
    assert!(artifacts().join("web-search-reader.png").exists());
}

#[tokio::test]
async fn the_api_reference_and_its_assets_are_served_without_a_token() {
    let app = spawn_app().await;
    let page = app
        .request(Method::GET, "/api/reference", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    // Everything the page loads is the server's own: no absolute URL in a `src` or `href`.
    let linked: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1))
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert!(
        linked
            .iter()
            .all(|url| url.starts_with('/') || url.starts_with("data:")),
        "{linked:?}"
    );
    let assets: Vec<&str> = linked
        .iter()
        .copied()
        .filter(|url| url.starts_with("/assets/"))
        .collect();
    assert_eq!(
        assets,
        [
            "/assets/swagger-ui-bundle.js",
            "/assets/reference.js",
            "/assets/swagger-ui.css",
            "/assets/reference.css"
        ]
    );
    for (path, kind) in assets
        .iter()
        .map(|path| {
            let kind = if path.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            };
            (path.to_string(), kind)
        })
        .chain([(
            "/assets/swagger-ui-bundle.js.LICENSE.txt".to_owned(),
            "text/plain",
        )])
    {
        let response = app.request(Method::GET, &path, None).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let media = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
        assert!(media.starts_with(kind), "{path}: {media}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    // The page's script points Swagger UI at the server's document and turns off its
    // validator badge, which would send the document to swagger.io.
    let script = app
        .request(Method::GET, "/assets/reference.js", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(script.contains("/api/openapi.json"), "{script}");
    assert!(script.contains("validatorUrl:null"), "{script}");
    let bundle = app
        .request(Method::GET, "/assets/swagger-ui-bundle.js", None)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.headers()[header::CONTENT_ENCODING], "gzip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_renders_offline_and_tries_the_api_in_chromium() {
    let result = browser("reference").await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["status"], 200);
    assert_eq!(result["off_host"], 0);
    assert!(artifacts().join("web-api-reference-try.png").exists());
}
