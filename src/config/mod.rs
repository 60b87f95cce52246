//! Typed configuration. Each setting is a flag and a `GATEHOUSE_*` variable (clap reads
//! both, flag first), then an optional TOML file (`--config`), then a default.
//! [`Config::resolve`] checks everything and fails with one sentence before anything
//! binds or opens.
//!
//! The SMTP transport and sender are settings too ([`mail`]), so the mail sender reads
//! them from here rather than configuration reaching up into the mailer.

pub mod files;
mod mail;
mod settings;
mod urls;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

pub use mail::{MailTransport, Mailbox, SmtpSecurity, SmtpSettings};
pub use settings::Settings;
use settings::read_file;
pub use urls::{DatabaseUrl, MAX_DURATION_SECS, PublicUrl, parse_duration, redact_url};

/// A configuration problem, said in one sentence.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How long an SQLite connection waits for the write lock (or a lock a checkpoint
/// holds) before giving up with "database is locked", unless configured otherwise.
/// Every write takes the lock up front (`BEGIN IMMEDIATE`), so a burst of writers
/// queues here; a request still waiting after this long is answered 503.
pub const DEFAULT_SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The resolved, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub public_url: PublicUrl,
    /// False when `public_url` was derived from `bind` (then a port-0 bind updates it).
    pub public_url_given: bool,
    pub trusted_proxies: Vec<IpNet>,
    pub secret_key_file: PathBuf,
    pub session_idle_timeout: Duration,
    pub session_lifetime: Duration,
    pub credential_prefix: String,
    pub max_credential_overlap: Duration,
    pub credential_pepper_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub workers: usize,
    pub password_hash_threads: usize,
    /// How long an SQLite connection waits for the write lock.
    pub sqlite_busy_timeout: Duration,
    /// How email leaves: SMTP, or `.eml` files in the data directory.
    pub mail_transport: MailTransport,
    /// The sender of every email.
    pub mail_from: Mailbox,
    /// The bearer token `/metrics` on the main address requires (none: not served there).
    pub metrics_token: Option<crate::crypto::SecretString>,
    /// A second address serving only `/metrics`, without a token.
    pub metrics_bind: Option<SocketAddr>,
    /// Access and refresh token lifetimes and the signing algorithm.
    pub tokens: TokenSettings,
}

/// How the token endpoint and `/api/v1/login` issue tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSettings {
    pub access_ttl: Duration,
    pub refresh_idle: Duration,
    pub refresh_absolute: Duration,
    pub reuse_grace: Duration,
    pub alg: crate::signing::Alg,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_idle: Duration::from_secs(30 * 86_400),
            refresh_absolute: Duration::from_secs(90 * 86_400),
            reuse_grace: Duration::from_secs(10),
            alg: crate::signing::Alg::EdDsa,
        }
    }
}

/// The default public URL for a bind address.
pub fn public_url_for(bind: SocketAddr) -> Result<PublicUrl, ConfigError> {
    let host = match bind.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    PublicUrl::parse(&format!("http://{host}:{}", bind.port()))
}

impl Config {
    /// Merges flags/environment over the config file over defaults, and checks it all.
    pub fn resolve(given: &Settings) -> Result<Self, ConfigError> {
        let file = match &given.config {
            Some(path) => read_file(path)?,
            None => Settings::default(),
        };
        let pick = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());

        let bind_raw = pick(&given.bind, &file.bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_raw.parse().map_err(|_| {
            bad(format!(
                "bind address {bind_raw:?} is not valid: give IP:PORT such as 127.0.0.1:8080"
            ))
        })?;

        let data_dir = given
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        if data_dir.as_os_str().is_empty() {
            return Err(bad("the data directory must not be empty"));
        }

        let database_url = match pick(&given.database_url, &file.database_url) {
            Some(raw) => DatabaseUrl::parse(&raw)?,
            None => DatabaseUrl::Sqlite(data_dir.join("gatehouse.db")),
        };

        let public_url_given = given.public_url.is_some() || file.public_url.is_some();
        let public_url = match pick(&given.public_url, &file.public_url) {
            Some(raw) => PublicUrl::parse(&raw)?,
            None => public_url_for(bind)?,
        };

        let trusted_proxies = given
            .trusted_proxies
            .clone()
            .or(file.trusted_proxies)
            .unwrap_or_default()
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(parse_cidr)
            .collect::<Result<Vec<_>, _>>()?;

        let secret_key_file = given
            .secret_key_file
            .clone()
            .or(file.secret_key_file)
            .unwrap_or_else(|| data_dir.join("secret.key"));

        let duration = |name: &str, raw: Option<String>, default: u64| {
            match raw {
            None => Ok(Duration::from_secs(default)),
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                bad(format!(
                    "{name} {raw:?} is not a duration: use a number with s, m, h or d, such as 30m or 7d"
                ))
            }),
        }
        };
        let session_idle_timeout = duration(
            "session idle timeout",
            pick(&given.session_idle_timeout, &file.session_idle_timeout),
            12 * 3600,
        )?;
        let session_lifetime = duration(
            "session lifetime",
            pick(&given.session_lifetime, &file.session_lifetime),
            7 * 86_400,
        )?;
        if session_idle_timeout > session_lifetime {
            return Err(bad(
                "the session idle timeout must not be longer than the session lifetime",
            ));
        }

        let credential_prefix = pick(&given.credential_prefix, &file.credential_prefix)
            .unwrap_or_else(|| "gate".into());
        if !crate::credentials::valid_instance(&credential_prefix) {
            return Err(bad(format!(
                "credential prefix {credential_prefix:?} is not valid: use 1 to 16 lower-case letters and digits"
            )));
        }
        let max_credential_overlap = duration(
            "maximum credential overlap",
            pick(&given.max_credential_overlap, &file.max_credential_overlap),
            30 * 86_400,
        )?;
        let credential_pepper_file = given
            .credential_pepper_file
            .clone()
            .or(file.credential_pepper_file);

        let log_format = match pick(&given.log_format, &file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(bad(format!(
                    "log format {other:?} is not known: use text or json"
                )));
            }
        };

        let workers = given.workers.or(file.workers).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        if !(1..=512).contains(&workers) {
            return Err(bad("workers must be between 1 and 512"));
        }
        let password_hash_threads = given
            .password_hash_threads
            .or(file.password_hash_threads)
            .unwrap_or(2);
        if !(1..=64).contains(&password_hash_threads) {
            return Err(bad("password hash threads must be between 1 and 64"));
        }
        let sqlite_busy_timeout = match given.sqlite_busy_timeout.or(file.sqlite_busy_timeout) {
            None => DEFAULT_SQLITE_BUSY_TIMEOUT,
            Some(ms @ 1..=600_000) => Duration::from_millis(ms),
            Some(other) => {
                return Err(bad(format!(
                    "the SQLite busy timeout must be between 1 and 600000 milliseconds, not {other}"
                )));
            }
        };

        let mail_transport = match pick(&given.smtp_url, &file.smtp_url) {
            Some(raw) => MailTransport::parse_smtp_url(&raw).map_err(bad)?,
            None => MailTransport::Files(data_dir.join("mail")),
        };
        let mail_from = pick(&given.mail_from, &file.mail_from)
            .unwrap_or_else(|| "Gatehouse <gatehouse@localhost>".into());
        let mail_from = mail_from.trim().parse::<Mailbox>().map_err(|_| {
            bad(format!(
                "mail sender {mail_from:?} is not an email address: use name@example.com or Name <name@example.com>"
            ))
        })?;

        let metrics_token = match pick(&given.metrics_token, &file.metrics_token) {
            None => None,
            Some(token) if token.chars().count() < 16 || token.chars().any(char::is_whitespace) => {
                return Err(bad(
                    "the metrics token must be at least 16 characters with no spaces",
                ));
            }
            Some(token) => Some(crate::crypto::SecretString::new(token)),
        };
        let metrics_bind = match pick(&given.metrics_bind, &file.metrics_bind) {
            None => None,
            Some(raw) => Some(raw.parse::<SocketAddr>().map_err(|_| {
                bad(format!(
                    "metrics bind address {raw:?} is not valid: give IP:PORT such as 127.0.0.1:9090"
                ))
            })?),
        };

        let defaults = TokenSettings::default();
        let tokens = TokenSettings {
            access_ttl: duration(
                "access token lifetime",
                pick(&given.access_token_ttl, &file.access_token_ttl),
                defaults.access_ttl.as_secs(),
            )?,
            refresh_idle: duration(
                "refresh token idle lifetime",
                pick(&given.refresh_idle_ttl, &file.refresh_idle_ttl),
                defaults.refresh_idle.as_secs(),
            )?,
            refresh_absolute: duration(
                "refresh token absolute lifetime",
                pick(&given.refresh_absolute_ttl, &file.refresh_absolute_ttl),
                defaults.refresh_absolute.as_secs(),
            )?,
            reuse_grace: duration(
                "refresh token reuse grace",
                pick(&given.refresh_reuse_grace, &file.refresh_reuse_grace),
                defaults.reuse_grace.as_secs(),
            )?,
            alg: match pick(&given.token_signing_alg, &file.token_signing_alg) {
                None => defaults.alg,
                Some(raw) => crate::signing::Alg::parse(raw.trim()).ok_or_else(|| {
                    bad(format!(
                        "token signing algorithm {raw:?} is not supported: use EdDSA or ES256"
                    ))
                })?,
            },
        };
        if tokens.access_ttl > Duration::from_secs(30 * 86_400) {
            return Err(bad("the access token lifetime must be at most 30d"));
        }
        if tokens.refresh_idle > tokens.refresh_absolute {
            return Err(bad(
                "the refresh token idle lifetime must not be longer than its absolute lifetime",
            ));
        }
        if tokens.reuse_grace > Duration::from_secs(300) {
            return Err(bad("the refresh token reuse grace must be at most 5m"));
        }

        Ok(Self {
            bind,
            data_dir,
            database_url,
            public_url,
            public_url_given,
            trusted_proxies,
            secret_key_file,
            session_idle_timeout,
            session_lifetime,
            credential_prefix,
            max_credential_overlap,
            credential_pepper_file,
            log_format,
            workers,
            password_hash_threads,
            sqlite_busy_timeout,
            mail_transport,
            mail_from,
            metrics_token,
            metrics_bind,
            tokens,
        })
    }
}

fn parse_cidr(raw: &str) -> Result<IpNet, ConfigError> {
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            bad(format!(
                "trusted proxy {raw:?} is not an IP address or CIDR such as 10.0.0.0/8"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(f: impl FnOnce(&mut Settings)) -> Result<Config, ConfigError> {
        let mut s = Settings::default();
        f(&mut s);
        Config::resolve(&s)
    }

    #[test]
    fn defaults_are_local_and_sqlite() {
        let c = resolve(|_| {}).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url.origin, "http://127.0.0.1:8080");
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("data/gatehouse.db"))
        );
        assert_eq!(c.secret_key_file, PathBuf::from("data/secret.key"));
        assert_eq!(c.session_idle_timeout, Duration::from_secs(12 * 3600));
    }

    #[test]
    fn bad_values_are_one_sentence() {
        for (f, needle) in [
            (
                Box::new(|s: &mut Settings| s.bind = Some("nowhere".into()))
                    as Box<dyn FnOnce(&mut Settings)>,
                "bind address",
            ),
            (
                Box::new(|s: &mut Settings| s.database_url = Some("mysql://x".into())),
                "not supported",
            ),
            (
                Box::new(|s: &mut Settings| s.public_url = Some("ftp://x".into())),
                "public URL",
            ),
            (
                Box::new(|s: &mut Settings| s.trusted_proxies = Some(vec!["10.0.0.0/33".into()])),
                "trusted proxy",
            ),
            (
                Box::new(|s: &mut Settings| s.session_lifetime = Some("forever".into())),
                "not a duration",
            ),
            (
                Box::new(|s: &mut Settings| s.log_format = Some("xml".into())),
                "log format",
            ),
            (
                Box::new(|s: &mut Settings| s.metrics_token = Some("fifteen-chars..".into())),
                "metrics token",
            ),
            (
                Box::new(|s: &mut Settings| {
                    s.metrics_token = Some("sixteen chars ok".into());
                }),
                "no spaces",
            ),
            (
                Box::new(|s: &mut Settings| s.metrics_bind = Some("localhost".into())),
                "metrics bind address",
            ),
            (
                Box::new(|s: &mut Settings| s.smtp_url = Some("http://mail.example.com".into())),
                "SMTP URL",
            ),
            (
                Box::new(|s: &mut Settings| s.smtp_url = Some("smtp://:pw@/".into())),
                "SMTP URL",
            ),
            (
                Box::new(|s: &mut Settings| s.mail_from = Some("not an address".into())),
                "mail sender",
            ),
        ] {
            let err = resolve(f).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatehouse.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:9000\"\npublic_url = \"https://portal.example.com/\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        )
        .unwrap();
        let c = resolve(|s| {
            s.config = Some(path.clone());
            s.bind = Some("127.0.0.1:9100".into());
        })
        .unwrap();
        assert_eq!(c.bind.port(), 9100);
        assert_eq!(c.public_url.origin, "https://portal.example.com");
        assert!(c.public_url.https);
        assert_eq!(c.trusted_proxies.len(), 1);

        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let err = resolve(|s| s.config = Some(path.clone()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn public_url_hosts() {
        for (url, host) in [
            ("https://portal.example.com/gh", "portal.example.com"),
            ("http://127.0.0.1:8080", "127.0.0.1"),
            ("http://[::1]:8080", "::1"),
            ("https://Portal.Example.com:8443", "portal.example.com"),
        ] {
            assert_eq!(PublicUrl::parse(url).unwrap().host(), host, "{url}");
        }
    }

    #[test]
    fn durations_and_redaction() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("5w"), None);
        assert_eq!(parse_duration("10000000000000000"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
        assert_eq!(
            redact_url("postgres://me:pw@db:5432/x"),
            "postgres://me:[redacted]@db:5432/x"
        );
    }
}
