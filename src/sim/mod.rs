//! `alliance simulate`: a deterministic, seeded simulation of the alliance that
//! looks for ways to create or lose value that no test imagined.
//!
//! **World.** The demo alliance (eight merchants and their programmes, ALP,
//! members, rewards, deposits, settlement terms, operators) is seeded once into
//! a template database; each seed plays on a fresh copy of it, on the same
//! PostgreSQL server as the configured database (or the tests' admin server).
//!
//! **Sequence.** A seed fixes the list of steps (`op::sequence`): purchases,
//! partial and full refunds, exchanges quoted and executed at once or later
//! (stale), redemptions paid with mixed legs, vouchers served and called off,
//! time passing, and the server's jobs (hold and voucher timeouts, expiry, rate
//! publication, settlement and collections, payout batches where the bank fails
//! some), deposit top-ups and deductions, rate overrides. A step holds one to
//! `concurrency` operations, run at once on their own connections and threads,
//! so lock order and races between paths are exercised; jobs and the clock run
//! alone. Time is [`crate::clock`]'s simulated clock, so days and months pass.
//! The list of operations is the same for a seed on every run; with more than
//! one operation per step the interleaving is the database's, so a concurrency
//! failure may need its seed run a few times (or shrunk at `--concurrency 1` to
//! tell a race from a logic error).
//!
//! **Checks.** After every step every invariant of [`invariant`] must hold, and
//! no operation may fail as the system (what a caller would see as a 5xx): a
//! refusal is fine, a failure is not.
//!
//! **Failure.** The simulation stops at the first broken step, then shrinks the
//! steps up to it — dropping steps, then operations within steps, keeping each
//! cut that still breaks the same invariant — and prints the seed and the
//! shortest list it found.

mod exec;
mod invariant;
pub mod op;
pub mod world;

use std::{
    fmt,
    sync::{Mutex, atomic::AtomicU64},
    thread,
    time::Instant,
};

use anyhow::Context as _;
use diesel::{Connection, PgConnection};
use rand::{SeedableRng, rngs::StdRng};

use crate::{clock::SimClock, config::Config, crypto::Keys};

pub use self::{
    exec::Outcome,
    invariant::Violation,
    op::{Amount, Job, Op, Pay, Step},
    world::{Template, World},
};

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many seeds, from `--seed` on.
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// Steps per seed.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Operations run at once in a step, at most.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Re-runs spent shrinking a failure to its shortest step list.
    #[arg(long, default_value_t = 60)]
    pub shrink_runs: usize,
}

/// Runs the simulation on the configured database's server; a broken invariant
/// or a failed operation is an error (exit status 1) after the report.
pub fn simulate(config: &Config, args: &SimulateArgs) -> anyhow::Result<()> {
    let keys = Keys::derive(config.secret_key());
    let template = Template::build(config.database_url(), &keys)?;
    let report = run(&template, &keys, args, |line| println!("{line}"))?;
    println!("{report}");
    match report.failure {
        Some(_) => anyhow::bail!("the simulation broke an invariant"),
        None => Ok(()),
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub seeds: u64,
    pub steps: usize,
    pub done: usize,
    pub refused: usize,
    pub skipped: usize,
    /// How often each kind of refusal came back (its first words), most first.
    pub refusals: Vec<(String, usize)>,
    pub seconds: f64,
    pub failure: Option<Failure>,
}

/// The first thing that broke, and the shortest steps found that break it.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    /// The command that plays the same steps again.
    pub reproduce: String,
    pub broken: Broken,
    pub shortest: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// An operation failed as the system does (a 5xx to its caller).
    Failed {
        op: Op,
        error: String,
    },
    Invariants(Vec<Violation>),
}

impl Broken {
    /// Whether another run broke the same way (the same failing kind of
    /// operation, or the same invariants), whatever the details.
    fn same_kind(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Failed { op: a, .. }, Self::Failed { op: b, .. }) => {
                std::mem::discriminant(a) == std::mem::discriminant(b)
            }
            (Self::Invariants(a), Self::Invariants(b)) => a
                .iter()
                .map(|v| v.invariant)
                .eq(b.iter().map(|v| v.invariant)),
            _ => false,
        }
    }
}

/// Plays `args.seeds` seeds, each on a fresh copy of the template.
pub fn run(
    template: &Template,
    keys: &Keys,
    args: &SimulateArgs,
    mut progress: impl FnMut(String),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut refusals: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for seed in args.seed..args.seed + args.seeds {
        let steps = op::sequence(
            &mut StdRng::seed_from_u64(seed),
            &template.world,
            args.steps,
            args.concurrency,
        );
        let played = play(template, keys, &format!("s{seed}"), &steps)?;
        report.seeds += 1;
        report.steps += played.steps;
        report.done += played.done;
        report.refused += played.refused;
        report.skipped += played.skipped;
        for outcome in played.outcomes.iter().flatten() {
            if let Outcome::Refused(why) = outcome {
                let kind: String = why
                    .chars()
                    .take_while(|c| !c.is_ascii_digit())
                    .take(60)
                    .collect();
                *refusals.entry(kind.trim().to_owned()).or_default() += 1;
            }
        }
        progress(format!(
            "seed {seed}: {} steps, {} done, {} refused, {} skipped{}",
            played.steps,
            played.done,
            played.refused,
            played.skipped,
            if played.broken.is_some() {
                " — BROKEN"
            } else {
                ""
            }
        ));
        if let Some((at, broken)) = played.broken {
            let shortest = shrink(template, keys, &steps[..=at], &broken, args.shrink_runs)?;
            report.failure = Some(Failure {
                seed,
                reproduce: format!(
                    "alliance simulate --seed {seed} --steps {} --concurrency {}",
                    args.steps, args.concurrency
                ),
                broken,
                shortest,
            });
            break;
        }
    }
    report.refusals = refusals.into_iter().collect();
    report
        .refusals
        .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What one sequence did, and where it broke if it did.
#[derive(Debug, Default)]
pub struct Played {
    pub steps: usize,
    pub done: usize,
    pub refused: usize,
    pub skipped: usize,
    pub broken: Option<(usize, Broken)>,
    /// What became of each operation, step by step.
    pub outcomes: Vec<Vec<Outcome>>,
}

/// Plays `steps` on a fresh copy of the template named `copy`, checking every
/// invariant after each step; stops at the first that breaks.
pub fn play(
    template: &Template,
    keys: &Keys,
    copy: &str,
    steps: &[Step],
) -> anyhow::Result<Played> {
    let url = template.clone_as(copy)?;
    let played = play_on(&url, template, keys, steps);
    template.drop_copy(copy)?;
    played
}

fn play_on(url: &str, template: &Template, keys: &Keys, steps: &[Step]) -> anyhow::Result<Played> {
    let clock = SimClock::starting_at(template.world.start);
    let _installed = clock.install();
    let widest = steps.iter().map(Vec::len).max().unwrap_or(1);
    let mut connections = (0..widest)
        .map(|_| PgConnection::establish(url).context("connecting to the simulation's copy"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cx = exec::Context {
        world: &template.world,
        clock: std::sync::Arc::clone(&clock),
        keys,
        open_quotes: Mutex::new(Vec::new()),
        counter: AtomicU64::new(0),
    };
    let broken_already = invariant::check(&mut connections[0])?;
    anyhow::ensure!(
        broken_already.is_empty(),
        "the seeded alliance breaks invariants before any step: {broken_already:?}"
    );
    let mut played = Played::default();
    for (at, step) in steps.iter().enumerate() {
        let outcomes = run_step(&cx, &mut connections, step);
        played.steps += 1;
        for (op, outcome) in step.iter().zip(&outcomes) {
            match outcome {
                Outcome::Done(_) => played.done += 1,
                Outcome::Refused(_) => played.refused += 1,
                Outcome::Skipped => played.skipped += 1,
                Outcome::Failed(error) => {
                    played.broken = Some((
                        at,
                        Broken::Failed {
                            op: op.clone(),
                            error: error.clone(),
                        },
                    ));
                }
            }
        }
        played.outcomes.push(outcomes);
        if played.broken.is_some() {
            return Ok(played);
        }
        let violations = invariant::check(&mut connections[0])?;
        if !violations.is_empty() {
            played.broken = Some((at, Broken::Invariants(violations)));
            return Ok(played);
        }
    }
    Ok(played)
}

/// Runs the step's operations at once, one thread and connection each, every
/// thread on the simulation's clock.
fn run_step(cx: &exec::Context<'_>, connections: &mut [PgConnection], step: &[Op]) -> Vec<Outcome> {
    if let [op] = step {
        return vec![exec::run(&mut connections[0], cx, op)];
    }
    thread::scope(|scope| {
        let handles: Vec<_> = step
            .iter()
            .zip(connections.iter_mut())
            .map(|(op, conn)| {
                scope.spawn(move || {
                    let _installed = cx.clock.install();
                    exec::run(conn, cx, op)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| Outcome::Failed(format!("panicked: {panic:?}")))
            })
            .collect()
    })
}

/// Shortens `steps` (which break as `broken` at their last step) while they
/// still break the same way, within `budget` re-runs: first whole steps, in
/// halves, quarters, ... then single operations of the steps that are left.
fn shrink(
    template: &Template,
    keys: &Keys,
    steps: &[Step],
    broken: &Broken,
    budget: usize,
) -> anyhow::Result<Vec<Step>> {
    let mut best: Vec<Step> = steps.to_vec();
    let mut runs = 0;
    let still_breaks = |candidate: &[Step], runs: &mut usize| -> anyhow::Result<Option<usize>> {
        *runs += 1;
        let played = play(template, keys, "shrink", candidate)?;
        Ok(played
            .broken
            .filter(|(_, b)| b.same_kind(broken))
            .map(|(at, _)| at))
    };
    let mut chunk = best.len().div_ceil(2);
    while chunk >= 1 && runs < budget {
        let mut start = 0;
        let mut cut_any = false;
        while start < best.len() && runs < budget {
            let candidate: Vec<Step> = best[..start]
                .iter()
                .chain(best[(start + chunk).min(best.len())..].iter())
                .cloned()
                .collect();
            if let Some(at) = still_breaks(&candidate, &mut runs)? {
                best = candidate[..=at].to_vec();
                cut_any = true;
            } else {
                start += chunk;
            }
        }
        if !cut_any {
            chunk /= 2;
        }
    }
    // Then operations within the steps that ran several at once.
    let mut i = 0;
    while i < best.len() && runs < budget {
        let mut j = 0;
        while best[i].len() > 1 && j < best[i].len() && runs < budget {
            let mut candidate = best.clone();
            candidate[i].remove(j);
            if let Some(at) = still_breaks(&candidate, &mut runs)? {
                best = candidate[..=at].to_vec();
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    Ok(best)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulated {} seeds, {} steps in {:.1} s: {} operations done, {} refused, {} with nothing to act on",
            self.seeds, self.steps, self.seconds, self.done, self.refused, self.skipped
        )?;
        for (why, count) in self.refusals.iter().take(12) {
            writeln!(f, "  refused {count:>5}× {why}")?;
        }
        if let Some(failure) = &self.failure {
            write!(f, "{failure}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed {} broke:", self.seed)?;
        match &self.broken {
            Broken::Failed { op, error } => writeln!(f, "  {op} failed: {error}")?,
            Broken::Invariants(violations) => {
                for v in violations {
                    writeln!(f, "  invariant broken: {}", v.invariant)?;
                    for detail in v.details.iter().take(10) {
                        writeln!(f, "    {detail}")?;
                    }
                }
            }
        }
        writeln!(
            f,
            "shortest steps found ({}); the whole sequence: `{}`",
            self.shortest.len(),
            self.reproduce
        )?;
        for (i, step) in self.shortest.iter().enumerate() {
            let ops: Vec<String> = step.iter().map(ToString::to_string).collect();
            writeln!(f, "  {i:>3}. {}", ops.join("  ||  "))?;
        }
        Ok(())
    }
}
