//! The test kit: spawns the real application on port 0 with its own database (a temp
//! SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set) and a
//! test clock, and drives it over real HTTP like a browser would.

use std::sync::Arc;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use gatehouse::clock::TestClock;
use gatehouse::config::{Config, Settings};
use gatehouse::db::{DbConnection, Pool};
use gatehouse::startup::Application;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

#[allow(unused_imports)]
pub use crate::fixtures::*;

pub const OWNER_EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub clock: Arc<TestClock>,
    pub setup_code: Option<String>,
    pub pool: Pool,
    /// The running app's shared state (to run an outbox pass, read the config).
    pub state: actix_web::web::Data<gatehouse::state::AppState>,
    /// `http://127.0.0.1:PORT` of the `--metrics-bind` server, when one was asked for.
    pub metrics_base: Option<String>,
    /// The database this app uses (a second app can be built on it).
    pub database_url: String,
    /// Stops the server gracefully; `serving` ends when the shutdown is complete.
    pub server: actix_web::dev::ServerHandle,
    pub serving: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Kept alive for the app's files.
    _data_dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take()
            && let Ok(mut conn) = diesel::PgConnection::establish(&admin_url)
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

/// A fresh PostgreSQL database next to the one `TEST_DATABASE_URL` names.
fn fresh_postgres(base: &str) -> (String, String, String) {
    let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin =
        diesel::PgConnection::establish(base).expect("TEST_DATABASE_URL must be reachable");
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .expect("create test database");
    let (prefix, query) = match base.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (base, String::new()),
    };
    let root = prefix.rsplit_once('/').map_or(prefix, |(r, _)| r);
    (format!("{root}/{name}{query}"), base.to_string(), name)
}

/// The database URL a new test app should use.
pub fn new_database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let (url, admin, name) = fresh_postgres(&base);
            (url, Some((admin, name)))
        }
        _ => (format!("sqlite://{}", dir.join("test.db").display()), None),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

#[allow(dead_code)]
pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (database_url, postgres) = new_database(data_dir.path());
    let mut settings = Settings {
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.path().to_path_buf()),
        database_url: Some(database_url.clone()),
        workers: Some(1),
        password_hash_threads: Some(2),
        ..Settings::default()
    };
    customise(&mut settings);
    let config = Config::resolve(&settings).expect("test config");
    let clock = Arc::new(TestClock::default());
    let app = Application::build(config, clock.clone()).expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let setup_code = app.setup_code().map(|c| c.expose().to_string());
    let metrics_base = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    let state = app.state();
    let pool = state.pool.clone();
    let server = app.server_handle();
    let serving = tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        clock,
        setup_code,
        pool,
        state,
        metrics_base,
        database_url,
        server,
        serving,
        _data_dir: data_dir,
        postgres,
    }
}

/// A page as the browser received it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first CSRF token on the page.
    pub fn csrf(&self) -> String {
        extract_value(&self.body, "name=\"csrf_token\" value=\"").unwrap_or_default()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body:\n{}",
            self.body
        );
        self
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            303,
            "expected a redirect; body:\n{}",
            self.body
        );
        assert_eq!(self.location(), Some(to));
        self
    }
}

/// Follows a redirect and returns the page it leads to (which shows any flash).
pub async fn follow(browser: &Browser, page: &Page) -> Page {
    assert_eq!(
        page.status.as_u16(),
        303,
        "expected a redirect: {}",
        page.body
    );
    let to = page.location().expect("a location").to_string();
    browser.get(&to).await
}

/// The text after `marker` up to the next double quote.
pub fn extract_value(body: &str, marker: &str) -> Option<String> {
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].replace("&amp;", "&"))
}

/// A browser: its own cookie jar, no automatic redirects.
#[derive(Clone)]
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("gatehouse-tests")
            .build()
            .expect("client");
        Self {
            base: app.base.clone(),
            client,
        }
    }

    async fn page(res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// POSTs exactly these fields (no CSRF token added), with the `Origin` and
    /// `Sec-Fetch-Site` a browser sends on a page's own form.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::page(
            self.client
                .post(format!("{}{path}", self.base))
                .header("Origin", self.base.as_str())
                .header("Sec-Fetch-Site", "same-origin")
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POSTs a multipart form (a file upload) as a browser does from the page's form.
    #[allow(dead_code)]
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        Self::page(
            self.client
                .post(format!("{}{path}", self.base))
                .header("Origin", self.base.as_str())
                .header("Sec-Fetch-Site", "same-origin")
                .multipart(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Loads `page` for its CSRF token, then POSTs `fields` with it to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(page).await.csrf();
        assert!(!token.is_empty(), "no CSRF token on {page}");
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

impl TestApp {
    /// The app's data directory (`.eml` files land in its `mail/`).
    #[allow(dead_code)]
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// Sends every email that is due now (waiting for the worker's pass in flight).
    #[allow(dead_code)]
    pub async fn deliver_mail(&self) -> gatehouse::jobs::outbox::PassReport {
        self.state
            .delivery()
            .deliver_due(None)
            .await
            .expect("outbox pass")
    }

    pub fn browser(&self) -> Browser {
        Browser::new(self)
    }

    pub fn conn(&self) -> diesel::r2d2::PooledConnection<gatehouse::db::Manager> {
        self.pool.get().expect("db connection")
    }

    /// Counts rows of a table straight from the database.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(conn)
            .expect("count")
            .n
    }

    /// The text column `v` of every row a query returns (`SELECT x AS v FROM …`).
    pub fn texts(&self, sql: &str) -> Vec<String> {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct V {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query(sql)
            .load::<V>(conn)
            .expect("query")
            .into_iter()
            .map(|r| r.v)
            .collect()
    }

    /// The one text value a query returns (`SELECT x AS v FROM …`).
    pub fn text(&self, sql: &str) -> String {
        let mut rows = self.texts(sql);
        assert_eq!(rows.len(), 1, "{sql} returned {rows:?}");
        rows.remove(0)
    }

    /// Runs a statement straight on the database (to set up a state).
    pub fn exec(&self, sql: &str) {
        use diesel::RunQueryDsl;
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        gatehouse::db::write_transaction(conn, |conn| diesel::sql_query(sql).execute(conn))
            .expect("statement");
    }

    /// The id of the account with this email.
    pub fn user_id(&self, email: &str) -> String {
        use diesel::prelude::*;
        use gatehouse::db::schema::users;
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(conn)
            .expect("user exists")
    }

    /// Completes first-run setup: owner Ada, organisation "Acme" (`acme`), signed in.
    pub async fn setup_owner(&self) -> Browser {
        let browser = self.browser();
        let code = self
            .setup_code
            .clone()
            .expect("a setup code on a fresh database");
        let page = browser
            .submit(
                "/setup",
                "/setup",
                &[
                    ("setup_code", &code),
                    ("display_name", "Ada Lovelace"),
                    ("email", OWNER_EMAIL),
                    ("password", PASSWORD),
                    ("org_name", "Acme"),
                    ("org_slug", "acme"),
                ],
            )
            .await;
        page.assert_redirect("/o/acme");
        browser
    }

    /// An admin of `org` invites `email` as `role`; returns the invitation path.
    pub async fn invite(&self, admin: &Browser, org: &str, email: &str, role: &str) -> String {
        let members = format!("/o/{org}/members");
        let page = admin
            .submit(
                &members,
                &format!("/o/{org}/invitations"),
                &[("email", email), ("role", role)],
            )
            .await;
        page.assert_status(200);
        let link = extract_value(&page.body, "id=\"invitation-link\" value=\"")
            .expect("invitation link on the page");
        let path = link
            .strip_prefix(&self.base)
            .expect("link on this instance")
            .to_string();
        assert!(path.starts_with("/invite/"), "{path}");
        path
    }

    /// Invites `email` and signs them up through the link; returns their browser.
    pub async fn join(&self, admin: &Browser, org: &str, email: &str, role: &str) -> Browser {
        let path = self.invite(admin, org, email, role).await;
        let browser = self.browser();
        let page = browser.get(&path).await;
        page.assert_status(200);
        let token = extract_value(&page.body, "name=\"token\" value=\"").expect("token field");
        let joined = browser
            .post_raw(
                "/invite/signup",
                &[
                    ("csrf_token", &page.csrf()),
                    ("token", &token),
                    ("display_name", email),
                    ("password", PASSWORD),
                ],
            )
            .await;
        joined.assert_redirect(&format!("/o/{org}"));
        browser
    }
}

/// Small database look-ups for the organisation and invitation tests.
#[allow(dead_code)]
impl TestApp {
    /// The role `email` holds in organisation `slug`, if they are a member.
    pub fn role_of(&self, slug: &str, email: &str) -> Option<String> {
        use diesel::prelude::*;
        use gatehouse::db::schema::{memberships, organisations, users};
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        memberships::table
            .inner_join(organisations::table)
            .inner_join(users::table)
            .filter(organisations::slug.eq(slug))
            .filter(users::email.eq(email))
            .select(memberships::role)
            .first(conn)
            .optional()
            .expect("role query")
    }

    /// The id of the newest invitation sent to `email`.
    pub fn invitation_id(&self, email: &str) -> String {
        use diesel::prelude::*;
        use gatehouse::db::schema::invitations;
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        invitations::table
            .filter(invitations::email.eq(email))
            .order((invitations::created_at.desc(), invitations::id.desc()))
            .select(invitations::id)
            .first(conn)
            .expect("invitation exists")
    }
}
