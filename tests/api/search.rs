//! `GET /api/search`: full-text search over the seeds, new writes, deletions, filters, paging and
//! refused queries.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    detail, etag, glossa, id_of, spawn_app, spawn_app_with, TestApp, ALICE, ARTICLE, BRUNO,
};

async fn search(app: &TestApp, query: &str) -> Value {
    app.get_json(&format!("/api/search?{query}")).await
}

/// The ids of the hits of one page, in order.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn hit<'a>(page: &'a Value, id: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not among the hits: {page:#}"))
}

/// The marked words of a hit's snippet.
fn marked(item: &Value) -> Vec<String> {
    let text: Vec<char> = item["snippet"]["text"].as_str().unwrap().chars().collect();
    item["snippet"]["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|range| {
            let (from, to) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
            text[from as usize..to as usize].iter().collect()
        })
        .collect()
}

#[tokio::test]
async fn the_seeds_are_found_by_words_phrases_misspellings_and_tags() {
    let app = spawn_app().await;

    // "26 nations": the contradiction across both articles, and the article itself.
    let page = search(&app, "q=26%20nations").await;
    let contradiction = hit(&page, "seed-001-004-reassurance-force");
    assert_eq!(contradiction["type"], "annotation");
    assert_eq!(contradiction["kind"], "contradiction");
    assert_eq!(
        contradiction["articles"],
        json!(["macron-us-support-finalised", "twenty-six-nations-pledge"])
    );
    assert!(marked(contradiction).contains(&"26".to_owned()));
    assert_eq!(hit(&page, ARTICLE)["type"], "article");
    assert!(contradiction["link"].as_str().unwrap().ends_with(
        "/#/articles/macron-us-support-finalised/annotations/seed-001-004-reassurance-force"
    ));

    // A quoted phrase: the Kremlin denial's fact-check, first, with the phrase marked.
    let page = search(&app, "q=%22no%20problem%22&type=annotation").await;
    assert_eq!(ids(&page)[0], "seed-003-no-problem", "{page:#}");
    let first = &page["items"][0];
    assert_eq!(first["kind"], "fact-check");
    assert!(marked(first)
        .iter()
        .any(|w| w.eq_ignore_ascii_case("problem")));
    assert!(first["snippet"]["html"]
        .as_str()
        .unwrap()
        .contains("<mark>"));
    // The words apart are not the phrase: "problem" alone finds it too, "problem no" in
    // quotes does not.
    let reversed = search(&app, "q=%22problem%20no%22&type=annotation").await;
    assert!(!ids(&reversed).contains(&"seed-003-no-problem".to_owned()));

    // A tag, as a filter: every house-style tag and nothing else.
    let page = search(&app, "tag=house-style&limit=100").await;
    assert!(page["total"].as_u64().unwrap() >= 11, "{page:#}");
    for item in page["items"].as_array().unwrap() {
        assert!(item["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("house-style")));
    }
    // A tag's word in the text query finds the seed tags that carry it.
    let page = search(&app, "q=punctuation").await;
    assert_eq!(ids(&page), vec!["seed-002-missing-quote"]);

    // A misspelling: "Zelenskiy" (and "zelenskyi") find the tags about every spelling.
    for q in ["Zelenskiy", "zelenskyi"] {
        let page = search(&app, &format!("q={q}&type=annotation&kind=tag&limit=100")).await;
        let found = ids(&page);
        for seed in ["seed-001-zelenskyy", "seed-002-zelenskiy"] {
            assert!(found.contains(&seed.to_owned()), "{q}: {found:?}");
        }
        assert!(page["total"].as_u64().unwrap() >= 10, "{q}: {page:#}");
    }

    // As one types: a prefix of the last word.
    let page = search(&app, "q=Kreml&type=annotation").await;
    assert!(
        ids(&page).contains(&"seed-003-no-problem".to_owned()),
        "{page:#}"
    );
    // Accents folded: "Kremlin’s" and the plain apostrophe are one word.
    let page = search(&app, "q=kremlin%27s%20denial").await;
    assert!(
        ids(&page).contains(&"seed-003-no-problem".to_owned()),
        "{page:#}"
    );

    // Nothing matches nonsense.
    let page = search(&app, "q=xylophonequartz").await;
    assert_eq!(page["total"], 0);
    assert_eq!(page["items"], json!([]));
}

/// A note with accents, on the test article, created as `token`.
async fn note(app: &TestApp, text: &str, token: &str) -> String {
    let mut body = app.fact_check_on(ARTICLE, "26 nations").await;
    body["body"][0]["value"] = text.into();
    let response = app.post_annotation("/annotations/", &body, token).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    id_of(&response)
}

/// Replaces the note of annotation `id` with `text`, at its current version.
async fn rewrite_note(app: &TestApp, id: &str, text: &str) {
    let response = app.get(&format!("/annotations/{id}")).await;
    let version = etag(&response);
    let mut edited: Value = response.json().await.unwrap();
    edited["body"][0]["value"] = text.into();
    let response = app.put_annotation(id, &edited, Some(&version)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_write_is_found_as_soon_as_it_is_answered_and_a_deleted_one_is_not() {
    let app = spawn_app().await;
    let id = note(&app, "Confirmed with the Élysée press office.", BRUNO).await;
    // No wait: the answer above is the promise.
    let page = search(&app, "q=elysee%20press&type=annotation").await;
    assert_eq!(ids(&page), vec![id.clone()]);
    assert_eq!(marked(&page["items"][0]), vec!["Élysée", "press"]);
    assert_eq!(page["items"][0]["creator"], "bruno");

    // An edit is found by its new words and no longer by its old ones.
    rewrite_note(&app, &id, "Checked against the communiqué of the summit.").await;
    assert_eq!(
        ids(&search(&app, "q=communique&type=annotation").await),
        vec![id.clone()]
    );
    assert_eq!(
        search(&app, "q=elysee%20press&type=annotation").await["total"],
        0
    );

    // A fact-check's claim: who made it and its summary.
    let mut body = app.fact_check_on(ARTICLE, "26 nations").await;
    body["claimant"] = json!({"name": "Oleksandr Kubrakov", "type": "Person"});
    body["claimSummary"] = "All 26 will send troops to Ukraine".into();
    let response = app.post_annotation("/annotations/", &body, BRUNO).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let claimed = id_of(&response);
    let page = search(&app, "q=kubrakov").await;
    assert_eq!(ids(&page), vec![claimed], "{page:#}");
    assert_eq!(page["items"][0]["snippet"]["field"], "claim");

    // A reply is searchable.
    let response = app
        .post_json(
            &format!("/api/annotations/{id}/replies"),
            &json!({"text": "Spokesperson answered by telephone."}),
            ALICE,
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let page = search(&app, "q=telephone&type=annotation").await;
    assert_eq!(ids(&page), vec![id.clone()]);
    assert_eq!(page["items"][0]["snippet"]["field"], "replies");

    let etag_now = etag(&app.get(&format!("/annotations/{id}")).await);
    let response = app.delete_annotation(&id, Some(&etag_now)).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        search(&app, "q=communique&type=annotation").await["total"],
        0
    );
    assert_eq!(
        search(&app, "q=telephone&type=annotation").await["total"],
        0
    );
}

/// The indexer gathers changes between commits while no search waits; a search that waits has
/// them committed at once. With an hour between commits, only that makes these pass.
#[tokio::test]
async fn a_search_has_the_changes_the_indexer_is_gathering_committed_at_once() {
    let app =
        spawn_app_with(|settings| settings.limits.search_pace = Duration::from_secs(3600)).await;
    assert!(search(&app, "q=kyiv").await["total"].as_u64().unwrap() > 0);
    let id = note(&app, "Gathered before the hour is up.", BRUNO).await;
    let page = search(&app, "q=gathered&type=annotation").await;
    assert_eq!(ids(&page), vec![id.clone()], "{page:#}");

    rewrite_note(&app, &id, "Rewritten while the indexer waits.").await;
    assert_eq!(
        ids(&search(&app, "q=rewritten&type=annotation").await),
        vec![id]
    );
    assert_eq!(search(&app, "q=gathered").await["total"], 0);
}

#[tokio::test]
async fn filters_combine_with_the_text_and_pages_follow_the_cursor() {
    let app = spawn_app().await;
    let mine = note(
        &app,
        "Ministry figures disagree with the summit count.",
        BRUNO,
    )
    .await;
    note(&app, "Ministry statement archived.", ALICE).await;

    let page = search(&app, "q=ministry&author=bruno").await;
    assert_eq!(ids(&page), vec![mine.clone()]);
    let page = search(&app, "q=ministry&kind=fact-check&verdict=unverifiable").await;
    assert_eq!(page["total"], 2);
    assert_eq!(search(&app, "q=ministry&kind=comment").await["total"], 0);
    assert_eq!(search(&app, "q=ministry&status=resolved").await["total"], 0);
    assert_eq!(
        search(&app, "q=ministry&article=macron-align-europe-trump").await["total"],
        0
    );
    assert_eq!(
        search(&app, &format!("q=ministry&article={ARTICLE}")).await["total"],
        2
    );
    // Dates: created today, not before 2000 nor in the far future.
    assert_eq!(search(&app, "q=ministry&from=2000-01-01").await["total"], 2);
    assert_eq!(search(&app, "q=ministry&to=2000-01-01").await["total"], 0);
    assert_eq!(
        search(&app, "q=ministry&from=2999-01-01T00:00:00Z").await["total"],
        0
    );
    // Filters alone list newest first.
    let page = search(&app, "author=bruno&kind=fact-check").await;
    assert_eq!(ids(&page)[0], mine);

    // Pages: disjoint, in order, and together every hit once.
    let all = search(&app, "q=macron&limit=100").await;
    let total = all["total"].as_u64().unwrap() as usize;
    assert!(total > 5, "{all:#}");
    let mut paged = Vec::new();
    let mut query = "q=macron&limit=3".to_owned();
    loop {
        let page = search(&app, &query).await;
        assert_eq!(page["total"].as_u64().unwrap() as usize, total);
        paged.extend(ids(&page));
        let Some(cursor) = page["cursor"].as_str() else {
            assert!(page["next"].is_null());
            break;
        };
        assert!(page["next"].as_str().unwrap().contains(cursor));
        query = format!("q=macron&limit=3&cursor={cursor}");
    }
    assert_eq!(paged, ids(&all));
}

#[tokio::test]
async fn bad_searches_are_refused_with_a_message() {
    let app = spawn_app().await;
    for (query, says) in [
        ("q=x&kind=rumour", "unknown kind"),
        ("q=x&status=maybe", "status"),
        ("q=x&verdict=sorta", "verdict"),
        ("q=x&limit=0", "limit"),
        ("q=x&limit=1000", "limit"),
        ("q=x&cursor=nonsense", "cursor"),
        ("q=x&from=yesterday", "from"),
        ("q=x&from=2025-02-01&to=2025-01-01", "before"),
        ("q=x&type=article&kind=tag", "only annotations"),
        ("q=x&type=claims", "type"),
        ("q=x&sort=date", "unknown field"),
    ] {
        let response = app.get(&format!("/api/search?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let message = detail(response).await;
        assert!(message.contains(says), "{query}: {message}");
    }
    let long = "a".repeat(501);
    assert_eq!(
        app.get(&format!("/api/search?q={long}")).await.status(),
        400
    );
    // Without a token: 401.
    let response = app
        .request(reqwest::Method::GET, "/api/search?q=macron", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The server still answers.
    assert!(search(&app, "q=macron").await["total"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn glossa_search_asks_a_server_or_reads_a_data_directory() {
    let store = crate::helpers::TestStore::new();
    let server = crate::crash::Server::start_with(&store, &[]);
    let on_server = |extra: &'static [&'static str]| {
        let mut args = vec![
            "search",
            "\"no problem\"",
            "--server",
            &server.base,
            "--token",
            ALICE,
        ];
        args.extend(extra);
        glossa(args)
    };
    let (ok, list, stderr) = on_server(&["--type", "annotation"]).await;
    assert!(ok, "{stderr}");
    let first = list.lines().nth(2).unwrap_or_default();
    assert!(first.contains("fact-check"), "{list}");
    assert!(list.contains("[no] [problem]"), "{list}");
    assert!(list.contains("/annotations/seed-003-no-problem"), "{list}");
    // A refused filter: the server's message, and a failing exit.
    let (ok, _, stderr) = on_server(&["--kind", "rumour"]).await;
    assert!(!ok);
    assert!(stderr.contains("unknown kind"), "{stderr}");
    server.kill();

    // The data directory, with no server: the same hit, as the API's JSON.
    let mut args: Vec<std::ffi::OsString> = vec!["search".into(), "Zelenskiy".into()];
    args.extend(store.args());
    args.extend(["--json", "--kind", "tag", "--limit", "100"].map(Into::into));
    let (ok, out, stderr) = glossa(args).await;
    assert!(ok, "{stderr}");
    let page: Value = serde_json::from_str(&out).expect("JSON");
    let found = ids(&page);
    assert!(found.contains(&"seed-002-zelenskiy".to_owned()), "{page:#}");
    assert!(found.len() >= 10, "{found:?}");
}

/// A damaged index, or one from another desk, is thrown away on start and rebuilt from the log.
#[tokio::test]
async fn a_damaged_or_foreign_index_is_rebuilt_on_start() {
    let store = crate::helpers::TestStore::new();
    let server = crate::crash::Server::start_with(&store, &[]);
    let found = |page: &Value| ids(page).contains(&"seed-003-no-problem".to_owned());
    assert!(found(
        &server.json("/api/search?q=%22no%20problem%22").await
    ));
    // A note of its own, so that both desks below have as many events.
    let mine = server.comment(2).await.expect("the desk takes a comment");
    server.kill();
    let index = store.path().join("search");
    std::fs::write(index.join("meta.json"), b"{ not json").unwrap();
    let server = crate::crash::Server::start_with(&store, &[]);
    assert!(found(
        &server.json("/api/search?q=%22no%20problem%22").await
    ));
    server.kill();

    // Segment files that did not all reach the disk (their checksums fail).
    for segment in std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
    {
        let name = segment.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") || name.starts_with('.') {
            continue;
        }
        let mut bytes = std::fs::read(&segment).unwrap();
        // The start of the data, not the footer at the end (which is read on open).
        let end = (bytes.len() / 4).min(64);
        for byte in &mut bytes[..end] {
            *byte = 0xA5;
        }
        std::fs::write(&segment, bytes).unwrap();
    }
    let server = crate::crash::Server::start_with(&store, &[]);
    assert!(found(
        &server.json("/api/search?q=%22no%20problem%22").await
    ));
    server.kill();

    // Another desk's index (its position names events this log does not have).
    let other = crate::helpers::TestStore::new();
    let stranger = crate::crash::Server::start_with(&other, &[]);
    let note = stranger
        .comment(1)
        .await
        .expect("the other desk takes a comment");
    // Its index holds the note (a search waits until it does).
    let page = stranger.json("/api/search?q=note&type=annotation").await;
    assert!(ids(&page).contains(&note), "{page:#}");
    stranger.kill();
    std::fs::remove_dir_all(&index).unwrap();
    copy_dir(&other.path().join("search"), &index);
    let server = crate::crash::Server::start_with(&store, &[]);
    let page = server
        .json("/api/search?q=note&type=annotation&limit=100")
        .await;
    assert!(!ids(&page).contains(&note), "{page:#}");
    assert!(ids(&page).contains(&mine), "{page:#}");
    assert!(found(
        &server.json("/api/search?q=%22no%20problem%22").await
    ));
    server.kill();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
