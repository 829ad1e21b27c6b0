//! Publishing the model's rates and reading the rate in force.
//!
//! A publication runs the model (`model::values`) for every program over the
//! trailing flow window and stores each program's values with the inputs that
//! produced them (settlement value, inflow, outflow, shift) and the policy it
//! ran under, so any published rate can be explained later. The rate in force
//! for a program is its active override if one covers now, else its latest
//! published values, else — for a program the model has not yet seen — the
//! model at zero flow. Whichever it is, its values are taken through the rule
//! `sell ≤ settlement value ≤ buy` (`model::bracket`) when read, so a row
//! published before the rule, or an override approved before the settlement
//! value changed, can never price an exchange across it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::{exchanges, program_rates, rate_overrides, rate_publications},
    domain::{actor::Actor, rate::Rate, text_enum::text_enum},
    program::{self, Program},
};

use super::{
    model::{self, Flow, ModelValues},
    overrides::OverrideStatus,
    policy::{self, ExchangePolicy},
};

text_enum! {
    /// What started a publication.
    pub enum Trigger {
        Schedule => "schedule",
        OnDemand => "on_demand",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = rate_publications, check_for_backend(diesel::pg::Pg))]
pub struct Publication {
    pub id: i64,
    pub trigger: Trigger,
    pub published_by: String,
    pub policy: serde_json::Value,
    pub window_start: DateTime<Utc>,
    pub published_at: DateTime<Utc>,
}

/// One program's values in one publication, with their inputs.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = program_rates, check_for_backend(diesel::pg::Pg))]
pub struct ProgramRate {
    pub publication_id: i64,
    pub program_code: String,
    pub settlement_value: Decimal,
    pub inflow_fen: i64,
    pub outflow_fen: i64,
    pub shift_bp: i32,
    pub mid_value: Decimal,
    pub sell_value: Decimal,
    pub buy_value: Decimal,
}

impl ProgramRate {
    pub fn flow(&self) -> Flow {
        Flow {
            inflow_fen: self.inflow_fen,
            outflow_fen: self.outflow_fen,
        }
    }
}

/// Runs the model for every program and stores what it published.
#[tracing::instrument(skip_all)]
pub fn publish(
    conn: &mut PgConnection,
    trigger: Trigger,
    actor: &Actor,
) -> QueryResult<Publication> {
    conn.transaction(|conn| {
        let policy = policy::current(conn)?;
        let now = crate::clock::now();
        let window_start = now - Duration::hours(i64::from(policy.flow_window_hours));
        let flows = flows_since(conn, window_start)?;
        let publication: Publication = diesel::insert_into(rate_publications::table)
            .values((
                rate_publications::trigger.eq(trigger),
                rate_publications::published_by.eq(&actor.label),
                rate_publications::policy
                    .eq(serde_json::to_value(policy).expect("a policy serializes")),
                rate_publications::window_start.eq(window_start),
                rate_publications::published_at.eq(now),
            ))
            .returning(Publication::as_returning())
            .get_result(conn)?;
        let mut rows = Vec::new();
        for program in program::all(conn)? {
            let Ok(settlement) = Rate::new(program.settlement_value) else {
                continue;
            };
            let flow = flows.get(&program.code).copied().unwrap_or_default();
            let values = model::values(settlement, flow, &policy.model());
            rows.push((
                program_rates::publication_id.eq(publication.id),
                program_rates::program_code.eq(program.code),
                program_rates::settlement_value.eq(settlement.as_decimal()),
                program_rates::inflow_fen.eq(flow.inflow_fen),
                program_rates::outflow_fen.eq(flow.outflow_fen),
                program_rates::shift_bp.eq(values.shift_bp),
                program_rates::mid_value.eq(values.mid.as_decimal()),
                program_rates::sell_value.eq(values.sell.as_decimal()),
                program_rates::buy_value.eq(values.buy.as_decimal()),
            ));
        }
        diesel::insert_into(program_rates::table)
            .values(&rows)
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("exchange.rates_publish", "rate_publication", publication.id)
                .after(&publication),
        )?;
        Ok(publication)
    })
}

/// CNY into and out of each program by exchanges since `since`.
pub fn flows_since(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
) -> QueryResult<HashMap<String, Flow>> {
    let inflows: Vec<(String, Option<Decimal>)> = exchanges::table
        .filter(exchanges::created_at.ge(since))
        .group_by(exchanges::to_program)
        .select((
            exchanges::to_program,
            diesel::dsl::sum(exchanges::credit_fen),
        ))
        .load(conn)?;
    let outflows: Vec<(String, Option<Decimal>)> = exchanges::table
        .filter(exchanges::created_at.ge(since))
        .group_by(exchanges::from_program)
        .select((
            exchanges::from_program,
            diesel::dsl::sum(exchanges::value_out_fen),
        ))
        .load(conn)?;
    let mut flows: HashMap<String, Flow> = HashMap::new();
    for (code, sum) in inflows {
        flows.entry(code).or_default().inflow_fen = sum_i64(sum);
    }
    for (code, sum) in outflows {
        flows.entry(code).or_default().outflow_fen = sum_i64(sum);
    }
    Ok(flows)
}

/// A SUM of bigints, which PostgreSQL returns as numeric; nothing summed is 0.
pub(super) fn sum_i64(sum: Option<Decimal>) -> i64 {
    sum.and_then(|s| i64::try_from(s).ok()).unwrap_or(0)
}

/// Where the rate in force comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// The latest publication.
    Model { publication_id: i64 },
    /// An operator's override, until `ends_at`.
    Override {
        override_id: i64,
        ends_at: DateTime<Utc>,
    },
    /// No publication has included the program yet: the model at zero flow.
    Unpublished,
}

/// A program's values now, and why.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentRate {
    pub program_code: String,
    pub settlement: Rate,
    /// The values in force: `sell ≤ settlement ≤ buy`.
    pub sell: Rate,
    pub buy: Rate,
    /// What the model says now, override or not (taken through the rule).
    pub model: ModelValues,
    /// The inputs behind `model`, when it was published.
    pub published: Option<ProgramRate>,
    pub source: Source,
    pub band: (Rate, Rate),
}

/// The rate in force for one program.
pub fn current(conn: &mut PgConnection, program: &Program) -> QueryResult<CurrentRate> {
    let policy = policy::current(conn)?;
    let published = latest(conn, std::slice::from_ref(&program.code))?
        .into_values()
        .next();
    let overrides = active_overrides(conn, std::slice::from_ref(&program.code))?;
    Ok(in_force(program, &policy, published, &overrides))
}

/// The rates in force for every program, in program order.
pub fn current_all(conn: &mut PgConnection) -> QueryResult<Vec<CurrentRate>> {
    let policy = policy::current(conn)?;
    let programs = program::all(conn)?;
    let codes: Vec<String> = programs.iter().map(|p| p.code.clone()).collect();
    let mut published = latest(conn, &codes)?;
    let overrides = active_overrides(conn, &codes)?;
    Ok(programs
        .iter()
        .map(|p| in_force(p, &policy, published.remove(&p.code), &overrides))
        .collect())
}

fn in_force(
    program: &Program,
    policy: &ExchangePolicy,
    published: Option<ProgramRate>,
    overrides: &[ActiveOverride],
) -> CurrentRate {
    // The table's CHECK keeps a settlement value positive, which is all Rate needs.
    let settlement = Rate::new(program.settlement_value).expect("a positive settlement value");
    let model = match &published {
        Some(row) => {
            let (sell, buy) = model::bracket(settlement, rate(row.sell_value), rate(row.buy_value));
            ModelValues {
                shift_bp: row.shift_bp,
                mid: rate(row.mid_value),
                sell,
                buy,
            }
        }
        None => model::values(settlement, Flow::default(), &policy.model()),
    };
    let pinned = overrides.iter().find(|o| o.program_code == program.code);
    let (sell, buy, source) = match (pinned, &published) {
        (Some(o), _) => {
            let (sell, buy) = model::bracket(settlement, rate(o.sell_value), rate(o.buy_value));
            (
                sell,
                buy,
                Source::Override {
                    override_id: o.id,
                    ends_at: o.ends_at,
                },
            )
        }
        (None, Some(row)) => (
            model.sell,
            model.buy,
            Source::Model {
                publication_id: row.publication_id,
            },
        ),
        (None, None) => (model.sell, model.buy, Source::Unpublished),
    };
    CurrentRate {
        program_code: program.code.clone(),
        settlement,
        sell,
        buy,
        model,
        published,
        source,
        band: model::band(settlement, policy.band_bp),
    }
}

/// The tables' CHECKs keep stored values positive, with 6 decimals.
fn rate(value: Decimal) -> Rate {
    Rate::new(value).expect("stored values are positive")
}

/// Each program's row in its latest publication.
fn latest(conn: &mut PgConnection, codes: &[String]) -> QueryResult<HashMap<String, ProgramRate>> {
    let rows: Vec<ProgramRate> = program_rates::table
        .filter(program_rates::program_code.eq_any(codes))
        .order((
            program_rates::program_code,
            program_rates::publication_id.desc(),
        ))
        .distinct_on(program_rates::program_code)
        .select(ProgramRate::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.program_code.clone(), row))
        .collect())
}

#[derive(Debug, Clone, Queryable)]
struct ActiveOverride {
    id: i64,
    program_code: String,
    sell_value: Decimal,
    buy_value: Decimal,
    ends_at: DateTime<Utc>,
}

/// Active overrides covering now, newest first: the newest wins.
fn active_overrides(conn: &mut PgConnection, codes: &[String]) -> QueryResult<Vec<ActiveOverride>> {
    let now = crate::clock::now();
    rate_overrides::table
        .filter(rate_overrides::program_code.eq_any(codes))
        .filter(rate_overrides::status.eq(OverrideStatus::Active))
        .filter(rate_overrides::starts_at.le(now))
        .filter(rate_overrides::ends_at.gt(now))
        .order(rate_overrides::id.desc())
        .select((
            rate_overrides::id,
            rate_overrides::program_code,
            rate_overrides::sell_value,
            rate_overrides::buy_value,
            rate_overrides::ends_at,
        ))
        .load(conn)
}

/// A program's published values over time, oldest first, with when each was
/// published: the rate history chart.
pub fn history(
    conn: &mut PgConnection,
    code: &str,
    since: DateTime<Utc>,
) -> QueryResult<Vec<(DateTime<Utc>, ProgramRate)>> {
    program_rates::table
        .inner_join(rate_publications::table)
        .filter(program_rates::program_code.eq(code))
        .filter(rate_publications::published_at.ge(since))
        .order(rate_publications::published_at.asc())
        .select((rate_publications::published_at, ProgramRate::as_select()))
        .load(conn)
}

/// One publication, for explaining a rate it published.
pub fn publication(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Publication>> {
    rate_publications::table
        .find(id)
        .select(Publication::as_select())
        .first(conn)
        .optional()
}

/// How many programs a publication priced.
pub fn programs_in(conn: &mut PgConnection, publication_id: i64) -> QueryResult<usize> {
    let count: i64 = program_rates::table
        .filter(program_rates::publication_id.eq(publication_id))
        .count()
        .get_result(conn)?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// The newest publications, for the platform's list.
pub fn recent_publications(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Publication>> {
    rate_publications::table
        .order(rate_publications::id.desc())
        .limit(limit)
        .select(Publication::as_select())
        .load(conn)
}
