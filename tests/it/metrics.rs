//! `/metrics`: off unless configured; behind `--metrics-token` on the main address or
//! open on `--metrics-bind`; requests, durations and the database statements each route
//! pattern ran, counted exactly.

use crate::kit::{TestApp, spawn_app, spawn_app_with};

pub const TOKEN: &str = "metrics-token-0123456789";

async fn scrape_with(url: &str, token: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client.get(url);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// `/metrics` of an app started with `metrics_token = TOKEN`.
pub async fn scrape(app: &TestApp) -> String {
    let (status, body) = scrape_with(&format!("{}/metrics", app.base), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the series `name{labels}`, 0 when it has not been recorded yet.
fn value(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |v| v.parse().unwrap())
}

pub fn statements(text: &str, route: &str) -> u64 {
    value(
        text,
        &format!("gatehouse_db_statements_total{{route=\"{route}\"}}"),
    )
}

pub fn requests(text: &str, route: &str, status: u16) -> u64 {
    value(
        text,
        &format!("gatehouse_http_requests_total{{route=\"{route}\",status=\"{status}\"}}"),
    )
}

#[tokio::test]
async fn metrics_are_off_unless_configured() {
    let app = spawn_app().await;
    let (status, _) = scrape_with(&format!("{}/metrics", app.base), Some(TOKEN)).await;
    assert_eq!(status, 404);
    assert!(app.metrics_base.is_none());
}

#[tokio::test]
async fn the_token_is_required_and_tells_nothing() {
    let app = spawn_app_with(|s| s.metrics_token = Some(TOKEN.into())).await;
    let url = format!("{}/metrics", app.base);
    for token in [
        None,
        Some("metrics-token-0123456788"),
        Some("short"),
        Some(""),
    ] {
        let (status, body) = scrape_with(&url, token).await;
        assert_eq!(status, 401, "{token:?}");
        assert!(body.is_empty(), "{body}");
    }
    // Basic, or the token without the scheme, is not the bearer token either.
    let res = reqwest::Client::new()
        .get(&url)
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let text = scrape(&app).await;
    assert!(text.contains("# TYPE gatehouse_http_requests_total counter"));
    assert!(text.contains("# TYPE gatehouse_db_statements_total counter"));
    assert!(text.contains("# TYPE gatehouse_http_request_duration_seconds histogram"));
    // The refusals were counted, under the route pattern.
    assert_eq!(requests(&text, "/metrics", 401), 5);
    // Start-up's statements (migrations, the first-run check) ran outside any request.
    assert!(statements(&text, "job") > 0, "{text}");
}

#[tokio::test]
async fn statements_are_counted_exactly_per_route() {
    let app = spawn_app_with(|s| s.metrics_token = Some(TOKEN.into())).await;
    let b = app.browser();
    let before = scrape(&app).await;

    // /healthz touches no database; /readyz checks out a connection (r2d2 checks it is
    // alive with `SELECT 1`) and pings it (`SELECT 1`): two statements each time.
    b.get("/healthz").await.assert_status(200);
    b.get("/healthz").await.assert_status(200);
    b.get("/readyz").await.assert_status(200);
    b.get("/readyz").await.assert_status(200);
    b.get("/readyz").await.assert_status(200);
    let after = scrape(&app).await;
    assert_eq!(
        requests(&after, "/healthz", 200) - requests(&before, "/healthz", 200),
        2
    );
    assert_eq!(
        statements(&after, "/healthz"),
        statements(&before, "/healthz")
    );
    assert_eq!(
        requests(&after, "/readyz", 200) - requests(&before, "/readyz", 200),
        3
    );
    assert_eq!(
        statements(&after, "/readyz") - statements(&before, "/readyz"),
        6
    );
    // The previous scrape was counted once it had been answered (it ran no statement).
    assert!(requests(&after, "/metrics", 200) >= 1);
    assert_eq!(statements(&after, "/metrics"), 0);
    assert!(after.contains("gatehouse_http_request_duration_seconds_count{route=\"/readyz\"} 3"));

    // A portal page is charged its statements (session, membership, the list) under
    // its route pattern, never the raw path.
    let owner = app.setup_owner().await;
    let before = scrape(&app).await;
    owner.get("/o/acme/apps").await.assert_status(200);
    let once = scrape(&app).await;
    let one_page = statements(&once, "/o/{slug}/apps") - statements(&before, "/o/{slug}/apps");
    assert!(one_page > 0, "{once}");
    assert_eq!(requests(&once, "/o/{slug}/apps", 200), 1);
    assert!(!once.contains("/o/acme/apps"));
    // The same page the same way runs the same statements again.
    owner.get("/o/acme/apps").await.assert_status(200);
    let twice = scrape(&app).await;
    assert_eq!(
        statements(&twice, "/o/{slug}/apps") - statements(&once, "/o/{slug}/apps"),
        one_page
    );
}

#[tokio::test]
async fn a_separate_address_serves_metrics_without_a_token() {
    let app = spawn_app_with(|s| s.metrics_bind = Some("127.0.0.1:0".into())).await;
    let metrics_base = app.metrics_base.clone().unwrap();
    app.browser().get("/readyz").await.assert_status(200);
    let (status, text) = scrape_with(&format!("{metrics_base}/metrics"), None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(requests(&text, "/readyz", 200), 1);
    assert_eq!(statements(&text, "/readyz"), 2);
    // It serves nothing else, and the main address does not serve metrics at all.
    let (status, _) = scrape_with(&format!("{metrics_base}/healthz"), None).await;
    assert_eq!(status, 404);
    let (status, _) = scrape_with(&format!("{}/metrics", app.base), Some(TOKEN)).await;
    assert_eq!(status, 404);
}
