//! Counts every statement each connection runs, and charges it to the request being
//! served: `AppState::db` captures the request's [`Tally`] (set by the request
//! middleware for the request's task) and [`charge_to`] installs it on the blocking
//! thread for as long as the closure runs. A statement run with no tally installed —
//! a background job's — is charged to the pool's own counter instead. One relaxed
//! atomic add per statement: no allocation, no SQL formatting.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};

use super::trace::QueryTimer;

/// The number of statements one request ran.
pub type Tally = Arc<AtomicU64>;

tokio::task_local! {
    /// The tally of the request this task serves.
    static REQUEST: Tally;
}

thread_local! {
    /// The tally statements on this thread are charged to, while one is installed.
    static CHARGED: RefCell<Option<Tally>> = const { RefCell::new(None) };
}

/// Runs `fut` (a request's handling) with `tally` as its statement tally.
pub async fn counting<F: std::future::Future>(tally: Tally, fut: F) -> F::Output {
    REQUEST.scope(tally, fut).await
}

/// The tally of the request the current task serves, if any (to hand to a blocking
/// closure before it is spawned).
pub fn current() -> Option<Tally> {
    REQUEST.try_with(Arc::clone).ok()
}

/// Runs `f` with every statement on this thread charged to `tally` (when there is
/// one); the previous charge is restored afterwards, even on a panic.
pub fn charge_to<T>(tally: Option<Tally>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Tally>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CHARGED.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CHARGED.with(|c| std::mem::replace(&mut *c.borrow_mut(), tally));
    let _restore = Restore(previous);
    f()
}

/// The instrumentation every pooled connection carries: counts statements, and times
/// them too when query tracing is on.
pub struct StatementCounter {
    /// Where statements outside any request go (background jobs).
    unattributed: Arc<AtomicU64>,
    timer: Option<QueryTimer>,
}

impl StatementCounter {
    pub fn new(unattributed: Arc<AtomicU64>, timed: bool) -> Self {
        Self {
            unattributed,
            timer: timed.then(QueryTimer::default),
        }
    }
}

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            CHARGED.with(|c| match &*c.borrow() {
                Some(tally) => tally.fetch_add(1, Ordering::Relaxed),
                None => self.unattributed.fetch_add(1, Ordering::Relaxed),
            });
        }
        if let Some(timer) = &mut self.timer {
            timer.on_connection_event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_go_to_the_installed_tally_then_back_to_the_pool() {
        use diesel::connection::SimpleConnection;
        use diesel::{Connection, SqliteConnection};

        let pool_counter = Arc::new(AtomicU64::new(0));
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.set_instrumentation(StatementCounter::new(pool_counter.clone(), false));
        let tally: Tally = Arc::default();
        charge_to(Some(tally.clone()), || {
            conn.batch_execute("SELECT 1").unwrap();
            conn.batch_execute("SELECT 2").unwrap();
        });
        conn.batch_execute("SELECT 3").unwrap();
        assert_eq!(tally.load(Ordering::Relaxed), 2);
        assert_eq!(pool_counter.load(Ordering::Relaxed), 1);
    }
}
