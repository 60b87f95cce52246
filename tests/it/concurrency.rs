//! Many writers at once: sixteen API clients create, approve, rotate and revoke apps
//! in parallel against the real app over HTTP. No request may fail with a 5xx and no
//! write may be lost. Then SQLite's write lock held from outside past the busy
//! timeout: the client is told to come back (503 with `Retry-After`), never a 500.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::api_kit::{Api, Reply};
use crate::kit::{OWNER_EMAIL, spawn_app_with};

const CLIENTS: usize = 16;

/// Rounds per client: each round is five requests (create, list subscriptions,
/// approve, rotate, and a revocation every third round). 16 × 50 rounds ≈ 3,700
/// requests. `GATEHOUSE_TEST_WRITER_ROUNDS` runs more (the failure this guards
/// against came about once per 6,000 requests).
fn rounds() -> usize {
    std::env::var("GATEHOUSE_TEST_WRITER_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// What the clients saw, by request kind and status.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<(&'static str, u16), usize>,
    /// The first unexpected replies, for the failure message.
    surprises: Vec<String>,
}

impl Tally {
    fn record(&mut self, what: &'static str, reply: &Reply, expected: u16) {
        *self.statuses.entry((what, reply.status)).or_default() += 1;
        if reply.status != expected && self.surprises.len() < 10 {
            self.surprises
                .push(format!("{what}: {} {}", reply.status, reply.body));
        }
    }

    fn server_errors(&self) -> usize {
        self.statuses
            .iter()
            .filter(|((_, status), _)| *status >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    fn total(&self) -> usize {
        self.statuses.values().sum()
    }
}

/// The apps one client created and what it did to them.
#[derive(Default)]
struct Outcome {
    created: Vec<String>,
    revoked: Vec<String>,
}

async fn writer(api: Api, client: usize, rounds: usize, tally: Arc<Mutex<Tally>>) -> Outcome {
    let mut outcome = Outcome::default();
    let record = |what, reply: &Reply, expected| {
        tally.lock().unwrap().record(what, reply, expected);
    };
    for round in 0..rounds {
        let created = api
            .post(
                "/api/v1/apps",
                json!({
                    "name": format!("Writer {client} app {round}"),
                    "auth_type": "api_key",
                    "products": ["payments"],
                }),
            )
            .await;
        record("create", &created, 201);
        let Some(id) = created.body["id"].as_str().map(str::to_string) else {
            continue;
        };
        outcome.created.push(id.clone());

        let subs = api.get(&format!("/api/v1/apps/{id}/subscriptions")).await;
        record("subscriptions", &subs, 200);
        if let Some(sub) = subs.body["items"][0]["id"].as_str() {
            let approved = api
                .post(&format!("/api/v1/approvals/{sub}/approve"), json!({}))
                .await;
            record("approve", &approved, 200);
        }

        let rotated = api
            .post(
                &format!("/api/v1/apps/{id}/rotate"),
                json!({"overlap_seconds": 0}),
            )
            .await;
        record("rotate", &rotated, 201);

        if round % 3 == 0 {
            let revoked = api
                .post(
                    &format!("/api/v1/apps/{id}/revoke"),
                    json!({"reason": "load test"}),
                )
                .await;
            record("revoke", &revoked, 200);
            if revoked.status == 200 {
                outcome.revoked.push(id);
            }
        }
    }
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_writers_never_see_a_server_error_nor_lose_a_write() {
    let app = spawn_app_with(|s| s.workers = Some(4)).await;
    app.setup_owner().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    admin
        .post(
            "/api/v1/products",
            json!({"name": "Payments", "slug": "payments", "approval_mode": "manual"}),
        )
        .await
        .expect(201);

    let rounds = rounds();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = std::time::Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            // Each client has its own token, as separate pipelines would.
            let api = app.api(OWNER_EMAIL, "acme", true, true);
            tokio::spawn(writer(api, client, rounds, tally.clone()))
        })
        .collect();
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.push(client.await.expect("client task"));
    }
    let elapsed = started.elapsed();

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    eprintln!(
        "{} requests from {CLIENTS} clients in {elapsed:.1?}: {:?}",
        tally.total(),
        tally.statuses
    );
    assert_eq!(
        tally.server_errors(),
        0,
        "server errors: {:?}; first: {:#?}",
        tally.statuses,
        tally.surprises
    );
    assert!(
        tally.surprises.is_empty(),
        "unexpected replies: {:#?}",
        tally.surprises
    );

    // No lost write: every app answered with a 201 is there, in the state the
    // client left it, and nothing else was created.
    let created: Vec<&String> = outcomes.iter().flat_map(|o| &o.created).collect();
    assert_eq!(created.len(), CLIENTS * rounds);
    assert_eq!(app.count("apps"), i64::try_from(created.len()).unwrap());
    let revoked: Vec<&String> = outcomes.iter().flat_map(|o| &o.revoked).collect();
    assert_eq!(
        app.count("apps WHERE status = 'revoked'"),
        i64::try_from(revoked.len()).unwrap()
    );
    assert_eq!(
        app.count("apps WHERE status = 'active'"),
        i64::try_from(created.len() - revoked.len()).unwrap()
    );
    // One key from the creation and one from the rotation, per app.
    assert_eq!(
        app.count("credentials"),
        i64::try_from(2 * created.len()).unwrap()
    );
    // Approved, and ended with the app where it was revoked.
    assert_eq!(
        app.count("subscriptions"),
        i64::try_from(created.len()).unwrap()
    );
    assert_eq!(
        app.count("subscriptions WHERE status = 'approved'"),
        i64::try_from(created.len() - revoked.len()).unwrap()
    );
    let shown = admin.get(&format!("/api/v1/apps/{}", created[0])).await;
    assert_eq!(shown.expect(200)["id"], Value::String(created[0].clone()));
}

/// Holds SQLite's write lock from a connection of its own, as another process
/// (a backup, the CLI) might.
pub(crate) struct WriteLock(diesel::SqliteConnection);

impl WriteLock {
    pub(crate) fn take(database_url: &str) -> Self {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let path = database_url
            .strip_prefix("sqlite://")
            .expect("an SQLite URL");
        let mut conn = diesel::SqliteConnection::establish(path).expect("second connection");
        conn.batch_execute("BEGIN IMMEDIATE").expect("write lock");
        Self(conn)
    }

    pub(crate) fn release(mut self) {
        use diesel::connection::SimpleConnection;
        self.0.batch_execute("ROLLBACK").expect("rollback");
    }
}

#[tokio::test]
async fn a_write_lock_held_past_the_busy_timeout_is_a_503_with_retry_after() {
    let app = spawn_app_with(|s| s.sqlite_busy_timeout = Some(150)).await;
    if !app.database_url.starts_with("sqlite://") {
        return; // PostgreSQL has no database-wide write lock.
    }
    let owner = app.setup_owner().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    // Reads first: the token's and the session's last use are recorded now, so the
    // writes below have only their own work to do.
    admin.get("/api/v1/apps").await.expect(200);
    let csrf = owner.get("/o/acme/teams").await.csrf();
    let (apps, teams) = (app.count("apps"), app.count("teams"));

    let lock = WriteLock::take(&app.database_url);
    let started = std::time::Instant::now();
    let refused = admin
        .post(
            "/api/v1/apps",
            json!({"name": "Blocked", "auth_type": "api_key"}),
        )
        .await;
    let waited = started.elapsed();
    let detail = refused.expect_problem(503).to_string();
    assert!(detail.contains("try again"), "{detail}");
    assert_eq!(refused.header("retry-after"), Some("2"));
    assert!(
        waited >= std::time::Duration::from_millis(150),
        "answered after {waited:?}, before the busy timeout"
    );
    // Reads go on while a writer holds the lock.
    admin.get("/api/v1/apps").await.expect(200);

    let page = owner
        .post_raw(
            "/o/acme/teams",
            &[("csrf_token", csrf.as_str()), ("name", "Blocked team")],
        )
        .await;
    assert_eq!(page.status.as_u16(), 503, "{}", page.body);
    assert_eq!(page.header("retry-after"), Some("2"));
    assert!(page.contains("try again"), "{}", page.body);
    lock.release();

    assert_eq!(app.count("apps"), apps);
    assert_eq!(app.count("teams"), teams);
    // Once the lock is gone the same requests succeed.
    admin
        .post(
            "/api/v1/apps",
            json!({"name": "Blocked", "auth_type": "api_key"}),
        )
        .await
        .expect(201);
    let page = owner
        .post_raw(
            "/o/acme/teams",
            &[("csrf_token", csrf.as_str()), ("name", "Blocked team")],
        )
        .await;
    assert_eq!(page.status.as_u16(), 303, "{}", page.body);
    assert_eq!(app.count("apps"), apps + 1);
    assert_eq!(app.count("teams"), teams + 1);
}
