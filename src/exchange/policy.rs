//! The platform's exchange policy: the rate model's knobs, how long a quote
//! lasts, when an override needs a second operator, and from what value a
//! member must be real-name verified. One row, changed by operators, audited.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    audit::{self, Change},
    db::schema::exchange_policy,
    domain::{actor::Actor, money::Money},
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::model::ModelPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = exchange_policy, check_for_backend(diesel::pg::Pg))]
pub struct ExchangePolicy {
    pub band_bp: i32,
    pub flow_sensitivity_bp: i32,
    pub value_margin_bp: i32,
    pub flow_window_hours: i32,
    pub flow_floor_fen: i64,
    pub quote_ttl_seconds: i32,
    pub override_review_bp: i32,
    pub real_name_threshold_fen: i64,
}

/// A policy field out of its range, named as its form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is out of range")]
pub struct OutOfRange(pub &'static str);

impl OutOfRange {
    /// The form field, named as the operator sees it: amounts in yuan lose
    /// the `_fen` of their column.
    pub fn form_field(self) -> &'static str {
        self.0.strip_suffix("_fen").unwrap_or(self.0)
    }
}

impl ExchangePolicy {
    pub fn model(&self) -> ModelPolicy {
        ModelPolicy {
            band_bp: self.band_bp,
            flow_sensitivity_bp: self.flow_sensitivity_bp,
            value_margin_bp: self.value_margin_bp,
            flow_floor_fen: self.flow_floor_fen,
        }
    }

    pub fn real_name_threshold(&self) -> Money {
        Money::from_fen(self.real_name_threshold_fen)
    }

    /// The first field outside the range the table's CHECKs allow.
    pub fn validate(&self) -> Result<(), OutOfRange> {
        let checks: [(&'static str, bool); 8] = [
            ("band_bp", (0..=5000).contains(&self.band_bp)),
            (
                "flow_sensitivity_bp",
                (0..=10_000).contains(&self.flow_sensitivity_bp),
            ),
            (
                "value_margin_bp",
                (0..=2000).contains(&self.value_margin_bp),
            ),
            (
                "flow_window_hours",
                (1..=2160).contains(&self.flow_window_hours),
            ),
            ("flow_floor_fen", self.flow_floor_fen > 0),
            (
                "quote_ttl_seconds",
                (10..=600).contains(&self.quote_ttl_seconds),
            ),
            (
                "override_review_bp",
                (0..=5000).contains(&self.override_review_bp),
            ),
            ("real_name_threshold_fen", self.real_name_threshold_fen > 0),
        ];
        match checks.into_iter().find(|(_, ok)| !ok) {
            Some((field, _)) => Err(OutOfRange(field)),
            None => Ok(()),
        }
    }
}

pub fn current(conn: &mut PgConnection) -> QueryResult<ExchangePolicy> {
    exchange_policy::table
        .select(ExchangePolicy::as_select())
        .first(conn)
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for PolicyError {
    fn class(&self) -> Class {
        match self {
            Self::OutOfRange(out) => Class::Refusal(Refusal::new(
                Kind::Unprocessable,
                "policy_out_of_range",
                Message::new(format!(
                    "platform_exchange.policy.error.{}",
                    out.form_field()
                )),
            )),
            Self::Database(_) => Class::System,
        }
    }
}

/// Replaces the policy; takes effect at the next publication and quote.
#[tracing::instrument(skip_all)]
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &ExchangePolicy,
) -> Result<ExchangePolicy, PolicyError> {
    new.validate()?;
    conn.transaction(|conn| {
        let before = exchange_policy::table
            .select(ExchangePolicy::as_select())
            .for_update()
            .first(conn)?;
        let after = diesel::update(exchange_policy::table)
            .set((
                exchange_policy::band_bp.eq(new.band_bp),
                exchange_policy::flow_sensitivity_bp.eq(new.flow_sensitivity_bp),
                exchange_policy::value_margin_bp.eq(new.value_margin_bp),
                exchange_policy::flow_window_hours.eq(new.flow_window_hours),
                exchange_policy::flow_floor_fen.eq(new.flow_floor_fen),
                exchange_policy::quote_ttl_seconds.eq(new.quote_ttl_seconds),
                exchange_policy::override_review_bp.eq(new.override_review_bp),
                exchange_policy::real_name_threshold_fen.eq(new.real_name_threshold_fen),
                exchange_policy::updated_at.eq(crate::clock::now()),
            ))
            .returning(ExchangePolicy::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("exchange.policy_update", "exchange_policy", "1")
                .before(before)
                .after(after),
        )?;
        Ok(after)
    })
}

/// When the policy last changed, for the settings page.
pub fn updated_at(conn: &mut PgConnection) -> QueryResult<DateTime<Utc>> {
    exchange_policy::table
        .select(exchange_policy::updated_at)
        .first(conn)
}
