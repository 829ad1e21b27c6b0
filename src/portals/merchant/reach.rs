//! Whom the merchant reached, for its home: distinct members who earned its
//! points and who had its vouchers served, this month against the last (months
//! in Asia/Shanghai), and what each of its stores served this month, with a bar
//! drawn on the server (inline SVG in `templates/merchant/dashboard.html`).

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use crate::{
    domain::{id::MerchantId, money::Money, points::ProgramCode, shanghai},
    earn::earners,
    i18n::Locale,
    i18n::format,
    people::merchant_user::MerchantRole,
    program::Program,
    redemption::{self, StoreTally},
    web::error::WebError,
};

/// Who sees these figures: those who run the program, as with the deposit.
pub(super) const REACH_READERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];

/// A count this month and last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MonthPair {
    pub this_month: i64,
    pub last_month: i64,
}

/// The figures as read.
pub(super) struct Reach {
    pub this_month: DateTime<Utc>,
    pub last_month: DateTime<Utc>,
    pub earned: MonthPair,
    pub redeemed: MonthPair,
    pub stores: Vec<StoreTally>,
}

/// Reads the figures for the month `now` falls in and the one before. A
/// merchant without a program has no earners.
pub(super) fn load(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    program: Option<&Program>,
    now: DateTime<Utc>,
) -> Result<Reach, WebError> {
    let this_month = shanghai::start_of_month(now);
    let last_month = shanghai::start_of_previous_month(now);
    let next_month = shanghai::start_of_next_month(now);
    let earned = match program {
        Some(program) => {
            let code = ProgramCode::parse(&program.code)
                .map_err(|e| WebError::Internal(anyhow::anyhow!(e)))?;
            MonthPair {
                this_month: earners::count(conn, &code, this_month, next_month)?,
                last_month: earners::count(conn, &code, last_month, this_month)?,
            }
        }
        None => MonthPair {
            this_month: 0,
            last_month: 0,
        },
    };
    Ok(Reach {
        this_month,
        last_month,
        earned,
        redeemed: MonthPair {
            this_month: redemption::redeemers(conn, merchant_id, this_month, next_month)?,
            last_month: redemption::redeemers(conn, merchant_id, last_month, this_month)?,
        },
        stores: redemption::served_by_store(conn, merchant_id, this_month, next_month)?,
    })
}

/// A count this month with last month's and the change, formatted.
pub struct TrendView {
    /// `earned` or `redeemed`: names the figures on the page.
    pub id: &'static str,
    pub label_key: &'static str,
    pub this_month: String,
    pub last_month: String,
    /// Signed: `+3`, `-1`, `0`.
    pub change: String,
    /// `delta-up`, `delta-down`, or empty for no change.
    pub direction: &'static str,
}

impl TrendView {
    fn of(id: &'static str, label_key: &'static str, pair: MonthPair) -> Self {
        let change = pair.this_month - pair.last_month;
        Self {
            id,
            label_key,
            this_month: format::count(pair.this_month),
            last_month: format::count(pair.last_month),
            change: match change {
                0 => "0".to_owned(),
                c if c > 0 => format!("+{}", format::count(c)),
                c => format::count(c),
            },
            direction: match change {
                0 => "",
                c if c > 0 => "delta-up",
                _ => "delta-down",
            },
        }
    }
}

/// One store's line with its bar.
pub struct StoreBar {
    /// The store's id, or `none` for vouchers served without a store.
    pub key: String,
    pub name: String,
    pub served: String,
    pub value: String,
    /// The bar's length, 0–100, against the busiest store's value.
    pub bar: String,
}

pub struct ReachView {
    /// `2026-11`: the months compared.
    pub this_month: String,
    pub last_month: String,
    /// Members who earned, then members who redeemed.
    pub members: Vec<TrendView>,
    pub stores: Vec<StoreBar>,
    pub total_served: String,
    pub total_value: String,
    /// Whether any voucher was served this month.
    pub any_served: bool,
}

impl ReachView {
    pub(super) fn of(reach: &Reach, locale: Locale) -> Self {
        let month = |at: DateTime<Utc>| shanghai::date_of(at).format("%Y-%m").to_string();
        let widest = reach.stores.iter().map(|s| s.value_fen).max().unwrap_or(0);
        let total_served: i64 = reach.stores.iter().map(|s| s.served).sum();
        let total_value: i64 = reach.stores.iter().map(|s| s.value_fen).sum();
        Self {
            this_month: month(reach.this_month),
            last_month: month(reach.last_month),
            members: vec![
                TrendView::of("earned", "homes.members.earned", reach.earned),
                TrendView::of("redeemed", "homes.members.redeemed", reach.redeemed),
            ],
            stores: reach
                .stores
                .iter()
                .map(|s| StoreBar {
                    key: s
                        .store_id
                        .map_or_else(|| "none".to_owned(), |id| id.to_string()),
                    name: s
                        .store_name
                        .clone()
                        .unwrap_or_else(|| locale.t("homes.stores.no_store").into_owned()),
                    served: format::count(s.served),
                    value: format::money(Money::from_fen(s.value_fen)),
                    bar: bar_length(s.value_fen, widest),
                })
                .collect(),
            total_served: format::count(total_served),
            total_value: format::money(Money::from_fen(total_value)),
            any_served: total_served > 0,
        }
    }
}

/// `value` as a share of `widest`, 0–100 with one decimal, for an SVG width.
fn bar_length(value: i64, widest: i64) -> String {
    if widest <= 0 {
        return "0".to_owned();
    }
    // Tenths of a percent in integers: no float near money.
    let tenths = value.max(0).saturating_mul(1_000) / widest;
    format!("{}.{}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_shares_of_the_busiest_store() {
        assert_eq!(bar_length(3_000, 3_000), "100.0");
        assert_eq!(bar_length(1_000, 3_000), "33.3");
        assert_eq!(bar_length(0, 3_000), "0.0");
        assert_eq!(bar_length(0, 0), "0");
    }

    #[test]
    fn a_trend_says_which_way_it_went() {
        let up = TrendView::of(
            "earned",
            "homes.members.earned",
            MonthPair {
                this_month: 3,
                last_month: 1,
            },
        );
        assert_eq!((up.change.as_str(), up.direction), ("+2", "delta-up"));
        let down = TrendView::of(
            "earned",
            "homes.members.earned",
            MonthPair {
                this_month: 0,
                last_month: 2,
            },
        );
        assert_eq!((down.change.as_str(), down.direction), ("-2", "delta-down"));
        let flat = TrendView::of(
            "earned",
            "homes.members.earned",
            MonthPair {
                this_month: 1,
                last_month: 1,
            },
        );
        assert_eq!((flat.change.as_str(), flat.direction), ("0", ""));
    }
}
