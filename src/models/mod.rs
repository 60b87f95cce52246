//! Diesel structs and queries, one file per table group. Models return
//! `QueryResult`; the rules live in `services`.

pub mod api_tokens;
pub mod app_list;
pub mod apps;
pub mod audit;
pub mod changes;
pub mod gateway_tokens;
pub mod invitations;
pub mod names;
pub mod notifications;
pub mod oauth;
pub mod orgs;
pub mod outbox;
pub mod overview;
pub mod page;
pub mod products;
pub mod sessions;
pub mod settings;
pub mod teams;
pub mod user_tokens;
pub mod users;

/// A new time-ordered id (UUIDv7 as text), generated in the application so no insert
/// needs `RETURNING`.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Asks the database for nothing: it answers when it is up (readiness).
pub fn ping(conn: &mut crate::db::DbConnection) -> diesel::QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT 1")
}
