//! The database: one connection type over SQLite and PostgreSQL, chosen by URL scheme,
//! an r2d2 pool, embedded per-backend migrations and write transactions that take
//! SQLite's write lock up front.

pub mod count;
pub mod schema;
mod trace;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseUrl;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Why the database could not be opened, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to PostgreSQL at {host}:{port}: {reason}")]
    PostgresUnreachable {
        host: String,
        port: String,
        reason: String,
    },
    #[error("cannot open SQLite database {path}: {reason}")]
    SqliteUnavailable { path: String, reason: String },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database pool: {0}")]
    Pool(String),
}

/// Opens connections for the pool, by URL scheme.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    busy_timeout: Duration,
    /// Statements run outside any request (see [`count`]).
    unattributed: Arc<AtomicU64>,
}

impl Manager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            busy_timeout: crate::config::DEFAULT_SQLITE_BUSY_TIMEOUT,
            unattributed: Arc::default(),
        }
    }

    /// The same, with SQLite waiting `busy_timeout` for a lock.
    pub fn with_busy_timeout(url: DatabaseUrl, busy_timeout: Duration) -> Self {
        Self {
            url,
            busy_timeout,
            unattributed: Arc::default(),
        }
    }

    /// The statement counter of this manager's connections when no request is
    /// being served (background jobs).
    fn counter(&self) -> count::StatementCounter {
        count::StatementCounter::new(self.unattributed.clone(), trace::enabled())
    }

    /// Opens one connection, with a message naming where and why it failed.
    pub fn open(&self) -> Result<DbConnection, DbError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(|mut c| {
                    c.set_instrumentation(self.counter());
                    DbConnection::Pg(c)
                })
                .map_err(|e| {
                    let (host, port) = postgres_host_port(url);
                    DbError::PostgresUnreachable {
                        host,
                        port,
                        reason: one_line(&e.to_string()),
                    }
                }),
            DatabaseUrl::Sqlite(path) => {
                let unavailable = |reason: String| DbError::SqliteUnavailable {
                    path: path.display().to_string(),
                    reason,
                };
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(|e| unavailable(one_line(&e.to_string())))?;
                // Applied on every pooled connection: these are per-connection settings.
                // Reads go through a shared memory map (no read syscall per page, one
                // copy for every connection) and each connection caches 16 MiB of
                // pages, so big organisations' indexes stay in memory.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA mmap_size = 1073741824;
                     PRAGMA cache_size = -16384;",
                    self.busy_timeout.as_millis()
                ))
                .map_err(|e| unavailable(one_line(&e.to_string())))?;
                conn.set_instrumentation(self.counter());
                let mut conn = DbConnection::Sqlite(conn);
                guard_writes(&mut conn, true).map_err(|e| unavailable(one_line(&e.to_string())))?;
                Ok(conn)
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| DbError::Pool(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Host and port named by a `postgres://` URL (libpq's defaults where absent).
fn postgres_host_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, p),
        _ => (authority, ""),
    };
    let host = if host.is_empty() { "localhost" } else { host };
    let port = if port.is_empty() { "5432" } else { port };
    (host.to_string(), port.to_string())
}

/// Opens the pool: checks one connection first so that a bad URL fails at once with
/// a clear reason instead of after the pool's timeout. A SQLite database is private to
/// this user: its file is created 0600 (SQLite gives its `-wal` and `-shm` files the
/// same mode), and files of an older install are made 0600.
pub fn connect(url: &DatabaseUrl, max_size: u32, busy_timeout: Duration) -> Result<Pool, DbError> {
    connect_counted(url, max_size, busy_timeout, Arc::default())
}

/// [`connect`], with the statements run outside any request (background jobs) counted
/// in `unattributed`.
pub fn connect_counted(
    url: &DatabaseUrl,
    max_size: u32,
    busy_timeout: Duration,
    unattributed: Arc<AtomicU64>,
) -> Result<Pool, DbError> {
    let manager = Manager {
        unattributed,
        ..Manager::with_busy_timeout(url.clone(), busy_timeout)
    };
    if let DatabaseUrl::Sqlite(path) = url {
        private_sqlite_files(path)?;
    }
    let probe = manager.open()?;
    if let DatabaseUrl::Sqlite(path) = url {
        // The probe opened it in WAL mode: the -wal and -shm files exist now.
        private_sqlite_files(path)?;
    }
    drop(probe);
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Creates the SQLite database file 0600 if it is missing, and makes it and its `-wal`
/// and `-shm` files 0600 if they exist with a wider mode.
fn private_sqlite_files(path: &std::path::Path) -> Result<(), DbError> {
    use crate::config::files;
    let failed = |e: std::io::Error| DbError::SqliteUnavailable {
        path: path.display().to_string(),
        reason: format!("cannot make the database files private (mode 0600): {e}"),
    };
    match files::create_private_file(path) {
        // (A missing directory is SQLite's to report, when it tries to open the file.)
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotFound
            ) => {}
        Err(e) => return Err(failed(e)),
    }
    for file in files::sqlite_files(path) {
        files::make_private(&file).map_err(failed)?;
    }
    Ok(())
}

/// Applies every pending migration of this backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, DbError> {
    let migrate = |e: diesel::result::Error| DbError::Migration(e.to_string());
    guard_writes(conn, false).map_err(migrate)?;
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    guard_writes(conn, true).map_err(migrate)?;
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

/// Reverts every migration of this backend (used by the migration round-trip test).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<usize, DbError> {
    let migrate = |e: diesel::result::Error| DbError::Migration(e.to_string());
    guard_writes(conn, false).map_err(migrate)?;
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    guard_writes(conn, true).map_err(migrate)?;
    reverted.map_err(|e| DbError::Migration(e.to_string()))
}

/// Development builds make every SQLite connection read-only outside
/// [`write_transaction`] (`PRAGMA query_only`), so a write that would run in
/// autocommit or in a deferred transaction (which upgrades to a write lock half-way
/// and then fails with "database is locked" without waiting) fails every test that
/// reaches it. Release builds leave the connection as it is.
fn guard_writes(conn: &mut DbConnection, read_only: bool) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) if cfg!(debug_assertions) => c.batch_execute(if read_only {
            "PRAGMA query_only = ON"
        } else {
            "PRAGMA query_only = OFF"
        }),
        _ => Ok(()),
    }
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so the
/// write lock is taken up front and a busy database waits (`busy_timeout`) instead of
/// failing half-way with SQLITE_BUSY. Every write goes through here.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    // The outermost write transaction on SQLite takes the write lock up front; one
    // inside it is a savepoint; PostgreSQL's row locks need nothing special.
    let immediate = match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_none(),
        DbConnection::Pg(_) => false,
    };
    if immediate {
        guard_writes(conn, false)?;
        let begun = match conn {
            DbConnection::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
            }
            DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c),
        };
        if let Err(e) = begun {
            guard_writes(conn, true)?;
            return Err(e.into());
        }
    } else {
        match conn {
            DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction(c)?,
            DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
        }
    }
    let result = finish(conn, f);
    if immediate {
        guard_writes(conn, true)?;
    }
    result
}

/// Runs `f` in the transaction just begun and commits it, or rolls it back.
fn finish<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match f(conn) {
        Ok(value) => {
            if let Err(e) =
                <DbConnection as Connection>::TransactionManager::commit_transaction(conn)
            {
                let _ =
                    <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Locks an organisation's row until the end of the current write transaction, so
/// that checks such as "is this the last owner?" and the change they guard cannot
/// interleave with a concurrent one. SQLite's `BEGIN IMMEDIATE` already serialises
/// writers; PostgreSQL needs `FOR UPDATE`.
pub fn lock_organisation(conn: &mut DbConnection, org_id: &str) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Pg(c) => {
            diesel::sql_query("SELECT id FROM organisations WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Text, _>(org_id)
                .execute(c)
                .map(drop)
        }
    }
}

/// Locks an app's row until the end of the current write transaction (PostgreSQL;
/// SQLite's `BEGIN IMMEDIATE` already serialises writers), so that a change reads
/// the app's current state and no concurrent change interleaves with it.
pub fn lock_app(conn: &mut DbConnection, app_id: &str) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Pg(c) => diesel::sql_query("SELECT id FROM apps WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(app_id)
            .execute(c)
            .map(drop),
    }
}

/// Locks a product's row until the end of the current write transaction
/// (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises writers), so that an
/// `If-Match` compared in it still holds when the update is written.
pub fn lock_product(conn: &mut DbConnection, product_id: &str) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) => Ok(()),
        DbConnection::Pg(c) => {
            diesel::sql_query("SELECT id FROM products WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Text, _>(product_id)
                .execute(c)
                .map(drop)
        }
    }
}

/// The id of the oldest due `pending` outbox message, locked until the end of the
/// current write transaction so that no other instance claims it too. PostgreSQL skips
/// rows another transaction holds (`FOR UPDATE SKIP LOCKED`); SQLite's `BEGIN
/// IMMEDIATE` already lets one writer in at a time.
pub fn lock_next_due_email(
    conn: &mut DbConnection,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<Option<String>> {
    use schema::email_outbox;
    match conn {
        DbConnection::Sqlite(c) => email_outbox::table
            .filter(email_outbox::status.eq("pending"))
            .filter(email_outbox::next_attempt_at.le(now))
            .order((email_outbox::next_attempt_at.asc(), email_outbox::id.asc()))
            .select(email_outbox::id)
            .first::<String>(c)
            .optional(),
        DbConnection::Pg(c) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                id: String,
            }
            diesel::sql_query(
                "SELECT id FROM email_outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .bind::<diesel::sql_types::Timestamp, _>(now)
            .get_result::<Row>(c)
            .optional()
            .map(|row| row.map(|r| r.id))
        }
    }
}

/// Runs a statement the multi-backend connection cannot build, such as a many-row
/// `INSERT` (`insert_into(t).values(&rows)`), on the concrete connection of either
/// backend. For SQLite the rows' `Insertable` must say `treat_none_as_default_value =
/// false`, or diesel falls back to one statement per row.
pub fn execute_on_backend<Q>(conn: &mut DbConnection, statement: Q) -> diesel::QueryResult<usize>
where
    Q: diesel::query_dsl::methods::ExecuteDsl<diesel::SqliteConnection>
        + diesel::query_dsl::methods::ExecuteDsl<diesel::PgConnection>,
{
    use diesel::query_dsl::methods::ExecuteDsl;
    match conn {
        DbConnection::Sqlite(c) => ExecuteDsl::<diesel::SqliteConnection>::execute(statement, c),
        DbConnection::Pg(c) => ExecuteDsl::<diesel::PgConnection>::execute(statement, c),
    }
}

/// True when `e` is a unique-constraint violation (a concurrent insert won a race).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_errors_name_host_and_port() {
        assert_eq!(
            postgres_host_port("postgres://u:p@db.internal:6543/app"),
            ("db.internal".into(), "6543".into())
        );
        assert_eq!(
            postgres_host_port("postgres://localhost/app"),
            ("localhost".into(), "5432".into())
        );
        assert_eq!(
            postgres_host_port("postgresql:///app"),
            ("localhost".into(), "5432".into())
        );
    }

    #[test]
    fn migration_folders_hold_the_same_names() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let sqlite = names("migrations/sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, names("migrations/postgres"));
    }
}
