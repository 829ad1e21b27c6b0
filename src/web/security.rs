//! Security headers on every response: a CSP that allows nothing but this site
//! (no inline script or style, no framing), no MIME sniffing, no referrer leaks
//! (reset links carry a token in the path), and HSTS where HTTPS is in use.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderValue, STRICT_TRANSPORT_SECURITY},
    middleware::{DefaultHeaders, Next},
    web,
};

use super::state::AppState;

/// A year, subdomains included: once a browser has seen the site over HTTPS it
/// never tries plain HTTP again (no downgrade on a hostile network).
const HSTS: &str = "max-age=31536000; includeSubDomains";

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "geolocation=(self), camera=(), microphone=(), payment=()",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// `Strict-Transport-Security` when the request came over HTTPS (to us, or to
/// the proxy in front, as it reports) or the public URL is HTTPS. Over plain
/// HTTP browsers ignore the header, so it is left out there.
pub async fn strict_transport(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req.connection_info().scheme() == "https"
        || req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.public_url.starts_with("https://"));
    let mut response = next.call(req).await?;
    if https {
        response
            .headers_mut()
            .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    Ok(response)
}
