//! Names that would show as something else in a list — text-direction controls
//! anywhere, zero-width characters at either end — are refused on every form and API
//! call that names something (display, organisation, team, product, app); joiners
//! inside a name are kept. Callback URLs with a user name before the host are refused.

use serde_json::json;

use crate::fixtures::create_app;
use crate::kit::{Page, spawn_app};

const RLO: &str = "Acme\u{202E}gnp.exe";
const ISOLATE: &str = "Pay\u{2066}ments\u{2069}";
const ZW_START: &str = "\u{200B}Billing";
const ZW_END: &str = "Billing\u{FEFF}";
const DIRECTION: &str = "must not contain text-direction control characters";
const ZERO_WIDTH: &str = "must not start or end with an invisible zero-width character";

#[track_caller]
fn assert_refused(page: &Page, what: &str, message: &str) {
    page.assert_status(422);
    assert!(
        page.contains(&format!("{what} {message}")),
        "{what}: {message:?} missing:\n{}",
        page.body
    );
}

#[tokio::test]
async fn every_name_form_refuses_direction_controls_and_zero_width_ends() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let before = [
        app.count("users"),
        app.count("organisations"),
        app.count("teams"),
        app.count("products"),
        app.count("apps"),
    ];

    for (name, message) in [(RLO, DIRECTION), (ZW_END, ZERO_WIDTH)] {
        let signup = app
            .browser()
            .submit(
                "/signup",
                "/signup",
                &[
                    ("display_name", name),
                    ("email", "bob@example.com"),
                    ("password", crate::kit::PASSWORD),
                ],
            )
            .await;
        assert_refused(&signup, "Your name", message);

        let profile = ada
            .submit("/account", "/account/profile", &[("display_name", name)])
            .await;
        assert_refused(&profile, "Your name", message);

        let org = ada
            .submit("/orgs/new", "/orgs", &[("name", name), ("slug", "globex")])
            .await;
        assert_refused(&org, "Organisation name", message);

        let rename = ada
            .submit("/o/acme/settings", "/o/acme/settings", &[("name", name)])
            .await;
        assert_refused(&rename, "Organisation name", message);

        let team = ada
            .submit("/o/acme/teams", "/o/acme/teams", &[("name", name)])
            .await;
        assert_refused(&team, "Team name", message);

        let product = ada
            .submit(
                "/o/acme/admin/products/new",
                "/o/acme/admin/products",
                &[
                    ("name", name),
                    ("slug", "payments"),
                    ("summary", "An API"),
                    ("approval_mode", "auto"),
                    ("visibility", "members"),
                    ("docs_markdown", ""),
                ],
            )
            .await;
        assert_refused(&product, "Product name", message);

        let (made, _) = create_app(
            &ada,
            "acme",
            &[("name", name), ("auth_type", "api_key"), ("owner", "me")],
        )
        .await;
        assert_refused(&made, "App name", message);
    }
    let (zw_start, _) = create_app(
        &ada,
        "acme",
        &[
            ("name", ZW_START),
            ("auth_type", "api_key"),
            ("owner", "me"),
        ],
    )
    .await;
    assert_refused(&zw_start, "App name", ZERO_WIDTH);

    // Nothing was written, and the lists show none of it.
    let after = [
        app.count("users"),
        app.count("organisations"),
        app.count("teams"),
        app.count("products"),
        app.count("apps"),
    ];
    assert_eq!(before, after);
    assert!(ada.get("/account").await.contains("value=\"Ada Lovelace\""));
    assert!(ada.get("/o/acme/settings").await.contains("value=\"Acme\""));

    // A joiner inside a name is kept (emoji sequences and some scripts need it).
    let devs = "👩\u{200D}💻 Devs";
    let made = ada
        .submit("/o/acme/teams", "/o/acme/teams", &[("name", devs)])
        .await;
    assert_eq!(made.status.as_u16(), 303, "{}", made.body);
    assert!(ada.get("/o/acme/teams").await.contains(devs));
}

#[tokio::test]
async fn the_api_refuses_direction_controls_and_zero_width_ends_in_names() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let api = app.api(crate::kit::OWNER_EMAIL, "acme", true, true);
    for (name, message) in [
        (RLO, DIRECTION),
        (ISOLATE, DIRECTION),
        (ZW_START, ZERO_WIDTH),
        (ZW_END, ZERO_WIDTH),
    ] {
        for (path, body, what) in [
            (
                "/api/v1/apps",
                json!({"name": name, "auth_type": "api_key"}),
                "App name",
            ),
            ("/api/v1/teams", json!({ "name": name }), "Team name"),
            (
                "/api/v1/products",
                json!({"name": name, "slug": "payments", "approval_mode": "auto"}),
                "Product name",
            ),
        ] {
            let reply = api.post(path, body).await;
            let detail = reply.expect_problem(422).to_string();
            assert!(
                reply
                    .body
                    .to_string()
                    .contains(&format!("{what} {message}")),
                "{path} {name:?}: {detail} {}",
                reply.body
            );
        }
    }
    // Renaming an app is checked the same way.
    let id = api
        .post(
            "/api/v1/apps",
            json!({"name": "Billing", "auth_type": "api_key"}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = api
        .patch(&format!("/api/v1/apps/{id}"), json!({ "name": RLO }), None)
        .await;
    reply.expect_problem(422);
    assert_eq!(app.count("teams"), 0);
    assert_eq!(app.count("products"), 0);
    assert_eq!(app.count("apps"), 1);
}

#[tokio::test]
async fn callback_urls_with_a_user_name_before_the_host_are_refused() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let message = "must not hold a user name or password before the host";
    for url in [
        "https://evil@x.example/",
        "https://x.example:pw@evil.example/cb",
    ] {
        let (page, _) = create_app(
            &ada,
            "acme",
            &[
                ("name", "Billing"),
                ("auth_type", "api_key"),
                ("owner", "me"),
                ("callback_urls", url),
            ],
        )
        .await;
        page.assert_status(422);
        assert!(page.contains(message), "{url}:\n{}", page.body);
    }
    assert_eq!(app.count("apps"), 0);

    let api = app.api(crate::kit::OWNER_EMAIL, "acme", true, true);
    let reply = api
        .post(
            "/api/v1/apps",
            json!({"name": "Billing", "auth_type": "api_key",
                "callback_urls": ["https://evil@x.example/"]}),
        )
        .await;
    reply.expect_problem(422);
    assert!(reply.body.to_string().contains(message), "{}", reply.body);
    let id = api
        .post(
            "/api/v1/apps",
            json!({"name": "Billing", "auth_type": "api_key",
                "callback_urls": ["https://x.example/cb?to=a@b.example"]}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = api
        .patch(
            &format!("/api/v1/apps/{id}"),
            json!({"callback_urls": ["https://evil@x.example/"]}),
            None,
        )
        .await;
    reply.expect_problem(422);
    assert_eq!(
        app.text(&format!(
            "SELECT callback_urls AS v FROM apps WHERE id = '{id}'"
        )),
        "https://x.example/cb?to=a@b.example"
    );
}
