//! Plays the story's steps through the services, keeping what each step made (users,
//! teams, products, apps) for the steps after it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::Environment;
use super::cast;
use super::catalogue::{self, JWT_PUBLIC_KEYS, PRODUCTS};
use super::plan::{FIRST_DEVELOPER, Holder, Plan, Step};
use crate::auth::policy::{Role, TeamRole, TokenAccess};
use crate::crypto::{SecretString, random_base62};
use crate::db::DbConnection;
use crate::db::schema::email_outbox;
use crate::error::{AppError, AppResult};
use crate::models::apps::{self as app_model, App};
use crate::models::orgs::Organisation;
use crate::models::products::{self as product_model, Product};
use crate::models::teams::Team;
use crate::models::users::User;
use crate::services::accounts::NewAccount;
use crate::services::apps::{AuthType, Created, NewApp, Owner};
use crate::services::{self, Ctx};

/// What the steps so far have made.
pub(super) struct World<'a> {
    plan: &'a Plan,
    env: &'a Environment<'a>,
    password_hash: String,
    org: Option<Organisation>,
    users: Vec<Option<User>>,
    invitations: Vec<Option<SecretString>>,
    teams: Vec<Option<Team>>,
    products: Vec<Option<Product>>,
    apps: Vec<Option<App>>,
    /// The products' documentation and references, rendered before any database work.
    prepared: Vec<catalogue::Prepared>,
}

fn missing(what: &str) -> AppError {
    AppError::internal(format!("the demo story uses {what} before it exists"))
}

impl<'a> World<'a> {
    pub(super) fn new(
        plan: &'a Plan,
        env: &'a Environment<'a>,
        password_hash: String,
        prepared: Vec<catalogue::Prepared>,
    ) -> Self {
        Self {
            prepared,
            plan,
            env,
            password_hash,
            org: None,
            users: vec![None; plan.people.len()],
            invitations: vec![None; plan.people.len()],
            teams: vec![None; plan.team_admin.len()],
            products: vec![None; PRODUCTS.len()],
            apps: vec![None; plan.apps.len()],
        }
    }

    fn org(&self) -> AppResult<&Organisation> {
        self.org.as_ref().ok_or_else(|| missing("the organisation"))
    }

    fn user(&self, who: usize) -> AppResult<&User> {
        self.users
            .get(who)
            .and_then(Option::as_ref)
            .ok_or_else(|| missing("a person"))
    }

    fn app(&self, i: usize) -> AppResult<&App> {
        self.apps
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| missing("an app"))
    }

    /// The product as it is now (it may have been archived since).
    fn product(&self, conn: &mut DbConnection, p: usize) -> AppResult<Product> {
        let id = &self
            .products
            .get(p)
            .and_then(Option::as_ref)
            .ok_or_else(|| missing("a product"))?
            .id;
        product_model::find(conn, &self.org()?.id, id)?.ok_or(AppError::NotFound)
    }

    /// `who` acting at `at`, from an address of their office (partners from theirs).
    fn ctx(&self, who: usize, at: NaiveDateTime) -> Ctx {
        let partner = self
            .plan
            .people
            .get(who)
            .is_some_and(|(_, email)| !email.ends_with("@northwind.example"));
        let net = if partner { "198.51.100" } else { "203.0.113" };
        Ctx {
            actor_id: self
                .users
                .get(who)
                .and_then(Option::as_ref)
                .map(|u| u.id.clone()),
            ip: Some(format!("{net}.{}", 10 + who % 200)),
            now: at,
        }
    }

    pub(super) fn apply(
        &mut self,
        conn: &mut DbConnection,
        at: NaiveDateTime,
        step: Step,
    ) -> AppResult<()> {
        let base = self.env.public_base;
        match step {
            Step::Founding => {
                let (name, email) = &self.plan.people[0];
                let account = NewAccount {
                    email: email.clone(),
                    display_name: name.clone(),
                    password_hash: self.password_hash.clone(),
                };
                let (user, org) = services::accounts::create_owner(
                    conn,
                    &Ctx {
                        actor_id: None,
                        ..self.ctx(0, at)
                    },
                    &account,
                    cast::ORG_NAME,
                    cast::ORG_SLUG,
                )?;
                self.users[0] = Some(user);
                self.org = Some(org);
            }
            Step::OwnerVerifiesEmail => {
                let user = self.user(0)?.clone();
                let ctx = self.ctx(0, at);
                services::email::resend_verification(conn, &ctx, &user.id, base)?;
                let token = verification_token(conn, &user.email, at)?;
                self.users[0] = Some(services::email::verify(conn, &ctx, &token)?);
            }
            Step::PublishProduct(p) => {
                let input =
                    services::products::check(&PRODUCTS[p].form()).map_err(AppError::Invalid)?;
                let org = self.org()?.clone();
                let prepared = self.prepared.get(p).ok_or_else(|| missing("a product"))?;
                let product = services::products::create(
                    conn,
                    &self.ctx(0, at),
                    &org,
                    &input,
                    &prepared.docs,
                )?;
                // The owner uploads the API reference a few minutes after publishing.
                if let Some(compiled) = &prepared.reference {
                    let later = self.ctx(0, at + Duration::minutes(7));
                    services::products::store_api_reference(
                        conn,
                        &later,
                        &org,
                        &product.id,
                        compiled,
                    )?;
                }
                self.products[p] = Some(product);
            }
            Step::ConditionalApprovals => {
                let org = self.org()?.clone();
                services::subscriptions::set_mode(
                    conn,
                    &self.ctx(0, at),
                    &org,
                    services::subscriptions::Mode::Conditional,
                )?;
            }
            Step::Invite { who, by } => {
                let org = self.org()?.clone();
                let inviter = self.user(by)?.id.clone();
                let role = if who < FIRST_DEVELOPER {
                    Role::Admin
                } else {
                    Role::Developer
                };
                let (token, _) = services::invitations::create(
                    conn,
                    &self.ctx(by, at),
                    &org,
                    &inviter,
                    &self.plan.people[who].1,
                    role,
                    base,
                )?;
                self.invitations[who] = Some(token);
            }
            Step::Join(who) => {
                let token = self.invitations[who]
                    .take()
                    .ok_or_else(|| missing("an invitation"))?;
                let (user, _) = services::invitations::sign_up_and_accept(
                    conn,
                    &Ctx {
                        actor_id: None,
                        ..self.ctx(who, at)
                    },
                    &token,
                    &self.plan.people[who].0,
                    &self.password_hash,
                )?;
                self.users[who] = Some(user);
            }
            Step::EmailOff(who) => {
                let id = self.user(who)?.id.clone();
                services::notifications::set_email_preferences(conn, &self.ctx(who, at), &id, &[])?;
            }
            Step::CreateTeam(t) => {
                let org = self.org()?.clone();
                let admin = self.plan.team_admin[t];
                let creator = self.user(admin)?.id.clone();
                let team = services::teams::create(
                    conn,
                    &self.ctx(admin, at),
                    &org,
                    &creator,
                    cast::TEAMS[t % cast::TEAMS.len()],
                )
                .or_else(|e| match e {
                    // More teams than names: number the rest.
                    AppError::Conflict(_) => services::teams::create(
                        conn,
                        &self.ctx(admin, at),
                        &org,
                        &creator,
                        &format!(
                            "{} {}",
                            cast::TEAMS[t % cast::TEAMS.len()],
                            t / cast::TEAMS.len() + 1
                        ),
                    ),
                    other => Err(other),
                })?;
                self.teams[t] = Some(team);
            }
            Step::AddToTeam { team, who } => {
                let org = self.org()?.clone();
                let t = self.teams[team].clone().ok_or_else(|| missing("a team"))?;
                services::teams::add_member(
                    conn,
                    &self.ctx(self.plan.team_admin[team], at),
                    &org,
                    &t,
                    &self.plan.people[who].1,
                    TeamRole::Member,
                )?;
            }
            Step::AdminToken => self.token(
                conn,
                at,
                0,
                services::tokens::TokenKind::Admin,
                "Deploy pipeline",
            )?,
            Step::PersonalToken(who) => self.token(
                conn,
                at,
                who,
                services::tokens::TokenKind::Personal,
                "Local scripts",
            )?,
            Step::CreateApp(i) => self.create_app(conn, at, i)?,
            Step::Decide { app, approve, by } => {
                let org = self.org()?.clone();
                let id = self.app(app)?.id.clone();
                let pending: Vec<String> = product_model::subscriptions_of(conn, &id)?
                    .into_iter()
                    .filter(|(s, _)| s.status == "pending")
                    .map(|(s, _)| s.id)
                    .collect();
                let reason = if approve {
                    ""
                } else {
                    cast::REJECTIONS[app % cast::REJECTIONS.len()]
                };
                services::subscriptions::decide(
                    conn,
                    &self.ctx(by, at),
                    &org,
                    &pending,
                    approve,
                    reason,
                    base,
                )?;
            }
            Step::Suspend { app, by } => {
                let org = self.org()?.clone();
                let a = self.app(app)?.clone();
                let reason = cast::SUSPENSIONS[app % cast::SUSPENSIONS.len()];
                services::subscriptions::set_suspended(
                    conn,
                    &self.ctx(by, at),
                    &org,
                    &a,
                    true,
                    reason,
                    base,
                )?;
            }
            Step::Revoke { app, by } => {
                let a = self.app(app)?.clone();
                let reason = cast::REVOCATIONS[app % cast::REVOCATIONS.len()];
                services::apps::revoke(conn, &self.ctx(by, at), &a, reason)?;
            }
            Step::Delete(app) => {
                let a = self.app(app)?.clone();
                services::apps::delete(conn, &self.ctx(self.plan.apps[app].creator, at), &a)?;
            }
            Step::Rotate { app, overlap_hours } => {
                let a = self.app(app)?.clone();
                let overlap = Duration::hours(overlap_hours).min(self.env.max_overlap);
                let label = if overlap_hours == 0 {
                    "production (reset)"
                } else {
                    "production (rotated)"
                };
                services::apps::rotate(
                    conn,
                    &self.ctx(self.plan.apps[app].creator, at),
                    &a,
                    self.env.issuer,
                    services::apps::Rotation {
                        nonce: &random_base62(24),
                        overlap,
                        max_overlap: self.env.max_overlap,
                        label,
                    },
                )?;
            }
            Step::AddKey(app) => {
                let a = self.app(app)?.clone();
                let next = (self.plan.apps[app].key + 1) % JWT_PUBLIC_KEYS.len();
                let key =
                    crate::public_keys::parse(JWT_PUBLIC_KEYS[next]).map_err(AppError::internal)?;
                services::apps::add_public_key(
                    conn,
                    &self.ctx(self.plan.apps[app].creator, at),
                    &a,
                    &key,
                    "production (new key)",
                )?;
            }
            Step::RetireFirstKey(app) => {
                let a = self.app(app)?.clone();
                let first = app_model::credentials_of(conn, &a.id)?
                    .into_iter()
                    .filter(|c| c.revoked_at.is_none())
                    .min_by_key(|c| c.created_at)
                    .ok_or_else(|| missing("a key"))?;
                services::apps::retire_credential(
                    conn,
                    &self.ctx(self.plan.apps[app].creator, at),
                    &a,
                    &first.id,
                )?;
            }
            Step::AskForMore { app, product } => {
                let org = self.org()?.clone();
                let a = self.app(app)?.clone();
                let plan = &self.plan.apps[app];
                let requester = self.user(plan.creator)?.clone();
                let product = self.product(conn, product)?;
                services::subscriptions::request(
                    conn,
                    &self.ctx(plan.creator, at),
                    services::subscriptions::SubscriptionRequest {
                        org: &org,
                        app: &a,
                        product: &product,
                        requester: &requester,
                        note: plan.note,
                        public_base: base,
                    },
                )?;
            }
            Step::ArchiveCatalog => {
                let org = self.org()?.clone();
                let product = self.product(conn, catalogue::CATALOG_V1)?;
                services::products::set_archived(conn, &self.ctx(1, at), &org, &product, true)?;
            }
            Step::ReadInbox(who) => {
                let id = self.user(who)?.id.clone();
                services::notifications::mark_all_read(conn, &self.ctx(who, at), &id)?;
            }
            Step::OpenInvitation(k) => {
                let org = self.org()?.clone();
                let (email, role) = cast::OPEN_INVITATIONS[k];
                let role = if role == "admin" {
                    Role::Admin
                } else {
                    Role::Developer
                };
                let by = k % FIRST_DEVELOPER;
                let inviter = self.user(by)?.id.clone();
                services::invitations::create(
                    conn,
                    &self.ctx(by, at),
                    &org,
                    &inviter,
                    email,
                    role,
                    base,
                )?;
            }
        }
        Ok(())
    }

    fn token(
        &self,
        conn: &mut DbConnection,
        at: NaiveDateTime,
        who: usize,
        kind: services::tokens::TokenKind,
        name: &str,
    ) -> AppResult<()> {
        let org = self.org()?.clone();
        let user = self.user(who)?.clone();
        let new = services::tokens::NewToken {
            kind,
            name: name.into(),
            access: TokenAccess::Write,
            expires_in_days: Some(365),
        };
        services::tokens::create(
            conn,
            &self.ctx(who, at),
            &org,
            &user,
            self.env.issuer,
            new,
            None,
        )?;
        Ok(())
    }

    fn create_app(
        &mut self,
        conn: &mut DbConnection,
        at: NaiveDateTime,
        i: usize,
    ) -> AppResult<()> {
        let plan = &self.plan.apps[i];
        let org = self.org()?.clone();
        let requester = self.user(plan.creator)?.clone();
        let details =
            services::apps::check_details(&plan.name, plan.description, &plan.callback_urls)
                .map_err(AppError::Invalid)?;
        let products = plan
            .products
            .iter()
            .map(|p| self.product(conn, *p))
            .collect::<AppResult<Vec<_>>>()?;
        let owner = match plan.holder {
            Holder::Person(p) => Owner::User(self.user(p)?.id.clone()),
            Holder::Team(t) => Owner::Team(
                self.teams[t]
                    .as_ref()
                    .ok_or_else(|| missing("a team"))?
                    .id
                    .clone(),
            ),
        };
        let public_key = match plan.auth {
            AuthType::Jwt => Some(
                crate::public_keys::parse(JWT_PUBLIC_KEYS[plan.key]).map_err(AppError::internal)?,
            ),
            _ => None,
        };
        let new = NewApp {
            details,
            products,
            note: plan.note.into(),
            auth_type: plan.auth,
            owner,
            label: plan.label.into(),
            public_key,
        };
        let created = services::apps::create(
            conn,
            &self.ctx(plan.creator, at),
            services::apps::Creation {
                org: &org,
                requester: &requester,
                issuer: self.env.issuer,
                nonce: &random_base62(24),
                public_base: self.env.public_base,
            },
            new,
        )?;
        match created {
            Created::New { app, .. } => {
                self.apps[i] = Some(app);
                Ok(())
            }
            Created::Replayed { .. } => {
                Err(AppError::internal("a fresh nonce was taken as a replay"))
            }
        }
    }
}

/// The token in the newest verification email to `address`, as the owner would click
/// it: the email is sent on the spot, the way the outbox worker sends it (its token
/// minted now, only the hash stored), except that it goes nowhere.
fn verification_token(
    conn: &mut DbConnection,
    address: &str,
    now: NaiveDateTime,
) -> AppResult<SecretString> {
    use crate::models::outbox::{self, OutboxEmail};
    use crate::services::links::{LinkKind, Prepared, prepare};
    let email: OutboxEmail = email_outbox::table
        .filter(email_outbox::to_address.eq(address))
        .filter(email_outbox::link_kind.eq(LinkKind::VerifyEmail.as_str()))
        .filter(email_outbox::status.eq("pending"))
        .order(email_outbox::created_at.desc())
        .select(OutboxEmail::as_select())
        .first(conn)?;
    let Prepared::Send(text) = prepare(conn, &email, now)? else {
        return Err(AppError::internal("the verification link cannot be used"));
    };
    outbox::mark_sent(conn, &email.id, now)?;
    let token = text
        .expose()
        .split("/verify-email/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| AppError::internal("no link in the verification email"))?;
    Ok(SecretString::new(token.to_string()))
}
