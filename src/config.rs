//! Configuration from environment variables, with development defaults that a
//! production deployment must replace.

use std::{env, fmt, net::SocketAddr, time::Duration};

use secrecy::{ExposeSecret, SecretString};

/// Local development: TLS to a loopback server adds nothing (and libpq's OpenSSL
/// cleanup at exit can race with threads still connected).
const DEFAULT_DATABASE_URL: &str =
    "postgres://alliance:alliance@127.0.0.1:5432/alliance?sslmode=disable";
const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_SECRET_KEY: &str = "development-only-secret-key-do-not-use-in-production";
/// ¥10,000.00: deductions and adjustments from here on need two approvers.
const DEFAULT_DUAL_APPROVAL_FROM_FEN: i64 = 1_000_000;
const DEFAULT_OUTBOX_DIR: &str = "outbox";
/// The SMS outbox folder's name, beside the mail outbox.
const DEFAULT_SMS_OUTBOX_NAME: &str = "sms-outbox";
const DEFAULT_UPLOAD_DIR: &str = "./data/uploads";
const DEFAULT_MAIL_FROM: &str = "积分联盟 Alliance <noreply@alliance.example.cn>";
/// Signed partner-API requests per key per minute (bursts up to the same number).
const DEFAULT_API_RATE_PER_MINUTE: u32 = 600;
/// actix's own default: long enough for any request we serve.
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// A secret key shorter than this cannot carry 256 bits of entropy.
const MIN_SECRET_KEY_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub bind: SocketAddr,
    pub secret_key: SecretString,
    pub environment: Environment,
    pub database_pool_size: u32,
    /// Statement and lock timeouts of the server's connections, and how long a
    /// request waits for one (`ALLIANCE_DATABASE_*_MS`).
    pub database_limits: crate::db::Limits,
    /// How long a stopping server lets requests in flight finish
    /// (`ALLIANCE_SHUTDOWN_TIMEOUT_S`).
    pub shutdown_timeout: std::time::Duration,
    /// Where links in emails point, e.g. `https://alliance.example.cn`.
    pub public_url: String,
    /// `smtp://` or `smtps://` URL (lettre's format); without it mail is written
    /// as `.eml` files to `outbox_dir`.
    pub smtp_url: Option<SecretString>,
    pub outbox_dir: std::path::PathBuf,
    /// The SMS provider's endpoint (`ALLIANCE_SMS_URL`, see `sms::provider`);
    /// without it text messages are written as files to `sms_outbox_dir`.
    pub sms_url: Option<SecretString>,
    /// Sent as a bearer token to the SMS provider (`ALLIANCE_SMS_TOKEN`).
    pub sms_token: Option<SecretString>,
    /// `ALLIANCE_SMS_OUTBOX`; by default `sms-outbox` beside the mail outbox.
    pub sms_outbox_dir: std::path::PathBuf,
    /// Where uploaded files (reward images) are kept (`ALLIANCE_UPLOAD_DIR`).
    pub upload_dir: std::path::PathBuf,
    pub mail_from: String,
    /// From this amount on, an approval needs two approvers.
    pub dual_approval_from: crate::domain::money::Money,
    /// Partner-API requests each key may make per minute, in each server
    /// process (`ALLIANCE_API_RATE_PER_MINUTE`).
    pub api_rate_per_minute: std::num::NonZeroU32,
    /// Hosts webhooks may go to although they are not public
    /// (`ALLIANCE_WEBHOOK_ALLOW_HOSTS`, comma-separated, e.g. `127.0.0.1` for a
    /// receiver on this machine); empty unless set.
    pub webhook_allow_hosts: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("refusing to start in production with a development default: set {name} ({reason})")]
    DefaultInProduction {
        name: &'static str,
        reason: &'static str,
    },
}

impl Config {
    /// Reads `ALLIANCE_*` variables; in production, refuses development defaults.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let environment = match lookup("ALLIANCE_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "ALLIANCE_ENV",
                    reason: format!("'{other}' is neither 'development' nor 'production'"),
                });
            }
        };
        let database_url = lookup("ALLIANCE_DATABASE_URL");
        let secret_key = lookup("ALLIANCE_SECRET_KEY");
        let bind = lookup("ALLIANCE_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let database_pool_size = match lookup("ALLIANCE_DATABASE_POOL_SIZE") {
            None => 16,
            Some(raw) => {
                raw.parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "ALLIANCE_DATABASE_POOL_SIZE",
                        reason: format!("'{raw}' is not a positive whole number"),
                    })?
            }
        };

        if environment == Environment::Production {
            refuse_development_secrets(database_url.as_deref(), secret_key.as_deref())?;
        }

        let bind: SocketAddr = bind.parse().map_err(|e| ConfigError::Invalid {
            name: "ALLIANCE_BIND",
            reason: format!("'{bind}': {e}"),
        })?;
        let public_url = lookup("ALLIANCE_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "ALLIANCE_PUBLIC_URL",
                reason: format!("'{public_url}' must start with http:// or https://"),
            });
        }
        let dual_approval_from = match lookup("ALLIANCE_DUAL_APPROVAL_FROM_CNY") {
            None => crate::domain::money::Money::from_fen(DEFAULT_DUAL_APPROVAL_FROM_FEN),
            Some(raw) => crate::domain::money::Money::parse(&raw)
                .ok()
                .filter(|m| m.is_positive())
                .ok_or_else(|| ConfigError::Invalid {
                    name: "ALLIANCE_DUAL_APPROVAL_FROM_CNY",
                    reason: format!("'{raw}' is not a positive amount such as 10000.00"),
                })?,
        };
        let api_rate_per_minute = api_rate(lookup("ALLIANCE_API_RATE_PER_MINUTE"))?;
        let (outbox_dir, sms_outbox_dir) = outboxes(&lookup);
        let database_limits = database_limits(&lookup)?;
        let shutdown_timeout = duration(
            &lookup,
            "ALLIANCE_SHUTDOWN_TIMEOUT_S",
            Unit::Seconds,
            DEFAULT_SHUTDOWN_TIMEOUT,
        )?;
        Ok(Self {
            database_url: database_url
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
                .into(),
            bind,
            secret_key: secret_key
                .unwrap_or_else(|| DEFAULT_SECRET_KEY.to_owned())
                .into(),
            environment,
            database_pool_size,
            database_limits,
            shutdown_timeout,
            public_url,
            smtp_url: lookup("ALLIANCE_SMTP_URL").map(Into::into),
            outbox_dir,
            sms_url: lookup("ALLIANCE_SMS_URL").map(Into::into),
            sms_token: lookup("ALLIANCE_SMS_TOKEN").map(Into::into),
            sms_outbox_dir,
            upload_dir: directory(lookup("ALLIANCE_UPLOAD_DIR"), DEFAULT_UPLOAD_DIR),
            mail_from: lookup("ALLIANCE_MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned()),
            dual_approval_from,
            api_rate_per_minute,
            webhook_allow_hosts: host_list(
                &lookup("ALLIANCE_WEBHOOK_ALLOW_HOSTS").unwrap_or_default(),
            ),
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    pub fn secret_key(&self) -> &str {
        self.secret_key.expose_secret()
    }

    /// Cookies get the `Secure` flag when the public URL is HTTPS.
    pub fn cookies_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The server's statement and lock timeouts and pool wait, or their defaults;
/// a lock may not be waited for longer than a statement may run.
fn database_limits(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<crate::db::Limits, ConfigError> {
    let defaults = crate::db::Limits::default();
    let limits = crate::db::Limits {
        statement_timeout: duration(
            lookup,
            "ALLIANCE_DATABASE_STATEMENT_TIMEOUT_MS",
            Unit::Millis,
            defaults.statement_timeout,
        )?,
        lock_timeout: duration(
            lookup,
            "ALLIANCE_DATABASE_LOCK_TIMEOUT_MS",
            Unit::Millis,
            defaults.lock_timeout,
        )?,
        pool_wait: duration(
            lookup,
            "ALLIANCE_DATABASE_POOL_WAIT_MS",
            Unit::Millis,
            defaults.pool_wait,
        )?,
    };
    if limits.lock_timeout > limits.statement_timeout {
        return Err(ConfigError::Invalid {
            name: "ALLIANCE_DATABASE_LOCK_TIMEOUT_MS",
            reason: "must not be longer than ALLIANCE_DATABASE_STATEMENT_TIMEOUT_MS".to_owned(),
        });
    }
    Ok(limits)
}

#[derive(Clone, Copy)]
enum Unit {
    Millis,
    Seconds,
}

/// A positive whole number of `unit`s, or the default.
fn duration(
    lookup: impl Fn(&str) -> Option<String>,
    name: &'static str,
    unit: Unit,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(raw) = lookup(name) else {
        return Ok(default);
    };
    let n: u64 = raw
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("'{raw}' is not a positive whole number"),
        })?;
    Ok(match unit {
        Unit::Millis => Duration::from_millis(n),
        Unit::Seconds => Duration::from_secs(n),
    })
}

/// Partner-API requests per key per minute, or the default.
fn api_rate(value: Option<String>) -> Result<std::num::NonZeroU32, ConfigError> {
    match value {
        None => Ok(std::num::NonZeroU32::new(DEFAULT_API_RATE_PER_MINUTE)
            .expect("the default rate is positive")),
        Some(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
            name: "ALLIANCE_API_RATE_PER_MINUTE",
            reason: format!("'{raw}' is not a positive whole number"),
        }),
    }
}

/// The mail outbox folder, and the SMS outbox: named, or beside the mail one.
fn outboxes(lookup: &impl Fn(&str) -> Option<String>) -> (std::path::PathBuf, std::path::PathBuf) {
    let mail = directory(lookup("ALLIANCE_OUTBOX_DIR"), DEFAULT_OUTBOX_DIR);
    let sms = lookup("ALLIANCE_SMS_OUTBOX")
        .map_or_else(|| mail.with_file_name(DEFAULT_SMS_OUTBOX_NAME), Into::into);
    (mail, sms)
}

/// Production must not run on the development database URL or secret key.
fn refuse_development_secrets(
    database_url: Option<&str>,
    secret_key: Option<&str>,
) -> Result<(), ConfigError> {
    if database_url.is_none() {
        return Err(ConfigError::DefaultInProduction {
            name: "ALLIANCE_DATABASE_URL",
            reason: "the default connects with a well-known password",
        });
    }
    match secret_key {
        None => {
            return Err(ConfigError::DefaultInProduction {
                name: "ALLIANCE_SECRET_KEY",
                reason: "the default key is published in the source code",
            });
        }
        Some(key) if key.len() < MIN_SECRET_KEY_LEN => {
            return Err(ConfigError::Invalid {
                name: "ALLIANCE_SECRET_KEY",
                reason: format!("must be at least {MIN_SECRET_KEY_LEN} characters"),
            });
        }
        Some(_) => {}
    }
    Ok(())
}

/// A comma-separated list of hosts, lower-cased as URLs spell them; an IPv6
/// address may be written with or without its brackets.
fn host_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|h| {
            h.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase()
        })
        .filter(|h| !h.is_empty())
        .collect()
}

/// A directory setting, or its default.
fn directory(value: Option<String>, default: &str) -> std::path::PathBuf {
    value.map_or_else(|| default.into(), Into::into)
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Development => "development",
            Self::Production => "production",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn development_starts_on_defaults() {
        let config = config_from(&[]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert_eq!(config.database_url(), DEFAULT_DATABASE_URL);
    }

    #[test]
    fn production_refuses_the_default_secret_key() {
        let err = config_from(&[
            ("ALLIANCE_ENV", "production"),
            ("ALLIANCE_DATABASE_URL", "postgres://a:b@db/alliance"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("ALLIANCE_SECRET_KEY"), "{err}");
    }

    #[test]
    fn production_refuses_the_default_database_url() {
        let err = config_from(&[("ALLIANCE_ENV", "production")]).unwrap_err();
        assert!(err.to_string().contains("ALLIANCE_DATABASE_URL"), "{err}");
    }

    #[test]
    fn production_refuses_a_short_secret_key() {
        let err = config_from(&[
            ("ALLIANCE_ENV", "production"),
            ("ALLIANCE_DATABASE_URL", "postgres://a:b@db/alliance"),
            ("ALLIANCE_SECRET_KEY", "short"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
    }

    #[test]
    fn production_starts_with_real_secrets() {
        let config = config_from(&[
            ("ALLIANCE_ENV", "production"),
            ("ALLIANCE_DATABASE_URL", "postgres://a:b@db/alliance"),
            ("ALLIANCE_SECRET_KEY", &"k".repeat(48)),
        ])
        .unwrap();
        assert_eq!(config.environment, Environment::Production);
    }

    #[test]
    fn the_api_rate_must_be_a_positive_whole_number() {
        assert_eq!(config_from(&[]).unwrap().api_rate_per_minute.get(), 600);
        let config = config_from(&[("ALLIANCE_API_RATE_PER_MINUTE", "5")]).unwrap();
        assert_eq!(config.api_rate_per_minute.get(), 5);
        for bad in ["0", "-1", "fast"] {
            let err = config_from(&[("ALLIANCE_API_RATE_PER_MINUTE", bad)]).unwrap_err();
            assert!(
                err.to_string().contains("ALLIANCE_API_RATE_PER_MINUTE"),
                "{err}"
            );
        }
    }

    #[test]
    fn database_limits_are_positive_and_the_lock_timeout_fits_the_statement_timeout() {
        let config = config_from(&[("ALLIANCE_DATABASE_LOCK_TIMEOUT_MS", "500")]).unwrap();
        assert_eq!(
            config.database_limits.lock_timeout,
            Duration::from_millis(500)
        );
        assert_eq!(
            config.database_limits.statement_timeout,
            crate::db::Limits::default().statement_timeout
        );
        for (name, bad) in [
            ("ALLIANCE_DATABASE_STATEMENT_TIMEOUT_MS", "0"),
            ("ALLIANCE_DATABASE_POOL_WAIT_MS", "soon"),
            ("ALLIANCE_SHUTDOWN_TIMEOUT_S", "-3"),
        ] {
            let err = config_from(&[(name, bad)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        let err = config_from(&[
            ("ALLIANCE_DATABASE_STATEMENT_TIMEOUT_MS", "1000"),
            ("ALLIANCE_DATABASE_LOCK_TIMEOUT_MS", "2000"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("LOCK_TIMEOUT"), "{err}");
    }

    #[test]
    fn the_sms_outbox_sits_beside_the_mail_outbox_unless_named() {
        let config = config_from(&[("ALLIANCE_OUTBOX_DIR", "var/outbox")]).unwrap();
        assert_eq!(
            config.sms_outbox_dir,
            std::path::Path::new("var/sms-outbox")
        );
        assert!(config.sms_url.is_none());
        let config = config_from(&[("ALLIANCE_SMS_OUTBOX", "/tmp/texts")]).unwrap();
        assert_eq!(config.sms_outbox_dir, std::path::Path::new("/tmp/texts"));
    }

    #[test]
    fn webhook_hosts_are_allowed_only_when_listed() {
        assert!(config_from(&[]).unwrap().webhook_allow_hosts.is_empty());
        let config = config_from(&[(
            "ALLIANCE_WEBHOOK_ALLOW_HOSTS",
            " 127.0.0.1, Hooks.Local ,[::1],",
        )])
        .unwrap();
        assert_eq!(
            config.webhook_allow_hosts,
            ["127.0.0.1", "hooks.local", "::1"]
        );
    }

    #[test]
    fn an_unknown_environment_is_refused() {
        let err = config_from(&[("ALLIANCE_ENV", "staging")]).unwrap_err();
        assert!(err.to_string().contains("staging"), "{err}");
    }
}
