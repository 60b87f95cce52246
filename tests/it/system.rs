//! Health checks, static files, error formats, migrations, and the real binary: its
//! configuration errors, admin commands and what it writes to its log.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use gatehouse::config::DatabaseUrl;
use gatehouse::db::{self, Manager};

use crate::kit::{Browser, OWNER_EMAIL, PASSWORD, extract_value, new_database, spawn_app};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let b = app.browser();
    let health = b.get("/healthz").await;
    health.assert_status(200);
    assert_eq!(health.body, "ok");
    let ready = b.get("/readyz").await;
    ready.assert_status(200);
    assert!(ready.contains("\"database\":\"ok\""));
}

#[tokio::test]
async fn the_api_is_documented_and_browsable() {
    let app = spawn_app().await;
    let b = app.browser();
    let doc = b.get("/api/v1/openapi.json").await;
    doc.assert_status(200);
    let doc: serde_json::Value = serde_json::from_str(&doc.body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
    // Every operation documents its success and the shared problem responses.
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} documents no success"
            );
            // nginx's auth_request reads statuses and headers only: no bodies there.
            if path == "/api/v1/auth-request" {
                continue;
            }
            for status in ["401", "403", "404", "422"] {
                assert_eq!(
                    responses[status]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert!(operations >= 40, "{operations} operations");
    // Swagger UI, served from the binary (no CDN), allowed to style itself inline.
    let ui = b.get("/api/docs/").await;
    ui.assert_status(200);
    assert!(ui.contains("swagger"), "{}", ui.body);
    assert!(
        ui.header("content-security-policy")
            .unwrap()
            .contains("style-src 'self' 'unsafe-inline'")
    );
    let init = b.get("/api/docs/swagger-initializer.js").await;
    init.assert_status(200);
    assert!(init.contains("/api/v1/openapi.json"));
    let bare = b.get("/api/docs").await;
    bare.assert_status(308);
    assert_eq!(bare.location(), Some("/api/docs/"));
    // Unknown API paths answer a problem document, not an HTML page (without a
    // token: the 401 that every /api/v1 path gives first).
    let missing = b.get("/api/v1/no-such-thing").await;
    missing.assert_status(401);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn static_files_are_embedded_with_etags() {
    let app = spawn_app().await;
    let b = app.browser();
    let css = b.get("/static/vendor/pico-2.1.1.min.css").await;
    css.assert_status(200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let etag = css.header("etag").unwrap().to_string();
    assert!(css.header("cache-control").unwrap().contains("max-age"));
    let again = b
        .client
        .get(format!("{}/static/vendor/pico-2.1.1.min.css", app.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    b.get("/static/js/app.js").await.assert_status(200);
    b.get("/static/nope.css").await.assert_status(404);
    b.get("/static/../Cargo.toml").await.assert_status(404);
}

#[tokio::test]
async fn errors_are_pages_for_people_and_problems_for_machines() {
    let app = spawn_app().await;
    let b = app.browser();
    let page = b.get("/no/such/page").await;
    page.assert_status(404);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.contains("does not exist"));
    let api = b.get("/api/nothing").await;
    api.assert_status(404);
    assert_eq!(api.header("content-type"), Some("application/problem+json"));
    let problem: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["title"], "Not Found");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
}

#[test]
fn migrations_run_up_down_up() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _cleanup) = new_database(dir.path());
    let url = DatabaseUrl::parse(&url).unwrap();
    let mut conn = Manager::new(url).open().unwrap();
    assert!(db::run_migrations(&mut conn).unwrap() >= 1);
    let reverted = db::revert_all_migrations(&mut conn).unwrap();
    assert!(reverted >= 1);
    assert_eq!(db::run_migrations(&mut conn).unwrap(), reverted);
    assert_eq!(
        db::run_migrations(&mut conn).unwrap(),
        0,
        "nothing left to apply"
    );
}

#[test]
fn unreachable_postgres_is_reported_with_host_port_and_reason() {
    let url = DatabaseUrl::parse("postgres://gatehouse:secret@127.0.0.1:1/gatehouse").unwrap();
    let err = db::connect(&url, 2, std::time::Duration::from_secs(1))
        .expect_err("port 1 refuses connections");
    let message = err.to_string();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(message.contains("PostgreSQL"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (key, _) in std::env::vars() {
        if key.starts_with("GATEHOUSE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn invalid_configuration_exits_2_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--bind", "nowhere"],
        vec!["--database-url", "mysql://db/x"],
        vec!["--public-url", "portal.example.com"],
        vec!["--trusted-proxies", "10.0.0.0/99"],
        vec!["--session-lifetime", "forever"],
        vec!["--metrics-token", "too-short"],
        vec!["--metrics-bind", "nowhere"],
    ] {
        let out = binary()
            .args(["--data-dir", dir.path().to_str().unwrap()])
            .args(&args)
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("gatehouse: "), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    // The environment works like the flags.
    let out = binary()
        .env("GATEHOUSE_BIND", "not-an-address")
        .args(["--data-dir", dir.path().to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let help = binary().arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--bind",
        "--data-dir",
        "--database-url",
        "--public-url",
        "--trusted-proxies",
        "--secret-key-file",
        "--metrics-token",
        "--metrics-bind",
        "--config",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Starts the real binary on port 0; returns it, its base URL and its setup code.
fn start_server(
    data_dir: &str,
    database_url: &str,
) -> (
    std::process::Child,
    String,
    Option<String>,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = binary()
        .args([
            "--data-dir",
            data_dir,
            "--database-url",
            database_url,
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut setup_code = None;
    let mut lines = Vec::new();
    let base = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("server did not start:\n{}", lines.join("\n")));
        if line.contains("setup code") {
            let code_line = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
            let code_line = if code_line.trim().is_empty() {
                rx.recv().unwrap()
            } else {
                code_line
            };
            setup_code = Some(code_line.trim().to_string());
        }
        if line.contains("Gatehouse is listening") {
            let url = line
                .split("url=")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            break url
                .trim_end_matches('/')
                .replace("\u{1b}[0m", "")
                .to_string();
        }
        lines.push(line);
    };
    (child, base, setup_code, rx)
}

#[tokio::test]
async fn the_binary_sets_up_from_the_terminal_and_never_logs_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _cleanup) = new_database(dir.path());
    let data_dir = dir.path().to_str().unwrap().to_string();
    let (mut child, base, setup_code, logs) = start_server(&data_dir, &database_url);
    let code = setup_code.expect("a fresh database prints a setup code");
    assert!(std::path::Path::new(&data_dir).join("secret.key").exists());

    let browser = Browser {
        base: base.clone(),
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let setup = browser
        .submit(
            "/setup",
            "/setup",
            &[
                ("setup_code", &code),
                ("display_name", "Ada"),
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
                ("org_name", "Acme"),
            ],
        )
        .await;
    setup.assert_redirect("/o/acme");
    let invite = browser
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "bob@example.com"), ("role", "developer")],
        )
        .await;
    invite.assert_status(200);
    let link = extract_value(&invite.body, "id=\"invitation-link\" value=\"").unwrap();
    assert!(link.starts_with(&base), "{link} on {base}");
    let token = link.rsplit('/').next().unwrap().to_string();
    let bob = Browser {
        base: base.clone(),
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let page = bob.get(&format!("/invite/{token}")).await;
    page.assert_status(200);

    child.kill().unwrap();
    child.wait().unwrap();
    let log: Vec<String> = logs.try_iter().collect();
    let log = log.join("\n");
    assert!(
        log.contains("route=/invite/{token}"),
        "requests are logged by route pattern:\n{log}"
    );
    assert!(log.contains("route=/setup"), "{log}");
    for secret in [token.as_str(), PASSWORD, code.as_str()] {
        assert!(
            !log.contains(secret),
            "a secret appeared in the log:\n{log}"
        );
    }
}

#[tokio::test]
async fn admin_commands_create_an_owner_and_reset_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _cleanup) = new_database(dir.path());
    let data_dir = dir.path().to_str().unwrap().to_string();
    let base_args = [
        "--data-dir",
        data_dir.as_str(),
        "--database-url",
        database_url.as_str(),
    ];

    let out = run_with_stdin(
        binary().args(base_args).args([
            "admin",
            "create-owner",
            "--email",
            "ops@example.com",
            "--org",
            "Ops Team",
            "--password-stdin",
        ]),
        "first password here\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("/o/ops-team"));

    let dup = run_with_stdin(
        binary().args(base_args).args([
            "admin",
            "create-owner",
            "--email",
            "ops@example.com",
            "--org",
            "Other",
            "--password-stdin",
        ]),
        "first password here\n",
    );
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let short = run_with_stdin(
        binary().args(base_args).args([
            "admin",
            "reset-password",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ]),
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2));
    let unknown = run_with_stdin(
        binary().args(base_args).args([
            "admin",
            "reset-password",
            "--email",
            "nobody@example.com",
            "--password-stdin",
        ]),
        "second password here\n",
    );
    assert_eq!(unknown.status.code(), Some(1));
    let reset = run_with_stdin(
        binary().args(base_args).args([
            "admin",
            "reset-password",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ]),
        "second password here\n",
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );

    // The server started on that database has no setup code and takes the new password.
    let (mut child, base, setup_code, _logs) = start_server(&data_dir, &database_url);
    assert!(setup_code.is_none());
    let browser = Browser {
        base,
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    browser
        .sign_in("ops@example.com", "first password here")
        .await
        .assert_status(401);
    browser
        .sign_in("ops@example.com", "second password here")
        .await
        .assert_redirect("/");
    browser.get("/o/ops-team").await.assert_status(200);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `admin create-owner` and `admin reset-password` check the new password like the
/// forms: a weak one exits 2 with the reason and the advice, and changes nothing.
#[tokio::test]
async fn admin_commands_refuse_a_weak_password() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _cleanup) = new_database(dir.path());
    let data_dir = dir.path().to_str().unwrap().to_string();
    let base_args = [
        "--data-dir",
        data_dir.as_str(),
        "--database-url",
        database_url.as_str(),
    ];
    let create_owner = |password: &str| {
        run_with_stdin(
            binary().args(base_args).args([
                "admin",
                "create-owner",
                "--email",
                "ops@example.com",
                "--name",
                "Olga Operator",
                "--org",
                "Ops Team",
                "--password-stdin",
            ]),
            &format!("{password}\n"),
        )
    };
    let reset = |password: &str| {
        run_with_stdin(
            binary().args(base_args).args([
                "admin",
                "reset-password",
                "--email",
                "ops@example.com",
                "--password-stdin",
            ]),
            &format!("{password}\n"),
        )
    };
    #[track_caller]
    fn assert_weak(out: &std::process::Output, why: &str) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("This password is too easy to guess"),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{stderr}");
        assert!(
            stderr.contains("Use a longer passphrase of several unrelated words"),
            "{stderr}"
        );
    }
    assert_weak(&create_owner("password12"), "very common password");
    assert_weak(&create_owner("ops@example.com"), "your email address");
    // The organisation's name and the owner's name count too.
    assert_weak(&create_owner("Ops Team 2026"), "your name");
    assert_weak(&create_owner("Olga Operator!"), "your name");

    // Nothing was created: the first good password makes the owner.
    let made = create_owner("first password here");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    assert_weak(&reset("qwertyuiop"), "top-100 common password");
    // The account's name is looked up: strong for anyone but Olga Operator.
    assert_weak(&reset("Olga Operator!"), "your name");
    let reset_ok = reset("second password here");
    assert!(
        reset_ok.status.success(),
        "{}",
        String::from_utf8_lossy(&reset_ok.stderr)
    );
}

/// A browser with its own cookies, for a server the test started itself.
fn browser_for(base: &str) -> Browser {
    Browser {
        base: base.to_string(),
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

#[tokio::test]
async fn refusals_and_failed_sign_ins_are_logged_with_who_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _cleanup) = new_database(dir.path());
    let data_dir = dir.path().to_str().unwrap().to_string();
    let (mut child, base, setup_code, logs) = start_server(&data_dir, &database_url);
    let code = setup_code.expect("a fresh database prints a setup code");

    let ada = browser_for(&base);
    let setup = |code: String| {
        let ada = ada.clone();
        async move {
            ada.submit(
                "/setup",
                "/setup",
                &[
                    ("setup_code", &code),
                    ("display_name", "Ada"),
                    ("email", OWNER_EMAIL),
                    ("password", PASSWORD),
                    ("org_name", "Acme"),
                ],
            )
            .await
        }
    };
    // A wrong setup code is refused on the form itself.
    setup("not-the-code".into()).await.assert_status(403);
    setup(code.clone()).await.assert_redirect("/o/acme");
    let invite = ada
        .submit(
            "/o/acme/members",
            "/o/acme/invitations",
            &[("email", "bob@example.com"), ("role", "developer")],
        )
        .await;
    invite.assert_status(200);
    let link = extract_value(&invite.body, "id=\"invitation-link\" value=\"").unwrap();
    let invitation = link.strip_prefix(&base).unwrap().to_string();
    let bob = browser_for(&base);
    let page = bob.get(&invitation).await;
    let token = extract_value(&page.body, "name=\"token\" value=\"").unwrap();
    bob.post_raw(
        "/invite/signup",
        &[
            ("csrf_token", &page.csrf()),
            ("token", &token),
            ("display_name", "Bob"),
            ("password", PASSWORD),
        ],
    )
    .await
    .assert_redirect("/o/acme");

    // A wrong password for Ada, the instance settings (hidden from Bob: 404), renaming
    // the organisation (Bob may see it, not change it: 403), and an API token that is
    // not one.
    let wrong_password = "not the password, surely";
    browser_for(&base)
        .sign_in(OWNER_EMAIL, wrong_password)
        .await
        .assert_status(401);
    bob.get("/admin/instance").await.assert_status(404);
    let csrf = bob.get("/account").await.csrf();
    bob.post_raw(
        "/o/acme/settings",
        &[("csrf_token", &csrf), ("name", "Bob's")],
    )
    .await
    .assert_status(403);
    let fake_token = "gate_pat_0123456789abcdefghijklmnopqr";
    let api = reqwest::Client::new()
        .get(format!("{base}/api/v1/org"))
        .bearer_auth(fake_token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 401);

    // Every line up to the end of its output (the reader stops when the pipe closes).
    child.kill().unwrap();
    child.wait().unwrap();
    let log: Vec<String> = logs.iter().collect();

    let mut conn = Manager::new(DatabaseUrl::parse(&database_url).unwrap())
        .open()
        .unwrap();
    let id_of = |conn: &mut gatehouse::db::DbConnection, email: &str| {
        gatehouse::models::users::find_by_email(conn, email)
            .unwrap()
            .unwrap()
            .id
    };
    let (ada_id, bob_id) = (
        id_of(&mut conn, OWNER_EMAIL),
        id_of(&mut conn, "bob@example.com"),
    );
    let line = |route: &str| {
        log.iter()
            .find(|l| l.contains("access denied") && l.contains(&format!("route={route} ")))
            .unwrap_or_else(|| panic!("no denial logged for {route}:\n{}", log.join("\n")))
            .clone()
    };
    let instance = line("/admin/instance");
    assert!(instance.contains(&format!("actor={bob_id}")), "{instance}");
    assert!(instance.contains("status=404"), "{instance}");
    assert!(
        instance.contains("reason=not an instance owner"),
        "{instance}"
    );
    let settings = line("/o/{slug}/settings");
    assert!(settings.contains(&format!("actor={bob_id}")), "{settings}");
    assert!(settings.contains("status=403"), "{settings}");
    assert!(
        settings.contains("reason=Only organisation admins and owners can do this."),
        "{settings}"
    );
    let setup_refused = line("/setup");
    assert!(setup_refused.contains("actor=-"), "{setup_refused}");
    assert!(setup_refused.contains("status=403"), "{setup_refused}");
    let api = line("/api/v1/org");
    assert!(api.contains("actor=-"), "{api}");
    assert!(api.contains("status=401"), "{api}");
    assert!(api.contains("reason=The API token is not valid."), "{api}");
    let failed = log
        .iter()
        .find(|l| l.contains("sign-in failed"))
        .unwrap_or_else(|| panic!("no failed sign-in logged:\n{}", log.join("\n")));
    assert!(failed.contains(&format!("user_id={ada_id}")), "{failed}");

    let log = log.join("\n");
    for secret in [
        PASSWORD,
        wrong_password,
        code.as_str(),
        token.as_str(),
        fake_token,
    ] {
        assert!(
            !log.contains(secret),
            "{secret} appeared in the log:\n{log}"
        );
    }
}
