//! The partner API (`/api/v1`, see API.md): signed JSON requests from
//! merchants' systems. This module owns the signature check, replay and
//! idempotency records, RFC 7807 problems, per-key rate limiting, the OpenAPI
//! document and the handlers; the work itself is done by the domain services.

mod caller;
mod earn;
mod exchange;
mod idempotency;
mod known_member;
mod member;
mod nonce;
mod openapi;
mod problem;
mod redemption;
mod reward;
mod settlement;
mod signature;

use actix_web::{middleware::from_fn, web};
use utoipa_actix_web::{scope, service_config::ServiceConfig};

pub use openapi::document;
pub use problem::OUTAGE_WORDING;

use problem::ApiError;

/// Mounts the API on the server (before the portals, whose catch-all scope
/// would otherwise claim `/api`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes(&mut ServiceConfig::new(cfg));
}

/// Every route of the API. Registered only through utoipa-actix-web's
/// `service`, which takes documented handlers alone; the OpenAPI document is
/// built from this same function.
fn routes(cfg: &mut ServiceConfig) {
    // Before the signed scope, which would otherwise claim its path.
    cfg.service(openapi::show_openapi);
    cfg.service(
        scope::scope("/api/v1")
            // A malformed id in a path names nothing.
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
            .default_service(web::to(not_found))
            .configure(member::routes)
            .configure(earn::routes)
            .configure(exchange::routes)
            .configure(redemption::routes)
            .configure(reward::routes)
            .configure(settlement::routes)
            .wrap(from_fn(caller::require_signature)),
    );
}

/// Any other path under `/api/v1` (once signed).
async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Deletes replay and idempotency records past their retention; for the
/// periodic job. Returns how many rows went.
pub fn purge_expired(conn: &mut diesel::PgConnection) -> diesel::QueryResult<usize> {
    Ok(nonce::purge(conn)? + idempotency::purge(conn)?)
}
