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
//!
//! Operators create campaigns and pause, resume or end them (`create`,
//! `set_status`), every change audited.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    audit::{self, Change},
    db::schema::{campaign_merchants, campaigns, merchants},
    domain::{actor::Actor, id::MerchantId, money::Money, text_enum::text_enum},
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
    merchant::{Merchant, standing},
};

/// A spend step of a campaign: from `min_fen` spent, `bonus_points` more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendStep {
    pub min_fen: i64,
    pub bonus_points: i64,
}

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
    pub status: Status,
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
    merchant_id: MerchantId,
    at: DateTime<Utc>,
) -> QueryResult<Vec<Campaign>> {
    campaigns::table
        .filter(campaigns::status.eq(Status::Active))
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
#[tracing::instrument(skip_all, fields(campaign_id = campaign_id))]
pub fn charge(conn: &mut PgConnection, campaign_id: i64, cost_fen: i64) -> QueryResult<()> {
    diesel::update(campaigns::table.find(campaign_id))
        .set(campaigns::spent_fen.eq(campaigns::spent_fen + cost_fen))
        .execute(conn)
        .map(drop)
}

/// Longest campaign name, in characters.
const MAX_NAME_CHARS: usize = 60;
/// The highest multiplier a campaign may give: beyond it is a typo.
const MAX_MULTIPLIER: i64 = 100;

/// A campaign as an operator sets it up, parsed from the form.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name_zh: String,
    pub name_en: String,
    /// 1 is no multiplier; 10 is "10x points".
    pub multiplier: Decimal,
    pub steps: Vec<SpendStep>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub merchant_ids: Vec<i64>,
    pub budget: Money,
    pub house_share_bp: i32,
}

/// What is wrong with a campaign; each names the field it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCampaign {
    #[error("a name in each language, at most {MAX_NAME_CHARS} characters")]
    Name,
    #[error("the multiplier must be from 1 to {MAX_MULTIPLIER} with at most two decimals")]
    Multiplier,
    #[error("spend steps are ¥amount +points, separated by commas")]
    Steps,
    #[error("the campaign must end after it starts, and not in the past")]
    Window,
    #[error("choose at least one active merchant")]
    Merchants,
    #[error("the budget must be more than zero")]
    Budget,
    #[error("the house's share is 0 to 100%")]
    HouseShare,
    #[error("a campaign with no multiplier and no spend steps gives nothing")]
    NoBonus,
}

impl InvalidCampaign {
    /// The form field it is about.
    pub fn field(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Multiplier | Self::NoBonus => "multiplier",
            Self::Steps => "steps",
            Self::Window => "window",
            Self::Merchants => "merchants",
            Self::Budget => "budget",
            Self::HouseShare => "house_share",
        }
    }

    pub fn message(self, locale: Locale) -> String {
        self.why().render(locale)
    }

    fn why(self) -> Message {
        let key = match self {
            Self::NoBonus => "no_bonus",
            other => other.field(),
        };
        Message::new(format!("earning_portals.campaign.error.{key}"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Invalid(#[from] InvalidCampaign),
    #[error("no such campaign")]
    NotFound,
    #[error("a campaign cannot go from {from} to {to}")]
    Transition { from: Status, to: Status },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for CampaignError {
    fn class(&self) -> Class {
        let (kind, message) = match self {
            Self::Invalid(invalid) => (Kind::Unprocessable, invalid.why()),
            Self::NotFound => (Kind::NotFound, Message::new("error.not_found.text")),
            // A second click, or another operator first.
            Self::Transition { .. } => (
                Kind::Conflict,
                Message::new("earning_portals.campaign.flash.transition"),
            ),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "campaign_refused", message))
    }
}

text_enum! {
    /// Where a campaign stands; what an operator may do to it.
    pub enum Status {
        Active => "active",
        Paused => "paused",
        Ended => "ended",
    }
}

impl Status {
    /// Pause and resume go back and forth; ending is final.
    fn may_follow(self, from: Self) -> bool {
        matches!(
            (from, self),
            (Self::Active, Self::Paused)
                | (Self::Paused, Self::Active)
                | (Self::Active | Self::Paused, Self::Ended)
        )
    }
}

/// Reads spend steps written as `≥¥100 +50, ≥¥500 +300` (the `≥` and `¥` are
/// optional; commas, semicolons or new lines separate steps). Empty is none.
pub fn parse_steps(text: &str) -> Result<Vec<SpendStep>, InvalidCampaign> {
    let mut steps: Vec<SpendStep> = text
        .split([',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|step| {
            let step = step
                .trim_start_matches(['≥', '>', '='])
                .replace(['¥', '￥', ' '], "");
            let (amount, bonus) = step.split_once('+').ok_or(InvalidCampaign::Steps)?;
            let min = Money::parse(amount.trim_start_matches(['≥', '>', '=']))
                .ok()
                .filter(|m| m.is_positive())
                .ok_or(InvalidCampaign::Steps)?;
            let bonus_points = bonus
                .parse::<i64>()
                .ok()
                .filter(|b| *b > 0)
                .ok_or(InvalidCampaign::Steps)?;
            Ok(SpendStep {
                min_fen: min.fen(),
                bonus_points,
            })
        })
        .collect::<Result<_, _>>()?;
    steps.sort_by_key(|s| s.min_fen);
    if steps.windows(2).any(|w| w[0].min_fen == w[1].min_fen) {
        return Err(InvalidCampaign::Steps);
    }
    Ok(steps)
}

/// The steps as `parse_steps` reads them: `≥¥100 +50, ≥¥99.50 +10`.
pub fn format_steps(steps: &[SpendStep]) -> String {
    steps
        .iter()
        .map(|s| {
            let min = Money::from_fen(s.min_fen);
            let min = if s.min_fen % 100 == 0 {
                (s.min_fen / 100).to_string()
            } else {
                min.to_string()
            };
            format!("≥¥{min} +{}", s.bonus_points)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn name(text: &str) -> Result<&str, InvalidCampaign> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NAME_CHARS {
        return Err(InvalidCampaign::Name);
    }
    Ok(text)
}

impl NewCampaign {
    fn validate(&self, now: DateTime<Utc>) -> Result<(), InvalidCampaign> {
        name(&self.name_zh)?;
        name(&self.name_en)?;
        if self.multiplier < Decimal::ONE
            || self.multiplier > Decimal::from(MAX_MULTIPLIER)
            || self.multiplier.normalize().scale() > 2
        {
            return Err(InvalidCampaign::Multiplier);
        }
        if self.multiplier == Decimal::ONE && self.steps.is_empty() {
            return Err(InvalidCampaign::NoBonus);
        }
        if self.ends_at <= self.starts_at || self.ends_at <= now {
            return Err(InvalidCampaign::Window);
        }
        if self.merchant_ids.is_empty() {
            return Err(InvalidCampaign::Merchants);
        }
        if !self.budget.is_positive() {
            return Err(InvalidCampaign::Budget);
        }
        if !(0..=10_000).contains(&self.house_share_bp) {
            return Err(InvalidCampaign::HouseShare);
        }
        Ok(())
    }
}

/// Creates a campaign, active from its start; audited.
#[tracing::instrument(skip_all)]
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewCampaign,
) -> Result<Campaign, CampaignError> {
    new.validate(crate::clock::now())?;
    conn.transaction(|conn| {
        let mut merchant_ids = new.merchant_ids.clone();
        merchant_ids.sort_unstable();
        merchant_ids.dedup();
        let active: i64 = merchants::table
            .filter(merchants::id.eq_any(&merchant_ids))
            .filter(merchants::status.eq(standing::Status::Active))
            .count()
            .get_result(conn)?;
        if usize::try_from(active).ok() != Some(merchant_ids.len()) {
            return Err(InvalidCampaign::Merchants.into());
        }
        let campaign: Campaign = diesel::insert_into(campaigns::table)
            .values((
                campaigns::name_zh.eq(name(&new.name_zh)?),
                campaigns::name_en.eq(name(&new.name_en)?),
                campaigns::multiplier.eq(new.multiplier),
                campaigns::spend_steps
                    .eq(serde_json::to_value(&new.steps).expect("steps serialize")),
                campaigns::starts_at.eq(new.starts_at),
                campaigns::ends_at.eq(new.ends_at),
                campaigns::budget_fen.eq(new.budget.fen()),
                campaigns::house_share_bp.eq(new.house_share_bp),
                campaigns::created_by.eq(&actor.label),
            ))
            .returning(Campaign::as_returning())
            .get_result(conn)?;
        diesel::insert_into(campaign_merchants::table)
            .values(
                merchant_ids
                    .iter()
                    .map(|m| {
                        (
                            campaign_merchants::campaign_id.eq(campaign.id),
                            campaign_merchants::merchant_id.eq(*m),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("campaign.create", "campaign", campaign.id).after(serde_json::json!({
                "campaign": &campaign,
                "merchant_ids": merchant_ids,
            })),
        )?;
        Ok(campaign)
    })
}

/// A campaign with the merchants it runs at.
#[derive(Debug, Clone)]
pub struct Listed {
    pub campaign: Campaign,
    pub merchants: Vec<Merchant>,
}

/// Every campaign, newest first, with its merchants.
pub fn list(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Listed>> {
    let all: Vec<Campaign> = campaigns::table
        .order(campaigns::id.desc())
        .limit(limit)
        .select(Campaign::as_select())
        .load(conn)?;
    let ids: Vec<i64> = all.iter().map(|c| c.id).collect();
    let links: Vec<(i64, Merchant)> = campaign_merchants::table
        .inner_join(merchants::table)
        .filter(campaign_merchants::campaign_id.eq_any(&ids))
        .order(merchants::code)
        .select((campaign_merchants::campaign_id, Merchant::as_select()))
        .load(conn)?;
    Ok(all
        .into_iter()
        .map(|campaign| Listed {
            merchants: links
                .iter()
                .filter(|(c, _)| *c == campaign.id)
                .map(|(_, m)| m.clone())
                .collect(),
            campaign,
        })
        .collect())
}

/// Pauses, resumes or ends a campaign; audited. The row lock waits for earns
/// charging its budget, so none is charged after it stops.
#[tracing::instrument(skip_all, fields(id = id))]
pub fn set_status(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    to: Status,
) -> Result<Campaign, CampaignError> {
    conn.transaction(|conn| {
        let before: Campaign = campaigns::table
            .find(id)
            .select(Campaign::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(CampaignError::NotFound)?;
        if !to.may_follow(before.status) {
            return Err(CampaignError::Transition {
                from: before.status,
                to,
            });
        }
        let after: Campaign = diesel::update(campaigns::table.find(id))
            .set(campaigns::status.eq(to))
            .returning(Campaign::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("campaign.status", "campaign", id)
                .before(before.status)
                .after(after.status),
        )?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_steps_read_as_written_on_a_poster() {
        let steps = parse_steps("≥¥500 +300， ≥¥100 +50").unwrap();
        assert_eq!(
            steps,
            vec![
                SpendStep {
                    min_fen: 10_000,
                    bonus_points: 50
                },
                SpendStep {
                    min_fen: 50_000,
                    bonus_points: 300
                },
            ]
        );
        assert_eq!(format_steps(&steps), "≥¥100 +50, ≥¥500 +300");
        assert_eq!(parse_steps(&format_steps(&steps)).unwrap(), steps);
        assert_eq!(parse_steps("  ").unwrap(), vec![]);
        for bad in ["100", "¥100 +0", "abc +5", "100 +5, 100 +6", "-5 +3"] {
            assert_eq!(parse_steps(bad), Err(InvalidCampaign::Steps), "{bad}");
        }
    }

    #[test]
    fn pause_and_resume_go_back_and_forth_and_ending_is_final() {
        assert!(Status::Paused.may_follow(Status::Active));
        assert!(Status::Active.may_follow(Status::Paused));
        assert!(Status::Ended.may_follow(Status::Paused));
        assert!(!Status::Active.may_follow(Status::Ended));
        assert!(!Status::Paused.may_follow(Status::Paused));
    }
}
