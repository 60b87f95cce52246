//! The change feed: one row for every write that can change a key verification's
//! answer, inserted inside that write's transaction, so it commits (or rolls back)
//! with it. Readers follow the feed by id with a [`Cursor`].
//!
//! Ids ascend in allocation order, but on PostgreSQL they do not commit in that order:
//! a transaction that took id 7 may commit after one that took id 8. A reader that
//! only asks for `id > last_seen` would skip 7 for ever. The cursor therefore keeps
//! every id below the highest it has delivered that it has not seen yet (a *gap*: a
//! transaction still running, or one rolled back) and asks for those again on each
//! read, for [`LOOK_BACK`] after it first noticed them; then it gives up on them.
//!
//! Guarantee: every change whose transaction commits at most `look_back` after its id
//! was allocated is delivered exactly once (no change twice, ever), as long as fewer
//! than [`MAX_GAPS`] gaps are open at once and the reader reads more often than the
//! retention window (`RETENTION`). Proof sketch: the reader can only notice a gap
//! after a higher id committed, so after the gap's id was allocated; it gives the gap
//! up only on a read whose queries start more than `look_back` after it noticed it,
//! by which time the change committed, so that read's own query returns it. On SQLite
//! writes are serialised (`db::write_transaction` takes the write lock up front), so
//! ids commit in order and gaps are only rolled-back ids; the same reader works.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::changes;

/// How long a gap is asked for again: longer than any write transaction runs between
/// taking its change id and committing (they hold row locks and last milliseconds).
pub const LOOK_BACK: Duration = Duration::from_secs(10);

/// At most this many gaps are remembered; past it, the oldest are given up early.
/// Each one is a transaction running or rolled back within the look-back window.
pub const MAX_GAPS: usize = 1_000;

/// Rows older than this are deleted by housekeeping; a reader must read more often.
pub const RETENTION: chrono::Duration = chrono::Duration::minutes(10);

/// At most this many new changes per read; a full batch means "read again".
pub const BATCH: i64 = 1_000;

/// What changed. Stored as text; the table's CHECK lists the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Credential,
    App,
    Subscription,
    Product,
    Membership,
    Organisation,
    /// An organisation's gateway tokens (the change names the organisation only).
    Gateway,
    /// The token signing keys (a rotation; the change names nothing).
    SigningKey,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Credential,
        Kind::App,
        Kind::Subscription,
        Kind::Product,
        Kind::Membership,
        Kind::Organisation,
        Kind::Gateway,
        Kind::SigningKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Credential => "credential",
            Kind::App => "app",
            Kind::Subscription => "subscription",
            Kind::Product => "product",
            Kind::Membership => "membership",
            Kind::Organisation => "organisation",
            Kind::Gateway => "gateway",
            Kind::SigningKey => "signing_key",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A change to record: the entity kind and the ids it touched.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = changes)]
pub struct NewChange {
    pub kind: String,
    pub org_id: Option<String>,
    pub app_id: Option<String>,
    pub product_id: Option<String>,
    pub user_id: Option<String>,
    pub created_at: NaiveDateTime,
}

impl NewChange {
    /// A change of `kind` at `now` naming nothing yet (callers fill in the ids).
    pub fn of(kind: Kind, now: NaiveDateTime) -> NewChange {
        NewChange {
            kind: kind.as_str().to_string(),
            org_id: None,
            app_id: None,
            product_id: None,
            user_id: None,
            created_at: now,
        }
    }
}

/// A recorded change, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = changes)]
pub struct Change {
    pub id: i64,
    pub kind: String,
    pub org_id: Option<String>,
    pub app_id: Option<String>,
    pub product_id: Option<String>,
    pub user_id: Option<String>,
    pub created_at: NaiveDateTime,
}

impl Change {
    pub fn kind(&self) -> Option<Kind> {
        Kind::parse(&self.kind)
    }
}

thread_local! {
    /// Set when this thread records a change: the instance's own verify index then
    /// catches up before the request answers (`AppState::db`).
    static RECORDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread recorded a change since the last call (and resets it).
pub fn take_recorded() -> bool {
    RECORDED.with(|r| r.replace(false))
}

/// Records `change`; call it inside the transaction of the write it describes.
pub fn record(conn: &mut DbConnection, change: &NewChange) -> QueryResult<()> {
    RECORDED.with(|r| r.set(true));
    diesel::insert_into(changes::table)
        .values(change)
        .execute(conn)
        .map(drop)
}

/// Where a reader is in the feed: the highest id delivered, and the lower ids not
/// seen yet with the moment each was first noticed missing.
#[derive(Debug, Clone)]
pub struct Cursor {
    high: i64,
    gaps: BTreeMap<i64, Instant>,
    look_back: Duration,
}

impl Cursor {
    /// Before every retained change: the first read returns the whole feed.
    pub fn start() -> Cursor {
        Cursor::after(0)
    }

    /// After change `id`: the next read returns only higher ids.
    pub fn after(id: i64) -> Cursor {
        Cursor {
            high: id,
            gaps: BTreeMap::new(),
            look_back: LOOK_BACK,
        }
    }

    /// At the end of the feed as it is now, for a reader that loads the current state
    /// next: changes committed from here on are delivered, including those of
    /// transactions still running whose ids are below the current highest (the
    /// missing ids among the last [`MAX_GAPS`] are gaps from this moment).
    pub fn at_end(conn: &mut DbConnection) -> QueryResult<Cursor> {
        let high: Option<i64> = changes::table
            .select(diesel::dsl::max(changes::id))
            .first(conn)?;
        let high = high.unwrap_or(0);
        let floor = high.saturating_sub(MAX_GAPS as i64);
        let present: Vec<i64> = changes::table
            .filter(changes::id.gt(floor))
            .select(changes::id)
            .load(conn)?;
        let present: std::collections::HashSet<i64> = present.into_iter().collect();
        let now = Instant::now();
        let mut cursor = Cursor::after(high);
        cursor.gaps = ((floor + 1).max(1)..high)
            .filter(|id| !present.contains(id))
            .map(|id| (id, now))
            .collect();
        Ok(cursor)
    }

    /// The same cursor with another look-back window (tests use a short one).
    pub fn with_look_back(mut self, look_back: Duration) -> Cursor {
        self.look_back = look_back;
        self
    }

    /// The highest id delivered so far.
    pub fn high(&self) -> i64 {
        self.high
    }

    /// The ids below `high` still awaited.
    pub fn gaps(&self) -> impl Iterator<Item = i64> + '_ {
        self.gaps.keys().copied()
    }
}

/// The changes committed since `cursor`, in id order except that late commits into
/// gaps come first, each exactly once, and the cursor to read from next. At most
/// [`BATCH`] new changes (plus the late ones): read again while it returns a full
/// batch. Run it outside a transaction: on PostgreSQL each query then sees every
/// commit made before it started.
pub fn since(conn: &mut DbConnection, cursor: &Cursor) -> QueryResult<(Vec<Change>, Cursor)> {
    let started = Instant::now();
    let mut next = cursor.clone();
    let awaited: Vec<i64> = next.gaps.keys().copied().collect();
    let mut out: Vec<Change> = if awaited.is_empty() {
        Vec::new()
    } else {
        changes::table
            .filter(changes::id.eq_any(&awaited))
            .order(changes::id)
            .select(Change::as_select())
            .load(conn)?
    };
    let fresh: Vec<Change> = changes::table
        .filter(changes::id.gt(next.high))
        .order(changes::id)
        .limit(BATCH)
        .select(Change::as_select())
        .load(conn)?;
    let noticed = Instant::now();

    for late in &out {
        next.gaps.remove(&late.id);
    }
    // Gaps are given up only by a read that started after their look-back ended: any
    // change committed within it was visible to this read's query.
    next.gaps
        .retain(|_, first| started.saturating_duration_since(*first) <= next.look_back);
    for change in &fresh {
        for missing in (next.high + 1)..change.id {
            next.gaps.insert(missing, noticed);
        }
        next.high = change.id;
    }
    while next.gaps.len() > MAX_GAPS {
        next.gaps.pop_first();
    }
    out.extend(fresh);
    Ok((out, next))
}

/// Deletes up to `limit` changes created before `cutoff`, lowest ids first; returns
/// how many. Housekeeping calls it with `now - RETENTION`.
pub fn purge(conn: &mut DbConnection, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let old = changes::table.filter(changes::created_at.lt(cutoff));
    // The `limit`-th oldest id, or the last one when there are fewer: one statement
    // whatever the limit (no list of ids to bind).
    let bound: Option<i64> = match old
        .order(changes::id)
        .offset(limit.saturating_sub(1).max(0))
        .select(changes::id)
        .first(conn)
        .optional()?
    {
        Some(id) => Some(id),
        None => old.select(diesel::dsl::max(changes::id)).first(conn)?,
    };
    let Some(bound) = bound else { return Ok(0) };
    diesel::delete(
        changes::table
            .filter(changes::created_at.lt(cutoff))
            .filter(changes::id.le(bound)),
    )
    .execute(conn)
}
