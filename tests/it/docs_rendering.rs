//! Product documentation is rendered when it is saved and stored; a page view shows
//! the stored HTML. The worst Markdown renders shallow, products saved before rendered
//! documentation was stored are rendered at start-up, and the preview renders like a
//! save. (Rendering on an HTTP worker panics in debug builds, so every page here also
//! checks that nothing rendered on one.)

use std::time::Duration;

use gatehouse::models::products;
use serde_json::json;

use crate::kit::{ProductBuilder, TestApp, spawn_app, spawn_app_with};

const ADA: &str = "ada@example.com";
/// The largest documentation a product may carry.
const LIMIT: usize = 200_000;

/// A product's stored, rendered documentation ("NULL" when it has none).
fn stored_html(app: &TestApp, id: &str) -> String {
    app.text(&format!(
        "SELECT COALESCE(docs_html, 'NULL') AS v FROM products WHERE id = '{id}'"
    ))
}

/// The deepest nesting of elements in well-formed HTML.
fn depth(html: &str) -> usize {
    const VOID: &[&str] = &[
        "br", "hr", "img", "input", "wbr", "col", "area", "meta", "link",
    ];
    let (mut depth, mut deepest) = (0usize, 0);
    for tag in html.split('<').skip(1) {
        if let Some(rest) = tag.strip_prefix('/') {
            if !VOID.iter().any(|v| rest.starts_with(v)) {
                depth = depth.saturating_sub(1);
            }
        } else if tag.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let name: String = tag
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let open_tag = tag.split('>').next().unwrap_or("");
            if !VOID.contains(&name.as_str()) && !open_tag.ends_with('/') {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
    }
    deepest
}

/// The documentation part of a product page.
fn docs_part(body: &str) -> &str {
    let start = body.find("class=\"docs\"").expect("the page has docs");
    &body[start..]
}

#[tokio::test]
async fn documentation_saved_through_the_api_is_stored_rendered_and_shown_as_stored() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let api = app.api(ADA, "acme", true, true);
    let reply = api
        .post(
            "/api/v1/products",
            json!({"name": "Maps", "slug": "maps", "approval_mode": "auto",
                   "docs_markdown": "# Tiles\r\n\r\nCall **GET /tiles**."}),
        )
        .await;
    let id = reply.expect(201)["id"].as_str().unwrap().to_string();
    let html = stored_html(&app, &id);
    assert!(html.contains("<h2>Tiles</h2>"), "{html}");
    assert!(html.contains("Call <strong>GET /tiles</strong>."), "{html}");

    // The page shows what is stored, as stored: it renders nothing itself.
    app.exec(&format!(
        "UPDATE products SET docs_html = '<p>Stored <em>as is</em></p>' WHERE id = '{id}'"
    ));
    let page = ada.get("/o/acme/products/maps").await;
    page.assert_status(200);
    assert!(docs_part(&page.body).contains("<p>Stored <em>as is</em></p>"));
    assert!(!page.contains("<h2>Tiles</h2>"));

    // A change to anything but the documentation keeps the stored HTML…
    api.patch(
        &format!("/api/v1/products/{id}"),
        json!({"summary": "Tiles and routes"}),
        None,
    )
    .await
    .expect(200);
    assert_eq!(stored_html(&app, &id), "<p>Stored <em>as is</em></p>");
    // …and changed documentation is rendered again.
    api.patch(
        &format!("/api/v1/products/{id}"),
        json!({"docs_markdown": "## Routes\n\n> Quoted"}),
        None,
    )
    .await
    .expect(200);
    let html = stored_html(&app, &id);
    assert!(html.contains("<h3>Routes</h3>"), "{html}");
    assert!(html.contains("<blockquote>"), "{html}");
    let page = ada.get("/o/acme/products/maps").await;
    assert!(docs_part(&page.body).contains("<h3>Routes</h3>"));
}

#[tokio::test]
async fn documentation_saved_from_the_form_is_rendered_again_when_it_changes() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let id = ProductBuilder::new("Geo", "auto")
        .docs("# First")
        .publish(&app, &ada)
        .await;
    assert!(stored_html(&app, &id).contains("<h2>First</h2>"));
    ada.submit(
        &format!("/o/acme/admin/products/{id}"),
        &format!("/o/acme/admin/products/{id}"),
        &[
            ("name", "Geo"),
            ("approval_mode", "auto"),
            ("visibility", "members"),
            ("docs_markdown", "# Second\r\n\r\n- a\r\n- b"),
        ],
    )
    .await
    .assert_redirect("/o/acme/admin/products");
    let html = stored_html(&app, &id);
    assert!(html.contains("<h2>Second</h2>"), "{html}");
    assert!(html.contains("<li>b</li>"), "{html}");
    assert!(!html.contains("First"), "{html}");
}

#[tokio::test]
async fn the_worst_markdown_is_stored_shallow_and_in_proportion_to_its_length() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let api = app.api(ADA, "acme", true, true);
    // 200,000 quote markers: one block quote per marker without a cap.
    let quotes = format!("{} x", ">".repeat(LIMIT - 2));
    let reply = api
        .post(
            "/api/v1/products",
            json!({"name": "Deep", "slug": "deep", "approval_mode": "auto",
                   "docs_markdown": quotes}),
        )
        .await;
    let id = reply.expect(201)["id"].as_str().unwrap().to_string();
    let html = stored_html(&app, &id);
    assert_eq!(depth(&html), gatehouse::markdown::MAX_NESTING + 1);
    assert!(html.len() <= 8 * LIMIT, "{} bytes", html.len());
    let page = ada.get("/o/acme/products/deep").await;
    page.assert_status(200);
    assert_eq!(
        docs_part(&page.body).matches("<blockquote>").count(),
        gatehouse::markdown::MAX_NESTING
    );

    // Raw HTML nesting: 40,000 unclosed <div>s.
    let divs = "<div>".repeat(LIMIT / 5);
    api.patch(
        &format!("/api/v1/products/{id}"),
        json!({"docs_markdown": divs}),
        None,
    )
    .await
    .expect(200);
    let html = stored_html(&app, &id);
    assert!(
        depth(&html) <= gatehouse::markdown::MAX_DEPTH,
        "{}",
        depth(&html)
    );
    assert!(html.len() <= 8 * LIMIT, "{} bytes", html.len());
}

#[tokio::test]
async fn the_preview_renders_the_worst_markdown_shallow_and_refuses_more_than_the_limit() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let fields = |docs: &str| {
        vec![
            ("name".to_string(), "Deep".to_string()),
            ("approval_mode".into(), "auto".into()),
            ("visibility".into(), "members".into()),
            ("docs_markdown".into(), docs.to_string()),
            ("preview".into(), "1".into()),
        ]
    };
    let quotes = format!("{} x", "> ".repeat(LIMIT / 2 - 2));
    let owned = fields(&quotes);
    let borrowed: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = ada
        .submit(
            "/o/acme/admin/products/new",
            "/o/acme/admin/products",
            &borrowed,
        )
        .await;
    page.assert_status(200);
    assert_eq!(
        page.body.matches("<blockquote>").count(),
        gatehouse::markdown::MAX_NESTING
    );
    assert_eq!(app.count("products"), 0, "a preview never saves");

    let too_long = "x".repeat(LIMIT + 1);
    let owned = fields(&too_long);
    let borrowed: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = ada
        .submit(
            "/o/acme/admin/products/new",
            "/o/acme/admin/products",
            &borrowed,
        )
        .await;
    page.assert_status(422);
    assert!(page.contains("at most 200 000 characters"));
}

#[tokio::test]
async fn products_saved_before_rendering_are_rendered_at_start_up_once() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let mut ids = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        let id = ProductBuilder::new(name, "auto")
            .docs(&format!("# {name}\n\nText."))
            .publish(&app, &ada)
            .await;
        ids.push(id);
    }
    // As if saved before the column existed.
    app.exec("UPDATE products SET docs_html = NULL");

    // Until the backfill reaches it, the page renders the documentation (off the
    // HTTP workers) without storing it.
    let page = ada.get("/o/acme/products/alpha").await;
    page.assert_status(200);
    assert!(docs_part(&page.body).contains("<h2>Alpha</h2>"));
    assert_eq!(stored_html(&app, &ids[0]), "NULL");

    // A second instance on the same database renders them when it starts.
    let second = spawn_app_with(|s| s.database_url = Some(app.database_url.clone())).await;
    let unrendered =
        || app.text("SELECT CAST(COUNT(*) AS TEXT) AS v FROM products WHERE docs_html IS NULL");
    for _ in 0..200 {
        if unrendered() == "0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unrendered(), "0");
    for (id, name) in ids.iter().zip(["Alpha", "Beta", "Gamma"]) {
        assert!(stored_html(&app, id).contains(&format!("<h2>{name}</h2>")));
    }
    // Running it again finds nothing to do.
    let again = gatehouse::jobs::rendered_docs::backfill(&second.pool)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

#[tokio::test]
async fn the_backfill_works_in_batches_and_never_overwrites_a_newer_save() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let api = app.api(ADA, "acme", true, true);
    let count = usize::try_from(gatehouse::jobs::rendered_docs::BATCH).unwrap() * 2 + 3;
    for i in 0..count {
        api.post(
            "/api/v1/products",
            json!({"name": format!("P{i}"), "slug": format!("p{i}"), "approval_mode": "auto",
                   "docs_markdown": format!("# Product {i}")}),
        )
        .await
        .expect(201);
    }
    app.exec("UPDATE products SET docs_html = NULL");
    // One was saved again (and so rendered) since: the backfill leaves it alone.
    let saved = app.product_id("p0");
    app.exec(&format!(
        "UPDATE products SET docs_html = '<p>newer</p>' WHERE id = '{saved}'"
    ));
    let stored = gatehouse::jobs::rendered_docs::backfill(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, count - 1);
    assert_eq!(stored_html(&app, &saved), "<p>newer</p>");
    let last = app.product_id(&format!("p{}", count - 1));
    assert!(stored_html(&app, &last).contains(&format!("<h2>Product {}</h2>", count - 1)));

    // Saved between the backfill's read and its write: the save wins.
    app.exec(&format!(
        "UPDATE products SET docs_html = NULL WHERE id = '{saved}'"
    ));
    let mut conn = app.conn();
    let batch = products::unrendered_docs(&mut conn, "", 10).unwrap();
    assert_eq!(batch.len(), 1);
    app.exec(&format!(
        "UPDATE products SET docs_html = '<p>newest</p>' WHERE id = '{saved}'"
    ));
    let (id, markdown) = &batch[0];
    let written = gatehouse::db::write_transaction(&mut conn, |conn| {
        products::store_backfilled_docs(conn, id, markdown, "<p>stale</p>")
    })
    .unwrap();
    assert_eq!(written, 0);
    assert_eq!(stored_html(&app, &saved), "<p>newest</p>");
    ada.get("/o/acme/products/p1").await.assert_status(200);
}
