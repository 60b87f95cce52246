//! The application state every worker and handler shares: configuration, the pool,
//! the clock, keys and hashers, the cookie builder and the client's address (which
//! depends on the configured trusted proxies). Built by `startup`, read by the
//! request plumbing (`auth` extractors, `web`, `middleware`) and the handlers.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, web};

use crate::auth::password::PasswordHasher;
use crate::auth::throttle::SignInThrottle;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::{Csprng, SecretKey};
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, AppResult};
use crate::jobs::housekeeping::Housekeeping;
use crate::jobs::outbox::{Delivery, Outbox};
use crate::services::sessions::Timeouts;

/// Shared by every worker and handler.
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: Pool,
    pub clock: SharedClock,
    pub key: SecretKey,
    /// Randomness for session keys and tokens (an input, like the clock).
    pub rng: Csprng,
    pub hasher: PasswordHasher,
    pub throttle: SignInThrottle,
    /// Hashes API keys and client secrets for storage and lookup.
    pub secrets: crate::credentials::SecretHasher,
    /// Sends the email the services queue.
    pub outbox: Arc<Outbox>,
    /// What `/metrics` shows: requests, durations and statements by route.
    pub metrics: Arc<crate::telemetry::metrics::Metrics>,
    /// The gateway's in-memory verify index, limits and counters.
    pub verifier: Arc<crate::verify::verifier::Verifier>,
}

impl AppState {
    /// Checks a new password's strength ([`crate::services::passwords::check_new`]),
    /// counting the check against `source`: the client's address on anonymous forms,
    /// `user:<id>` for a signed-in user. `Ok(Err(message))` says why it is refused.
    pub async fn check_new_password(
        &self,
        source: &str,
        password: &crate::crypto::SecretString,
        account_words: &[&str],
    ) -> AppResult<Result<(), String>> {
        crate::services::passwords::check_new(
            (&self.throttle, source, self.clock.now()),
            &self.hasher,
            &self.config,
            password,
            account_words,
        )
        .await
    }

    /// The state registered on the app.
    pub fn from_req(req: &HttpRequest) -> AppResult<web::Data<AppState>> {
        req.app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| AppError::internal("application state missing"))
    }

    /// Runs blocking database work off the async workers, on a pooled connection.
    /// Its statements (the checkout's liveness check included) are charged to the
    /// request being served, for `/metrics`. When the work recorded a change that can
    /// alter a verify's answer, this instance's verify index takes it in before the
    /// result is returned: once a revoke has answered, no verify here accepts the key.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let tally = crate::db::count::current();
        let verifier = self.verifier.clone();
        web::block(move || {
            crate::db::count::charge_to(tally, || {
                let mut conn = pool.get()?;
                crate::models::changes::take_recorded();
                let out = f(&mut conn);
                if crate::models::changes::take_recorded()
                    && let Err(e) = verifier.catch_up(&mut conn)
                {
                    // The write stands; the poller applies it within its interval.
                    tracing::error!(error = %e, "verify index: catching up after a write failed");
                }
                out
            })
        })
        .await?
    }

    /// Runs blocking work that needs no database connection — rendering Markdown,
    /// compiling an OpenAPI document — on the blocking pool, off the async workers.
    /// Do it before [`AppState::db`], not inside: a connection held while rendering
    /// is one fewer for every other request.
    pub async fn compute<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        Ok(web::block(f).await?)
    }

    /// The absolute base of links in emails (origin and path prefix, no trailing slash).
    pub fn public_base(&self) -> String {
        self.config.public_url.join("")
    }

    pub fn session_timeouts(&self) -> Timeouts {
        Timeouts {
            idle: self.config.session_idle_timeout,
            lifetime: self.config.session_lifetime,
        }
    }

    /// The outbox worker's share of the state: a pass sends every message now due.
    pub fn delivery(&self) -> Delivery {
        Delivery {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            outbox: self.outbox.clone(),
        }
    }

    /// Housekeeping's share of the state.
    pub fn housekeeping(&self) -> Housekeeping {
        Housekeeping {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            timeouts: self.session_timeouts(),
            public_base: self.public_base(),
        }
    }

    /// A cookie with the house attributes for this instance.
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        max_age: Option<std::time::Duration>,
    ) -> Cookie<'static> {
        build_cookie(
            name,
            value,
            self.config.public_url.https,
            &self.config.public_url.path,
            max_age,
        )
    }
}

/// A cookie with the house attributes: HttpOnly, SameSite=Lax, Secure behind https.
fn build_cookie(
    name: &'static str,
    value: String,
    secure: bool,
    path: &str,
    max_age: Option<std::time::Duration>,
) -> Cookie<'static> {
    let mut c = Cookie::build(name, value)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path(if path.is_empty() {
            "/".to_string()
        } else {
            path.to_string()
        })
        .finish();
    if let Some(age) = max_age {
        c.set_max_age(CookieDuration::seconds(
            i64::try_from(age.as_secs()).unwrap_or(i64::MAX),
        ));
    }
    c
}

/// The address of the client: the peer, or — when the peer is a trusted proxy — the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest) -> String {
    client_addr(req, false).map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// [`client_ip`] as an address (`None`: no peer). With `real_ip`, a trusted proxy's
/// `X-Real-IP` is believed first (nginx's `auth_request` subrequests carry it).
pub fn client_addr(req: &HttpRequest, real_ip: bool) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    let Ok(state) = AppState::from_req(req) else {
        return Some(peer);
    };
    let trusted = |ip: &IpAddr| {
        state
            .config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(ip))
    };
    if !trusted(&peer) {
        return Some(peer);
    }
    if real_ip
        && let Some(ip) = req
            .headers()
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return Some(ip);
    }
    let mut client = peer;
    for value in req.headers().get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else { continue };
        for hop in value.split(',').rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if trusted(&ip) => client = ip,
                Ok(ip) => return Some(ip),
                Err(_) => return Some(client),
            }
        }
    }
    Some(client)
}
