//! Periodic work that runs inside the server process. Every job is safe to run in
//! several processes at once (see each job's own notes), so no job is run twice in
//! effect.

use std::{sync::Arc, time::Duration};

use crate::{
    api,
    crypto::Keys,
    db::{PgPool, lease},
    deposit,
    domain::actor::Actor,
    earn,
    email::Mailer,
    exchange, exit, export, ledger, merchant, redemption, settlement,
    web::session,
    webhook,
};

/// What the jobs share with the server that runs them.
#[derive(Debug, Clone)]
pub struct Context {
    pub pool: PgPool,
    pub keys: Arc<Keys>,
    pub mailer: Arc<Mailer>,
    /// Where links in emails point.
    pub public_url: Arc<str>,
    /// This process's exports, kept alive while it builds them.
    pub exports: export::Runner,
    /// Where webhooks may go.
    pub webhook_policy: Arc<webhook::Policy>,
}

/// Holds voided per pass; more wait for the next pass.
const HOLD_EXPIRY_BATCH: i64 = 500;
/// Lots expired per transaction; a pass runs batches until none are due.
const LOT_EXPIRY_BATCH: i64 = 500;
/// Redemptions expired per pass; more wait for the next pass.
const REDEMPTION_EXPIRY_BATCH: i64 = 500;
/// Members reviewed per page of the tier review.
const TIER_REVIEW_BATCH: i64 = 1_000;
/// Members converted per pass of the exit conversion; more wait for the next.
const EXIT_CONVERSION_BATCH: usize = 2_000;
/// The exit conversion's lease: one process converts at a time. Long enough for
/// a pass; a holder that dies lets it lapse and another process takes over,
/// which is safe because each member's conversion is idempotent.
const EXIT_LEASE: &str = "merchant exits";
const EXIT_LEASE_TTL: Duration = Duration::from_mins(10);

/// A job and how often it runs.
struct Periodic {
    name: &'static str,
    every: Duration,
    /// Returns how many things it handled, for the log. Runs on a blocking
    /// thread, with what the server shares (the pool, the mailer).
    run: fn(&Context) -> anyhow::Result<usize>,
}

const JOBS: [Periodic; 17] = [
    Periodic {
        name: "expire holds",
        every: Duration::from_secs(5),
        run: |state| expire_holds(&state.pool),
    },
    Periodic {
        name: "purge expired sessions",
        every: Duration::from_mins(15),
        run: |state| purge_sessions(&state.pool),
    },
    Periodic {
        name: "purge partner-API nonces and idempotency keys",
        every: Duration::from_mins(5),
        run: |state| Ok(api::purge_expired(&mut *state.pool.get()?)?),
    },
    Periodic {
        name: "check deposit coverage",
        every: Duration::from_mins(5),
        run: check_deposits,
    },
    // Hourly rather than once a night: a lot lapses within the hour after its
    // expiry, and each pass is small.
    Periodic {
        name: "expire points",
        every: Duration::from_hours(1),
        run: |state| expire_points(&state.pool),
    },
    Periodic {
        name: "remind members of expiring points",
        every: Duration::from_hours(6),
        run: remind_expiring_points,
    },
    // Each redemption expires in its own transaction under its row lock; a
    // second process finds it resolved and moves on.
    Periodic {
        name: "expire redemption vouchers",
        every: Duration::from_mins(1),
        run: |state| {
            Ok(redemption::expire_due(
                &mut *state.pool.get()?,
                REDEMPTION_EXPIRY_BATCH,
                &Actor::system("voucher expiry"),
            )?)
        },
    },
    // Two running at once publish two rate sets from the same inputs: harmless.
    Periodic {
        name: "publish exchange rates",
        every: Duration::from_mins(10),
        run: |state| Ok(publish_rates(&state.pool)?.programs),
    },
    // Under a lease in PostgreSQL: one process settles, the others find the lease
    // taken; and each (merchant, period) settles once whatever happens.
    Periodic {
        name: "settle merchants",
        every: Duration::from_mins(5),
        run: |state| {
            Ok(settlement::run::scheduled(
                &mut *state.pool.get()?,
                &state.keys,
                lease::holder(),
            )?)
        },
    },
    // Rows are claimed with SKIP LOCKED and a claim period: two processes send
    // different deliveries (see `webhook`).
    Periodic {
        name: "deliver webhooks",
        every: Duration::from_secs(30),
        run: |state| {
            tokio::runtime::Handle::current().block_on(webhook::deliver_due(
                &state.pool,
                &state.keys,
                &state.webhook_policy,
            ))
        },
    },
    // Under an advisory lock: one pass at a time (see `settlement::notify`).
    Periodic {
        name: "email settlement statements",
        every: Duration::from_mins(5),
        run: |state| {
            tokio::runtime::Handle::current().block_on(settlement::notify::email_statements(
                &state.pool,
                &state.mailer,
            ))
        },
    },
    // Under a lease in PostgreSQL; each member's conversion is idempotent
    // besides (see `exit::conversion`).
    Periodic {
        name: "tell members of exits and convert exited merchants' points",
        every: Duration::from_mins(5),
        run: run_exits,
    },
    // Each collection is reviewed in its own transaction under its row lock.
    Periodic {
        name: "collect overdue settlements",
        every: Duration::from_hours(1),
        run: |state| collect_overdue(&state.pool),
    },
    // Each process renews its own exports; any process may fail those whose
    // runner stopped renewing (see `export::fail_interrupted`).
    Periodic {
        name: "keep exports alive and fail interrupted ones",
        every: Duration::from_secs(30),
        run: |state| {
            let conn = &mut *state.pool.get()?;
            state.exports.heartbeat(conn)?;
            Ok(export::fail_interrupted(conn)?)
        },
    },
    // Deleting twice is harmless.
    Periodic {
        name: "purge old exports",
        every: Duration::from_hours(1),
        run: |state| Ok(export::purge_finished(&mut *state.pool.get()?)?),
    },
    Periodic {
        name: "review member tiers",
        every: Duration::from_hours(24),
        run: |state| review_tiers(&state.pool),
    },
    // Read-only checks in one snapshot; two processes record two runs: harmless.
    Periodic {
        name: "verify the ledger",
        every: Duration::from_hours(24),
        run: verify_ledger,
    },
];

/// Runs `ledger verify` and records it; findings are logged as a warning.
fn verify_ledger(state: &Context) -> anyhow::Result<usize> {
    let report = ledger::verify(&mut *state.pool.get()?)?;
    if !report.is_clean() {
        tracing::warn!(findings = ?report.findings, "nightly ledger verify found problems");
    }
    Ok(report.findings.len())
}

/// The periodic jobs of a running server.
#[derive(Debug)]
pub struct Jobs {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Jobs {
    /// No periodic jobs at all (`startup::Application::build_without_jobs`).
    pub fn none() -> Self {
        Self {
            stop: tokio::sync::watch::channel(false).0,
            tasks: Vec::new(),
        }
    }

    /// Lets each job finish the pass it is in, then ends them all.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a periodic job did not stop cleanly");
            }
        }
    }
}

/// Starts every periodic job on the current Tokio runtime.
pub fn spawn(state: &Context) -> Jobs {
    // Chores of a process that has just started, once: exports a stopped
    // process left unfinished fail at once rather than a period from now (their
    // pages would refresh for nothing until then), and contacts written before
    // they were encrypted are sealed (the key is ours, not the database's).
    let (pool, keys) = (state.pool.clone(), state.keys.clone());
    tokio::task::spawn_blocking(move || {
        let chores = pool
            .get()
            .map_err(anyhow::Error::from)
            .and_then(|mut conn| {
                Ok((
                    export::fail_interrupted(&mut conn)?,
                    merchant::contact::seal_plaintext(&mut conn, &keys)?,
                ))
            });
        match chores {
            Ok((failed, sealed)) => {
                if failed > 0 {
                    tracing::info!(failed, "interrupted exports marked failed");
                }
                if sealed > 0 {
                    tracing::info!(sealed, "plaintext contacts sealed");
                }
            }
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "start-up chores failed; they run again at the next start"
            ),
        }
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = JOBS.map(|job| {
        let state = state.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            // The first pass waits one period: a server that has just started has
            // nothing urgent to do, and its database may still be settling.
            let start = tokio::time::Instant::now() + job.every;
            let mut interval = tokio::time::interval_at(start, job.every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // A stop is heard between passes: a pass runs to its end.
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = stopped.wait_for(|stop| *stop) => break,
                }
                let state = state.clone();
                match tokio::task::spawn_blocking(move || (job.run)(&state)).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(handled)) => tracing::info!(job = job.name, handled, "periodic job done"),
                    Ok(Err(e)) => tracing::warn!(
                        job = job.name,
                        error = format!("{e:#}"),
                        "periodic job failed"
                    ),
                    Err(e) => tracing::error!(job = job.name, error = %e, "periodic job panicked"),
                }
            }
        })
    });
    Jobs {
        stop,
        tasks: tasks.into(),
    }
}

/// A rate set the job published.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub id: i64,
    pub programs: usize,
}

/// Runs the exchange rate model and publishes its rates (see `exchange::rates`).
pub fn publish_rates(pool: &PgPool) -> anyhow::Result<Published> {
    let conn = &mut *pool.get()?;
    let publication = exchange::rates::publish(
        conn,
        exchange::rates::Trigger::Schedule,
        &Actor::system("rate model"),
    )?;
    Ok(Published {
        id: publication.id,
        programs: exchange::rates::programs_in(conn, publication.id)?,
    })
}

/// Voids holds whose timeout has passed (idempotent per hold).
pub fn expire_holds(pool: &PgPool) -> anyhow::Result<usize> {
    Ok(earn::held::void_expired_holds(
        &mut *pool.get()?,
        HOLD_EXPIRY_BATCH,
    )?)
}

/// Deletes sessions past their expiry (deleting twice is harmless).
fn purge_sessions(pool: &PgPool) -> anyhow::Result<usize> {
    Ok(session::purge_expired(&mut *pool.get()?)?)
}

/// Compares every merchant's deposit with what it must be and emails the
/// merchants newly short (see `deposit::periodic_check`).
fn check_deposits(state: &Context) -> anyhow::Result<usize> {
    // A blocking thread of the runtime: it may wait for the async mailer.
    tokio::runtime::Handle::current().block_on(deposit::periodic_check(
        &state.pool,
        &state.mailer,
        &state.public_url,
    ))
}

/// Moves expired lots to breakage, batch after batch until none are due.
pub fn expire_points(pool: &PgPool) -> anyhow::Result<usize> {
    let mut conn = pool.get()?;
    let now = crate::clock::now();
    let mut total = 0;
    loop {
        let expired = earn::expiry::expire_due(&mut conn, now, LOT_EXPIRY_BATCH)?;
        total += expired;
        if expired == 0 {
            return Ok(total);
        }
    }
}

/// Emails members whose points lapse within 15 days (see `earn::expiry`).
fn remind_expiring_points(state: &Context) -> anyhow::Result<usize> {
    tokio::runtime::Handle::current().block_on(earn::expiry::send_reminders(
        &state.pool,
        &state.mailer,
        &state.public_url,
        crate::clock::now(),
    ))
}

/// Downgrades members whose trailing spend no longer keeps their tier.
pub fn review_tiers(pool: &PgPool) -> anyhow::Result<usize> {
    let changes =
        earn::tier::review_all(&mut *pool.get()?, crate::clock::now(), TIER_REVIEW_BATCH)?;
    Ok(changes.len())
}

/// Emails the members of exiting merchants not told yet, then converts the
/// points of the exits whose notice has ended (see `exit`).
fn run_exits(state: &Context) -> anyhow::Result<usize> {
    let conn = &mut *state.pool.get()?;
    let holder = lease::holder();
    if !lease::acquire(conn, EXIT_LEASE, holder, EXIT_LEASE_TTL)? {
        return Ok(0);
    }
    let now = crate::clock::now();
    let told = tokio::runtime::Handle::current().block_on(exit::notice::email_members(
        conn,
        &state.mailer,
        &state.public_url,
        now,
    ));
    let pass = exit::conversion::run_due(
        conn,
        &Actor::system("merchant exit"),
        now,
        EXIT_CONVERSION_BATCH,
    );
    lease::release(conn, EXIT_LEASE, holder)?;
    Ok(told? + pass?.conversions)
}

/// Takes overdue settlement amounts from deposits where the terms allow it and
/// marks what is left overdue.
pub fn collect_overdue(pool: &PgPool) -> anyhow::Result<usize> {
    Ok(settlement::collection::review_due(
        &mut *pool.get()?,
        &Actor::system("settlement collection"),
        crate::domain::shanghai::date_of(crate::clock::now()),
    )?)
}
