//! The gateway's hot path (verify, auth-request) lives here as it is built. For now:
//! the acceptance rule every verification applies, as a pure function, and the
//! reference lookup that applies it to the database.

pub mod acceptance;
pub mod lookup;
