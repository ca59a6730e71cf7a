//! `GET /api/openapi.json`: an OpenAPI 3.1 document that describes exactly the routes the
//! router serves, and whose response schemas the real responses validate against.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, ALICE, CHIARA};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `{id}`, `{article}`, … all become `{}`: two patterns that differ only in their names match
/// the same requests.
fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut in_name = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_name = true;
                out.push_str("{}");
            }
            '}' => in_name = false,
            _ if in_name => {}
            _ => out.push(c),
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_ascii_uppercase(), normalise(path)));
            }
        }
    }
    out
}

fn served() -> BTreeSet<(String, String)> {
    glossa::http::served_routes()
        .into_iter()
        .flat_map(|(path, methods)| {
            let path = normalise(&path);
            methods.into_iter().map(move |m| (m, path.clone()))
        })
        .collect()
}

/// A method and a normalised path pattern.
type Route = (String, String);

/// What is served but not described, and what is described but not served.
fn drift(doc: &Value) -> (Vec<Route>, Vec<Route>) {
    let served = served();
    let documented = documented(doc);
    (
        served.difference(&documented).cloned().collect(),
        documented.difference(&served).cloned().collect(),
    )
}

async fn document(app: &TestApp) -> Value {
    let response = app
        .request(Method::GET, "/api/openapi.json", None)
        .send()
        .await
        .expect("GET /api/openapi.json");
    assert_eq!(response.status(), 200);
    let media = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(media.starts_with("application/json"), "{media}");
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_served_without_a_token() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1"), "{version}");
    assert!(doc["info"]["title"].is_string());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["token"]["in"], "query");
    let schemas = &doc["components"]["schemas"];
    let problem: Vec<&str> = schemas["Problem"]["required"]
        .as_array()
        .expect("Problem's required fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(problem, ["type", "title", "status", "detail"]);
    // Enumerated values come from the domain's lists.
    let annotation = &schemas["Annotation"];
    let kinds = annotation["properties"]["kind"]["enum"]
        .as_array()
        .expect("kinds");
    assert!(kinds.contains(&json!("fact-check")), "{kinds:?}");
    let required = annotation["required"].as_array().expect("required");
    assert!(!required.contains(&json!("verdict")), "{required:?}");
    let search = &doc["paths"]["/api/search"]["get"]["parameters"];
    let status = search
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "status")
        .expect("search's status parameter");
    assert!(status["schema"]["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("in_review")));
    // Bearer everywhere but where no token is needed; `/sync` also takes `?token=`.
    assert_eq!(doc["security"], json!([{ "bearer": [] }]));
    assert_eq!(doc["paths"]["/api/desk"]["get"]["security"], json!([]));
    assert_eq!(
        doc["paths"]["/sync"]["get"]["security"],
        json!([{ "bearer": [] }, { "token": [] }])
    );
    let problem = &doc["paths"]["/api/queue"]["get"]["responses"]["4XX"]["content"];
    assert_eq!(
        problem["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    let schema = with_defs(&doc, problem["application/problem+json"]["schema"].clone());
    let example = &problem["application/problem+json"]["example"];
    assert!(jsonschema::is_valid(&schema, example), "{example}");
}

#[tokio::test]
async fn every_route_served_is_described_and_nothing_else() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let served = served();
    // The registry is filled from the router itself: a sample of what it must hold.
    for (method, path) in [
        ("GET", "/annotations/"),
        ("POST", "/articles/{}/annotations/"),
        ("DELETE", "/annotations/{}"),
        ("GET", "/sync"),
        ("GET", "/api/events/stream"),
        ("POST", "/api/import/hypothesis"),
        ("GET", "/api/export/annotations.csv"),
        ("GET", "/api/openapi.json"),
    ] {
        assert!(
            served.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is not in the router's registry"
        );
    }
    assert!(!served
        .iter()
        .any(|(_, p)| p == "/" || p.starts_with("/assets")));
    let (undescribed, unserved) = drift(&doc);
    assert!(
        undescribed.is_empty(),
        "served, not described: {undescribed:?}"
    );
    assert!(unserved.is_empty(), "described, not served: {unserved:?}");

    // A path left out of the document is caught, and so is one the router does not serve.
    let mut broken = doc.clone();
    let paths = broken["paths"].as_object_mut().unwrap();
    paths.remove("/api/queue");
    paths.insert("/api/nowhere".into(), json!({ "get": {} }));
    let (undescribed, unserved) = drift(&broken);
    assert_eq!(undescribed, [("GET".to_owned(), "/api/queue".to_owned())]);
    assert_eq!(unserved, [("GET".to_owned(), "/api/nowhere".to_owned())]);
}

#[tokio::test]
async fn every_request_example_fits_its_schema() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item[method]["requestBody"]["content"].is_null() {
                continue;
            }
            let (schema, example) = request_schema(&doc, method, path);
            if example.is_null() {
                continue;
            }
            let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
            assert!(validator.is_valid(&example), "{method} {path}: {example:#}");
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} examples");
}

/// The schema of `method path`'s request body, and its example.
fn request_schema(doc: &Value, method: &str, path: &str) -> (Value, Value) {
    let content = doc["paths"][path][method]["requestBody"]["content"]
        .as_object()
        .expect("a request body");
    let (_, media) = content.iter().next().expect("a media type");
    (
        with_defs(doc, media["schema"].clone()),
        media["example"].clone(),
    )
}

/// `schema` with the document's components as `$defs`, so that its references resolve.
fn with_defs(doc: &Value, mut schema: Value) -> Value {
    schema["$defs"] = doc["components"]["schemas"].clone();
    let text = schema
        .to_string()
        .replace("#/components/schemas/", "#/$defs/");
    serde_json::from_str(&text).unwrap()
}

/// The schema documented for `method path` answering `status`, with the document's
/// components as `$defs` so that its references resolve.
fn response_schema(doc: &Value, method: &str, path: &str, status: u16) -> Value {
    let responses = &doc["paths"][path][method]["responses"];
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    let response = [exact.as_str(), range.as_str()]
        .into_iter()
        .map(|key| &responses[key])
        .find(|r| r.is_object())
        .unwrap_or_else(|| panic!("{method} {path} documents no {status}"));
    let content = response["content"].as_object().expect("content");
    let (_, media) = content.iter().next().expect("a media type");
    with_defs(doc, media["schema"].clone())
}

async fn check(
    app: &TestApp,
    doc: &Value,
    method: Method,
    url: &str,
    pattern: &str,
    body: Option<Value>,
    status: u16,
) {
    check_as(app, ALICE, doc, method, url, pattern, body, status).await;
}

#[allow(clippy::too_many_arguments)]
async fn check_as(
    app: &TestApp,
    token: &str,
    doc: &Value,
    method: Method,
    url: &str,
    pattern: &str,
    body: Option<Value>,
    status: u16,
) {
    let mut request = app.request(method.clone(), url, Some(token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sent");
    assert_eq!(response.status().as_u16(), status, "{method} {url}");
    let value: Value = response.json().await.expect("JSON");
    let schema = response_schema(doc, &method.as_str().to_ascii_lowercase(), pattern, status);
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| {
            let mut message = e.to_string();
            message.truncate(300);
            format!("{message} at {} ({})", e.instance_path(), e.schema_path())
        })
        .collect();
    assert!(errors.is_empty(), "{method} {url}: {errors:#?}");
}

#[tokio::test]
async fn real_responses_validate_against_their_documented_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    // The schemas are not vacuous: an empty object is neither an annotation nor a problem.
    for (path, method, status) in [
        ("/annotations/{id}", "get", 200),
        ("/annotations/{id}", "get", 404),
        ("/api/queue", "get", 200),
    ] {
        let schema = response_schema(&doc, method, path, status);
        let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
        assert!(!validator.is_valid(&json!({})), "{path} {status}");
    }
    let cases: [(Method, &str, &str, Option<Value>, u16); 15] = [
        (
            Method::GET,
            "/api/annotations/seed-003-no-problem/history",
            "/api/annotations/{id}/history",
            None,
            200,
        ),
        (Method::GET, "/healthz", "/healthz", None, 200),
        (Method::GET, "/api/me", "/api/me", None, 200),
        (Method::GET, "/api/users", "/api/users", None, 200),
        (Method::GET, "/api/desk", "/api/desk", None, 200),
        (
            Method::GET,
            "/api/users/alice",
            "/api/users/{name}",
            None,
            200,
        ),
        (
            Method::GET,
            "/annotations/seed-004-kiev",
            "/annotations/{id}",
            None,
            200,
        ),
        (Method::GET, "/annotations/", "/annotations/", None, 200),
        (
            Method::GET,
            "/annotations/?page=0",
            "/annotations/",
            None,
            200,
        ),
        (Method::GET, "/api/articles", "/api/articles", None, 200),
        (
            Method::GET,
            "/api/search?q=nations",
            "/api/search",
            None,
            200,
        ),
        (Method::GET, "/api/queue", "/api/queue", None, 200),
        (Method::GET, "/api/events?limit=5", "/api/events", None, 200),
        (
            Method::GET,
            "/annotations/no-such-thing",
            "/annotations/{id}",
            None,
            404,
        ),
        (
            Method::POST,
            "/api/annotations/seed-004-kiev/assignee",
            "/api/annotations/{id}/assignee",
            Some(json!({ "assignee": "nobody-of-this-desk" })),
            422,
        ),
    ];
    for (method, url, pattern, body, status) in cases {
        check(&app, &doc, method, url, pattern, body, status).await;
    }
    // The documented example creates an annotation, and the answer is the documented shape.
    let (schema, example) = request_schema(&doc, "post", "/annotations/");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    assert!(validator.is_valid(&example), "{example:#}");
    assert!(!validator.is_valid(&json!({ "motivation": "assessing" })));
    check(
        &app,
        &doc,
        Method::POST,
        "/annotations/",
        "/annotations/",
        Some(example),
        201,
    )
    .await;

    // A claim, from the documented example, linked to a fact-check (so it has appearances),
    // then the list.
    let (_, example) = request_schema(&doc, "post", "/api/claims");
    let claim: Value = app
        .request(Method::POST, "/api/claims", Some(ALICE))
        .json(&example)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let schema = response_schema(&doc, "post", "/api/claims", 201);
    assert!(jsonschema::is_valid(&schema, &claim), "{claim:#}");
    let claim = claim["id"].as_str().expect("the claim's id");
    check(
        &app,
        &doc,
        Method::POST,
        &format!("/api/claims/{claim}/annotations"),
        "/api/claims/{id}/annotations",
        Some(json!({ "annotation": "seed-003-no-problem" })),
        200,
    )
    .await;
    check(
        &app,
        &doc,
        Method::GET,
        "/api/claims",
        "/api/claims",
        None,
        200,
    )
    .await;
    check(
        &app,
        &doc,
        Method::GET,
        "/api/style-rules",
        "/api/style-rules",
        None,
        200,
    )
    .await;

    let articles = app.get_json("/api/articles").await;
    let first = articles["articles"][0]["id"].as_str().unwrap().to_owned();
    check(
        &app,
        &doc,
        Method::GET,
        &format!("/api/articles/{first}"),
        "/api/articles/{id}",
        None,
        200,
    )
    .await;
    for (url, pattern) in [
        (
            format!("/api/articles/{first}/versions/1"),
            "/api/articles/{id}/versions/{n}",
        ),
        (
            format!("/articles/{first}/versions/1"),
            "/articles/{id}/versions/{n}",
        ),
        (format!("/articles/{first}"), "/articles/{id}"),
        (
            format!("/api/articles/{first}/anchors"),
            "/api/articles/{id}/anchors",
        ),
    ] {
        check(&app, &doc, Method::GET, &url, pattern, None, 200).await;
    }
    check(
        &app,
        &doc,
        Method::GET,
        &format!("/articles/{first}/annotations/"),
        "/articles/{article}/annotations/",
        None,
        200,
    )
    .await;
    // An import of nothing, by an admin.
    check_as(
        &app,
        CHIARA,
        &doc,
        Method::POST,
        "/api/import/hypothesis",
        "/api/import/hypothesis",
        Some(json!([])),
        200,
    )
    .await;
    // The Hypothesis fixture fits the documented request body, and its report the response.
    let (schema, _) = request_schema(&doc, "post", "/api/import/hypothesis");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/hypothesis.json")).expect("JSON");
    assert!(validator.is_valid(&fixture));
    assert!(validator.is_valid(&fixture["rows"]), "a bare array of rows");
    assert!(!validator.is_valid(&json!({ "rows": [{ "text": "no id, user or time" }] })));
    check_as(
        &app,
        CHIARA,
        &doc,
        Method::POST,
        "/api/import/hypothesis",
        "/api/import/hypothesis",
        Some(fixture),
        200,
    )
    .await;
    // The exports that are JSON: the W3C collection, and ClaimReview (every verdict of the seed
    // desk, unverifiable's rating off the scale included).
    for url in [
        "/api/export/annotations",
        &format!("/api/export/annotations?article={first}"),
    ] {
        check(
            &app,
            &doc,
            Method::GET,
            url,
            "/api/export/annotations",
            None,
            200,
        )
        .await;
    }
    check(
        &app,
        &doc,
        Method::GET,
        "/api/export/claimreview",
        "/api/export/claimreview",
        None,
        200,
    )
    .await;
    // A token issued, listed and revoked.
    let issued: Value = app
        .request(Method::POST, "/api/users/bruno/tokens", Some(CHIARA))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let token = issued["id"].as_str().expect("the token's id").to_owned();
    let schema = response_schema(&doc, "post", "/api/users/{name}/tokens", 201);
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    assert!(validator.is_valid(&issued), "{issued:#}");
    assert!(issued["token"].is_string());
    for (method, url, pattern) in [
        (Method::GET, "/api/tokens?user=bruno", "/api/tokens"),
        (
            Method::GET,
            &format!("/api/tokens/{token}"),
            "/api/tokens/{id}",
        ),
        (
            Method::DELETE,
            &format!("/api/tokens/{token}"),
            "/api/tokens/{id}",
        ),
    ] {
        check_as(&app, CHIARA, &doc, method, url, pattern, None, 200).await;
    }
    // The house style replaced with the documented example.
    let (_, example) = request_schema(&doc, "put", "/api/style-rules");
    check_as(
        &app,
        CHIARA,
        &doc,
        Method::PUT,
        "/api/style-rules",
        "/api/style-rules",
        Some(example),
        200,
    )
    .await;
    // A new version: the article with how its annotations were re-anchored.
    let text = app.article_text(&first).await + "\nA paragraph added later.";
    check(
        &app,
        &doc,
        Method::POST,
        &format!("/api/articles/{first}/versions"),
        "/api/articles/{id}/versions",
        Some(json!({ "text": text })),
        201,
    )
    .await;
    check(
        &app,
        &doc,
        Method::GET,
        &format!("/api/articles/{first}/anchors"),
        "/api/articles/{id}/anchors",
        None,
        200,
    )
    .await;
    // A version with none of the old text: every target needs a person, in the anchors and
    // in the queue.
    check(
        &app,
        &doc,
        Method::POST,
        &format!("/api/articles/{first}/versions"),
        "/api/articles/{id}/versions",
        Some(json!({ "text": "Nothing of the earlier text is left in this version." })),
        201,
    )
    .await;
    let anchors = app
        .get_json(&format!("/api/articles/{first}/anchors"))
        .await;
    assert!(!anchors["needs_attention"].as_array().unwrap().is_empty());
    check(
        &app,
        &doc,
        Method::GET,
        &format!("/api/articles/{first}/anchors"),
        "/api/articles/{id}/anchors",
        None,
        200,
    )
    .await;
    // The article's annotations, each target with its `anchor` in the latest version.
    let container = app
        .get_json(&format!("/articles/{first}/annotations/"))
        .await;
    assert!(container.to_string().contains("\"anchor\""));
    check(
        &app,
        &doc,
        Method::GET,
        &format!("/articles/{first}/annotations/"),
        "/articles/{article}/annotations/",
        None,
        200,
    )
    .await;
    let queue = app.get_json("/api/queue").await;
    assert!(!queue["needs_attention"].as_array().unwrap().is_empty());
    check(
        &app,
        &doc,
        Method::GET,
        "/api/queue",
        "/api/queue",
        None,
        200,
    )
    .await;
}

/// The OpenAPI Initiative's JSON Schemas for 3.1 (`tests/fixtures/openapi-3.1/`), by `$id`.
fn openapi_schemas() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi-3.1");
    [
        "schema.json",
        "schema-base.json",
        "dialect-base.schema.json",
        "meta-base.schema.json",
    ]
    .iter()
    .map(|name| {
        let text = std::fs::read_to_string(dir.join(name)).expect("a vendored schema");
        let schema: Value = serde_json::from_str(&text).expect("JSON");
        let id = schema["$id"].as_str().expect("an $id").to_owned();
        (id, schema)
    })
    .collect()
}

/// What `doc` breaks of the OpenAPI 3.1 schema, Schema Objects checked against the OpenAPI
/// dialect; every schema it refers to is registered here, so nothing is fetched.
fn openapi_errors(doc: &Value) -> Vec<String> {
    let schemas = openapi_schemas();
    let mut registry = jsonschema::Registry::new();
    for (id, schema) in &schemas {
        registry = registry.add(id, schema.clone()).expect("a valid $id");
    }
    let registry = registry.prepare().expect("the schemas resolve");
    let (_, base) = schemas
        .iter()
        .find(|(id, _)| id.contains("/schema-base/"))
        .expect("schema-base");
    let validator = jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(base)
        .expect("the OpenAPI schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| {
            let mut message = e.to_string();
            message.truncate(300);
            format!("{message} at {} ({})", e.instance_path(), e.schema_path())
        })
        .collect()
}

#[tokio::test]
async fn the_document_validates_against_the_openapi_3_1_schema() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let errors = openapi_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");

    // The check is not vacuous: a wrong version, an operation with no responses, a response
    // without its description and a Schema Object the dialect refuses are all caught.
    for (pointer, broken) in [
        ("/openapi", json!("3.0.3")),
        ("/paths/~1api~1queue/get/responses", json!({})),
        (
            "/paths/~1api~1queue/get/responses/200",
            json!({ "content": {} }),
        ),
        ("/components/schemas/Problem/type", json!("problem")),
    ] {
        let mut wrong = doc.clone();
        *wrong.pointer_mut(pointer).expect(pointer) = broken;
        assert!(!openapi_errors(&wrong).is_empty(), "{pointer}");
    }
}

/// The webhook answers, with a subscription whose receiver refuses connections (so it has
/// failed attempts to list), against their documented schemas.
#[tokio::test]
async fn webhook_responses_validate_against_their_documented_schemas() {
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.limits.webhooks.first_retry = std::time::Duration::from_millis(20);
        settings.limits.webhooks.longest = std::time::Duration::from_millis(50);
    })
    .await;
    let doc = document(&app).await;
    let (schema, example) = request_schema(&doc, "post", "/api/webhooks");
    assert!(jsonschema::is_valid(&schema, &example), "{example:#}");
    // Nothing listens on a port just closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let body = json!({"url": format!("http://127.0.0.1:{port}/hook"), "description": "checked"});
    let created = app
        .request(Method::POST, "/api/webhooks", Some(CHIARA))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("JSON");
    let schema = response_schema(&doc, "post", "/api/webhooks", 201);
    assert!(jsonschema::is_valid(&schema, &created), "{created:#}");
    assert!(!jsonschema::is_valid(&schema, &json!({})));
    let id = created["id"].as_str().expect("an id").to_owned();
    // An event to fail on, and its first failed attempt.
    let (_, annotation) = request_schema(&doc, "post", "/annotations/");
    let made = app
        .post_annotation("/annotations/", &annotation, ALICE)
        .await;
    assert_eq!(made.status(), 201);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while app
        .json_as(Method::GET, &format!("/api/webhooks/{id}"), Some(CHIARA))
        .await["last_attempt"]
        .is_null()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no attempt was made"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let one = format!("/api/webhooks/{id}");
    for (method, url, pattern) in [
        (Method::GET, "/api/webhooks".to_owned(), "/api/webhooks"),
        (Method::GET, one.clone(), "/api/webhooks/{id}"),
        (
            Method::GET,
            format!("{one}/deliveries"),
            "/api/webhooks/{id}/deliveries",
        ),
        (
            Method::POST,
            format!("{one}/pause"),
            "/api/webhooks/{id}/pause",
        ),
        (
            Method::POST,
            format!("{one}/resume"),
            "/api/webhooks/{id}/resume",
        ),
    ] {
        check_as(&app, CHIARA, &doc, method, &url, pattern, None, 200).await;
    }
    check_as(
        &app,
        CHIARA,
        &doc,
        Method::GET,
        "/api/webhooks/not-an-id",
        "/api/webhooks/{id}",
        None,
        404,
    )
    .await;
}
