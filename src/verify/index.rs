//! The in-memory verify index: everything `verify` needs to answer, so that a verify
//! in steady state reads no database. Keyed by the first 16 bytes of a secret's keyed
//! digest (128 bits: collisions among even billions of keys are out of reach, and
//! only the server, which holds the pepper, chooses stored keys).
//!
//! Sized for millions of keys: a key costs one 20-byte map slot (digest prefix →
//! slab index) and one 32-byte record; apps, products, organisations and gateway
//! tokens are stored once and referred to by small indices. Ids are UUIDs kept as
//! 16 bytes. The loader (`verify::load`) builds and refreshes it; it only answers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDateTime;
use ipnet::IpNet;
use uuid::Uuid;

use crate::verify::acceptance::{AppFact, CredentialFact, Facts, Reason, SubscriptionFact, decide};

/// The part of a secret's digest the index is keyed by.
pub type DigestKey = [u8; 16];

/// The index key of a full digest.
pub fn digest_key(digest: &[u8; 32]) -> DigestKey {
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

/// The index key of a stored hash (lower-case hex); `None` if it is not hex.
pub fn stored_key(hex: &str) -> Option<DigestKey> {
    let bytes = hex.as_bytes();
    if bytes.len() < 32 {
        return None;
    }
    let mut k = [0u8; 16];
    for (i, slot) in k.iter_mut().enumerate() {
        let hi = (bytes[2 * i] as char).to_digit(16)?;
        let lo = (bytes[2 * i + 1] as char).to_digit(16)?;
        *slot = (hi * 16 + lo) as u8;
    }
    Some(k)
}

/// Hashes keys that are already uniformly random (keyed digests): their first eight
/// bytes are the hash. Lookups of absent keys cost the same as hits.
#[derive(Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*b) << (8 * i);
        }
    }

    fn write_usize(&mut self, _: usize) {}
}

/// A map keyed by digests, hashed by their first bytes (see [`DigestHasher`]).
pub type DigestMap<V> = HashMap<DigestKey, V, BuildHasherDefault<DigestHasher>>;

/// A UUID as 16 bytes, or `None` for an id that is not one.
pub fn uuid_bytes(id: &str) -> Option<[u8; 16]> {
    Uuid::parse_str(id).ok().map(|u| *u.as_bytes())
}

pub fn uuid_string(bytes: &[u8; 16]) -> String {
    Uuid::from_bytes(*bytes).hyphenated().to_string()
}

/// A timestamp as microseconds since the epoch (how the index compares times).
pub fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

/// The timestamp of [`micros`] microseconds since the epoch.
pub fn naive(micros: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .naive_utc()
}

const REVOKED: u32 = 1 << 31;
const ALLOWLIST: u32 = 1 << 30;
/// Two bits: the credential's kind ([`CredKind`]).
const KIND_SHIFT: u32 = 28;
const KIND_MASK: u32 = 0b11 << KIND_SHIFT;
const APP_MASK: u32 = (1 << KIND_SHIFT) - 1;

/// What a credential is: an API key verifies; a client secret or a registered public
/// key obtains access tokens (which verify while it lives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredKind {
    ApiKey = 0,
    ClientSecret = 1,
    PublicKey = 2,
}

impl CredKind {
    pub fn parse(kind: &str) -> Option<CredKind> {
        match kind {
            "api_key" => Some(CredKind::ApiKey),
            "client_secret" => Some(CredKind::ClientSecret),
            "public_key" => Some(CredKind::PublicKey),
            _ => None,
        }
    }

    fn bits(self) -> u32 {
        (self as u32) << KIND_SHIFT
    }
}

/// One credential.
#[derive(Debug)]
struct KeyRec {
    id: [u8; 16],
    /// Microseconds since the epoch; `i64::MAX`: no expiry.
    expires: i64,
    /// The app's slot, with the REVOKED and ALLOWLIST flags in the top bits.
    app: u32,
    /// The minute (since the epoch) `last_used` was last queued for writing.
    last_used_minute: AtomicU32,
}

/// A credential as the loader hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The secret's digest; `None` for a public key (nothing secret to look up).
    pub digest: Option<DigestKey>,
    pub id: [u8; 16],
    pub kind: CredKind,
    pub expires: Option<i64>,
    pub revoked: bool,
    pub allowlist: Vec<IpNet>,
    /// The live static tokens exchanged for this key (`/api/v1/login`).
    pub tokens: Vec<DigestKey>,
}

/// Who owns an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Nobody,
    User([u8; 16]),
    Team([u8; 16]),
}

/// An app as the loader hands it over (with its keys and subscriptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEntry {
    pub id: [u8; 16],
    pub org_id: String,
    pub name: String,
    pub status: AppFact,
    pub owner: Owner,
    /// Product id → the app's live subscription state (the best of its rows).
    pub subscriptions: Vec<(String, SubscriptionFact)>,
    pub keys: Vec<KeyEntry>,
    /// OAuth2 and JWT apps' client id.
    pub client_id: Option<String>,
    /// The ids (`jti`) of the app's access tokens revoked before they expire.
    pub revoked_tokens: Vec<[u8; 16]>,
}

#[derive(Debug)]
struct AppRec {
    id: [u8; 16],
    org: u32,
    status: AppFact,
    owner: Owner,
    name: Box<str>,
    /// (product slot, state), by product slot.
    subscriptions: Box<[(u32, SubscriptionFact)]>,
    client_id: Option<Box<str>>,
    revoked_tokens: Box<[[u8; 16]]>,
}

/// How often a quota resets (fixed UTC calendar windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Hour,
    Day,
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "hour" => Some(Period::Hour),
            "day" => Some(Period::Day),
            "month" => Some(Period::Month),
            _ => None,
        }
    }
}

/// A product as the loader hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductEntry {
    pub id: String,
    pub org_id: String,
    pub slug: String,
    pub rate_per_second: Option<u32>,
    pub quota: Option<(u64, Period)>,
    /// The longest life of a credential or token for the product, in seconds.
    pub max_lifetime: Option<u64>,
    /// The product's scopes (`slug:scope` in a token's `scope`).
    pub scopes: Vec<String>,
}

#[derive(Debug)]
struct ProductRec {
    id: Box<str>,
    org: u32,
    /// Shared with the gateways that default to it (no copy per request).
    slug: Arc<str>,
    rate_per_second: Option<u32>,
    quota: Option<(u64, Period)>,
    max_lifetime: Option<u64>,
    scopes: Box<[Box<str>]>,
}

/// A gateway token as the loader hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEntry {
    pub digest: DigestKey,
    pub id: String,
    pub org_id: String,
    pub default_product_id: Option<String>,
}

#[derive(Debug)]
struct GatewayRec {
    id: Arc<str>,
    org: u32,
    default_product: Option<Box<str>>,
    /// The minute (since the epoch) `last_used` was last queued for writing.
    last_used_minute: AtomicU32,
}

/// A gateway that presented a live token: whose keys it may verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub token_id: Arc<str>,
    pub org: u32,
    /// The slug of the token's default product.
    pub default_product: Option<Arc<str>>,
    /// First use in this minute: `last_used` should be queued.
    pub first_use_this_minute: bool,
}

/// A product's limits, for the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductLimits {
    pub slot: u32,
    pub rate_per_second: Option<u32>,
    pub quota: Option<(u64, Period)>,
}

/// What the index found for a presented key, borrowed from the index: an answer is
/// rendered while the index is read, without copying names or slugs.
#[derive(Clone, Copy)]
pub struct Found<'a> {
    index: &'a Index,
    app: &'a AppRec,
    pub credential_id: [u8; 16],
    /// Microseconds since the epoch.
    pub expires: Option<i64>,
    /// For an access token: the product slots it was issued for.
    scope: Option<&'a [u32]>,
}

impl<'a> Found<'a> {
    pub fn app_id(&self) -> [u8; 16] {
        self.app.id
    }

    pub fn app_name(&self) -> &'a str {
        &self.app.name
    }

    pub fn owner(&self) -> Owner {
        self.app.owner
    }

    /// The client id of an OAuth2 or JWT app.
    pub fn client_id(&self) -> Option<&'a str> {
        self.app.client_id.as_deref()
    }

    /// The id of the app's organisation.
    pub fn org_id(&self) -> &'a str {
        &self.index.orgs[self.app.org as usize]
    }

    /// The slugs of the products the app is approved for (for an access token: of
    /// those, the ones it was issued for).
    pub fn products(&self) -> impl Iterator<Item = &'a str> + 'a {
        let index = self.index;
        let scope = self.scope;
        self.app
            .subscriptions
            .iter()
            .filter(|(_, s)| *s == SubscriptionFact::Approved)
            .filter(move |(slot, _)| scope.is_none_or(|s| s.contains(slot)))
            .filter_map(move |(slot, _)| index.products[*slot as usize].as_ref())
            .map(|p| p.slug.as_ref())
    }
}

/// The index's answer before rate limits and quotas.
#[derive(Clone, Copy)]
pub struct Answer<'a> {
    /// The reason from the stored state alone (never RATE_LIMITED or QUOTA_EXCEEDED).
    pub reason: Reason,
    pub found: Option<Found<'a>>,
    /// When the answer is VALID for a product: the product and its limits.
    pub product: Option<ProductLimits>,
    /// A VALID answer that is the key's first use in this minute: `last_used`
    /// should be queued.
    pub first_use_this_minute: bool,
}

/// Counts, for `/metrics` and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    /// API keys and client secrets (public keys have no digest).
    pub keys: usize,
    pub apps: usize,
    pub products: usize,
    pub gateway_tokens: usize,
}

#[derive(Default)]
pub struct Index {
    keys: DigestMap<u32>,
    key_recs: Vec<KeyRec>,
    free_keys: Vec<u32>,
    /// Client secrets and public keys by credential id (what access tokens name).
    by_id: HashMap<[u8; 16], u32>,
    /// Static token digest → the key's slot.
    tokens: DigestMap<u32>,
    /// Key slot → its static tokens' digests (keys that have any).
    key_tokens: HashMap<u32, Box<[DigestKey]>>,
    allowlists: HashMap<u32, Box<[IpNet]>>,
    apps: Vec<Option<AppRec>>,
    app_slots: HashMap<[u8; 16], u32>,
    free_apps: Vec<u32>,
    orgs: Vec<Box<str>>,
    org_slots: HashMap<Box<str>, u32>,
    products: Vec<Option<ProductRec>>,
    product_slots: HashMap<Box<str>, u32>,
    slugs: HashMap<u32, HashMap<Box<str>, u32>>,
    gateways: DigestMap<GatewayRec>,
}

impl Index {
    /// An empty index with room for `keys` keys and `apps` apps.
    pub fn with_capacity(keys: usize, apps: usize) -> Index {
        Index {
            keys: DigestMap::with_capacity_and_hasher(keys, Default::default()),
            key_recs: Vec::with_capacity(keys),
            apps: Vec::with_capacity(apps),
            app_slots: HashMap::with_capacity(apps),
            ..Index::default()
        }
    }

    pub fn size(&self) -> Size {
        Size {
            keys: self.keys.len(),
            apps: self.app_slots.len(),
            products: self.product_slots.len(),
            gateway_tokens: self.gateways.len(),
        }
    }

    /// The organisation's slot, if the index has heard of it.
    pub fn org(&self, org_id: &str) -> Option<u32> {
        self.org_slots.get(org_id).copied()
    }

    fn org_slot(&mut self, org_id: &str) -> u32 {
        if let Some(&slot) = self.org_slots.get(org_id) {
            return slot;
        }
        let slot = self.orgs.len() as u32;
        self.orgs.push(org_id.into());
        self.org_slots.insert(org_id.into(), slot);
        slot
    }

    /// The live gateway token with this digest, used at `now` (microseconds).
    pub fn gateway(&self, digest: &DigestKey, now: i64) -> Option<Gateway> {
        let g = self.gateways.get(digest)?;
        Some(Gateway {
            token_id: g.id.clone(),
            org: g.org,
            first_use_this_minute: first_use(&g.last_used_minute, now),
            default_product: g
                .default_product
                .as_deref()
                .and_then(|id| self.product_slots.get(id))
                .and_then(|&slot| self.products[slot as usize].as_ref())
                .map(|p| p.slug.clone()),
        })
    }

    /// Replaces the organisation's gateway tokens with `live`.
    pub fn set_gateways(&mut self, org_id: &str, live: Vec<GatewayEntry>) {
        let org = self.org_slot(org_id);
        self.gateways.retain(|_, g| g.org != org);
        for g in live {
            self.add_gateway(g);
        }
    }

    /// Adds or replaces a product; `None` removes it.
    pub fn set_product(&mut self, id: &str, entry: Option<ProductEntry>) {
        if entry.is_none() && !self.product_slots.contains_key(id) {
            return;
        }
        let slot = self.product_slot(id);
        if let Some(old) = self.products[slot as usize].take()
            && let Some(by_slug) = self.slugs.get_mut(&old.org)
        {
            by_slug.remove(&*old.slug);
        }
        // A removed product keeps its slot (subscriptions may name it): it just no
        // longer matches any slug.
        let Some(p) = entry else { return };
        let org = self.org_slot(&p.org_id);
        self.slugs
            .entry(org)
            .or_default()
            .insert(p.slug.as_str().into(), slot);
        self.products[slot as usize] = Some(ProductRec {
            id: p.id.into(),
            org,
            slug: p.slug.into(),
            rate_per_second: p.rate_per_second,
            quota: p.quota,
            max_lifetime: p.max_lifetime,
            scopes: p.scopes.into_iter().map(Into::into).collect(),
        });
    }

    /// The product's slot, creating an empty one for a product not loaded yet (a
    /// subscription may be loaded before its product).
    fn product_slot(&mut self, id: &str) -> u32 {
        if let Some(&slot) = self.product_slots.get(id) {
            return slot;
        }
        let slot = self.products.len() as u32;
        self.product_slots.insert(id.into(), slot);
        self.products.push(None);
        slot
    }

    /// The product's id, for the limiter's flush.
    pub fn product_id(&self, slot: u32) -> Option<&str> {
        self.products
            .get(slot as usize)?
            .as_ref()
            .map(|p| p.id.as_ref())
    }

    /// A product's limits by its id.
    pub fn limits_of(&self, id: &str) -> Option<ProductLimits> {
        let slot = *self.product_slots.get(id)?;
        let p = self.products[slot as usize].as_ref()?;
        Some(ProductLimits {
            slot,
            rate_per_second: p.rate_per_second,
            quota: p.quota,
        })
    }

    /// Adds or replaces an app with its keys and subscriptions.
    pub fn set_app(&mut self, entry: AppEntry) {
        let org = self.org_slot(&entry.org_id);
        let mut subscriptions: Vec<(u32, SubscriptionFact)> = entry
            .subscriptions
            .iter()
            .map(|(product, state)| (self.product_slot(product), *state))
            .collect();
        subscriptions.sort_unstable_by_key(|(slot, _)| *slot);
        let rec = AppRec {
            id: entry.id,
            org,
            status: entry.status,
            owner: entry.owner,
            name: entry.name.into(),
            subscriptions: subscriptions.into(),
            client_id: entry.client_id.map(Into::into),
            revoked_tokens: entry.revoked_tokens.into(),
        };
        let slot = match self.app_slots.get(&entry.id) {
            Some(&slot) => {
                self.apps[slot as usize] = Some(rec);
                slot
            }
            None => {
                let slot = match self.free_apps.pop() {
                    Some(slot) => {
                        self.apps[slot as usize] = Some(rec);
                        slot
                    }
                    None => {
                        self.apps.push(Some(rec));
                        (self.apps.len() - 1) as u32
                    }
                };
                self.app_slots.insert(entry.id, slot);
                slot
            }
        };
        for key in entry.keys {
            self.set_key(slot, key);
        }
    }

    fn set_key(&mut self, app: u32, key: KeyEntry) {
        let mut flags = (app & APP_MASK) | key.kind.bits();
        if key.revoked {
            flags |= REVOKED;
        }
        if !key.allowlist.is_empty() {
            flags |= ALLOWLIST;
        }
        let expires = key.expires.unwrap_or(i64::MAX);
        let existing = match key.digest {
            Some(digest) => self.keys.get(&digest).copied(),
            None => self.by_id.get(&key.id).copied(),
        };
        let slot = match existing {
            Some(slot) => {
                let rec = &mut self.key_recs[slot as usize];
                rec.id = key.id;
                rec.expires = expires;
                rec.app = flags;
                slot
            }
            None => {
                let rec = KeyRec {
                    id: key.id,
                    expires,
                    app: flags,
                    last_used_minute: AtomicU32::new(0),
                };
                let slot = match self.free_keys.pop() {
                    Some(slot) => {
                        self.key_recs[slot as usize] = rec;
                        slot
                    }
                    None => {
                        self.key_recs.push(rec);
                        (self.key_recs.len() - 1) as u32
                    }
                };
                if let Some(digest) = key.digest {
                    self.keys.insert(digest, slot);
                }
                slot
            }
        };
        if key.kind != CredKind::ApiKey {
            self.by_id.insert(key.id, slot);
        }
        if key.allowlist.is_empty() {
            self.allowlists.remove(&slot);
        } else {
            self.allowlists.insert(slot, key.allowlist.into());
        }
        if let Some(old) = self.key_tokens.remove(&slot) {
            for t in old.iter() {
                self.tokens.remove(t);
            }
        }
        if !key.tokens.is_empty() {
            for t in &key.tokens {
                self.tokens.insert(*t, slot);
            }
            self.key_tokens.insert(slot, key.tokens.into());
        }
    }

    /// Adds a key to a loaded app (the start-up load); false if the app is unknown.
    pub fn add_key(&mut self, app: &[u8; 16], key: KeyEntry) -> bool {
        match self.app_slots.get(app) {
            Some(&slot) => {
                self.set_key(slot, key);
                true
            }
            None => false,
        }
    }

    /// Adds a subscription row to a loaded app (the start-up load); the stronger of
    /// two rows for one product counts.
    pub fn add_subscription(&mut self, app: &[u8; 16], product: &str, fact: SubscriptionFact) {
        let Some(&slot) = self.app_slots.get(app) else {
            return;
        };
        let product = self.product_slot(product);
        let Some(rec) = self.apps[slot as usize].as_mut() else {
            return;
        };
        let mut subs = rec.subscriptions.to_vec();
        match subs.binary_search_by_key(&product, |(s, _)| *s) {
            Ok(i) => subs[i].1 = subs[i].1.stronger(fact),
            Err(i) => subs.insert(i, (product, fact)),
        }
        rec.subscriptions = subs.into();
    }

    /// Adds a static token of the key with digest `key` (the start-up load).
    pub fn add_static_token(&mut self, key: &DigestKey, token: DigestKey) {
        let Some(&slot) = self.keys.get(key) else {
            return;
        };
        self.tokens.insert(token, slot);
        let mut list = self
            .key_tokens
            .remove(&slot)
            .map(Vec::from)
            .unwrap_or_default();
        list.push(token);
        self.key_tokens.insert(slot, list.into());
    }

    /// Adds a revoked access token's id to a loaded app (the start-up load).
    pub fn add_revoked_token(&mut self, app: &[u8; 16], jti: [u8; 16]) {
        let Some(&slot) = self.app_slots.get(app) else {
            return;
        };
        if let Some(rec) = self.apps[slot as usize].as_mut() {
            let mut list = rec.revoked_tokens.to_vec();
            list.push(jti);
            rec.revoked_tokens = list.into();
        }
    }

    /// Adds a gateway token (the start-up load).
    pub fn add_gateway(&mut self, g: GatewayEntry) {
        let org = self.org_slot(&g.org_id);
        self.gateways.insert(
            g.digest,
            GatewayRec {
                id: g.id.into(),
                org,
                default_product: g.default_product_id.map(Into::into),
                last_used_minute: AtomicU32::new(0),
            },
        );
    }

    /// Removes an app whose row is gone, with every key of it. Walks every key: only
    /// for the rare hard delete (an organisation's deletion).
    pub fn remove_app(&mut self, id: &[u8; 16]) {
        let Some(slot) = self.app_slots.remove(id) else {
            return;
        };
        self.apps[slot as usize] = None;
        self.free_apps.push(slot);
        let recs = &self.key_recs;
        let mut freed = Vec::new();
        self.keys.retain(|_, k| {
            let keep = recs[*k as usize].app & APP_MASK != slot;
            if !keep {
                freed.push(*k);
            }
            keep
        });
        // Public keys have no digest: they are found by id.
        let recs = &self.key_recs;
        self.by_id.retain(|_, k| {
            let keep = recs[*k as usize].app & APP_MASK != slot;
            if !keep && !freed.contains(k) {
                freed.push(*k);
            }
            keep
        });
        for k in freed {
            self.allowlists.remove(&k);
            if let Some(tokens) = self.key_tokens.remove(&k) {
                for t in tokens.iter() {
                    self.tokens.remove(t);
                }
            }
            self.free_keys.push(k);
        }
    }

    /// The ids of the apps of an organisation (for its deletion).
    pub fn apps_of_org(&self, org_id: &str) -> Vec<[u8; 16]> {
        let Some(org) = self.org(org_id) else {
            return Vec::new();
        };
        self.apps
            .iter()
            .flatten()
            .filter(|a| a.org == org)
            .map(|a| a.id)
            .collect()
    }

    /// Forgets everything of an organisation that no longer exists.
    pub fn remove_org(&mut self, org_id: &str) {
        for app in self.apps_of_org(org_id) {
            self.remove_app(&app);
        }
        if let Some(org) = self.org(org_id) {
            self.gateways.retain(|_, g| g.org != org);
            if let Some(by_slug) = self.slugs.remove(&org) {
                for slot in by_slug.into_values() {
                    self.products[slot as usize] = None;
                }
            }
        }
    }

    /// The slots of the organisation's products named by `slugs` (unknown ones are
    /// left out): what an access token's audience covers.
    pub fn product_slots(&self, org_id: &str, slugs: &[String]) -> Box<[u32]> {
        let Some(by_slug) = self.org(org_id).and_then(|org| self.slugs.get(&org)) else {
            return Box::default();
        };
        slugs
            .iter()
            .filter_map(|s| by_slug.get(s.as_str()).copied())
            .collect()
    }

    /// The credential `by` names, as a client authenticating at the token endpoint
    /// sees it: `None` when there is none (the caller checks its kind).
    pub fn client(&self, by: ClientBy<'_>, now: i64) -> Option<ClientView<'_>> {
        let slot = match by {
            ClientBy::Secret(digest) | ClientBy::ApiKey(digest) => *self.keys.get(digest)?,
            ClientBy::Credential(id) => *self.by_id.get(id)?,
        };
        let key = &self.key_recs[slot as usize];
        let kind = match (key.app & KIND_MASK) >> KIND_SHIFT {
            0 => CredKind::ApiKey,
            1 => CredKind::ClientSecret,
            _ => CredKind::PublicKey,
        };
        let app = self
            .apps
            .get((key.app & APP_MASK) as usize)
            .and_then(Option::as_ref)?;
        let mut facts = Facts::nothing_found();
        facts.credential = Some(credential_fact(key, key.expires, now));
        facts.app = app.status;
        Some(ClientView {
            reason: decide(&facts),
            kind,
            found: Found {
                index: self,
                app,
                credential_id: key.id,
                expires: (key.expires != i64::MAX).then_some(key.expires),
                scope: None,
            },
        })
    }

    /// Answers for what a gateway of organisation `org` presented, for `product` (a
    /// slug), from `ip`, at `now` (microseconds). A key or token of another
    /// organisation is NOT_FOUND.
    pub fn check<'a>(
        &'a self,
        lookup: Lookup<'a>,
        org: u32,
        product: Option<&str>,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Answer<'a> {
        let mut facts = Facts::nothing_found();
        let not_found = Answer {
            reason: Reason::NotFound,
            found: None,
            product: None,
            first_use_this_minute: false,
        };
        let slot = match lookup {
            Lookup::Key(digest) => self.keys.get(digest),
            Lookup::StaticToken(digest) => self.tokens.get(digest),
            Lookup::Access(token) => self.by_id.get(&token.credential),
        };
        let Some(&slot) = slot else {
            return not_found;
        };
        let key = &self.key_recs[slot as usize];
        let kind_ok = match lookup {
            Lookup::Key(_) | Lookup::StaticToken(_) => key.app & KIND_MASK == 0,
            Lookup::Access(_) => key.app & KIND_MASK != 0,
        };
        let Some(app) = self
            .apps
            .get((key.app & APP_MASK) as usize)
            .and_then(Option::as_ref)
            .filter(|_| kind_ok)
        else {
            return not_found;
        };
        if app.org != org {
            return not_found;
        }
        let (expires, scope) = match lookup {
            Lookup::Access(token) => {
                if token.app != app.id {
                    return not_found;
                }
                (key.expires.min(token.expires), Some(&token.scope[..]))
            }
            _ => (key.expires, None),
        };
        facts.credential = Some(match lookup {
            Lookup::Access(token) if app.revoked_tokens.contains(&token.jti) => {
                CredentialFact::Revoked
            }
            _ => credential_fact(key, expires, now),
        });
        facts.app = app.status;
        let mut limits = None;
        if let Some(slug) = product {
            let slot = self.slugs.get(&org).and_then(|s| s.get(slug)).copied();
            let in_scope = |slot: &u32| scope.is_none_or(|s| s.contains(slot));
            facts.subscription = Some(
                slot.filter(in_scope)
                    .and_then(|slot| {
                        app.subscriptions
                            .binary_search_by_key(&slot, |(s, _)| *s)
                            .ok()
                            .map(|i| app.subscriptions[i].1)
                    })
                    .unwrap_or(SubscriptionFact::None),
            );
            limits = slot.and_then(|slot| {
                let p = self.products[slot as usize].as_ref()?;
                Some(ProductLimits {
                    slot,
                    rate_per_second: p.rate_per_second,
                    quota: p.quota,
                })
            });
        }
        if key.app & ALLOWLIST != 0 {
            let nets = self.allowlists.get(&slot).map_or(&[][..], |n| &n[..]);
            facts.ip_forbidden = !crate::verify::allowlist::permits(nets, ip);
        }
        let reason = decide(&facts);
        let first_use_this_minute = reason.is_valid() && first_use(&key.last_used_minute, now);
        Answer {
            reason,
            found: Some(Found {
                index: self,
                app,
                credential_id: key.id,
                expires: (expires != i64::MAX).then_some(expires),
                scope,
            }),
            product: if reason.is_valid() { limits } else { None },
            first_use_this_minute,
        }
    }
}

/// A credential's state at `now`, with `expires` (microseconds; `i64::MAX`: never).
fn credential_fact(key: &KeyRec, expires: i64, now: i64) -> CredentialFact {
    if key.app & REVOKED != 0 {
        CredentialFact::Revoked
    } else if expires == i64::MAX {
        CredentialFact::Active
    } else if expires <= now {
        CredentialFact::Expired
    } else {
        CredentialFact::Expiring
    }
}

/// What the index looks up.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// An API key, by its digest.
    Key(&'a DigestKey),
    /// A static token (`/api/v1/login` for an API key), by its digest.
    StaticToken(&'a DigestKey),
    /// An access token whose signature checked out.
    Access(&'a AccessRef),
}

/// The parts of a verified access token the index checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRef {
    /// The credential that obtained it (a client secret or public key).
    pub credential: [u8; 16],
    pub app: [u8; 16],
    pub jti: [u8; 16],
    /// Microseconds since the epoch.
    pub expires: i64,
    /// The product slots of its audience.
    pub scope: Box<[u32]>,
}

/// How the token endpoint names a client's credential.
#[derive(Debug, Clone, Copy)]
pub enum ClientBy<'a> {
    /// A client secret, by its digest.
    Secret(&'a DigestKey),
    /// A client secret or public key, by its id.
    Credential(&'a [u8; 16]),
    /// An API key (exchanged for a static token), by its digest.
    ApiKey(&'a DigestKey),
}

/// A client's credential and app as the token endpoint sees them.
#[derive(Clone, Copy)]
pub struct ClientView<'a> {
    /// VALID, or why the credential or app cannot obtain tokens now.
    pub reason: Reason,
    pub kind: CredKind,
    pub found: Found<'a>,
}

/// A product a client may obtain tokens for.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub slug: &'a str,
    pub scopes: &'a [Box<str>],
    /// Seconds.
    pub max_lifetime: Option<u64>,
}

impl<'a> ClientView<'a> {
    /// The products the app is approved for.
    pub fn grants(&self) -> impl Iterator<Item = Grant<'a>> + 'a {
        let index = self.found.index;
        self.found
            .app
            .subscriptions
            .iter()
            .filter(|(_, s)| *s == SubscriptionFact::Approved)
            .filter_map(move |(slot, _)| index.products[*slot as usize].as_ref())
            .map(|p| Grant {
                slug: &p.slug,
                scopes: &p.scopes,
                max_lifetime: p.max_lifetime,
            })
    }
}

/// Marks `slot` used in the minute of `now` (microseconds); true the first time in it.
fn first_use(slot: &AtomicU32, now: i64) -> bool {
    let minute = u32::try_from(now.div_euclid(60_000_000)).unwrap_or(u32::MAX);
    slot.load(Ordering::Relaxed) != minute && slot.swap(minute, Ordering::Relaxed) != minute
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> KeyEntry {
        KeyEntry {
            digest: Some([n; 16]),
            id: [n; 16],
            kind: CredKind::ApiKey,
            expires: None,
            revoked: false,
            allowlist: Vec::new(),
            tokens: Vec::new(),
        }
    }

    fn app(n: u8, keys: Vec<KeyEntry>) -> AppEntry {
        AppEntry {
            id: [n; 16],
            org_id: "org".into(),
            name: format!("app {n}"),
            status: AppFact::Active,
            owner: Owner::Nobody,
            subscriptions: vec![("p1".into(), SubscriptionFact::Approved)],
            keys,
            client_id: None,
            revoked_tokens: Vec::new(),
        }
    }

    fn product() -> ProductEntry {
        ProductEntry {
            id: "p1".into(),
            org_id: "org".into(),
            slug: "payments".into(),
            rate_per_second: None,
            quota: None,
            max_lifetime: None,
            scopes: Vec::new(),
        }
    }

    #[test]
    fn answers_from_memory_and_follows_replacements() {
        let mut index = Index::default();
        index.set_app(app(1, vec![key(1), key(2)]));
        index.set_product("p1", Some(product()));
        let org = index.org("org").unwrap();
        let check = |index: &Index, k: u8, p: Option<&str>| {
            index.check(Lookup::Key(&[k; 16]), org, p, None, 0).reason
        };
        assert_eq!(check(&index, 1, Some("payments")), Reason::Valid);
        assert_eq!(check(&index, 1, Some("other")), Reason::NotSubscribed);
        assert_eq!(check(&index, 3, None), Reason::NotFound);
        assert_eq!(
            index
                .check(Lookup::Key(&[1; 16]), org + 1, None, None, 0)
                .reason,
            Reason::NotFound
        );

        let mut revoked = key(1);
        revoked.revoked = true;
        let mut suspended = app(1, vec![revoked, key(2)]);
        suspended.status = AppFact::Suspended;
        index.set_app(suspended);
        assert_eq!(check(&index, 1, None), Reason::Revoked);
        assert_eq!(check(&index, 2, None), Reason::Suspended);
        assert_eq!(index.size().keys, 2);

        index.remove_app(&[1; 16]);
        assert_eq!(check(&index, 2, None), Reason::NotFound);
        assert_eq!(
            index.size(),
            Size {
                keys: 0,
                apps: 0,
                products: 1,
                gateway_tokens: 0
            }
        );
        // Slots are reused.
        index.set_app(app(4, vec![key(4)]));
        assert_eq!(check(&index, 4, Some("payments")), Reason::Valid);
    }

    #[test]
    fn expiry_and_allowlist() {
        let mut index = Index::default();
        let mut k = key(1);
        k.expires = Some(100);
        k.allowlist = vec!["10.0.0.0/8".parse().unwrap()];
        index.set_app(app(1, vec![k]));
        let org = index.org("org").unwrap();
        let inside = Some("10.1.2.3".parse().unwrap());
        let mapped = Some("::ffff:10.1.2.3".parse().unwrap());
        let outside = Some("192.0.2.1".parse().unwrap());
        assert_eq!(
            index
                .check(Lookup::Key(&[1; 16]), org, None, inside, 99)
                .reason,
            Reason::Valid
        );
        assert_eq!(
            index
                .check(Lookup::Key(&[1; 16]), org, None, mapped, 99)
                .reason,
            Reason::Valid
        );
        assert_eq!(
            index
                .check(Lookup::Key(&[1; 16]), org, None, outside, 99)
                .reason,
            Reason::ForbiddenIp
        );
        assert_eq!(
            index
                .check(Lookup::Key(&[1; 16]), org, None, None, 99)
                .reason,
            Reason::ForbiddenIp
        );
        assert_eq!(
            index
                .check(Lookup::Key(&[1; 16]), org, None, inside, 100)
                .reason,
            Reason::Expired
        );
    }

    #[test]
    fn stored_hashes_key_like_digests() {
        let digest = [0xab; 32];
        assert_eq!(
            stored_key(&crate::crypto::hex(&digest)),
            Some(digest_key(&digest))
        );
        assert_eq!(stored_key("zz"), None);
    }
}
