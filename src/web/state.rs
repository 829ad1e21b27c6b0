//! What every handler shares, built once at start-up.

use std::{path::Path, sync::Arc};

use actix_web::web;
use diesel::PgConnection;

use crate::{
    approval,
    crypto::Keys,
    db::{Gate, PgPool},
    email::Mailer,
    export,
    people::hashing::PasswordHasher,
    sms::SmsSender,
    webhook,
};

use super::{error::WebError, rate_limit::RateLimiter};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Hands `pool`'s connections to request handlers (see `db::outage`).
    pub gate: Gate,
    pub keys: Arc<Keys>,
    /// Checks passwords on a pool bounded by the cores.
    pub hasher: PasswordHasher,
    pub mailer: Arc<Mailer>,
    /// Text messages (one-time codes) to members' mobile numbers.
    pub sms: Arc<SmsSender>,
    /// Where links in emails point.
    pub public_url: Arc<str>,
    pub approvals: Arc<approval::Registry>,
    pub approval_policy: approval::Policy,
    /// Partner-API requests per key (in this process).
    pub api_limiter: Arc<RateLimiter>,
    /// Where uploaded reward images are kept.
    pub upload_dir: Arc<Path>,
    /// Builds exports and reports in the background.
    pub exports: export::Runner,
    /// Set when the server is stopping.
    pub drain: super::availability::Drain,
    /// Where webhooks may go.
    pub webhook_policy: Arc<webhook::Policy>,
}

impl AppState {
    /// Runs database work on the blocking pool with a pooled connection; an
    /// outage of the database is `WebError::Unavailable`.
    pub async fn db<T, E>(
        &self,
        work: impl FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, WebError>
    where
        T: Send + 'static,
        E: Into<WebError> + Send + 'static,
    {
        let gate = self.gate.clone();
        web::block(move || {
            gate.run(work)
                .map_err(WebError::Unavailable)?
                .map_err(Into::into)
        })
        .await
        .map_err(|e| WebError::Internal(e.into()))?
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}
