//! `gatehouse demo` and the data generator behind it: every app state and auth type,
//! a working approval queue, documented products with an API reference, and sign-in
//! with the printed logins; the command refuses
//! a non-empty data directory and removes its temporary one when it stops.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse::demo::{self, Demo, Environment, Size};
use gatehouse::services::apps::Issuer;

use crate::kit::{TestApp, spawn_app};

/// Runs the generator on the test app's database, as `gatehouse demo` does.
fn generate(app: &TestApp, size: &Size) -> Demo {
    let state = &app.state;
    let mut conn = app.conn();
    let public_base = state.public_base();
    let env = Environment {
        now: gatehouse::clock::Clock::now_naive(app.clock.as_ref()),
        public_base: &public_base,
        issuer: Issuer {
            prefix: &state.config.credential_prefix,
            hasher: &state.secrets,
        },
        max_overlap: chrono::Duration::days(30),
    };
    demo::generate(&mut conn, &env, size).expect("the demo generates")
}

/// The test clock's time as an SQL literal both backends compare timestamps with.
fn now(app: &TestApp) -> String {
    gatehouse::clock::Clock::now_naive(app.clock.as_ref())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn ids(app: &TestApp, status: &str) -> Vec<String> {
    app.texts(&format!(
        "SELECT id AS v FROM apps WHERE status = '{status}' ORDER BY id"
    ))
}

#[tokio::test]
async fn generator_makes_every_state_and_auth_type_through_the_services() {
    let app = spawn_app().await;
    let made = generate(&app, &Size::DEMO);

    // The fates of the 87 apps, counted by hand from the story's cycle: 48 active
    // (9 of them mid-rotation), 13 pending, 9 rejected, 8 revoked, 5 suspended,
    // 4 deleted.
    let counts: Vec<String> = app.texts(
        "SELECT status || '=' || CAST(COUNT(*) AS TEXT) AS v FROM apps GROUP BY status ORDER BY status",
    );
    assert_eq!(
        counts,
        [
            "active=48",
            "deleted=4",
            "pending=13",
            "rejected=9",
            "revoked=8",
            "suspended=5"
        ]
    );
    let by_status: Vec<(String, i64)> = made.apps_by_status.clone();
    assert_eq!(by_status.iter().map(|(_, n)| n).sum::<i64>(), 87);
    // Every state holds every auth type.
    let pairs = app.texts("SELECT DISTINCT status || ':' || auth_type AS v FROM apps ORDER BY v");
    assert_eq!(pairs.len(), 18, "{pairs:?}");

    // Mid-rotation: a secret app with an old credential still working beside the new
    // one, and a JWT app with two live keys.
    let rotating = app.texts(&format!(
        "SELECT DISTINCT c.app_id AS v FROM credentials c JOIN apps a ON a.id = c.app_id \
         WHERE a.status = 'active' AND c.revoked_at IS NULL AND c.expires_at IS NOT NULL \
         AND c.kind <> 'public_key' AND c.expires_at > '{}' AND EXISTS (SELECT 1 FROM credentials n \
         WHERE n.app_id = c.app_id AND n.revoked_at IS NULL AND n.created_at > c.created_at)",
        now(&app)
    ));
    assert!(rotating.len() >= 4, "{rotating:?}");
    let two_keys = app.texts(
        "SELECT app_id AS v FROM credentials WHERE kind = 'public_key' AND revoked_at IS NULL \
         GROUP BY app_id HAVING COUNT(*) > 1",
    );
    assert!(!two_keys.is_empty());

    // The rest of a lived-in organisation.
    assert_eq!(app.count("users"), 15);
    assert_eq!(app.count("teams"), 4);
    assert_eq!(app.count("products"), 5);
    assert_eq!(
        app.text("SELECT CAST(COUNT(*) AS TEXT) AS v FROM invitations WHERE accepted_at IS NULL"),
        "3"
    );
    assert_eq!(
        app.text("SELECT CAST(COUNT(*) AS TEXT) AS v FROM products WHERE archived_at IS NOT NULL"),
        "1"
    );
    assert_eq!(
        app.text("SELECT CAST(COUNT(*) AS TEXT) AS v FROM products WHERE openapi_json IS NOT NULL"),
        "4"
    );
    assert!(app.count("notifications") > 50);
    assert!(app.count("audit_events") > 300);
    assert_eq!(
        app.text("SELECT CAST(COUNT(*) AS TEXT) AS v FROM users WHERE email_verified_at IS NULL"),
        "0"
    );
    // Six weeks of history, not one instant.
    let days =
        app.texts("SELECT DISTINCT substr(CAST(created_at AS TEXT), 1, 10) AS v FROM audit_events");
    assert!(days.len() > 20, "{days:?}");
}

#[tokio::test]
async fn the_printed_logins_sign_in_and_the_portal_lists_show_every_state() {
    let app = spawn_app().await;
    let made = generate(&app, &Size::DEMO);
    let password = made.password.expose().to_string();
    assert!(password.len() >= 20, "a strong password");
    assert_eq!(
        made.logins.iter().map(|l| l.role).collect::<Vec<_>>(),
        ["owner", "admin", "developer"]
    );

    // A second run makes another password.
    let other = spawn_app().await;
    assert_ne!(generate(&other, &Size::DEMO).password.expose(), password);

    let owner = app.browser();
    owner
        .sign_in(&made.logins[0].email, "not the password at all")
        .await
        .assert_status(401);
    let signed_in = owner.sign_in(&made.logins[0].email, &password).await;
    assert_eq!(signed_in.status.as_u16(), 303, "{}", signed_in.body);

    // The approval queue holds every pending request, of pending and active apps.
    let queue = owner.get("/o/northwind/admin/approvals").await;
    queue.assert_status(200);
    let pending = app.texts("SELECT id AS v FROM subscriptions WHERE status = 'pending'");
    assert!(pending.len() >= 20, "{}", pending.len());
    for id in &pending {
        assert!(queue.contains(id), "request {id} missing from the queue");
    }

    // Consumer Apps: each state's filter lists exactly that state's apps; revoked apps
    // have their own table; deleted apps appear nowhere.
    let deleted = ids(&app, "deleted");
    for status in ["pending", "suspended", "rejected"] {
        let page = owner
            .get(&format!("/o/northwind/apps?filter={status}"))
            .await;
        page.assert_status(200);
        for id in ids(&app, status) {
            assert!(page.contains(&id), "{status} app {id} not listed");
        }
        for other in ["active", "revoked", "deleted"] {
            for id in ids(&app, other) {
                assert!(!page.contains(&id), "{other} app {id} under {status}");
            }
        }
    }
    // Unfiltered, the Revoked table previews its five newest and links to the rest.
    let all = owner.get("/o/northwind/apps").await;
    let revoked = ids(&app, "revoked");
    assert!(revoked.len() > 5, "{}", revoked.len());
    let shown = revoked
        .iter()
        .filter(|id| all.contains(id.as_str()))
        .count();
    assert_eq!(shown, 5);
    assert!(all.contains(&format!(
        "<a href=\"/o/northwind/apps?filter=revoked\">See all revoked apps ({}) →</a>",
        revoked.len()
    )));
    let only_revoked = owner.get("/o/northwind/apps?filter=revoked").await;
    for id in &revoked {
        assert!(only_revoked.contains(id), "revoked app {id} not listed");
    }
    for id in &deleted {
        assert!(!all.contains(id), "deleted app {id} is listed");
    }
    let rotating = app.text(&format!(
        "SELECT MIN(c.app_id) AS v FROM credentials c JOIN apps a ON a.id = c.app_id \
         WHERE a.status = 'active' AND c.revoked_at IS NULL AND c.expires_at IS NOT NULL \
         AND c.kind <> 'public_key' AND c.expires_at > '{}' AND EXISTS (SELECT 1 FROM credentials n \
         WHERE n.app_id = c.app_id AND n.revoked_at IS NULL AND n.created_at > c.created_at)",
        now(&app)
    ));
    let page = owner.get(&format!("/o/northwind/apps/{rotating}")).await;
    page.assert_status(200);
    assert!(page.contains("expiring"), "{}", page.body);

    // Products carry real documentation and a rendered API reference.
    let docs = owner.get("/o/northwind/products/payments").await;
    docs.assert_status(200);
    for text in [
        "Idempotency-Key",
        "payment-declined",
        "Authorise a payment",
        "Refund a payment",
    ] {
        assert!(docs.contains(text), "{text} missing from the Payments docs");
    }

    // The developer's hub shows her own apps; the admin's login works too.
    let developer = app.browser();
    developer
        .sign_in(&made.logins[2].email, &password)
        .await
        .assert_status(303);
    let hub = developer.get("/o/northwind/hub").await;
    hub.assert_status(200);
    let user_id = app.user_id(&made.logins[2].email);
    let mine = app.texts(&format!(
        "SELECT id AS v FROM apps WHERE owner_user_id = '{user_id}' AND status NOT IN ('revoked', 'deleted')"
    ));
    assert_eq!(mine.len(), 5);
    for id in &mine {
        assert!(hub.contains(id), "her app {id} is not on her hub");
    }
    let admin = app.browser();
    admin
        .sign_in(&made.logins[1].email, &password)
        .await
        .assert_status(303);
    admin
        .get("/o/northwind/admin/approvals")
        .await
        .assert_status(200);
}

#[tokio::test]
async fn larger_sizes_keep_every_state_and_the_products_carry_openapi_documents() {
    let size = Size::with_apps(300);
    assert!((280..=320).contains(&size.apps()), "{}", size.apps());
    let app = spawn_app().await;
    generate(&app, &size);
    assert_eq!(app.count("apps") as usize, size.apps());
    for status in [
        "pending",
        "active",
        "suspended",
        "rejected",
        "revoked",
        "deleted",
    ] {
        assert!(!ids(&app, status).is_empty(), "no {status} app");
    }
    // Benchmark sizes keep the outbox quiet: everyone turned notification email off.
    assert_eq!(
        app.text(
            "SELECT CAST(COUNT(*) AS TEXT) AS v FROM email_outbox WHERE subject LIKE '%asks for%'"
        ),
        "0"
    );

    for product in demo::catalogue::PRODUCTS {
        let Some(doc) = product.openapi_json else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_str(doc).expect("valid JSON");
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
            "{}",
            product.slug
        );
        assert!(doc["paths"].as_object().is_some_and(|p| p.len() >= 3));
        assert!(doc["components"]["securitySchemes"].is_object());
    }
}

/// The binary, with no inherited configuration.
fn gatehouse(args: &[&str], tmp: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_clear()
        .env("TMPDIR", tmp)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Starts the demo and reads its welcome: (child, base URL, data directory).
fn start_demo(args: &[&str], tmp: &std::path::Path) -> (Child, String, String) {
    let mut child = gatehouse(args, tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut url = None;
    let mut data = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        let field = |name: &str| {
            line.trim()
                .strip_prefix(name)
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
        };
        if let Some(u) = field("Open") {
            url = Some(u.trim_end_matches("/login").to_string());
        }
        if let Some(d) = field("Data") {
            data = Some(d);
        }
        if line.trim().starts_with("Stop") {
            break;
        }
    }
    (
        child,
        url.expect("the URL is printed"),
        data.expect("the data directory is printed"),
    )
}

fn stop(child: &mut Child, signal: &str) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the demo did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn demo_on_a_temporary_directory_removes_it_when_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, base, data) = start_demo(
        &["demo", "--bind", "127.0.0.1:0", "--workers", "1"],
        tmp.path(),
    );
    assert!(
        data.starts_with(&tmp.path().display().to_string()),
        "{data}"
    );
    assert!(std::path::Path::new(&data).join("gatehouse.db").exists());
    let login = reqwest::get(format!("{base}/login")).await.unwrap();
    assert_eq!(login.status().as_u16(), 200);

    let status = stop(&mut child, "-INT");
    assert!(status.success(), "{status:?}");
    assert!(
        !std::path::Path::new(&data).exists(),
        "{data} is still there"
    );
}

#[tokio::test]
async fn demo_keeps_an_empty_given_directory_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let given = tmp.path().join("demo-data");
    let given_str = given.display().to_string();
    let (mut child, _, data) = start_demo(
        &[
            "demo",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--data-dir",
            &given_str,
        ],
        tmp.path(),
    );
    assert_eq!(data, given_str);
    let status = stop(&mut child, "-TERM");
    assert!(status.success(), "{status:?}");
    assert!(
        given.join("gatehouse.db").exists(),
        "the given directory is kept"
    );

    // Now it holds data: a second demo refuses it and changes nothing.
    let before: Vec<_> = std::fs::read_dir(&given)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let out = gatehouse(
        &["demo", "--bind", "127.0.0.1:0", "--data-dir", &given_str],
        tmp.path(),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("the data directory {given_str} is not empty")),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
    let after: Vec<_> = std::fs::read_dir(&given)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
}

/// `gatehouse seed --keys` for the verify benchmark: the keys file (owner-only) holds
/// live keys that an instance started on the seeded database verifies as VALID for
/// the printed product; the rotated-away, expiring and expired keys are stored too.
/// What `gatehouse seed --apps 40 --KIND N --KIND-out FILE` printed and wrote.
pub struct Seeded {
    /// The JSON it printed.
    pub json: serde_json::Value,
    pub stdout: String,
    pub stderr: String,
    /// The output file's lines, after checking it is readable by its owner only.
    pub text: String,
    _dir: tempfile::TempDir,
}

/// Runs `gatehouse seed` for a benchmark: 40 apps and `count` more of `kind` (`keys`
/// or `clients`), written to an owner-only file.
pub async fn seed(app: &crate::kit::TestApp, kind: &str, count: u32) -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{kind}.txt"));
    let (count, file_arg) = (count.to_string(), file.display().to_string());
    let (flag, out_flag) = (format!("--{kind}"), format!("--{kind}-out"));
    let out = crate::api_tokens::gatehouse_cli(
        app,
        &["seed", "--apps", "40", &flag, &count, &out_flag, &file_arg],
    )
    .await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "stderr: {stderr}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    Seeded {
        json: serde_json::from_str(&stdout).unwrap(),
        stdout,
        stderr,
        text: std::fs::read_to_string(&file).unwrap(),
        _dir: dir,
    }
}

#[tokio::test]
async fn seed_with_keys_writes_live_keys_that_a_new_instance_verifies() {
    let app = spawn_app().await;
    let Seeded {
        json: seeded,
        stdout,
        stderr,
        text,
        ..
    } = seed(&app, "keys", 400).await;
    let keys = &seeded["keys"];
    // 400 keys: one in twenty each revoked, expiring and expired; 340 live, all of
    // them written (far fewer than the file's limit).
    assert_eq!(keys["made"], 400, "{seeded}");
    assert_eq!(keys["live"], 340);
    assert_eq!(keys["written"], 340);
    assert!(keys["apps"].as_u64().unwrap() >= 2, "{seeded}");
    let product = keys["product"].as_str().unwrap().to_string();

    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 340);
    assert_eq!(
        lines.iter().collect::<std::collections::HashSet<_>>().len(),
        340
    );
    assert!(lines.iter().all(|k| k.starts_with("gate_key_")));
    assert!(!stdout.contains(lines[0]) && !stderr.contains(lines[0]));

    assert_eq!(
        app.texts(
            "SELECT CAST(COUNT(*) AS TEXT) || ' ' || CAST(SUM(CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END) AS TEXT) || ' ' || CAST(SUM(CASE WHEN expires_at IS NULL THEN 0 ELSE 1 END) AS TEXT) AS v FROM credentials WHERE label LIKE 'device %'"
        ),
        ["400 20 40"]
    );

    // A new instance on the seeded database loads them all and answers from memory.
    let url = app.database_url.clone();
    let second = crate::kit::spawn_app_with(|s| s.database_url = Some(url)).await;
    let out =
        crate::api_tokens::gatehouse_cli(&app, &["admin", "token", "create", "--org", "northwind"])
            .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin_token = String::from_utf8(out.stdout).unwrap();
    let admin = crate::api_kit::Api::new(&second, admin_token.trim());
    let token = crate::verify::gateway_token(&admin, None).await;
    let gw = crate::verify::Gateway::new(&second, &token);
    for key in lines.iter().step_by(17) {
        assert_eq!(gw.code(key, Some(&product)).await, "VALID", "{product}");
    }
    let unknown =
        gatehouse::credentials::PlainSecret::generate("gate", gatehouse::credentials::Kind::ApiKey);
    assert_eq!(gw.code(unknown.expose(), Some(&product)).await, "NOT_FOUND");
}
