//! The catalog as members browse it (权益目录): published rewards on offer now
//! (inside their validity, in stock, of a merchant accepting redemptions), with
//! the merchant's name and program; a search of the titles, a category, an
//! order; and "what I can pay for": the rewards `propose` finds a mix for.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    catalog::{Reward, RewardStatus},
    db::schema::{merchants, programs, rewards},
    domain::id::{MemberId, RewardId},
    i18n::Locale,
    merchant::standing,
    program, wallet,
};

use super::{
    Holdings, Proposal, RedeemError, Remaining, caps, offer, pay::Valuation, propose, propose_from,
    valuation,
};

/// The categories a reward may have (the table's CHECK list), in the order the
/// catalog shows them.
pub const CATEGORIES: [&str; 9] = [
    "dining",
    "drinks",
    "groceries",
    "entertainment",
    "travel",
    "books",
    "fuel",
    "services",
    "other",
];

/// How the catalog is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Newest,
    ValueLowToHigh,
    ValueHighToLow,
}

impl Sort {
    pub const ALL: [Sort; 3] = [Self::Newest, Self::ValueLowToHigh, Self::ValueHighToLow];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::ValueLowToHigh => "value_asc",
            Self::ValueHighToLow => "value_desc",
        }
    }

    /// Anything unknown is the default order.
    pub fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .unwrap_or_default()
    }
}

/// What the member asked the catalog for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Words of the title, Chinese or English; blank for all.
    pub search: String,
    /// One of `CATEGORIES`; None for all.
    pub category: Option<String>,
    pub sort: Sort,
}

/// A reward on offer, as the catalog lists it: the reward with its merchant's
/// name and the program its points price is in.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Listing {
    #[diesel(embed)]
    pub reward: Reward,
    #[diesel(select_expression = merchants::name_zh)]
    pub merchant_name_zh: String,
    #[diesel(select_expression = merchants::name_en)]
    pub merchant_name_en: String,
    /// The merchant's own program: the points `points_price` is in.
    #[diesel(select_expression = programs::code)]
    pub program_code: String,
}

impl Listing {
    pub fn merchant_name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.merchant_name_zh,
            Locale::En => &self.merchant_name_en,
        }
    }
}

/// A listing with what its caps leave today and this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    pub listing: Listing,
    pub remaining: Remaining,
}

/// `%text%` for ILIKE with the text's own `\`, `%` and `_` taken literally
/// (backslash is PostgreSQL's default LIKE escape).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The rewards on offer at `now` that match the filter, with their caps'
/// remainders. The catalog holds hundreds of rewards, not millions: it is read
/// whole per request (the caps one reward at a time), without paging.
pub fn on_offer(
    conn: &mut PgConnection,
    filter: &Filter,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Offered>> {
    let mut query = rewards::table
        .inner_join(merchants::table.on(merchants::id.eq(rewards::merchant_id)))
        .inner_join(programs::table.on(programs::merchant_id.eq(rewards::merchant_id)))
        .filter(rewards::status.eq(RewardStatus::Published))
        .filter(rewards::valid_from.le(now))
        .filter(rewards::valid_until.gt(now))
        .filter(rewards::stock.gt(0))
        .filter(merchants::status.eq(standing::Status::Active))
        .select(Listing::as_select())
        .into_boxed();
    let search = filter.search.trim();
    if !search.is_empty() {
        let pattern = contains_pattern(search);
        query = query.filter(
            rewards::title_zh
                .ilike(pattern.clone())
                .or(rewards::title_en.ilike(pattern)),
        );
    }
    if let Some(category) = &filter.category {
        query = query.filter(rewards::category.eq(category.clone()));
    }
    query = match filter.sort {
        Sort::Newest => query.order((rewards::created_at.desc(), rewards::id.desc())),
        Sort::ValueLowToHigh => query.order((rewards::value_fen.asc(), rewards::id.desc())),
        Sort::ValueHighToLow => query.order((rewards::value_fen.desc(), rewards::id.desc())),
    };
    let listings: Vec<Listing> = query.load(conn)?;
    listings
        .into_iter()
        .map(|listing| {
            let remaining = caps::remaining(conn, listing.reward.id, now)?;
            Ok(Offered { listing, remaining })
        })
        .collect()
}

/// One reward, if it is on offer at `now`.
pub fn find_on_offer(
    conn: &mut PgConnection,
    reward_id: RewardId,
    now: DateTime<Utc>,
) -> QueryResult<Option<Offered>> {
    let listing: Option<Listing> = rewards::table
        .inner_join(merchants::table.on(merchants::id.eq(rewards::merchant_id)))
        .inner_join(programs::table.on(programs::merchant_id.eq(rewards::merchant_id)))
        .filter(rewards::id.eq(reward_id))
        .filter(rewards::status.eq(RewardStatus::Published))
        .filter(rewards::valid_from.le(now))
        .filter(rewards::valid_until.gt(now))
        .filter(merchants::status.eq(standing::Status::Active))
        .select(Listing::as_select())
        .first(conn)
        .optional()?;
    listing
        .map(|listing| {
            let remaining = caps::remaining(conn, listing.reward.id, now)?;
            Ok(Offered { listing, remaining })
        })
        .transpose()
}

/// The rewards with these ids, whatever their status now: what a member's
/// vouchers name.
pub fn listings(conn: &mut PgConnection, ids: &[RewardId]) -> QueryResult<Vec<Listing>> {
    rewards::table
        .inner_join(merchants::table.on(merchants::id.eq(rewards::merchant_id)))
        .inner_join(programs::table.on(programs::merchant_id.eq(rewards::merchant_id)))
        .filter(rewards::id.eq_any(ids))
        .select(Listing::as_select())
        .load(conn)
}

/// Keeps the rewards the member can pay for: those `propose` finds a mix for,
/// with every balance the reward accepts and cash where it takes cash. One
/// proposal per reward from the member's holdings, loaded once — a few
/// queries per reward, fine for a catalog of hundreds.
pub fn payable(
    conn: &mut PgConnection,
    member_id: MemberId,
    offered: Vec<Offered>,
) -> Result<Vec<Offered>, RedeemError> {
    Ok(first_payable(conn, member_id, offered, usize::MAX)?
        .into_iter()
        .map(|(item, _)| item)
        .collect())
}

/// As `payable`, stopping at the first `limit` found, each with the mix that
/// pays for it (the member's home shows a few, and what cash they would add).
pub fn first_payable(
    conn: &mut PgConnection,
    member_id: MemberId,
    offered: Vec<Offered>,
    limit: usize,
) -> Result<Vec<(Offered, Proposal)>, RedeemError> {
    let holdings = Holdings::of(conn, member_id)?;
    let mut kept = Vec::with_capacity(offered.len().min(limit));
    for item in offered {
        if kept.len() >= limit {
            break;
        }
        if let Some(proposal) = propose_from(conn, &holdings, item.listing.reward.id)? {
            kept.push((item, proposal));
        }
    }
    Ok(kept)
}

/// A program of the member's that can pay for the reward, and how much of it
/// they have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub code: String,
    pub available: i64,
    /// How its points pay: `valuation.leg(code, points)` prices any amount.
    pub valuation: Valuation,
}

/// What the reward's page offers the member: the programs they hold that can
/// pay (the reward's own first, then by code) and the proposed mix, None when
/// nothing they have pays for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choices {
    pub payers: Vec<Payer>,
    pub proposal: Option<Proposal>,
}

pub fn choices(
    conn: &mut PgConnection,
    member_id: MemberId,
    reward_id: RewardId,
) -> Result<Choices, RedeemError> {
    let offer = offer(conn, reward_id, false)?;
    let own = program::of_merchant(conn, offer.merchant_id)?.ok_or(RedeemError::UnknownReward)?;
    let mut payers = Vec::new();
    for balance in wallet::of_member(conn, member_id)
        .map_err(|_| RedeemError::Overflow)?
        .balances
    {
        if balance.available <= 0 {
            continue;
        }
        match valuation(conn, &offer, &own, &balance.code, member_id) {
            Ok(valuation) => payers.push(Payer {
                code: balance.code,
                available: balance.available,
                valuation,
            }),
            Err(RedeemError::ProgramNotAccepted(_)) => {}
            Err(e) => return Err(e),
        }
    }
    payers.sort_by(|a, b| (a.code != own.code, &a.code).cmp(&(b.code != own.code, &b.code)));
    Ok(Choices {
        payers,
        proposal: propose(conn, member_id, reward_id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_matches_its_wildcards_literally() {
        assert_eq!(contains_pattern("咖啡"), "%咖啡%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn an_unknown_sort_is_the_newest_first() {
        assert_eq!(Sort::parse("value_desc"), Sort::ValueHighToLow);
        assert_eq!(Sort::parse("'; drop"), Sort::Newest);
    }
}
