//! Link tokens never reach the database: after the verification, reset and invitation
//! flows no token is in the database files (SQLite: the raw bytes of the database and
//! its `-wal` and `-shm`; PostgreSQL: every column of every table). The outbox mints a
//! token per attempt (only the last one works) and does not send a link that died.
//! The data directory and its files are private.

use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use gatehouse::clock::{Clock, TestClock};
use gatehouse::config::{Config, Settings};
use gatehouse::db::schema::email_outbox;
use gatehouse::db::{DbConnection, write_transaction};
use gatehouse::services::Ctx;
use gatehouse::services::links::Prepared;
use gatehouse::startup::Application;

use crate::kit::{
    Browser, OWNER_EMAIL, PASSWORD, TestApp, extract_value, spawn_app, spawn_app_with,
};
use crate::mail::emails_in;

/// An SMTP server nobody listens on.
const UNREACHABLE_SMTP: &str = "smtp+plain://127.0.0.1:1";

/// The token of every link starting with `prefix` (e.g. `/verify-email/`) in `text`.
fn tokens_in(text: &str, prefix: &str) -> Vec<String> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// The tokens of the links of `prefix` in the emails to `to` delivered so far.
fn mailed_tokens(app: &TestApp, to: &str, prefix: &str) -> Vec<String> {
    emails_in(app.data_dir())
        .iter()
        .filter(|m| m.contains(&format!("To: {to}\r\n")))
        .flat_map(|m| tokens_in(m, prefix))
        .collect()
}

/// The one token of `prefix` mailed to `to`.
fn only_token(app: &TestApp, to: &str, prefix: &str) -> String {
    let tokens = mailed_tokens(app, to, prefix);
    assert_eq!(tokens.len(), 1, "one {prefix} link to {to}: {tokens:?}");
    tokens[0].clone()
}

/// Opens a link's page and posts its form with `fields`, as the person clicking would.
async fn use_link(
    browser: &Browser,
    page: &str,
    action: &str,
    token: &str,
    fields: &[(&str, &str)],
) {
    let form = browser.get(page).await;
    form.assert_status(200);
    let csrf = form.csrf();
    let mut all = vec![("csrf_token", csrf.as_str()), ("token", token)];
    all.extend_from_slice(fields);
    let done = browser.post_raw(action, &all).await;
    assert_eq!(done.status.as_u16(), 303, "{action}: {}", done.body);
}

/// Where each `token` occurs in the database: SQLite's files byte by byte, and (on
/// both backends) every column of every table, through SQL.
fn places_holding(app: &TestApp, tokens: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        let files = gatehouse::config::files::sqlite_files(std::path::Path::new(path));
        assert!(
            std::fs::metadata(&files[1]).is_ok_and(|m| m.len() > 0),
            "the write-ahead log is there to search"
        );
        for file in files {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            for token in tokens {
                if bytes.windows(token.len()).any(|w| w == token.as_bytes()) {
                    found.push(format!("{} holds {token}", file.display()));
                }
            }
        }
    }
    let columns = if app.database_url.starts_with("sqlite://") {
        app.texts(
            "SELECT m.name || ' ' || c.name AS v FROM sqlite_master AS m, \
             pragma_table_info(m.name) AS c WHERE m.type = 'table'",
        )
    } else {
        app.texts(
            "SELECT table_name || ' ' || column_name AS v FROM information_schema.columns \
             WHERE table_schema = current_schema()",
        )
    };
    assert!(columns.len() > 50, "{columns:?}");
    let any_token = tokens
        .iter()
        .map(|t| format!("'%{t}%'"))
        .collect::<Vec<_>>();
    for column in columns {
        let (table, column) = column.split_once(' ').unwrap();
        let text = format!("CAST(\"{column}\" AS TEXT)");
        let test = any_token
            .iter()
            .map(|t| format!("{text} LIKE {t}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        if app.count(&format!("\"{table}\" WHERE {test}")) > 0 {
            found.push(format!("{table}.{column} holds a token"));
        }
    }
    found
}

#[tokio::test]
async fn no_link_token_is_left_in_the_database_after_the_email_flows() {
    let app = spawn_app().await;
    // Verification links: Ada's from first-run setup, Bob's from sign-up.
    let ada = app.setup_owner().await;
    let bob = app.sign_up("Bob", "bob@example.com").await;
    // A reset link for Ada, and an invitation for Carol (the link shown to Ada, and the
    // emailed one).
    app.browser()
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", OWNER_EMAIL)],
        )
        .await
        .assert_redirect("/login");
    let shown = app
        .invite(&ada, "acme", "carol@example.com", "developer")
        .await;
    app.deliver_mail().await;

    let ada_verify = only_token(&app, OWNER_EMAIL, "/verify-email/");
    let bob_verify = only_token(&app, "bob@example.com", "/verify-email/");
    let reset = only_token(&app, OWNER_EMAIL, "/reset-password/");
    let emailed = only_token(&app, "carol@example.com", "/invite/");
    let shown = shown.strip_prefix("/invite/").unwrap().to_string();
    assert_ne!(
        emailed, shown,
        "the emailed link is not the one shown to the admin"
    );

    // Bob verifies his address; Carol joins through the emailed link (which uses the
    // shown one up too); Ada resets her password, then asks for another link, which
    // stays open like her verification link.
    use_link(
        &bob,
        &format!("/verify-email/{bob_verify}"),
        "/verify-email",
        &bob_verify,
        &[],
    )
    .await;
    let carol = app.browser();
    use_link(
        &carol,
        &format!("/invite/{emailed}"),
        "/invite/signup",
        &emailed,
        &[("display_name", "Carol"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        app.role_of("acme", "carol@example.com").as_deref(),
        Some("developer")
    );
    let gone = app.browser().get(&format!("/invite/{shown}")).await;
    gone.assert_status(410);
    assert!(gone.contains("already been used"), "{}", gone.body);
    use_link(
        &app.browser(),
        &format!("/reset-password/{reset}"),
        "/reset-password",
        &reset,
        &[("new_password", "a brand new passphrase")],
    )
    .await;
    app.clock.advance(Duration::minutes(2));
    app.browser()
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", OWNER_EMAIL)],
        )
        .await
        .assert_redirect("/login");
    app.deliver_mail().await;
    let open_reset = mailed_tokens(&app, OWNER_EMAIL, "/reset-password/")
        .into_iter()
        .find(|t| *t != reset)
        .expect("a second reset link");
    app.browser()
        .get(&format!("/reset-password/{open_reset}"))
        .await
        .assert_status(200);

    let tokens = [ada_verify, bob_verify, reset, open_reset, emailed, shown];
    let found = places_holding(&app, &tokens);
    assert!(found.is_empty(), "{found:#?}");
}

/// A second instance on `first`'s database, writing `.eml` files into its own data
/// directory, with its own clock at `now`.
fn second_instance(
    first: &TestApp,
    dir: &std::path::Path,
    now: chrono::DateTime<chrono::Utc>,
) -> actix_web::web::Data<gatehouse::state::AppState> {
    let settings = Settings {
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.to_path_buf()),
        database_url: Some(first.database_url.clone()),
        workers: Some(1),
        password_hash_threads: Some(1),
        ..Settings::default()
    };
    let app = Application::build(
        Config::resolve(&settings).unwrap(),
        Arc::new(TestClock::new(now)),
    )
    .unwrap();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    state
}

/// (status, last error) of the outbox messages with `subject`, oldest first.
fn outbox_rows(app: &TestApp, subject: &str) -> Vec<(String, String)> {
    let mut c = app.conn();
    let c: &mut DbConnection = &mut c;
    email_outbox::table
        .filter(email_outbox::subject.eq(subject))
        .order(email_outbox::id)
        .select((email_outbox::status, email_outbox::last_error))
        .load(c)
        .unwrap()
}

#[tokio::test]
async fn each_attempt_mints_a_new_token_and_only_the_last_one_works() {
    // The first instance's mail server is down: its attempts fail.
    let first = spawn_app_with(|s| s.smtp_url = Some(UNREACHABLE_SMTP.into())).await;
    first.setup_owner().await;
    first
        .browser()
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", OWNER_EMAIL)],
        )
        .await
        .assert_redirect("/login");
    let report = first.deliver_mail().await;
    assert_eq!(report.sent, 0);
    // The outbox holds no token, only the mark where the worker puts one.
    let body =
        first.text("SELECT body AS v FROM email_outbox WHERE subject = 'Reset your password'");
    assert!(
        body.contains("/reset-password/\u{1}token\u{1}\n"),
        "{body:?}"
    );
    assert_eq!(
        first.count("user_tokens WHERE token_hash IS NULL"),
        0,
        "minted by the attempts"
    );

    // After the backoff an instance claims the reset email (minting a token), and dies
    // before sending it.
    let later = first.clock.now_naive() + Duration::minutes(1);
    let crashed = {
        let mut c = first.conn();
        let c: &mut DbConnection = &mut c;
        let lease = later + Duration::minutes(10);
        let mut crashed = None;
        while let Some(claimed) = gatehouse::services::outbox::claim_next(c, later, lease).unwrap()
        {
            if claimed.email.subject == "Reset your password" {
                let Prepared::Send(text) = claimed.prepared else {
                    panic!("the link is still good")
                };
                crashed = Some(tokens_in(text.expose(), "/reset-password/").remove(0));
            }
        }
        crashed.expect("the reset email was claimed")
    };
    // Until the lease ends that token works.
    first
        .browser()
        .get(&format!("/reset-password/{crashed}"))
        .await
        .assert_status(200);

    // Past the lease, an instance with working mail sends it: with a new token.
    let dir = tempfile::tempdir().unwrap();
    let second = second_instance(
        &first,
        dir.path(),
        first.clock.now() + Duration::minutes(12),
    );
    let report = second.delivery().deliver_due(None).await.unwrap();
    assert_eq!(
        (report.sent, report.void),
        (2, 0),
        "the reset and Ada's verification"
    );
    let mails: Vec<String> = emails_in(dir.path())
        .into_iter()
        .filter(|m| m.contains("Subject: Reset your password\r\n"))
        .collect();
    assert_eq!(mails.len(), 1);
    let sent = tokens_in(&mails[0], "/reset-password/").remove(0);
    assert_ne!(sent, crashed);
    let dead = first
        .browser()
        .get(&format!("/reset-password/{crashed}"))
        .await;
    dead.assert_status(410);
    assert!(dead.contains("not valid"), "{}", dead.body);
    first
        .browser()
        .get(&format!("/reset-password/{sent}"))
        .await
        .assert_status(200);
    assert_eq!(first.count("user_tokens WHERE token_hash IS NULL"), 0);
}

#[tokio::test]
async fn an_email_whose_link_died_before_it_went_out_is_not_sent() {
    let first = spawn_app_with(|s| s.smtp_url = Some(UNREACHABLE_SMTP.into())).await;
    let ada = first.setup_owner().await;
    first
        .browser()
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[("email", OWNER_EMAIL)],
        )
        .await
        .assert_redirect("/login");
    // Invited, then re-sent before the first email could go out: the first one will
    // not be sent.
    let shown_first = first
        .invite(&ada, "acme", "carol@example.com", "developer")
        .await;
    let id = first.invitation_id("carol@example.com");
    let resent = ada
        .submit(
            "/o/acme/members",
            &format!("/o/acme/invitations/{id}/resend"),
            &[],
        )
        .await;
    resent.assert_status(200);
    let shown = extract_value(&resent.body, "id=\"invitation-link\" value=\"").unwrap();
    let invited = "You are invited to join Acme";
    let rows = outbox_rows(&first, invited);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "dead");
    assert!(rows[0].1.contains("replaced"), "{rows:?}");
    assert_eq!(rows[1].0, "pending");
    first.deliver_mail().await;
    // While the emails wait, no token is in the database: not even the admin's links.
    let waiting = [shown_first, shown.clone()].map(|l| l.rsplit('/').next().unwrap().to_string());
    let found = places_holding(&first, &waiting);
    assert!(found.is_empty(), "{found:#?}");

    // Two hours later the mail server is back: the reset link has expired, so its email
    // is not sent; the invitation and the verification link go out.
    let dir = tempfile::tempdir().unwrap();
    let second = second_instance(&first, dir.path(), first.clock.now() + Duration::hours(2));
    let report = second.delivery().deliver_due(None).await.unwrap();
    assert_eq!((report.sent, report.void), (2, 1));
    let mails = emails_in(dir.path());
    assert!(
        mails.iter().all(|m| !m.contains("/reset-password/")),
        "{mails:?}"
    );
    let reset = outbox_rows(&first, "Reset your password");
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0].0, "dead");
    assert!(reset[0].1.contains("expired"), "{reset:?}");
    let invitations: Vec<&String> = mails.iter().filter(|m| m.contains(invited)).collect();
    assert_eq!(invitations.len(), 1);
    let emailed = tokens_in(invitations[0], "/invite/").remove(0);
    first
        .browser()
        .get(&format!("/invite/{emailed}"))
        .await
        .assert_status(200);
    first
        .browser()
        .get(shown.strip_prefix(&first.base).unwrap())
        .await
        .assert_status(200);
    // Retrying the dead reset email sends nothing: its link is still expired. (Retried
    // at the second instance's time, so the first one's worker leaves it alone.)
    let ctx = Ctx::system(first.clock.now_naive() + Duration::hours(2));
    {
        let mut c = first.conn();
        let c: &mut DbConnection = &mut c;
        let id: String = email_outbox::table
            .filter(email_outbox::subject.eq("Reset your password"))
            .select(email_outbox::id)
            .first(c)
            .unwrap();
        gatehouse::services::outbox::retry(c, &ctx, &id).unwrap();
    }
    let report = second.delivery().deliver_due(None).await.unwrap();
    assert_eq!((report.sent, report.void), (0, 1));
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new").join("data");
    let (database_url, postgres) = match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let (url, admin) = crate::kit::new_database(tmp.path());
            (Some(url), admin)
        }
        _ => (None, None),
    };
    let settings = Settings {
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(data.clone()),
        database_url,
        workers: Some(1),
        password_hash_threads: Some(1),
        ..Settings::default()
    };
    let start = || {
        let app = Application::build(
            Config::resolve(&settings).unwrap(),
            Arc::new(TestClock::default()),
        )
        .unwrap();
        let state = app.state();
        let handle = app.server_handle();
        tokio::spawn(app.run_until_stopped());
        (state, handle)
    };
    let (state, handle) = start();
    {
        let mut c = state.pool.get().unwrap();
        let c: &mut DbConnection = &mut c;
        let ctx = Ctx::system(state.clock.now_naive());
        write_transaction(c, |c| {
            gatehouse::services::notifications::queue_email(
                c,
                &ctx,
                "ops@example.com",
                "Hello",
                "hi",
            )
        })
        .unwrap();
    }
    assert_eq!(state.delivery().deliver_due(None).await.unwrap().sent, 1);

    assert_eq!(mode(&tmp.path().join("new")), 0o700);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("mail")), 0o700);
    assert_eq!(mode(&data.join("secret.key")), 0o600);
    let emls: Vec<_> = std::fs::read_dir(data.join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(emls.len(), 1);
    assert_eq!(mode(&emls[0]), 0o600);
    let sqlite = postgres.is_none();
    let db_files = gatehouse::config::files::sqlite_files(&data.join("gatehouse.db"));
    if sqlite {
        for file in &db_files {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    }

    // Files of an older install that others could read are made private on start.
    handle.stop(true).await;
    drop(state);
    if sqlite {
        for file in &db_files {
            if file.exists() {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        let (state, _handle) = start();
        for file in &db_files {
            if file.exists() {
                assert_eq!(mode(file), 0o600, "{}", file.display());
            }
        }
        assert_eq!(mode(&db_files[0]), 0o600);
        drop(state);
    }
    if let Some((admin, name)) = postgres {
        use diesel::connection::SimpleConnection;
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}

/// Rows written before this version, whose link tokens were in plaintext in an email's
/// body: the upgrade withdraws those links and the emails still carrying one.
#[test]
fn the_upgrade_withdraws_links_whose_tokens_were_written_in_plaintext() {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;
    use gatehouse::config::DatabaseUrl;
    use gatehouse::db::{self, Manager, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

    let dir = tempfile::tempdir().unwrap();
    let (url, postgres) = crate::kit::new_database(dir.path());
    let mut conn = Manager::new(DatabaseUrl::parse(&url).unwrap())
        .open()
        .unwrap();
    db::run_migrations(&mut conn).unwrap();
    // Back to the schema before this version (and any later one).
    loop {
        let version = match &mut conn {
            DbConnection::Sqlite(c) => {
                c.batch_execute("PRAGMA query_only = OFF").unwrap();
                c.revert_last_migration(SQLITE_MIGRATIONS)
            }
            DbConnection::Pg(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
        }
        .unwrap()
        .to_string();
        if version.replace('-', "").starts_with("20261128110000") {
            break;
        }
    }
    let run = |conn: &mut DbConnection, sql: &str| {
        write_transaction(conn, |c| c.batch_execute(sql)).unwrap();
    };
    run(
        &mut conn,
        "INSERT INTO users (id, email, display_name, password_hash, is_instance_owner, \
           created_at, password_changed_at, name_key) \
         VALUES ('u1', 'a@example.com', 'A', 'x', FALSE, '2026-01-01 00:00:00', \
           '2026-01-01 00:00:00', 'a');
         INSERT INTO organisations (id, slug, name, created_at) \
         VALUES ('o1', 'acme', 'Acme', '2026-01-01 00:00:00');
         INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, \
           expires_at, accepted_at) \
         VALUES ('open', 'o1', 'b@example.com', 'developer', 'h1', 'u1', \
           '2026-01-01 00:00:00', '2999-01-01 00:00:00', NULL), \
           ('used', 'o1', 'c@example.com', 'developer', 'h2', 'u1', \
           '2026-01-01 00:00:00', '2999-01-01 00:00:00', '2026-01-02 00:00:00');
         INSERT INTO user_tokens (id, user_id, purpose, token_hash, email, created_at, \
           expires_at, used_at) \
         VALUES ('open', 'u1', 'reset_password', 'h3', 'a@example.com', \
           '2026-01-01 00:00:00', '2999-01-01 00:00:00', NULL), \
           ('used', 'u1', 'verify_email', 'h4', 'a@example.com', \
           '2026-01-01 00:00:00', '2999-01-01 00:00:00', '2026-01-02 00:00:00');
         INSERT INTO email_outbox (id, to_address, subject, body, status, attempts, \
           next_attempt_at, last_error, created_at, sent_at) \
         VALUES ('reset', 'a@example.com', 'Reset your password', \
           'open https://x.example/reset-password/PLAINTOKEN1 now', 'pending', 0, \
           '2026-01-01 00:00:00', '', '2026-01-01 00:00:00', NULL), \
           ('invite', 'b@example.com', 'Invited', \
           'open https://x.example/invite/PLAINTOKEN2 now', 'dead', 8, \
           '2026-01-01 00:00:00', 'refused', '2026-01-01 00:00:00', NULL), \
           ('news', 'a@example.com', 'Approved', 'see https://x.example/o/acme', 'pending', \
           0, '2026-01-01 00:00:00', '', '2026-01-01 00:00:00', NULL);",
    );
    db::run_migrations(&mut conn).unwrap();

    let texts = |conn: &mut DbConnection, sql: &str| -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct V {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        diesel::sql_query(sql)
            .load::<V>(conn)
            .unwrap()
            .into_iter()
            .map(|r| r.v)
            .collect()
    };
    let outbox = texts(
        &mut conn,
        "SELECT id || ' ' || status || ' [' || body || '] ' || last_error AS v \
         FROM email_outbox ORDER BY id",
    );
    assert_eq!(outbox.len(), 3);
    assert!(
        outbox[0].starts_with("invite dead [] not sent: its link was withdrawn"),
        "{outbox:?}"
    );
    assert_eq!(outbox[1], "news pending [see https://x.example/o/acme] ");
    assert!(
        outbox[2].starts_with("reset dead [] not sent: its link was withdrawn"),
        "{outbox:?}"
    );
    // Open links have expired; used ones are as they were.
    for table in ["invitations", "user_tokens"] {
        let expiry = texts(
            &mut conn,
            &format!(
                "SELECT id || ' ' || CASE WHEN expires_at < '2100-01-01' THEN 'expired' \
                 ELSE 'open' END AS v FROM {table} ORDER BY id"
            ),
        );
        assert_eq!(expiry, ["open expired", "used open"], "{table}");
    }
    drop(conn);
    if let Some((admin, name)) = postgres {
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}
