//! What every handler shares, built once at start-up.

use std::{path::Path, sync::Arc};

use actix_web::web;
use diesel::PgConnection;

use crate::{
    api, approval, crypto::Keys, db::PgPool, email::Mailer, export, people::hashing::PasswordHasher,
};

use super::error::WebError;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub keys: Arc<Keys>,
    /// Checks passwords on a pool bounded by the cores.
    pub hasher: PasswordHasher,
    pub mailer: Arc<Mailer>,
    /// Where links in emails point.
    pub public_url: Arc<str>,
    pub approvals: Arc<approval::Registry>,
    pub approval_policy: approval::Policy,
    /// Partner-API requests per key (in this process).
    pub api_limiter: Arc<api::RateLimiter>,
    /// Where uploaded reward images are kept.
    pub upload_dir: Arc<Path>,
    /// Builds exports and reports in the background.
    pub exports: export::Runner,
}

impl AppState {
    /// Runs database work on the blocking pool with a pooled connection.
    pub async fn db<T, E>(
        &self,
        work: impl FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, WebError>
    where
        T: Send + 'static,
        E: Into<WebError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(|e| WebError::Internal(e.into()))?;
            work(&mut conn).map_err(Into::into)
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
