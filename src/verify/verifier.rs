//! The verifier: the in-memory index kept current, the limiter, and the counters it
//! flushes. One per instance, shared by every worker.
//!
//! Currency: the instance that makes a change applies it before its request answers
//! (`AppState::db` calls [`Verifier::catch_up`] after any write that recorded a
//! change), and every instance polls the change feed every 200 ms for the others'
//! changes. Catching up re-reads what a change names (the app with its keys and
//! subscriptions, a product, an organisation's gateway tokens) and replaces it in
//! the index; one catch-up runs at a time, so an older read never overwrites a newer.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::credentials::{self, Kind, SecretHasher};
use crate::db::DbConnection;
use crate::db::schema::{credentials as credential_rows, gateway_tokens as gateway_rows};
use crate::models::changes::{self, Cursor};
use crate::verify::acceptance::Reason;
use crate::verify::index::{
    ClientBy, ClientView, Found, Gateway, Index, Lookup, Size, digest_key, micros, naive,
    uuid_string,
};
use crate::verify::limits::{Limiter, Outcome, Pending, QuotaState, RateState};
use crate::verify::load;
use crate::verify::tokens::{AccessClaims, Cached, Keyring, TokenCache, cached_from};

/// How often other instances' changes are polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How often quota counts and `last_used` are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// A verify's full answer.
#[derive(Clone, Copy)]
pub struct Verdict<'a> {
    pub reason: Reason,
    pub found: Option<Found<'a>>,
    pub rate: Option<RateState>,
    pub quota: Option<QuotaState>,
    /// Seconds to wait, for RATE_LIMITED and QUOTA_EXCEEDED.
    pub retry_after: Option<u64>,
}

pub struct Verifier {
    index: RwLock<Index>,
    feed: Mutex<Cursor>,
    limiter: Limiter,
    /// Credentials first used in a minute, waiting to be written.
    used: Mutex<Vec<([u8; 16], i64)>>,
    /// Gateway tokens first used in a minute, waiting to be written.
    gateways_used: Mutex<Vec<(std::sync::Arc<str>, i64)>>,
    hasher: SecretHasher,
    /// The token signing keys.
    keyring: RwLock<Keyring>,
    /// Verified access tokens by digest.
    cache: RwLock<TokenCache>,
    /// Opens the signing keys' private parts (a rotation is read from the database).
    secret: crate::crypto::SecretKey,
}

/// Verified access tokens kept: beyond it the cache is emptied and refills.
pub const TOKEN_CACHE_CAPACITY: usize = 100_000;

/// What an introspection found: an access token (its cached claims, not copied), or
/// a static token's app.
pub enum Introspected {
    Access(std::sync::Arc<Cached>),
    Static {
        app_id: String,
        org_id: String,
        /// Seconds since the epoch, when the key it stands for expires.
        exp: Option<i64>,
    },
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The start of the minute holding `now` (microseconds).
fn minute_of(now: i64) -> i64 {
    now.div_euclid(60_000_000) * 60_000_000
}

impl Verifier {
    /// Loads the index: the feed position first, so nothing committed while loading
    /// is missed (a change seen twice is harmless).
    pub fn load(
        conn: &mut DbConnection,
        hasher: SecretHasher,
        (secret, alg): (crate::crypto::SecretKey, crate::signing::Alg),
        now: NaiveDateTime,
    ) -> Result<Verifier, String> {
        let keyring = Keyring::ensure(conn, &secret, alg, now)?;
        Self::load_index(conn, hasher, (secret, keyring), now).map_err(|e| e.to_string())
    }

    fn load_index(
        conn: &mut DbConnection,
        hasher: SecretHasher,
        (secret, keyring): (crate::crypto::SecretKey, Keyring),
        now: NaiveDateTime,
    ) -> QueryResult<Verifier> {
        let cursor = Cursor::at_end(conn)?;
        let index = load::everything(conn)?;
        let limiter = Limiter::default();
        let month =
            crate::verify::limits::window(crate::verify::index::Period::Month, micros(now)).0;
        for (app, product, window, total) in
            crate::verify::limits::current_counts(conn, naive(month))?
        {
            let (Some(app), Some(limits)) = (
                crate::verify::index::uuid_bytes(&app),
                index.limits_of(&product),
            ) else {
                continue;
            };
            let Some((_, period)) = limits.quota else {
                continue;
            };
            let window = micros(window);
            if crate::verify::limits::window(period, micros(now)).0 == window {
                limiter.seed(&app, limits.slot, window, u64::try_from(total).unwrap_or(0));
            }
        }
        Ok(Verifier {
            index: RwLock::new(index),
            feed: Mutex::new(cursor),
            limiter,
            used: Mutex::default(),
            gateways_used: Mutex::default(),
            hasher,
            keyring: RwLock::new(keyring),
            cache: RwLock::new(TokenCache::new(TOKEN_CACHE_CAPACITY)),
            secret,
        })
    }

    /// The key that signs new access tokens.
    pub fn signing_key(&self) -> Option<std::sync::Arc<crate::signing::SigningKey>> {
        read_lock(&self.keyring).signing()
    }

    /// The published keys, as JWKs.
    pub fn jwks(&self) -> Vec<serde_json::Value> {
        read_lock(&self.keyring).jwks()
    }

    /// The digest `presented` is looked up by.
    pub fn digest(&self, presented: &str) -> crate::verify::index::DigestKey {
        digest_key(&self.hasher.digest(presented))
    }

    /// The client credential `by` names, handed to `f` while the index is read.
    pub fn client<R>(
        &self,
        by: ClientBy<'_>,
        now: NaiveDateTime,
        f: impl FnOnce(Option<ClientView<'_>>) -> R,
    ) -> R {
        let index = self.read();
        f(index.client(by, micros(now)))
    }

    /// The verified access token `presented` (cached by digest), or `None` when no
    /// key of ours signed it. Says nothing of whether it is still good.
    fn access_token(
        &self,
        presented: &str,
        index: &Index,
        now: i64,
    ) -> Option<std::sync::Arc<Cached>> {
        let digest = self.digest(presented);
        if let Some(hit) = read_lock(&self.cache).get(&digest) {
            return Some(hit);
        }
        let claims = read_lock(&self.keyring).verify(presented)?;
        let cached = std::sync::Arc::new(cached_from(index, claims)?);
        self.cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(digest, cached.clone(), now);
        Some(cached)
    }

    /// The claims of an access token one of our keys signed (expired or not; its
    /// state unchecked): for revocation.
    pub fn verify_signature(&self, token: &str) -> Option<AccessClaims> {
        read_lock(&self.keyring).verify(token)
    }

    /// Verified access tokens in the cache (for `/metrics`).
    pub fn cached_tokens(&self) -> usize {
        read_lock(&self.cache).len()
    }

    /// Introspection (RFC 7662) for `gateway`'s organisation: what the token is, when
    /// it is active now.
    pub fn introspect(
        &self,
        gateway: &Gateway,
        presented: &str,
        now: NaiveDateTime,
    ) -> Option<Introspected> {
        let now = micros(now);
        let index = self.read();
        match credentials::parse(presented) {
            Ok(p) if p.kind == Kind::StaticToken => {
                let digest = self.digest(presented);
                let answer =
                    index.check(Lookup::StaticToken(&digest), gateway.org, None, None, now);
                let found = answer.found.filter(|_| answer.reason.is_valid())?;
                Some(Introspected::Static {
                    app_id: uuid_string(&found.app_id()),
                    org_id: found.org_id().to_string(),
                    exp: found.expires.map(|e| e.div_euclid(1_000_000)),
                })
            }
            Ok(_) => None,
            Err(_) => {
                let cached = self.access_token(presented, &index, now)?;
                let answer =
                    index.check(Lookup::Access(&cached.access), gateway.org, None, None, now);
                answer
                    .reason
                    .is_valid()
                    .then_some(Introspected::Access(cached))
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn size(&self) -> Size {
        self.read().size()
    }

    /// The live gateway token `presented`, if it is one, used at `now`.
    pub fn gateway(&self, presented: &str, now: NaiveDateTime) -> Option<Gateway> {
        match credentials::parse(presented) {
            Ok(p) if p.kind == Kind::GatewayToken => {}
            _ => return None,
        }
        let digest = digest_key(&self.hasher.digest(presented));
        let now = micros(now);
        let gateway = self.read().gateway(&digest, now)?;
        if gateway.first_use_this_minute {
            lock(&self.gateways_used).push((gateway.token_id.clone(), minute_of(now)));
        }
        Some(gateway)
    }

    /// A gateway of the organisation without a token, for comparing the index with
    /// the reference lookup (`None`: the index knows nothing of the organisation).
    pub fn as_org(&self, org_id: &str) -> Option<Gateway> {
        Some(Gateway {
            token_id: "".into(),
            org: self.read().org(org_id)?,
            default_product: None,
            first_use_this_minute: false,
        })
    }

    /// Verifies `presented` for `gateway`'s organisation, no database involved, and
    /// hands the verdict to `render` while the index is read (the verdict borrows
    /// the app's name and product slugs from it: nothing is copied).
    pub fn verify_with<R>(
        &self,
        gateway: &Gateway,
        presented: &str,
        (product, ip): (Option<&str>, Option<IpAddr>),
        now: NaiveDateTime,
        render: impl FnOnce(&Verdict<'_>) -> R,
    ) -> R {
        let mut verdict = Verdict {
            reason: Reason::NotFound,
            found: None,
            rate: None,
            quota: None,
            retry_after: None,
        };
        let now = micros(now);
        let index = self.read();
        let digest;
        let token;
        let lookup = match credentials::parse(presented) {
            // API keys, the static tokens that stand for them and access tokens
            // verify: a client secret, refresh or personal token is unknown here.
            Ok(p) if p.kind == Kind::ApiKey => {
                digest = self.digest(presented);
                Lookup::Key(&digest)
            }
            Ok(p) if p.kind == Kind::StaticToken => {
                digest = self.digest(presented);
                Lookup::StaticToken(&digest)
            }
            Ok(_) => return render(&verdict),
            Err(_) if crate::signing::looks_like_jws(presented) => {
                match self.access_token(presented, &index, now) {
                    Some(t) => {
                        token = t;
                        Lookup::Access(&token.access)
                    }
                    None => return render(&verdict),
                }
            }
            Err(_) => {
                verdict.reason = Reason::Malformed;
                return render(&verdict);
            }
        };
        let answer = index.check(lookup, gateway.org, product, ip, now);
        verdict.reason = answer.reason;
        if let Some(limits) = answer.product
            && let Some(found) = &answer.found
        {
            match self.limiter.take(&found.app_id(), limits, now) {
                Outcome::Allowed { rate, quota } => {
                    verdict.rate = rate;
                    verdict.quota = quota;
                }
                Outcome::RateLimited { rate, retry_after } => {
                    verdict.reason = Reason::RateLimited;
                    verdict.rate = Some(rate);
                    verdict.retry_after = Some(retry_after);
                }
                Outcome::QuotaExceeded { quota, retry_after } => {
                    verdict.reason = Reason::QuotaExceeded;
                    verdict.quota = Some(quota);
                    verdict.retry_after = Some(retry_after);
                }
            }
        }
        if let Some(found) = &answer.found
            && answer.first_use_this_minute
        {
            // Written at most once per credential and minute, by the flush. A use
            // refused by a limit still counts as a use.
            lock(&self.used).push((found.credential_id, minute_of(now)));
        }
        verdict.found = answer.found;
        render(&verdict)
    }

    /// [`Verifier::verify_with`] for the reason alone.
    pub fn verify(
        &self,
        gateway: &Gateway,
        presented: &str,
        product: Option<&str>,
        ip: Option<IpAddr>,
        now: NaiveDateTime,
    ) -> Reason {
        self.verify_with(gateway, presented, (product, ip), now, |v| v.reason)
    }

    /// Applies every change committed since the last catch-up; returns how many.
    pub fn catch_up(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let mut cursor = self
            .feed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut applied = 0;
        loop {
            let (found, next) = changes::since(conn, &cursor)?;
            let full = found.len() as i64 >= changes::BATCH;
            applied += found.len();
            self.apply(conn, &found)?;
            *cursor = next;
            if !full {
                break;
            }
        }
        Ok(applied)
    }

    fn apply(&self, conn: &mut DbConnection, found: &[changes::Change]) -> QueryResult<()> {
        use changes::Kind as K;
        if found.is_empty() {
            return Ok(());
        }
        let mut apps = BTreeSet::new();
        let mut products = BTreeSet::new();
        let mut gateways = BTreeSet::new();
        let mut orgs = BTreeSet::new();
        let mut keys = false;
        for c in found {
            match c.kind() {
                Some(K::Credential | K::App | K::Subscription) => {
                    apps.extend(c.app_id.clone());
                    products.extend(c.product_id.clone());
                }
                Some(K::Product) => products.extend(c.product_id.clone()),
                Some(K::Membership) => {
                    if let (Some(org), Some(user)) = (&c.org_id, &c.user_id) {
                        apps.extend(load::personal_app_ids(conn, org, user)?);
                    }
                }
                Some(K::Organisation) => orgs.extend(c.org_id.clone()),
                Some(K::Gateway) => gateways.extend(c.org_id.clone()),
                Some(K::SigningKey) => keys = true,
                None => {}
            }
        }
        if keys {
            match Keyring::read(conn, &self.secret) {
                Ok(ring) => {
                    *self
                        .keyring
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = ring
                }
                Err(e) => tracing::error!(error = %e, "token signing keys: cannot reload"),
            }
        }
        // Read everything first, then apply it under one short write lock.
        let mut org_reloads = Vec::new();
        for org in &orgs {
            let ids = load::org_app_ids(conn, org)?;
            org_reloads.push((
                org.clone(),
                load::apps_by_id(conn, &ids)?,
                load::org_products(conn, org)?,
                load::org_gateways(conn, org)?,
            ));
        }
        let ids: Vec<String> = apps.into_iter().collect();
        let loaded = load::apps_by_id(conn, &ids)?;
        let mut product_rows = Vec::new();
        for id in &products {
            product_rows.push((id.clone(), load::product(conn, id)?));
        }
        let mut gateway_rows = Vec::new();
        for org in &gateways {
            gateway_rows.push((org.clone(), load::org_gateways(conn, org)?));
        }

        let mut index = self.write();
        for (org, apps, products, gateways) in org_reloads {
            index.remove_org(&org);
            for p in products {
                index.set_product(&p.id.clone(), Some(p));
            }
            for a in apps {
                index.set_app(a);
            }
            index.set_gateways(&org, gateways);
        }
        for (id, p) in product_rows {
            index.set_product(&id, p);
        }
        let present: HashMap<[u8; 16], ()> = loaded.iter().map(|a| (a.id, ())).collect();
        for id in &ids {
            if let Some(bytes) = crate::verify::index::uuid_bytes(id)
                && !present.contains_key(&bytes)
            {
                index.remove_app(&bytes);
            }
        }
        for a in loaded {
            index.set_app(a);
        }
        for (org, g) in gateway_rows {
            index.set_gateways(&org, g);
        }
        Ok(())
    }

    /// Writes quota counts (reading back the global totals) and `last_used`.
    pub fn flush(&self, conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<()> {
        let drained: Vec<Pending> = self.limiter.drain();
        if !drained.is_empty() {
            let named: Vec<(Pending, Option<String>)> = {
                let index = self.read();
                drained
                    .into_iter()
                    .map(|p| {
                        let id = index.product_id(p.product_slot).map(str::to_string);
                        (p, id)
                    })
                    .collect()
            };
            let mut settled = Vec::with_capacity(named.len());
            let written = crate::db::write_transaction(conn, |conn| {
                for (p, product) in &named {
                    let total = match product {
                        Some(product) => Some(crate::verify::limits::add_count(
                            conn,
                            &uuid_string(&p.app),
                            product,
                            naive(p.window),
                            p.count,
                        )?),
                        None => Some(0),
                    };
                    settled.push((p.clone(), total));
                }
                Ok::<_, diesel::result::Error>(())
            });
            if let Err(e) = written {
                let failed: Vec<(Pending, Option<u64>)> =
                    named.into_iter().map(|(p, _)| (p, None)).collect();
                self.limiter.settle(&failed);
                return Err(e);
            }
            self.limiter.settle(&settled);
        }

        let mut keys: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, minute) in std::mem::take(&mut *lock(&self.used)) {
            keys.entry(minute).or_default().push(uuid_string(&id));
        }
        let mut gateways: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, minute) in std::mem::take(&mut *lock(&self.gateways_used)) {
            gateways.entry(minute).or_default().push(id.to_string());
        }
        if !keys.is_empty() || !gateways.is_empty() {
            crate::db::write_transaction(conn, |conn| {
                for (minute, ids) in &keys {
                    let at = naive(*minute);
                    for chunk in ids.chunks(500) {
                        diesel::update(
                            credential_rows::table
                                .filter(credential_rows::id.eq_any(chunk))
                                .filter(
                                    credential_rows::last_used_at
                                        .is_null()
                                        .or(credential_rows::last_used_at.lt(at)),
                                ),
                        )
                        .set(credential_rows::last_used_at.eq(at))
                        .execute(conn)?;
                    }
                }
                for (minute, ids) in &gateways {
                    let at = naive(*minute);
                    diesel::update(
                        gateway_rows::table
                            .filter(gateway_rows::id.eq_any(ids))
                            .filter(
                                gateway_rows::last_used_at
                                    .is_null()
                                    .or(gateway_rows::last_used_at.lt(at)),
                            ),
                    )
                    .set(gateway_rows::last_used_at.eq(at))
                    .execute(conn)?;
                }
                Ok::<_, diesel::result::Error>(())
            })?;
        }
        self.limiter.prune(micros(now));
        Ok(())
    }
}

/// The verifier's background work: polling the change feed every [`POLL_INTERVAL`]
/// and flushing counters every [`FLUSH_INTERVAL`]; a last flush when `stop` turns
/// true (graceful shutdown), after which the task ends.
pub fn spawn(
    pool: crate::db::Pool,
    verifier: std::sync::Arc<Verifier>,
    clock: crate::clock::SharedClock,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_flush = std::time::Instant::now();
        loop {
            let stopping = tokio::select! {
                _ = poll.tick() => false,
                _ = stop.changed() => true,
            };
            let flush = stopping || last_flush.elapsed() >= FLUSH_INTERVAL;
            if flush {
                last_flush = std::time::Instant::now();
            }
            let (pool, verifier, now) = (pool.clone(), verifier.clone(), clock.now_naive());
            let done = tokio::task::spawn_blocking(move || -> Result<(), String> {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                verifier.catch_up(&mut conn).map_err(|e| e.to_string())?;
                if flush {
                    verifier.flush(&mut conn, now).map_err(|e| e.to_string())?;
                }
                Ok(())
            })
            .await;
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "verify index: poll or flush failed"),
                Err(e) => tracing::error!(error = %e, "verify index: poll task failed"),
            }
            if stopping {
                break;
            }
        }
    })
}
