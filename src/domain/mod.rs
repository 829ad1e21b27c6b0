//! Pure domain types: no database, no HTTP. Everything else is parsed into these
//! before it is used.

pub mod actor;
pub mod credit_code;
pub mod district;
pub mod email_address;
pub mod geo;
pub mod id;
pub mod money;
pub mod password;
pub mod phone;
pub mod points;
pub mod portal;
pub mod rate;
pub mod resident_id;
pub mod shanghai;
pub mod text_enum;
