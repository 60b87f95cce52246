//! Input rules shared by forms and (later) the JSON API. Each check returns the
//! normalised value or a message a person understands.

/// Rejects control characters (NUL included): they have no place in names or emails
/// and PostgreSQL refuses NUL in text.
fn no_control(s: &str, what: &str) -> Result<(), String> {
    if s.chars().any(char::is_control) {
        return Err(format!("{what} must not contain control characters."));
    }
    Ok(())
}

/// A display name or organisation name: trimmed, 1–`max` characters.
pub fn name(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    no_control(s, what)?;
    if s.is_empty() {
        return Err(format!("{what} is required."));
    }
    if s.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters."));
    }
    Ok(s.to_string())
}

/// An email address, lower-cased. Deliberately simple: one `@`, a dotted domain, no
/// spaces; the real test is the verification mail.
pub fn email(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    no_control(s, "Email")?;
    if s.is_empty() {
        return Err("Email is required.".into());
    }
    if s.len() > 254 {
        return Err("Email must be at most 254 characters.".into());
    }
    let valid = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || "<>()[],;:\"\\".contains(c))
        }
        None => false,
    };
    if !valid {
        return Err("Enter an email address such as ada@example.com.".into());
    }
    Ok(s.to_lowercase())
}

pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 1024;

/// A new password: long enough, not absurdly long (hashing cost), no NUL.
pub fn new_password(raw: &str) -> Result<(), String> {
    if raw.contains('\0') {
        return Err("Password must not contain NUL characters.".into());
    }
    let n = raw.chars().count();
    if n < PASSWORD_MIN {
        return Err(format!(
            "Password must be at least {PASSWORD_MIN} characters."
        ));
    }
    if raw.len() > PASSWORD_MAX {
        return Err(format!("Password must be at most {PASSWORD_MAX} bytes."));
    }
    Ok(())
}

/// Could this be one of our ids (UUIDs, base62 tokens)? Anything else — in particular
/// text with control characters, which PostgreSQL refuses — names nothing.
pub fn is_id_like(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Words an organisation slug may not be, because they are or may become paths.
const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "new", "settings", "static", "login", "logout", "setup", "signup", "oauth",
    "account", "invite", "healthz", "readyz", "metrics",
];

/// An organisation slug: 2–40 of a–z, 0–9 and `-`, not starting or ending with `-`.
pub fn slug(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    no_control(s, "Slug")?;
    if s.len() < 2 || s.len() > 40 {
        return Err("Slug must be 2 to 40 characters.".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || s.starts_with('-')
        || s.ends_with('-')
    {
        return Err(
            "Slug may hold only lower-case letters, digits and hyphens, and must not start or end with a hyphen."
                .into(),
        );
    }
    if RESERVED_SLUGS.contains(&s) {
        return Err(format!("The slug {s:?} is reserved; choose another."));
    }
    Ok(s.to_string())
}

/// A slug derived from a display name: ASCII letters and digits, runs of anything else
/// become one hyphen. Falls back to "org" when nothing usable is left.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.len() < 2 || RESERVED_SLUGS.contains(&out.as_str()) {
        format!("{out}-org").trim_start_matches('-').to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@b..com",
            "a\0@b.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_and_slugs() {
        assert_eq!(name("  Zoë  ", "Name", 5).unwrap(), "Zoë");
        assert!(name("   ", "Name", 5).is_err());
        assert!(name("abcdef", "Name", 5).is_err());
        assert!(name("a\u{0}b", "Name", 5).is_err());
        assert_eq!(slug("acme-corp").unwrap(), "acme-corp");
        for bad in ["a", "-acme", "acme-", "Acme", "ac me", "admin", "ünï"] {
            assert!(slug(bad).is_err(), "{bad:?}");
        }
        assert_eq!(slugify("Acme Corp. (EU)"), "acme-corp-eu");
        assert_eq!(slugify("Ünïcode"), "n-code");
        assert_eq!(slugify("!!"), "org");
        assert_eq!(slugify("Admin"), "admin-org");
        assert!(slug(&slugify(&"x".repeat(100))).is_ok());
    }

    #[test]
    fn passwords() {
        assert!(new_password("short").is_err());
        assert!(new_password("long enough password").is_ok());
        assert!(new_password(&"x".repeat(2000)).is_err());
        assert!(new_password("0123456789\0").is_err());
    }
}
