//! The layout every page shares: organisation tabs only for pages the viewer may
//! open, the signed-in header on error pages (revealing no organisation the viewer
//! is not in), relative times, status badges, the favicon and the API reference link.

use chrono::Duration;
use gatehouse::clock::Clock;

use crate::kit::{AppBuilder, Browser, Page, spawn_app};

/// The organisation tabs of a page (empty when it has none).
fn tabs(page: &Page) -> String {
    let Some(start) = page.body.find("<nav class=\"tabs\"") else {
        return String::new();
    };
    let rest = &page.body[start..];
    rest[..rest.find("</nav>").expect("tabs end")].to_string()
}

const ADMIN_TABS: [&str; 3] = [
    "href=\"/o/acme/admin/approvals\"",
    "href=\"/o/acme/admin/tokens\"",
    "href=\"/o/acme/settings\"",
];
const EVERYONE_TABS: [&str; 6] = [
    "href=\"/o/acme\"",
    "href=\"/o/acme/hub\"",
    "href=\"/o/acme/apps\"",
    "href=\"/o/acme/products\"",
    "href=\"/o/acme/members\"",
    "href=\"/o/acme/teams\"",
];

#[tokio::test]
async fn each_role_sees_only_the_tabs_it_may_open() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let admin = app.join(&owner, "acme", "al@example.com", "admin").await;
    let developer = app
        .join(&owner, "acme", "dev@example.com", "developer")
        .await;

    // Written out per role: (who, sees the admin tabs).
    let cases: [(&str, &Browser, bool); 3] = [
        ("owner", &owner, true),
        ("admin", &admin, true),
        ("developer", &developer, false),
    ];
    for (who, browser, sees_admin_tabs) in cases {
        for path in ["/o/acme", "/o/acme/apps", "/o/acme/members"] {
            let page = browser.get(path).await;
            page.assert_status(200);
            let nav = tabs(&page);
            for link in EVERYONE_TABS {
                assert!(nav.contains(link), "{who} on {path} misses {link}:\n{nav}");
            }
            for link in ADMIN_TABS {
                assert_eq!(
                    nav.contains(link),
                    sees_admin_tabs,
                    "{who} on {path}: {link}\n{nav}"
                );
            }
        }
    }
    // The hidden tabs are exactly the pages the developer is refused.
    for path in [
        "/o/acme/admin/approvals",
        "/o/acme/admin/tokens",
        "/o/acme/settings",
    ] {
        developer.get(path).await.assert_status(403);
        admin.get(path).await.assert_status(200);
    }
}

#[tokio::test]
async fn error_pages_keep_the_signed_in_header_and_the_viewers_tabs() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let developer = app
        .join(&owner, "acme", "dev@example.com", "developer")
        .await;

    for (path, status) in [
        ("/o/acme/settings", 403),
        ("/o/acme/apps/00000000-0000-0000-0000-000000000000", 404),
        ("/no/such/page", 404),
    ] {
        let page = developer.get(path).await;
        page.assert_status(status);
        assert!(page.contains("id=\"user-menu\""), "{path}: {}", page.body);
        assert!(page.contains("dev@example.com"), "{path}");
        assert!(page.contains(">Sign out</button>"), "{path}");
        assert!(!page.contains("href=\"/login\""), "{path}");
        assert!(!page.contains("href=\"/signup\""), "{path}");
        assert_eq!(page.body.matches("<h1>").count(), 1, "{path}");
    }
    // Inside their organisation they keep its tabs (a developer's), outside none.
    let forbidden = developer.get("/o/acme/settings").await;
    let nav = tabs(&forbidden);
    assert!(nav.contains("href=\"/o/acme/apps\""), "{nav}");
    assert!(!nav.contains("href=\"/o/acme/settings\""), "{nav}");
    assert!(forbidden.contains("<summary>Acme</summary>"));
    assert!(tabs(&developer.get("/no/such/page").await).is_empty());

    // Someone signed out still gets the sign-in links.
    let anonymous = app.browser().get("/no/such/page").await;
    anonymous.assert_status(404);
    assert!(anonymous.contains("href=\"/login\""));
    assert!(!anonymous.contains("id=\"user-menu\""));
}

#[tokio::test]
async fn a_404_in_an_organisation_the_viewer_is_not_in_reveals_nothing_about_it() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    owner.new_org("Globex Secret Labs", "globex").await;
    let developer = app
        .join(&owner, "acme", "dev@example.com", "developer")
        .await;

    let existing = developer.get("/o/globex/apps").await;
    existing.assert_status(404);
    assert!(!existing.contains("Globex"), "{}", existing.body);
    assert!(!existing.contains("globex"), "{}", existing.body);
    assert!(tabs(&existing).is_empty());
    assert!(existing.contains("id=\"user-menu\""));
    // Word for word the page of an organisation that does not exist.
    let missing = developer.get("/o/initech/apps").await;
    missing.assert_status(404);
    assert_eq!(existing.body, missing.body);
}

#[tokio::test]
async fn dates_read_relative_to_the_app_clock_with_the_exact_utc_time_kept() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let joined = app.clock.now_naive();
    app.clock.advance(Duration::hours(3));

    let members = owner.get("/o/acme/members").await;
    members.assert_status(200);
    let exact = joined.format("%Y-%m-%d %H:%M UTC").to_string();
    let iso = joined.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert!(
        members.contains(&format!(
            "<time datetime=\"{iso}\" title=\"{exact}\">3 hours ago</time>"
        )),
        "{}",
        members.body
    );

    let id = AppBuilder::new("Weather").id(&owner).await;
    // (Within the session's idle timeout, so the owner stays signed in.)
    app.clock.advance(Duration::hours(5));
    let list = owner.get("/o/acme/apps").await;
    assert!(list.contains(">5 hours ago</time>"), "{}", list.body);
    let shown = owner.get(&format!("/o/acme/apps/{id}")).await;
    assert!(shown.contains(">5 hours ago</time>"), "{}", shown.body);
}

#[tokio::test]
async fn statuses_are_badges_with_their_own_class() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let id = AppBuilder::new("Weather").id(&owner).await;
    let list = owner.get("/o/acme/apps").await;
    assert!(list.contains("<mark class=\"status status-active\">active</mark>"));
    let shown = owner.get(&format!("/o/acme/apps/{id}")).await;
    // The app and its credential.
    assert_eq!(
        shown
            .body
            .matches("<mark class=\"status status-active\">active</mark>")
            .count(),
        2,
        "{}",
        shown.body
    );
}

#[tokio::test]
async fn the_favicon_is_served_and_linked() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let browser = app.browser();
    let icon = browser.get("/favicon.ico").await;
    icon.assert_status(200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
    assert!(icon.body.starts_with("<svg"), "{}", icon.body);

    let login = browser.get("/login").await;
    login.assert_status(200);
    assert!(
        login.contains("<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"),
        "{}",
        login.body
    );
    browser.get("/static/favicon.svg").await.assert_status(200);
}

#[tokio::test]
async fn every_page_links_the_api_reference() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    for path in ["/o/acme", "/account/tokens", "/o/acme/admin/tokens"] {
        let page = owner.get(path).await;
        page.assert_status(200);
        assert!(
            page.contains("<a href=\"/api/docs/\">API reference</a>"),
            "{path}"
        );
    }
    owner.get("/api/docs/").await.assert_status(200);
    assert!(
        app.browser()
            .get("/login")
            .await
            .contains("href=\"/api/docs/\"")
    );
}
