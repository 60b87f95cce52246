//! What pages say: pending apps that explain what they wait for, rejected apps in
//! their own table, audit trails and activity as sentences, the approval queue's
//! per-row decisions and plurals, the new-app and rotate forms, wording on the tokens
//! and revoked-app pages, Unsubscribe, and empty states that say what to do next.

use crate::kit::{
    AppBuilder, Page, ProductBuilder, TestApp, create_app, extract_value, revealed_app_id,
    spawn_app,
};

fn sub_of(app: &TestApp, app_id: &str, product_id: &str) -> String {
    app.text(&format!(
        "SELECT id AS v FROM subscriptions WHERE app_id = '{app_id}' AND product_id = '{product_id}'"
    ))
}

/// The page has a title and exactly one `<h1>`.
#[track_caller]
fn well_formed(page: &Page) {
    assert_eq!(page.body.matches("<h1").count(), 1, "{}", page.body);
    assert!(page.contains("<title>"));
}

/// The text between `start` and the next `end` after it.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body.find(start).map_or(body.len(), |i| i + start.len());
    let rest = &body[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn a_pending_app_says_what_it_waits_for_on_the_reveal_and_its_page() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let ledger = ProductBuilder::new("Ledger", "manual")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let payments = ProductBuilder::new("Payments", "auto")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;

    let reveal = AppBuilder::new("Billing app")
        .products(&[&ledger])
        .create(&dev)
        .await;
    well_formed(&reveal);
    assert!(reveal.contains("<h1>Billing app is waiting for approval</h1>"));
    assert!(!reveal.contains("is ready"));
    assert!(reveal.contains("An admin must approve Billing app before it can call Ledger."));
    assert!(reveal.contains("it works only once the app is approved"));

    // Only automatic products: ready at once, nothing about approval.
    let ready = AppBuilder::new("Quick app")
        .products(&[&payments])
        .create(&dev)
        .await;
    assert!(ready.contains("<h1>Quick app is ready</h1>"));
    assert!(!ready.contains("approval-notice"));

    // Payments approved at once, Ledger still waiting: the page says why it is pending.
    let mixed = AppBuilder::new("Mixed app")
        .products(&[&payments, &ledger])
        .create(&dev)
        .await;
    assert!(mixed.contains("before it can call Ledger."));
    let id = revealed_app_id(&mixed);
    assert_eq!(app.app_status(&id), "pending");
    let page = dev.get(&format!("/o/acme/apps/{id}")).await;
    well_formed(&page);
    let notice = between(&page.body, "id=\"pending-notice\"", "</article>");
    assert!(notice.contains("Waiting for approval"), "{notice}");
    assert!(
        notice.contains("not yet decided the request for <strong>Ledger</strong>"),
        "{notice}"
    );
    assert!(
        notice.contains("Payments is already approved and will work as soon as nothing waits"),
        "{notice}"
    );

    // Once decided, the notice is gone.
    let sub = format!("sub.{}", sub_of(&app, &id, &ledger));
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(sub.as_str(), "on"), ("action", "approve")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    let page = dev.get(&format!("/o/acme/apps/{id}")).await;
    assert!(!page.contains("pending-notice"));
}

#[tokio::test]
async fn rejected_apps_have_their_own_table_filter_and_count() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let ledger = ProductBuilder::new("Ledger", "manual")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let doomed = AppBuilder::new("Doomed app")
        .products(&[&ledger])
        .id(&dev)
        .await;
    AppBuilder::new("Fine app").create(&dev).await;
    let sub = format!("sub.{}", sub_of(&app, &doomed, &ledger));
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[
            (sub.as_str(), "on"),
            ("action", "reject"),
            ("reason", "Not for production use"),
        ],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    assert_eq!(app.app_status(&doomed), "rejected");

    let list = dev.get("/o/acme/apps").await;
    well_formed(&list);
    let active = between(&list.body, "id=\"active-apps\"", "</table>");
    let rejected = between(&list.body, "id=\"rejected-apps\"", "</table>");
    assert!(active.contains(">Fine app</a>") && !active.contains("Doomed app"));
    assert!(rejected.contains(">Doomed app</a>") && rejected.contains("Not for production use"));
    assert!(list.contains("Rejected <small class=\"count\">1</small>"));
    assert!(list.contains("Active <small class=\"count\">1</small>"));

    // The filter shows only the table that status lives in.
    let only = dev.get("/o/acme/apps?filter=rejected").await;
    assert!(only.contains("id=\"rejected-apps\""));
    assert!(!only.contains("id=\"active-apps\"") && !only.contains("revoked-heading"));
    let actives = dev.get("/o/acme/apps?filter=active").await;
    assert!(actives.contains(">Fine app</a>") && !actives.contains("Doomed app"));

    // My Hub counts it as rejected, not as active.
    let hub = dev.get("/o/acme/hub").await;
    assert!(hub.contains("id=\"count-rejected\">1<"));
    assert!(hub.contains("id=\"count-active\">1<"));
}

#[tokio::test]
async fn audit_trail_and_activity_read_as_sentences_with_names() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let ledger = ProductBuilder::new("Ledger", "manual")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let billing = AppBuilder::new("Billing app")
        .products(&[&ledger])
        .id(&ada)
        .await;
    let sub = format!("sub.{}", sub_of(&app, &billing, &ledger));
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(sub.as_str(), "on"), ("action", "approve")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    let page = format!("/o/acme/apps/{billing}/rotate");
    let nonce_page = ada.get(&page).await;
    let nonce = extract_value(&nonce_page.body, "name=\"nonce\" value=\"").unwrap();
    ada.post_raw(
        &page,
        &[
            ("csrf_token", nonce_page.csrf().as_str()),
            ("nonce", nonce.as_str()),
            ("overlap", "7d"),
        ],
    )
    .await
    .assert_status(200);

    let show = ada.get(&format!("/o/acme/apps/{billing}")).await;
    let trail = between(&show.body, "id=\"audit\"", "</table>");
    for sentence in [
        "Ada Lovelace created Billing app",
        "Ada Lovelace asked for Ledger for Billing app",
        "Ada Lovelace approved Ledger for Billing app",
        "Billing app is approved and active",
        "Ada Lovelace rotated the credential of Billing app (overlap 7 days)",
    ] {
        assert!(trail.contains(sentence), "{sentence} in {trail}");
    }
    for raw in [
        "subscription.approved",
        "app.approved",
        "minutes",
        "(s)",
        "user:",
    ] {
        assert!(!trail.contains(raw), "{raw} in {trail}");
    }

    // Revoking: "1 credential", not "1 credential(s)"; the hub says so too.
    ada.submit(
        &format!("/o/acme/apps/{billing}/revoke"),
        &format!("/o/acme/apps/{billing}/revoke"),
        &[("reason", "leaked")],
    )
    .await
    .assert_redirect("/o/acme/apps");
    let hub = ada.get("/o/acme/hub").await;
    let activity = between(&hub.body, "id=\"hub-activity\"", "</ul>");
    assert!(
        activity
            .contains("Ada Lovelace revoked Billing app (2 credentials revoked). Reason: leaked"),
        "{activity}"
    );

    // The organisation's overview names products and people too.
    let overview = ada.get("/o/acme").await;
    let activity = between(&overview.body, "id=\"org-activity\"", "</ul>");
    assert!(
        activity.contains("Ada Lovelace published Ledger (manual approval)"),
        "{activity}"
    );
    assert!(activity.contains("Ada Lovelace created the organisation"));
    assert!(!activity.contains("product.created"));
}

#[tokio::test]
async fn the_queue_decides_one_row_or_many_with_the_right_plurals() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let ledger = ProductBuilder::new("Ledger", "manual")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let one = AppBuilder::new("One app")
        .products(&[&ledger])
        .id(&ada)
        .await;

    let queue = ada.get("/o/acme/admin/approvals").await;
    well_formed(&queue);
    assert!(queue.contains("1 request waiting, oldest first."));
    assert!(!queue.contains("request(s)"));
    let sub_one = sub_of(&app, &one, &ledger);
    // Each row has its own Approve and Reject (with a reason); select-all comes with
    // JavaScript.
    assert!(queue.contains(&format!("form=\"approve-{sub_one}\"")));
    assert!(queue.contains(&format!("id=\"reason-{sub_one}\"")));
    assert!(queue.contains("Reason (the developer sees it)"));
    assert!(queue.contains("data-select-all=\"sub.\""));
    assert!(queue.contains("aria-label=\"Select every request on this page\" hidden"));
    // The owner is named; their address is there on hover, not in the row's text.
    assert!(queue.contains("<span title=\"ada@example.com\">Ada Lovelace</span>"));

    let two = AppBuilder::new("Two app")
        .products(&[&ledger])
        .id(&ada)
        .await;
    let three = AppBuilder::new("Three app")
        .products(&[&ledger])
        .id(&ada)
        .await;
    assert!(
        ada.get("/o/acme/admin/approvals")
            .await
            .contains("3 requests waiting")
    );

    // A row's own Reject form without a reason changes nothing.
    let reject_one = [
        (format!("sub.{sub_one}"), "on".to_string()),
        ("action".into(), "reject".into()),
        ("reason".into(), String::new()),
    ];
    let fields: Vec<(&str, &str)> = reject_one
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &fields,
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    let page = ada.get("/o/acme/admin/approvals").await;
    assert!(page.contains("Give a reason for the rejection"));
    assert_eq!(app.app_status(&one), "pending");

    // A row's own Approve form decides that row only.
    let approve_one = format!("sub.{sub_one}");
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(approve_one.as_str(), "on"), ("action", "approve")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    let page = ada.get("/o/acme/admin/approvals").await;
    assert!(page.contains("1 request approved."), "{}", page.body);
    assert!(page.contains("2 requests waiting"));
    assert_eq!(app.app_status(&one), "active");
    assert_eq!(app.app_status(&two), "pending");

    // The bulk form rejects both with one reason.
    let (s2, s3) = (
        format!("sub.{}", sub_of(&app, &two, &ledger)),
        format!("sub.{}", sub_of(&app, &three, &ledger)),
    );
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[
            (s2.as_str(), "on"),
            (s3.as_str(), "on"),
            ("action", "reject"),
            ("reason", "Use the sandbox"),
        ],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    let page = ada.get("/o/acme/admin/approvals").await;
    assert!(page.contains("2 requests rejected."));
    assert!(page.contains("Nothing waits for approval"));
}

#[tokio::test]
async fn the_new_app_and_rotate_forms_label_their_fields() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    ProductBuilder::new("Ledger", "manual")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    ProductBuilder::new("Payments", "auto")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let form = ada.get("/o/acme/apps/new").await;
    well_formed(&form);
    // The public key sits in a block the stylesheet hides unless JWT is chosen.
    let jwt = between(&form.body, "class=\"jwt-only\"", "</div>");
    assert!(jwt.contains("<label for=\"public-key\">Public key (PEM or JWK)</label>"));
    assert!(jwt.contains("name=\"public_key\""));
    let css = ada.get("/static/css/app.css").await;
    assert!(css.contains(
        "form:has(input[name=\"auth_type\"][value=\"jwt\"]:not(:checked)) .jwt-only { display: none; }"
    ));
    // Each product is one label: box, name, then a tag saying how it is approved.
    assert!(form.contains("<span class=\"choice-name\">Ledger</span><span class=\"choice-tag\">needs an admin's approval</span>"));
    assert!(form.contains("<span class=\"choice-name\">Payments</span><span class=\"choice-tag choice-tag-auto\">approved at once</span>"));
    // The server still wants the key for JWT apps (and only for them).
    let (page, _) = create_app(
        &ada,
        "acme",
        &[("name", "Signer"), ("auth_type", "jwt"), ("owner", "me")],
    )
    .await;
    page.assert_status(422);
    assert_eq!(app.count("apps"), 0);

    let id = AppBuilder::new("Billing app").id(&ada).await;
    let rotate = ada.get(&format!("/o/acme/apps/{id}/rotate")).await;
    well_formed(&rotate);
    let custom = between(&rotate.body, "class=\"custom-overlap\"", "</div>");
    assert!(custom.contains(
        "<label for=\"custom-hours\" class=\"visually-hidden\">Custom overlap in hours</label>"
    ));
    assert!(custom.contains("type=\"number\""));
    assert!(!custom.contains("placeholder=\"hours\""));
    assert_eq!(custom.matches(">hours<").count(), 1, "{custom}");
}

#[tokio::test]
async fn tokens_revoked_apps_and_unsubscribe_say_the_right_thing() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let tokens = ada.get("/o/acme/admin/tokens").await;
    well_formed(&tokens);
    let h1 = tokens.body.find("<h1>").unwrap();
    let tabs = tokens.body.find("<nav class=\"tabs\"").unwrap();
    assert!(h1 < tabs, "the heading comes before the tabs");
    assert!(!tokens.contains("team_id"));
    assert!(tokens.contains("No tokens yet."));

    let payments = ProductBuilder::new("Payments", "auto")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let id = AppBuilder::new("Billing app")
        .products(&[&payments])
        .id(&ada)
        .await;
    let show = ada.get(&format!("/o/acme/apps/{id}")).await;
    let row = between(&show.body, "id=\"subscriptions\"", "</table>");
    assert!(row.contains(">Unsubscribe</button>"));
    assert!(row.contains("data-confirm-yes=\"Unsubscribe\" data-confirm-no=\"Keep subscription\""));
    assert!(row.contains("Unsubscribe Billing app from Payments?"));
    assert!(!row.contains(">Cancel<"));
    let sub = sub_of(&app, &id, &payments);
    let done = ada
        .submit(
            &format!("/o/acme/apps/{id}"),
            &format!("/o/acme/apps/{id}/subscriptions/{sub}/cancel"),
            &[],
        )
        .await;
    let page = crate::kit::follow(&ada, &done).await;
    assert!(page.contains("Unsubscribed: the app no longer uses that product."));

    assert!(show.contains("To get a new one, rotate the credential."));
    ada.submit(
        &format!("/o/acme/apps/{id}/revoke"),
        &format!("/o/acme/apps/{id}/revoke"),
        &[("reason", "")],
    )
    .await
    .assert_redirect("/o/acme/apps");
    let revoked = ada.get(&format!("/o/acme/apps/{id}")).await;
    assert!(revoked.contains(
        "This app is revoked: its credentials no longer work and it cannot get new ones."
    ));
    assert!(!revoked.contains("rotate"));
}

#[tokio::test]
async fn an_admins_overview_ticks_off_the_getting_started_steps() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let todo = |page: &Page| page.body.matches("To do:").count();
    let fresh = ada.get("/o/acme").await;
    well_formed(&fresh);
    assert!(fresh.contains("Get Acme ready for developers"));
    assert_eq!(todo(&fresh), 3);
    assert!(
        fresh.contains("href=\"/o/acme/admin/products/new\" role=\"button\">Publish a product</a>")
    );

    let ledger = ProductBuilder::new("Ledger", "manual")
        .docs("Call it.")
        .publish(&app, &ada)
        .await;
    let page = ada.get("/o/acme").await;
    assert_eq!(todo(&page), 2);
    assert!(!page.contains(">Publish a product</a>"));

    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    AppBuilder::new("Billing app")
        .products(&[&ledger])
        .id(&dev)
        .await;
    let page = ada.get("/o/acme").await;
    assert_eq!(todo(&page), 1);
    assert!(page.contains("1 request waiting for you."));
    assert!(page.contains("id=\"count-approvals\">1<"));
    // Developers see no checklist and no organisation-wide activity.
    let theirs = dev.get("/o/acme").await;
    assert!(!theirs.contains("getting-started") && !theirs.contains("org-activity"));

    let sub = app.text("SELECT id AS v FROM subscriptions");
    let field = format!("sub.{sub}");
    ada.submit(
        "/o/acme/admin/approvals",
        "/o/acme/admin/approvals",
        &[(field.as_str(), "on"), ("action", "approve")],
    )
    .await
    .assert_redirect("/o/acme/admin/approvals");
    let done = ada.get("/o/acme").await;
    assert!(
        !done.contains("getting-started"),
        "all done: the checklist goes"
    );
}

#[tokio::test]
async fn empty_lists_say_what_to_do_next() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    for (who, path, says, button) in [
        (
            &dev,
            "/o/acme/hub",
            "Start by creating an app",
            "href=\"/o/acme/apps/new\" role=\"button\">Create your first app</a>",
        ),
        (
            &dev,
            "/o/acme/apps",
            "No apps yet",
            "href=\"/o/acme/apps/new\" role=\"button\">Create your first app</a>",
        ),
        (
            &dev,
            "/o/acme/teams",
            "No teams yet.",
            "href=\"#team-name\" role=\"button\">Create the first team</a>",
        ),
        (
            &dev,
            "/notifications",
            "You are all caught up.",
            "href=\"/account/notifications\" role=\"button\"",
        ),
        (
            &ada,
            "/o/acme/admin/approvals",
            "Nothing waits for approval",
            "href=\"/o/acme/admin/products\" role=\"button\"",
        ),
        (
            &ada,
            "/o/acme/admin/tokens",
            "No tokens yet.",
            "href=\"#token-name\" role=\"button\" class=\"secondary outline\">Create a token</a>",
        ),
    ] {
        let page = who.get(path).await;
        page.assert_status(200);
        well_formed(&page);
        assert!(page.contains(says), "{path}: {says}");
        assert!(page.contains(button), "{path}: {button}");
    }
}
