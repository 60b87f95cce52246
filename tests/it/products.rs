//! API products, subscriptions and the approval workflow through HTTP.

use crate::kit::{
    AppBuilder, PASSWORD, ProductBuilder, TestApp, create_app, revealed_app_id, spawn_app,
};

#[tokio::test]
async fn an_auto_product_makes_the_app_active_at_once() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let weather = ProductBuilder::new("Weather", "auto")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let id = AppBuilder::new("Forecast")
        .products(&[&weather])
        .id(&dev)
        .await;
    assert_eq!(app.app_status(&id), "active");
    let page = dev.get(&format!("/o/acme/apps/{id}")).await;
    assert!(page.contains("Weather"));
    assert!(page.contains("status-approved"));
    assert_eq!(app.count("notifications"), 0, "nobody needs telling");
}

#[tokio::test]
async fn a_manual_product_waits_for_an_admin_who_is_told_and_approves() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let payments = ProductBuilder::new("Payments", "manual")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let id = AppBuilder::new("Shop")
        .products(&[&payments])
        .note("We sell socks")
        .id(&dev)
        .await;
    assert_eq!(app.app_status(&id), "pending");

    // The admin is told, in the inbox (and the outbox holds the email).
    let ada_id = app.user_id("ada@example.com");
    assert_eq!(
        app.count(&format!(
            "notifications WHERE user_id = '{ada_id}' AND kind = 'approval_requested'"
        )),
        1
    );
    assert_eq!(
        app.count(
            "email_outbox WHERE to_address = 'ada@example.com' \
             AND subject <> 'Confirm your email address'"
        ),
        1
    );
    app.deliver_mail().await;
    let mails = crate::mail::emails_in(app.data_dir());
    let to_ada: Vec<&String> = mails
        .iter()
        .filter(|m| {
            m.contains("To: ada@example.com") && !m.contains("Subject: Confirm your email address")
        })
        .collect();
    assert_eq!(to_ada.len(), 1, "{mails:?}");
    assert!(
        to_ada[0].contains("Subject: Shop asks for Payments"),
        "{}",
        to_ada[0]
    );
    assert!(to_ada[0].contains("/o/acme/admin/approvals"));
    let queue = ada.get("/o/acme/admin/approvals").await;
    queue.assert_status(200);
    assert!(queue.contains("Shop"));
    assert!(queue.contains("We sell socks"));
    // A developer cannot see or work the queue.
    dev.get("/o/acme/admin/approvals").await.assert_status(403);

    let sub = app.sub_ids(&id).remove(0);
    let field = format!("sub.{sub}");
    let token = dev.get("/account").await.csrf();
    dev.post_raw(
        "/o/acme/admin/approvals",
        &[
            ("csrf_token", &token),
            (field.as_str(), "on"),
            ("action", "approve"),
        ],
    )
    .await
    .assert_status(403);
    assert_eq!(app.app_status(&id), "pending");

    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(field.as_str(), "on"), ("action", "approve")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    assert_eq!(app.app_status(&id), "active");
    let dev_id = app.user_id("dev@example.com");
    assert_eq!(
        app.count(&format!(
            "notifications WHERE user_id = '{dev_id}' AND kind = 'approved'"
        )),
        1
    );
    // Deciding again is a conflict, not a silent no-op.
    let again = ada
        .submit(
            "/o/acme/admin/approvals",
            "/o/acme/admin/approvals",
            &[(field.as_str(), "on"), ("action", "approve")],
        )
        .await;
    again.assert_redirect("/o/acme/admin/approvals");
    assert!(
        ada.get("/o/acme/admin/approvals")
            .await
            .contains("not pending any more")
    );
}

#[tokio::test]
async fn a_rejection_needs_a_reason_which_the_developer_sees() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let payments = ProductBuilder::new("Payments", "manual")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let id = AppBuilder::new("Shop")
        .products(&[&payments])
        .id(&dev)
        .await;
    let field = format!("sub.{}", app.sub_ids(&id)[0]);
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(field.as_str(), "on"), ("action", "reject"), ("reason", "")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    assert_eq!(app.app_status(&id), "pending", "no reason, no rejection");
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[
            (field.as_str(), "on"),
            ("action", "reject"),
            ("reason", "Not for production use"),
        ],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    assert_eq!(app.app_status(&id), "rejected");
    let page = dev.get(&format!("/o/acme/apps/{id}")).await;
    assert!(page.contains("Not for production use"));
    assert!(page.contains("status-rejected"));
}

#[tokio::test]
async fn fifty_requests_are_approved_in_one_go() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let payments = ProductBuilder::new("Payments", "manual")
        .publish(&app, &ada)
        .await;
    let mut subs = Vec::new();
    for i in 0..50 {
        let id = AppBuilder::new(&format!("App {i}"))
            .products(&[&payments])
            .id(&ada)
            .await;
        subs.extend(app.sub_ids(&id));
    }
    assert_eq!(app.count("apps WHERE status = 'pending'"), 50);
    let fields: Vec<String> = subs.iter().map(|s| format!("sub.{s}")).collect();
    let mut form: Vec<(&str, &str)> = fields.iter().map(|f| (f.as_str(), "on")).collect();
    form.push(("action", "approve"));
    ada.submit("/o/acme/admin/approvals", "/o/acme/admin/approvals", &form)
        .await
        .assert_redirect("/o/acme/admin/approvals");
    assert_eq!(app.count("apps WHERE status = 'active'"), 50);
    assert_eq!(app.count("subscriptions WHERE status = 'approved'"), 50);
    assert!(
        ada.get("/o/acme/admin/approvals")
            .await
            .contains("50 requests approved.")
    );
}

#[tokio::test]
async fn the_organisation_mode_and_auto_approve_rules_decide() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let manual = ProductBuilder::new("Manual", "manual")
        .slug("manual-api")
        .publish(&app, &ada)
        .await;
    let auto = ProductBuilder::new("Auto", "auto")
        .slug("auto-api")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let set_mode = |mode: &'static str| {
        let ada = ada.clone();
        async move {
            ada.submit(
                "/o/acme/admin/approval-settings",
                "/o/acme/admin/approval-settings",
                &[("mode", mode)],
            )
            .await
            .assert_redirect("/o/acme/admin/approval-settings");
        }
    };
    // Conditional (the default): each product's mode decides.
    assert_eq!(
        app.app_status(&AppBuilder::new("C1").products(&[&manual]).id(&dev).await),
        "pending"
    );
    assert_eq!(
        app.app_status(&AppBuilder::new("C2").products(&[&auto]).id(&dev).await),
        "active"
    );
    set_mode("auto").await;
    assert_eq!(
        app.app_status(&AppBuilder::new("A1").products(&[&manual]).id(&dev).await),
        "active"
    );
    set_mode("manual").await;
    assert_eq!(
        app.app_status(&AppBuilder::new("M1").products(&[&auto]).id(&dev).await),
        "pending"
    );

    // A team rule approves its members' requests in every mode.
    dev.submit("/o/acme/teams", "/o/acme/teams", &[("name", "Trusted")])
        .await;
    let team = app.text("SELECT id AS v FROM teams WHERE name = 'Trusted'");
    ada.submit(
        "/o/acme/admin/approval-settings",
        "/o/acme/admin/approval-settings/rules",
        &[("kind", "team"), ("team", &team)],
    )
    .await
    .assert_redirect("/o/acme/admin/approval-settings");
    assert_eq!(
        app.app_status(&AppBuilder::new("T1").products(&[&manual]).id(&dev).await),
        "active"
    );

    // A domain rule counts only verified addresses.
    let other = app
        .join(&ada, "acme", "eve@partner.example", "developer")
        .await;
    ada.submit(
        "/o/acme/admin/approval-settings",
        "/o/acme/admin/approval-settings/rules",
        &[("kind", "email_domain"), ("domain", "Partner.example")],
    )
    .await
    .assert_redirect("/o/acme/admin/approval-settings");
    let eve = app.user_id("eve@partner.example");
    app.exec(&format!(
        "UPDATE users SET email_verified_at = NULL WHERE id = '{eve}'"
    ));
    assert_eq!(
        app.app_status(&AppBuilder::new("D1").products(&[&manual]).id(&other).await),
        "pending"
    );
    app.exec(&format!(
        "UPDATE users SET email_verified_at = created_at WHERE id = '{eve}'"
    ));
    assert_eq!(
        app.app_status(&AppBuilder::new("D2").products(&[&manual]).id(&other).await),
        "active"
    );
    // A bad rule is refused.
    ada.submit(
        "/o/acme/admin/approval-settings",
        "/o/acme/admin/approval-settings/rules",
        &[("kind", "email_domain"), ("domain", "not a domain")],
    )
    .await
    .assert_redirect("/o/acme/admin/approval-settings");
    assert_eq!(app.count("approval_rules"), 2);
}

#[tokio::test]
async fn an_active_app_keeps_its_products_while_a_new_one_is_pending_and_can_cancel() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let auto = ProductBuilder::new("Weather", "auto")
        .publish(&app, &ada)
        .await;
    let manual = ProductBuilder::new("Payments", "manual")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let id = AppBuilder::new("Both").products(&[&auto]).id(&dev).await;
    dev.submit(
        &format!("/o/acme/apps/{id}"),
        &format!("/o/acme/apps/{id}/subscriptions"),
        &[("product_id", &manual), ("note", "please")],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{id}"));
    assert_eq!(app.app_status(&id), "active");
    assert_eq!(app.count("subscriptions WHERE status = 'pending'"), 1);
    // Asking twice is a conflict.
    dev.submit(
        &format!("/o/acme/apps/{id}"),
        &format!("/o/acme/apps/{id}/subscriptions"),
        &[("product_id", &manual)],
    )
    .await;
    assert_eq!(app.count("subscriptions"), 2);
    let pending = app.text("SELECT id AS v FROM subscriptions WHERE status = 'pending'");
    dev.submit(
        &format!("/o/acme/apps/{id}"),
        &format!("/o/acme/apps/{id}/subscriptions/{pending}/cancel"),
        &[],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{id}"));
    assert_eq!(app.count("subscriptions WHERE status = 'cancelled'"), 1);
    assert_eq!(app.count("subscriptions WHERE status = 'approved'"), 1);
}

#[tokio::test]
async fn admins_suspend_and_resume_apps_and_owners_are_told() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let id = AppBuilder::new("Mine").id(&dev).await;
    let suspend = format!("/o/acme/apps/{id}/suspend");
    dev.submit(
        &format!("/o/acme/apps/{id}"),
        &suspend,
        &[("reason", "mine")],
    )
    .await
    .assert_status(403);
    ada.submit(&format!("/o/acme/apps/{id}"), &suspend, &[("reason", "")])
        .await;
    assert_eq!(app.app_status(&id), "active", "a reason is required");
    ada.submit(
        &format!("/o/acme/apps/{id}"),
        &suspend,
        &[("reason", "Abuse report 42")],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{id}"));
    assert_eq!(app.app_status(&id), "suspended");
    let dev_id = app.user_id("dev@example.com");
    assert_eq!(
        app.count(&format!(
            "notifications WHERE user_id = '{dev_id}' AND kind = 'suspended'"
        )),
        1
    );
    assert!(
        dev.get(&format!("/o/acme/apps/{id}"))
            .await
            .contains("Abuse report 42")
    );
    ada.submit(
        &format!("/o/acme/apps/{id}"),
        &format!("/o/acme/apps/{id}/resume"),
        &[],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{id}"));
    assert_eq!(app.app_status(&id), "active");
}

#[tokio::test]
async fn team_only_and_archived_products_are_hidden_and_refused() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    ada.submit("/o/acme/teams", "/o/acme/teams", &[("name", "Insiders")])
        .await;
    let team = app.text("SELECT id AS v FROM teams WHERE name = 'Insiders'");
    let team_field = format!("team.{team}");
    let secret = ProductBuilder::new("Secret", "auto")
        .field("visibility", "teams")
        .field(team_field.as_str(), "on")
        .publish(&app, &ada)
        .await;
    let old = ProductBuilder::new("Old", "auto").publish(&app, &ada).await;
    ada.submit(
        "/o/acme/admin/products",
        &format!("/o/acme/admin/products/{old}/archive"),
        &[],
    )
    .await
    .assert_redirect("/o/acme/admin/products");
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let catalogue = dev.get("/o/acme/products").await;
    catalogue.assert_status(200);
    assert!(!catalogue.contains("Secret"));
    assert!(!catalogue.contains(">Old<"));
    dev.get("/o/acme/products/secret").await.assert_status(404);
    dev.get("/o/acme/products/old").await.assert_status(404);
    // A tampered form naming the hidden product creates nothing.
    let tick = format!("product.{secret}");
    let (page, _) = create_app(
        &dev,
        "acme",
        &[
            ("name", "Sneaky"),
            ("auth_type", "api_key"),
            ("owner", "me"),
            (tick.as_str(), "on"),
        ],
    )
    .await;
    page.assert_status(422);
    assert!(page.contains("cannot subscribe"));
    assert_eq!(app.count("apps"), 0);
    // Team members see it.
    let ada_view = ada.get("/o/acme/products").await;
    assert!(ada_view.contains("Secret"));
    // Developers cannot manage products.
    dev.get("/o/acme/admin/products").await.assert_status(403);
    dev.submit(
        "/o/acme/products",
        "/o/acme/admin/products",
        &[("name", "Mine"), ("approval_mode", "auto")],
    )
    .await
    .assert_status(403);
    assert_eq!(app.count("products"), 2);

    // The subscriptions service refuses the hidden product itself, so a caller that
    // skips the lookup cannot subscribe a member to it either.
    let open = ProductBuilder::new("Open", "auto")
        .publish(&app, &ada)
        .await;
    let app_id = AppBuilder::new("Mine").products(&[&open]).id(&dev).await;
    let refused = {
        use gatehouse::clock::Clock;
        use gatehouse::models::{apps, orgs, products, users};
        use gatehouse::services::subscriptions::{self, SubscriptionRequest};
        let mut conn = app.conn();
        let conn: &mut gatehouse::db::DbConnection = &mut conn;
        let org = orgs::find_by_slug(conn, "acme").unwrap().unwrap();
        let user = users::find_by_email(conn, "dev@example.com")
            .unwrap()
            .unwrap();
        let target = apps::find_in_org(conn, &org.id, &app_id).unwrap().unwrap();
        let hidden = products::find(conn, &org.id, &secret).unwrap().unwrap();
        let ctx = gatehouse::services::Ctx {
            actor_id: Some(user.id.clone()),
            ip: None,
            now: app.clock.now_naive(),
        };
        subscriptions::request(
            conn,
            &ctx,
            SubscriptionRequest {
                org: &org,
                app: &target,
                product: &hidden,
                requester: &user,
                note: "",
                public_base: "http://localhost",
            },
        )
    };
    let err = refused.expect_err("a hidden product is refused");
    assert_eq!(err.to_string(), "Choose a product you can see.");
    assert_eq!(
        app.text(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) AS v FROM subscriptions WHERE app_id = '{app_id}'"
        )),
        "1"
    );
}

#[tokio::test]
async fn product_docs_render_markdown_without_running_script_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    ProductBuilder::new("Docs", "auto").field("docs_markdown", "# Hello\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n<img src=x onerror=alert(1)>").publish(&app, &ada).await;
    let page = ada.get("/o/acme/products/docs").await;
    page.assert_status(200);
    // The page's title is its one <h1>; the docs' `# Hello` is an <h2>.
    assert!(page.contains("<h2>Hello</h2>"));
    assert_eq!(page.body.matches("<h1").count(), 1);
    let docs = &page.body[page.body.find("class=\"docs\"").unwrap()..];
    assert!(!docs.contains("<script>alert"));
    assert!(!docs.contains("javascript:"));
    assert!(!docs.contains("onerror"));

    for (fields, message) in [
        (
            vec![
                ("name", ""),
                ("approval_mode", "auto"),
                ("visibility", "members"),
            ],
            "Product name is required",
        ),
        (
            vec![
                ("name", "X"),
                ("approval_mode", "sometimes"),
                ("visibility", "members"),
            ],
            "approval mode",
        ),
        (
            vec![
                ("name", "X"),
                ("approval_mode", "auto"),
                ("visibility", "teams"),
            ],
            "at least one team",
        ),
        (
            vec![
                ("name", "X"),
                ("approval_mode", "auto"),
                ("visibility", "members"),
                ("quota_limit", "-5"),
                ("quota_period", "day"),
            ],
            "Quota",
        ),
        (
            vec![
                ("name", "X"),
                ("approval_mode", "auto"),
                ("visibility", "members"),
                ("quota_limit", "99999999999999999999"),
                ("quota_period", "day"),
            ],
            "Quota",
        ),
        (
            vec![
                ("name", "X"),
                ("approval_mode", "auto"),
                ("visibility", "members"),
                ("quota_limit", "5"),
            ],
            "period",
        ),
        (
            vec![
                ("name", "X\u{0}"),
                ("approval_mode", "auto"),
                ("visibility", "members"),
            ],
            "control characters",
        ),
        (
            vec![
                ("name", "Dup"),
                ("slug", "docs"),
                ("approval_mode", "auto"),
                ("visibility", "members"),
            ],
            "already exists",
        ),
    ] {
        let page = ada
            .submit(
                "/o/acme/admin/products/new",
                "/o/acme/admin/products",
                &fields,
            )
            .await;
        assert!(
            matches!(page.status.as_u16(), 409 | 422),
            "{fields:?}: {}",
            page.status
        );
        assert!(page.contains(message), "{fields:?} should say {message:?}");
    }
    assert_eq!(app.count("products"), 1);
}

#[tokio::test]
async fn owners_are_warned_once_before_an_overlap_ends_or_a_capped_credential_expires() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let capped = ProductBuilder::new("Capped", "auto")
        .field("max_credential_lifetime_days", "10")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let id = AppBuilder::new("Short lived")
        .products(&[&capped])
        .id(&dev)
        .await;
    let dev_id = app.user_id("dev@example.com");
    let base = app.base.clone();
    let warn = |app: &TestApp| {
        let mut conn = app.conn();
        gatehouse::services::expiry::warn_due(
            &mut conn,
            gatehouse::clock::Clock::now_naive(&*app.clock),
            &base,
        )
        .unwrap()
    };
    // The product caps the key at 10 days; nothing to say yet.
    assert_eq!(
        app.count(&format!(
            "credentials WHERE app_id = '{id}' AND expires_at IS NOT NULL"
        )),
        1
    );
    assert_eq!(warn(&app), 0);
    app.clock.advance(chrono::Duration::days(4));
    assert_eq!(warn(&app), 1);
    assert_eq!(warn(&app), 0, "each warning is sent once");
    assert_eq!(
        app.count(&format!(
            "notifications WHERE user_id = '{dev_id}' AND kind = 'credential_expiring'"
        )),
        1
    );

    // (Four days passed: the developer signs in again.)
    dev.sign_in("dev@example.com", PASSWORD)
        .await
        .assert_redirect("/");
    // A rotation with a 24 h overlap: the old key's end is announced.
    let plain = AppBuilder::new("Plain").id(&dev).await;
    let form = dev.get(&format!("/o/acme/apps/{plain}/rotate")).await;
    let nonce = crate::kit::extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
    dev.post_raw(
        &format!("/o/acme/apps/{plain}/rotate"),
        &[
            ("csrf_token", &form.csrf()),
            ("nonce", &nonce),
            ("overlap", "24h"),
        ],
    )
    .await
    .assert_status(200);
    assert_eq!(warn(&app), 1);
    assert_eq!(
        app.count(&format!(
            "notifications WHERE user_id = '{dev_id}' AND kind = 'overlap_ending'"
        )),
        1
    );
    // The cap also limits the overlap a rotation may keep.
    let form = dev.get(&format!("/o/acme/apps/{id}/rotate")).await;
    let nonce = crate::kit::extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
    let too_long = dev
        .post_raw(
            &format!("/o/acme/apps/{id}/rotate"),
            &[
                ("csrf_token", &form.csrf()),
                ("nonce", &nonce),
                ("overlap", "custom"),
                ("custom_hours", "300"),
            ],
        )
        .await;
    too_long.assert_status(422);
    assert!(too_long.contains("at most 240 hours"));
}

#[tokio::test]
async fn lifecycle_rules_hold_across_approval_revocation_and_departure() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let capped = ProductBuilder::new("Capped", "manual")
        .field("max_credential_lifetime_days", "30")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;

    // The only request of a pending app cannot be withdrawn (delete the app instead).
    let lonely = AppBuilder::new("Lonely")
        .products(&[&capped])
        .id(&dev)
        .await;
    let sub = app.sub_ids(&lonely).remove(0);
    dev.submit(
        &format!("/o/acme/apps/{lonely}"),
        &format!("/o/acme/apps/{lonely}/subscriptions/{sub}/cancel"),
        &[],
    )
    .await;
    assert_eq!(app.app_status(&lonely), "pending");
    assert_eq!(app.count("subscriptions WHERE status = 'cancelled'"), 0);

    // Approval caps the app's key at the product's lifetime.
    assert_eq!(
        app.count(&format!(
            "credentials WHERE app_id = '{lonely}' AND expires_at IS NULL"
        )),
        1
    );
    let field = format!("sub.{sub}");
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(field.as_str(), "on"), ("action", "approve")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    assert_eq!(app.app_status(&lonely), "active");
    assert_eq!(
        app.count(&format!(
            "credentials WHERE app_id = '{lonely}' AND expires_at IS NOT NULL"
        )),
        1
    );

    // Revoking the app cancels its subscriptions.
    ada.submit(
        &format!("/o/acme/apps/{lonely}/revoke"),
        &format!("/o/acme/apps/{lonely}/revoke"),
        &[("reason", "done")],
    )
    .await
    .assert_redirect("/o/acme/apps");
    assert_eq!(
        app.count(&format!(
            "subscriptions WHERE app_id = '{lonely}' AND status = 'cancelled'"
        )),
        1
    );

    // A pending app whose owner leaves stays pending (marked orphaned); moving it to
    // a team does not approve it, and an owner-left suspension is not "resumed".
    let waiting = AppBuilder::new("Waiting")
        .products(&[&capped])
        .id(&dev)
        .await;
    let running = AppBuilder::new("Running").id(&dev).await;
    dev.submit("/o/acme", "/o/acme/leave", &[])
        .await
        .assert_redirect("/orgs");
    assert_eq!(app.app_status(&waiting), "pending");
    assert_eq!(app.app_status(&running), "suspended");
    let orphaned = ada.get("/o/acme/apps?filter=orphaned").await;
    assert!(orphaned.contains("Waiting") && orphaned.contains("Running"));
    ada.submit(
        &format!("/o/acme/apps/{running}"),
        &format!("/o/acme/apps/{running}/resume"),
        &[],
    )
    .await;
    assert_eq!(app.app_status(&running), "suspended");
    let ada_id = app.user_id("ada@example.com");
    ada.submit(
        &format!("/o/acme/apps/{waiting}"),
        &format!("/o/acme/apps/{waiting}/transfer"),
        &[("to", &format!("user:{ada_id}"))],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{waiting}"));
    assert_eq!(app.app_status(&waiting), "pending");
}

/// What a gateway of acme would be told about `key` for `product` now: the
/// reference lookup and the in-memory index must say the same.
fn gateway_says(app: &TestApp, key: &str, product: Option<&str>) -> &'static str {
    let mut conn = app.conn();
    let state = app.state.clone();
    let org = app.text("SELECT id AS v FROM organisations WHERE slug = 'acme'");
    let now = gatehouse::clock::Clock::now_naive(&*app.clock);
    let reference = gatehouse::verify::lookup::check(
        &mut conn,
        &state.secrets,
        key,
        &org,
        (product, None),
        now,
    )
    .unwrap();
    let gateway = state.verifier.as_org(&org).expect("acme is in the index");
    let index = state.verifier.verify(&gateway, key, product, None, now);
    assert_eq!(index, reference, "the index disagrees with the database");
    reference.code()
}

#[tokio::test]
async fn credentials_are_refused_while_pending_or_suspended_and_accepted_when_approved() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let manual = ProductBuilder::new("Payments", "manual")
        .publish(&app, &ada)
        .await;
    ProductBuilder::new("Weather", "auto")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let tick = format!("product.{manual}");
    let (page, _) = create_app(
        &dev,
        "acme",
        &[
            ("name", "Shop"),
            ("auth_type", "api_key"),
            ("owner", "me"),
            (tick.as_str(), "on"),
        ],
    )
    .await;
    let id = revealed_app_id(&page);
    let key = crate::kit::extract_value(&page.body, "id=\"reveal-secret\" value=\"").unwrap();

    assert_eq!(gateway_says(&app, &key, Some("payments")), "PENDING");
    assert_eq!(gateway_says(&app, &key, None), "PENDING");
    let mut typo = key.clone();
    typo.pop();
    typo.push(if key.ends_with('a') { 'b' } else { 'a' });
    assert_eq!(gateway_says(&app, &typo, None), "MALFORMED");

    let field = format!("sub.{}", app.sub_ids(&id)[0]);
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(field.as_str(), "on"), ("action", "approve")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    assert_eq!(gateway_says(&app, &key, Some("payments")), "VALID");
    assert_eq!(gateway_says(&app, &key, None), "VALID");
    assert_eq!(gateway_says(&app, &key, Some("weather")), "NOT_SUBSCRIBED");

    ada.submit(
        &format!("/o/acme/apps/{id}"),
        &format!("/o/acme/apps/{id}/suspend"),
        &[("reason", "abuse")],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{id}"));
    assert_eq!(gateway_says(&app, &key, Some("payments")), "SUSPENDED");
    ada.submit(
        &format!("/o/acme/apps/{id}"),
        &format!("/o/acme/apps/{id}/resume"),
        &[],
    )
    .await
    .assert_redirect(&format!("/o/acme/apps/{id}"));
    assert_eq!(gateway_says(&app, &key, Some("payments")), "VALID");

    // A rotation keeps the old key working for its overlap, then it is EXPIRED.
    let form = dev.get(&format!("/o/acme/apps/{id}/rotate")).await;
    let nonce = crate::kit::extract_value(&form.body, "name=\"nonce\" value=\"").unwrap();
    let rotated = dev
        .post_raw(
            &format!("/o/acme/apps/{id}/rotate"),
            &[
                ("csrf_token", &form.csrf()),
                ("nonce", &nonce),
                ("overlap", "1h"),
            ],
        )
        .await;
    let new_key =
        crate::kit::extract_value(&rotated.body, "id=\"reveal-secret\" value=\"").unwrap();
    assert_eq!(gateway_says(&app, &key, Some("payments")), "VALID");
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(gateway_says(&app, &key, Some("payments")), "EXPIRED");
    assert_eq!(gateway_says(&app, &new_key, Some("payments")), "VALID");

    // Revoking the app: REVOKED.
    ada.submit(
        &format!("/o/acme/apps/{id}/revoke"),
        &format!("/o/acme/apps/{id}/revoke"),
        &[],
    )
    .await
    .assert_redirect("/o/acme/apps");
    assert_eq!(gateway_says(&app, &new_key, Some("payments")), "REVOKED");
    assert_eq!(
        gateway_says(&app, &format!("gate_key_{}", "0".repeat(34)), None),
        "MALFORMED"
    );
}

fn figure(page: &crate::kit::Page, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let at = page.body.find(&marker).expect("figure on the page") + marker.len();
    page.body[at..].split('<').next().unwrap_or("").to_string()
}

#[tokio::test]
async fn my_hub_counts_apps_by_status_and_shows_recent_activity() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let manual = ProductBuilder::new("Payments", "manual")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    AppBuilder::new("Waiting one")
        .products(&[&manual])
        .id(&dev)
        .await;
    let live = AppBuilder::new("Live one").id(&dev).await;
    let dead = AppBuilder::new("Dead one").id(&dev).await;
    dev.submit(
        &format!("/o/acme/apps/{dead}/revoke"),
        &format!("/o/acme/apps/{dead}/revoke"),
        &[("reason", "old")],
    )
    .await
    .assert_redirect("/o/acme/apps");
    dev.get("/o/acme/apps").await; // shows the flash
    let hub = dev.get("/o/acme/hub").await;
    hub.assert_status(200);
    assert_eq!(figure(&hub, "count-active"), "1");
    assert_eq!(figure(&hub, "count-pending"), "1");
    assert_eq!(figure(&hub, "count-suspended"), "0");
    assert_eq!(figure(&hub, "count-revoked"), "1");
    assert!(hub.contains("Live one") && hub.contains("Waiting one"));
    assert!(
        hub.contains("dev@example.com revoked Dead one (1 credential revoked). Reason: old"),
        "recent activity lists the revocation: {}",
        hub.body
    );
    assert!(hub.contains("dev@example.com created Live one"));
    assert!(!hub.contains("app.created"));
    // Another developer's hub knows nothing of these apps.
    let other = app
        .join(&ada, "acme", "other@example.com", "developer")
        .await;
    let theirs = other.get("/o/acme/hub").await;
    assert!(!theirs.contains("Live one"));
    assert!(!theirs.contains("Dead one"));
    assert!(
        theirs.contains("Create your first app"),
        "an empty hub says what to do next"
    );
    let _ = live;
}

/// The `href` of the first link with `rel="{rel}"` (Previous / Next), HTML-decoded.
fn link_with_rel(body: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\"");
    let at = body.find(&marker)?;
    let start = body[..at].rfind("href=\"")? + "href=\"".len();
    let end = start + body[start..].find('"')?;
    Some(body[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

#[tokio::test]
async fn the_app_list_searches_sorts_and_pages() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    for i in 0..27 {
        let name = format!("App {i:02}");
        let (page, _) = create_app(
            &ada,
            "acme",
            &[("name", &name), ("auth_type", "api_key"), ("owner", "me")],
        )
        .await;
        page.assert_status(200);
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let first = ada.get("/o/acme/apps?sort=name").await;
    let table = &first.body[first.body.find("id=\"active-apps\"").unwrap()..];
    let pos = |name: &str| table.find(&format!(">{name}</a>")).unwrap_or(usize::MAX);
    assert!(pos("App 00") < pos("App 01") && pos("App 01") < pos("App 24"));
    assert_eq!(pos("App 25"), usize::MAX, "25 a page");
    assert!(first.contains("<small class=\"count\">27</small>"));
    assert!(
        !first.contains("rel=\"prev\""),
        "the first page has no Previous"
    );
    let next = link_with_rel(&first.body, "next").expect("a Next link");
    assert!(next.contains("sort=name"), "Next keeps the sort: {next}");
    let second = ada.get(&format!("/o/acme/apps{next}")).await;
    assert!(second.contains(">App 25</a>") && second.contains(">App 26</a>"));
    assert!(!second.contains(">App 00</a>"));
    assert!(
        link_with_rel(&second.body, "next").is_none(),
        "the last page"
    );
    // Previous leads back to the first page.
    let prev = link_with_rel(&second.body, "prev").expect("a Previous link");
    let back = ada.get(&format!("/o/acme/apps{prev}")).await;
    assert!(back.contains(">App 00</a>") && back.contains(">App 24</a>"));
    assert!(!back.contains(">App 25</a>"));
    // A made-up cursor is a clear 400, not a server error.
    let bad = ada.get("/o/acme/apps?cursor=nonsense").await;
    bad.assert_status(400);
    // Search is by the start of a name, in any case.
    let prefix = ada.get("/o/acme/apps?q=APP%202").await;
    assert!(prefix.contains(">App 20</a>") && prefix.contains(">App 26</a>"));
    assert!(!prefix.contains(">App 19</a>"));
    // Newest first by default.
    let newest = ada.get("/o/acme/apps").await;
    let table = &newest.body[newest.body.find("id=\"active-apps\"").unwrap()..];
    assert!(table.find(">App 26</a>").unwrap() < table.find(">App 20</a>").unwrap());
    // Search by name.
    let found = ada.get("/o/acme/apps?q=app%2007").await;
    assert!(found.contains(">App 07</a>"));
    assert!(!found.contains(">App 08</a>"));
}

#[tokio::test]
async fn the_approval_queue_searches_and_filters_by_product() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let pay = ProductBuilder::new("Payments", "manual")
        .publish(&app, &ada)
        .await;
    let maps = ProductBuilder::new("Maps", "manual")
        .publish(&app, &ada)
        .await;
    AppBuilder::new("Checkout").products(&[&pay]).id(&ada).await;
    AppBuilder::new("Navigator")
        .products(&[&maps])
        .id(&ada)
        .await;
    let all = ada.get("/o/acme/admin/approvals").await;
    assert!(all.contains("Checkout") && all.contains("Navigator"));
    let by_product = ada
        .get(&format!("/o/acme/admin/approvals?product={maps}"))
        .await;
    assert!(by_product.contains(">Navigator</a>") && !by_product.contains(">Checkout</a>"));
    let by_search = ada.get("/o/acme/admin/approvals?q=check").await;
    assert!(by_search.contains(">Checkout</a>") && !by_search.contains(">Navigator</a>"));
}

#[tokio::test]
async fn documentation_up_to_its_limit_is_saved_from_the_form_and_longer_is_refused() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    // 198,000 bytes of Markdown, about 600 KB once the form percent-encodes it: far more
    // than the portal's ordinary form limit, within the documentation's own.
    let long = format!("# Guide\n\n{}", "é".repeat(99_000));
    let id = ProductBuilder::new("Long", "auto")
        .field("docs_markdown", &long)
        .publish(&app, &ada)
        .await;
    let page = ada.get("/o/acme/products/long").await;
    page.assert_status(200);
    assert!(page.contains(&"é".repeat(1_000)));

    let too_long = "x".repeat(200_001);
    let refused = ada
        .submit(
            &format!("/o/acme/admin/products/{id}"),
            &format!("/o/acme/admin/products/{id}"),
            &[
                ("name", "Long"),
                ("summary", "An API"),
                ("approval_mode", "auto"),
                ("visibility", "members"),
                ("docs_markdown", &too_long),
            ],
        )
        .await;
    refused.assert_status(422);
    assert!(refused.contains("at most 200 000 characters"));
    assert_eq!(
        app.text(&format!(
            "SELECT docs_markdown AS v FROM products WHERE id = '{id}'"
        )),
        long
    );
}
