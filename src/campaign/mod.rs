//! Cross-merchant points campaigns (积分活动): extra points for purchases at
//! chosen merchants in a time window — a multiplier ("10x points") and/or
//! tiered bonuses by spend — paid from a budget in CNY, the cost split between
//! the house and the merchant.
//!
//! **The budget is exact under concurrency.** An earn locks the campaign row,
//! takes what fits of what is left (`earn::rule::fit_budget`), and raises
//! `spent_fen` in the same transaction as the ledger entry that issues the
//! points; a CHECK keeps `spent_fen <= budget_fen` whatever the code does. So
//! concurrent earns queue on the row and the last ones get what remains, then
//! nothing.
//!
//! **Who pays.** The bonus points are the merchant's points (its liability,
//! like any it issues); the house's share of their value is paid to the
//! merchant in the earn entry: `house:campaigns → merchant:m:settlement`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    db::schema::{campaign_merchants, campaigns},
    earn::rule::SpendStep,
    i18n::Locale,
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = campaigns, check_for_backend(diesel::pg::Pg))]
pub struct Campaign {
    pub id: i64,
    pub name_zh: String,
    pub name_en: String,
    pub multiplier: Decimal,
    pub spend_steps: serde_json::Value,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub budget_fen: i64,
    pub spent_fen: i64,
    pub house_share_bp: i32,
    /// `active`, `paused` or `ended`.
    pub status: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Campaign {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }

    /// The spend steps; the column is written only from validated steps.
    pub fn steps(&self) -> Vec<SpendStep> {
        serde_json::from_value(self.spend_steps.clone()).unwrap_or_default()
    }

    pub fn remaining_fen(&self) -> i64 {
        self.budget_fen - self.spent_fen
    }
}

/// Active campaigns that include the merchant and whose window holds `at`,
/// oldest first (the order bonuses are applied in), locked until the end of
/// the transaction so their budgets can be charged exactly.
pub fn running_for_update(
    conn: &mut PgConnection,
    merchant_id: i64,
    at: DateTime<Utc>,
) -> QueryResult<Vec<Campaign>> {
    campaigns::table
        .filter(campaigns::status.eq("active"))
        .filter(campaigns::starts_at.le(at))
        .filter(campaigns::ends_at.gt(at))
        .filter(campaigns::spent_fen.lt(campaigns::budget_fen))
        .filter(
            campaigns::id.eq_any(
                campaign_merchants::table
                    .filter(campaign_merchants::merchant_id.eq(merchant_id))
                    .select(campaign_merchants::campaign_id),
            ),
        )
        .order(campaigns::id)
        .select(Campaign::as_select())
        .for_update()
        .load(conn)
}

/// Charges `cost_fen` to a campaign locked by `running_for_update`.
pub fn charge(conn: &mut PgConnection, campaign_id: i64, cost_fen: i64) -> QueryResult<()> {
    diesel::update(campaigns::table.find(campaign_id))
        .set(campaigns::spent_fen.eq(campaigns::spent_fen + cost_fen))
        .execute(conn)
        .map(drop)
}
