//! `alliance bench ledger`: how many transfers per second the ledger commits, at
//! what latency, beside what the same PostgreSQL does for pgbench's TPC-B-like
//! transaction in the same run.
//!
//! **What it measures.** Writers — OS threads with one connection each, started
//! together — call `ledger::submit` back to back for `--seconds`; each call carries
//! `entries/call` journal entries of one transfer each, under fresh idempotency
//! keys. The workloads:
//! - `random`: a member pays another random member. Each transfer updates two
//!   balance rows out of thousands, so writers rarely wait for each other.
//! - `house`: a random member pays `house:hot`, a house account with 16 balance
//!   shards, as the app opens the house accounts every exchange touches.
//! - `house-unsharded`: the same into a house account with a single balance row,
//!   at one entry per call: every commit queues behind the same row lock. It is
//!   there to show what sharding buys (see LEDGER.md, "Hot accounts").
//!
//! `transfers/s` counts committed transfers only, over the time from the first
//! writer's start to the last writer's last reply. p50/p99 are per call, that is
//! per database transaction: at 100 entries/call they are the time of a whole
//! batch. `errors` counts refused entries and failed calls; it should be 0.
//!
//! **How to read the ratio.** `× pgbench` is ledger transfers/s ÷ pgbench tps at
//! the same number of clients. A TPC-B-like transaction (three UPDATEs, a SELECT,
//! an INSERT, one commit) is about the size of one transfer (a few reads, two
//! INSERTs, one UPDATE of two rows, one commit), so at one entry per call the ratio
//! says what the ledger's write path costs against a plain write transaction on
//! this server: near 1 is as good as it gets, well below 1 is overhead in the
//! ledger. At 100 entries per call one commit carries many transfers, so the ratio
//! shows how far batching takes the ledger past one-commit-per-transfer
//! ("Batch first" in LEDGER.md); well above 1 is expected.
//!
//! **Where it writes.** Only to two scratch databases it creates on the same
//! server, `alliance_bench` (migrated) and `alliance_pgbench`, dropped at the end
//! unless `--keep`. The configured database's data is never touched.

mod import;
mod load;
mod pages;
mod pgbench;
mod report;
pub(crate) mod scratch;

use std::{
    num::NonZero,
    thread,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::builder::RangedU64ValueParser;
use diesel::{Connection, PgConnection, RunQueryDsl, dsl::sql, sql_types::Text};

use crate::config::Config;

pub use self::{
    import::{ImportBenchArgs, import},
    pages::{PagesBenchArgs, pages},
};

use self::{
    load::{Chart, Scenario, Workload},
    scratch::{LEDGER_DB, PGBENCH_DB, ServerUrl},
};

#[derive(Debug, clap::Args)]
pub struct LedgerBenchArgs {
    /// How long each row (and each pgbench run) lasts, in seconds.
    #[arg(long, default_value_t = 5, value_parser = RangedU64ValueParser::<u64>::new().range(1..))]
    seconds: u64,
    /// Concurrent writers, and pgbench clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    writers: Vec<usize>,
    /// Journal entries per ledger call, comma-separated; `house-unsharded` runs
    /// only at 1.
    #[arg(long, value_delimiter = ',', default_value = "1,100",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    batch: Vec<usize>,
    /// Member wallets per asset.
    #[arg(long, default_value_t = 2000, value_parser = RangedU64ValueParser::<usize>::new().range(2..))]
    accounts: usize,
    /// pgbench scale factor [default: the largest writer count, so that pgbench's
    /// clients do not all queue on one branch row].
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pgbench_scale: Option<usize>,
    /// Measure the ledger alone (no ratios).
    #[arg(long)]
    skip_pgbench: bool,
    /// Leave the scratch databases in place afterwards, to inspect them.
    #[arg(long)]
    keep: bool,
}

pub fn ledger(config: &Config, args: &LedgerBenchArgs) -> anyhow::Result<()> {
    let clock = Instant::now();
    let server = ServerUrl::parse(config.database_url())?;
    let mut admin = PgConnection::establish(config.database_url())
        .context("cannot connect to the database (ALLIANCE_DATABASE_URL)")?;
    let measured = measure(&mut admin, &server, args);
    let cleaned = if args.keep {
        println!("\nkept databases {LEDGER_DB} and {PGBENCH_DB}");
        Ok(())
    } else {
        [LEDGER_DB, PGBENCH_DB]
            .into_iter()
            .try_for_each(|db| scratch::drop_database(&mut admin, db))
    };
    println!("\nrun took {:.0} s", clock.elapsed().as_secs_f64());
    // A failed measurement explains more than a failed clean-up, so it wins.
    if let (Err(_), Err(cleanup)) = (&measured, &cleaned) {
        eprintln!("alliance: also failed to clean up: {cleanup:#}");
    }
    measured.and(cleaned)
}

fn measure(
    admin: &mut PgConnection,
    server: &ServerUrl,
    args: &LedgerBenchArgs,
) -> anyhow::Result<()> {
    let version: String =
        diesel::select(sql::<Text>("current_setting('server_version')")).get_result(admin)?;
    let cores = thread::available_parallelism().map_or(0, NonZero::get);
    println!(
        "PostgreSQL {version} · {cores} cores · {} member wallets per asset",
        args.accounts
    );

    let baseline = pgbench_baseline(admin, server, args)?;

    scratch::create_migrated(admin, server, LEDGER_DB)?;
    let url = server.url(LEDGER_DB);
    let chart = Chart::open(&mut PgConnection::establish(&url)?, args.accounts)?;
    report::ledger_header(args.seconds);
    let mut outcomes = Vec::new();
    for scenario in scenarios(args) {
        let outcome = load::run(&url, &chart, scenario, Duration::from_secs(args.seconds))?;
        let pgbench_tps = baseline
            .iter()
            .find(|run| run.clients == scenario.writers)
            .map(|run| run.tps);
        report::ledger_row(&outcome, pgbench_tps);
        outcomes.push(outcome);
    }
    report::errors(&outcomes);
    Ok(())
}

/// pgbench at each writer count, in its own fresh database; nothing if skipped.
fn pgbench_baseline(
    admin: &mut PgConnection,
    server: &ServerUrl,
    args: &LedgerBenchArgs,
) -> anyhow::Result<Vec<pgbench::Run>> {
    if args.skip_pgbench {
        return Ok(Vec::new());
    }
    let pgbench = pgbench::find()?;
    let scale = args
        .pgbench_scale
        .or_else(|| args.writers.iter().copied().max())
        .unwrap_or(1);
    scratch::recreate(admin, PGBENCH_DB)?;
    let db = server.libpq(PGBENCH_DB)?;
    pgbench::initialize(&pgbench, &db, scale)?;
    report::pgbench_header(scale, args.seconds);
    args.writers
        .iter()
        .map(|&clients| {
            let run = pgbench::run(&pgbench, &db, clients, args.seconds)?;
            report::pgbench_row(&run);
            Ok(run)
        })
        .collect()
}

/// The table's rows, grouped by workload.
fn scenarios(args: &LedgerBenchArgs) -> Vec<Scenario> {
    let mut rows = Vec::new();
    for workload in [Workload::Random, Workload::House] {
        for &writers in &args.writers {
            for &batch in &args.batch {
                rows.push(Scenario {
                    workload,
                    writers,
                    batch,
                });
            }
        }
    }
    // One commit per transfer is where a single hot row hurts: batching would
    // hide it by taking the lock once per hundred transfers.
    if args.batch.contains(&1) {
        for &writers in &args.writers {
            rows.push(Scenario {
                workload: Workload::HouseUnsharded,
                writers,
                batch: 1,
            });
        }
    }
    rows
}
