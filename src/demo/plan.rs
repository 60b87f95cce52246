//! The demo's history as a list of dated steps: who joins when, which apps are made,
//! approved, suspended, rotated, revoked. Built from a [`Size`] and a seed, so the
//! same inputs give the same story; nothing here touches the database.

use chrono::{Duration, NaiveDateTime};

use super::Size;
use super::cast;
use super::catalogue::{CATALOG_V1, CUSTOMERS, ORDERS, PAYMENTS, SHIPPING};
use crate::services::apps::AuthType;

/// A small deterministic generator (SplitMix64): the story's choices, not secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number of minutes in `lo..=hi` (both in minutes).
    fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        let span = u64::try_from((hi - lo).max(0)).unwrap_or(0) + 1;
        let pick = i64::try_from(self.next_u64() % span).unwrap_or(0);
        Duration::minutes(lo + pick)
    }

    fn hours(&mut self, lo: i64, hi: i64) -> Duration {
        self.minutes(lo * 60, hi * 60)
    }
}

/// How an app's story ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fate {
    Active,
    Pending,
    Suspended,
    Rejected,
    Revoked,
    Deleted,
    /// Active, with a rotation's old credential still working (or, for JWT, a second
    /// key registered next to the first).
    Rotating,
}

/// Fates in the order apps receive them; every run of 20 holds each fate, and the
/// auth type shifts by one each run, so 60 apps cover every (fate, auth type) pair.
const CYCLE: [Fate; 20] = [
    Fate::Active,
    Fate::Pending,
    Fate::Active,
    Fate::Suspended,
    Fate::Rotating,
    Fate::Active,
    Fate::Rejected,
    Fate::Active,
    Fate::Revoked,
    Fate::Active,
    Fate::Pending,
    Fate::Active,
    Fate::Deleted,
    Fate::Active,
    Fate::Rotating,
    Fate::Active,
    Fate::Rejected,
    Fate::Active,
    Fate::Pending,
    Fate::Revoked,
];

const AUTH: [AuthType; 3] = [AuthType::ApiKey, AuthType::OAuth2, AuthType::Jwt];

/// People are numbered: 0 the owner, then the admins, then the developers.
pub const FIRST_DEVELOPER: usize = 1 + cast::ADMINS.len();

/// Who holds an app.
#[derive(Debug, Clone, Copy)]
pub enum Holder {
    Person(usize),
    Team(usize),
}

/// One app to create.
#[derive(Debug, Clone)]
pub struct AppPlan {
    pub name: String,
    pub description: &'static str,
    pub callback_urls: String,
    pub auth: AuthType,
    pub holder: Holder,
    /// The person who creates it (the developer, or the team's admin).
    pub creator: usize,
    pub products: Vec<usize>,
    pub note: &'static str,
    pub fate: Fate,
    pub label: &'static str,
    /// Which of the fixed public keys a JWT app registers first.
    pub key: usize,
}

/// One thing that happens, at its time.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Person 0 creates the organisation (`gatehouse admin create-owner`).
    Founding,
    /// The owner asks for a verification link and opens it.
    OwnerVerifiesEmail,
    PublishProduct(usize),
    ConditionalApprovals,
    /// `by` invites person `who`.
    Invite {
        who: usize,
        by: usize,
    },
    /// Person `who` signs up through their invitation.
    Join(usize),
    /// Person `who` turns every notification email off.
    EmailOff(usize),
    CreateTeam(usize),
    AddToTeam {
        team: usize,
        who: usize,
    },
    AdminToken,
    PersonalToken(usize),
    CreateApp(usize),
    Decide {
        app: usize,
        approve: bool,
        by: usize,
    },
    Suspend {
        app: usize,
        by: usize,
    },
    Revoke {
        app: usize,
        by: usize,
    },
    Delete(usize),
    Rotate {
        app: usize,
        overlap_hours: i64,
    },
    AddKey(usize),
    RetireFirstKey(usize),
    AskForMore {
        app: usize,
        product: usize,
    },
    ArchiveCatalog,
    ReadInbox(usize),
    OpenInvitation(usize),
}

/// The whole story.
#[derive(Debug)]
pub struct Plan {
    pub people: Vec<(String, String)>,
    pub team_admin: Vec<usize>,
    pub apps: Vec<AppPlan>,
    /// In the order they happen.
    pub steps: Vec<(NaiveDateTime, Step)>,
}

/// The person who is developer number `d`.
pub fn developer(d: usize) -> usize {
    FIRST_DEVELOPER + d
}

fn people(size: &Size) -> Vec<(String, String)> {
    let mut people = vec![(cast::OWNER.0.to_string(), cast::OWNER.1.to_string())];
    people.extend(
        cast::ADMINS
            .iter()
            .map(|(n, e)| (n.to_string(), e.to_string())),
    );
    for d in 0..size.developers {
        if let Some((name, email)) = cast::DEVELOPERS.get(d) {
            people.push((name.to_string(), email.to_string()));
        } else {
            let given = cast::GIVEN[d % cast::GIVEN.len()];
            let family = cast::FAMILY[(d / cast::GIVEN.len()) % cast::FAMILY.len()];
            let local = format!("{given}.{family}{d}")
                .to_lowercase()
                .replace('\'', "");
            people.push((
                format!("{given} {family}"),
                format!("{local}@northwind.example"),
            ));
        }
    }
    people
}

fn app_name(holder_index: usize, k: usize) -> (String, &'static str) {
    let (base, description) = cast::APPS[(holder_index * 7 + k) % cast::APPS.len()];
    let round = k / cast::APPS.len();
    const VARIANTS: [&str; 4] = ["", " (staging)", " (EU)", " v2"];
    let name = match VARIANTS.get(round) {
        Some(v) => format!("{base}{v}"),
        None => format!("{base} #{}", round - VARIANTS.len() + 2),
    };
    (name, description)
}

/// Builds the story ending at `now`: six weeks of history.
pub fn build(size: &Size, now: NaiveDateTime) -> Plan {
    let mut rng = Rng::new(size.seed);
    let start = now - Duration::days(42);
    let mut steps: Vec<(NaiveDateTime, Step)> = Vec::new();
    let people = people(size);

    // Week one: the owner founds the organisation and publishes the products.
    steps.push((start, Step::Founding));
    steps.push((start + Duration::hours(2), Step::OwnerVerifiesEmail));
    for p in 0..super::catalogue::PRODUCTS.len() {
        let at =
            start + Duration::hours(20) + Duration::minutes(35 * i64::try_from(p).unwrap_or(0));
        steps.push((at, Step::PublishProduct(p)));
    }
    steps.push((start + Duration::hours(23), Step::ConditionalApprovals));

    // Admins join on day two; developers over the next eight days.
    for a in 1..FIRST_DEVELOPER {
        let at = start + Duration::days(1) + rng.hours(1, 6);
        steps.push((at, Step::Invite { who: a, by: 0 }));
        steps.push((at + rng.hours(1, 20), Step::Join(a)));
    }
    let developers = size.developers;
    for d in 0..developers {
        let who = developer(d);
        let spread = Duration::minutes(8 * 24 * 60 * i64::try_from(d).unwrap_or(0))
            / i32::try_from(developers.max(1)).unwrap_or(1);
        let at = start + Duration::days(2) + spread + rng.minutes(0, 120);
        let by = d % FIRST_DEVELOPER;
        steps.push((at, Step::Invite { who, by }));
        steps.push((at + rng.hours(1, 20), Step::Join(who)));
    }
    if !size.email_notifications {
        for who in 0..people.len() {
            let joined =
                start + Duration::days(11) + Duration::seconds(i64::try_from(who).unwrap_or(0));
            steps.push((joined, Step::EmailOff(who)));
        }
    }

    // Teams form on day twelve; developer d is in team d mod teams, whose first
    // member (developer t) created it and admins it.
    let teams_at = start + Duration::days(12);
    let team_admin: Vec<usize> = (0..size.teams).map(developer).collect();
    for t in 0..size.teams {
        steps.push((
            teams_at + Duration::minutes(i64::try_from(t).unwrap_or(0)),
            Step::CreateTeam(t),
        ));
    }
    for d in size.teams..developers {
        let team = d % size.teams.max(1);
        let at = teams_at + Duration::hours(1) + rng.minutes(0, 24 * 60);
        steps.push((
            at,
            Step::AddToTeam {
                team,
                who: developer(d),
            },
        ));
    }
    // The owner and the admins work in a team too.
    for who in 0..FIRST_DEVELOPER {
        let team = who % size.teams.max(1);
        let at = teams_at + Duration::hours(2) + rng.minutes(0, 24 * 60);
        steps.push((at, Step::AddToTeam { team, who }));
    }
    steps.push((start + Duration::days(13), Step::AdminToken));
    steps.push((
        start + Duration::days(14),
        Step::PersonalToken(developer(0)),
    ));
    let archive_at = now - Duration::days(10);
    steps.push((archive_at, Step::ArchiveCatalog));

    // Apps: each developer's own, the owner's and admins' own, then each team's.
    let mut holders: Vec<(Holder, usize, usize)> = Vec::new();
    for d in 0..developers {
        for k in 0..size.apps_per_developer {
            holders.push((Holder::Person(developer(d)), d, k));
        }
    }
    for who in 0..FIRST_DEVELOPER {
        for k in 0..size.apps_per_admin(who) {
            holders.push((Holder::Person(who), developers + who, k));
        }
    }
    for t in 0..size.teams {
        for k in 0..size.apps_per_team {
            holders.push((Holder::Team(t), developers + FIRST_DEVELOPER + t, k));
        }
    }
    let apps_from = start + Duration::days(12) + Duration::hours(12);
    let mut apps = Vec::with_capacity(holders.len());
    for (g, (holder, holder_index, k)) in holders.into_iter().enumerate() {
        let slot = g % CYCLE.len();
        let fate = CYCLE[slot];
        let auth = AUTH[(slot + g / CYCLE.len()) % AUTH.len()];
        let creator = match holder {
            Holder::Person(p) => p,
            Holder::Team(t) => team_admin[t],
        };
        let (name, description) = app_name(holder_index, k);
        let callback_urls = if auth == AuthType::ApiKey {
            String::new()
        } else {
            format!(
                "https://{}.apps.northwind.example/oauth/callback",
                crate::validate::slugify(&name)
            )
        };
        let created = if fate == Fate::Pending {
            now - rng.minutes(30, 6 * 24 * 60)
        } else {
            let window = (now - Duration::days(4) - apps_from).num_minutes();
            apps_from + rng.minutes(0, window)
        };
        let products = match fate {
            Fate::Pending => match g % 3 {
                0 => vec![PAYMENTS],
                1 => vec![CUSTOMERS, SHIPPING],
                _ => vec![PAYMENTS, ORDERS],
            },
            Fate::Rejected => vec![if g % 2 == 0 { CUSTOMERS } else { PAYMENTS }],
            _ => match g % 6 {
                0 if created < archive_at - Duration::hours(1) => vec![CATALOG_V1, ORDERS],
                1 => vec![PAYMENTS, ORDERS],
                2 => vec![ORDERS, SHIPPING],
                3 => vec![SHIPPING],
                4 => vec![CUSTOMERS],
                _ => vec![ORDERS],
            },
        };
        let i = apps.len();
        let manual = products.iter().any(|p| *p == PAYMENTS || *p == CUSTOMERS);
        let admin = 1 + g % (FIRST_DEVELOPER - 1);
        steps.push((created, Step::CreateApp(i)));
        // Approval (when a manual product is asked for) comes first.
        let mut settled = created;
        if manual && fate != Fate::Pending {
            settled = created + rng.hours(1, 30);
            let approve = fate != Fate::Rejected;
            steps.push((
                settled,
                Step::Decide {
                    app: i,
                    approve,
                    by: admin,
                },
            ));
        }
        let later = |rng: &mut Rng| {
            let room = (now - Duration::hours(13) - settled)
                .num_minutes()
                .min(10 * 24 * 60);
            settled + Duration::hours(12) + rng.minutes(0, room)
        };
        match fate {
            Fate::Suspended => steps.push((later(&mut rng), Step::Suspend { app: i, by: admin })),
            Fate::Revoked => {
                let by = if g % 2 == 0 { admin } else { creator };
                steps.push((later(&mut rng), Step::Revoke { app: i, by }));
            }
            Fate::Deleted => steps.push((later(&mut rng), Step::Delete(i))),
            Fate::Rotating if auth == AuthType::Jwt => {
                let at = (now - rng.hours(6, 96)).max(settled + Duration::hours(1));
                steps.push((at, Step::AddKey(i)));
            }
            Fate::Rotating => {
                // Every other one ends its overlap within a day (so it is warned about).
                let (overlap_hours, ago) = if g % 2 == 0 {
                    (24 * 7, rng.hours(6, 96))
                } else {
                    (24, rng.hours(2, 12))
                };
                let at = (now - ago).max(settled + Duration::hours(1));
                steps.push((
                    at,
                    Step::Rotate {
                        app: i,
                        overlap_hours,
                    },
                ));
            }
            Fate::Active => {
                // Some active apps rotated long ago, some ask for one more product.
                if g % 5 == 2 {
                    let at = settled + rng.hours(24, 48);
                    if auth == AuthType::Jwt {
                        steps.push((at, Step::AddKey(i)));
                        steps.push((at + Duration::hours(12), Step::RetireFirstKey(i)));
                    } else {
                        let overlap_hours = if g % 2 == 0 { 0 } else { 24 };
                        steps.push((
                            at,
                            Step::Rotate {
                                app: i,
                                overlap_hours,
                            },
                        ));
                    }
                }
                if g % 4 == 1 {
                    let product = if products.contains(&CUSTOMERS) {
                        PAYMENTS
                    } else {
                        CUSTOMERS
                    };
                    let at = (now - rng.hours(2, 72)).max(settled + Duration::hours(1));
                    steps.push((at, Step::AskForMore { app: i, product }));
                }
            }
            Fate::Pending | Fate::Rejected => {}
        }
        apps.push(AppPlan {
            name,
            description,
            callback_urls,
            auth,
            holder,
            creator,
            products,
            note: cast::REQUEST_NOTES[g % cast::REQUEST_NOTES.len()],
            fate,
            label: cast::LABELS[g % cast::LABELS.len()],
            key: g % super::catalogue::JWT_PUBLIC_KEYS.len(),
        });
    }

    // People read their inbox now and then; what came after is still unread.
    for who in 0..people.len() {
        let at = now - rng.hours(6, 5 * 24);
        steps.push((at, Step::ReadInbox(who)));
    }
    for k in 0..cast::OPEN_INVITATIONS.len() {
        steps.push((now - rng.hours(3, 5 * 24), Step::OpenInvitation(k)));
    }

    // A stable sort keeps same-time steps in the order they were planned.
    steps.sort_by_key(|(at, _)| *at);
    Plan {
        people,
        team_admin,
        apps,
        steps,
    }
}
