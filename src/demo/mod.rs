//! A lived-in organisation for `gatehouse demo` and for benchmarks: people, teams,
//! products with real documentation, and apps of every auth type in every state,
//! with six weeks of approvals, rotations, suspensions, notifications and audit
//! history behind them.
//!
//! Everything is made through the services, exactly as the portal would make it,
//! each step at its own time in the past, so the data keeps every rule real use
//! keeps. [`Size`] says how big; [`Size::DEMO`] is the portal demo, and
//! [`Size::with_apps`] scales the same story to benchmark sizes. Steps run in
//! batches inside one write transaction each (a savepoint per service call), which
//! is what makes thousands of apps fast.

pub mod cast;
pub mod catalogue;
pub mod clients;
pub mod keys;
pub mod plan;
mod world;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::crypto::{SecretString, random_base62};
use crate::db::schema::{apps, organisations};
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult};
use crate::services::apps::Issuer;

/// How big the demo organisation is. The story's shape stays the same at any size:
/// one owner, two admins, the named developers first, then generated ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Developer accounts (the first twelve have hand-picked names).
    pub developers: usize,
    /// Apps each developer owns personally.
    pub apps_per_developer: usize,
    /// Teams; developer `d` is in team `d mod teams`, which developer `t` admins.
    pub teams: usize,
    /// Apps each team owns.
    pub apps_per_team: usize,
    /// Whether people keep notification emails on. Off for benchmark sizes, so the
    /// outbox does not fill with tens of thousands of messages.
    pub email_notifications: bool,
    /// Seeds every choice in the story (not the ids and secrets, which stay random).
    pub seed: u64,
}

impl Size {
    /// The portal demo: 12 developers, 4 teams, 87 apps.
    pub const DEMO: Size = Size {
        developers: 12,
        apps_per_developer: 5,
        teams: 4,
        apps_per_team: 5,
        email_notifications: true,
        seed: 2026,
    };

    /// About `apps` apps, half owned by developers (about 50 each) and half by teams
    /// (about 1,000 each), with notification email off.
    pub fn with_apps(apps: usize) -> Size {
        let half = apps / 2;
        let developers = (half / 50).max(12);
        let teams = (half / 1000).clamp(4, developers);
        Size {
            developers,
            apps_per_developer: (half / developers).max(1),
            teams,
            apps_per_team: (half / teams).max(1),
            email_notifications: false,
            seed: 2026,
        }
    }

    /// Apps the owner (person 0, three) and each admin (two) own personally.
    pub fn apps_per_admin(&self, who: usize) -> usize {
        self.apps_per_developer.min(if who == 0 { 3 } else { 2 })
    }

    /// How many apps this size creates.
    pub fn apps(&self) -> usize {
        let admins: usize = (0..plan::FIRST_DEVELOPER)
            .map(|who| self.apps_per_admin(who))
            .sum();
        self.developers * self.apps_per_developer + admins + self.teams * self.apps_per_team
    }

    fn check(&self) -> AppResult<()> {
        if self.teams == 0 || self.developers < self.teams {
            return Err(AppError::bad_request(
                "The demo needs at least one team and at least as many developers as teams.",
            ));
        }
        if self.apps() < 20 {
            return Err(AppError::bad_request(
                "The demo needs at least 20 apps to show every state.",
            ));
        }
        Ok(())
    }
}

/// What the generator needs from the instance it fills.
#[derive(Debug, Clone, Copy)]
pub struct Environment<'a> {
    /// The end of the story: everything happens before it.
    pub now: NaiveDateTime,
    /// The portal's base URL, for links in emails.
    pub public_base: &'a str,
    pub issuer: Issuer<'a>,
    /// The instance's longest rotation overlap.
    pub max_overlap: Duration,
}

/// One account to sign in with.
#[derive(Debug, Clone)]
pub struct Login {
    /// `owner`, `admin` or `developer`.
    pub role: &'static str,
    pub name: String,
    pub email: String,
}

/// What was made.
pub struct Demo {
    pub org_name: String,
    pub org_slug: String,
    /// The owner, an admin and a developer; every account shares `password`.
    pub logins: Vec<Login>,
    pub password: SecretString,
    /// Apps per status, by status name.
    pub apps_by_status: Vec<(String, i64)>,
    pub people: usize,
    pub teams: usize,
}

/// Steps per write transaction.
const BATCH: usize = 500;

/// A password for this run: 24 random base62 characters (about 143 bits) in groups.
fn strong_password() -> SecretString {
    let raw = random_base62(24);
    let groups: Vec<&str> = (0..4).map(|i| &raw[i * 6..i * 6 + 6]).collect();
    SecretString::new(groups.join("-"))
}

/// Fills an empty instance with the demo organisation. Every account gets one
/// password, made for this run and hashed once.
pub fn generate(conn: &mut DbConnection, env: &Environment<'_>, size: &Size) -> AppResult<Demo> {
    size.check()?;
    let password = strong_password();
    let password_hash = crate::auth::password::hash_blocking(&password)?;
    let plan = plan::build(size, env.now);
    let prepared = catalogue::prepare()?;
    let mut world = world::World::new(&plan, env, password_hash, prepared);
    for batch in plan.steps.chunks(BATCH) {
        write_transaction(conn, |conn| {
            for (at, step) in batch {
                world.apply(conn, *at, *step).map_err(|e| {
                    AppError::internal(format!("demo step {step:?} at {at} failed: {e:?}"))
                })?;
            }
            Ok::<_, AppError>(())
        })?;
    }
    let org_id: String = organisations::table
        .filter(organisations::slug.eq(cast::ORG_SLUG))
        .select(organisations::id)
        .first(conn)?;
    let apps_by_status = apps::table
        .filter(apps::org_id.eq(&org_id))
        .group_by(apps::status)
        .select((apps::status, diesel::dsl::count_star()))
        .order_by(apps::status)
        .load::<(String, i64)>(conn)?;
    let login = |role, who: usize| {
        let (name, email) = &plan.people[who];
        Login {
            role,
            name: name.clone(),
            email: email.clone(),
        }
    };
    Ok(Demo {
        org_name: cast::ORG_NAME.into(),
        org_slug: cast::ORG_SLUG.into(),
        logins: vec![
            login("owner", 0),
            login("admin", 1),
            login("developer", plan::developer(0)),
        ],
        password,
        apps_by_status,
        people: plan.people.len(),
        teams: size.teams,
    })
}
