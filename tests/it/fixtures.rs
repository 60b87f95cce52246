//! Fixture builders of the test kit: accounts, a second organisation, teams, products
//! and consumer apps, each made through the real app (its pages or its API) the way a
//! person or a client would, plus the database look-ups the tests share.

use serde_json::{Value, json};

use crate::api_kit::Api;
use crate::kit::{Browser, PASSWORD, Page, TestApp, extract_value};

/// A valid Ed25519 public key (PEM) for JWT apps.
pub const ED25519_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----";

/// Opens the new-app form of `org` and submits it with these fields (plus its nonce);
/// returns the response and the nonce.
pub async fn create_app(b: &Browser, org: &str, fields: &[(&str, &str)]) -> (Page, String) {
    let form = b.get(&format!("/o/{org}/apps/new")).await;
    form.assert_status(200);
    let nonce = extract_value(&form.body, "name=\"nonce\" value=\"").expect("nonce on the form");
    let mut all = vec![("csrf_token", form.csrf()), ("nonce", nonce.clone())];
    all.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (b.post_raw(&format!("/o/{org}/apps"), &refs).await, nonce)
}

/// The app id on a reveal page.
pub fn revealed_app_id(page: &Page) -> String {
    extract_value(&page.body, "id=\"reveal-app-id\" value=\"").expect("app id on the reveal page")
}

/// The secret on a reveal page.
pub fn revealed_secret(page: &Page) -> String {
    extract_value(&page.body, "id=\"reveal-secret\" value=\"").expect("a secret on the reveal page")
}

/// A consumer app: an API-key app of its creator in `acme`, asking for no product,
/// unless told otherwise.
pub struct AppBuilder {
    org: String,
    name: String,
    owner: String,
    products: Vec<String>,
    note: Option<String>,
}

#[allow(dead_code)]
impl AppBuilder {
    pub fn new(name: &str) -> Self {
        Self {
            org: "acme".into(),
            name: name.into(),
            owner: "me".into(),
            products: Vec::new(),
            note: None,
        }
    }

    pub fn org(mut self, slug: &str) -> Self {
        self.org = slug.into();
        self
    }

    /// Owned by this team (by its id) instead of its creator.
    pub fn team(mut self, team_id: &str) -> Self {
        self.owner = format!("team:{team_id}");
        self
    }

    /// Asks for these products (by id).
    pub fn products(mut self, ids: &[&str]) -> Self {
        self.products.extend(ids.iter().map(|p| p.to_string()));
        self
    }

    /// The note sent with its subscription requests.
    pub fn note(mut self, note: &str) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Creates it through the portal's form; returns the reveal page (asserted 200).
    pub async fn create(&self, b: &Browser) -> Page {
        let ticks: Vec<String> = self
            .products
            .iter()
            .map(|p| format!("product.{p}"))
            .collect();
        let mut fields = vec![
            ("name", self.name.as_str()),
            ("auth_type", "api_key"),
            ("owner", self.owner.as_str()),
        ];
        if let Some(note) = &self.note {
            fields.push(("note", note.as_str()));
        }
        fields.extend(ticks.iter().map(|t| (t.as_str(), "on")));
        let (page, _) = create_app(b, &self.org, &fields).await;
        page.assert_status(200);
        page
    }

    /// Creates it through the portal's form; returns its id.
    pub async fn id(&self, b: &Browser) -> String {
        revealed_app_id(&self.create(b).await)
    }

    /// Creates it through the portal's form; returns (id, API key).
    pub async fn id_and_key(&self, b: &Browser) -> (String, String) {
        let page = self.create(b).await;
        (revealed_app_id(&page), revealed_secret(&page))
    }

    /// Creates it through the management API (the token's organisation); returns its id.
    pub async fn create_api(&self, api: &Api) -> String {
        let mut body = json!({"name": self.name, "auth_type": "api_key"});
        if let Some(team) = self.owner.strip_prefix("team:") {
            body["team_id"] = json!(team);
        }
        if !self.products.is_empty() {
            body["products"] = json!(self.products);
        }
        if let Some(note) = &self.note {
            body["note"] = json!(note);
        }
        let reply = api.post("/api/v1/apps", body).await;
        str_of(reply.expect(201), "id").to_string()
    }
}

/// A team of `acme` (its creator becomes its team admin), with members added by the
/// creator, unless told otherwise.
pub struct TeamBuilder {
    org: String,
    name: String,
    members: Vec<(String, String)>,
}

#[allow(dead_code)]
impl TeamBuilder {
    pub fn new(name: &str) -> Self {
        Self {
            org: "acme".into(),
            name: name.into(),
            members: Vec::new(),
        }
    }

    pub fn org(mut self, slug: &str) -> Self {
        self.org = slug.into();
        self
    }

    /// Adds the organisation member `email` as `role` (`member` or `admin`).
    pub fn member(mut self, email: &str, role: &str) -> Self {
        self.members.push((email.into(), role.into()));
        self
    }

    /// Creates it through the portal (New team, then Add member); returns its id.
    pub async fn create(&self, b: &Browser) -> String {
        let teams = format!("/o/{}/teams", self.org);
        let made = b.submit(&teams, &teams, &[("name", &self.name)]).await;
        assert_eq!(made.status.as_u16(), 303, "{}", made.body);
        let id = made
            .location()
            .and_then(|l| l.strip_prefix(&format!("{teams}/")))
            .expect("redirect to the new team")
            .to_string();
        for (email, role) in &self.members {
            add_to_team(b, &self.org, &id, email, role).await;
        }
        id
    }

    /// Creates it through the management API (the token's organisation); returns its id.
    pub async fn create_api(&self, app: &TestApp, api: &Api) -> String {
        let reply = api
            .post("/api/v1/teams", json!({ "name": self.name }))
            .await;
        let id = str_of(reply.expect(201), "id").to_string();
        for (email, role) in &self.members {
            api.post(
                &format!("/api/v1/teams/{id}/members"),
                json!({"user_id": app.user_id(email), "role": role}),
            )
            .await
            .expect(201);
        }
        id
    }
}

/// A team admin (or org admin) adds `email` to a team through the portal.
pub async fn add_to_team(b: &Browser, org: &str, team_id: &str, email: &str, role: &str) {
    b.submit(
        "/account",
        &format!("/o/{org}/teams/{team_id}/members"),
        &[("email", email), ("role", role)],
    )
    .await
    .assert_status(303);
}

/// An API product of `acme`, visible to members, published by an admin; its slug is
/// its name in lower case unless told otherwise.
pub struct ProductBuilder {
    name: String,
    slug: String,
    mode: String,
    docs: String,
    extra: Vec<(String, String)>,
}

#[allow(dead_code)]
impl ProductBuilder {
    /// A product asking for `mode` approval (`auto` or `manual`).
    pub fn new(name: &str, mode: &str) -> Self {
        Self {
            name: name.into(),
            slug: name.to_lowercase(),
            mode: mode.into(),
            docs: "# Docs\n\nCall `GET /things`.".into(),
            extra: Vec::new(),
        }
    }

    pub fn slug(mut self, slug: &str) -> Self {
        self.slug = slug.into();
        self
    }

    pub fn docs(mut self, markdown: &str) -> Self {
        self.docs = markdown.into();
        self
    }

    /// Another field of the product form (`visibility`, `key_lifetime_days`, …),
    /// replacing the default where there is one.
    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// Publishes it through the admin's product form; returns its id.
    pub async fn publish(&self, app: &TestApp, admin: &Browser) -> String {
        let mut fields = vec![
            ("name", self.name.as_str()),
            ("slug", self.slug.as_str()),
            ("summary", "An API"),
            ("approval_mode", self.mode.as_str()),
            ("visibility", "members"),
            ("docs_markdown", self.docs.as_str()),
        ];
        for (name, value) in &self.extra {
            fields.retain(|(n, _)| n != name);
            fields.push((name.as_str(), value.as_str()));
        }
        admin
            .submit(
                "/o/acme/admin/products/new",
                "/o/acme/admin/products",
                &fields,
            )
            .await
            .assert_redirect("/o/acme/admin/products");
        app.product_id(&self.slug)
    }

    /// Publishes it through the management API (name in capitals); returns its id.
    pub async fn publish_api(&self, api: &Api) -> String {
        let reply = api
            .post(
                "/api/v1/products",
                json!({"name": self.name, "slug": self.slug, "approval_mode": self.mode}),
            )
            .await;
        str_of(reply.expect(201), "id").to_string()
    }
}

/// A string field of a JSON object.
#[track_caller]
pub fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {v}"))
}

#[allow(dead_code)]
impl TestApp {
    /// `actor` changes `email`'s role in `org` from the members page.
    pub async fn set_role(&self, actor: &Browser, org: &str, email: &str, role: &str) -> Page {
        let id = self.user_id(email);
        actor
            .submit(
                &format!("/o/{org}/members"),
                &format!("/o/{org}/members/{id}/role"),
                &[("role", role)],
            )
            .await
    }
}

impl Browser {
    /// Creates an organisation from the new-organisation form (and enters it).
    pub async fn new_org(&self, name: &str, slug: &str) {
        self.submit("/orgs/new", "/orgs", &[("name", name), ("slug", slug)])
            .await
            .assert_redirect(&format!("/o/{slug}"));
    }
}

#[allow(dead_code)]
impl TestApp {
    /// Signs `email` up on the open sign-up page as `name`; returns their browser.
    pub async fn sign_up(&self, name: &str, email: &str) -> Browser {
        let b = self.browser();
        b.submit(
            "/signup",
            "/signup",
            &[
                ("display_name", name),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert_redirect("/orgs");
        b
    }

    /// A second organisation: `email` signs up as `name` and creates organisation
    /// `org` (`slug`), in no other; returns their browser.
    pub async fn second_org(&self, name: &str, email: &str, org: &str, slug: &str) -> Browser {
        let b = self.sign_up(name, email).await;
        b.new_org(org, slug).await;
        b
    }

    /// The id of the product with this slug.
    pub fn product_id(&self, slug: &str) -> String {
        self.text(&format!(
            "SELECT id AS v FROM products WHERE slug = '{slug}'"
        ))
    }

    /// The stored status of an app.
    pub fn app_status(&self, app_id: &str) -> String {
        self.text(&format!(
            "SELECT status AS v FROM apps WHERE id = '{app_id}'"
        ))
    }

    /// The ids of an app's subscriptions.
    pub fn sub_ids(&self, app_id: &str) -> Vec<String> {
        self.texts(&format!(
            "SELECT id AS v FROM subscriptions WHERE app_id = '{app_id}'"
        ))
    }

    /// The id of an app's one subscription.
    pub fn sub_of(&self, app_id: &str) -> String {
        self.text(&format!(
            "SELECT id AS v FROM subscriptions WHERE app_id = '{app_id}'"
        ))
    }

    /// The id of an app's one credential.
    pub fn credential_of(&self, app_id: &str) -> String {
        let ids = self.texts(&format!(
            "SELECT id AS v FROM credentials WHERE app_id = '{app_id}'"
        ));
        assert_eq!(ids.len(), 1, "app {app_id} has one credential");
        ids[0].clone()
    }
}
