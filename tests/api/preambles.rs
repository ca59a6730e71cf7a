//! What every write checks first answers in one order, whatever the endpoint: who is asking
//! (401, then 403), which resource (404, or 422 for a name that cannot be one), then the body
//! (415, 413). A request wrong in several ways learns about the first, and nothing is written.

use reqwest::Method;

use crate::helpers::{detail, spawn_app_with, ALICE, CHIARA, VICTOR};

/// A body over the limit the test server is given.
const LIMIT: usize = 256;

struct Case {
    method: Method,
    path: &'static str,
    token: Option<&'static str>,
    content_type: &'static str,
    body_len: usize,
    status: u16,
    says: &'static str,
}

#[tokio::test]
async fn refusals_come_in_order_who_then_which_then_the_body() {
    let app = spawn_app_with(|settings| settings.limits.max_body_bytes = LIMIT).await;
    let head = app.log_head();
    let big = LIMIT + 1;
    let case = |method: Method, path, token, content_type, body_len, status, says| Case {
        method,
        path,
        token,
        content_type,
        body_len,
        status,
        says,
    };
    let cases = [
        // No token, on a path naming nothing, with a body of the wrong kind: 401.
        case(
            Method::POST,
            "/api/annotations/no%20such/status",
            None,
            "text/plain",
            big,
            401,
            "Authorization",
        ),
        // A viewer, same request: 403.
        case(
            Method::POST,
            "/api/annotations/no%20such/status",
            Some(VICTOR),
            "text/plain",
            big,
            403,
            "viewer",
        ),
        // An editor, same request: the id names nothing, 404.
        case(
            Method::POST,
            "/api/annotations/no%20such/status",
            Some(ALICE),
            "text/plain",
            big,
            404,
            "does not exist",
        ),
        // An editor on a real annotation with the wrong media type: 415 before the size.
        case(
            Method::POST,
            "/api/annotations/seed-004-kiev/status",
            Some(ALICE),
            "text/plain",
            big,
            415,
            "is not accepted",
        ),
        // Right media type, too large: 413.
        case(
            Method::POST,
            "/api/annotations/seed-004-kiev/status",
            Some(ALICE),
            "application/json",
            big,
            413,
            "limit",
        ),
        case(
            Method::DELETE,
            "/annotations/no%20such",
            Some(VICTOR),
            "text/plain",
            0,
            403,
            "viewer",
        ),
        case(
            Method::POST,
            "/api/claims/no%20such/annotations",
            Some(VICTOR),
            "text/plain",
            big,
            403,
            "viewer",
        ),
        case(
            Method::POST,
            "/api/claims/no%20such/annotations",
            Some(ALICE),
            "text/plain",
            big,
            404,
            "claim",
        ),
        case(
            Method::POST,
            "/api/articles",
            Some(VICTOR),
            "text/plain",
            big,
            403,
            "viewer",
        ),
        case(
            Method::POST,
            "/api/articles",
            Some(ALICE),
            "text/plain",
            big,
            415,
            "is not accepted",
        ),
        case(
            Method::POST,
            "/api/articles/no%20such/versions",
            Some(ALICE),
            "text/plain",
            big,
            404,
            "article",
        ),
        // Admin-only endpoints: an editor is refused before the name or the body is looked at.
        case(
            Method::PATCH,
            "/api/users/NOT%20A%20NAME",
            Some(ALICE),
            "text/plain",
            big,
            403,
            "only an admin may change roles",
        ),
        case(
            Method::PATCH,
            "/api/users/NOT%20A%20NAME",
            Some(CHIARA),
            "text/plain",
            big,
            422,
            "user name",
        ),
        case(
            Method::PATCH,
            "/api/users/alice",
            Some(CHIARA),
            "text/plain",
            big,
            415,
            "is not accepted",
        ),
        case(
            Method::PUT,
            "/api/style-rules",
            Some(ALICE),
            "text/plain",
            big,
            403,
            "only an admin may change the house style",
        ),
        case(
            Method::PUT,
            "/api/style-rules",
            Some(CHIARA),
            "application/json",
            big,
            413,
            "limit",
        ),
        case(
            Method::POST,
            "/api/import/hypothesis",
            Some(ALICE),
            "text/plain",
            big,
            403,
            "only an admin may import annotations",
        ),
        case(
            Method::POST,
            "/api/import/hypothesis",
            Some(CHIARA),
            "application/json",
            big,
            413,
            "limit",
        ),
        case(
            Method::DELETE,
            "/api/tokens/not-a-token",
            Some(ALICE),
            "text/plain",
            0,
            403,
            "only an admin may revoke tokens",
        ),
        case(
            Method::DELETE,
            "/api/tokens/not-a-token",
            Some(CHIARA),
            "text/plain",
            0,
            404,
            "tok-",
        ),
    ];
    for case in cases {
        let mut request = app
            .request(case.method.clone(), case.path, case.token)
            .header("Content-Type", case.content_type);
        if case.body_len > 0 {
            request = request.body("x".repeat(case.body_len));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let said = detail(response).await;
        assert_eq!(
            (status, said.contains(case.says)),
            (case.status, true),
            "{} {} as {:?}: {said}",
            case.method,
            case.path,
            case.token
        );
    }
    assert_eq!(app.log_head(), head, "a refused request wrote nothing");
}
