//! The gateway's hot path: verify and auth-request answer from an in-memory index
//! ([`index`]) kept current by [`verifier::Verifier`] from the change feed, with rate
//! limits and quotas ([`limits`]). [`acceptance`] is the rule every answer applies;
//! [`lookup`] applies it to the database directly — the reference the index must
//! agree with. [`allowlist`] reads and checks a key's IP allowlist.

pub mod acceptance;
pub mod allowlist;
pub mod index;
pub mod limits;
pub mod load;
pub mod lookup;
pub mod tokens;
pub mod verifier;
