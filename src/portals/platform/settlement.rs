//! Finance's settlement pages (PRODUCT.md, platform portal): settlement runs and
//! their statements, payout batches with their bank files, collections of what
//! merchants owe, and each merchant's settlement terms and recipients.
//!
//! Finance and admins act; risk reads. Handlers call the settlement services in
//! `crate::settlement` and never query the database themselves. One page area
//! a submodule: `runs`, `payouts`, `collections`, `merchant_terms`; the rows
//! the merchant console shows too are `portals::settlement_view`.

mod collections;
mod merchant_terms;
mod payouts;
mod runs;

use std::collections::HashMap;

use actix_web::web;

use crate::{
    domain::id::MerchantId,
    i18n::Locale,
    merchant::standing,
    people::operator::OperatorRole,
    settlement::payout_file::Party,
    web::{auth::OperatorPrincipal, error::WebError},
};

/// Who moves settlement money: runs settlements, makes and resolves batches,
/// records collections, sets terms and recipients.
pub(super) const SETTLEMENT_HANDLERS: &[OperatorRole] =
    &[OperatorRole::Finance, OperatorRole::Admin];
/// Who reads the settlement pages.
pub(super) const SETTLEMENT_READERS: &[OperatorRole] = &[
    OperatorRole::Finance,
    OperatorRole::Admin,
    OperatorRole::Risk,
];
const LIST_SIZE: i64 = 200;
/// How many pending payouts the batch page adds up (a batch takes at most a
/// bank file's worth; the rest wait for the next).
const PENDING_SCAN: i64 = 10_000;

/// The house's own bank account, which pays every payout: the debtor of each
/// batch's bank file. The one place it is written down.
pub fn house_account() -> Party {
    Party {
        name: "联盟清算中心".to_owned(),
        account: "121900000000001".to_owned(),
        bank_name: "招商银行上海分行".to_owned(),
        bank_code: Some("CMBCCNBS".to_owned()),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(runs::routes)
        .configure(payouts::routes)
        .configure(collections::routes)
        .configure(merchant_terms::routes);
}

fn can_act(who: &OperatorPrincipal) -> bool {
    SETTLEMENT_HANDLERS.contains(&who.operator.role)
}

/// `code · name` of every merchant, by id.
fn merchant_names(
    conn: &mut diesel::PgConnection,
    locale: Locale,
) -> Result<HashMap<MerchantId, String>, WebError> {
    Ok(standing::list(conn)?
        .iter()
        .map(|m| (m.id, format!("{} · {}", m.code, m.name(locale))))
        .collect())
}
