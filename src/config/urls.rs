//! The values of settings that need parsing: the public and database URLs, durations.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, bad};

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

    /// The host, without scheme, port or IPv6 brackets (`portal.example.com`).
    pub fn host(&self) -> &str {
        let authority = self
            .origin
            .split_once("://")
            .map_or(self.origin.as_str(), |(_, rest)| rest);
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or(v6);
        }
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _port)| host)
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
