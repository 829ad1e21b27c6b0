//! HTTP clients for calls we make to other services (webhooks, the SMS
//! provider): rustls with the ring provider (the one the rest of the crate
//! already links) and the Mozilla roots, and no redirects — a redirect could
//! send signed figures or personal data somewhere the configuration did not name.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

/// A client that gives up on a call after `timeout`.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    builder(timeout)
        .build()
        .expect("the outbound HTTP client builds")
}

/// The settings every outbound client starts from, for callers that add
/// their own (webhooks pin the addresses they checked).
pub fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls().clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
}

/// Built once: the roots are the same for every call.
fn tls() -> &'static rustls::ClientConfig {
    static TLS: OnceLock<rustls::ClientConfig> = OnceLock::new();
    TLS.get_or_init(|| {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth()
    })
}
