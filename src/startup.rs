//! Builds the HTTP server: shared state, middleware, routes and the background
//! jobs.

use std::{net::TcpListener, sync::Arc};

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, TtlExtensionPolicy},
};
use actix_web::{
    App, HttpResponse, HttpServer,
    cookie::{Key, SameSite},
    dev::Server,
    get, web,
};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::{
    api, approval,
    config::Config,
    crypto::Keys,
    db::{self, PgPool},
    deposit, earn,
    email::Mailer,
    error::AppError,
    exchange, export, jobs, onboarding,
    people::{hashing::PasswordHasher, operator},
    portals, settlement,
    web::{security, session::PgSessionStore, state::AppState},
};

/// A signed-in session ends after this long without a request.
const SESSION_IDLE_HOURS: i64 = 8;

/// A server bound to its port but not yet running.
#[allow(missing_debug_implementations)] // actix's Server is not Debug
pub struct Application {
    port: u16,
    server: Server,
}

/// Every action an approval can run, by kind.
pub fn approval_registry() -> approval::Registry {
    approval::Registry::default()
        .with("operator.grant_admin", operator::grant_admin)
        .with(onboarding::APPROVAL_KIND, onboarding::approve)
        .with(deposit::DEDUCTION_KIND, deposit::deduct)
        .with(
            settlement::collection::APPROVAL_KIND,
            settlement::collection::collect_approved,
        )
        .with(earn::adjustment::APPROVAL_KIND, earn::adjustment::apply)
        .with(
            exchange::overrides::APPROVAL_KIND,
            exchange::overrides::activate,
        )
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port, as the tests do). Must run
    /// inside the Tokio runtime (the SMTP pool starts a task).
    pub fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_mailer(config, Mailer::from_config(config)?)
    }

    /// As `build`, with a given mailer (tests read an in-memory outbox).
    pub fn build_with_mailer(config: &Config, mailer: Mailer) -> anyhow::Result<Self> {
        // reqwest is built without a TLS crypto provider (ring is the one the
        // crate links); any reqwest client in the process uses this default. An
        // Err means one is installed already, e.g. by an earlier build in tests.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let pool = db::pool(config.database_url(), config.database_pool_size)?;
        let keys = Keys::derive(config.secret_key());
        let cookie_key = Key::from(&keys.cookie_key_bytes());
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            keys: Arc::new(keys),
            hasher: PasswordHasher::per_core(),
            mailer: Arc::new(mailer),
            public_url: config.public_url.as_str().into(),
            approvals: Arc::new(approval_registry()),
            approval_policy: approval::Policy {
                dual_approval_from: config.dual_approval_from,
            },
            api_limiter: Arc::new(api::RateLimiter::per_minute(config.api_rate_per_minute)),
            upload_dir: config.upload_dir.as_path().into(),
            exports: export::Runner::new(&pool),
        });
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let secure_cookies = config.cookies_secure();
        let development = config.environment == crate::config::Environment::Development;
        jobs::spawn(&state);
        let server = HttpServer::new(move || {
            let sessions =
                SessionMiddleware::builder(PgSessionStore::new(pool.clone()), cookie_key.clone())
                    .cookie_name("alliance_session".to_owned())
                    .cookie_http_only(true)
                    .cookie_same_site(SameSite::Lax)
                    .cookie_secure(secure_cookies)
                    .session_lifecycle(
                        BrowserSession::default()
                            .state_ttl(actix_web::cookie::time::Duration::hours(SESSION_IDLE_HOURS))
                            .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
                    )
                    .build();
            App::new()
                .wrap(sessions)
                .wrap(security::headers())
                .wrap(actix_web::middleware::from_fn(security::strict_transport))
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .app_data(web::Data::new(pool.clone()))
                .service(healthz)
                .service(readyz)
                .configure(api::configure)
                .configure(|cfg| {
                    if development {
                        portals::development_routes(cfg);
                    }
                })
                .configure(portals::routes)
        })
        .listen(listener)?
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The process is up.
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database answers and has every migration this binary expects.
#[get("/readyz")]
async fn readyz(pool: web::Data<PgPool>) -> Result<HttpResponse, AppError> {
    let current = web::block(move || -> anyhow::Result<bool> {
        let mut conn = pool.get()?;
        db::migrations_current(&mut conn).map_err(|e| anyhow::anyhow!(e))
    })
    .await
    .map_err(|e| AppError::Unavailable(e.into()))?
    .map_err(AppError::Unavailable)?;
    if current {
        Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
    } else {
        Err(AppError::Unavailable(anyhow::anyhow!(
            "database migrations are not current"
        )))
    }
}
