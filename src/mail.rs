//! Email delivery: the transport (SMTP with STARTTLS or TLS, a plain local relay, or
//! `.eml` files in the data directory) and the outbox worker that sends what the
//! services queued in `email_outbox`.
//!
//! Delivery is at-least-once: a message is claimed (its attempt counted and its next
//! attempt pushed a lease into the future) before it is sent and marked `sent` after,
//! so a crash in between sends it again after the lease, and never loses it. Failures
//! back off exponentially; after [`MAX_ATTEMPTS`] the message is `dead` and waits for
//! an instance owner to retry it.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

pub use lettre::message::Mailbox;

use crate::crypto::SecretString;
use crate::error::AppResult;
use crate::services::outbox;
use crate::state::AppState;

/// A message goes `dead` after this many failed attempts.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed message is left alone before another pass may send it again
/// (its sender is presumed dead). Longer than any SMTP conversation.
pub const LEASE: Duration = Duration::from_secs(600);
/// How often the worker looks for due messages.
const POLL: Duration = Duration::from_millis(1500);
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The wait before the next attempt after `attempts` failed ones: 30 s, 1 min, 2 min …
/// at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(10);
    chrono::Duration::seconds((30i64 << exp).min(3600))
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: plain connection upgraded with STARTTLS (required).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp+plain://`: no TLS at all, for a relay on the same machine or network.
    Plain,
}

/// A parsed `--smtp-url`. The password never prints.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub security: SmtpSecurity,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

/// Where email goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// One `.eml` file per message in this directory (the default: nothing is lost in
    /// development, and nothing leaves the machine).
    Files(PathBuf),
    Smtp(SmtpSettings),
}

impl MailTransport {
    /// Parses `smtp://`, `smtps://` or `smtp+plain://[USER[:PASS]@]HOST[:PORT]`; the error
    /// is one sentence that never repeats the password.
    pub fn parse_smtp_url(raw: &str) -> Result<Self, String> {
        let shown = crate::config::redact_url(raw);
        let invalid = |why: &str| format!("SMTP URL {shown:?} is not valid: {why}");
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| invalid("use smtp://, smtps:// or smtp+plain://"))?;
        let (security, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (SmtpSecurity::StartTls, 587),
            "smtps" => (SmtpSecurity::Tls, 465),
            "smtp+plain" => (SmtpSecurity::Plain, 25),
            _ => return Err(invalid("use smtp://, smtps:// or smtp+plain://")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(invalid("it must not have a path or query"));
        }
        let (userinfo, authority) = match rest.rsplit_once('@') {
            Some((u, a)) => (Some(u), a),
            None => (None, rest),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))?;
                (h, port)
            }
            _ => (authority, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it needs a host name"));
        }
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, pass) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = percent_decode(user)
                    .ok_or_else(|| invalid("the user name is not percent-encoded correctly"))?;
                let pass = pass
                    .map(|p| {
                        percent_decode(p)
                            .ok_or_else(|| invalid("the password is not percent-encoded correctly"))
                    })
                    .transpose()?;
                if user.is_empty() {
                    return Err(invalid("a password needs a user name"));
                }
                (Some(user), pass.map(SecretString::new))
            }
        };
        if username.is_some() && security == SmtpSecurity::Plain {
            return Err(invalid(
                "credentials are never sent without TLS: use smtp:// or smtps://",
            ));
        }
        Ok(Self::Smtp(SmtpSettings {
            security,
            host: host.to_string(),
            port,
            username,
            password,
        }))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Why a message was not sent.
#[derive(Debug)]
pub struct SendError {
    /// The server or the message itself says it will never work (5xx, a bad address).
    pub permanent: bool,
    pub message: String,
}

enum Transport {
    Files(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends one message at a time through the configured transport.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.transport {
            Transport::Files(_) => "files",
            Transport::Smtp(_) => "smtp",
        };
        write!(f, "Mailer({kind})")
    }
}

impl Mailer {
    /// Builds the transport (creating the mail directory for the file transport).
    pub fn new(transport: &MailTransport, from: Mailbox) -> Result<Self, String> {
        let transport = match transport {
            MailTransport::Files(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    format!("cannot create the mail directory {}: {e}", dir.display())
                })?;
                Transport::Files(AsyncFileTransport::new(dir))
            }
            MailTransport::Smtp(s) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(s.port)
                    .timeout(Some(SMTP_TIMEOUT));
                let tls = || {
                    TlsParameters::new(s.host.clone())
                        .map_err(|e| format!("cannot set up TLS for the mail server: {e}"))
                };
                builder = match s.security {
                    SmtpSecurity::StartTls => builder.tls(Tls::Required(tls()?)),
                    SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
                    SmtpSecurity::Plain => builder.tls(Tls::None),
                };
                if let Some(user) = &s.username {
                    let password = s
                        .password
                        .as_ref()
                        .map(|p| p.expose().to_string())
                        .unwrap_or_default();
                    builder = builder.credentials(Credentials::new(user.clone(), password));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Self { transport, from })
    }

    /// Sends one plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError> {
        let to: Mailbox = to.parse().map_err(|_| SendError {
            permanent: true,
            message: "the recipient is not a valid email address".into(),
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| SendError {
                permanent: true,
                message: format!("the message cannot be built: {e}"),
            })?;
        match &self.transport {
            Transport::Files(t) => t.send(message).await.map(drop).map_err(|e| SendError {
                permanent: false,
                message: format!("cannot write the message file: {e}"),
            }),
            Transport::Smtp(t) => t.send(message).await.map(drop).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
        }
    }
}

/// The mailer and the lock that keeps this instance to one outbox pass at a time
/// (a test's pass waits for the worker's, so it sees a settled outbox).
#[derive(Debug)]
pub struct Outbox {
    pub mailer: Mailer,
    pass: tokio::sync::Mutex<()>,
}

impl Outbox {
    pub fn new(mailer: Mailer) -> Self {
        Self {
            mailer,
            pass: tokio::sync::Mutex::new(()),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub failed: usize,
}

/// Sends every message that is due now, one at a time, until none is left or `stop`
/// says to stop (checked between messages, so the current send always finishes).
pub async fn deliver_due(
    state: &AppState,
    stop: Option<&watch::Receiver<bool>>,
) -> AppResult<PassReport> {
    let _one_pass = state.outbox.pass.lock().await;
    let mut report = PassReport::default();
    let lease = chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::minutes(10));
    loop {
        if stop.is_some_and(|s| *s.borrow()) {
            break;
        }
        let now = state.clock.now_naive();
        let Some(email) = state
            .db(move |conn| outbox::claim_next(conn, now, now + lease))
            .await?
        else {
            break;
        };
        if email.attempts > MAX_ATTEMPTS {
            // Earlier attempts never reported back (the process died while sending):
            // stop retrying and leave it for an admin.
            let id = email.id.clone();
            let now = state.clock.now_naive();
            state
                .db(move |conn| {
                    outbox::mark_failed(
                        conn,
                        &id,
                        now,
                        "gave up: earlier attempts did not finish",
                        true,
                    )
                })
                .await?;
            report.failed += 1;
            continue;
        }
        let result = state
            .outbox
            .mailer
            .send(&email.to_address, &email.subject, &email.body)
            .await;
        let now = state.clock.now_naive();
        let id = email.id.clone();
        match result {
            Ok(()) => {
                state
                    .db(move |conn| outbox::mark_sent(conn, &id, now))
                    .await?;
                tracing::info!(outbox_id = %email.id, attempts = email.attempts, "email sent");
                report.sent += 1;
            }
            Err(e) => {
                let attempts = email.attempts;
                let dead = e.permanent || attempts >= MAX_ATTEMPTS;
                let error: String = e.message.chars().take(500).collect();
                tracing::warn!(
                    outbox_id = %email.id,
                    attempts,
                    dead,
                    error = %error,
                    "email not sent"
                );
                // A dead message keeps the time of its last attempt.
                let next = if dead { now } else { now + backoff(attempts) };
                state
                    .db(move |conn| outbox::mark_failed(conn, &id, next, &error, dead))
                    .await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Starts the outbox worker: a pass every ~1.5 s until `stop` turns true; the pass in
/// flight finishes its current message first.
pub fn spawn_worker(
    state: actix_web::web::Data<AppState>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
            }
            if *stop.borrow() {
                break;
            }
            if let Err(e) = deliver_due(&state, Some(&stop)).await {
                tracing::warn!(error = ?e, "outbox pass failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_and_hide_the_password() {
        let MailTransport::Smtp(s) =
            MailTransport::parse_smtp_url("smtp://me%40x.com:p%3Ass@mail.example.com:2525")
                .unwrap()
        else {
            panic!("smtp expected")
        };
        assert_eq!(s.security, SmtpSecurity::StartTls);
        assert_eq!(s.host, "mail.example.com");
        assert_eq!(s.port, 2525);
        assert_eq!(s.username.as_deref(), Some("me@x.com"));
        assert_eq!(s.password.as_ref().map(SecretString::expose), Some("p:ss"));
        assert!(!format!("{s:?}").contains("p:ss"));

        let MailTransport::Smtp(s) =
            MailTransport::parse_smtp_url("smtps://mail.example.com").unwrap()
        else {
            panic!("smtp expected")
        };
        assert_eq!((s.security, s.port), (SmtpSecurity::Tls, 465));
        let MailTransport::Smtp(s) =
            MailTransport::parse_smtp_url("smtp+plain://127.0.0.1:1").unwrap()
        else {
            panic!("smtp expected")
        };
        assert_eq!(
            (s.security, s.port, s.username),
            (SmtpSecurity::Plain, 1, None)
        );

        for bad in [
            "http://mail.example.com",
            "smtp://",
            "smtp://host:0",
            "smtp://host:99999",
            "smtp://host/path",
            "smtp+plain://user:hunter2@relay:25",
            "smtp://:hunter2@host",
        ] {
            let err = MailTransport::parse_smtp_url(bad).unwrap_err();
            assert!(err.contains("SMTP URL"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), chrono::Duration::seconds(30));
        assert_eq!(backoff(2), chrono::Duration::seconds(60));
        assert_eq!(backoff(4), chrono::Duration::seconds(240));
        assert_eq!(backoff(7), chrono::Duration::seconds(1920));
        assert_eq!(backoff(8), chrono::Duration::seconds(3600));
        assert_eq!(backoff(100), chrono::Duration::seconds(3600));
    }
}
