//! The jobs `bench pages` times, each on one connection of the configured
//! database. Unless told to commit, each run of a job that writes is inside a
//! transaction that is rolled back: a settlement run, an expiry pass or a rate
//! publication then costs what it costs, and the database's money is as it
//! was. Jobs that only read (`ledger verify`, the reports) run as they are:
//! verify takes its own read-only snapshot, which cannot open inside another
//! transaction.

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::{Connection, PgConnection};

use crate::{
    crypto::Keys,
    domain::{actor::Actor, shanghai},
    earn, exchange,
    i18n::Locale,
    ledger,
    report::{self, Filters, ReportKind},
    settlement::{
        self,
        run::{RunRequest, Trigger},
    },
};

/// How many lots, holds or members a pass takes at a time, as the server's
/// jobs do.
const BATCH: i64 = 1_000;

/// One job's timings.
pub struct Timed {
    pub name: String,
    pub runs: Vec<Duration>,
    /// What the last run did, in a few words.
    pub did: String,
}

/// What a job does to a connection: a few words on what it did.
type Work<'a> = Box<dyn Fn(&mut PgConnection) -> anyhow::Result<String> + 'a>;

/// A job, and whether it writes.
struct Job<'a> {
    name: String,
    writes: bool,
    work: Work<'a>,
}

fn writes<'a>(name: &str, work: Work<'a>) -> Job<'a> {
    Job {
        name: name.to_owned(),
        writes: true,
        work,
    }
}

fn reads(name: String, work: Work<'_>) -> Job<'_> {
    Job {
        name,
        writes: false,
        work,
    }
}

/// Times every job `repeat` times; commits what they do only if `commit`.
pub fn time_all(
    conn: &mut PgConnection,
    keys: &Keys,
    repeat: usize,
    commit: bool,
) -> anyhow::Result<Vec<Timed>> {
    jobs(keys)
        .into_iter()
        .map(|Job { name, writes, work }| {
            let mut runs = Vec::with_capacity(repeat);
            let mut did = String::new();
            for _ in 0..repeat {
                let (took, what) = if writes {
                    once(conn, &work, commit)
                } else {
                    let start = Instant::now();
                    work(conn).map(|what| (start.elapsed(), what))
                }
                .with_context(|| format!("job {name}"))?;
                runs.push(took);
                did = what;
            }
            Ok(Timed { name, runs, did })
        })
        .collect()
}

/// Runs `work` in a transaction, committed or rolled back.
fn once(
    conn: &mut PgConnection,
    work: &Work<'_>,
    commit: bool,
) -> anyhow::Result<(Duration, String)> {
    let mut outcome = None;
    let result: anyhow::Result<()> = conn.transaction(|conn| {
        let start = Instant::now();
        let did = work(conn)?;
        outcome = Some((start.elapsed(), did));
        if commit {
            Ok(())
        } else {
            Err(RolledBack.into())
        }
    });
    match (result, outcome) {
        (Ok(()), Some(outcome)) => Ok(outcome),
        (Err(e), Some(outcome)) if e.is::<RolledBack>() => Ok(outcome),
        (Err(e), _) => Err(e),
        (Ok(()), None) => unreachable!("a committed transaction ran its work"),
    }
}

/// Not an error: how a run that must leave nothing behind ends.
#[derive(Debug, thiserror::Error)]
#[error("rolled back")]
struct RolledBack;

/// Every job, in the order they are timed.
fn jobs(keys: &Keys) -> Vec<Job<'_>> {
    let actor = || Actor::system("alliance bench pages");
    let now = crate::clock::now;
    let mut all = vec![
        writes(
            "settlement run",
            Box::new(move |conn| {
                let summary = settlement::run::run(
                    conn,
                    keys,
                    &actor(),
                    RunRequest {
                        trigger: Trigger::Operator,
                        merchant_id: None,
                        through: shanghai::date_of(now()),
                    },
                )?;
                Ok(format!(
                    "{} statements, {} exceptions",
                    summary.settled,
                    summary.exceptions.len()
                ))
            }),
        ),
        writes(
            "settlement collections",
            Box::new(move |conn| {
                let reviewed =
                    settlement::collection::review_due(conn, &actor(), shanghai::date_of(now()))?;
                Ok(format!("{reviewed} collections"))
            }),
        ),
        writes(
            "expiry pass",
            Box::new(move |conn| {
                let at = now();
                let mut total = 0;
                loop {
                    let expired = earn::expiry::expire_due(conn, at, BATCH)?;
                    total += expired;
                    if expired == 0 {
                        return Ok(format!("{total} lots"));
                    }
                }
            }),
        ),
        writes(
            "hold expiry",
            Box::new(|conn| {
                let voided = earn::held::void_expired_holds(conn, BATCH)?;
                Ok(format!("{voided} holds"))
            }),
        ),
        writes(
            "tier review",
            Box::new(move |conn| {
                let changes = earn::tier::review_all(conn, now(), BATCH)?;
                Ok(format!("{} members", changes.len()))
            }),
        ),
        writes(
            "rate publication",
            Box::new(move |conn| {
                let published =
                    exchange::rates::publish(conn, exchange::rates::Trigger::Schedule, &actor())?;
                Ok(format!("rate set #{}", published.id))
            }),
        ),
        reads(
            "ledger verify".into(),
            Box::new(|conn| {
                let report = ledger::verify(conn)?;
                Ok(format!("{} findings", report.findings.len()))
            }),
        ),
    ];
    all.extend(report_jobs());
    all
}

/// Each report, built, and built and written as its CSV export: what an
/// operator's export job does.
fn report_jobs() -> Vec<Job<'static>> {
    let filters = Filters::month_to_date(shanghai::date_of(crate::clock::now()));
    let mut jobs = Vec::new();
    for kind in ReportKind::ALL {
        let (build_filters, csv_filters) = (filters.clone(), filters.clone());
        jobs.push(reads(
            format!("report {}", kind.slug()),
            Box::new(move |conn| {
                let table = report::build(
                    conn,
                    kind,
                    &build_filters,
                    Locale::default(),
                    &mut |_, _| {},
                )?;
                Ok(format!("{} rows", table.rows.len()))
            }),
        ));
        jobs.push(reads(
            format!("report {} CSV", kind.slug()),
            Box::new(move |conn| {
                let table =
                    report::build(conn, kind, &csv_filters, Locale::default(), &mut |_, _| {})?;
                Ok(format!("{} bytes", report::csv::to_csv(&table).len()))
            }),
        ));
    }
    jobs
}
