//! Security headers on every response: a CSP that allows nothing but this site
//! (no inline script or style, no framing), no MIME sniffing, no referrer leaks
//! (reset links carry a token in the path).

use actix_web::middleware::DefaultHeaders;

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
