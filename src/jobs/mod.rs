//! Background jobs: the outbox worker, the periodic housekeeping and the start-up
//! rendering of stored product documentation. They sit below
//! the app state, so each takes only what it needs (the pool, the clock, the outbox,
//! a few settings), handed over by `startup`.

pub mod housekeeping;
pub mod outbox;
pub mod rendered_docs;

use crate::db::{DbConnection, Pool};
use crate::error::AppResult;

/// Runs blocking database work off the async workers, on a pooled connection.
async fn on_pool<T, F>(pool: &Pool, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}
