//! The numbers `/metrics` shows, in the Prometheus text format: requests by route
//! pattern and status, their durations, and the database statements each route ran
//! (`route="job"` for the background jobs').
//!
//! A small registry over atomics rather than the `metrics` crate's process-global
//! recorder: each application (and each test app in one process) owns its registry in
//! its state, so its numbers are its own. A request costs one read-locked map lookup
//! by route pattern and a few relaxed atomic adds; a route's series are created the
//! first time it is served (route patterns are a fixed set, so the map stays small).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds of the duration histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The route label of statements run outside any request.
pub const JOB_ROUTE: &str = "job";

/// One route's series.
#[derive(Default)]
struct RouteSeries {
    statements: AtomicU64,
    /// Requests by status code (a route answers with a handful of codes).
    statuses: RwLock<Vec<(u16, Arc<AtomicU64>)>>,
    /// Requests at or under each bound of [`BUCKETS`] (not cumulative; summed when shown).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// One application's metrics.
#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<String, Arc<RouteSeries>>>,
    /// Statements run outside any request: handed to the database pool.
    job_statements: Arc<AtomicU64>,
}

impl Metrics {
    /// The counter the pool charges statements run outside any request to.
    pub fn job_statements(&self) -> Arc<AtomicU64> {
        self.job_statements.clone()
    }

    fn series(&self, route: &str) -> Arc<RouteSeries> {
        if let Some(s) = self.routes.read().ok().and_then(|m| m.get(route).cloned()) {
            return s;
        }
        let mut routes = match self.routes.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        routes.entry(route.to_string()).or_default().clone()
    }

    /// Records one request served by `route` (its pattern), its status, how long it
    /// took and how many statements it ran.
    pub fn record(&self, route: &str, status: u16, took: Duration, statements: u64) {
        let s = self.series(route);
        s.statements.fetch_add(statements, Ordering::Relaxed);
        let counter = s
            .statuses
            .read()
            .ok()
            .and_then(|v| v.iter().find(|(c, _)| *c == status).map(|(_, n)| n.clone()));
        let counter = counter.unwrap_or_else(|| {
            let mut v = match s.statuses.write() {
                Ok(v) => v,
                Err(poisoned) => poisoned.into_inner(),
            };
            match v.iter().find(|(c, _)| *c == status) {
                Some((_, n)) => n.clone(),
                None => {
                    let n = Arc::new(AtomicU64::new(0));
                    v.push((status, n.clone()));
                    n
                }
            }
        });
        counter.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            s.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        s.count.fetch_add(1, Ordering::Relaxed);
        s.sum_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut routes: Vec<(String, Arc<RouteSeries>)> = match self.routes.read() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => Vec::new(),
        };
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::with_capacity(256 + routes.len() * 1024);

        out.push_str(
            "# HELP gatehouse_http_requests_total HTTP requests answered, by route pattern and status.\n\
             # TYPE gatehouse_http_requests_total counter\n",
        );
        for (route, s) in &routes {
            let mut statuses: Vec<(u16, u64)> = match s.statuses.read() {
                Ok(v) => v
                    .iter()
                    .map(|(c, n)| (*c, n.load(Ordering::Relaxed)))
                    .collect(),
                Err(_) => Vec::new(),
            };
            statuses.sort_unstable();
            for (status, n) in statuses {
                let _ = writeln!(
                    out,
                    "gatehouse_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }

        out.push_str(
            "# HELP gatehouse_http_request_duration_seconds Time to answer an HTTP request, by route pattern.\n\
             # TYPE gatehouse_http_request_duration_seconds histogram\n",
        );
        for (route, s) in &routes {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let sum = Duration::from_micros(s.sum_micros.load(Ordering::Relaxed)).as_secs_f64();
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\n\
                 gatehouse_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\n\
                 gatehouse_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }

        out.push_str(
            "# HELP gatehouse_db_statements_total Database statements run, by the route pattern of the request that ran them (job: background jobs).\n\
             # TYPE gatehouse_db_statements_total counter\n",
        );
        for (route, s) in &routes {
            let _ = writeln!(
                out,
                "gatehouse_db_statements_total{{route=\"{}\"}} {}",
                escape(route),
                s.statements.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "gatehouse_db_statements_total{{route=\"{JOB_ROUTE}\"}} {}",
            self.job_statements.load(Ordering::Relaxed)
        );
        out
    }
}

/// A label value as the text format needs it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_statements_and_durations_are_shown_by_route() {
        let m = Metrics::default();
        m.record("/o/{slug}/apps", 200, Duration::from_millis(3), 4);
        m.record("/o/{slug}/apps", 200, Duration::from_millis(30), 5);
        m.record("/o/{slug}/apps", 404, Duration::from_secs(20), 1);
        m.job_statements().fetch_add(7, Ordering::Relaxed);
        let text = m.render();
        for line in [
            "gatehouse_http_requests_total{route=\"/o/{slug}/apps\",status=\"200\"} 2",
            "gatehouse_http_requests_total{route=\"/o/{slug}/apps\",status=\"404\"} 1",
            "gatehouse_db_statements_total{route=\"/o/{slug}/apps\"} 10",
            "gatehouse_db_statements_total{route=\"job\"} 7",
            "gatehouse_http_request_duration_seconds_bucket{route=\"/o/{slug}/apps\",le=\"0.001\"} 0",
            "gatehouse_http_request_duration_seconds_bucket{route=\"/o/{slug}/apps\",le=\"0.005\"} 1",
            "gatehouse_http_request_duration_seconds_bucket{route=\"/o/{slug}/apps\",le=\"0.05\"} 2",
            "gatehouse_http_request_duration_seconds_bucket{route=\"/o/{slug}/apps\",le=\"10\"} 2",
            "gatehouse_http_request_duration_seconds_bucket{route=\"/o/{slug}/apps\",le=\"+Inf\"} 3",
            "gatehouse_http_request_duration_seconds_sum{route=\"/o/{slug}/apps\"} 20.033",
            "gatehouse_http_request_duration_seconds_count{route=\"/o/{slug}/apps\"} 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
