//! Dates as people read them: "3 hours ago", "in 7 days", relative to the app's
//! [`Clock`](crate::clock::Clock) and rendered on the server (no JavaScript), with the
//! exact UTC time in the `<time>` element's `datetime` and `title`.
//!
//! A view holds a [`When`] where it shows a date; the template writes `{{ when }}`
//! and gets the whole `<time>` element.

use std::fmt;

use chrono::{Duration, NaiveDateTime};

/// The exact form, shown as the tooltip and kept in the page for people who need it.
const EXACT: &str = "%Y-%m-%d %H:%M UTC";

/// A moment as a page shows it, or the text shown when there is none ("never", "—").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    at: Option<NaiveDateTime>,
    now: NaiveDateTime,
    none: &'static str,
}

impl When {
    /// `at`, as seen at `now` (the app clock's time of the request).
    pub fn at(at: NaiveDateTime, now: NaiveDateTime) -> Self {
        Self {
            at: Some(at),
            now,
            none: "—",
        }
    }

    /// `at` if there is one, else the plain text `none` (e.g. "never").
    pub fn maybe(at: Option<NaiveDateTime>, now: NaiveDateTime, none: &'static str) -> Self {
        Self { at, now, none }
    }

    /// "3 hours ago", "in 7 days", "just now"; past 30 days away, the date itself.
    pub fn relative(&self) -> String {
        match self.at {
            Some(at) => relative(at, self.now),
            None => self.none.to_string(),
        }
    }

    /// "2026-11-27 14:04 UTC", or the text for no date.
    pub fn exact(&self) -> String {
        match self.at {
            Some(at) => at.format(EXACT).to_string(),
            None => self.none.to_string(),
        }
    }
}

/// Writes `<time datetime="…Z" title="… UTC">3 hours ago</time>`. Everything written
/// is generated here from numbers and fixed words, so it needs no escaping; the text
/// for no date is a `&'static str` chosen in code.
impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(
                f,
                "<time datetime=\"{}\" title=\"{}\">{}</time>",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                at.format(EXACT),
                relative(at, self.now)
            ),
            None => f.write_str(self.none),
        }
    }
}

impl askama::filters::HtmlSafe for When {}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn relative(at: NaiveDateTime, now: NaiveDateTime) -> String {
    let delta = at - now;
    let future = delta > Duration::zero();
    let secs = delta.num_seconds().abs();
    let span = match secs {
        s if s < 45 => return "just now".to_string(),
        s if s < 90 * 60 => plural(((s + 30) / 60).max(1), "minute"),
        s if s < 36 * 3600 => plural((s + 1800) / 3600, "hour"),
        s if s < 30 * 86400 => plural((s + 43200) / 86400, "day"),
        _ => return format!("{}", at.format("%-d %b %Y")),
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 27)
            .and_then(|d| d.and_hms_opt(14, 0, 0))
            .unwrap()
    }

    fn rel(delta: Duration) -> String {
        When::at(now() + delta, now()).relative()
    }

    #[test]
    fn reads_like_a_person_would_say_it() {
        assert_eq!(rel(Duration::seconds(-10)), "just now");
        assert_eq!(rel(Duration::seconds(20)), "just now");
        assert_eq!(rel(Duration::seconds(-60)), "1 minute ago");
        assert_eq!(rel(Duration::minutes(-5)), "5 minutes ago");
        assert_eq!(rel(Duration::minutes(-89)), "89 minutes ago");
        assert_eq!(rel(Duration::hours(-3)), "3 hours ago");
        assert_eq!(rel(Duration::hours(2)), "in 2 hours");
        assert_eq!(rel(Duration::hours(-35)), "35 hours ago");
        assert_eq!(rel(Duration::hours(-36)), "2 days ago");
        assert_eq!(rel(Duration::days(7)), "in 7 days");
        assert_eq!(rel(Duration::days(1) + Duration::hours(1)), "in 25 hours");
        assert_eq!(rel(Duration::days(29)), "in 29 days");
        assert_eq!(rel(Duration::days(-45)), "13 Oct 2026");
        assert_eq!(rel(Duration::days(400)), "1 Jan 2028");
    }

    #[test]
    fn renders_a_time_element_with_the_exact_utc_time() {
        let w = When::at(now() - Duration::hours(3), now());
        assert_eq!(
            w.to_string(),
            "<time datetime=\"2026-11-27T11:00:00Z\" title=\"2026-11-27 11:00 UTC\">3 hours ago</time>"
        );
        assert_eq!(w.exact(), "2026-11-27 11:00 UTC");
        assert_eq!(When::maybe(None, now(), "never").to_string(), "never");
    }
}
