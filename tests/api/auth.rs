//! Tokens and roles.

use reqwest::Method;

use crate::helpers::{detail, spawn_app, ARTICLE, JSONLD, VICTOR};

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let app = spawn_app().await;
    let anonymous = app
        .request(Method::GET, "/annotations/", None)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let forged = app
        .request(Method::GET, "/api/articles", Some("not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let head = app.log_head();
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let write = app
        .request(Method::POST, "/annotations/", None)
        .header("Content-Type", JSONLD)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 401);
    assert_eq!(app.log_head(), head);
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_write() {
    let app = spawn_app().await;
    let read = app
        .request(Method::GET, "/annotations/", Some(VICTOR))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let head = app.log_head();
    let body = app.fact_check_on(ARTICLE, "26 nations have pledged").await;
    let write = app.post_annotation("/annotations/", &body, VICTOR).await;
    assert_eq!(write.status(), 403);
    assert!(detail(write).await.contains("viewer"));
    let delete = app
        .request(Method::DELETE, "/annotations/seed-004-kiev", Some(VICTOR))
        .header("If-Match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 403);
    assert_eq!(app.log_head(), head);
}

#[tokio::test]
async fn the_token_command_creates_a_working_token() {
    let store = crate::helpers::TestStore::new();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_glossa"))
        .args(["token", "create", "--user", "dana", "--role", "viewer"])
        .args(store.args())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let app = crate::helpers::spawn_app_on(&store).await;
    let read = app
        .request(Method::GET, "/api/articles", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert!(
        !any_file_contains(store.path(), token.as_bytes()),
        "tokens are stored hashed"
    );
    if let Some(url) = &store.database_url {
        assert!(
            !crate::backend::database_contains(url, token.as_bytes()),
            "tokens are stored hashed in PostgreSQL too"
        );
    }
}

/// Whether any file under `dir` contains `needle`.
pub fn any_file_contains(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            any_file_contains(&path, needle)
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle)
        }
    })
}
