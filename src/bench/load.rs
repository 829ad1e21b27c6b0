//! The ledger side: a chart of accounts to write to, and writers that call
//! `ledger::submit` back to back for a fixed time.

use std::{
    collections::BTreeMap,
    sync::Barrier,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use diesel::{Connection, PgConnection};
use rand::Rng;

use crate::{
    domain::id::AccountId,
    ledger::{self, AccountSpec, EntryRequest, LedgerError, TransferRequest},
};

/// Member-to-member transfers move points.
const POINTS: &str = "PTS";
/// Transfers into house accounts move cash, as they do in the app.
const CASH: &str = "CNY";
/// What the app gives the house accounts that every exchange touches.
const HOT_HOUSE_SHARDS: i16 = 16;
/// Per member and asset: enough that no run can overdraw anyone at 1 per transfer,
/// so every refusal the benchmark sees is a bug, not a workload artefact.
const FUNDING: i64 = 1_000_000_000;
const FUNDING_BATCH: usize = 500;

/// The accounts the workloads write to, in the benchmark database.
#[derive(Debug)]
pub struct Chart {
    point_wallets: Vec<AccountId>,
    cash_wallets: Vec<AccountId>,
    house_hot: AccountId,
    house_unsharded: AccountId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// A member pays another random member: writes spread over many rows.
    Random,
    /// A random member pays `house:hot`, a house account with 16 balance shards.
    House,
    /// The same into a house account with a single balance row.
    HouseUnsharded,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub workload: Workload,
    pub writers: usize,
    /// Journal entries (of one transfer each) per `submit` call.
    pub batch: usize,
}

/// What the writers of one scenario achieved together.
#[derive(Debug)]
pub struct Outcome {
    pub scenario: Scenario,
    pub committed: u64,
    /// From the first writer's start to the last writer's last reply.
    pub elapsed: Duration,
    /// One per `submit` call, sorted.
    latencies: Vec<Duration>,
    /// Refused entries and failed calls, by message; there should be none.
    pub errors: BTreeMap<String, u64>,
}

/// One writer's share of an outcome.
struct Tally {
    started: Instant,
    finished: Instant,
    committed: u64,
    latencies: Vec<Duration>,
    errors: BTreeMap<String, u64>,
}

impl Chart {
    /// Opens and funds `members` wallets per asset and the two house accounts.
    pub fn open(conn: &mut PgConnection, members: usize) -> anyhow::Result<Self> {
        ledger::ensure_asset(conn, POINTS, 0, "Benchmark points")?;
        ledger::ensure_asset(conn, CASH, 2, "Renminbi")?;
        let points_issuance = open(conn, &house("PTS:issuance", POINTS, "issuance", 1))?;
        let bank = open(conn, &house("house:bank", CASH, "bank", 1))?;
        let chart = Self {
            point_wallets: open_wallets(conn, POINTS, members)?,
            cash_wallets: open_wallets(conn, CASH, members)?,
            house_hot: open(
                conn,
                &house("house:hot", CASH, "clearing", HOT_HOUSE_SHARDS),
            )?,
            house_unsharded: open(conn, &house("house:unsharded", CASH, "clearing", 1))?,
        };
        fund(conn, points_issuance, &chart.point_wallets, POINTS)?;
        fund(conn, bank, &chart.cash_wallets, CASH)?;
        Ok(chart)
    }
}

fn house(code: &str, asset: &str, purpose: &str, shards: i16) -> AccountSpec {
    AccountSpec {
        code: code.to_owned(),
        asset: asset.to_owned(),
        owner_kind: "house".to_owned(),
        owner_id: None,
        purpose: purpose.to_owned(),
        no_overdraft: false,
        shards,
    }
}

fn open(conn: &mut PgConnection, spec: &AccountSpec) -> Result<AccountId, LedgerError> {
    ledger::open_account(conn, spec).map(|account| account.id)
}

/// Opens the wallets in one transaction (each `open_account` becomes a
/// savepoint), which saves a commit, and so an fsync, per account.
fn open_wallets(
    conn: &mut PgConnection,
    asset: &str,
    members: usize,
) -> anyhow::Result<Vec<AccountId>> {
    let last = i64::try_from(members)?;
    let wallets = conn.transaction(|conn| {
        (1..=last)
            .map(|member| {
                let spec = AccountSpec {
                    code: format!("member:{member}:{asset}"),
                    asset: asset.to_owned(),
                    owner_kind: "member".to_owned(),
                    owner_id: Some(member),
                    purpose: "wallet".to_owned(),
                    no_overdraft: true,
                    shards: 1,
                };
                open(conn, &spec)
            })
            .collect::<Result<Vec<_>, LedgerError>>()
    })?;
    Ok(wallets)
}

fn fund(
    conn: &mut PgConnection,
    source: AccountId,
    wallets: &[AccountId],
    asset: &str,
) -> anyhow::Result<()> {
    for chunk in wallets.chunks(FUNDING_BATCH) {
        let entries: Vec<EntryRequest> = chunk
            .iter()
            .map(|&wallet| {
                EntryRequest::new(format!("fund:{wallet}"), "fund")
                    .transfer(TransferRequest::move_(source, wallet, asset, FUNDING))
            })
            .collect();
        if let Some(Err(refused)) = ledger::submit(conn, &entries)?
            .into_iter()
            .find(Result::is_err)
        {
            bail!("funding the {asset} wallets was refused: {refused}");
        }
    }
    Ok(())
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::House => "house",
            Self::HouseUnsharded => "house-unsharded",
        }
    }

    /// One transfer of 1 minor unit, between accounts drawn afresh each time.
    fn transfer(self, chart: &Chart, rng: &mut impl Rng) -> TransferRequest {
        let house = match self {
            Self::Random => return between_members(&chart.point_wallets, rng),
            Self::House => chart.house_hot,
            Self::HouseUnsharded => chart.house_unsharded,
        };
        let member = chart.cash_wallets[rng.random_range(0..chart.cash_wallets.len())];
        TransferRequest::move_(member, house, CASH, 1)
    }
}

/// From one wallet to any other, uniformly.
fn between_members(wallets: &[AccountId], rng: &mut impl Rng) -> TransferRequest {
    let from = rng.random_range(0..wallets.len());
    let to = rng.random_range(0..wallets.len() - 1);
    // Skipping over `from` keeps the draw uniform over the others.
    let to = if to >= from { to + 1 } else { to };
    TransferRequest::move_(wallets[from], wallets[to], POINTS, 1)
}

/// Runs `scenario` for `duration` against `url` and gathers what its writers did.
pub fn run(
    url: &str,
    chart: &Chart,
    scenario: Scenario,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    // Connect before the clock starts: connection set-up is not what we measure,
    // and a writer that failed to connect would leave the others at the barrier.
    let connections = (0..scenario.writers)
        .map(|_| PgConnection::establish(url))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot open a connection per writer (max_connections?)")?;
    let barrier = Barrier::new(scenario.writers);
    let tallies: Vec<Tally> = thread::scope(|scope| {
        let writers: Vec<_> = connections
            .into_iter()
            .enumerate()
            .map(|(writer, conn)| {
                let barrier = &barrier;
                scope.spawn(move || write(conn, chart, scenario, writer, barrier, duration))
            })
            .collect();
        writers
            .into_iter()
            .map(|writer| {
                writer
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    Ok(Outcome::gather(scenario, tallies))
}

/// One writer: submits `batch` fresh entries per call until `duration` is up.
fn write(
    mut conn: PgConnection,
    chart: &Chart,
    scenario: Scenario,
    writer: usize,
    barrier: &Barrier,
    duration: Duration,
) -> Tally {
    let mut rng = rand::rng();
    // Keys are unique across the whole run, so no call is ever a replay.
    let prefix = format!(
        "{}:w{}:b{}:{writer}",
        scenario.workload.name(),
        scenario.writers,
        scenario.batch
    );
    barrier.wait();
    let started = Instant::now();
    let mut tally = Tally {
        started,
        finished: started,
        committed: 0,
        latencies: Vec::new(),
        errors: BTreeMap::new(),
    };
    let mut call = 0_u64;
    while started.elapsed() < duration {
        let entries: Vec<EntryRequest> = (0..scenario.batch)
            .map(|i| {
                EntryRequest::new(format!("{prefix}:{call}:{i}"), "transfer")
                    .transfer(scenario.workload.transfer(chart, &mut rng))
            })
            .collect();
        let sent = Instant::now();
        let result = ledger::submit(&mut conn, &entries);
        tally.latencies.push(sent.elapsed());
        tally.record(result);
        call += 1;
    }
    tally.finished = Instant::now();
    tally
}

impl Tally {
    fn record(&mut self, result: Result<Vec<ledger::EntryResult>, LedgerError>) {
        match result {
            Ok(results) => {
                for entry in results {
                    match entry {
                        Ok(_) => self.committed += 1,
                        Err(refused) => self.error(format!("entry refused: {refused}")),
                    }
                }
            }
            Err(failed) => self.error(format!("call failed: {:#}", anyhow::Error::new(failed))),
        }
    }

    fn error(&mut self, message: String) {
        *self.errors.entry(message).or_default() += 1;
    }
}

impl Outcome {
    fn gather(scenario: Scenario, tallies: Vec<Tally>) -> Self {
        let started = tallies.iter().map(|t| t.started).min();
        let finished = tallies.iter().map(|t| t.finished).max();
        let mut outcome = Self {
            scenario,
            committed: 0,
            elapsed: finished
                .zip(started)
                .map_or(Duration::ZERO, |(end, start)| end - start),
            latencies: Vec::new(),
            errors: BTreeMap::new(),
        };
        for tally in tallies {
            outcome.committed += tally.committed;
            outcome.latencies.extend(tally.latencies);
            for (message, count) in tally.errors {
                *outcome.errors.entry(message).or_default() += count;
            }
        }
        outcome.latencies.sort_unstable();
        outcome
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "counts stay far below 2^52, where f64 is exact"
    )]
    pub fn transfers_per_sec(&self) -> f64 {
        self.committed as f64 / self.elapsed.as_secs_f64()
    }

    /// The nearest-rank percentile of call latency, `per_mille` = 500 for p50.
    pub fn latency(&self, per_mille: usize) -> Duration {
        let rank = (self.latencies.len() * per_mille).div_ceil(1000);
        self.latencies
            .get(rank.saturating_sub(1))
            .copied()
            .unwrap_or_default()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}
