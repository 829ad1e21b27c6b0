//! Pure domain types: no database, no HTTP. Everything else is parsed into these
//! before it is used.

pub mod id;
pub mod money;
pub mod points;
pub mod rate;
