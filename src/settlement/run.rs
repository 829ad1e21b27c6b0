//! Settlement runs: one pass over the merchants with periods that have ended,
//! settling each of those periods in order (a merchant missed for a while catches
//! up one period at a time). The scheduler in `jobs` runs one under a lease every
//! few minutes; operators run one from the platform portal or with `alliance jobs
//! run settlement`. A merchant that cannot be settled (no account to pay out to,
//! say) is recorded as an exception of the run and the others go on.
//!
//! A run settles only what has ended: a `through` date after today (Shanghai,
//! by `clock::now()`) is refused before anything is written.
//!
//! A run holds a session-level advisory lock named after it while it runs, so
//! a process that dies mid-run lets go of it with its connection. Every run
//! first marks the runs that are unfinished and unlocked as interrupted: their
//! rows stop saying "running" forever, and what they settled stays settled
//! (each statement is its own transaction), so the next run simply goes on.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::{
    crypto::Keys,
    db::{
        self, lease,
        schema::{merchants, settlement_runs},
    },
    domain::{actor::Actor, id::MerchantId, money::Money, shanghai, text_enum::text_enum},
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::{
    cycle::{Period, ended_periods},
    statement::{self, Outcome},
    terms,
};

/// The lease the scheduled run holds. Long enough for a big run; a run that
/// outlives it is still safe (each (merchant, period) settles once), merely no
/// longer alone.
const LEASE: &str = "settlement";
const LEASE_TTL: Duration = Duration::from_mins(15);
/// Advisory lock keys of runs in progress: this base plus the run's id.
const RUN_LOCK_BASE: i64 = 0x7365_7474_0000_0000;

/// The session-level advisory lock a run in progress holds (in `pg_locks`,
/// `classid`/`objid` are its high and low halves).
pub fn run_lock(run_id: i64) -> i64 {
    RUN_LOCK_BASE + run_id
}

text_enum! {
    /// What started a run: the daily schedule or an operator's button.
    pub enum Trigger {
        Schedule => "schedule",
        Operator => "operator",
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RunRequest {
    pub trigger: Trigger,
    /// Only this merchant; all when None.
    pub merchant_id: Option<MerchantId>,
    /// Settle the periods that ended by 00:00 of this Shanghai date: today at
    /// the latest.
    pub through: NaiveDate,
}

/// Why a run was refused. A refused run writes nothing, not even a run row.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "periods ending on {through} have not ended: today is {today} (Asia/Shanghai), so a run settles through {today} at the latest"
    )]
    NotEnded {
        through: NaiveDate,
        today: NaiveDate,
    },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for RunError {
    fn class(&self) -> Class {
        match self {
            Self::NotEnded { through, today } => Class::Refusal(Refusal::new(
                Kind::Conflict,
                "periods_not_ended",
                Message::new("settlement_portals.error.not_ended")
                    .arg("through", through)
                    .arg("today", today),
            )),
            Self::Database(_) => Class::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    pub merchant_id: MerchantId,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = settlement_runs, check_for_backend(diesel::pg::Pg))]
pub struct Run {
    pub id: i64,
    pub trigger: Trigger,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub settled: i32,
    pub payout_fen: i64,
    pub owed_fen: i64,
    /// `[{merchant_id, error}]`.
    pub exceptions: serde_json::Value,
    pub interrupted_at: Option<DateTime<Utc>>,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Finished,
    /// Its process stopped before it finished.
    Interrupted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Interrupted => "interrupted",
        }
    }
}

impl Run {
    pub fn state(&self) -> RunState {
        match (self.finished_at, self.interrupted_at) {
            (Some(_), _) => RunState::Finished,
            (None, Some(_)) => RunState::Interrupted,
            (None, None) => RunState::Running,
        }
    }

    pub fn payout(&self) -> Money {
        Money::from_fen(self.payout_fen)
    }

    pub fn owed(&self) -> Money {
        Money::from_fen(self.owed_fen)
    }

    pub fn exceptions(&self) -> Vec<Exception> {
        self.exceptions
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|e| Exception {
                        merchant_id: MerchantId(e["merchant_id"].as_i64().unwrap_or_default()),
                        error: e["error"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What a run did; `run` is None when nothing was due (no run is recorded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub run: Option<i64>,
    pub settled: usize,
    pub exceptions: Vec<Exception>,
}

pub fn recent(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Run>> {
    settlement_runs::table
        .order(settlement_runs::id.desc())
        .limit(limit)
        .select(Run::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Run>> {
    settlement_runs::table
        .find(id)
        .select(Run::as_select())
        .first(conn)
        .optional()
}

/// The merchant's periods that have ended by `through` and are not settled yet.
pub fn due_periods(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    through: NaiveDate,
) -> QueryResult<Vec<Period>> {
    Ok(ended_periods(
        terms::of(conn, merchant_id)?.cycle,
        statement::next_period_start(conn, merchant_id)?,
        through,
    ))
}

/// Settles every due period of every merchant (or of one); refuses a
/// `through` date after today.
#[tracing::instrument(skip_all)]
pub fn run(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    request: RunRequest,
) -> Result<Summary, RunError> {
    let today = shanghai::date_of(crate::clock::now());
    if request.through > today {
        return Err(RunError::NotEnded {
            through: request.through,
            today,
        });
    }
    Ok(settle_ended(conn, keys, actor, request)?)
}

/// The run itself, for a `through` date that has begun. The run row, once
/// made, is finished or marked interrupted on every way out.
fn settle_ended(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    request: RunRequest,
) -> QueryResult<Summary> {
    let interrupted = mark_interrupted(conn)?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "settlement runs left unfinished were marked interrupted"
        );
    }
    let mut summary = Summary::default();
    let outcome = settle_all(conn, keys, actor, request, &mut summary);
    if let Some(id) = summary.run {
        if outcome.is_err() {
            // Best effort: the next run marks it if this cannot.
            let _ = diesel::update(settlement_runs::table.find(id))
                .set(settlement_runs::interrupted_at.eq(diesel::dsl::now))
                .execute(conn);
        }
        let _ = db::advisory_unlock(conn, run_lock(id));
    }
    outcome.map(|()| summary)
}

/// Marks runs that are unfinished and whose lock nobody holds as interrupted;
/// returns how many.
#[tracing::instrument(skip_all)]
pub fn mark_interrupted(conn: &mut PgConnection) -> QueryResult<usize> {
    let unfinished: Vec<i64> = settlement_runs::table
        .filter(settlement_runs::finished_at.is_null())
        .filter(settlement_runs::interrupted_at.is_null())
        .select(settlement_runs::id)
        .load(conn)?;
    let mut marked = 0;
    for id in unfinished {
        if db::try_advisory_lock(conn, run_lock(id))? {
            marked += diesel::update(settlement_runs::table.find(id))
                .filter(settlement_runs::finished_at.is_null())
                .set(settlement_runs::interrupted_at.eq(diesel::dsl::now))
                .execute(conn)?;
            db::advisory_unlock(conn, run_lock(id))?;
        }
    }
    Ok(marked)
}

fn settle_all(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    request: RunRequest,
    summary: &mut Summary,
) -> QueryResult<()> {
    let merchant_ids: Vec<MerchantId> = match request.merchant_id {
        Some(id) => vec![id],
        None => merchants::table
            .order(merchants::id)
            .select(merchants::id)
            .load(conn)?,
    };
    let (mut payout, mut owed) = (0i64, 0i64);
    for merchant_id in merchant_ids {
        let periods = due_periods(conn, merchant_id, request.through)?;
        for period in periods {
            let run_id = if let Some(id) = summary.run {
                id
            } else {
                let id = start(conn, actor, request.trigger)?;
                summary.run = Some(id);
                id
            };
            match statement::settle(conn, keys, merchant_id, period, Some(run_id)) {
                Ok(settled) if !settled.replayed => {
                    summary.settled += 1;
                    let s = settled.statement;
                    if s.outcome == Outcome::Payout {
                        payout += s.paid_out().fen();
                    }
                    // A debt carried forward, whether or not a repayment was paid.
                    owed += (-s.carried.fen()).max(0);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(merchant_id = %merchant_id, error = %e, "settlement failed");
                    summary.exceptions.push(Exception {
                        merchant_id,
                        error: e.to_string(),
                    });
                    // Later periods build on this one: they wait for it.
                    break;
                }
            }
        }
    }
    if let Some(id) = summary.run {
        diesel::update(settlement_runs::table.find(id))
            .set((
                settlement_runs::finished_at.eq(crate::clock::now()),
                settlement_runs::settled.eq(i32::try_from(summary.settled).unwrap_or(i32::MAX)),
                settlement_runs::payout_fen.eq(payout),
                settlement_runs::owed_fen.eq(owed),
                settlement_runs::exceptions.eq(json!(summary.exceptions)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Records a run and takes its lock, which this connection holds until the
/// run ends or the process dies. The lock is taken before the row commits, so
/// no other run ever sees the row unlocked while this one lives.
fn start(conn: &mut PgConnection, actor: &Actor, trigger: Trigger) -> QueryResult<i64> {
    conn.transaction(|conn| {
        let id = diesel::insert_into(settlement_runs::table)
            .values((
                settlement_runs::trigger.eq(trigger),
                settlement_runs::started_by.eq(&actor.label),
                settlement_runs::started_at.eq(crate::clock::now()),
            ))
            .returning(settlement_runs::id)
            .get_result(conn)?;
        db::try_advisory_lock(conn, run_lock(id))?;
        Ok(id)
    })
}

/// The scheduler's pass: settles what ended by today, in the one process that
/// holds the settlement lease. Returns how many statements it made.
pub fn scheduled(conn: &mut PgConnection, keys: &Keys, holder: &str) -> QueryResult<usize> {
    if !lease::acquire(conn, LEASE, holder, LEASE_TTL)? {
        return Ok(0);
    }
    let outcome = settle_ended(
        conn,
        keys,
        &Actor::system("settlement scheduler"),
        RunRequest {
            trigger: Trigger::Schedule,
            merchant_id: None,
            through: shanghai::date_of(crate::clock::now()),
        },
    );
    lease::release(conn, LEASE, holder)?;
    Ok(outcome?.settled)
}
