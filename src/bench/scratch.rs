//! The scratch databases the benchmark writes to, on the server the configured
//! database lives on. The configured database is only connected to, to create and
//! drop its siblings; nothing in it is read or written.

use anyhow::{Context, bail};
use diesel::{Connection, PgConnection, RunQueryDsl};

/// Where the ledger runs: a fresh, migrated Alliance schema.
pub const LEDGER_DB: &str = "alliance_bench";
/// Where pgbench runs: its own tables, so its data never mixes with the ledger's.
pub const PGBENCH_DB: &str = "alliance_pgbench";

/// A `postgres://` URL taken apart, so that other databases on the same server can
/// be addressed with the same credentials and options.
#[derive(Debug, Clone)]
pub struct ServerUrl {
    user: Option<String>,
    /// Still percent-encoded, as it appeared in the URL.
    password: Option<String>,
    host: String,
    query: Option<String>,
}

/// How a libpq client (pgbench) reaches a database: the password travels in
/// `PGPASSWORD` rather than on the command line, where `ps` would show it.
#[derive(Debug)]
pub struct Libpq {
    pub conninfo: String,
    pub password: Option<String>,
}

impl ServerUrl {
    /// Refuses anything but a URL naming a database other than the scratch ones,
    /// since those are dropped without asking.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .context("the benchmark needs ALLIANCE_DATABASE_URL in postgres://... form")?;
        let (before_query, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query.to_owned())),
            None => (rest, None),
        };
        let (authority, database) = before_query.split_once('/').unwrap_or((before_query, ""));
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, authority),
        };
        let (user, password) = match userinfo.map(|u| u.split_once(':').ok_or(u)) {
            Some(Ok((user, password))) => (Some(user), Some(password)),
            Some(Err(user)) => (Some(user), None),
            None => (None, None),
        };
        if [LEDGER_DB, PGBENCH_DB].contains(&database) {
            bail!("the configured database is {database}, which the benchmark would drop");
        }
        Ok(Self {
            user: user.map(str::to_owned),
            password: password.map(str::to_owned),
            host: host.to_owned(),
            query,
        })
    }

    /// The URL of `database` on the same server, for diesel.
    pub fn url(&self, database: &str) -> String {
        self.render(database, true)
    }

    pub fn libpq(&self, database: &str) -> anyhow::Result<Libpq> {
        Ok(Libpq {
            conninfo: self.render(database, false),
            password: self.password.as_deref().map(percent_decode).transpose()?,
        })
    }

    fn render(&self, database: &str, with_password: bool) -> String {
        let mut url = String::from("postgres://");
        if let Some(user) = &self.user {
            url.push_str(user);
            if let (true, Some(password)) = (with_password, &self.password) {
                url.push(':');
                url.push_str(password);
            }
            url.push('@');
        }
        url.push_str(&self.host);
        url.push('/');
        url.push_str(database);
        if let Some(query) = &self.query {
            url.push('?');
            url.push_str(query);
        }
        url
    }
}

/// Drops `name` if it exists (disconnecting anyone left on it) and creates it empty.
pub fn recreate(admin: &mut PgConnection, name: &str) -> anyhow::Result<()> {
    drop_database(admin, name)?;
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(admin)
        .with_context(|| format!("cannot create database {name} (does the role have CREATEDB?)"))?;
    Ok(())
}

pub fn drop_database(admin: &mut PgConnection, name: &str) -> anyhow::Result<()> {
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(admin)
        .with_context(|| format!("cannot drop database {name}"))?;
    Ok(())
}

/// A fresh database `name` with the application's schema.
pub fn create_migrated(
    admin: &mut PgConnection,
    server: &ServerUrl,
    name: &str,
) -> anyhow::Result<()> {
    recreate(admin, name)?;
    let mut conn = PgConnection::establish(&server.url(name))?;
    crate::db::migrate(&mut conn).map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

/// libpq accepts percent-encoded passwords in URLs but takes `PGPASSWORD` as is.
fn percent_decode(encoded: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail
                .get(..2)
                .context("truncated %-escape in the password")?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex)?, 16)?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    Ok(String::from_utf8(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::ServerUrl;

    #[test]
    fn addresses_a_sibling_database_with_the_same_credentials_and_options() {
        let server = ServerUrl::parse("postgres://al:p%40ss@db:5433/alliance?sslmode=disable")
            .expect("a valid URL");
        assert_eq!(
            server.url("other"),
            "postgres://al:p%40ss@db:5433/other?sslmode=disable"
        );
        let libpq = server.libpq("other").expect("a decodable password");
        assert_eq!(
            libpq.conninfo,
            "postgres://al@db:5433/other?sslmode=disable"
        );
        assert_eq!(libpq.password.as_deref(), Some("p@ss"));
    }

    #[test]
    fn refuses_to_run_in_a_database_it_would_drop() {
        assert!(ServerUrl::parse("postgres://al@db/alliance_bench").is_err());
        assert!(ServerUrl::parse("host=db dbname=alliance").is_err());
    }
}
