//! Typed configuration. Each setting is a flag and a `GATEHOUSE_*` variable (clap reads
//! both, flag first), then an optional TOML file (`--config`), then a default.
//! [`Config::resolve`] checks everything and fails with one sentence before anything
//! binds or opens.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

/// Settings as given on the command line, in the environment or in the config file.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// TOML file with any of these settings (flags and environment win over it).
    #[arg(long, env = "GATEHOUSE_CONFIG", global = true, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "GATEHOUSE_BIND", global = true, value_name = "ADDR")]
    pub bind: Option<String>,

    /// Directory for the SQLite database, the secret key and other files [default: ./data].
    #[arg(long, env = "GATEHOUSE_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// `sqlite://PATH` or `postgres://USER@HOST:PORT/DB` [default: sqlite://DATA_DIR/gatehouse.db].
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_URL",
        global = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,

    /// The URL people use to reach the portal: links and the Origin check [default: http://BIND].
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL", global = true, value_name = "URL")]
    pub public_url: Option<String>,

    /// Comma-separated CIDRs of proxies whose X-Forwarded-For is believed [default: none].
    #[arg(
        long,
        env = "GATEHOUSE_TRUSTED_PROXIES",
        global = true,
        value_name = "CIDRS",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,

    /// File holding the instance secret key [default: DATA_DIR/secret.key, generated on first run].
    #[arg(
        long,
        env = "GATEHOUSE_SECRET_KEY_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub secret_key_file: Option<PathBuf>,

    /// A session ends after this long without a request, e.g. 30m, 12h [default: 12h].
    #[arg(
        long,
        env = "GATEHOUSE_SESSION_IDLE_TIMEOUT",
        global = true,
        value_name = "DURATION"
    )]
    pub session_idle_timeout: Option<String>,

    /// A session ends this long after sign-in whatever happens, e.g. 7d [default: 7d].
    #[arg(
        long,
        env = "GATEHOUSE_SESSION_LIFETIME",
        global = true,
        value_name = "DURATION"
    )]
    pub session_lifetime: Option<String>,

    /// Instance part of credential prefixes, e.g. `gate` in `gate_key_…` [default: gate].
    #[arg(
        long,
        env = "GATEHOUSE_CREDENTIAL_PREFIX",
        global = true,
        value_name = "NAME"
    )]
    pub credential_prefix: Option<String>,

    /// Longest overlap an old credential may keep after a rotation, e.g. 7d [default: 30d].
    #[arg(
        long,
        env = "GATEHOUSE_MAX_CREDENTIAL_OVERLAP",
        global = true,
        value_name = "DURATION"
    )]
    pub max_credential_overlap: Option<String>,

    /// File with a server-side pepper for credential hashes [default: none].
    #[arg(
        long,
        env = "GATEHOUSE_CREDENTIAL_PEPPER_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub credential_pepper_file: Option<PathBuf>,

    /// Log format: `text` or `json` [default: text].
    #[arg(
        long,
        env = "GATEHOUSE_LOG_FORMAT",
        global = true,
        value_name = "FORMAT"
    )]
    pub log_format: Option<String>,

    /// HTTP worker threads [default: number of CPUs].
    #[arg(long, env = "GATEHOUSE_WORKERS", global = true, value_name = "N")]
    pub workers: Option<usize>,

    /// Threads reserved for password hashing [default: 2].
    #[arg(
        long,
        env = "GATEHOUSE_PASSWORD_HASH_THREADS",
        global = true,
        value_name = "N"
    )]
    pub password_hash_threads: Option<usize>,

    /// Milliseconds a request waits for SQLite's write lock before it is answered 503
    /// (Service Unavailable, with Retry-After) [default: 10000].
    #[arg(
        long,
        env = "GATEHOUSE_SQLITE_BUSY_TIMEOUT",
        global = true,
        value_name = "MS"
    )]
    pub sqlite_busy_timeout: Option<u64>,

    /// Mail server: `smtp://USER:PASS@HOST:PORT` (STARTTLS), `smtps://…` (TLS) or
    /// `smtp+plain://HOST:PORT` (no TLS, a local relay) [default: `.eml` files in DATA_DIR/mail].
    #[arg(long, env = "GATEHOUSE_SMTP_URL", global = true, value_name = "URL")]
    pub smtp_url: Option<String>,

    /// Sender of every email, e.g. `Gatehouse <portal@example.com>` [default: Gatehouse <gatehouse@localhost>].
    #[arg(
        long,
        env = "GATEHOUSE_MAIL_FROM",
        global = true,
        value_name = "ADDRESS"
    )]
    pub mail_from: Option<String>,
}

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

/// The externally visible base URL, e.g. `https://portal.example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// Scheme, host and port, without a trailing slash.
    pub origin: String,
    /// Path prefix without a trailing slash ("" at the root).
    pub path: String,
    pub https: bool,
}

impl PublicUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let err = || {
            bad(format!(
                "public URL {raw:?} is not valid: give an absolute http:// or https:// URL such as https://portal.example.com"
            ))
        };
        let (https, rest) = if let Some(rest) = raw.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = raw.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(err());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let valid_char = |c: char| c.is_ascii_alphanumeric() || "-.:[]_".contains(c);
        if authority.is_empty()
            || !authority.chars().all(valid_char)
            || path.contains(['?', '#'])
            || path.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(err());
        }
        let scheme = if https { "https" } else { "http" };
        Ok(Self {
            origin: format!("{scheme}://{}", authority.to_ascii_lowercase()),
            path: path.to_string(),
            https,
        })
    }

    /// An absolute URL for a path that starts with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}{}", self.origin, self.path, path)
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(Self::Postgres(raw.to_string()))
        } else if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            if path.is_empty() || path == ":memory:" {
                return Err(bad(
                    "the SQLite database URL needs a file path, e.g. sqlite://data/gatehouse.db",
                ));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else {
            Err(bad(format!(
                "database URL {:?} is not supported: use sqlite://PATH or postgres://USER@HOST:PORT/DB",
                redact_url(raw)
            )))
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// The URL with any password replaced, for messages.
pub fn redact_url(raw: &str) -> String {
    if let Some((scheme, rest)) = raw.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _password)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:[redacted]@{host}");
    }
    raw.to_string()
}

/// Parses `90s`, `30m`, `12h`, `7d` or a number of seconds.
/// How long an SQLite connection waits for the write lock (or a lock a checkpoint
/// holds) before giving up with "database is locked", unless configured otherwise.
/// Every write takes the lock up front (`BEGIN IMMEDIATE`), so a burst of writers
/// queues here; a request still waiting after this long is answered 503.
pub const DEFAULT_SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    // Longer than a century is a typo, and would overflow date arithmetic.
    (secs > 0 && secs <= MAX_DURATION_SECS).then(|| Duration::from_secs(secs))
}

/// The longest duration any setting accepts: 100 years.
pub const MAX_DURATION_SECS: u64 = 100 * 366 * 86_400;

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
    pub mail_transport: crate::mail::MailTransport,
    /// The sender of every email.
    pub mail_from: crate::mail::Mailbox,
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
            Some(raw) => crate::mail::MailTransport::parse_smtp_url(&raw).map_err(bad)?,
            None => crate::mail::MailTransport::Files(data_dir.join("mail")),
        };
        let mail_from = pick(&given.mail_from, &file.mail_from)
            .unwrap_or_else(|| "Gatehouse <gatehouse@localhost>".into());
        let mail_from = mail_from.trim().parse::<crate::mail::Mailbox>().map_err(|_| {
            bad(format!(
                "mail sender {mail_from:?} is not an email address: use name@example.com or Name <name@example.com>"
            ))
        })?;

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

fn read_file(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        let reason = e.message().to_string();
        bad(format!(
            "config file {} is not valid: {reason}",
            path.display()
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
