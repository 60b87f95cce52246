//! Mail settings: where email goes (`--smtp-url`, or `.eml` files) and who sends it.

use std::path::PathBuf;

pub use lettre::message::Mailbox;

use crate::crypto::SecretString;

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
        let shown = super::redact_url(raw);
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
}
