//! Refunds: a purchase refunded in full or in part takes back the points the
//! net purchase no longer earns. What the member keeps is what the earn rules
//! give the net amount — base, the tier bonus it had, each campaign's
//! multiplier and only the spend steps the net still reaches (`rule::kept`) —
//! and never more than its share of the points (cumulatively
//! ceil(points × net ÷ amount)), so a full refund takes back exactly what was
//! earned and a ¥0.01 refund takes back a step bonus the net misses.
//!
//! The refund takes back what the wallet has available. Points a pending hold
//! has set aside are *claimed* (`claim`): taken when the hold is voided,
//! unrecovered only if it is posted. Points already spent are not clawed into
//! a negative balance: they are reported unrecovered. The entry (kind
//! `reverse`, key `refund:m{merchant}:{order}:{n}` for the order's n-th refund)
//! books `member:c:P → program:P:issuance`; for ALP also `house:alp →
//! merchant:m:settlement`, returning what the merchant paid for the reversed
//! ALP (at the current issue price, rounded down); and the house's campaign
//! share goes back in proportion to the points reversed, `merchant:m:settlement
//! → house:campaigns`.
//!
//! Locks (the order in `lot`): the member, then the order (refunds of one
//! order queue, and a refund never races the member's redemptions or
//! exchanges for the same points), then the member's lots, then the ledger.
//! Once booked, the member's tier is judged again (`tier::review_after_refund`).

use diesel::prelude::*;
use serde::Serialize;

use std::collections::BTreeMap;

use crate::{
    audit::{self, Change},
    campaign::SpendStep,
    chart::{self, CNY, HouseAccount},
    db::schema::{campaign_awards, campaigns, earn_orders, earn_refunds},
    domain::{
        actor::Actor,
        id::{AccountId, JournalEntryId, MerchantId},
        money::{Money, Rounding},
        points::ProgramCode,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest},
    people::member,
};

use super::{
    EarnOrder, OrderId, claim, hub, lot, order,
    rule::{self, Breakdown},
    tier,
};

#[derive(Debug, Clone, Serialize)]
pub struct Refunded {
    pub order: EarnOrder,
    pub amount: Money,
    pub points_reversed: i64,
    /// Points this refund claimed of pending holds: taken back if the holds are
    /// voided, unrecovered if they are posted.
    pub points_claimed: i64,
    /// Points this refund should have taken back that were already spent.
    pub points_unrecovered: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("no such order")]
    UnknownOrder,
    #[error("the refund must be greater than zero")]
    NonPositiveAmount,
    #[error("the refund is more than what is left to refund ({refundable})")]
    TooMuch { refundable: Money },
    /// The order was refunded since the refund was asked for: a second submit
    /// of the same form, or someone else's refund. Nothing was done.
    #[error("the order was refunded in the meantime")]
    Stale,
    #[error("the ledger refused the entry: {0}")]
    Refused(EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Lots(#[from] lot::LotError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for RefundError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, slug) = match self {
            Self::UnknownOrder => (NotFound, "unknown_order"),
            Self::NonPositiveAmount => (Unprocessable, "non_positive_amount"),
            Self::TooMuch { .. } => (Conflict, "refund_too_much"),
            Self::Stale => (Unprocessable, "refund_stale"),
            Self::Refused(_) | Self::Ledger(_) | Self::Lots(_) | Self::Database(_) => {
                return Class::System;
            }
        };
        let message = Message::new(format!("earn.error.{slug}"));
        let message = match self {
            Self::TooMuch { refundable } => message.arg("refundable", refundable),
            Self::UnknownOrder
            | Self::NonPositiveAmount
            | Self::Stale
            | Self::Refused(_)
            | Self::Ledger(_)
            | Self::Lots(_)
            | Self::Database(_) => message,
        };
        Class::Refusal(Refusal::new(kind, slug, message))
    }
}

/// Refunds `amount` of the order (all that is left when None) and takes back
/// the points the net purchase no longer earns. `refunded_before`, when given,
/// is what the caller saw refunded already: if the order has moved on since,
/// nothing is done (`Stale`) — how a form submitted twice refunds once. The
/// partner API needs no such check: its Idempotency-Key replays a repeated
/// request.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, order_id = ?order_id))]
pub fn refund(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    order_id: &OrderId,
    amount: Option<Money>,
    refunded_before: Option<Money>,
    actor: &Actor,
) -> Result<Refunded, RefundError> {
    conn.transaction(|conn| {
        // An order's member never changes: read it unlocked, lock the member,
        // then the order.
        let member_id = order::find(conn, merchant_id, order_id)?
            .ok_or(RefundError::UnknownOrder)?
            .member_id;
        member::lock(conn, member_id)?;
        let before = order::lock(conn, merchant_id, order_id)?.ok_or(RefundError::UnknownOrder)?;
        if refunded_before.is_some_and(|seen| seen.fen() != before.refunded_fen) {
            return Err(RefundError::Stale);
        }
        let amount = amount.unwrap_or(Money::from_fen(before.refundable_fen()));
        if amount.fen() <= 0 {
            return Err(if before.refundable_fen() == 0 {
                RefundError::TooMuch {
                    refundable: Money::ZERO,
                }
            } else {
                RefundError::NonPositiveAmount
            });
        }
        if amount.fen() > before.refundable_fen() {
            return Err(RefundError::TooMuch {
                refundable: Money::from_fen(before.refundable_fen()),
            });
        }
        let refunded_fen = before.refunded_fen + amount.fen();
        let due = points_due(&before, kept(conn, &before, refunded_fen)?);
        let program = before.program_code.clone();
        let wallet = chart::open(conn, &chart::member_wallet(before.member_id, &program))?;
        lot::lock(conn, before.member_id, program.as_str())?;
        let available = ledger::balance(conn, wallet)?.available().max(0);
        let reversed = due.min(available);
        let claims = claim::plan(conn, wallet, due - reversed)?;
        let claimed: i64 = claims.iter().map(|c| c.points).sum();
        let unrecovered = due - reversed - claimed;
        let sequence = refund_count(conn, before.id)? + 1;

        let entry_id = if reversed > 0 {
            let key = format!(
                "refund:m{}:{}:{sequence}",
                before.merchant_id, before.order_id
            );
            let entry = reversal(conn, &before, &program, wallet, reversed, key)?;
            let submitted = ledger::submit_one(conn, &entry)?;
            let entry_id = submitted.map_err(RefundError::Refused)?.entry_id;
            let own_lot = own_lot(conn, &before)?;
            lot::consume_from(conn, before.member_id, program.as_str(), reversed, own_lot)?;
            Some(entry_id)
        } else {
            None
        };

        let refund_id: i64 = diesel::insert_into(earn_refunds::table)
            .values((
                earn_refunds::earn_order_id.eq(before.id),
                earn_refunds::sequence.eq(sequence),
                earn_refunds::amount_fen.eq(amount.fen()),
                earn_refunds::points_reversed.eq(reversed),
                earn_refunds::points_claimed.eq(claimed),
                earn_refunds::points_unrecovered.eq(unrecovered),
                earn_refunds::journal_entry_id.eq(entry_id.map(|e: JournalEntryId| e.0)),
                earn_refunds::created_by.eq(&actor.label),
                earn_refunds::created_at.eq(crate::clock::now()),
            ))
            .returning(earn_refunds::id)
            .get_result(conn)?;
        claim::make(conn, refund_id, &claims)?;
        let after: EarnOrder = diesel::update(earn_orders::table.find(before.id))
            .set((
                earn_orders::refunded_fen.eq(refunded_fen),
                earn_orders::points_reversed.eq(before.points_reversed + reversed),
                earn_orders::points_claimed.eq(before.points_claimed + claimed),
                earn_orders::points_unrecovered.eq(before.points_unrecovered + unrecovered),
            ))
            .returning(EarnOrder::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("points.refund", "earn_order", before.id)
                .before(&before)
                .after(&after),
        )?;
        tier::review_after_refund(conn, before.member_id, actor)?;
        Ok(Refunded {
            order: after,
            amount,
            points_reversed: reversed,
            points_claimed: claimed,
            points_unrecovered: unrecovered,
        })
    })
}

/// The lot the order opened, which its refunds take back first.
pub(super) fn own_lot(conn: &mut PgConnection, order: &EarnOrder) -> QueryResult<Option<i64>> {
    match order.journal_entry_id {
        Some(earned) => Ok(lot::opened_by(conn, earned, order.member_id)?.map(|l| l.id)),
        None => Ok(None),
    }
}

/// What the order keeps once `refunded_fen` of it is refunded: what the rules
/// give the net amount, and never more than its share of the points.
fn kept(conn: &mut PgConnection, order: &EarnOrder, refunded_fen: i64) -> QueryResult<i64> {
    let share = share_kept(order, refunded_fen);
    let net = order.amount_fen - refunded_fen;
    let Ok(breakdown) = serde_json::from_value::<Breakdown>(order.breakdown.clone()) else {
        // No breakdown to judge by (history loaded without one): the share.
        return Ok(share);
    };
    let ids: Vec<i64> = breakdown.campaigns.iter().map(|c| c.campaign_id).collect();
    let steps: BTreeMap<i64, Vec<SpendStep>> = campaigns::table
        .filter(campaigns::id.eq_any(ids))
        .select((campaigns::id, campaigns::spend_steps))
        .load::<(i64, serde_json::Value)>(conn)?
        .into_iter()
        .map(|(id, steps)| (id, serde_json::from_value(steps).unwrap_or_default()))
        .collect();
    let by_rules = rule::kept(&breakdown, &steps, Money::from_fen(net));
    Ok(share.min(by_rules))
}

/// The order's share of its points for what is not refunded, rounded up:
/// cumulatively, refunds take back floor(points × refunded ÷ amount), so
/// partial refunds add up to exactly the points earned.
fn share_kept(order: &EarnOrder, refunded_fen: i64) -> i64 {
    let taken = i128::from(order.points) * i128::from(refunded_fen) / i128::from(order.amount_fen);
    order.points - i64::try_from(taken).expect("at most the order's points")
}

/// Points this refund must take back: what the order earned less what it
/// keeps now, less what earlier refunds took back, claimed or reported
/// unrecovered.
fn points_due(order: &EarnOrder, kept: i64) -> i64 {
    (order.points - kept - order.points_reversed - order.points_claimed - order.points_unrecovered)
        .max(0)
}

fn refund_count(conn: &mut PgConnection, order: i64) -> QueryResult<i32> {
    let count: i64 = earn_refunds::table
        .filter(earn_refunds::earn_order_id.eq(order))
        .count()
        .get_result(conn)?;
    Ok(i32::try_from(count).unwrap_or(i32::MAX))
}

/// The entry taking `points` of the order back (key `key`): the points to
/// issuance, and the cash that went with them (see the module doc).
pub(super) fn reversal(
    conn: &mut PgConnection,
    order: &EarnOrder,
    program: &ProgramCode,
    wallet: AccountId,
    points: i64,
    key: String,
) -> Result<EntryRequest, LedgerError> {
    let issuance = chart::open(conn, &chart::program_issuance(program))?;
    let mut entry = EntryRequest::new(key, "reverse")
        .metadata(serde_json::json!({
            "merchant_id": order.merchant_id,
            "order_id": order.order_id,
            "member_id": order.member_id,
            "points": points,
        }))
        .transfer(TransferRequest::move_(
            wallet,
            issuance,
            program.as_str(),
            points,
        ));

    let alp_back = if *program == ProgramCode::alp() {
        let price = hub::policy(conn)?.issue_price;
        price.value_of(points, Rounding::Down).map_or(0, Money::fen)
    } else {
        0
    };
    let campaign_back = campaign_share_back(conn, order, points)?;
    if alp_back > 0 || campaign_back > 0 {
        let settlement = chart::open(conn, &chart::merchant_settlement(order.merchant_id))?;
        let house = chart::ensure_house_accounts(conn)?;
        if alp_back > 0 {
            entry = entry.transfer(TransferRequest::move_(
                house.id(HouseAccount::Alp),
                settlement,
                CNY,
                alp_back,
            ));
        }
        if campaign_back > 0 {
            entry = entry.transfer(TransferRequest::move_(
                settlement,
                house.id(HouseAccount::Campaigns),
                CNY,
                campaign_back,
            ));
        }
    }
    Ok(entry)
}

/// The house's campaign share for the points reversed now: its total share ×
/// the order's reversed points ÷ its points, cumulatively, less what earlier
/// reversals returned.
fn campaign_share_back(
    conn: &mut PgConnection,
    order: &EarnOrder,
    points: i64,
) -> QueryResult<i64> {
    let house: Option<i64> = campaign_awards::table
        .filter(campaign_awards::earn_order_id.eq(order.id))
        .select(diesel::dsl::sum(campaign_awards::house_fen))
        .first::<Option<rust_decimal::Decimal>>(conn)?
        .and_then(|d| i64::try_from(d).ok());
    let Some(house) = house.filter(|h| *h > 0) else {
        return Ok(0);
    };
    let share = |reversed: i64| {
        i64::try_from(i128::from(house) * i128::from(reversed) / i128::from(order.points))
            .expect("at most the house share")
    };
    Ok(share(order.points_reversed + points) - share(order.points_reversed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::MemberId;

    fn order(points: i64, amount_fen: i64) -> EarnOrder {
        EarnOrder {
            id: 1,
            merchant_id: MerchantId(1),
            order_id: "o".to_owned(),
            member_id: MemberId(1),
            program_code: ProgramCode::parse("COFFEE").unwrap(),
            store_id: None,
            amount_fen,
            points,
            breakdown: serde_json::Value::Null,
            source: crate::earn::Source::Api,
            created_by: "t".to_owned(),
            device_id: None,
            ip: None,
            occurred_at: crate::clock::now(),
            journal_entry_id: None,
            refunded_fen: 0,
            points_reversed: 0,
            points_unrecovered: 0,
            created_at: crate::clock::now(),
            points_claimed: 0,
        }
    }

    #[test]
    fn partial_refunds_add_up_to_exactly_the_points_earned() {
        let mut o = order(101, 10_000);
        let mut total = 0;
        for step in [3_333, 3_333, 3_334] {
            let refunded = o.refunded_fen + step;
            let due = points_due(&o, share_kept(&o, refunded));
            total += due;
            o.refunded_fen = refunded;
            o.points_reversed += due;
        }
        assert_eq!(total, 101);
    }

    #[test]
    fn what_was_unrecovered_is_not_asked_for_again() {
        let mut o = order(100, 10_000);
        o.refunded_fen = 5_000;
        o.points_reversed = 20;
        o.points_unrecovered = 30;
        assert_eq!(points_due(&o, share_kept(&o, 10_000)), 50);
    }
}
