//! One fresh database per test, cloned from a template that is migrated once, and
//! a real server on port 0 for end-to-end tests.

use std::{
    collections::hash_map::DefaultHasher,
    fs,
    hash::{Hash, Hasher},
    path::{Path, PathBuf},
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

use alliance::{
    config::Config,
    crypto::Keys,
    db,
    email::{Mailer, MemoryOutbox},
    sms::{MemorySmsOutbox, SmsSender},
    startup::Application,
    webhook,
};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};

/// Any connection that may create databases; `scripts/test.sh` sets it.
pub fn admin_url() -> String {
    database_url("postgres")
}

/// A database on the test server. TLS is off: the server is local and the data
/// throwaway, and libpq's OpenSSL cleanup at process exit raced with server
/// threads still connected (SIGSEGV in libcrypto, about once per full run).
fn database_url(name: &str) -> String {
    let configured = std::env::var("ALLIANCE_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://alliance:alliance@127.0.0.1:5432/postgres".to_owned());
    let without_query = configured.split('?').next().unwrap_or_default();
    let (server, _) = without_query
        .rsplit_once('/')
        .expect("a database URL has a path");
    format!("{server}/{name}?sslmode=disable")
}

/// The template is named after the migrations it contains, so a changed migration
/// gets a fresh template instead of a stale one.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut hasher = DefaultHasher::new();
        let mut dirs: Vec<_> =
            fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
                .expect("migrations directory")
                .map(|e| e.expect("migration entry").path())
                .collect();
        dirs.sort();
        for dir in dirs {
            for file in ["up.sql", "down.sql"] {
                fs::read(dir.join(file))
                    .unwrap_or_default()
                    .hash(&mut hasher);
            }
        }
        let name = format!("alliance_template_{:016x}", hasher.finish());
        ensure_template(&name);
        name
    })
}

/// Builds the template once across every test process (advisory lock). A built
/// template refuses connections, because PostgreSQL cannot clone a database that
/// anyone is connected to; readiness is therefore read from the catalog.
fn ensure_template(name: &str) {
    const LOCK_KEY: i64 = 0x616c_6c69_616e_6365; // "alliance"
    let mut admin = PgConnection::establish(&admin_url()).expect("connect to the admin database");
    sql_query(format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .execute(&mut admin)
        .unwrap();
    let ready: i64 = sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}' AND NOT datallowconn"
    ))
    .get_result::<Count>(&mut admin)
    .unwrap()
    .n;
    if ready == 0 {
        // A half-built template of ours goes. Templates of other migrations
        // stay: another checkout on the same server (a second worktree, a
        // branch's CI) may be cloning from one right now.
        sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
        sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        let mut conn =
            PgConnection::establish(&database_url(name)).expect("connect to the new template");
        db::migrate(&mut conn).expect("migrate the template");
        drop(conn);
        sql_query(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
        ))
        .execute(&mut admin)
        .unwrap();
    }
    sql_query(format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
        .execute(&mut admin)
        .unwrap();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    pub fn new() -> Self {
        Self::create(Some(template_name()))
    }

    /// An empty database with no migrations, for migration tests.
    pub fn empty() -> Self {
        Self::create(None)
    }

    fn create(template: Option<&str>) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "alliance_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin =
            PgConnection::establish(&admin_url()).expect("connect to the admin database");
        let template = template
            .map(|t| format!(" TEMPLATE {t}"))
            .unwrap_or_default();
        sql_query(format!("CREATE DATABASE {name}{template}"))
            .execute(&mut admin)
            .unwrap();
        let url = database_url(&name);
        Self { name, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to the test database")
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// A real Alliance server on a free port, on its own database, with mail kept in
/// memory so tests can read it.
pub struct TestApp {
    pub address: String,
    pub db: TestDb,
    pub outbox: MemoryOutbox,
    /// Text messages the server sent (one-time codes).
    pub sms: MemorySmsOutbox,
    pub keys: Keys,
    /// The server's upload directory, a fresh one under the system's temp dir.
    pub upload_dir: PathBuf,
    /// Where the server's webhooks may go.
    pub webhook_policy: alliance::webhook::Policy,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server like `spawn_app`'s, with the configuration changed first.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new();
    let mut config = test_config(&db);
    change(&mut config);
    let (mailer, outbox) = Mailer::memory();
    let (texter, sms) = SmsSender::memory();
    let app =
        Application::build_with_senders(&config, mailer, texter).expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        outbox,
        sms,
        keys: Keys::derive(config.secret_key()),
        webhook_policy: webhook::Policy::of(&config),
        upload_dir: config.upload_dir,
    }
}

/// The configuration `spawn_app` runs on: `db`, a free port, a small pool, an
/// upload directory of its own, and webhooks allowed to receivers on 127.0.0.1.
pub fn test_config(db: &TestDb) -> Config {
    let mut config = Config::from_env().expect("development configuration");
    config.database_url = db.url().to_owned().into();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.database_pool_size = 4;
    config.webhook_allow_hosts = vec!["127.0.0.1".to_owned()];
    config.upload_dir = std::env::temp_dir()
        .join("alliance-test-uploads")
        .join(&db.name);
    config
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests
    /// look at them).
    pub fn browser(&self) -> Browser {
        self.browser_with(reqwest::Client::builder())
    }

    /// A browser whose requests come from another loopback address (the server
    /// listens on 127.0.0.1 but sees the peer as `ip`), as a second device on
    /// another network would.
    pub fn browser_from(&self, ip: &str) -> Browser {
        self.browser_with(
            reqwest::Client::builder().local_address(ip.parse::<std::net::IpAddr>().unwrap()),
        )
    }

    fn browser_with(&self, builder: reqwest::ClientBuilder) -> Browser {
        Browser {
            client: builder
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            address: self.address.clone(),
        }
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    address: String,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF token on the page:\n{}", self.body))
            + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

impl Browser {
    async fn page(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.client
                .get(format!("{}{path}", self.address))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(
            self.client
                .post(format!("{}{path}", self.address))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts a form with the CSRF token from `from` (the page the form is on).
    pub async fn submit(&self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get(from).await.csrf();
        let mut fields = vec![("csrf_token", token.as_str())];
        fields.extend_from_slice(form);
        self.post(path, &fields).await
    }

    /// Signs in through the real form; returns the response to the POST. An
    /// operator asked for a second factor gets one: set up on first sign-in (the
    /// app's key read off the page, as a phone would scan it), a code after.
    /// The response is then the last step's redirect onwards.
    pub async fn sign_in(&self, portal: &str, identifier: &str, password: &str) -> Page {
        let path = format!("/{portal}/sign-in");
        let page = self
            .submit(
                &path,
                &path,
                &[("identifier", identifier), ("password", password)],
            )
            .await;
        match page.location.as_deref() {
            Some(second_factor::ENROL) => {
                let enrol = self.get(second_factor::ENROL).await;
                let secret = second_factor::key_on_page(&enrol.body);
                let code = second_factor::enrolled(&self.address, identifier, &secret);
                let codes = self
                    .post(
                        second_factor::ENROL,
                        &[("csrf_token", &enrol.csrf()), ("code", &code)],
                    )
                    .await;
                assert_eq!(codes.status, 200, "enrolment refused:\n{}", codes.body);
                second_factor::keep_recovery_codes(&self.address, identifier, &codes.body);
                Page {
                    status: 303,
                    location: Some(second_factor::continue_link(&codes.body)),
                    body: codes.body,
                }
            }
            Some(second_factor::CHALLENGE) => {
                let code = second_factor::next_code(&self.address, identifier);
                self.submit(
                    second_factor::CHALLENGE,
                    second_factor::CHALLENGE,
                    &[("code", &code)],
                )
                .await
            }
            _ => page,
        }
    }
}

/// What the test operators' authenticator apps hold, per server and account.
pub mod second_factor {
    use std::{
        collections::HashMap,
        sync::{Mutex, OnceLock},
    };

    pub const ENROL: &str = "/platform/second-factor/enrol";
    pub const CHALLENGE: &str = "/platform/second-factor";

    struct App {
        secret: String,
        last_step: u64,
        recovery_codes: Vec<String>,
    }

    fn apps() -> &'static Mutex<HashMap<(String, String), App>> {
        static APPS: OnceLock<Mutex<HashMap<(String, String), App>>> = OnceLock::new();
        APPS.get_or_init(Mutex::default)
    }

    fn totp(secret: &str) -> totp_rs::Totp {
        totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
            .build()
            .unwrap()
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// The key shown beside the QR code, without its grouping spaces.
    pub fn key_on_page(body: &str) -> String {
        let marker = "id=\"factor-key\"><code>";
        let start = body
            .find(marker)
            .unwrap_or_else(|| panic!("no key on the page:\n{body}"))
            + marker.len();
        body[start..].split('<').next().unwrap().replace(' ', "")
    }

    /// Remembers a newly scanned key; returns the code that confirms it.
    pub fn enrolled(server: &str, account: &str, secret: &str) -> String {
        let step = now() / 30;
        apps().lock().unwrap().insert(
            (server.to_owned(), account.to_owned()),
            App {
                secret: secret.to_owned(),
                last_step: step,
                recovery_codes: Vec::new(),
            },
        );
        totp(secret).generate(step * 30).to_string()
    }

    pub fn keep_recovery_codes(server: &str, account: &str, body: &str) {
        let codes = body
            .split("<li><code>")
            .skip(1)
            .map(|rest| rest.split('<').next().unwrap().to_owned())
            .collect();
        apps()
            .lock()
            .unwrap()
            .get_mut(&(server.to_owned(), account.to_owned()))
            .unwrap()
            .recovery_codes = codes;
    }

    pub fn continue_link(body: &str) -> String {
        let marker = "id=\"continue\" href=\"";
        let start = body.find(marker).unwrap() + marker.len();
        body[start..]
            .split('"')
            .next()
            .unwrap()
            .replace("&#x2f;", "/")
    }

    /// The code the app showed at the last sign-in (spent, but within the
    /// window for a while): what a replay would send.
    pub fn spent_code(server: &str, account: &str) -> String {
        let apps = apps().lock().unwrap();
        let app = &apps[&(server.to_owned(), account.to_owned())];
        totp(&app.secret).generate(app.last_step * 30).to_string()
    }

    /// A code that signs in now: the app's current one, or — when that time
    /// step was used already (codes do not work twice) — a recovery code.
    pub fn next_code(server: &str, account: &str) -> String {
        let mut apps = apps().lock().unwrap();
        let app = apps
            .get_mut(&(server.to_owned(), account.to_owned()))
            .unwrap_or_else(|| panic!("{account} has no authenticator set up in this test"));
        let step = now() / 30;
        if step > app.last_step {
            app.last_step = step;
            totp(&app.secret).generate(step * 30).to_string()
        } else {
            app.recovery_codes
                .pop()
                .expect("a recovery code left for another sign-in this half-minute")
        }
    }
}

/// The server's approval actions, with the keys of the test configuration.
pub fn approval_registry() -> alliance::approval::Registry {
    let config = Config::from_env().expect("development configuration");
    alliance::startup::approval_registry(&Keys::derive(config.secret_key()))
}
