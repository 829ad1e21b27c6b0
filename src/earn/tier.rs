//! Member tiers (普通/银卡/金卡/白金): one alliance-wide ladder driven by a
//! member's trailing 12-month spend at every partner, net of refunds.
//!
//! - **Upgrade** right after an earn: a member whose spend reaches a higher
//!   tier's `upgrade_spend_fen` moves up to the highest such tier.
//! - **Keep / downgrade** at the nightly review: a member whose spend fell below
//!   their tier's `keep_spend_fen` drops to the highest tier that spend keeps.
//! - **After a refund** (`review_after_refund`, in the refund's transaction):
//!   an upgrade the refunded spend paid for is undone at once — its bonuses
//!   and fee discounts do not last until the nightly review — and the keep
//!   check runs on the spend as it now is.
//!
//! Every change is recorded in `member_tier_changes` and audited.

use chrono::{DateTime, Months, Utc};
use diesel::{dsl::sum, prelude::*};
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::{earn_orders, member_tier_changes, member_tiers, members},
    domain::{actor::Actor, id::MemberId},
    i18n::Locale,
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = member_tiers, check_for_backend(diesel::pg::Pg))]
pub struct MemberTier {
    pub code: String,
    pub rank: i16,
    pub name_zh: String,
    pub name_en: String,
    pub upgrade_spend_fen: i64,
    pub keep_spend_fen: i64,
    pub earn_bonus_bp: i32,
    pub exchange_fee_discount_bp: i32,
}

impl MemberTier {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }
}

/// A tier change, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierChange {
    pub member_id: MemberId,
    pub from: String,
    pub to: String,
    pub spend_fen: i64,
}

/// The ladder, lowest first.
pub fn ladder(conn: &mut PgConnection) -> QueryResult<Vec<MemberTier>> {
    member_tiers::table
        .order(member_tiers::rank)
        .select(MemberTier::as_select())
        .load(conn)
}

pub fn of_member(conn: &mut PgConnection, member_id: MemberId) -> QueryResult<MemberTier> {
    members::table
        .inner_join(member_tiers::table)
        .filter(members::id.eq(member_id))
        .select(MemberTier::as_select())
        .first(conn)
}

/// What the member spent at partners in the 12 months before `at`, net of refunds.
pub fn trailing_spend(
    conn: &mut PgConnection,
    member_id: MemberId,
    at: DateTime<Utc>,
) -> QueryResult<i64> {
    let since = at - Months::new(12);
    let total: Option<rust_decimal::Decimal> = earn_orders::table
        .filter(earn_orders::member_id.eq(member_id))
        .filter(earn_orders::occurred_at.gt(since))
        .filter(earn_orders::occurred_at.le(at))
        .select(sum(earn_orders::amount_fen - earn_orders::refunded_fen))
        .first(conn)?;
    Ok(total.and_then(|t| i64::try_from(t).ok()).unwrap_or(0))
}

/// The tier a spend earns going up: the highest whose upgrade threshold it meets.
fn reached(ladder: &[MemberTier], spend_fen: i64) -> Option<&MemberTier> {
    ladder
        .iter()
        .rev()
        .find(|t| spend_fen >= t.upgrade_spend_fen)
}

/// The tier a spend keeps at review: the highest, not above `current`, whose
/// keep threshold it meets.
fn kept<'a>(
    ladder: &'a [MemberTier],
    current: &MemberTier,
    spend_fen: i64,
) -> Option<&'a MemberTier> {
    ladder
        .iter()
        .rev()
        .filter(|t| t.rank <= current.rank)
        .find(|t| spend_fen >= t.keep_spend_fen)
}

/// Moves the member up if their spend now reaches a higher tier. Call in the
/// transaction that recorded the spend.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn upgrade_if_reached(
    conn: &mut PgConnection,
    member_id: MemberId,
    actor: &Actor,
) -> QueryResult<Option<TierChange>> {
    let now = crate::clock::now();
    let ladder = ladder(conn)?;
    let current = of_member(conn, member_id)?;
    let spend = trailing_spend(conn, member_id, now)?;
    match reached(&ladder, spend) {
        Some(target) if target.rank > current.rank => {
            change(conn, member_id, &current, target, "upgrade", spend, actor).map(Some)
        }
        _ => Ok(None),
    }
}

/// Raises the member to `target` when it ranks above their tier: a merchant's
/// import brings the tier a member held in its own programme. An import never
/// lowers a tier; the nightly review judges it by spend from then on.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn raise_to(
    conn: &mut PgConnection,
    member_id: MemberId,
    target: &MemberTier,
    actor: &Actor,
) -> QueryResult<Option<TierChange>> {
    let current = of_member(conn, member_id)?;
    if target.rank <= current.rank {
        return Ok(None);
    }
    let spend = trailing_spend(conn, member_id, crate::clock::now())?;
    change(conn, member_id, &current, target, "import", spend, actor).map(Some)
}

/// Judges the member's tier again once a refund is booked. If their latest
/// change was the upgrade to the tier they have, and the spend of the 12 months
/// before it, net of refunds as they stand now, no longer reaches that tier,
/// the upgrade is undone: they go back to the higher of the tier they had and
/// the one that spend reaches. Otherwise the keep check runs on today's spend.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn review_after_refund(
    conn: &mut PgConnection,
    member_id: MemberId,
    actor: &Actor,
) -> QueryResult<Option<TierChange>> {
    let now = crate::clock::now();
    let ladder = ladder(conn)?;
    let current = of_member(conn, member_id)?;
    let spend = trailing_spend(conn, member_id, now)?;
    let latest: Option<(String, String, String, DateTime<Utc>)> = member_tier_changes::table
        .filter(member_tier_changes::member_id.eq(member_id))
        .order(member_tier_changes::id.desc())
        .select((
            member_tier_changes::reason,
            member_tier_changes::from_tier,
            member_tier_changes::to_tier,
            member_tier_changes::created_at,
        ))
        .first(conn)
        .optional()?;
    let undone = match latest {
        Some((reason, from, to, at)) if reason == "upgrade" && to == current.code => {
            let then = trailing_spend(conn, member_id, at)?;
            let before = ladder.iter().find(|t| t.code == from);
            (then < current.upgrade_spend_fen)
                .then(|| {
                    reached(&ladder, then)
                        .into_iter()
                        .chain(before)
                        .max_by_key(|t| t.rank)
                })
                .flatten()
        }
        _ => None,
    };
    match undone.or_else(|| kept(&ladder, &current, spend)) {
        Some(target) if target.rank < current.rank => {
            change(conn, member_id, &current, target, "downgrade", spend, actor).map(Some)
        }
        _ => Ok(None),
    }
}

/// The nightly keep/downgrade check for one member.
#[tracing::instrument(skip_all, fields(member_id = %member_id))]
pub fn review(
    conn: &mut PgConnection,
    member_id: MemberId,
    at: DateTime<Utc>,
    actor: &Actor,
) -> QueryResult<Option<TierChange>> {
    conn.transaction(|conn| {
        let ladder = ladder(conn)?;
        let current = of_member(conn, member_id)?;
        let spend = trailing_spend(conn, member_id, at)?;
        match kept(&ladder, &current, spend) {
            Some(target) if target.rank < current.rank => {
                change(conn, member_id, &current, target, "downgrade", spend, actor).map(Some)
            }
            _ => Ok(None),
        }
    })
}

/// Reviews every member above the lowest tier, in batches of `batch` by id.
/// Returns the downgrades made.
#[tracing::instrument(skip_all)]
pub fn review_all(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    batch: i64,
) -> QueryResult<Vec<TierChange>> {
    let actor = Actor::system("tier_review");
    let mut changes = Vec::new();
    let mut after = MemberId(0);
    loop {
        let ids: Vec<MemberId> = members::table
            .inner_join(member_tiers::table)
            .filter(member_tiers::rank.gt(0))
            .filter(members::id.gt(after))
            .order(members::id)
            .limit(batch)
            .select(members::id)
            .load(conn)?;
        let Some(&last) = ids.last() else {
            return Ok(changes);
        };
        for id in ids {
            changes.extend(review(conn, id, at, &actor)?);
        }
        after = last;
    }
}

fn change(
    conn: &mut PgConnection,
    member_id: MemberId,
    from: &MemberTier,
    to: &MemberTier,
    reason: &str,
    spend_fen: i64,
    actor: &Actor,
) -> QueryResult<TierChange> {
    // The service clock, not the database's: `review_after_refund` judges the
    // spend up to a change's time, which must be the orders' time.
    let now = crate::clock::now();
    diesel::update(members::table.find(member_id))
        .set((members::tier.eq(&to.code), members::tier_since.eq(now)))
        .execute(conn)?;
    diesel::insert_into(member_tier_changes::table)
        .values((
            member_tier_changes::member_id.eq(member_id),
            member_tier_changes::from_tier.eq(&from.code),
            member_tier_changes::to_tier.eq(&to.code),
            member_tier_changes::reason.eq(reason),
            member_tier_changes::spend_fen.eq(spend_fen),
            member_tier_changes::changed_by.eq(&actor.label),
            member_tier_changes::created_at.eq(now),
        ))
        .execute(conn)?;
    let change = TierChange {
        member_id,
        from: from.code.clone(),
        to: to.code.clone(),
        spend_fen,
    };
    audit::record(
        conn,
        actor,
        Change::new(
            match reason {
                "upgrade" => "member.tier_upgrade",
                "import" => "member.tier_import",
                _ => "member.tier_downgrade",
            },
            "member",
            member_id,
        )
        .before(&from.code)
        .after(&change),
    )?;
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(code: &str, rank: i16, upgrade: i64, keep: i64) -> MemberTier {
        MemberTier {
            code: code.to_owned(),
            rank,
            name_zh: code.to_owned(),
            name_en: code.to_owned(),
            upgrade_spend_fen: upgrade,
            keep_spend_fen: keep,
            earn_bonus_bp: 0,
            exchange_fee_discount_bp: 0,
        }
    }

    fn ladder() -> Vec<MemberTier> {
        vec![
            tier("basic", 0, 0, 0),
            tier("silver", 1, 500_000, 300_000),
            tier("gold", 2, 2_000_000, 1_500_000),
        ]
    }

    #[test]
    fn spend_reaches_the_highest_tier_it_meets() {
        let ladder = ladder();
        assert_eq!(reached(&ladder, 499_999).unwrap().code, "basic");
        assert_eq!(reached(&ladder, 500_000).unwrap().code, "silver");
        assert_eq!(reached(&ladder, 9_000_000).unwrap().code, "gold");
    }

    #[test]
    fn a_member_keeps_a_tier_between_its_keep_and_upgrade_thresholds() {
        let ladder = ladder();
        let gold = &ladder[2];
        assert_eq!(kept(&ladder, gold, 1_500_000).unwrap().code, "gold");
        assert_eq!(kept(&ladder, gold, 1_499_999).unwrap().code, "silver");
        assert_eq!(kept(&ladder, gold, 100).unwrap().code, "basic");
        // Review never moves anyone up.
        assert_eq!(kept(&ladder, &ladder[1], 9_000_000).unwrap().code, "silver");
    }
}
