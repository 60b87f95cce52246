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

type DigestMap<V> = HashMap<DigestKey, V, BuildHasherDefault<DigestHasher>>;

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
const APP_MASK: u32 = ALLOWLIST - 1;

/// One API key.
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
    pub digest: DigestKey,
    pub id: [u8; 16],
    pub expires: Option<i64>,
    pub revoked: bool,
    pub allowlist: Vec<IpNet>,
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
}

#[derive(Debug)]
struct ProductRec {
    id: Box<str>,
    org: u32,
    /// Shared with the gateways that default to it (no copy per request).
    slug: Arc<str>,
    rate_per_second: Option<u32>,
    quota: Option<(u64, Period)>,
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

    /// The slugs of the products the app is approved for.
    pub fn products(&self) -> impl Iterator<Item = &'a str> + 'a {
        let index = self.index;
        self.app
            .subscriptions
            .iter()
            .filter(|(_, s)| *s == SubscriptionFact::Approved)
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
        let mut flags = app & APP_MASK;
        if key.revoked {
            flags |= REVOKED;
        }
        if !key.allowlist.is_empty() {
            flags |= ALLOWLIST;
        }
        let expires = key.expires.unwrap_or(i64::MAX);
        let slot = match self.keys.get(&key.digest) {
            Some(&slot) => {
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
                self.keys.insert(key.digest, slot);
                slot
            }
        };
        if key.allowlist.is_empty() {
            self.allowlists.remove(&slot);
        } else {
            self.allowlists.insert(slot, key.allowlist.into());
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
        for k in freed {
            self.allowlists.remove(&k);
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

    /// Answers for the key with `digest`, presented by a gateway of organisation
    /// `org`, for `product` (a slug), from `ip`, at `now` (microseconds). A key of
    /// another organisation is NOT_FOUND.
    pub fn check(
        &self,
        digest: &DigestKey,
        org: u32,
        product: Option<&str>,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Answer<'_> {
        let mut facts = Facts::nothing_found();
        let not_found = Answer {
            reason: Reason::NotFound,
            found: None,
            product: None,
            first_use_this_minute: false,
        };
        let Some(&slot) = self.keys.get(digest) else {
            return not_found;
        };
        let key = &self.key_recs[slot as usize];
        let Some(app) = self
            .apps
            .get((key.app & APP_MASK) as usize)
            .and_then(Option::as_ref)
        else {
            return not_found;
        };
        if app.org != org {
            return not_found;
        }
        facts.credential = Some(if key.app & REVOKED != 0 {
            CredentialFact::Revoked
        } else if key.expires == i64::MAX {
            CredentialFact::Active
        } else if key.expires <= now {
            CredentialFact::Expired
        } else {
            CredentialFact::Expiring
        });
        facts.app = app.status;
        let mut limits = None;
        if let Some(slug) = product {
            let slot = self.slugs.get(&org).and_then(|s| s.get(slug)).copied();
            facts.subscription = Some(
                slot.and_then(|slot| {
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
                expires: (key.expires != i64::MAX).then_some(key.expires),
            }),
            product: if reason.is_valid() { limits } else { None },
            first_use_this_minute,
        }
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
            digest: [n; 16],
            id: [n; 16],
            expires: None,
            revoked: false,
            allowlist: Vec::new(),
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
        }
    }

    fn product() -> ProductEntry {
        ProductEntry {
            id: "p1".into(),
            org_id: "org".into(),
            slug: "payments".into(),
            rate_per_second: None,
            quota: None,
        }
    }

    #[test]
    fn answers_from_memory_and_follows_replacements() {
        let mut index = Index::default();
        index.set_app(app(1, vec![key(1), key(2)]));
        index.set_product("p1", Some(product()));
        let org = index.org("org").unwrap();
        let check =
            |index: &Index, k: u8, p: Option<&str>| index.check(&[k; 16], org, p, None, 0).reason;
        assert_eq!(check(&index, 1, Some("payments")), Reason::Valid);
        assert_eq!(check(&index, 1, Some("other")), Reason::NotSubscribed);
        assert_eq!(check(&index, 3, None), Reason::NotFound);
        assert_eq!(
            index.check(&[1; 16], org + 1, None, None, 0).reason,
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
            index.check(&[1; 16], org, None, inside, 99).reason,
            Reason::Valid
        );
        assert_eq!(
            index.check(&[1; 16], org, None, mapped, 99).reason,
            Reason::Valid
        );
        assert_eq!(
            index.check(&[1; 16], org, None, outside, 99).reason,
            Reason::ForbiddenIp
        );
        assert_eq!(
            index.check(&[1; 16], org, None, None, 99).reason,
            Reason::ForbiddenIp
        );
        assert_eq!(
            index.check(&[1; 16], org, None, inside, 100).reason,
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
