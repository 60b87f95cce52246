//! The acceptance rule (DESIGN.md "Lifecycles"): a credential is accepted for a
//! product only if the credential is active or inside its overlap, the app is
//! `active`, and the subscription to that product is `approved`; without a product,
//! if the credential and the app are valid. Anything else is refused with one reason
//! code — the first that applies, in the order of [`Reason`]. Pure: the verify
//! endpoint gathers the facts (from its in-memory index) and asks [`decide`].

use serde::Serialize;

/// A credential's state when presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialFact {
    Active,
    /// Inside a rotation's overlap (it has an expiry in the future).
    Expiring,
    Expired,
    Revoked,
}

/// The app's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppFact {
    Pending,
    Active,
    Rejected,
    Suspended,
    Revoked,
    Deleted,
}

/// The app's subscription to the product asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionFact {
    /// The app never subscribed to the product.
    None,
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl SubscriptionFact {
    /// Which of two rows of one app's subscription to one product counts: approved,
    /// then pending, then rejected, then cancelled (the live one wins over older).
    pub fn stronger(self, other: SubscriptionFact) -> SubscriptionFact {
        let rank = |s| match s {
            SubscriptionFact::Approved => 4,
            SubscriptionFact::Pending => 3,
            SubscriptionFact::Rejected => 2,
            SubscriptionFact::Cancelled => 1,
            SubscriptionFact::None => 0,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Everything the rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The presented secret failed its shape or checksum test (no lookup was made).
    pub malformed: bool,
    /// `None`: no credential has that hash.
    pub credential: Option<CredentialFact>,
    pub app: AppFact,
    /// `None`: no product was named, so only the credential and the app count.
    pub subscription: Option<SubscriptionFact>,
    /// The caller's address is outside the app's allowed ranges.
    pub ip_forbidden: bool,
    /// The per-second rate limit is used up.
    pub rate_limited: bool,
    /// The quota of the current period is used up.
    pub quota_exceeded: bool,
}

impl Facts {
    /// A well-formed secret nobody holds: the facts before any lookup fills them in.
    pub fn nothing_found() -> Facts {
        Facts {
            malformed: false,
            credential: None,
            app: AppFact::Deleted,
            subscription: None,
            ip_forbidden: false,
            rate_limited: false,
            quota_exceeded: false,
        }
    }
}

/// The answer, in the order the checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    Malformed,
    NotFound,
    Revoked,
    Expired,
    Suspended,
    Rejected,
    Pending,
    NotSubscribed,
    ForbiddenIp,
    RateLimited,
    QuotaExceeded,
    Valid,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::NotFound => "NOT_FOUND",
            Self::Revoked => "REVOKED",
            Self::Expired => "EXPIRED",
            Self::Suspended => "SUSPENDED",
            Self::Rejected => "REJECTED",
            Self::Pending => "PENDING",
            Self::NotSubscribed => "NOT_SUBSCRIBED",
            Self::ForbiddenIp => "FORBIDDEN_IP",
            Self::RateLimited => "RATE_LIMITED",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::Valid => "VALID",
        }
    }

    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }
}

/// Applies the rule.
pub fn decide(f: &Facts) -> Reason {
    use AppFact as A;
    use SubscriptionFact as S;
    if f.malformed {
        return Reason::Malformed;
    }
    let Some(credential) = f.credential else {
        return Reason::NotFound;
    };
    if credential == CredentialFact::Revoked || matches!(f.app, A::Revoked | A::Deleted) {
        return Reason::Revoked;
    }
    if credential == CredentialFact::Expired {
        return Reason::Expired;
    }
    if f.app == A::Suspended {
        return Reason::Suspended;
    }
    if f.app == A::Rejected || f.subscription == Some(S::Rejected) {
        return Reason::Rejected;
    }
    if f.app == A::Pending || f.subscription == Some(S::Pending) {
        return Reason::Pending;
    }
    if matches!(f.subscription, Some(S::None | S::Cancelled)) {
        return Reason::NotSubscribed;
    }
    if f.ip_forbidden {
        return Reason::ForbiddenIp;
    }
    if f.rate_limited {
        return Reason::RateLimited;
    }
    if f.quota_exceeded {
        return Reason::QuotaExceeded;
    }
    Reason::Valid
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: [Option<CredentialFact>; 5] = [
        None,
        Some(CredentialFact::Active),
        Some(CredentialFact::Expiring),
        Some(CredentialFact::Expired),
        Some(CredentialFact::Revoked),
    ];
    const APPS: [AppFact; 6] = [
        AppFact::Pending,
        AppFact::Active,
        AppFact::Rejected,
        AppFact::Suspended,
        AppFact::Revoked,
        AppFact::Deleted,
    ];
    /// Columns of the table: no product named, then the subscription's status.
    const SUBSCRIPTIONS: [Option<SubscriptionFact>; 6] = [
        None,
        Some(SubscriptionFact::None),
        Some(SubscriptionFact::Pending),
        Some(SubscriptionFact::Approved),
        Some(SubscriptionFact::Rejected),
        Some(SubscriptionFact::Cancelled),
    ];

    /// Every credential state × app status × subscription status, written out by
    /// hand. Columns: no product | not subscribed | pending | approved | rejected |
    /// cancelled.
    #[rustfmt::skip]
    const TABLE: [[&str; 6]; 30] = [
        // credential: none (unknown hash)
        /* pending   */ ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
        /* active    */ ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
        /* rejected  */ ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
        /* suspended */ ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
        /* revoked   */ ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
        /* deleted   */ ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
        // credential: active
        /* pending   */ ["PENDING", "PENDING", "PENDING", "PENDING", "REJECTED", "PENDING"],
        /* active    */ ["VALID", "NOT_SUBSCRIBED", "PENDING", "VALID", "REJECTED", "NOT_SUBSCRIBED"],
        /* rejected  */ ["REJECTED", "REJECTED", "REJECTED", "REJECTED", "REJECTED", "REJECTED"],
        /* suspended */ ["SUSPENDED", "SUSPENDED", "SUSPENDED", "SUSPENDED", "SUSPENDED", "SUSPENDED"],
        /* revoked   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* deleted   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        // credential: expiring (inside its overlap) — accepted like an active one
        /* pending   */ ["PENDING", "PENDING", "PENDING", "PENDING", "REJECTED", "PENDING"],
        /* active    */ ["VALID", "NOT_SUBSCRIBED", "PENDING", "VALID", "REJECTED", "NOT_SUBSCRIBED"],
        /* rejected  */ ["REJECTED", "REJECTED", "REJECTED", "REJECTED", "REJECTED", "REJECTED"],
        /* suspended */ ["SUSPENDED", "SUSPENDED", "SUSPENDED", "SUSPENDED", "SUSPENDED", "SUSPENDED"],
        /* revoked   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* deleted   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        // credential: expired
        /* pending   */ ["EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED"],
        /* active    */ ["EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED"],
        /* rejected  */ ["EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED"],
        /* suspended */ ["EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED", "EXPIRED"],
        /* revoked   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* deleted   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        // credential: revoked
        /* pending   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* active    */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* rejected  */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* suspended */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* revoked   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
        /* deleted   */ ["REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED", "REVOKED"],
    ];

    fn facts(
        credential: Option<CredentialFact>,
        app: AppFact,
        subscription: Option<SubscriptionFact>,
    ) -> Facts {
        Facts {
            malformed: false,
            credential,
            app,
            subscription,
            ip_forbidden: false,
            rate_limited: false,
            quota_exceeded: false,
        }
    }

    #[test]
    fn every_credential_app_and_subscription_combination() {
        let mut row = 0;
        let mut mismatches = Vec::new();
        for credential in CREDENTIALS {
            for app in APPS {
                for (col, subscription) in SUBSCRIPTIONS.iter().enumerate() {
                    let got = decide(&facts(credential, app, *subscription)).code();
                    if got != TABLE[row][col] {
                        mismatches.push(format!(
                            "{credential:?} × {app:?} × {subscription:?}: expected {}, got {got}",
                            TABLE[row][col]
                        ));
                    }
                }
                row += 1;
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn malformed_comes_first_and_limits_come_last_in_their_order() {
        let valid = facts(
            Some(CredentialFact::Active),
            AppFact::Active,
            Some(SubscriptionFact::Approved),
        );
        assert_eq!(
            decide(&Facts {
                malformed: true,
                ..facts(None, AppFact::Revoked, None)
            })
            .code(),
            "MALFORMED"
        );
        assert_eq!(
            decide(&Facts {
                ip_forbidden: true,
                rate_limited: true,
                quota_exceeded: true,
                ..valid
            })
            .code(),
            "FORBIDDEN_IP"
        );
        assert_eq!(
            decide(&Facts {
                rate_limited: true,
                quota_exceeded: true,
                ..valid
            })
            .code(),
            "RATE_LIMITED"
        );
        assert_eq!(
            decide(&Facts {
                quota_exceeded: true,
                ..valid
            })
            .code(),
            "QUOTA_EXCEEDED"
        );
        assert_eq!(decide(&valid).code(), "VALID");
        // Limits never hide an earlier reason.
        let pending = facts(
            Some(CredentialFact::Active),
            AppFact::Active,
            Some(SubscriptionFact::Pending),
        );
        assert_eq!(
            decide(&Facts {
                rate_limited: true,
                ip_forbidden: true,
                ..pending
            })
            .code(),
            "PENDING"
        );
        // Without a product, the limits of no product apply only if the caller says so.
        let no_product = facts(Some(CredentialFact::Expiring), AppFact::Active, None);
        assert_eq!(
            decide(&Facts {
                ip_forbidden: true,
                ..no_product
            })
            .code(),
            "FORBIDDEN_IP"
        );
        assert!(decide(&no_product).is_valid());
    }
}
