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

/// Bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069): invisible, they reorder how the text around them is shown, so a name
/// could display as another ("Acme\u{202E}gnp.exe" shows as "Acmeexe.png").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Zero-width characters (space, non-joiner, joiner, word joiner, BOM): invisible, so at
/// either end of a name they make a look-alike of another name. Inside a name the
/// joiner and non-joiner are kept: some scripts and emoji sequences need them.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Refuses what would make a name look like another in a list: direction controls
/// anywhere, zero-width characters at either end.
fn no_invisible(s: &str, what: &str) -> Result<(), String> {
    if s.chars().any(is_bidi_control) {
        return Err(format!(
            "{what} must not contain text-direction control characters (U+202A to U+202E, U+2066 to U+2069): they change how the name is shown."
        ));
    }
    if s.starts_with(is_zero_width) || s.ends_with(is_zero_width) {
        return Err(format!(
            "{what} must not start or end with an invisible zero-width character."
        ));
    }
    Ok(())
}

/// A name (display, organisation, team, product, app, token): trimmed, 1–`max`
/// characters, no control characters, nothing that hides how it reads.
pub fn name(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    no_control(s, what)?;
    no_invisible(s, what)?;
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
/// The zxcvbn score (0–4) a new password must reach: 3 means it takes about 10^10
/// guesses, out of reach of an online attack and costly offline against Argon2id.
pub const PASSWORD_MIN_SCORE: u8 = 3;
/// How many characters zxcvbn scores: its work grows faster than the length, and a
/// password this long is strong or weak on its first hundred characters already.
pub const PASSWORD_SCORED_CHARS: usize = 100;

/// What every refusal of a weak password says to do instead.
pub const PASSWORD_ADVICE: &str =
    "Use a longer passphrase of several unrelated words, such as four words picked at random.";

/// A new password: long enough, not absurdly long (hashing cost), no NUL, and hard to
/// guess. `context` lists what an attacker tries first besides common passwords and
/// words: the account's email and name and the instance's names (see
/// [`password_context`]). A refusal says why and how to fix it.
pub fn new_password(raw: &str, context: &[&str]) -> Result<(), String> {
    if raw.contains('\0') {
        return Err("Password must not contain NUL characters.".into());
    }
    let n = raw.chars().count();
    if n < PASSWORD_MIN {
        return Err(format!(
            "Password must be at least {PASSWORD_MIN} characters. {PASSWORD_ADVICE}"
        ));
    }
    if raw.len() > PASSWORD_MAX {
        return Err(format!("Password must be at most {PASSWORD_MAX} bytes."));
    }
    let scored: String = raw.chars().take(PASSWORD_SCORED_CHARS).collect();
    let entropy = zxcvbn::zxcvbn(&scored, context);
    if u8::from(entropy.score()) >= PASSWORD_MIN_SCORE {
        return Ok(());
    }
    Err(format!(
        "This password is too easy to guess: {} {PASSWORD_ADVICE}",
        weakness(&entropy, context)
    ))
}

/// Why zxcvbn found a password weak, as one sentence.
fn weakness(entropy: &zxcvbn::Entropy, context: &[&str]) -> String {
    let context: Vec<String> = context.iter().map(|w| w.to_lowercase()).collect();
    let personal = entropy.sequence().iter().any(|m| match &m.pattern {
        zxcvbn::matching::patterns::MatchPattern::Dictionary(d) => {
            context.contains(&d.matched_word)
        }
        _ => false,
    });
    if personal {
        return "it contains your email address, your name, the name of your organisation or the name of this site.".into();
    }
    match entropy.feedback().and_then(|f| f.warning()) {
        Some(warning) => {
            let warning = warning.to_string();
            let mut chars = warning.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => warning,
            }
        }
        None => "it follows a pattern that password-guessing tools try early.".into(),
    }
}

/// The words a new password is checked against besides zxcvbn's own lists:
/// "gatehouse", then each of `words` (the account's email and name, an organisation's
/// name, the instance's names) whole and cut into its runs of letters and digits, so
/// that the email's local part and domain and each word of a name count too.
pub fn password_context(words: &[&str]) -> Vec<String> {
    let mut context = vec!["gatehouse".to_string()];
    let mut add = |w: &str| {
        let w = w.trim().to_lowercase();
        if w.chars().count() >= 3 && !context.contains(&w) {
            context.push(w);
        }
    };
    for word in words {
        add(word);
        word.split(|c: char| !c.is_alphanumeric())
            .for_each(&mut add);
    }
    context
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
    fn names_refuse_direction_controls_and_zero_width_ends() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ] {
            let message = name(&format!("Acme{c}gnp.exe"), "App name", 100).unwrap_err();
            assert!(
                message.starts_with("App name must not contain text-direction control"),
                "{c:?}: {message}"
            );
        }
        for c in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'] {
            for raw in [
                format!("{c}Acme"),
                format!("Acme{c}"),
                format!("  Acme{c}  "),
                c.to_string(),
            ] {
                let message = name(&raw, "Team name", 100).unwrap_err();
                assert!(message.contains("zero-width"), "{raw:?}: {message}");
            }
        }
        // Joiners inside a name are kept: Persian words and emoji sequences need them.
        for kept in ["می\u{200C}خواهم", "👩\u{200D}💻 Devs", "क्\u{200D}ष"] {
            assert_eq!(name(kept, "Name", 100).unwrap(), kept);
        }
        // Right-to-left text itself is fine.
        assert_eq!(name("שלום עולם", "Name", 100).unwrap(), "שלום עולם");
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

    const NONE: &[&str] = &[];

    #[test]
    fn passwords() {
        assert!(new_password("short", NONE).is_err());
        assert!(new_password("long enough password", NONE).is_ok());
        assert!(new_password(&"x".repeat(2000), NONE).is_err());
        assert!(new_password("0123456789\0", NONE).is_err());
    }

    /// ASVS 6.2.4 and 6.2.11: common passwords, patterns and the account's own words
    /// are refused, each with why and how to fix it.
    #[test]
    fn weak_passwords_are_refused_with_why_and_how() {
        let words = password_context(&[
            "ada.lovelace@example.com",
            "Ada Lovelace",
            "portal.example.org",
        ]);
        let context: Vec<&str> = words.iter().map(String::as_str).collect();
        for (weak, why) in [
            ("1234567890", "common password"),
            ("password12", "common password"),
            ("qwertyuiop", "common password"),
            ("          ", "repeats"),
            ("ada.lovelace@example.com", "your email address"),
            ("Lovelace1815!", "your email address, your name"),
            ("gatehouse2026", "the name of this site"),
            ("portal.example.org", "the name of this site"),
            ("abcdefghijklmnop", "sequences"),
        ] {
            let message = new_password(weak, &context).expect_err(weak);
            assert!(
                message.starts_with("This password is too easy to guess: ")
                    && message.contains(why),
                "{weak:?}: {message}"
            );
            assert!(message.ends_with(PASSWORD_ADVICE), "{weak:?}: {message}");
        }
        // Without the account's words, its email address would have passed.
        assert!(new_password("ada.lovelace@example.com", NONE).is_ok());
    }

    /// The passwords the tests, the browser suite, the contract test and the README use
    /// pass, with the context they are used in.
    #[test]
    fn the_project_passwords_stay_strong() {
        let kit = password_context(&["alice@example.com", "Alice", "127.0.0.1"]);
        let kit: Vec<&str> = kit.iter().map(String::as_str).collect();
        for strong in [
            "correct horse battery",
            "a brand new passphrase",
            "yet another passphrase",
            "first password here",
            "second password here",
            "contract test password",
            "a long passphrase",
            "a new passphrase",
        ] {
            assert!(new_password(strong, &kit).is_ok(), "{strong:?}");
        }
        let people = [
            (
                "olivia@acme.example",
                "Olivia Owner",
                "correct horse battery staple",
            ),
            ("dana@acme.example", "Dev Dana", "dana's first passphrase"),
            ("dana@acme.example", "Dev Dana", "dana's second passphrase"),
            ("sam@lab.example", "Sam Signup", "sam likes long passwords"),
        ];
        for (email, name, password) in people {
            let words = password_context(&[email, name, "Acme Corp", "127.0.0.1"]);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert!(new_password(password, &words).is_ok(), "{password:?}");
        }
    }

    /// Only the first hundred characters are scored: a weak start is not rescued by
    /// what follows it, and a long password costs no more than a hundred characters.
    #[test]
    fn only_the_first_hundred_characters_are_scored() {
        let weak_start = format!(
            "{}{}",
            "a".repeat(PASSWORD_SCORED_CHARS),
            "Xq7#mV2pL9wzR4tK"
        );
        assert!(new_password(&weak_start, NONE).is_err());
        let strong_start = format!("correct horse battery {}", "a".repeat(900));
        assert!(new_password(&strong_start, NONE).is_ok());
    }

    #[test]
    fn the_context_holds_each_word_and_its_parts() {
        let words = password_context(&[
            "Ada.Lovelace@Example.com",
            "Ada Lovelace",
            "Gatehouse <gh@x.io>",
        ]);
        for w in [
            "gatehouse",
            "ada.lovelace@example.com",
            "lovelace",
            "example",
            "com",
            "ada lovelace",
            "ada",
        ] {
            assert!(words.contains(&w.to_string()), "{w}: {words:?}");
        }
        assert!(!words.iter().any(|w| w.chars().count() < 3), "{words:?}");
        assert_eq!(words.iter().filter(|w| *w == "gatehouse").count(), 1);
    }
}
