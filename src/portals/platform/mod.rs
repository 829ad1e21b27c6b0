//! The platform portal (平台端), for the alliance's operators.

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

fn chrome(ctx: &PageContext, who: &OperatorPrincipal, current: &str) -> Chrome {
    let locale = ctx.locale;
    let role = who.operator.role;
    let mut nav: Vec<NavItem> = vec![
        nav_item(locale, "/platform", "platform.nav.dashboard", current),
        nav_item(
            locale,
            "/platform/approvals",
            "platform.nav.approvals",
            current,
        ),
        nav_item(
            locale,
            "/platform/merchants",
            "platform.nav.merchants",
            current,
        ),
        nav_item(locale, "/platform/risk", "platform.nav.risk", current),
        nav_item(
            locale,
            "/platform/campaigns",
            "earning_portals.nav.campaigns",
            current,
        ),
        nav_item(
            locale,
            "/platform/exchange",
            "platform_exchange.nav.exchange",
            current,
        ),
        nav_item(locale, "/platform/rewards", "reward_caps.nav", current),
        nav_item(
            locale,
            "/platform/verifications",
            "platform_exchange.nav.verifications",
            current,
        ),
    ];
    if applications::REVIEWERS.contains(&role) {
        nav.push(nav_item(
            locale,
            "/platform/applications",
            "platform.nav.applications",
            current,
        ));
    }
    if settlement::SETTLEMENT_READERS.contains(&role) {
        nav.push(nav_item(
            locale,
            "/platform/settlement",
            "settlement_portals.nav",
            current,
        ));
    }
    if reports::REPORT_READERS.contains(&role) {
        nav.push(nav_item(
            locale,
            "/platform/reports",
            "reports.nav",
            current,
        ));
    }
    if books::BOOK_READERS.contains(&role) {
        nav.push(nav_item(locale, "/platform/books", "books.nav", current));
    }
    if AUDIT_READERS.contains(&role) {
        nav.push(nav_item(
            locale,
            "/platform/audit",
            "platform.nav.audit",
            current,
        ));
    }
    nav.push(nav_item(
        locale,
        "/platform/exports",
        "exports.nav",
        current,
    ));
    if role == OperatorRole::Admin {
        nav.push(nav_item(
            locale,
            "/platform/operators",
            "platform.nav.operators",
            current,
        ));
    }
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
