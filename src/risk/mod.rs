//! Risk alerts: things operators should look at — a merchant's deposit shortfall,
//! abnormal earning (`earning`), abnormal redemption later. An alert is raised by
//! the domain that notices the risk, then acknowledged and resolved by operators
//! (or resolved by that domain once the risk is gone). An alert is about a
//! merchant, or about a member (at the merchant where it was noticed). At most
//! one alert of a kind is unresolved per merchant, and per member (two unique
//! indexes), so a risk that lasts is raised once, not on every check. Every
//! change is audited in the transaction that makes it.
//!
//! `summary` keeps the alert in the default language for exports and the audit
//! log; pages render it again in the reader's language from the catalog key
//! `risk.summary.<kind>`, filled from `details`: string fields as they are,
//! integer fields named `<name>_fen` as amounts of CNY under `<name>`, and other
//! integers as counts.

pub mod earning;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::risk_alerts,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        text_enum::text_enum,
    },
    error::{Class, Classify, Kind, Message, Refusal},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

text_enum! {
    pub enum AlertStatus {
        Open => "open",
        /// Someone is on it.
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = risk_alerts, check_for_backend(diesel::pg::Pg))]
pub struct RiskAlert {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub merchant_id: Option<MerchantId>,
    pub member_id: Option<MemberId>,
    pub summary: String,
    pub details: serde_json::Value,
    pub status: AlertStatus,
    pub handled_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RiskAlert {
    pub fn is_resolved(&self) -> bool {
        self.status == AlertStatus::Resolved
    }

    /// A string field of `details`, if there is one.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details.get(key).and_then(serde_json::Value::as_str)
    }
}

/// An alert about a merchant; raised with [`raise_for_member`], about one of the
/// members of that merchant.
#[derive(Debug, Clone)]
pub struct NewAlert {
    /// Dotted lowercase, e.g. `deposit.shortfall`.
    pub kind: &'static str,
    pub severity: Severity,
    pub merchant_id: MerchantId,
    pub summary: String,
    pub details: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    #[error("risk alert not found")]
    NotFound,
    #[error("this alert is already resolved")]
    AlreadyResolved,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for RiskError {
    fn class(&self) -> Class {
        let (kind, key) = match self {
            Self::NotFound => (Kind::NotFound, "error.not_found.text"),
            Self::AlreadyResolved => (Kind::Conflict, "risk.error.resolved"),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "risk_refused", Message::new(key)))
    }
}

/// Raises the alert unless one of its kind is already unresolved for the
/// merchant; returns it only when it was newly raised.
pub fn raise(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewAlert,
) -> QueryResult<Option<RiskAlert>> {
    insert(conn, actor, new, None)
}

/// Raises the alert about a member unless one of its kind is already unresolved
/// for that member (at any merchant); returns it only when it was newly raised.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn raise_for_member(
    conn: &mut PgConnection,
    actor: &Actor,
    member_id: MemberId,
    new: &NewAlert,
) -> QueryResult<Option<RiskAlert>> {
    insert(conn, actor, new, Some(member_id))
}

fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewAlert,
    member_id: Option<MemberId>,
) -> QueryResult<Option<RiskAlert>> {
    conn.transaction(|conn| {
        // The only unique constraints besides the key are "one unresolved per
        // kind and merchant" (merchant alerts) and "one unresolved per kind and
        // member" (member alerts), so a conflict means the risk is already on
        // the queue.
        let raised = diesel::insert_into(risk_alerts::table)
            .values((
                risk_alerts::kind.eq(new.kind),
                risk_alerts::severity.eq(new.severity.as_str()),
                risk_alerts::merchant_id.eq(new.merchant_id),
                risk_alerts::member_id.eq(member_id),
                risk_alerts::summary.eq(&new.summary),
                risk_alerts::details.eq(&new.details),
            ))
            .on_conflict_do_nothing()
            .returning(RiskAlert::as_returning())
            .get_result(conn)
            .optional()?;
        if let Some(alert) = &raised {
            audit::record(
                conn,
                actor,
                Change::new("risk.raise", "risk_alert", alert.id).after(alert),
            )?;
        }
        Ok(raised)
    })
}

/// Unresolved alerts by severity: (warnings, critical).
pub fn unresolved_counts(conn: &mut PgConnection) -> QueryResult<(i64, i64)> {
    let rows: Vec<(String, i64)> = risk_alerts::table
        .filter(risk_alerts::status.ne(AlertStatus::Resolved))
        .group_by(risk_alerts::severity)
        .select((risk_alerts::severity, diesel::dsl::count_star()))
        .load(conn)?;
    let count = |severity: Severity| {
        rows.iter()
            .find(|(s, _)| s == severity.as_str())
            .map_or(0, |(_, n)| *n)
    };
    Ok((count(Severity::Warning), count(Severity::Critical)))
}

/// The unresolved alert of a kind about a merchant, if any.
pub fn unresolved(
    conn: &mut PgConnection,
    kind: &str,
    merchant_id: MerchantId,
) -> QueryResult<Option<RiskAlert>> {
    risk_alerts::table
        .filter(risk_alerts::kind.eq(kind))
        .filter(risk_alerts::merchant_id.eq(merchant_id))
        .filter(risk_alerts::member_id.is_null())
        .filter(risk_alerts::status.ne(AlertStatus::Resolved))
        .select(RiskAlert::as_select())
        .first(conn)
        .optional()
}

/// The unresolved alert of a kind about a member, if any.
pub fn unresolved_for_member(
    conn: &mut PgConnection,
    kind: &str,
    member_id: MemberId,
) -> QueryResult<Option<RiskAlert>> {
    risk_alerts::table
        .filter(risk_alerts::kind.eq(kind))
        .filter(risk_alerts::member_id.eq(member_id))
        .filter(risk_alerts::status.ne(AlertStatus::Resolved))
        .select(RiskAlert::as_select())
        .first(conn)
        .optional()
}

/// Every unresolved alert of a kind, oldest first.
pub fn unresolved_of_kind(conn: &mut PgConnection, kind: &str) -> QueryResult<Vec<RiskAlert>> {
    risk_alerts::table
        .filter(risk_alerts::kind.eq(kind))
        .filter(risk_alerts::status.ne(AlertStatus::Resolved))
        .order(risk_alerts::id)
        .select(RiskAlert::as_select())
        .load(conn)
}

/// The areas alerts come from: the first part of their kind (`earn.velocity` is
/// of the `earn` family).
pub const FAMILIES: &[&str] = &["deposit", "earn"];

/// Which alerts the queue shows, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Open or acknowledged: the work still to do.
    #[default]
    Unresolved,
    Open,
    Acknowledged,
    Resolved,
    All,
}

impl StatusFilter {
    pub const ALL: [Self; 5] = [
        Self::Unresolved,
        Self::Open,
        Self::Acknowledged,
        Self::Resolved,
        Self::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unresolved => "unresolved",
            Self::Open => AlertStatus::Open.as_str(),
            Self::Acknowledged => AlertStatus::Acknowledged.as_str(),
            Self::Resolved => AlertStatus::Resolved.as_str(),
            Self::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What the queue shows.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub status: StatusFilter,
    /// One of [`FAMILIES`]; None for every kind.
    pub family: Option<&'static str>,
}

/// The alert queue, newest first.
pub fn list(
    conn: &mut PgConnection,
    filter: &AlertFilter,
    limit: i64,
) -> QueryResult<Vec<RiskAlert>> {
    let mut query = risk_alerts::table
        .select(RiskAlert::as_select())
        .into_boxed();
    query = match filter.status {
        StatusFilter::Unresolved => query.filter(risk_alerts::status.ne(AlertStatus::Resolved)),
        StatusFilter::All => query,
        status => query.filter(risk_alerts::status.eq(status.as_str())),
    };
    if let Some(family) = filter.family {
        // Families are fixed lowercase words, so the pattern needs no escaping.
        query = query.filter(risk_alerts::kind.like(format!("{family}.%")));
    }
    query.order(risk_alerts::id.desc()).limit(limit).load(conn)
}

/// Someone is on it. Acknowledging twice changes nothing more.
pub fn acknowledge(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<RiskAlert, RiskError> {
    change(conn, actor, id, "risk.acknowledge", |alert| {
        (alert.status == AlertStatus::Open)
            .then_some((AlertStatus::Acknowledged, Some(actor.label.clone())))
    })
}

/// The risk is handled; the same risk may be raised again afterwards.
pub fn resolve(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<RiskAlert, RiskError> {
    change(conn, actor, id, "risk.resolve", |_| {
        Some((AlertStatus::Resolved, Some(actor.label.clone())))
    })
}

/// Resolves the unresolved alert of a kind about a merchant, if there is one: for
/// the domain that raised it, once the risk is gone.
pub fn resolve_unresolved(
    conn: &mut PgConnection,
    actor: &Actor,
    kind: &str,
    merchant_id: MerchantId,
) -> Result<Option<RiskAlert>, RiskError> {
    conn.transaction(|conn| match unresolved(conn, kind, merchant_id)? {
        Some(alert) => resolve(conn, actor, alert.id).map(Some),
        None => Ok(None),
    })
}

/// Merges `patch` into an unresolved alert's details, for the raising domain's own
/// bookkeeping (such as whether the merchant has been told).
#[tracing::instrument(skip_all, fields(id = %id))]
pub fn annotate(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    patch: &serde_json::Value,
) -> Result<RiskAlert, RiskError> {
    conn.transaction(|conn| {
        let before = locked(conn, id)?;
        let mut details = before.details.clone();
        if let (Some(details), Some(patch)) = (details.as_object_mut(), patch.as_object()) {
            details.extend(patch.clone());
        }
        let after: RiskAlert = diesel::update(risk_alerts::table.find(id))
            .set((
                risk_alerts::details.eq(&details),
                risk_alerts::updated_at.eq(diesel::dsl::now),
            ))
            .returning(RiskAlert::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("risk.annotate", "risk_alert", id)
                .before(&before.details)
                .after(&after.details),
        )?;
        Ok(after)
    })
}

fn locked(conn: &mut PgConnection, id: i64) -> Result<RiskAlert, RiskError> {
    risk_alerts::table
        .find(id)
        .select(RiskAlert::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(RiskError::NotFound)
}

/// Moves an unresolved alert to the status `next` picks (None: nothing to do)
/// and audits it, in one transaction.
fn change(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    action: &'static str,
    next: impl FnOnce(&RiskAlert) -> Option<(AlertStatus, Option<String>)>,
) -> Result<RiskAlert, RiskError> {
    conn.transaction(|conn| {
        let before = locked(conn, id)?;
        if before.is_resolved() {
            return Err(RiskError::AlreadyResolved);
        }
        let Some((status, handled_by)) = next(&before) else {
            return Ok(before);
        };
        let after: RiskAlert = diesel::update(risk_alerts::table.find(id))
            .set((
                risk_alerts::status.eq(status),
                risk_alerts::handled_by.eq(handled_by),
                risk_alerts::updated_at.eq(diesel::dsl::now),
            ))
            .returning(RiskAlert::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new(action, "risk_alert", id)
                .before(before.status)
                .after(&after),
        )?;
        Ok(after)
    })
}
