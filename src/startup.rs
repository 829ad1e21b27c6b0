//! Builds the HTTP server: routes, shared state and the background jobs.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, dev::Server, get, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::{
    config::Config,
    db::{self, PgPool},
    error::AppError,
    jobs,
};

/// A server bound to its port but not yet running.
#[allow(missing_debug_implementations)] // actix's Server is not Debug
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port, as the tests do).
    pub fn build(config: &Config) -> anyhow::Result<Self> {
        let pool = db::pool(config.database_url(), config.database_pool_size)?;
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        jobs::spawn(pool.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .app_data(web::Data::new(pool.clone()))
                .service(healthz)
                .service(readyz)
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
