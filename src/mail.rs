//! The mail transport: SMTP with STARTTLS or TLS, a plain local relay, or `.eml` files
//! in the data directory, as configured in [`crate::config::MailTransport`]. The outbox
//! worker that sends what the services queued lives in [`crate::jobs::outbox`].

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailTransport, Mailbox, SmtpSecurity, files};

const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a message was not sent.
#[derive(Debug)]
pub struct SendError {
    /// The server or the message itself says it will never work (5xx, a bad address).
    pub permanent: bool,
    pub message: String,
}

enum Transport {
    /// One `.eml` file per message in this directory (0700), each 0600: they hold links.
    Files(PathBuf),
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
    /// Builds the transport (creating the mail directory, 0700, for the file transport).
    pub fn new(transport: &MailTransport, from: Mailbox) -> Result<Self, String> {
        let transport = match transport {
            MailTransport::Files(dir) => {
                files::create_private_dir(dir).map_err(|e| {
                    format!("cannot create the mail directory {}: {e}", dir.display())
                })?;
                Transport::Files(dir.clone())
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
            Transport::Files(dir) => {
                let path = dir.join(format!("{}.eml", uuid::Uuid::new_v4()));
                let formatted = message.formatted();
                let written = tokio::task::spawn_blocking(move || {
                    files::create_private_file(&path)?.write_all(&formatted)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                written.map_err(|e| SendError {
                    permanent: false,
                    message: format!("cannot write the message file: {e}"),
                })
            }
            Transport::Smtp(t) => t.send(message).await.map(drop).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
        }
    }
}
