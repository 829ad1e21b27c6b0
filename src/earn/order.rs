//! Earn orders: a purchase that earned points, named by the merchant's order id.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    db::schema::earn_orders,
    domain::{
        id::{MemberId, MerchantId, StoreId},
        points::ProgramCode,
        text_enum::text_enum,
    },
};

/// A merchant's order id: 1 to 64 printable ASCII characters, no spaces (it
/// travels in URL paths).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrderId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order id is 1 to 64 printable ASCII characters without spaces")]
pub struct InvalidOrderId;

impl OrderId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Self, InvalidOrderId> {
        let valid =
            (1..=Self::MAX_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidOrderId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

text_enum! {
    /// Where an earn came from: a till or app through the signed partner API,
    /// or a cashier through the merchant portal.
    pub enum Source {
        Api => "api",
        Portal => "portal",
        /// History a merchant's import brought in.
        Import => "import",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = earn_orders, check_for_backend(diesel::pg::Pg))]
pub struct EarnOrder {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub order_id: String,
    pub member_id: MemberId,
    /// The merchant's own program, or ALP.
    pub program_code: ProgramCode,
    pub store_id: Option<StoreId>,
    pub amount_fen: i64,
    pub points: i64,
    /// The `Breakdown` that produced `points`.
    pub breakdown: serde_json::Value,
    pub source: Source,
    pub created_by: String,
    pub device_id: Option<String>,
    pub ip: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub journal_entry_id: Option<i64>,
    pub refunded_fen: i64,
    pub points_reversed: i64,
    /// What refunds should have taken back but the member had already spent.
    pub points_unrecovered: i64,
    pub created_at: DateTime<Utc>,
    /// What refunds claimed of pending holds: taken back when a hold is voided,
    /// unrecovered when it is posted.
    pub points_claimed: i64,
}

impl EarnOrder {
    /// Points the member keeps from this order after refunds (claimed points
    /// are on their way back).
    pub fn points_kept(&self) -> i64 {
        self.points - self.points_reversed - self.points_unrecovered - self.points_claimed
    }

    pub fn refundable_fen(&self) -> i64 {
        self.amount_fen - self.refunded_fen
    }
}

pub fn find(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    order_id: &OrderId,
) -> QueryResult<Option<EarnOrder>> {
    earn_orders::table
        .filter(earn_orders::merchant_id.eq(merchant_id))
        .filter(earn_orders::order_id.eq(order_id.as_str()))
        .select(EarnOrder::as_select())
        .first(conn)
        .optional()
}

/// The order, locked until the transaction ends (refunds of one order queue).
pub(super) fn lock(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    order_id: &OrderId,
) -> QueryResult<Option<EarnOrder>> {
    earn_orders::table
        .filter(earn_orders::merchant_id.eq(merchant_id))
        .filter(earn_orders::order_id.eq(order_id.as_str()))
        .select(EarnOrder::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// A member's orders, newest first (for the portals' histories).
pub fn of_member(
    conn: &mut PgConnection,
    member_id: MemberId,
    limit: i64,
) -> QueryResult<Vec<EarnOrder>> {
    earn_orders::table
        .filter(earn_orders::member_id.eq(member_id))
        .order((earn_orders::occurred_at.desc(), earn_orders::id.desc()))
        .limit(limit)
        .select(EarnOrder::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_printable_ascii_without_spaces() {
        assert!(OrderId::parse("POS-2026-11-22/0001").is_ok());
        assert!(OrderId::parse(&"x".repeat(64)).is_ok());
        for bad in ["", "has space", "订单1", &"x".repeat(65), "tab\t"] {
            assert_eq!(OrderId::parse(bad), Err(InvalidOrderId), "{bad:?}");
        }
    }
}
