//! A product's API reference: an admin uploads or pastes an OpenAPI 3.0 / 3.1 document
//! (multipart, CSRF-checked), bad documents are refused with the reason and change
//! nothing, and developers read the rendered, sanitised reference on the product page.
//! Also the product form's Markdown preview and the page headings.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::kit::{Browser, Page, ProductBuilder, TestApp, follow, spawn_app};

const PETS_30_JSON: &str = r##"{
  "openapi": "3.0.3",
  "info": {"title": "Pet Store", "version": "1.4.0", "description": "Pets for **everyone**."},
  "servers": [{"url": "https://api.example.com/v1", "description": "Production"}],
  "tags": [{"name": "pets", "description": "Adopt and list pets"}, {"name": "store"}],
  "paths": {
    "/pets": {
      "get": {
        "tags": ["pets"], "summary": "List pets", "operationId": "listPets",
        "parameters": [{"name": "limit", "in": "query", "description": "How many pets to return",
                        "schema": {"type": "integer", "format": "int32", "maximum": 100}}],
        "responses": {"200": {"description": "A page of pets", "content": {"application/json":
          {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}}}}
      },
      "post": {
        "tags": ["pets"], "summary": "Add a pet",
        "requestBody": {"required": true, "content": {"application/json":
          {"schema": {"$ref": "#/components/schemas/NewPet"}}}},
        "responses": {
          "201": {"description": "Created", "content": {"application/json":
            {"schema": {"$ref": "#/components/schemas/Pet"}}}},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/orders/{orderId}": {
      "parameters": [{"$ref": "#/components/parameters/OrderId"}],
      "delete": {"tags": ["store"], "summary": "Cancel an order",
                 "responses": {"204": {"description": "Cancelled"}}}
    }
  },
  "components": {
    "parameters": {"OrderId": {"name": "orderId", "in": "path", "required": true,
                               "schema": {"type": "string", "format": "uuid"}}},
    "responses": {"Invalid": {"description": "The pet is not valid"}},
    "schemas": {
      "NewPet": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "description": "The pet's name", "maxLength": 50},
        "owner": {"$ref": "#/components/schemas/Owner"}}},
      "Pet": {"allOf": [{"$ref": "#/components/schemas/NewPet"}, {"type": "object",
        "required": ["id"], "properties": {
          "id": {"type": "integer", "format": "int64"},
          "status": {"type": "string", "enum": ["available", "adopted"], "nullable": true}}}]},
      "Owner": {"type": "object", "properties": {
        "email": {"type": "string", "format": "email"},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    }
  }
}"##;

const WEATHER_31_YAML: &str = r##"openapi: 3.1.0
info:
  title: Weather
  version: "2026-01"
paths:
  /forecast/{city}:
    get:
      summary: Forecast for a city
      parameters:
        - name: city
          in: path
          required: true
          schema: {type: string}
        - name: X-Units
          in: header
          schema: {type: [string, "null"], enum: [metric, imperial, null]}
      responses:
        200:
          description: The forecast
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Forecast"}
components:
  schemas:
    Forecast:
      type: object
      properties:
        days:
          type: array
          items:
            type: object
            properties:
              high: {type: number}
              next: {$ref: "#/components/schemas/Forecast"}
"##;

/// A chosen file (name, bytes), if any.
type Upload<'a> = Option<(&'a str, Vec<u8>)>;

/// An admin and a published product; returns (admin, product id).
async fn product(app: &TestApp) -> (Browser, String) {
    let ada = app.setup_owner().await;
    let id = ProductBuilder::new("Pets", "auto").publish(app, &ada).await;
    (ada, id)
}

fn edit_path(id: &str) -> String {
    format!("/o/acme/admin/products/{id}")
}

/// Submits the reference form as the edit page's own form does.
async fn upload(browser: &Browser, id: &str, file: Upload<'_>, text: &str) -> Page {
    let token = browser.get("/o/acme/admin/products").await.csrf();
    let file_part = match file {
        Some((name, bytes)) => Part::bytes(bytes).file_name(name.to_string()),
        // A browser sends an empty file part when no file is chosen.
        None => Part::bytes(Vec::new()).file_name(""),
    };
    let form = Form::new()
        .text("csrf_token", token)
        .part("document_file", file_part)
        .text("document_text", text.to_string());
    browser
        .post_multipart(&format!("{}/reference", edit_path(id)), form)
        .await
}

fn stored(app: &TestApp, id: &str) -> (Option<String>, Option<String>) {
    let json = app.texts(&format!(
        "SELECT openapi_json AS v FROM products WHERE id = '{id}' AND openapi_json IS NOT NULL"
    ));
    let html = app.texts(&format!(
        "SELECT openapi_html AS v FROM products WHERE id = '{id}' AND openapi_html IS NOT NULL"
    ));
    (json.into_iter().next(), html.into_iter().next())
}

#[tokio::test]
async fn an_uploaded_30_json_reference_is_shown_to_developers() {
    let app = spawn_app().await;
    let (ada, id) = product(&app).await;
    let page = upload(
        &ada,
        &id,
        Some(("openapi.json", PETS_30_JSON.as_bytes().to_vec())),
        "",
    )
    .await;
    page.assert_redirect(&edit_path(&id));
    let edit = follow(&ada, &page).await;
    assert!(
        edit.contains("API reference saved: Pet Store 1.4.0 (OpenAPI 3.0.3), 3 operations."),
        "{}",
        edit.body
    );
    assert!(edit.contains("Pet Store 1.4.0 · OpenAPI 3.0.3 · 3 operations"));
    assert!(edit.contains("Remove API reference"));

    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let docs = dev.get("/o/acme/products/pets").await;
    docs.assert_status(200);
    assert_eq!(docs.body.matches("<h1").count(), 1, "one <h1>");
    assert!(docs.contains("<title>"));
    for expected in [
        "<h2 id=\"api-reference\">API reference</h2>",
        "Authorization: Bearer &lt;your API key&gt;",
        "X-API-Key: &lt;your API key&gt;",
        "<strong>Pet Store</strong> · version 1.4.0 · OpenAPI 3.0.3 · 3 operations",
        "Pets for <strong>everyone</strong>.",
        "<code>https://api.example.com/v1</code> — Production",
        // Grouped by tag, in the document's order.
        "<h3 id=\"tag-0\">pets</h3>",
        "<h3 id=\"tag-1\">store</h3>",
        "Adopt and list pets",
        "<span class=\"api-method api-method-get\">GET</span> <code class=\"api-path\">/pets</code>",
        "<span class=\"api-method api-method-post\">POST</span> <code class=\"api-path\">/pets</code>",
        "<span class=\"api-method api-method-delete\">DELETE</span> <code class=\"api-path\">/orders/{orderId}</code>",
        "<p class=\"api-summary\">List pets</p>",
        "Operation id: <code>listPets</code>",
        // Parameters: name, in, type, required, description (a $ref'd path parameter too).
        "<td><code>limit</code></td><td>query</td><td>integer (int32)</td><td>optional</td><td><div class=\"api-desc\"><p>How many pets to return</p>",
        "Maximum: 100.",
        "<td><code>orderId</code></td><td>path</td><td>string (uuid)</td><td>required</td>",
        // Request body and response schemas as nested field tables.
        "Request body <small>(required)</small>",
        "Schema: <code>NewPet</code>",
        "<code>name</code></td><td>string</td><td>required</td><td><div class=\"api-desc\"><p>The pet's name</p>",
        "<code>owner.address.city</code></td><td>string</td><td>optional</td>",
        "Schema: <code>array of Pet</code>",
        "<code>id</code></td><td>integer (int64)</td><td>required</td>",
        "<code>status</code></td><td>string or null</td><td>optional</td>",
        "One of: available, adopted.",
        "<strong class=\"api-status api-status-error\">422</strong>",
        "The pet is not valid",
    ] {
        assert!(
            docs.contains(expected),
            "missing {expected:?} in\n{}",
            docs.body
        );
    }

    // The stored document can be downloaded by whoever sees the product.
    let download = dev.get("/o/acme/products/pets/openapi.json").await;
    download.assert_status(200);
    assert_eq!(download.header("content-type"), Some("application/json"));
    let doc: serde_json::Value = serde_json::from_str(&download.body).unwrap();
    assert_eq!(doc["info"]["title"], "Pet Store");
}

#[tokio::test]
async fn a_pasted_31_yaml_reference_replaces_the_old_one_and_can_be_removed() {
    let app = spawn_app().await;
    let (ada, id) = product(&app).await;
    upload(&ada, &id, Some(("pets.json", PETS_30_JSON.into())), "")
        .await
        .assert_redirect(&edit_path(&id));
    upload(&ada, &id, None, WEATHER_31_YAML)
        .await
        .assert_redirect(&edit_path(&id));
    let (json, _) = stored(&app, &id);
    let doc: serde_json::Value = serde_json::from_str(&json.unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["paths"]["/forecast/{city}"]["get"]["responses"]["200"]["description"], "The forecast",
        "YAML's numeric status keys are kept as text"
    );
    let docs = ada.get("/o/acme/products/pets").await;
    for expected in [
        "<strong>Weather</strong> · version 2026-01 · OpenAPI 3.1.0 · 1 operation</p>",
        // Untagged operations are listed together.
        "<h3 id=\"tag-0\">Operations</h3>",
        "<code class=\"api-path\">/forecast/{city}</code>",
        "<td><code>city</code></td><td>path</td><td>string</td><td>required</td>",
        "<td><code>X-Units</code></td><td>header</td><td>string or null</td><td>optional</td>",
        "One of: metric, imperial, null.",
        "<code>days[].high</code></td><td>number</td>",
        // The self-reference is shown once, not followed for ever.
        "<code>days[].next</code></td><td>Forecast (recursive: see above)</td>",
    ] {
        assert!(
            docs.contains(expected),
            "missing {expected:?} in\n{}",
            docs.body
        );
    }
    assert!(!docs.contains("Pet Store"), "the old reference is gone");

    let edit = ada.get(&edit_path(&id)).await;
    let token = edit.csrf();
    ada.post_raw(
        &format!("{}/reference/remove", edit_path(&id)),
        &[("csrf_token", token.as_str())],
    )
    .await
    .assert_redirect(&edit_path(&id));
    assert_eq!(stored(&app, &id), (None, None));
    let docs = ada.get("/o/acme/products/pets").await;
    docs.assert_status(200);
    assert!(docs.contains("API reference removed."), "the flash");
    // The organisation's activity says what happened, in words.
    let overview = ada.get("/o/acme").await;
    for said in [
        "Ada Lovelace set the API reference of Pets to Weather 2026-01 (OpenAPI 3.1.0, 1 operation)",
        "Ada Lovelace removed the API reference of Pets",
    ] {
        assert!(overview.contains(said), "{said:?} in\n{}", overview.body);
    }
    assert!(!docs.contains("id=\"api-reference\""));
    ada.get("/o/acme/products/pets/openapi.json")
        .await
        .assert_status(404);
}

#[tokio::test]
async fn bad_documents_are_refused_with_the_reason_and_change_nothing() {
    let app = spawn_app().await;
    let (ada, id) = product(&app).await;
    upload(&ada, &id, Some(("pets.json", PETS_30_JSON.into())), "")
        .await
        .assert_redirect(&edit_path(&id));
    let before = stored(&app, &id);
    let audit_before = app.count("audit_events");

    let big = format!(
        "{{\"openapi\": \"3.1.0\", \"x\": \"{}\"}}",
        "a".repeat(1024 * 1024)
    );
    let cases: Vec<(Upload, &str, &str)> = vec![
        (
            None,
            "{\n  \"openapi\": \"3.0.0\",\n  \"info\": \n}",
            "line 4, column 1",
        ),
        (None, "openapi: 3.1.0\ninfo: [unclosed\n", "line 3"),
        (
            None,
            "{\"info\": {\"title\": \"x\", \"version\": \"1\"}, \"paths\": {}}",
            "not an OpenAPI 3.x document: missing `openapi`",
        ),
        (
            None,
            "swagger: \"2.0\"\ninfo: {title: x, version: \"1\"}\npaths: {}\n",
            "this is Swagger 2.0",
        ),
        (
            None,
            "openapi: \"4.0.0\"\ninfo: {title: x, version: \"1\"}\npaths: {}\n",
            "Gatehouse reads OpenAPI 3.0 and 3.1 documents",
        ),
        (
            None,
            "openapi: 3.0.3\ninfo: {title: x, version: \"1\"}\n",
            "`paths` is missing",
        ),
        (
            None,
            "openapi: 3.0.3\ninfo: {title: x, version: \"1\"}\npaths: {}\n",
            "describes no operations",
        ),
        (
            None,
            "openapi: 3.0.3\ninfo: {version: \"1\"}\npaths:\n  /a:\n    get:\n      parameters: [{name: q, in: body}]\n",
            "`info.title` is missing",
        ),
        (
            None,
            "openapi: 3.1.0\ninfo: {title: x, version: \"1\"}\npaths:\n  /a:\n    get:\n      responses:\n        200: {$ref: '#/components/responses/Gone'}\n",
            "paths./a.get.responses.200: `$ref` &#34;#/components/responses/Gone&#34; points at nothing",
        ),
        (None, "", "Paste an OpenAPI 3.0 or 3.1 document"),
        (
            Some(("huge.json", big.clone().into_bytes())),
            "",
            "larger than 1 MiB",
        ),
        (None, big.as_str(), "larger than 1 MiB"),
        (
            Some(("binary.json", vec![0xff, 0xfe, 0x00, 0x7b])),
            "",
            "not UTF-8 text",
        ),
    ];
    for (file, text, message) in cases {
        let label = format!("{:?} / {:.60}", file.as_ref().map(|f| f.0), text);
        let page = upload(&ada, &id, file, text).await;
        assert_eq!(page.status.as_u16(), 422, "{label}: {}", page.body);
        assert!(page.contains("The document was not saved"), "{label}");
        assert!(
            page.contains(message),
            "{label} should say {message:?}:\n{}",
            page.body
        );
        assert_eq!(page.body.matches("<h1").count(), 1);
    }
    // Both problems of one document are listed together.
    let page = upload(
        &ada,
        &id,
        None,
        "openapi: 3.0.3\ninfo: {version: \"1\"}\npaths:\n  /a:\n    get:\n      parameters: [{name: q, in: body}]\n",
    )
    .await;
    assert!(page.contains("`in` must be query, header, path or cookie"));
    assert!(page.contains("`responses` is missing (OpenAPI 3.0 requires it)"));
    // A pasted document comes back in the box, so it can be fixed.
    assert!(page.contains("parameters: [{name: q, in: body}]"));

    assert_eq!(stored(&app, &id), before, "nothing changed");
    assert_eq!(app.count("audit_events"), audit_before);
}

#[tokio::test]
async fn the_upload_form_needs_the_csrf_token_and_an_admin() {
    let app = spawn_app().await;
    let (ada, id) = product(&app).await;
    let path = format!("{}/reference", edit_path(&id));
    let doc = || Part::bytes(PETS_30_JSON.as_bytes().to_vec()).file_name("openapi.json");

    // No token, then a wrong one: refused before anything is read as a document.
    let page = ada
        .post_multipart(&path, Form::new().part("document_file", doc()))
        .await;
    page.assert_status(403);
    assert!(page.contains("did not come from this site"));
    let page = ada
        .post_multipart(
            &path,
            Form::new()
                .text("csrf_token", "not-the-token")
                .part("document_file", doc()),
        )
        .await;
    page.assert_status(403);
    // From another site, even with the token.
    let token = ada.get(&edit_path(&id)).await.csrf();
    let res = ada
        .client
        .post(format!("{}{path}", ada.base))
        .header("Origin", "https://evil.example")
        .multipart(
            Form::new()
                .text("csrf_token", token)
                .part("document_file", doc()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(stored(&app, &id), (None, None));

    // A developer may see the product but not change it; another org's admin may not
    // know it exists.
    let dev = app.join(&ada, "acme", "dev@example.com", "developer").await;
    let token = dev.get("/o/acme/products").await.csrf();
    let page = dev
        .post_multipart(
            &path,
            Form::new()
                .text("csrf_token", token)
                .part("document_file", doc()),
        )
        .await;
    page.assert_status(403);
    let page = upload(&ada, "no-such-product", None, PETS_30_JSON).await;
    page.assert_status(404);
    assert_eq!(stored(&app, &id), (None, None));
}

#[tokio::test]
async fn hostile_descriptions_are_sanitised_and_names_escaped() {
    let app = spawn_app().await;
    let (ada, id) = product(&app).await;
    let hostile = r##"{
      "openapi": "3.1.0",
      "info": {"title": "<script>alert('t')</script>", "version": "1",
               "description": "<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror=alert(3)>"},
      "tags": [{"name": "<b onmouseover=alert(4)>tag</b>", "description": "<iframe src=https://evil.example></iframe>"}],
      "paths": {"/x/<script>": {"get": {
        "tags": ["<b onmouseover=alert(4)>tag</b>"],
        "summary": "<img src=x onerror=alert(5)>",
        "description": "<a href=\"javascript:alert(6)\">docs</a> and [ok](https://docs.example.com)",
        "parameters": [{"name": "\"><script>alert(7)</script>", "in": "query",
                        "description": "<svg onload=alert(8)>", "schema": {"type": "string", "default": "<script>"}}],
        "responses": {"200": {"description": "<style>body{display:none}</style>ok"}}}}}
    }"##;
    upload(&ada, &id, None, hostile)
        .await
        .assert_redirect(&edit_path(&id));
    let (_, html) = stored(&app, &id);
    let html = html.unwrap().to_lowercase();
    // Names and summaries are shown as text (escaped); descriptions lose every tag,
    // attribute and link that could run script.
    for bad in ["<script", "javascript:", "<svg", "<iframe", "<style", "<b "] {
        assert!(!html.contains(bad), "{bad:?} survived in {html}");
    }
    // No tag kept an event handler or inline style.
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        assert!(
            !tag.contains(" on") && !tag.contains("style="),
            "<{tag}> in {html}"
        );
    }
    assert!(
        html.contains("&lt;img src=x onerror=alert(5)&gt;"),
        "summary shown as text"
    );
    assert!(html.contains("&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;"));
    assert!(html.contains("<code class=\"api-path\">/x/&lt;script&gt;</code>"));
    assert!(
        html.contains("href=\"https://docs.example.com\" rel=\"noopener noreferrer nofollow\"")
    );
    let docs = ada.get("/o/acme/products/pets").await;
    docs.assert_status(200);
    assert!(!docs.body.contains("<script>alert"));
    assert!(!docs.body.contains("javascript:"));
}

#[tokio::test]
async fn the_product_form_previews_markdown_without_saving() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let fields = [
        ("name", "Maps"),
        ("slug", "maps"),
        ("summary", "Tiles and routes"),
        ("approval_mode", "manual"),
        ("visibility", "members"),
        ("quota_limit", "5000"),
        ("quota_period", "day"),
        ("scopes", "maps:read"),
        (
            "docs_markdown",
            "# Getting started\n\n<script>alert(1)</script>\n\nCall **GET /tiles**.",
        ),
        ("preview", "1"),
    ];
    let page = ada
        .submit(
            "/o/acme/admin/products/new",
            "/o/acme/admin/products",
            &fields,
        )
        .await;
    page.assert_status(200);
    assert_eq!(app.count("products"), 0, "a preview never saves");
    assert!(page.contains("<h2>Getting started</h2>"));
    assert!(page.contains("Call <strong>GET /tiles</strong>."));
    assert!(!page.contains("<script>alert"));
    assert_eq!(page.body.matches("<h1").count(), 1);
    // Every field is kept.
    for kept in [
        "value=\"Maps\"",
        "value=\"maps\"",
        "value=\"Tiles and routes\"",
        "value=\"manual\" checked",
        "value=\"5000\"",
        "value=\"day\" selected",
        "value=\"maps:read\"",
        "# Getting started",
    ] {
        assert!(page.contains(kept), "{kept:?} not kept");
    }

    // On an existing product too: the preview shows the new text, the product keeps
    // the old one.
    let id = ProductBuilder::new("Geo", "auto").publish(&app, &ada).await;
    let page = ada
        .submit(
            &edit_path(&id),
            &edit_path(&id),
            &[
                ("name", "Geo renamed"),
                ("approval_mode", "auto"),
                ("visibility", "members"),
                ("docs_markdown", "## New docs"),
                ("preview", "1"),
            ],
        )
        .await;
    page.assert_status(200);
    assert!(page.contains("<h3>New docs</h3>"));
    assert_eq!(
        app.text(&format!("SELECT name AS v FROM products WHERE id = '{id}'")),
        "Geo"
    );
    assert_eq!(app.product_id("geo"), id);
    // The preview needs the CSRF token like the form.
    let page = ada
        .post_raw("/o/acme/admin/products", &[("name", "X"), ("preview", "1")])
        .await;
    page.assert_status(403);
}

#[tokio::test]
async fn the_catalogue_and_product_management_have_their_own_headings() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let catalogue = ada.get("/o/acme/products").await;
    assert!(catalogue.contains("<h1>API catalogue</h1>"));
    let manage = ada.get("/o/acme/admin/products").await;
    assert!(manage.contains("<h1>Manage products</h1>"));
}

#[tokio::test]
async fn the_management_api_sets_replaces_and_removes_the_reference() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let api = app.api("ada@example.com", "acme", true, true);

    // A bad document creates nothing and says why.
    let reply = api
        .post(
            "/api/v1/products",
            json!({"name": "Pets", "slug": "pets", "approval_mode": "auto",
                   "openapi": "openapi: 3.0.3\ninfo: {title: x, version: '1'}\n"}),
        )
        .await;
    let detail = reply.expect_problem(422);
    assert!(detail.contains("`paths` is missing"), "{detail}");
    assert_eq!(app.count("products"), 0);

    let reply = api
        .post(
            "/api/v1/products",
            json!({"name": "Pets", "slug": "pets", "approval_mode": "auto",
                   "openapi": PETS_30_JSON}),
        )
        .await;
    let created = reply.expect(201).clone();
    assert_eq!(created["has_api_reference"], true);
    let id = created["id"].as_str().unwrap().to_string();
    let docs = owner.get("/o/acme/products/pets").await;
    assert!(docs.contains("<strong>Pet Store</strong> · version 1.4.0"));

    // PATCH: a bad document changes nothing; a good one replaces; null removes.
    let path = format!("/api/v1/products/{id}");
    let reply = api
        .patch(&path, json!({"openapi": "{\"openapi\": \"3.1.0\""}), None)
        .await;
    assert!(reply.expect_problem(422).contains("line 1"));
    let before = stored(&app, &id);
    assert!(before.0.unwrap().contains("Pet Store"));
    let reply = api
        .patch(&path, json!({"openapi": WEATHER_31_YAML}), None)
        .await;
    assert_eq!(reply.expect(200)["has_api_reference"], true);
    assert!(stored(&app, &id).1.unwrap().contains("Weather"));
    let reply = api.patch(&path, json!({"summary": "Still"}), None).await;
    assert_eq!(
        reply.expect(200)["has_api_reference"],
        true,
        "left out: kept"
    );
    let reply = api.patch(&path, json!({"openapi": null}), None).await;
    assert_eq!(reply.expect(200)["has_api_reference"], false);
    assert_eq!(stored(&app, &id), (None, None));
}
