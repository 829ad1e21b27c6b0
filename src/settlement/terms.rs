//! Each merchant's settlement contract: its cycle, the platform's share of its
//! payouts, how long it has to pay what it owes and whether an overdue amount may
//! be taken from its deposit, and where statements are emailed. Operators set
//! them; a merchant nobody has set terms for settles on [`Terms::default`].

use chrono::Weekday;
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::settlement_terms,
    domain::{actor::Actor, email_address::EmailAddress, id::MerchantId},
    error::{Class, Classify, Kind, Message, Refusal},
};

use super::cycle::{Cycle, LAST_MONTH_DAY};

const MAX_COLLECTION_DAYS: u16 = 90;
/// The platform never takes more than half of a payout.
const MAX_PLATFORM_FEE_BP: u32 = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub cycle: Cycle,
    pub platform_fee_bp: u32,
    pub collection_days: u16,
    pub deduct_from_deposit: bool,
    /// None: statements go to the merchant's contact email.
    pub finance_email: Option<String>,
}

impl Default for Terms {
    /// Weekly from Monday, no platform share, a week to pay, deposit deductible.
    fn default() -> Self {
        Self {
            cycle: Cycle::Weekly(Weekday::Mon),
            platform_fee_bp: 0,
            collection_days: 7,
            deduct_from_deposit: true,
            finance_email: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("unknown cycle")]
    Cycle,
    #[error("the weekday must be 1 (Monday) to 7 (Sunday)")]
    Weekday,
    #[error("the day of the month must be 1 to 28")]
    MonthDay,
    #[error("the platform fee share must be 0% to 50%, at most two decimals")]
    PlatformFee,
    #[error("the days to pay must be 1 to 90")]
    CollectionDays,
    #[error("not an email address")]
    FinanceEmail,
}

impl Classify for TermsError {
    /// Terms as typed that the contract does not allow, each with the message
    /// for its field.
    fn class(&self) -> Class {
        let key = match self {
            Self::Cycle => "settlement.terms.error.cycle",
            Self::Weekday => "settlement.terms.error.weekday",
            Self::MonthDay => "settlement.terms.error.month_day",
            Self::PlatformFee => "settlement.terms.error.platform_fee",
            Self::CollectionDays => "settlement.terms.error.collection_days",
            Self::FinanceEmail => "settlement.terms.error.finance_email",
        };
        Class::Refusal(Refusal::new(
            Kind::Unprocessable,
            "terms_invalid",
            Message::new(key),
        ))
    }
}

/// Terms as typed into a form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TermsInput {
    pub cycle: String,
    #[serde(default)]
    pub weekday: String,
    #[serde(default)]
    pub month_day: String,
    /// A percentage, e.g. `2.5`.
    pub platform_fee: String,
    pub collection_days: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub deduct_from_deposit: Option<String>,
    #[serde(default)]
    pub finance_email: String,
}

impl Terms {
    pub fn parse(input: &TermsInput) -> Result<Self, TermsError> {
        let cycle = match input.cycle.trim() {
            "daily" => Cycle::Daily,
            "weekly" => {
                let day: u8 = input
                    .weekday
                    .trim()
                    .parse()
                    .map_err(|_| TermsError::Weekday)?;
                if !(1..=7).contains(&day) {
                    return Err(TermsError::Weekday);
                }
                Cycle::Weekly(Weekday::try_from(day - 1).map_err(|_| TermsError::Weekday)?)
            }
            "monthly" => {
                let day: u32 = input
                    .month_day
                    .trim()
                    .parse()
                    .map_err(|_| TermsError::MonthDay)?;
                if !(1..=LAST_MONTH_DAY).contains(&day) {
                    return Err(TermsError::MonthDay);
                }
                Cycle::Monthly(day)
            }
            _ => return Err(TermsError::Cycle),
        };
        let platform_fee_bp = percent_to_bp(input.platform_fee.trim())
            .filter(|bp| *bp <= MAX_PLATFORM_FEE_BP)
            .ok_or(TermsError::PlatformFee)?;
        let collection_days: u16 = input
            .collection_days
            .trim()
            .parse()
            .ok()
            .filter(|d| (1..=MAX_COLLECTION_DAYS).contains(d))
            .ok_or(TermsError::CollectionDays)?;
        let finance_email = match input.finance_email.trim() {
            "" => None,
            text => Some(
                EmailAddress::parse(text)
                    .map_err(|_| TermsError::FinanceEmail)?
                    .as_str()
                    .to_owned(),
            ),
        };
        Ok(Self {
            cycle,
            platform_fee_bp,
            collection_days,
            deduct_from_deposit: input.deduct_from_deposit.is_some(),
            finance_email,
        })
    }

    /// The platform share as a percentage for display (`2.50`).
    pub fn platform_fee_percent(&self) -> String {
        format!(
            "{}.{:02}",
            self.platform_fee_bp / 100,
            self.platform_fee_bp % 100
        )
    }
}

/// `2.5` → 250 basis points; at most two decimals, never negative. Shared by
/// every percentage a settlement form takes.
pub(super) fn percent_to_bp(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

#[derive(Queryable)]
struct TermsRow {
    cycle: String,
    weekday: Option<i16>,
    month_day: Option<i16>,
    platform_fee_bp: i32,
    collection_days: i16,
    deduct_from_deposit: bool,
    finance_email: Option<String>,
}

/// The merchant's terms, or the defaults when none were set.
pub fn of(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Terms> {
    let row: Option<TermsRow> = settlement_terms::table
        .find(merchant_id)
        .select((
            settlement_terms::cycle,
            settlement_terms::weekday,
            settlement_terms::month_day,
            settlement_terms::platform_fee_bp,
            settlement_terms::collection_days,
            settlement_terms::deduct_from_deposit,
            settlement_terms::finance_email,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map_or_else(Terms::default, |r| Terms {
        cycle: Cycle::from_columns(&r.cycle, r.weekday, r.month_day)
            .expect("the table's CHECKs allow only valid cycles"),
        platform_fee_bp: u32::try_from(r.platform_fee_bp).expect("CHECK: 0 to 10000"),
        collection_days: u16::try_from(r.collection_days).expect("CHECK: 1 to 90"),
        deduct_from_deposit: r.deduct_from_deposit,
        finance_email: r.finance_email,
    }))
}

#[derive(Serialize)]
struct Audited<'a> {
    cycle: &'static str,
    weekday: Option<i16>,
    month_day: Option<i16>,
    platform_fee_bp: u32,
    collection_days: u16,
    deduct_from_deposit: bool,
    finance_email: Option<&'a str>,
}

impl<'a> From<&'a Terms> for Audited<'a> {
    fn from(t: &'a Terms) -> Self {
        Self {
            cycle: t.cycle.kind(),
            weekday: t.cycle.weekday_column(),
            month_day: t.cycle.month_day_column(),
            platform_fee_bp: t.platform_fee_bp,
            collection_days: t.collection_days,
            deduct_from_deposit: t.deduct_from_deposit,
            finance_email: t.finance_email.as_deref(),
        }
    }
}

/// Replaces the merchant's terms, audited. A new cycle applies from the end of
/// the last settled period (see `cycle`).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn set(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    terms: &Terms,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        let before = of(conn, merchant_id)?;
        let row = (
            settlement_terms::merchant_id.eq(merchant_id),
            settlement_terms::cycle.eq(terms.cycle.kind()),
            settlement_terms::weekday.eq(terms.cycle.weekday_column()),
            settlement_terms::month_day.eq(terms.cycle.month_day_column()),
            settlement_terms::platform_fee_bp.eq(terms.platform_fee_bp.cast_signed()),
            settlement_terms::collection_days.eq(terms.collection_days.cast_signed()),
            settlement_terms::deduct_from_deposit.eq(terms.deduct_from_deposit),
            settlement_terms::finance_email.eq(terms.finance_email.as_deref()),
            settlement_terms::updated_by.eq(&actor.label),
            settlement_terms::updated_at.eq(diesel::dsl::now),
        );
        diesel::insert_into(settlement_terms::table)
            .values(row)
            .on_conflict(settlement_terms::merchant_id)
            .do_update()
            .set(row)
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("settlement.terms.set", "merchant", merchant_id)
                .before(Audited::from(&before))
                .after(Audited::from(terms)),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(cycle: &str, fee: &str) -> TermsInput {
        TermsInput {
            cycle: cycle.into(),
            weekday: "3".into(),
            month_day: "15".into(),
            platform_fee: fee.into(),
            collection_days: "7".into(),
            deduct_from_deposit: Some("on".into()),
            finance_email: String::new(),
        }
    }

    #[test]
    fn parses_each_cycle() {
        assert_eq!(
            Terms::parse(&input("daily", "0")).unwrap().cycle,
            Cycle::Daily
        );
        assert_eq!(
            Terms::parse(&input("weekly", "0")).unwrap().cycle,
            Cycle::Weekly(Weekday::Wed)
        );
        assert_eq!(
            Terms::parse(&input("monthly", "0")).unwrap().cycle,
            Cycle::Monthly(15)
        );
        assert_eq!(Terms::parse(&input("yearly", "0")), Err(TermsError::Cycle));
    }

    #[test]
    fn the_platform_fee_is_a_percentage_with_two_decimals() {
        assert_eq!(
            Terms::parse(&input("daily", "2.5"))
                .unwrap()
                .platform_fee_bp,
            250
        );
        assert_eq!(
            Terms::parse(&input("daily", "12.34"))
                .unwrap()
                .platform_fee_bp,
            1234
        );
        for bad in ["-1", "1.234", "50.01", "abc", "", ".5"] {
            assert_eq!(
                Terms::parse(&input("daily", bad)),
                Err(TermsError::PlatformFee),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_days_and_emails_are_refused() {
        let mut bad = input("monthly", "0");
        bad.month_day = "29".into();
        assert_eq!(Terms::parse(&bad), Err(TermsError::MonthDay));
        let mut bad = input("daily", "0");
        bad.collection_days = "0".into();
        assert_eq!(Terms::parse(&bad), Err(TermsError::CollectionDays));
        let mut bad = input("daily", "0");
        bad.finance_email = "not-mail".into();
        assert_eq!(Terms::parse(&bad), Err(TermsError::FinanceEmail));
    }
}
