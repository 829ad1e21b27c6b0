//! `alliance bench pages`: how long every portal page and every job takes on
//! the configured database, beside pgbench on the same server.
//!
//! **Pages.** The bench starts the server in-process on a free port of
//! 127.0.0.1 — without its periodic jobs, so nothing is settled, expired or
//! emailed behind its back — or talks to `--url`. It signs in through the real
//! forms as four people: an operator (by default the demo's admin), a
//! merchant's owner, a cashier and a member (README's demo sign-ins). Each page
//! of `catalog::PAGES` is fetched `--repeat` times in a row; a page's time is
//! the wall time of the GET over loopback, from sending the request to the
//! last byte of the body, so it is the server's time plus a loopback round
//! trip (well under a millisecond). Any answer but a 2xx is an error row, and
//! the command fails. A route whose page needs a row this database does not
//! have (no payout batch, no export yet) is listed as having nothing to show.
//!
//! **The operator's second factor.** Admins and finance must have one. The
//! bench types the code their authenticator would show: it reads the sealed
//! secret from the database with the server's keys (`ALLIANCE_SECRET_KEY`,
//! the same as the server's — with `--url`, that server's). An operator who
//! has not set one up yet is set up through the enrolment page as at a first
//! sign-in, and the factor is removed again at the end (audited as `alliance
//! bench pages`), so that a person still sets their own up at their first
//! sign-in.
//!
//! **Jobs.** A settlement run through today, the collections review, an
//! expiry pass, hold expiry, the tier review, a rate publication, `ledger
//! verify`, and each report, built and as its CSV export, each `--job-repeat`
//! times on one connection. Unless `--jobs` is given, each run is inside a
//! transaction that is rolled back: the time is the job's, and the database's
//! money is as it was.
//!
//! **What it writes** to the configured database: the sign-ins' sessions and
//! throttle rows, a temporary second factor as above, and, only with
//! `--jobs`, what the jobs do. pgbench runs in its own scratch database
//! (`alliance_pgbench`), dropped at the end.

mod catalog;
mod client;
mod jobs;
mod report;

use std::{collections::HashMap, path::PathBuf, time::SystemTime};

use anyhow::Context;
use clap::builder::RangedU64ValueParser;
use diesel::{Connection, PgConnection};

use crate::{
    config::Config,
    crypto::Keys,
    domain::actor::Actor,
    people::{operator, second_factor},
    startup::Application,
};

use self::{
    catalog::{PAGES, Role},
    client::{Browser, SignedIn},
    report::{JobRow, PageRow, Run},
};
use super::{
    pgbench,
    scratch::{self, PGBENCH_DB, ServerUrl},
};

#[derive(Debug, clap::Args)]
pub struct PagesBenchArgs {
    /// Time a server already running at this URL instead of one started here
    /// (it must use the configured database and secret key).
    #[arg(long)]
    url: Option<String>,
    /// GETs of each page.
    #[arg(long, default_value_t = 10, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    repeat: usize,
    /// Runs of each job.
    #[arg(long, default_value_t = 1, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    job_repeat: usize,
    /// Let the jobs commit what they do (settle due periods, expire lots,
    /// publish rates). Without it every job run is rolled back.
    #[arg(long)]
    jobs: bool,
    /// The operator to sign in as (an admin sees every platform page).
    #[arg(long, default_value = "admin@alliance.example.cn")]
    operator: String,
    /// The merchant's owner to sign in as.
    #[arg(long, default_value = "owner@brew.example.cn")]
    merchant_user: String,
    /// The cashier to sign in as.
    #[arg(long, default_value = "cashier@brew.example.cn")]
    cashier: String,
    /// The member to sign in as.
    #[arg(long, default_value = "13800000001")]
    member_phone: String,
    /// Everyone's password [default: the demo's].
    #[arg(long, env = "ALLIANCE_BENCH_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// How long pgbench runs, in seconds.
    #[arg(long, default_value_t = 5, value_parser = RangedU64ValueParser::<u64>::new().range(1..))]
    pgbench_seconds: u64,
    #[arg(long)]
    skip_pgbench: bool,
    /// Write the numbers to this file, for comparing runs.
    #[arg(long)]
    json: Option<PathBuf>,
    /// A previous run's `--json`: print each page's time as a ratio of its.
    #[arg(long)]
    baseline: Option<PathBuf>,
}

/// Measures and prints; whether every page answered with a 2xx.
pub fn pages(config: &Config, args: &PagesBenchArgs) -> anyhow::Result<bool> {
    let baseline = args
        .baseline
        .as_deref()
        .map(report::read_json)
        .transpose()?;
    let keys = Keys::derive(config.secret_key());
    let mut conn = PgConnection::establish(config.database_url())
        .context("cannot connect to the database (ALLIANCE_DATABASE_URL)")?;
    let runtime = tokio::runtime::Runtime::new()?;
    let pages = runtime.block_on(time_pages(config, args, &keys))?;
    let jobs = jobs::time_all(&mut conn, &keys, args.job_repeat, args.jobs)?
        .into_iter()
        .map(|timed| JobRow {
            p50_ms: report::ms(report::percentile(&timed.runs, 50)),
            max_ms: report::ms(report::percentile(&timed.runs, 100)),
            runs: timed.runs.len(),
            job: timed.name,
            did: timed.did,
            committed: args.jobs,
        })
        .collect();
    let pgbench_tps = if args.skip_pgbench {
        None
    } else {
        Some(pgbench_tps(&mut conn, config, args.pgbench_seconds)?)
    };
    let run = Run {
        repeat: args.repeat,
        pgbench_tps_8_clients: pgbench_tps,
        pages,
        jobs,
    };
    report::print(&run, baseline.as_ref());
    if let Some(path) = &args.json {
        report::write_json(&run, path)?;
    }
    Ok(!run.pages.iter().any(PageRow::is_error))
}

/// Signs everyone in and times every page, on the server started here or at
/// `--url`.
async fn time_pages(
    config: &Config,
    args: &PagesBenchArgs,
    keys: &Keys,
) -> anyhow::Result<Vec<PageRow>> {
    let Some(url) = &args.url else {
        let mut config = config.clone();
        config.bind = "127.0.0.1:0".parse()?;
        // Plain HTTP on loopback: cookies marked Secure would not come back.
        "http://127.0.0.1".clone_into(&mut config.public_url);
        let app = Application::build_without_jobs(&config)?;
        let url = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let rows = sign_in_and_time(config.database_url(), args, keys, &url).await;
        let _ = stop.send(());
        server.await??;
        return rows;
    };
    sign_in_and_time(config.database_url(), args, keys, url).await
}

async fn sign_in_and_time(
    database_url: &str,
    args: &PagesBenchArgs,
    keys: &Keys,
    url: &str,
) -> anyhow::Result<Vec<PageRow>> {
    let mut conn = PgConnection::establish(database_url)?;
    let password = args
        .password
        .clone()
        .unwrap_or_else(|| crate::demo::DEMO_PASSWORD.to_owned());
    let operator = operator::list(&mut conn)?
        .into_iter()
        .find(|o| o.email == args.operator)
        .with_context(|| format!("no operator {}", args.operator))?;
    let mut browsers = HashMap::new();
    let mut enrolled = false;
    for role in Role::ALL {
        let browser = Browser::new(url)?;
        let identifier = match role {
            Role::Operator => &args.operator,
            Role::Owner => &args.merchant_user,
            Role::Cashier => &args.cashier,
            Role::Member => &args.member_phone,
        };
        let how = browser
            .sign_in(role.portal(), identifier, &password, || {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)?
                    .as_secs();
                second_factor::next_code(&mut conn, keys, &operator, now)?
                    .context("the operator has no second factor to take a code from")
            })
            .await
            .with_context(|| format!("signing in as the {role}"))?;
        enrolled |= how == SignedIn::Enrolled;
        browsers.insert(role, browser);
    }
    let rows = time_each(&browsers, args.repeat).await;
    if enrolled {
        second_factor::reset(
            &mut conn,
            &Actor::system("alliance bench pages"),
            operator.id,
        )?;
    }
    Ok(rows)
}

/// Times every page with its person's browser.
async fn time_each(browsers: &HashMap<Role, Browser>, repeat: usize) -> Vec<PageRow> {
    // What each person has seen so far: where the links to rows are found.
    let mut seen: HashMap<Role, Vec<String>> = HashMap::new();
    let mut rows = Vec::with_capacity(PAGES.len());
    for page in PAGES {
        let bodies = seen.entry(page.role).or_default();
        let path = if catalog::split_parameter(page.path).is_some() {
            bodies
                .iter()
                .find_map(|body| catalog::find_link(body, page.route))
        } else {
            Some(page.path.to_owned())
        };
        let Some(path) = path else {
            rows.push(PageRow {
                role: page.role,
                route: page.route.to_owned(),
                path: String::new(),
                status: 0,
                p50_ms: 0.0,
                p95_ms: 0.0,
                bytes: 0,
                rows: 0,
                problem: Some("nothing to show: no link to one on the pages before".into()),
            });
            continue;
        };
        let row = time_one(&browsers[&page.role], page.role, page.route, &path, repeat).await;
        if let Ok(body) = &row.1 {
            bodies.push(body.clone());
        }
        rows.push(row.0);
    }
    rows
}

/// `repeat` GETs of `path`: its row, and the last body.
async fn time_one(
    browser: &Browser,
    role: Role,
    route: &str,
    path: &str,
    repeat: usize,
) -> (PageRow, Result<String, ()>) {
    let mut times = Vec::with_capacity(repeat);
    let mut row = PageRow {
        role,
        route: route.to_owned(),
        path: path.to_owned(),
        status: 0,
        p50_ms: 0.0,
        p95_ms: 0.0,
        bytes: 0,
        rows: 0,
        problem: None,
    };
    let mut last = Err(());
    for _ in 0..repeat {
        match browser.get(path).await {
            Ok(fetched) => {
                times.push(fetched.elapsed);
                row.status = fetched.status.as_u16();
                row.bytes = fetched.body.len();
                row.rows = report::rows_in(&fetched.body);
                if !fetched.status.is_success() {
                    row.problem = Some(format!("answered {}", fetched.status));
                    break;
                }
                last = Ok(fetched.body);
            }
            Err(e) => {
                row.problem = Some(format!("{e:#}"));
                break;
            }
        }
    }
    row.p50_ms = report::ms(report::percentile(&times, 50));
    row.p95_ms = report::ms(report::percentile(&times, 95));
    (row, last)
}

/// pgbench's TPC-B-like tps at 8 clients in its own scratch database.
fn pgbench_tps(admin: &mut PgConnection, config: &Config, seconds: u64) -> anyhow::Result<f64> {
    const CLIENTS: usize = 8;
    let server = ServerUrl::parse(config.database_url())?;
    let pgbench = pgbench::find()?;
    scratch::recreate(admin, PGBENCH_DB)?;
    let db = server.libpq(PGBENCH_DB)?;
    let run = pgbench::initialize(&pgbench, &db, CLIENTS)
        .and_then(|()| pgbench::run(&pgbench, &db, CLIENTS, seconds));
    let dropped = scratch::drop_database(admin, PGBENCH_DB);
    let run = run?;
    dropped?;
    Ok(run.tps)
}
