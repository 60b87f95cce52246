//! Email delivery and the inbox: `.eml` files, the outbox's retries, dead letters and
//! restarts, inbox items, mark read, and per-kind email opt-out.

use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use gatehouse::clock::{Clock, TestClock};
use gatehouse::config::{Config, Settings};
use gatehouse::db::schema::email_outbox;
use gatehouse::db::{DbConnection, write_transaction};
use gatehouse::services::Ctx;
use gatehouse::services::notifications::{Kind, Message, notify, queue_email};
use gatehouse::startup::Application;

use crate::kit::{OWNER_EMAIL, TestApp, spawn_app, spawn_app_with};

/// An SMTP server nobody listens on.
const UNREACHABLE_SMTP: &str = "smtp+plain://127.0.0.1:1";

/// The decoded text of every `.eml` file in `dir` (quoted-printable undone).
pub fn emails_in(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("mail")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            out.push(decode_qp(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(v) = joined
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Delivers what is due, then returns the emails to `to` with `subject`.
pub async fn mail_to(app: &TestApp, to: &str, subject: &str) -> Vec<String> {
    app.deliver_mail().await;
    emails_in(app.data_dir())
        .into_iter()
        .filter(|m| {
            m.contains(&format!("To: {to}\r\n")) && m.contains(&format!("Subject: {subject}\r\n"))
        })
        .collect()
}

/// The path of the first link on this instance that starts with `prefix`.
pub fn link_path(app: &TestApp, email: &str, prefix: &str) -> String {
    let marker = format!("{}{prefix}", app.base);
    let start = email.find(&marker).expect("a link in the email") + app.base.len();
    let end = email[start..]
        .find(|c: char| c.is_whitespace())
        .map_or(email.len(), |i| start + i);
    email[start..end].to_string()
}

fn conn(app: &TestApp) -> diesel::r2d2::PooledConnection<gatehouse::db::Manager> {
    app.conn()
}

fn tell(app: &TestApp, user_id: &str, kind: Kind, title: &str, link: &str) {
    let mut c = conn(app);
    let c: &mut DbConnection = &mut c;
    let ctx = Ctx::system(app.clock.now_naive());
    // Services write inside the caller's write transaction, as the handlers do.
    write_transaction(c, |c| {
        notify(
            c,
            &ctx,
            &[user_id.to_string()],
            &Message {
                kind,
                org_id: None,
                title: title.into(),
                body: format!("Details of: {title}"),
                link: link.into(),
            },
            &app.state.public_base(),
        )
    })
    .unwrap();
}

/// (status, attempts, next attempt, last error, body) of the message with `subject`.
type Row = (String, i32, chrono::NaiveDateTime, String, String);

fn outbox_row(app: &TestApp, subject: &str) -> Row {
    let mut c = conn(app);
    let c: &mut DbConnection = &mut c;
    email_outbox::table
        .filter(email_outbox::subject.eq(subject))
        .select((
            email_outbox::status,
            email_outbox::attempts,
            email_outbox::next_attempt_at,
            email_outbox::last_error,
            email_outbox::body,
        ))
        .first(c)
        .unwrap()
}

fn queue(app: &TestApp, to: &str, subject: &str, body: &str) {
    let mut c = conn(app);
    let c: &mut DbConnection = &mut c;
    let ctx = Ctx::system(app.clock.now_naive());
    write_transaction(c, |c| queue_email(c, &ctx, to, subject, body)).unwrap();
}

#[tokio::test]
async fn a_notification_becomes_an_eml_file_with_the_right_recipient_and_subject() {
    let app = spawn_app().await;
    app.setup_owner().await;
    let ada = app.user_id(OWNER_EMAIL);
    tell(
        &app,
        &ada,
        Kind::Approved,
        "Your app Weather is approved",
        "/o/acme",
    );

    let mails = mail_to(&app, OWNER_EMAIL, "Your app Weather is approved").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(
        mail.contains("From: Gatehouse <gatehouse@localhost>"),
        "{mail}"
    );
    assert!(mail.contains("Details of: Your app Weather is approved"));
    assert!(mail.contains(&format!("{}/o/acme", app.base)));
    assert!(mail.contains(&format!("{}/account/notifications", app.base)));
    // Sent: the body (which may hold a link) is not kept.
    let (status, attempts, _, error, body) = outbox_row(&app, "Your app Weather is approved");
    assert_eq!(
        (status.as_str(), attempts, error.as_str(), body.as_str()),
        ("sent", 1, "", "")
    );
}

#[tokio::test]
async fn failed_sends_back_off_then_go_dead_and_an_owner_retries_them() {
    let app = spawn_app_with(|s| s.smtp_url = Some(UNREACHABLE_SMTP.into())).await;
    let ada = app.setup_owner().await;
    let secret = "https://example.com/reset-password/SECRET-LINK-TOKEN";
    queue(&app, "bob@example.com", "Reset your password", secret);

    let backoffs = [30, 60, 120, 240, 480, 960, 1920];
    for (i, wait) in backoffs.iter().enumerate() {
        app.deliver_mail().await;
        let (status, attempts, next, error, _) = outbox_row(&app, "Reset your password");
        assert_eq!(status, "pending");
        assert_eq!(attempts, i32::try_from(i).unwrap() + 1);
        // (PostgreSQL keeps microseconds.)
        let expected = app.clock.now_naive() + Duration::seconds(*wait);
        assert!(
            (next - expected).abs() < Duration::milliseconds(1),
            "{next} {expected}"
        );
        assert!(!error.is_empty());
        // Not due a second early.
        app.clock.advance(Duration::seconds(wait - 1));
        app.deliver_mail().await;
        assert_eq!(outbox_row(&app, "Reset your password").1, attempts);
        app.clock.advance(Duration::seconds(1));
    }
    app.deliver_mail().await;
    let (status, attempts, _, error, _) = outbox_row(&app, "Reset your password");
    assert_eq!((status.as_str(), attempts), ("dead", 8));
    assert!(!error.is_empty());
    // Dead stays dead.
    app.clock.advance(Duration::hours(5));
    app.deliver_mail().await;
    assert_eq!(outbox_row(&app, "Reset your password").1, 8);

    // The owner sees it (subject, never the body) and puts it back in the queue.
    let page = ada.get("/admin/outbox").await;
    page.assert_status(200);
    assert!(page.contains("bob@example.com"));
    assert!(page.contains("Reset your password"));
    assert!(!page.contains("SECRET-LINK-TOKEN"));
    let id: String = {
        let mut c = conn(&app);
        let c: &mut DbConnection = &mut c;
        email_outbox::table
            .filter(email_outbox::subject.eq("Reset your password"))
            .select(email_outbox::id)
            .first(c)
            .unwrap()
    };
    let retry = format!("/admin/outbox/{id}/retry");
    ada.submit("/admin/outbox", &retry, &[])
        .await
        .assert_redirect("/admin/outbox");
    let (status, attempts, _, _, _) = outbox_row(&app, "Reset your password");
    assert_eq!((status.as_str(), attempts), ("pending", 0));
    // Retrying a message that is not dead is refused.
    let again = ada.submit("/admin/outbox", &retry, &[]).await;
    again.assert_redirect("/admin/outbox");
    assert!(
        ada.get("/admin/outbox")
            .await
            .contains("This message is not dead")
    );
    app.deliver_mail().await;
    assert_eq!(outbox_row(&app, "Reset your password").1, 1);
    assert_eq!(app.count("audit_events WHERE action = 'outbox.retried'"), 1);
}

#[tokio::test]
async fn queued_mail_survives_a_restart_and_a_crash_mid_send() {
    // The first instance cannot reach its mail server: everything stays queued.
    let first = spawn_app_with(|s| s.smtp_url = Some(UNREACHABLE_SMTP.into())).await;
    first.setup_owner().await;
    for n in 1..=3 {
        queue(
            &first,
            &format!("user{n}@example.com"),
            &format!("Queued {n}"),
            "hello",
        );
    }
    first.deliver_mail().await;
    for n in 1..=3 {
        let (status, attempts, ..) = outbox_row(&first, &format!("Queued {n}"));
        assert_eq!((status.as_str(), attempts), ("pending", 1));
    }
    // An instance claims a fourth message and dies before it can mark it sent.
    queue(&first, "user4@example.com", "Claimed 4", "hello");
    {
        let mut c = conn(&first);
        let c: &mut DbConnection = &mut c;
        let now = first.clock.now_naive();
        let lease = now + Duration::minutes(10);
        let claimed = gatehouse::services::outbox::claim_next(c, now, lease)
            .expect("claim")
            .expect("the fourth message is due and claimed")
            .email;
        assert_eq!(
            (claimed.to_address.as_str(), claimed.subject.as_str()),
            ("user4@example.com", "Claimed 4")
        );
        assert_eq!((claimed.status.as_str(), claimed.attempts), ("pending", 1));
        assert_eq!(claimed.next_attempt_at, lease, "leased to its sender");
        // While the lease holds, nobody else claims it (nor the three backing off).
        assert!(
            gatehouse::services::outbox::claim_next(c, now, lease)
                .expect("claim")
                .is_none()
        );
    }

    // A new instance on the same database, with working mail and a clock past the
    // backoff and the dead sender's lease, delivers all four.
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_path_buf()),
        database_url: Some(first.database_url.clone()),
        workers: Some(1),
        password_hash_threads: Some(1),
        ..Settings::default()
    };
    let clock = Arc::new(TestClock::new(first.clock.now() + Duration::minutes(11)));
    let second = Application::build(Config::resolve(&settings).unwrap(), clock).unwrap();
    let state = second.state();
    tokio::spawn(second.run_until_stopped());
    state.delivery().deliver_due(None).await.unwrap();
    let mails = emails_in(dir.path());
    // The four, and the owner's verification link from first-run setup.
    assert_eq!(mails.len(), 5, "{mails:?}");
    for (to, subject) in [
        (OWNER_EMAIL, "Confirm your email address"),
        ("user1@example.com", "Queued 1"),
        ("user2@example.com", "Queued 2"),
        ("user3@example.com", "Queued 3"),
        ("user4@example.com", "Claimed 4"),
    ] {
        assert!(
            mails.iter().any(|m| m.contains(&format!("To: {to}\r\n"))
                && m.contains(&format!("Subject: {subject}\r\n"))),
            "{to}"
        );
        assert_eq!(outbox_row(&first, subject).0, "sent");
    }
    assert_eq!(first.count("email_outbox WHERE status <> 'sent'"), 0);
}

#[tokio::test]
async fn a_graceful_shutdown_stops_the_outbox_worker_after_its_current_message() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, postgres) = crate::kit::new_database(dir.path());
    let settings = Settings {
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_path_buf()),
        database_url: Some(database_url.clone()),
        workers: Some(1),
        password_hash_threads: Some(1),
        ..Settings::default()
    };
    let clock = Arc::new(TestClock::default());
    let app = Application::build(Config::resolve(&settings).unwrap(), clock.clone()).unwrap();
    let state = app.state();
    let handle = app.server_handle();
    let running = tokio::spawn(app.run_until_stopped());
    let queue_one = |subject: &str| {
        let mut c = state.pool.get().unwrap();
        let c: &mut DbConnection = &mut c;
        let ctx = Ctx::system(clock.now_naive());
        write_transaction(c, |c| {
            queue_email(c, &ctx, "ops@example.com", subject, "hi")
        })
        .unwrap();
    };
    queue_one("Before shutdown");
    // The worker picks it up on its own.
    for _ in 0..50 {
        if !emails_in(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(emails_in(dir.path()).len(), 1);

    handle.stop(true).await;
    tokio::time::timeout(std::time::Duration::from_secs(10), running)
        .await
        .expect("the app stops, worker included")
        .unwrap()
        .unwrap();
    // Stopped: nothing more is sent, and what is queued stays queued for the next start.
    queue_one("After shutdown");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(emails_in(dir.path()).len(), 1);
    let status: String = {
        let mut c = state.pool.get().unwrap();
        let c: &mut DbConnection = &mut c;
        email_outbox::table
            .filter(email_outbox::subject.eq("After shutdown"))
            .select(email_outbox::status)
            .first(c)
            .unwrap()
    };
    assert_eq!(status, "pending");
    drop(state);
    if let Some((admin, name)) = postgres {
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        use diesel::connection::SimpleConnection;
        let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}

#[tokio::test]
async fn inbox_items_appear_with_a_count_and_are_marked_read_only_by_their_owner() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let mo = app.join(&ada, "acme", "mo@example.com", "developer").await;
    let ada_id = app.user_id(OWNER_EMAIL);
    assert!(
        !ada.get("/account")
            .await
            .contains("<span class=\"count\" aria-hidden=\"true\">1</span>")
    );

    tell(
        &app,
        &ada_id,
        Kind::ApprovalRequested,
        "Weather waits for approval",
        "/o/acme",
    );
    app.clock.advance(Duration::seconds(1));
    tell(
        &app,
        &ada_id,
        Kind::Suspended,
        "Maps was suspended",
        "/o/acme/apps",
    );
    let account = ada.get("/account").await;
    assert!(
        account.contains("Notifications: 2 unread"),
        "{}",
        account.body
    );
    assert!(account.contains("<span class=\"count\" aria-hidden=\"true\">2</span>"));

    let inbox = ada.get("/notifications").await;
    inbox.assert_status(200);
    let newer = inbox.body.find("Maps was suspended").unwrap();
    let older = inbox.body.find("Weather waits for approval").unwrap();
    assert!(newer < older, "newest first");
    assert!(inbox.contains("href=\"/o/acme/apps\""));
    // Mo has nothing and cannot touch Ada's items.
    assert!(
        !mo.get("/notifications")
            .await
            .contains("Maps was suspended")
    );
    let id: String = {
        use gatehouse::db::schema::notifications;
        let mut c = conn(&app);
        let c: &mut DbConnection = &mut c;
        notifications::table
            .filter(notifications::title.eq("Maps was suspended"))
            .select(notifications::id)
            .first(c)
            .unwrap()
    };
    let read = format!("/notifications/{id}/read");
    mo.submit("/notifications", &read, &[])
        .await
        .assert_status(404);
    assert_eq!(app.count("notifications WHERE read_at IS NOT NULL"), 0);

    ada.submit("/notifications", &read, &[])
        .await
        .assert_redirect("/notifications");
    assert!(
        ada.get("/account")
            .await
            .contains("Notifications: 1 unread")
    );
    ada.submit("/notifications", "/notifications/read-all", &[])
        .await
        .assert_redirect("/notifications");
    assert!(
        ada.get("/account")
            .await
            .contains("Notifications: 0 unread")
    );
    assert_eq!(app.count("notifications WHERE read_at IS NULL"), 0);

    // Long inboxes are paged, newest first.
    for n in 0..25 {
        app.clock.advance(Duration::seconds(1));
        tell(
            &app,
            &ada_id,
            Kind::Approved,
            &format!("Item number {n:02}"),
            "/o/acme",
        );
    }
    let first = ada.get("/notifications").await;
    assert!(first.contains("Item number 24"));
    assert!(!first.contains("Weather waits for approval"));
    assert!(!first.contains("rel=\"prev\""));
    let next = next_link(&first.body).expect("a Next link");
    let second = ada.get(&format!("/notifications{next}")).await;
    assert!(second.contains("Weather waits for approval"));
    assert!(!second.contains("Item number 24"));
    assert!(second.contains("rel=\"prev\""));
    assert_eq!(next_link(&second.body), None);
}

/// The query of a page's Next link (`?cursor=…`), if it has one.
fn next_link(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(body[start..end].replace("&amp;", "&"))
}

#[tokio::test]
async fn turning_email_off_keeps_the_inbox_item_but_sends_no_email() {
    let app = spawn_app().await;
    let ada = app.setup_owner().await;
    let ada_id = app.user_id(OWNER_EMAIL);
    let settings = ada.get("/account/notifications").await;
    settings.assert_status(200);
    assert!(settings.contains("name=\"email_approved\" value=\"on\" checked"));

    // Email for rejections only.
    ada.submit(
        "/account/notifications",
        "/account/notifications",
        &[("email_rejected", "on")],
    )
    .await
    .assert_redirect("/account/notifications");
    let settings = ada.get("/account/notifications").await;
    assert!(!settings.contains("name=\"email_approved\" value=\"on\" checked"));
    assert!(settings.contains("name=\"email_rejected\" value=\"on\" checked"));
    // An unknown setting is refused and changes nothing.
    ada.submit(
        "/account/notifications",
        "/account/notifications",
        &[("email_bogus", "on")],
    )
    .await
    .assert_status(400);
    assert_eq!(app.count("notification_preferences WHERE email"), 1);

    tell(&app, &ada_id, Kind::Approved, "Approved quietly", "/o/acme");
    tell(&app, &ada_id, Kind::Rejected, "Rejected loudly", "/o/acme");
    let inbox = ada.get("/notifications").await;
    assert!(inbox.contains("Approved quietly"));
    assert!(inbox.contains("Rejected loudly"));
    assert_eq!(
        app.count("email_outbox WHERE subject = 'Approved quietly'"),
        0
    );
    assert_eq!(mail_to(&app, OWNER_EMAIL, "Rejected loudly").await.len(), 1);
    assert!(
        mail_to(&app, OWNER_EMAIL, "Approved quietly")
            .await
            .is_empty()
    );

    // And back on.
    ada.submit(
        "/account/notifications",
        "/account/notifications",
        &[("email_approved", "on"), ("email_rejected", "on")],
    )
    .await
    .assert_redirect("/account/notifications");
    tell(&app, &ada_id, Kind::Approved, "Approved again", "/o/acme");
    assert_eq!(mail_to(&app, OWNER_EMAIL, "Approved again").await.len(), 1);
}
