//! Builds the HTTP server: shared state, middleware, routes and the background
//! jobs.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, TtlExtensionPolicy},
};
use actix_web::{
    App, HttpResponse, HttpServer,
    cookie::{Key, SameSite},
    dev::Server,
    get,
    middleware::from_fn,
    web,
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
    exchange, export, jobs, onboarding,
    people::{hashing::PasswordHasher, operator},
    portals, settlement,
    sms::SmsSender,
    web::{
        availability::{self, Drain},
        error::AppError,
        rate_limit::RateLimiter,
        security,
        session::PgSessionStore,
        state::AppState,
    },
    webhook,
};

/// A signed-in session ends after this long without a request.
const SESSION_IDLE_HOURS: i64 = 8;

/// How long a stopping server keeps serving (with `/readyz` at 503 and every
/// connection closed after its response) before it stops accepting: time for
/// a load balancer to notice and for clients to leave their kept-alive
/// connections.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// A server bound to its port but not yet running.
#[allow(missing_debug_implementations)] // actix's Server is not Debug
pub struct Application {
    port: u16,
    server: Server,
    jobs: jobs::Jobs,
    drain: Drain,
    shutdown_timeout: Duration,
}

/// Every action an approval can run, by kind.
pub fn approval_registry(keys: &Keys) -> approval::Registry {
    let keys = keys.clone();
    approval::Registry::default()
        .with("operator.grant_admin", operator::grant_admin)
        .with(onboarding::APPROVAL_KIND, move |conn, approval, checker| {
            onboarding::approve(&keys, conn, approval, checker)
        })
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
        Self::build_with_senders(
            config,
            Mailer::from_config(config)?,
            SmsSender::from_config(config)?,
        )
    }

    /// As `build`, with a given mailer and SMS sender (tests read in-memory
    /// outboxes).
    pub fn build_with_senders(
        config: &Config,
        mailer: Mailer,
        sms: SmsSender,
    ) -> anyhow::Result<Self> {
        Self::assemble(config, mailer, sms, true)
    }

    /// As `build`, without the periodic jobs and their start-up chores: a
    /// server that only answers requests, for `alliance bench pages`, which
    /// must not settle, expire or email anything in the database it measures.
    pub fn build_without_jobs(config: &Config) -> anyhow::Result<Self> {
        Self::assemble(
            config,
            Mailer::from_config(config)?,
            SmsSender::from_config(config)?,
            false,
        )
    }

    fn assemble(
        config: &Config,
        mailer: Mailer,
        sms: SmsSender,
        periodic_jobs: bool,
    ) -> anyhow::Result<Self> {
        // reqwest is built without a TLS crypto provider (ring is the one the
        // crate links); any reqwest client in the process uses this default. An
        // Err means one is installed already, e.g. by an earlier build in tests.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (pool, gate) = db::serving_pool(
            config.database_url(),
            config.database_pool_size,
            config.database_limits,
        )?;
        let keys = Keys::derive(config.secret_key());
        let approvals = approval_registry(&keys);
        let cookie_key = Key::from(&keys.cookie_key_bytes());
        let drain = Drain::default();
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            gate: gate.clone(),
            keys: Arc::new(keys),
            hasher: PasswordHasher::per_core(),
            mailer: Arc::new(mailer),
            sms: Arc::new(sms),
            public_url: config.public_url.as_str().into(),
            approvals: Arc::new(approvals),
            approval_policy: approval::Policy {
                dual_approval_from: config.dual_approval_from,
            },
            api_limiter: Arc::new(RateLimiter::per_minute(config.api_rate_per_minute)),
            upload_dir: config.upload_dir.as_path().into(),
            exports: export::Runner::new(&pool),
            drain: drain.clone(),
            webhook_policy: Arc::new(webhook::Policy::of(config)),
        });
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let secure_cookies = config.cookies_secure();
        let development = config.environment == crate::config::Environment::Development;
        let jobs = if periodic_jobs {
            jobs::spawn(&jobs::Context {
                pool: state.pool.clone(),
                keys: state.keys.clone(),
                mailer: state.mailer.clone(),
                public_url: state.public_url.clone(),
                exports: state.exports.clone(),
                webhook_policy: state.webhook_policy.clone(),
            })
        } else {
            jobs::Jobs::none()
        };
        let server = HttpServer::new(move || {
            let sessions =
                SessionMiddleware::builder(PgSessionStore::new(gate.clone()), cookie_key.clone())
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
                .wrap(from_fn(|req, next| {
                    availability::guard(req, next, api::OUTAGE_WORDING)
                }))
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
        // Stopping is ours to run (see `run_until_stopped`), not actix's.
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .run();
        Ok(Self {
            port,
            server,
            jobs,
            drain,
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process ends (tests run servers this way).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `stop` resolves (`stop_requested` for a real server), then
    /// stops without dropping a request: drains for `DRAIN_GRACE`, stops
    /// accepting, lets requests in flight finish (up to the shutdown timeout)
    /// and lets each job finish the pass it is in.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        let Self {
            server,
            jobs,
            drain,
            shutdown_timeout,
            ..
        } = self;
        let handle = server.handle();
        let mut serving = tokio::spawn(server);
        tokio::select! {
            served = &mut serving => {
                jobs.stop().await;
                return served.map_err(std::io::Error::other)?;
            }
            () = stop => {}
        }
        tracing::info!("stop requested: draining requests in flight");
        drain.start();
        tokio::time::sleep(DRAIN_GRACE.min(shutdown_timeout)).await;
        handle.stop(true).await;
        jobs.stop().await;
        let served = serving.await.map_err(std::io::Error::other)?;
        tracing::info!("stopped");
        served
    }
}

/// SIGTERM (how service managers stop a process) or SIGINT (Ctrl-C).
pub async fn stop_requested() {
    use tokio::signal::unix::{SignalKind, signal};
    if let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    } else {
        tracing::error!("cannot listen for stop signals: stop the process with SIGKILL");
        std::future::pending::<()>().await;
    }
}

/// The process is up.
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database answers and has every migration this binary expects, and the
/// server is not stopping.
#[get("/readyz")]
async fn readyz(
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if state.drain.is_draining() {
        return Err(AppError::Unavailable(anyhow::anyhow!(
            "the server is stopping"
        )));
    }
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
