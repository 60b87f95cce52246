//! Small pieces of English used wherever the portal writes a sentence: counts with
//! the right plural ("1 credential", "3 credentials"), lists ("Payments, Maps and
//! Search"), durations ("7 days", "90 minutes") and auth types ("OAuth2 client"). Pages and audit details use these
//! instead of writing "credential(s)" or raw minutes.

use chrono::Duration;

/// `n` and the noun, singular for one: `count(1, "request", "requests")`.
pub fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// [`count`] for a `usize`, as lists report their lengths.
pub fn count_of(n: usize, one: &str, many: &str) -> String {
    count(i64::try_from(n).unwrap_or(i64::MAX), one, many)
}

/// A number with thousands separators: `thousands(12345)` is "12,345".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How people call an app's auth type: "API key", "OAuth2 client", "JWT client".
pub fn auth_type(stored: &str) -> &str {
    match stored {
        "api_key" => "API key",
        "oauth2" => "OAuth2 client",
        "jwt" => "JWT client",
        other => other,
    }
}

/// "A", "A and B", "A, B and C"; empty for no items.
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => {
            let head: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), last.as_ref())
        }
    }
}

/// A duration as a person says it, in its largest whole unit: "7 days", "1 hour",
/// "36 hours", "90 minutes", "no time" for zero.
pub fn duration(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes <= 0 {
        return "no time".into();
    }
    if minutes % (24 * 60) == 0 {
        count(minutes / (24 * 60), "day", "days")
    } else if minutes % 60 == 0 {
        count(minutes / 60, "hour", "hours")
    } else {
        count(minutes, "minute", "minutes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn auth_types_read_as_words() {
        assert_eq!(auth_type("api_key"), "API key");
        assert_eq!(auth_type("oauth2"), "OAuth2 client");
        assert_eq!(auth_type("jwt"), "JWT client");
    }

    #[test]
    fn counts_use_the_singular_only_for_one() {
        assert_eq!(count(0, "request", "requests"), "0 requests");
        assert_eq!(count(1, "request", "requests"), "1 request");
        assert_eq!(count_of(3, "request", "requests"), "3 requests");
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(and_list::<&str>(&[]), "");
        assert_eq!(and_list(&["Payments"]), "Payments");
        assert_eq!(and_list(&["Payments", "Maps"]), "Payments and Maps");
        assert_eq!(
            and_list(&["Payments", "Maps", "Search"]),
            "Payments, Maps and Search"
        );
    }

    #[test]
    fn durations_pick_their_largest_whole_unit() {
        assert_eq!(duration(Duration::minutes(10080)), "7 days");
        assert_eq!(duration(Duration::days(1)), "1 day");
        assert_eq!(duration(Duration::hours(1)), "1 hour");
        assert_eq!(duration(Duration::hours(36)), "36 hours");
        assert_eq!(duration(Duration::minutes(90)), "90 minutes");
        assert_eq!(duration(Duration::zero()), "no time");
    }
}
