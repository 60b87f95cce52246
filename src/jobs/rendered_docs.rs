//! Renders, once, the documentation of products saved before rendered documentation
//! was stored (`products.docs_html` NULL). It runs at start-up, off the request path:
//! batches of [`BATCH`] products are read on a pooled connection, rendered on a
//! blocking thread holding none, and written in one short write transaction each.
//! Idempotent: a row is written only while it is still unrendered and its Markdown is
//! what was rendered, so a product saved meanwhile keeps what its save rendered, and a
//! second run finds nothing to do.

use super::on_pool;
use crate::db::{Pool, write_transaction};
use crate::error::AppResult;
use crate::models::products;

/// Products read, rendered and written at a time (each has at most 200 KB of text).
pub const BATCH: i64 = 25;

/// Renders every product that has no rendered documentation; returns how many it
/// stored.
pub async fn backfill(pool: &Pool) -> AppResult<usize> {
    let mut after = String::new();
    let mut stored = 0;
    loop {
        let from = after.clone();
        let batch = on_pool(pool, move |conn| {
            Ok(products::unrendered_docs(conn, &from, BATCH)?)
        })
        .await?;
        let Some((last, _)) = batch.last() else {
            return Ok(stored);
        };
        after = last.clone();
        let rendered = actix_web::web::block(move || {
            batch
                .into_iter()
                .map(|(id, markdown)| {
                    let html = crate::markdown::render(&markdown);
                    (id, markdown, html)
                })
                .collect::<Vec<_>>()
        })
        .await?;
        stored += on_pool(pool, move |conn| {
            write_transaction(conn, |conn| {
                let mut n = 0;
                for (id, markdown, html) in &rendered {
                    n += products::store_backfilled_docs(conn, id, markdown, html)?;
                }
                Ok(n)
            })
        })
        .await?;
    }
}

/// Runs [`backfill`] in the background.
pub fn spawn(pool: Pool) {
    tokio::spawn(async move {
        match backfill(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(products = n, "rendered stored product documentation"),
            Err(e) => tracing::warn!(
                error = ?e,
                "could not render stored product documentation; unrendered pages are rendered when viewed until the next start"
            ),
        }
    });
}
