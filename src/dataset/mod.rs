//! The alliance-sized data set (`alliance seed-demo --scale large`): 50
//! merchants with their programmes, deposits, 2,000 stores and 10,000
//! rewards, 100,000 members and over a million transfers spread over the last
//! twelve months — booked the way a real merchant's history arrives, through
//! `crate::import`, from CSV generated in memory.
//!
//! Merchants, stores and rewards are made by the services the demo and the
//! portals use; the people and the history are per merchant a members file, a
//! lots file (opening balances) and an orders file imported with `award`, so
//! every awarded order is an `import_award` entry backdated to when it
//! happened. A fixed RNG seed and a history anchored to the day the merchants
//! joined (read back from the database on a later run) make every file the
//! same bytes each run, so a second run books nothing: each import finds its
//! file imported already.

mod catalog;
mod history;
mod merchants;

use std::{
    fmt,
    time::{Duration, Instant},
};

use diesel::prelude::*;

use crate::{
    crypto::Keys,
    domain::actor::Actor,
    import::{self, ImportRequest, Kind, Progress, State},
    ledger::views::ledger_movements,
};

use self::history::History;

/// How big a data set to build.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub merchants: usize,
    pub stores_per_merchant: usize,
    pub rewards_per_merchant: usize,
    pub members: usize,
    /// Each member belongs to 1..=this many merchants.
    pub most_merchants_per_member: usize,
    /// Each membership has 1..=this many opening lots.
    pub most_lots: usize,
    /// Each membership has 0..=this many awarded orders.
    pub most_orders: usize,
}

impl Scale {
    /// An alliance: about 200,000 memberships, 200,000 opening transfers and
    /// 900,000 awarded orders.
    pub const LARGE: Scale = Scale {
        merchants: 50,
        stores_per_merchant: 40,
        rewards_per_merchant: 200,
        members: 100_000,
        most_merchants_per_member: 3,
        most_lots: 9,
        most_orders: 9,
    };
}

/// Shows how a phase of the build goes: the phase imports every merchant's
/// file of one kind, and is shown as one import of that kind.
pub type ShowPhase<'a> = &'a dyn Fn(Kind) -> Box<dyn Progress>;

/// What a build did and how long each part took.
#[derive(Debug, Default)]
pub struct Summary {
    phases: Vec<(String, Duration)>,
    transfers: i64,
    total: Duration,
}

impl Summary {
    fn timed<T>(
        &mut self,
        name: impl FnOnce(&T) -> String,
        work: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let started = Instant::now();
        let value = work()?;
        self.phases.push((name(&value), started.elapsed()));
        Ok(value)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (phase, took) in &self.phases {
            writeln!(f, "{phase:<60} {:>8.1} s", took.as_secs_f64())?;
        }
        write!(
            f,
            "{} transfers in the books; built in {:.1} s",
            self.transfers,
            self.total.as_secs_f64()
        )
    }
}

/// What the imports of one phase booked.
#[derive(Debug, Default)]
struct Booked {
    files: usize,
    already: usize,
    rows: i64,
}

/// Builds the data set at `scale`, or finishes one that stopped; a built set
/// is left as it is. Call outside a transaction: the imports commit in batches.
pub fn build(
    conn: &mut PgConnection,
    keys: &Keys,
    scale: &Scale,
    show: ShowPhase,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let actor = Actor::system("seed-demo --scale large");
    let mut summary = Summary::default();
    let merchants = summary.timed(
        |m: &Vec<merchants::Built>| {
            format!(
                "{} merchants with programmes, deposits and {} stores",
                m.len(),
                m.iter().map(|m| m.stores.len()).sum::<usize>()
            )
        },
        || merchants::ensure(conn, &actor, scale),
    )?;
    summary.timed(
        |created| format!("rewards: {created} created"),
        || catalog::ensure(conn, &actor, &merchants, scale.rewards_per_merchant),
    )?;
    let history = History::plan(scale, &merchants);
    for kind in [Kind::Members, Kind::Lots, Kind::Orders] {
        summary.timed(
            |booked: &Booked| {
                format!(
                    "{kind}: {} files ({} imported before), {} rows booked",
                    booked.files, booked.already, booked.rows
                )
            },
            || import_all(conn, keys, &actor, &history, kind, show),
        )?;
    }
    // Every transfer the import books is posted: the movements are all of them.
    summary.transfers = ledger_movements::table.count().get_result(conn)?;
    summary.total = started.elapsed();
    Ok(summary)
}

/// Imports every merchant's file of `kind`, its progress shown as one phase.
fn import_all(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    history: &History,
    kind: Kind,
    show: ShowPhase,
) -> anyhow::Result<Booked> {
    let progress = show(kind);
    progress.start(history.units(kind), 0);
    let mut booked = Booked::default();
    for merchant in history.merchants() {
        let file = history.file(merchant, kind);
        let request = ImportRequest {
            kind,
            merchant_code: &merchant.code,
            file_name: &format!("dataset-{}-{kind}.csv", merchant.code),
            bytes: &file.bytes,
            skip_invalid: false,
            award: kind == Kind::Orders,
        };
        let outcome = import::run(conn, keys, actor, &request, &Forward(progress.as_ref()))?;
        anyhow::ensure!(
            outcome.rejections.is_empty(),
            "the {kind} file of {} was refused: {}",
            merchant.code,
            outcome.rejections[0]
        );
        booked.files += 1;
        match outcome.state {
            State::Finished { import, .. } => booked.rows += i64::from(import.rows_booked),
            State::AlreadyImported(_) => {
                booked.already += 1;
                progress.advance(file.units);
            }
            State::Refused => anyhow::bail!("the {kind} file of {} was refused", merchant.code),
        }
    }
    progress.finish();
    Ok(booked)
}

/// One file's progress as part of its phase's.
struct Forward<'a>(&'a dyn Progress);

impl Progress for Forward<'_> {
    fn start(&self, _total: u64, done: u64) {
        self.0.advance(done);
    }

    fn advance(&self, units: u64) {
        self.0.advance(units);
    }

    fn finish(&self) {}
}
