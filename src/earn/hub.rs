//! The hub program ALP (联盟积分) belongs to the house: what a merchant pays per
//! ALP it issues, and how long ALP lasts.

use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::{db::schema::hub_program, domain::rate::Rate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubPolicy {
    /// CNY per ALP a merchant pays when it issues ALP.
    pub issue_price: Rate,
    /// 0: ALP never expires.
    pub expiry_months: i16,
}

pub fn policy(conn: &mut PgConnection) -> QueryResult<HubPolicy> {
    let (price, expiry_months): (Decimal, i16) = hub_program::table
        .select((hub_program::issue_price, hub_program::expiry_months))
        .first(conn)?;
    Ok(HubPolicy {
        // The column's CHECK keeps the price positive, which is all Rate needs.
        issue_price: Rate::new(price).expect("the hub issue price is positive"),
        expiry_months,
    })
}
