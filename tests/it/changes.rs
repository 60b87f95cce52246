//! The change feed: every write that can change a key verification's answer leaves
//! exactly its change in the `changes` table (and a refused write none); a reader
//! following the feed with a cursor sees every change exactly once, even when, on
//! PostgreSQL, ids commit out of order and many writers race it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use gatehouse::config::DatabaseUrl;
use gatehouse::db::{DbConnection, Manager, write_transaction};
use gatehouse::models::changes::{self, Change, Cursor, NewChange};
use serde_json::json;

use crate::kit::{OWNER_EMAIL, TeamBuilder, TestApp, spawn_app, str_of};

const BOB: &str = "bob@example.com";

/// A change as the test names it: kind, app, product, user.
type Seen = (String, Option<String>, Option<String>, Option<String>);

/// Reads the feed past `cursor` until it is empty; returns what came.
fn drain(conn: &mut DbConnection, cursor: &mut Cursor) -> Vec<Change> {
    let mut all = Vec::new();
    loop {
        let (batch, next) = changes::since(conn, cursor).expect("read the feed");
        *cursor = next;
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

fn app_change(kind: &str, app: &str) -> Seen {
    (kind.into(), Some(app.into()), None, None)
}

/// Asserts the feed grew by exactly `expected` since `cursor` (in this order), each
/// change in organisation `org`.
#[track_caller]
fn assert_feed(app: &TestApp, cursor: &mut Cursor, org: &str, step: &str, expected: &[Seen]) {
    let got = drain(&mut app.conn(), cursor);
    let seen: Vec<Seen> = got
        .iter()
        .map(|c| {
            (
                c.kind.clone(),
                c.app_id.clone(),
                c.product_id.clone(),
                c.user_id.clone(),
            )
        })
        .collect();
    assert_eq!(seen, expected, "{step}");
    for c in &got {
        assert_eq!(c.org_id.as_deref(), Some(org), "{step}: {c:?}");
        assert!(c.kind().is_some(), "{step}: {c:?}");
    }
}

#[tokio::test]
async fn every_write_that_changes_an_answer_emits_its_change_and_a_refused_one_none() {
    let app = spawn_app().await;
    let owner = app.setup_owner().await;
    let admin = app.api(OWNER_EMAIL, "acme", true, true);
    let org = app.text("SELECT id AS v FROM organisations WHERE slug = 'acme'");
    let mut cursor = Cursor::at_end(&mut app.conn()).unwrap();
    let f = &mut cursor;

    // Setting up people and teams changes no answer.
    let _bob = app.join(&owner, "acme", BOB, "developer").await;
    let team = TeamBuilder::new("Core").org("acme").create(&owner).await;
    assert_feed(&app, f, &org, "join and team", &[]);

    let reply = admin
        .post(
            "/api/v1/products",
            json!({"name": "Payments", "slug": "payments", "approval_mode": "manual"}),
        )
        .await;
    let product = str_of(reply.expect(201), "id").to_string();
    let product_change = || ("product".to_string(), None, Some(product.clone()), None);
    assert_feed(&app, f, &org, "product created", &[product_change()]);

    let reply = admin
        .post(
            "/api/v1/apps",
            json!({"name": "Billing", "auth_type": "api_key", "products": ["payments"]}),
        )
        .await;
    let billing = str_of(reply.expect(201), "id").to_string();
    assert_feed(
        &app,
        f,
        &org,
        "app created, subscription requested",
        &[
            app_change("app", &billing),
            app_change("subscription", &billing),
        ],
    );

    let sub = app.sub_of(&billing);
    admin
        .post(&format!("/api/v1/approvals/{sub}/approve"), json!({}))
        .await
        .expect(200);
    assert_feed(
        &app,
        f,
        &org,
        "subscription approved, app approved",
        &[
            app_change("subscription", &billing),
            app_change("app", &billing),
        ],
    );

    let first = app.credential_of(&billing);
    admin
        .post(
            &format!("/api/v1/apps/{billing}/rotate"),
            json!({"overlap_seconds": 3600}),
        )
        .await
        .expect(201);
    assert_feed(
        &app,
        f,
        &org,
        "rotate",
        &[app_change("credential", &billing)],
    );

    admin
        .post(
            &format!("/api/v1/apps/{billing}/credentials/{first}/retire"),
            json!({}),
        )
        .await
        .expect(200);
    assert_feed(
        &app,
        f,
        &org,
        "retire",
        &[app_change("credential", &billing)],
    );

    admin
        .post(&format!("/api/v1/apps/{billing}/reset"), json!({}))
        .await
        .expect(201);
    assert_feed(
        &app,
        f,
        &org,
        "reset",
        &[app_change("credential", &billing)],
    );

    admin
        .post(
            &format!("/api/v1/apps/{billing}/suspend"),
            json!({"reason": "unpaid"}),
        )
        .await
        .expect(200);
    assert_feed(&app, f, &org, "suspend", &[app_change("app", &billing)]);
    admin
        .post(&format!("/api/v1/apps/{billing}/resume"), json!({}))
        .await
        .expect(200);
    assert_feed(&app, f, &org, "resume", &[app_change("app", &billing)]);

    admin
        .patch(
            &format!("/api/v1/products/{product}"),
            json!({"quota_limit": 1000, "quota_period": "day", "rate_limit_per_second": 5}),
            None,
        )
        .await
        .expect(200);
    assert_feed(&app, f, &org, "product limits", &[product_change()]);

    let reply = admin
        .post(
            "/api/v1/apps",
            json!({"name": "Shop", "auth_type": "api_key", "products": ["payments"]}),
        )
        .await;
    let shop = str_of(reply.expect(201), "id").to_string();
    assert_feed(
        &app,
        f,
        &org,
        "second app",
        &[app_change("app", &shop), app_change("subscription", &shop)],
    );
    let shop_sub = app.sub_of(&shop);
    admin
        .post(
            &format!("/api/v1/approvals/{shop_sub}/reject"),
            json!({"reason": "not now"}),
        )
        .await
        .expect(200);
    let after_reject = drain(&mut app.conn(), f);
    assert!(
        !after_reject.is_empty()
            && after_reject
                .iter()
                .all(|c| c.app_id.as_deref() == Some(shop.as_str())
                    && (c.kind == "subscription" || c.kind == "app")),
        "reject: {after_reject:?}"
    );
    assert!(after_reject.iter().any(|c| c.kind == "subscription"));

    admin
        .post(&format!("/api/v1/subscriptions/{sub}/cancel"), json!({}))
        .await
        .expect(200);
    assert_feed(
        &app,
        f,
        &org,
        "cancel",
        &[app_change("subscription", &billing)],
    );

    admin
        .post(
            &format!("/api/v1/apps/{billing}/transfer"),
            json!({"team_id": team}),
        )
        .await
        .expect(200);
    assert_feed(&app, f, &org, "transfer", &[app_change("app", &billing)]);

    admin
        .post(&format!("/api/v1/products/{product}/archive"), json!({}))
        .await
        .expect(200);
    assert_feed(&app, f, &org, "archive", &[product_change()]);

    // Refused writes leave nothing: each is refused by validation or state.
    admin
        .post(
            &format!("/api/v1/apps/{billing}/suspend"),
            json!({"reason": ""}),
        )
        .await
        .expect_problem(422);
    admin
        .post(
            &format!("/api/v1/apps/{billing}/rotate"),
            json!({"overlap_seconds": -5}),
        )
        .await
        .expect_problem(400);
    admin
        .patch(
            &format!("/api/v1/products/{product}"),
            json!({"quota_limit": -1}),
            None,
        )
        .await
        .expect_problem(422);
    admin
        .post("/api/v1/apps", json!({"name": "", "auth_type": "api_key"}))
        .await
        .expect_problem(422);
    assert_feed(&app, f, &org, "refused writes", &[]);

    admin
        .post(
            &format!("/api/v1/apps/{billing}/revoke"),
            json!({"reason": "leaked"}),
        )
        .await
        .expect(200);
    assert_feed(&app, f, &org, "revoke", &[app_change("app", &billing)]);
    // A revoked app refuses changes: still nothing.
    admin
        .post(&format!("/api/v1/apps/{billing}/reset"), json!({}))
        .await
        .expect_problem(409);
    assert_feed(&app, f, &org, "refused reset", &[]);

    let reply = admin.delete(&format!("/api/v1/apps/{shop}")).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_feed(&app, f, &org, "delete", &[app_change("app", &shop)]);

    let bob_id = app.user_id(BOB);
    let reply = admin.delete(&format!("/api/v1/members/{bob_id}")).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_feed(
        &app,
        f,
        &org,
        "member removed",
        &[("membership".into(), None, None, Some(bob_id))],
    );

    owner
        .submit(
            "/o/acme/settings",
            "/o/acme/delete",
            &[("confirm_slug", "acme")],
        )
        .await;
    assert_feed(
        &app,
        f,
        &org,
        "organisation deleted",
        &[("organisation".into(), None, None, None)],
    );
}

/// A connection of its own (not the app's pool, which the threads would exhaust).
fn own_connection(url: &str) -> DbConnection {
    Manager::new(DatabaseUrl::parse(url).unwrap())
        .open()
        .unwrap()
}

/// A change inserted straight into the table, as a write's transaction would (in
/// the caller's transaction if one is open, else in one of its own).
fn insert_change(conn: &mut DbConnection, tag: &str) {
    write_transaction(conn, |conn| record_tagged(conn, tag)).unwrap();
}

fn record_tagged(conn: &mut DbConnection, tag: &str) -> diesel::QueryResult<()> {
    changes::record(
        conn,
        &NewChange {
            kind: "app".into(),
            org_id: None,
            app_id: Some(tag.into()),
            product_id: None,
            user_id: None,
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0)
                .unwrap()
                .naive_utc(),
        },
    )
}

fn ids(changes: &[Change]) -> Vec<i64> {
    changes.iter().map(|c| c.id).collect()
}

#[tokio::test]
async fn a_change_committed_late_into_a_gap_is_read_once_and_a_gap_is_given_up_after_its_window() {
    let app = spawn_app().await;
    let conn = &mut own_connection(&app.database_url);
    let mut cursor = Cursor::start().with_look_back(Duration::from_secs(3600));
    for tag in ["a", "b", "c"] {
        insert_change(conn, tag);
    }
    let first = ids(&drain(conn, &mut Cursor::start()))[0];
    // The middle one vanishes (as a transaction still running would look) before
    // the reader reads; then it "commits" with its own id.
    write_transaction(conn, |conn| {
        conn.batch_execute(&format!("DELETE FROM changes WHERE id = {}", first + 1))
    })
    .unwrap();
    assert_eq!(ids(&drain(conn, &mut cursor)), vec![first, first + 2]);
    assert_eq!(cursor.gaps().collect::<Vec<_>>(), vec![first + 1]);
    write_transaction(conn, |conn| {
        conn.batch_execute(&format!(
            "INSERT INTO changes (id, kind, created_at) VALUES ({}, 'app', '2026-11-28 12:00:00')",
            first + 1
        ))
    })
    .unwrap();
    insert_change(conn, "d");
    let late = drain(conn, &mut cursor);
    assert_eq!(ids(&late), vec![first + 1, first + 3]);
    assert_eq!(cursor.gaps().count(), 0);
    assert!(drain(conn, &mut cursor).is_empty(), "nothing twice");

    // With no look-back, a gap is asked for once more and then given up.
    let mut hasty = cursor.clone().with_look_back(Duration::ZERO);
    insert_change(conn, "e");
    insert_change(conn, "f");
    let high = cursor.high();
    write_transaction(conn, |conn| {
        conn.batch_execute(&format!("DELETE FROM changes WHERE id = {}", high + 1))
    })
    .unwrap();
    assert_eq!(ids(&drain(conn, &mut hasty)), vec![high + 2]);
    std::thread::sleep(Duration::from_millis(5));
    let (nothing, hasty) = changes::since(conn, &hasty).unwrap();
    assert!(nothing.is_empty());
    assert_eq!(hasty.gaps().count(), 0, "given up");

    // A cursor at the end delivers only what comes after it.
    let mut end = Cursor::at_end(conn).unwrap();
    assert!(drain(conn, &mut end).is_empty());
    insert_change(conn, "g");
    assert_eq!(drain(conn, &mut end).len(), 1);
}

/// Two connections on PostgreSQL: A takes an id in an open transaction, B takes a
/// later one and commits, the reader reads (B), then A commits: the next read returns
/// A. On SQLite the write lock serialises them, so ids commit in order: the reader
/// sees A then B.
#[tokio::test]
async fn a_change_committing_after_a_later_one_is_not_skipped() {
    let app = spawn_app().await;
    let mut reader = own_connection(&app.database_url);
    let mut cursor = Cursor::at_end(&mut reader).unwrap();
    let mut a = own_connection(&app.database_url);
    let mut b = own_connection(&app.database_url);
    if matches!(reader, DbConnection::Pg(_)) {
        a.batch_execute("BEGIN").unwrap();
        record_tagged(&mut a, "A").unwrap();
        insert_change(&mut b, "B");
        let first = drain(&mut reader, &mut cursor);
        assert_eq!(
            first
                .iter()
                .map(|c| c.app_id.clone().unwrap())
                .collect::<Vec<_>>(),
            vec!["B"]
        );
        assert_eq!(cursor.gaps().count(), 1, "A's id is awaited");
        a.batch_execute("COMMIT").unwrap();
        let late = drain(&mut reader, &mut cursor);
        assert_eq!(
            late.iter()
                .map(|c| c.app_id.clone().unwrap())
                .collect::<Vec<_>>(),
            vec!["A"]
        );
        assert!(late[0].id < first[0].id, "A's id is the lower");
    } else {
        write_transaction(&mut a, |conn| {
            insert_change(conn, "A");
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
        insert_change(&mut b, "B");
        let seen = drain(&mut reader, &mut cursor);
        assert_eq!(
            seen.iter()
                .map(|c| c.app_id.clone().unwrap())
                .collect::<Vec<_>>(),
            vec!["A", "B"]
        );
        assert_eq!(cursor.gaps().count(), 0);
    }
    assert!(drain(&mut reader, &mut cursor).is_empty());
}

const WRITERS: usize = 8;
const PER_WRITER: usize = 200;

/// Eight writers commit 200 changes each, every one in its own transaction (some
/// kept open a little, so ids commit out of order on PostgreSQL; some rolled back,
/// leaving holes), while a reader follows the feed: it sees every committed id
/// exactly once and nothing rolled back.
#[tokio::test]
async fn a_reader_racing_many_writers_sees_every_change_exactly_once() {
    let app = spawn_app().await;
    let start = Cursor::at_end(&mut app.conn()).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(WRITERS + 1));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = app.database_url.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut conn = own_connection(&url);
                barrier.wait();
                let mut committed = 0;
                for i in 0..PER_WRITER {
                    let roll_back = i % 17 == w;
                    let result = write_transaction(&mut conn, |conn| {
                        record_tagged(conn, &format!("{w}-{i}"))?;
                        if i % 5 == 0 {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        if roll_back {
                            Err(diesel::result::Error::RollbackTransaction)
                        } else {
                            Ok(())
                        }
                    });
                    match result {
                        Ok(()) => committed += 1,
                        Err(diesel::result::Error::RollbackTransaction) => {}
                        Err(e) => panic!("writer {w}: {e}"),
                    }
                }
                committed
            })
        })
        .collect();

    let reader = {
        let url = app.database_url.clone();
        let done = done.clone();
        let barrier = barrier.clone();
        std::thread::spawn(move || {
            let mut conn = own_connection(&url);
            let mut cursor = start;
            let mut seen: Vec<Change> = Vec::new();
            barrier.wait();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (batch, next) = changes::since(&mut conn, &cursor).unwrap();
                cursor = next;
                let empty = batch.is_empty();
                seen.extend(batch);
                if finished && empty {
                    return seen;
                }
                if empty {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };

    let committed: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();

    let mut unique = BTreeSet::new();
    for c in &seen {
        assert!(unique.insert(c.id), "id {} delivered twice", c.id);
    }
    let in_table: BTreeSet<i64> = drain(&mut app.conn(), &mut Cursor::start())
        .iter()
        .map(|c| c.id)
        .collect();
    assert!(committed < WRITERS * PER_WRITER, "some writes rolled back");
    assert_eq!(in_table.len(), committed);
    assert_eq!(
        unique, in_table,
        "the reader saw exactly the committed changes"
    );
}

/// Housekeeping's retention: rows older than the cutoff go, at most `limit` a pass,
/// lowest ids first; newer rows stay.
#[tokio::test]
async fn old_changes_are_purged_a_bounded_batch_at_a_time() {
    let app = spawn_app().await;
    let conn = &mut own_connection(&app.database_url);
    let at = |hour: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    };
    write_transaction(conn, |conn| {
        for hour in [1, 2, 3, 9, 4, 10] {
            changes::record(
                conn,
                &NewChange {
                    kind: "product".into(),
                    org_id: None,
                    app_id: None,
                    product_id: Some(format!("p{hour}")),
                    user_id: None,
                    created_at: at(hour),
                },
            )?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    let left = |conn: &mut DbConnection| -> Vec<String> {
        drain(conn, &mut Cursor::start())
            .into_iter()
            .map(|c| c.product_id.unwrap())
            .collect()
    };
    let cutoff = at(5);
    let purge = |conn: &mut DbConnection| {
        write_transaction(conn, |conn| changes::purge(conn, cutoff, 2)).unwrap()
    };
    assert_eq!(purge(conn), 2);
    assert_eq!(left(conn), ["p3", "p9", "p4", "p10"]);
    assert_eq!(purge(conn), 2);
    assert_eq!(left(conn), ["p9", "p10"]);
    assert_eq!(purge(conn), 0);
    assert_eq!(left(conn), ["p9", "p10"]);
}
