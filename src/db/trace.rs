//! Opt-in query timing: with `GATEHOUSE_LOG=gatehouse::db::query=trace` every query is
//! logged with how long it took — the SQL text only, never its bound values (they can
//! be hashes of secrets or people's details). Off (and free) otherwise: the timer is
//! installed on a connection only when that log target is enabled when it is opened.

use std::time::Instant;

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// Times each query between its start and finish events.
#[derive(Default)]
pub struct QueryTimer {
    started: Option<Instant>,
}

/// Whether connections should be opened with a [`QueryTimer`].
pub fn enabled() -> bool {
    tracing::enabled!(target: "gatehouse::db::query", tracing::Level::TRACE)
}

/// The SQL of a query as diesel prints it, without the `-- binds: [...]` it appends.
fn sql_only(printed: &str) -> &str {
    printed
        .split_once(" -- binds: ")
        .map_or(printed, |(sql, _)| sql)
}

impl Instrumentation for QueryTimer {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let micros = self.started.take().map_or(0, |t| {
                    u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
                });
                let printed = query.to_string();
                tracing::trace!(
                    target: "gatehouse::db::query",
                    micros,
                    failed = error.is_some(),
                    sql = sql_only(&printed),
                    "query"
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_values_are_left_out() {
        assert_eq!(
            sql_only("SELECT * FROM `users` WHERE `email` = ? -- binds: [\"ada@example.com\"]"),
            "SELECT * FROM `users` WHERE `email` = ?"
        );
        assert_eq!(sql_only("BEGIN IMMEDIATE"), "BEGIN IMMEDIATE");
    }
}
