//! Which language a request is answered in: the visitor's choice (a cookie set by
//! the language switch, and on sign-in from their saved preference), otherwise
//! their browser's `Accept-Language`, otherwise Chinese.

use actix_web::{
    HttpRequest,
    cookie::{Cookie, SameSite, time::Duration},
    http::header,
};

use crate::i18n::Locale;

pub const COOKIE: &str = "alliance_lang";

pub fn from_request(req: &HttpRequest) -> Locale {
    req.cookie(COOKIE)
        .and_then(|c| c.value().parse().ok())
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Locale::from_accept_language)
        })
        .unwrap_or_default()
}

/// Remembers the choice for a year.
pub fn cookie(locale: Locale, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, locale.tag())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(Duration::days(365))
        .finish()
}
