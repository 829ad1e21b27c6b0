//! The merchant console (商户端), for a partner merchant's own staff.

mod adjustments;
mod api_keys;
mod approvals;
mod catalog;
mod dashboard;
pub(super) mod deposit;
mod exports;
pub(super) mod form;
mod issue;
mod program;
mod reach;
mod redeem;
mod reports;
mod settings;
mod settlement;
mod staff;
mod stores;

use actix_web::web;

use crate::{
    domain::portal::Portal,
    people::merchant_user::MerchantRole,
    web::{
        auth::MerchantPrincipal,
        context::PageContext,
        page::{Chrome, UserBadge},
    },
};

use super::nav_item;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(dashboard::routes)
        .configure(issue::routes)
        .configure(redeem::routes)
        .configure(adjustments::routes)
        .configure(approvals::routes)
        .configure(staff::routes)
        .configure(deposit::routes)
        .configure(stores::routes)
        .configure(catalog::routes)
        .configure(api_keys::routes)
        .configure(program::routes)
        .configure(settings::routes)
        .configure(settlement::routes)
        .configure(reports::routes)
        .configure(exports::routes);
}

/// Who sees the staff list; only the owner changes it.
const STAFF_READERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];
/// Who manages API keys and settings.
const OWNER: &[MerchantRole] = &[MerchantRole::Owner];

fn chrome(ctx: &PageContext, who: &MerchantPrincipal, current: &str) -> Chrome {
    let locale = ctx.locale;
    let mut nav = vec![nav_item(
        locale,
        "/merchant",
        "merchant.nav.dashboard",
        current,
    )];
    if STAFF_READERS.contains(&who.user.role) {
        nav.push(nav_item(
            locale,
            "/merchant/staff",
            "merchant.nav.staff",
            current,
        ));
    }
    for (href, key, roles) in [
        (
            "/merchant/issue",
            "earning_portals.nav.issue",
            issue::ISSUERS,
        ),
        (
            "/merchant/redeem",
            "redemption_portals.nav",
            redeem::REDEEMERS,
        ),
        (
            "/merchant/adjustments",
            "earning_portals.nav.adjustments",
            adjustments::ADJUSTERS,
        ),
        (
            "/merchant/approvals",
            "earning_portals.nav.approvals",
            approvals::CHECKERS,
        ),
        (
            "/merchant/deposit",
            "merchant.nav.deposit",
            deposit::DEPOSIT_KEEPERS,
        ),
        (
            "/merchant/settlement",
            "settlement_portals.nav",
            settlement::SETTLEMENT_READERS,
        ),
        ("/merchant/reports", "reports.nav", reports::REPORT_READERS),
        (
            "/merchant/stores",
            "merchant_admin.nav.stores",
            stores::STORE_KEEPERS,
        ),
        ("/merchant/catalog", "catalog.nav", catalog::CATALOG_READERS),
        ("/merchant/program", "program.nav", program::PROGRAM_KEEPERS),
        ("/merchant/api-keys", "merchant_admin.nav.api_keys", OWNER),
        ("/merchant/settings", "merchant_admin.nav.settings", OWNER),
    ] {
        if roles.contains(&who.user.role) {
            nav.push(nav_item(locale, href, key, current));
        }
    }
    nav.push(nav_item(
        locale,
        "/merchant/exports",
        "exports.nav",
        current,
    ));
    let user = UserBadge {
        name: format!("{} · {}", who.user.display_name, who.merchant.name(locale)),
        role: locale
            .t(&format!("role.{}", who.user.role.as_str()))
            .into_owned(),
    };
    ctx.chrome(Some(Portal::Merchant), Some(user), nav)
}
