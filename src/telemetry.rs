//! Structured logging with `tracing`: human-readable in development, JSON lines in
//! production. `RUST_LOG` overrides the level.

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::Environment;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(environment: Environment) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_set = match environment {
        Environment::Development => builder.try_init(),
        Environment::Production => builder.json().try_init(),
    };
}
