//! The platform portal (平台端), for the alliance's operators.

mod action;
mod applications;
pub(super) mod approvals;
mod audit;
mod books;
mod campaigns;
mod dashboard;
mod deposits;
mod exchange;
mod exports;
mod merchants;
mod operators;
mod reports;
mod reward_caps;
mod risk;
pub(super) mod settlement;
mod verifications;

use actix_web::web;

use crate::{
    people::operator::OperatorRole,
    web::{
        auth::OperatorPrincipal,
        context::PageContext,
        page::{Chrome, NavItem, UserBadge},
    },
};

use super::nav_item;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(dashboard::routes)
        .configure(applications::routes)
        .configure(approvals::routes)
        .configure(audit::routes)
        .configure(campaigns::routes)
        .configure(operators::routes)
        .configure(merchants::routes)
        .configure(deposits::routes)
        .configure(risk::routes)
        .configure(exchange::routes)
        .configure(verifications::routes)
        .configure(reward_caps::routes)
        .configure(settlement::routes)
        .configure(books::routes)
        .configure(reports::routes)
        .configure(exports::routes);
}

/// Who may read the audit log: it shows every change with before and after.
const AUDIT_READERS: &[OperatorRole] = &[OperatorRole::Admin, OperatorRole::Risk];

/// Every operator.
const EVERYONE: &[OperatorRole] = &OperatorRole::ALL;
const ADMIN: &[OperatorRole] = &[OperatorRole::Admin];

/// The navigation, in order: (path, label key, who sees it).
const NAV: &[(&str, &str, &[OperatorRole])] = &[
    ("/platform", "platform.nav.dashboard", EVERYONE),
    ("/platform/approvals", "platform.nav.approvals", EVERYONE),
    ("/platform/merchants", "platform.nav.merchants", EVERYONE),
    ("/platform/risk", "platform.nav.risk", EVERYONE),
    (
        "/platform/campaigns",
        "earning_portals.nav.campaigns",
        EVERYONE,
    ),
    (
        "/platform/exchange",
        "platform_exchange.nav.exchange",
        EVERYONE,
    ),
    ("/platform/rewards", "reward_caps.nav", EVERYONE),
    (
        "/platform/verifications",
        "platform_exchange.nav.verifications",
        EVERYONE,
    ),
    (
        "/platform/applications",
        "platform.nav.applications",
        applications::REVIEWERS,
    ),
    (
        "/platform/settlement",
        "settlement_portals.nav",
        settlement::SETTLEMENT_READERS,
    ),
    ("/platform/reports", "reports.nav", reports::REPORT_READERS),
    ("/platform/books", "books.nav", books::BOOK_READERS),
    ("/platform/audit", "platform.nav.audit", AUDIT_READERS),
    ("/platform/exports", "exports.nav", EVERYONE),
    ("/platform/operators", "platform.nav.operators", ADMIN),
];

fn chrome(ctx: &PageContext, who: &OperatorPrincipal, current: &str) -> Chrome {
    let locale = ctx.locale;
    let role = who.operator.role;
    let nav: Vec<NavItem> = NAV
        .iter()
        .filter(|(_, _, roles)| roles.contains(&role))
        .map(|(href, key, _)| nav_item(locale, href, key, current))
        .collect();
    let user = UserBadge {
        name: who.operator.display_name.clone(),
        role: locale.t(&format!("role.{}", role.as_str())).into_owned(),
    };
    ctx.chrome(
        Some(crate::domain::portal::Portal::Platform),
        Some(user),
        nav,
    )
}
