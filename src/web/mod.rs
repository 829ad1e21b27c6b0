//! What the three HTML portals share: sessions, sign-in state, CSRF, language,
//! page chrome, errors and security headers. Portals in `crate::portals` build on
//! it; nothing here knows a particular page.

pub mod auth;
pub mod availability;
pub mod bar_chart;
pub mod context;
pub mod csrf;
pub mod datetime_local;
pub mod error;
pub mod flash;
pub mod locale;
pub mod nul;
pub mod page;
pub mod qr;
pub mod rate_limit;
pub mod redirect;
pub mod security;
pub mod session;
pub mod state;
pub mod upload;
