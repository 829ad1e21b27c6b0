//! `alliance bench import`: how fast `alliance import` brings a merchant's
//! programme in, beside what the same PostgreSQL does for pgbench's TPC-B-like
//! transaction at 8 clients in the same run.
//!
//! **What it measures.** In a scratch database of its own (`alliance_bench_import`,
//! migrated, dropped at the end unless `--keep`) it opens one merchant with its
//! programme, generates `--members` members and `--lots` lots each as CSV in
//! memory, and times, through `import::run` exactly as the command runs it:
//! the members file, the lots file (every row validated, then booked in
//! batches through the ledger), the lots file again (a no-op), and `ledger
//! verify`. `rows/s` is rows of the file over the wall time of that import,
//! validation included; `× pgbench` divides it by pgbench's tps, the yardstick
//! issue #19 sets (at least 10× for lots).

use std::{fmt::Write as _, time::Instant};

use anyhow::{Context, bail};
use clap::builder::RangedU64ValueParser;
use diesel::{Connection, PgConnection};
use rust_decimal::Decimal;

use crate::{
    chart,
    config::Config,
    crypto::Keys,
    domain::{actor::Actor, points::ProgramCode, rate::Rate},
    import::{self, ImportRequest, Kind, Shown, State},
    ledger,
    merchant::{self, NewMerchant},
    program::{self, NewProgram},
};

use super::{
    pgbench, report,
    scratch::{self, PGBENCH_DB, ServerUrl},
};

const IMPORT_DB: &str = "alliance_bench_import";
const MERCHANT: &str = "BENCH";
/// pgbench's clients: the yardstick.
const PGBENCH_CLIENTS: usize = 8;

#[derive(Debug, clap::Args)]
pub struct ImportBenchArgs {
    /// Members in the file.
    #[arg(long, default_value_t = 100_000, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    members: usize,
    /// Lots per member in the lots file.
    #[arg(long, default_value_t = 10, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    lots: usize,
    /// How long the pgbench run lasts, in seconds.
    #[arg(long, default_value_t = 10, value_parser = RangedU64ValueParser::<u64>::new().range(1..))]
    seconds: u64,
    /// Measure the import alone (no ratios).
    #[arg(long)]
    skip_pgbench: bool,
    /// Leave the scratch databases in place afterwards, to inspect them.
    #[arg(long)]
    keep: bool,
}

pub fn import(config: &Config, args: &ImportBenchArgs) -> anyhow::Result<()> {
    let server = ServerUrl::parse(config.database_url())?;
    let mut admin = PgConnection::establish(config.database_url())
        .context("cannot connect to the database (ALLIANCE_DATABASE_URL)")?;
    let measured = measure(&mut admin, &server, config, args);
    let cleaned = if args.keep {
        println!("\nkept databases {IMPORT_DB} and {PGBENCH_DB}");
        Ok(())
    } else {
        [IMPORT_DB, PGBENCH_DB]
            .into_iter()
            .try_for_each(|db| scratch::drop_database(&mut admin, db))
    };
    measured.and(cleaned)
}

fn measure(
    admin: &mut PgConnection,
    server: &ServerUrl,
    config: &Config,
    args: &ImportBenchArgs,
) -> anyhow::Result<()> {
    let tps = if args.skip_pgbench {
        None
    } else {
        let pgbench_path = pgbench::find()?;
        scratch::recreate(admin, PGBENCH_DB)?;
        let db = server.libpq(PGBENCH_DB)?;
        pgbench::initialize(&pgbench_path, &db, PGBENCH_CLIENTS)?;
        report::pgbench_header(PGBENCH_CLIENTS, args.seconds);
        let run = pgbench::run(&pgbench_path, &db, PGBENCH_CLIENTS, args.seconds)?;
        report::pgbench_row(&run);
        Some(run.tps)
    };

    scratch::create_migrated(admin, server, IMPORT_DB)?;
    let conn = &mut PgConnection::establish(&server.url(IMPORT_DB))?;
    open_merchant(conn)?;
    let (members, lots) = files(args.members, args.lots);
    let keys = Keys::derive(config.secret_key());
    let actor = Actor::system("alliance bench import");
    let mut run = |kind: Kind, name: &str, bytes: &[u8]| -> anyhow::Result<(usize, f64, State)> {
        let clock = Instant::now();
        let outcome = import::run(
            conn,
            &keys,
            &actor,
            &ImportRequest {
                kind,
                merchant_code: MERCHANT,
                file_name: name,
                bytes,
                skip_invalid: false,
                award: false,
            },
            &Shown::new(kind),
        )?;
        if !outcome.rejections.is_empty() {
            bail!(
                "the generated {name} has invalid rows: {}",
                outcome.rejections[0]
            );
        }
        Ok((
            outcome.rows_total,
            clock.elapsed().as_secs_f64(),
            outcome.state,
        ))
    };
    println!(
        "\nalliance import, one merchant, {} members × {} lots:\n",
        args.members, args.lots
    );
    println!(
        "| file                 |      rows |       s |    rows/s | × pgbench tps (8 clients) |"
    );
    println!(
        "|----------------------|----------:|--------:|----------:|--------------------------:|"
    );
    let row = |name: &str, rows: usize, seconds: f64| {
        let rate = f64::from(u32::try_from(rows).unwrap_or(u32::MAX)) / seconds.max(1e-6);
        let ratio = tps.map_or_else(|| "—".to_owned(), |tps| format!("{:.1}×", rate / tps));
        println!("| {name:<20} | {rows:>9} | {seconds:>7.1} | {rate:>9.0} | {ratio:>25} |");
    };
    let (rows, seconds, _) = run(Kind::Members, "members.csv", &members)?;
    row("members", rows, seconds);
    let (rows, seconds, _) = run(Kind::Lots, "lots.csv", &lots)?;
    row("lots", rows, seconds);
    let (rows, seconds, again) = run(Kind::Lots, "lots.csv", &lots)?;
    if !matches!(again, State::AlreadyImported(_)) {
        bail!("running the lots file again was not a no-op: {again:?}");
    }
    row("lots again (no-op)", rows, seconds);
    let clock = Instant::now();
    let verified = ledger::verify(conn)?;
    println!(
        "\nledger verify: {} in {:.1} s",
        if verified.is_clean() {
            "clean"
        } else {
            "FINDINGS"
        },
        clock.elapsed().as_secs_f64()
    );
    if !verified.is_clean() {
        bail!("ledger verify found {} problems", verified.findings.len());
    }
    Ok(())
}

/// The merchant whose programme is imported, as onboarding leaves it.
fn open_merchant(conn: &mut PgConnection) -> anyhow::Result<()> {
    chart::ensure_house_accounts(conn)?;
    let merchant = merchant::ensure(
        conn,
        &NewMerchant {
            code: MERCHANT,
            name_zh: "压测商户",
            name_en: "Bench merchant",
            category: "retail",
            tier: "standard",
        },
    )?;
    program::create(
        conn,
        &Actor::system("alliance bench import"),
        &NewProgram {
            merchant_id: merchant.id,
            code: &ProgramCode::parse(MERCHANT)?,
            name_zh: "压测积分",
            name_en: "Bench points",
            settlement_value: Rate::parse("0.01")?,
            earn_points_per_cny: Decimal::ONE,
            expiry_months: 24,
            exchange_in: true,
            exchange_out: true,
            min_exchange_points: 100,
            max_exchange_points: 100_000,
        },
    )?;
    Ok(())
}

/// The members file and the lots file, deterministic: member `i` has the
/// number 1360000000i and `lots` lots earned over the last year.
fn files(members: usize, lots: usize) -> (Vec<u8>, Vec<u8>) {
    let mut members_csv = String::from("phone,name,tier,joined_at\n");
    let mut lots_csv = String::from("phone,points,earned_at,expires_at\n");
    for i in 0..members {
        let phone = format!("136{i:08}");
        let _ = writeln!(members_csv, "{phone},会员{i},,2024-01-01");
        for j in 0..lots {
            let month = 1 + (i + j) % 12;
            let _ = writeln!(
                lots_csv,
                "{phone},{},2025-{month:02}-{:02},2027-{month:02}-01",
                10 + (i * 7 + j * 13) % 500,
                1 + j % 28
            );
        }
    }
    (members_csv.into_bytes(), lots_csv.into_bytes())
}
