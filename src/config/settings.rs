//! The settings as given: flags and `GATEHOUSE_*` variables (clap), or the TOML file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, bad};

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

    /// Serve `/metrics` on the main address to requests bearing this token (at least
    /// 16 characters) as `Authorization: Bearer` [default: none].
    #[arg(
        long,
        env = "GATEHOUSE_METRICS_TOKEN",
        global = true,
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,

    /// Also serve `/metrics`, without a token, on this address, e.g. 127.0.0.1:9090 [default: none].
    #[arg(
        long,
        env = "GATEHOUSE_METRICS_BIND",
        global = true,
        value_name = "ADDR"
    )]
    pub metrics_bind: Option<String>,

    /// Lifetime of access tokens, e.g. 15m, 1h [default: 15m]; capped per token by the
    /// smallest maximum credential lifetime among its products.
    #[arg(
        long,
        env = "GATEHOUSE_ACCESS_TOKEN_TTL",
        global = true,
        value_name = "DURATION"
    )]
    pub access_token_ttl: Option<String>,

    /// A refresh token dies after this long unused, e.g. 30d [default: 30d].
    #[arg(
        long,
        env = "GATEHOUSE_REFRESH_IDLE_TTL",
        global = true,
        value_name = "DURATION"
    )]
    pub refresh_idle_ttl: Option<String>,

    /// A chain of refresh tokens ends this long after its first, whatever happens [default: 90d].
    #[arg(
        long,
        env = "GATEHOUSE_REFRESH_ABSOLUTE_TTL",
        global = true,
        value_name = "DURATION"
    )]
    pub refresh_absolute_ttl: Option<String>,

    /// A spent refresh token presented again within this long gets a fresh pair (a
    /// client retrying after a lost answer) instead of revoking its chain [default: 10s].
    #[arg(
        long,
        env = "GATEHOUSE_REFRESH_REUSE_GRACE",
        global = true,
        value_name = "DURATION"
    )]
    pub refresh_reuse_grace: Option<String>,

    /// Algorithm of new token signing keys: EdDSA (Ed25519) or ES256 [default: EdDSA].
    #[arg(
        long,
        env = "GATEHOUSE_TOKEN_SIGNING_ALG",
        global = true,
        value_name = "ALG"
    )]
    pub token_signing_alg: Option<String>,
}

pub(super) fn read_file(path: &Path) -> Result<Settings, ConfigError> {
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
