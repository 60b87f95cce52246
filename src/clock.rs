//! Time as an input: services take `now` from a [`Clock`] held in app state, so tests
//! can move time (session timeouts, invitation expiry, throttling windows).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// The current time as stored in the database (UTC, no zone), to the
    /// microsecond: what PostgreSQL keeps, so a value reads back as it was written.
    fn now_naive(&self) -> NaiveDateTime {
        use chrono::SubsecRound;
        self.now().naive_utc().trunc_subsecs(6)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; starts at the real time.
#[derive(Debug)]
pub struct TestClock {
    now: Mutex<DateTime<Utc>>,
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new(SystemClock.now())
    }
}

impl TestClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
