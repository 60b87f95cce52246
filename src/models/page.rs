//! Keyset pagination, shared by every list of the portal and the API.
//!
//! A list is ordered by a text key and the row's id (ids are time-ordered UUIDv7, so
//! ordering by id alone is ordering by creation). A page is fetched with one more row
//! than it shows, starting after (or before) the cursor, so no request reads or counts
//! more than a page, whatever the size of the table. Cursors name the row they stop
//! at, so pages stay stable while rows are added or removed.
//!
//! Queries apply a [`Window`] with [`keyset!`](crate::keyset) and turn the rows into
//! a [`Page`] with [`Page::from_rows`].

use base64ct::{Base64UrlUnpadded, Encoding};

/// Counts shown on pages stop here ("1,000+"): no request counts a whole big table.
pub const COUNT_CAP: usize = 1000;

/// Which way a cursor points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// The rows after the cursor (Next).
    After,
    /// The rows before the cursor (Previous).
    Before,
}

/// A position in a list: the key and id of the row a page stopped at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub dir: Dir,
    pub key: String,
    pub id: String,
}

impl Cursor {
    /// The opaque form used in links and API responses.
    pub fn encode(&self) -> String {
        let dir = match self.dir {
            Dir::After => 'a',
            Dir::Before => 'b',
        };
        let text = format!("v2:{dir}:{}:{}", self.id, self.key);
        Base64UrlUnpadded::encode_string(text.as_bytes())
    }

    /// Reads a cursor made by [`Cursor::encode`]; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = Base64UrlUnpadded::decode_vec(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let rest = text.strip_prefix("v2:")?;
        let (dir, rest) = rest.split_once(':')?;
        let dir = match dir {
            "a" => Dir::After,
            "b" => Dir::Before,
            _ => return None,
        };
        let (id, key) = rest.split_once(':')?;
        if id.is_empty() || id.len() > 64 || key.len() > 400 {
            return None;
        }
        Some(Self {
            dir,
            key: key.to_string(),
            id: id.to_string(),
        })
    }
}

/// What a request asks of a list: how many rows and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

impl Window {
    pub fn first(limit: usize) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// A window from an optional encoded cursor; [`InvalidCursor`] when the text is
    /// not one of ours.
    pub fn parse(limit: usize, cursor: Option<&str>) -> Result<Self, InvalidCursor> {
        let cursor = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => Some(Cursor::decode(text).ok_or(InvalidCursor)?),
        };
        Ok(Self { limit, cursor })
    }

    /// True unless the cursor asks for the rows before it.
    pub fn forward(&self) -> bool {
        !matches!(&self.cursor, Some(c) if c.dir == Dir::Before)
    }

    /// Rows to fetch: one more than shown tells whether there are more.
    pub fn fetch(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(i64::MAX - 1) + 1
    }
}

/// A cursor that was not made by this server (or was tampered with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidCursor;

/// One page of a list, in display order, with the cursors of its neighbours.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
    pub prev: Option<Cursor>,
}

impl<T> Page<T> {
    /// The page from rows fetched through [`keyset!`](crate::keyset) for `window`
    /// (`window.fetch()` rows at most, in query order); `key` gives a row's sort key
    /// and id.
    pub fn from_rows(
        mut rows: Vec<T>,
        window: &Window,
        key: impl Fn(&T) -> (String, String),
    ) -> Self {
        let more = rows.len() > window.limit;
        rows.truncate(window.limit);
        let at = |row: Option<&T>, dir: Dir| {
            row.map(|r| {
                let (key, id) = key(r);
                Cursor { dir, key, id }
            })
        };
        if window.forward() {
            let next = if more {
                at(rows.last(), Dir::After)
            } else {
                None
            };
            let prev = if window.cursor.is_some() {
                at(rows.first(), Dir::Before)
            } else {
                None
            };
            Self {
                items: rows,
                next,
                prev,
            }
        } else {
            rows.reverse();
            let prev = if more {
                at(rows.first(), Dir::Before)
            } else {
                None
            };
            let next = at(rows.last(), Dir::After);
            Self {
                items: rows,
                next,
                prev,
            }
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            prev: self.prev,
        }
    }

    /// The page with each row replaced, leaving out rows `f` finds gone (rows loaded
    /// by id after their ids were paged may have vanished meanwhile); the cursors stay.
    pub fn filter_map<U>(self, f: impl FnMut(T) -> Option<U>) -> Page<U> {
        Page {
            items: self.items.into_iter().filter_map(f).collect(),
            next: self.next,
            prev: self.prev,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The smallest string greater than every string that starts with `prefix` (in byte
/// order, which is how SQLite's default collation and PostgreSQL's `"C"` collation
/// compare): `key >= prefix AND key < prefix_end(prefix)` is an indexed prefix search.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// A search box's text as stored keys are: trimmed, lower-cased, no control
/// characters, at most 100 characters.
pub fn search_key(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>()
        .to_lowercase()
}

/// A count as shown: exact up to [`COUNT_CAP`], then "1,000+".
pub fn capped(count: usize) -> String {
    if count > COUNT_CAP {
        format!("{}+", crate::wording::thousands(COUNT_CAP))
    } else {
        crate::wording::thousands(count)
    }
}

/// `SELECT COUNT(*) FROM (<query>) AS capped`: counts a limited query's rows in the
/// database without returning them. Built by [`count_capped!`](crate::count_capped).
#[derive(Debug, Clone, diesel::query_builder::QueryId)]
pub struct CountRows<Q>(pub Q);

impl<Q> diesel::query_builder::Query for CountRows<Q> {
    type SqlType = diesel::sql_types::BigInt;
}

impl<Q, C> diesel::query_dsl::RunQueryDsl<C> for CountRows<Q> {}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for CountRows<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS capped");
        Ok(())
    }
}

/// How many rows `$query` (a boxed query) matches, counted in SQL up to
/// [`COUNT_CAP`] + 1 in one statement that walks at most that many index entries
/// and loads no row.
#[macro_export]
macro_rules! count_capped {
    ($query:expr, $id:expr, $conn:expr) => {{
        #[allow(unused_imports)]
        use diesel::prelude::*;
        let cap = i64::try_from($crate::models::page::COUNT_CAP).unwrap_or(i64::MAX - 1) + 1;
        let n: i64 = $crate::models::page::CountRows($query.select($id).limit(cap))
            .get_result::<i64>($conn)?;
        usize::try_from(n).unwrap_or(usize::MAX)
    }};
}

/// Applies a [`Window`] to a boxed diesel query ordered by `key` then `id` (both text
/// columns; pass the id column twice to order by id alone): filters past the cursor,
/// orders (descending when `descending`), limits to one more row than the page.
#[macro_export]
macro_rules! keyset {
    ($query:expr, $key:expr, $id:expr, $window:expr, descending = $descending:expr) => {{
        #[allow(unused_imports)]
        use diesel::prelude::*;
        let window: &$crate::models::page::Window = $window;
        let mut query = $query;
        let ascending = window.forward() != $descending;
        if let Some(cursor) = &window.cursor {
            let (key, id) = (cursor.key.clone(), cursor.id.clone());
            query = if ascending {
                query.filter($key.gt(key.clone()).or($key.eq(key).and($id.gt(id))))
            } else {
                query.filter($key.lt(key.clone()).or($key.eq(key).and($id.lt(id))))
            };
        }
        query = if ascending {
            query.order(($key.asc(), $id.asc()))
        } else {
            query.order(($key.desc(), $id.desc()))
        };
        query.limit(window.fetch())
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[allow(clippy::ptr_arg)]
    fn key(s: &String) -> (String, String) {
        (s.to_string(), s.to_string())
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = Cursor {
            dir: Dir::Before,
            key: "name: with colons".into(),
            id: "0190-abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode(""), None);
        let old = Base64UrlUnpadded::encode_string(b"v1:0190");
        assert_eq!(Cursor::decode(&old), None);
        assert_eq!(Window::parse(10, Some("%%%")), Err(InvalidCursor));
        assert_eq!(Window::parse(10, Some(" ")), Ok(Window::first(10)));
    }

    #[test]
    fn a_first_page_has_next_only_when_more_rows_came_back() {
        let w = Window::first(2);
        let p = Page::from_rows(rows(&["a", "b", "c"]), &w, key);
        assert_eq!(p.items, rows(&["a", "b"]));
        assert_eq!(p.next.as_ref().map(|c| c.id.as_str()), Some("b"));
        assert_eq!(p.next.as_ref().map(|c| c.dir), Some(Dir::After));
        assert!(p.prev.is_none());
        let last = Page::from_rows(rows(&["a", "b"]), &w, key);
        assert!(last.next.is_none() && last.prev.is_none());
    }

    #[test]
    fn a_page_before_a_cursor_comes_back_reversed_and_points_both_ways() {
        let w = Window {
            limit: 2,
            cursor: Some(Cursor {
                dir: Dir::Before,
                key: "d".into(),
                id: "d".into(),
            }),
        };
        // Fetched in descending order: c, b, a.
        let p = Page::from_rows(rows(&["c", "b", "a"]), &w, key);
        assert_eq!(p.items, rows(&["b", "c"]));
        assert_eq!(p.prev.as_ref().map(|c| c.id.as_str()), Some("b"));
        assert_eq!(p.next.as_ref().map(|c| c.id.as_str()), Some("c"));
        let start = Page::from_rows(rows(&["b", "a"]), &w, key);
        assert_eq!(start.items, rows(&["a", "b"]));
        assert!(start.prev.is_none());
    }

    #[test]
    fn prefixes_bound_a_range_and_counts_cap() {
        let end = prefix_end("ab");
        assert!("ab" < end.as_str() && "abzzz" < end.as_str());
        assert!("ac" > end.as_str());
        assert_eq!(search_key("  Billing\u{7} API "), "billing api");
        assert_eq!(capped(999), "999");
        assert_eq!(capped(1001), "1,000+");
    }
}
