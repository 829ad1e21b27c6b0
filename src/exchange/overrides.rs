//! Manual overrides (人工干预): an operator pins a program's sell and buy values
//! for a time window, with a reason. The values must keep `sell ≤ settlement
//! value ≤ buy` (the rule that makes every exchange value-non-increasing, see
//! `model`) and stay inside the band. An override within `override_review_bp` of the model is in
//! force at once; further away it waits for a second operator (maker-checker,
//! `approval` kind `exchange.rate_override`), whose approval activates it. An
//! operator may cancel an override that is pending or in force. Every step is
//! audited; `rates::current` picks the newest active override covering now.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    approval::{
        self, ActionFailed, Approval, ApprovalError, ApprovalStatus, NewApproval, Policy, Registry,
        Scope,
    },
    audit::{self, Change},
    db::schema::{approvals, rate_overrides},
    domain::{actor::Actor, rate::Rate, text_enum::text_enum},
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
    program,
};

use super::{model, policy, rates};

/// The approval kind, registered with `activate` at start-up.
pub const APPROVAL_KIND: &str = "exchange.rate_override";
/// Who may make and approve overrides (`OperatorRole` names).
pub const OVERRIDERS: &[&str] = &["admin", "operator"];
/// The longest window one override may pin.
pub const MAX_WINDOW_DAYS: i64 = 90;
const MAX_REASON_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = rate_overrides, check_for_backend(diesel::pg::Pg))]
pub struct RateOverride {
    pub id: i64,
    pub program_code: String,
    pub sell_value: Decimal,
    pub buy_value: Decimal,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub model_sell: Decimal,
    pub model_buy: Decimal,
    pub distance_bp: i32,
    pub status: OverrideStatus,
    pub approval_id: Option<i64>,
    pub requested_by: String,
    pub cancelled_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What an operator asks for.
#[derive(Debug, Clone)]
pub struct NewOverride {
    pub program_code: String,
    pub sell: Rate,
    pub buy: Rate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error("no such program")]
    UnknownProgram,
    #[error("the buy value must not be below the sell value")]
    BuyBelowSell,
    #[error(
        "the sell value must not exceed, and the buy value not fall below, the settlement value {settlement}"
    )]
    CrossesSettlement { settlement: Rate },
    #[error("the values must stay within the band {low} – {high}")]
    OutsideBand { low: Rate, high: Rate },
    #[error("the window must end after it starts, in the future, within {MAX_WINDOW_DAYS} days")]
    InvalidWindow,
    #[error("a reason of 1 to {MAX_REASON_CHARS} characters is required")]
    InvalidReason,
    #[error("no such override")]
    NotFound,
    #[error("the override has already ended or been cancelled")]
    NotCancellable,
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for OverrideError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, message) = match self {
            Self::UnknownProgram => (
                NotFound,
                Message::new("exchange.override.error.unknown_program"),
            ),
            Self::BuyBelowSell => (
                Unprocessable,
                Message::new("exchange.override.error.buy_below_sell"),
            ),
            Self::CrossesSettlement { settlement } => (
                Unprocessable,
                Message::new("exchange.override.error.crosses_settlement")
                    .arg("settlement", settlement),
            ),
            Self::OutsideBand { low, high } => (
                Unprocessable,
                Message::new("exchange.override.error.outside_band")
                    .arg("low", low)
                    .arg("high", high),
            ),
            Self::InvalidWindow => (
                Unprocessable,
                Message::new("exchange.override.error.window").arg("days", MAX_WINDOW_DAYS),
            ),
            Self::InvalidReason => (
                Unprocessable,
                Message::new("exchange.override.error.reason"),
            ),
            Self::NotFound => (NotFound, Message::new("exchange.override.error.not_found")),
            Self::NotCancellable => (
                Conflict,
                Message::new("exchange.override.error.not_cancellable"),
            ),
            Self::Approval(_) | Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "override_refused", message))
    }
}

/// Whether the request went into force or waits for a checker.
#[derive(Debug, Clone)]
pub struct Requested {
    pub pinned: RateOverride,
    pub approval: Option<Approval>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    override_id: i64,
}

/// Files an override; in force at once when close to the model.
#[tracing::instrument(skip_all)]
pub fn request(
    conn: &mut PgConnection,
    maker: &Actor,
    new: &NewOverride,
    approval_policy: Policy,
    registry: &Registry,
) -> Result<Requested, OverrideError> {
    let reason = new.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(OverrideError::InvalidReason);
    }
    if new.buy < new.sell {
        return Err(OverrideError::BuyBelowSell);
    }
    let now = crate::clock::now();
    if new.ends_at <= new.starts_at
        || new.ends_at <= now
        || new.ends_at - new.starts_at > Duration::days(MAX_WINDOW_DAYS)
    {
        return Err(OverrideError::InvalidWindow);
    }
    conn.transaction(|conn| {
        let program =
            program::by_code(conn, &new.program_code)?.ok_or(OverrideError::UnknownProgram)?;
        let exchange_policy = policy::current(conn)?;
        let current = rates::current(conn, &program)?;
        if !model::brackets(current.settlement, new.sell, new.buy) {
            return Err(OverrideError::CrossesSettlement {
                settlement: current.settlement,
            });
        }
        let (low, high) = model::band(current.settlement, exchange_policy.band_bp);
        if new.sell < low || new.buy > high {
            return Err(OverrideError::OutsideBand { low, high });
        }
        let distance_bp =
            model::distance_bp(new.sell, new.buy, current.model.sell, current.model.buy);
        let needs_checker = distance_bp > exchange_policy.override_review_bp;
        let mut pinned: RateOverride = diesel::insert_into(rate_overrides::table)
            .values((
                rate_overrides::program_code.eq(&program.code),
                rate_overrides::sell_value.eq(new.sell.as_decimal()),
                rate_overrides::buy_value.eq(new.buy.as_decimal()),
                rate_overrides::starts_at.eq(new.starts_at),
                rate_overrides::ends_at.eq(new.ends_at),
                rate_overrides::reason.eq(reason),
                rate_overrides::model_sell.eq(current.model.sell.as_decimal()),
                rate_overrides::model_buy.eq(current.model.buy.as_decimal()),
                rate_overrides::distance_bp.eq(distance_bp),
                rate_overrides::status.eq(if needs_checker {
                    OverrideStatus::Pending
                } else {
                    OverrideStatus::Active
                }),
                rate_overrides::requested_by.eq(&maker.label),
            ))
            .returning(RateOverride::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            maker,
            Change::new("exchange.override_request", "rate_override", pinned.id).after(&pinned),
        )?;
        let approval = if needs_checker {
            let approval = approval::request(
                conn,
                maker,
                &NewApproval {
                    kind: APPROVAL_KIND,
                    scope: Scope::Platform,
                    payload: serde_json::to_value(Payload {
                        override_id: pinned.id,
                    })
                    .expect("a payload serializes"),
                    summary: format!(
                        "{} {}/{} ({} bp) {} – {}",
                        program.code,
                        new.sell,
                        new.buy,
                        distance_bp,
                        new.starts_at.format("%Y-%m-%d %H:%M"),
                        new.ends_at.format("%Y-%m-%d %H:%M"),
                    ),
                    amount: None,
                    approver_roles: OVERRIDERS,
                },
                approval_policy,
                registry,
            )?;
            pinned = diesel::update(rate_overrides::table.find(pinned.id))
                .set(rate_overrides::approval_id.eq(approval.id))
                .returning(RateOverride::as_returning())
                .get_result(conn)?;
            Some(approval)
        } else {
            None
        };
        Ok(Requested { pinned, approval })
    })
}

/// The approved action: puts a pending override in force.
#[tracing::instrument(skip_all)]
pub fn activate(
    conn: &mut PgConnection,
    approval: &Approval,
    checker: &Actor,
) -> Result<String, ActionFailed> {
    let locale = Locale::default();
    let payload: Payload = serde_json::from_value(approval.payload.clone())
        .map_err(|_| ActionFailed(locale.t("exchange.override.outcome.failed").into_owned()))?;
    let before: RateOverride = rate_overrides::table
        .find(payload.override_id)
        .select(RateOverride::as_select())
        .for_update()
        .first(conn)?;
    if before.status != OverrideStatus::Pending {
        return Err(ActionFailed(
            locale
                .t("exchange.override.error.not_cancellable")
                .into_owned(),
        ));
    }
    let after: RateOverride = diesel::update(rate_overrides::table.find(before.id))
        .set(rate_overrides::status.eq(OverrideStatus::Active))
        .returning(RateOverride::as_returning())
        .get_result(conn)?;
    audit::record(
        conn,
        checker,
        Change::new("exchange.override_activate", "rate_override", after.id)
            .before(&before)
            .after(&after),
    )?;
    Ok(locale.t("exchange.override.outcome.active").into_owned())
}

/// Ends an override that is pending or in force, now.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn cancel(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<RateOverride, OverrideError> {
    conn.transaction(|conn| {
        let before: RateOverride = rate_overrides::table
            .find(id)
            .select(RateOverride::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(OverrideError::NotFound)?;
        if !matches!(
            before.status,
            OverrideStatus::Pending | OverrideStatus::Active
        ) || before.ends_at <= crate::clock::now()
        {
            return Err(OverrideError::NotCancellable);
        }
        let after: RateOverride = diesel::update(rate_overrides::table.find(id))
            .set((
                rate_overrides::status.eq(OverrideStatus::Cancelled),
                rate_overrides::cancelled_by.eq(&actor.label),
            ))
            .returning(RateOverride::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("exchange.override_cancel", "rate_override", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// An override as the platform lists it, with its approval's state.
#[derive(Debug, Clone)]
pub struct Listed {
    pub pinned: RateOverride,
    pub approval_status: Option<ApprovalStatus>,
}

impl Listed {
    /// `active`, `scheduled`, `ended`, `cancelled`, or while pending its
    /// approval's state: `pending`, `rejected` or `failed`.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        match self.pinned.status {
            OverrideStatus::Active if self.pinned.ends_at <= now => "ended",
            OverrideStatus::Active if self.pinned.starts_at > now => "scheduled",
            OverrideStatus::Pending => self
                .approval_status
                .map_or(OverrideStatus::Pending.as_str(), ApprovalStatus::as_str),
            other => other.as_str(),
        }
    }
}

text_enum! {
    pub enum OverrideStatus {
        Pending => "pending",
        Active => "active",
        /// Not used while the approval says so.
        Rejected => "rejected",
        Cancelled => "cancelled",
    }
}

/// A program's overrides (or every program's), newest first.
pub fn list(
    conn: &mut PgConnection,
    program_code: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    let mut query = rate_overrides::table
        .left_join(approvals::table)
        .select((RateOverride::as_select(), approvals::status.nullable()))
        .into_boxed();
    if let Some(code) = program_code {
        query = query.filter(rate_overrides::program_code.eq(code.to_owned()));
    }
    Ok(query
        .order(rate_overrides::id.desc())
        .limit(limit)
        .load::<(RateOverride, Option<ApprovalStatus>)>(conn)?
        .into_iter()
        .map(|(pinned, approval_status)| Listed {
            pinned,
            approval_status,
        })
        .collect())
}
