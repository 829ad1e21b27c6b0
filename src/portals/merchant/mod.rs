//! The merchant console (商户端), for a partner merchant's own staff.

mod dashboard;
mod staff;

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
    cfg.configure(dashboard::routes).configure(staff::routes);
}

/// Who sees the staff list; only the owner changes it.
const STAFF_READERS: &[MerchantRole] = &[MerchantRole::Owner, MerchantRole::Manager];

fn chrome(ctx: &PageContext, who: &MerchantPrincipal, current: &str) -> Chrome {
    let locale = ctx.locale;
    let mut nav = vec![nav_item(
        locale,
        "/merchant",
        "merchant.nav.dashboard",
        current,
    )];
    if STAFF_READERS.contains(&who.user.role()) {
        nav.push(nav_item(
            locale,
            "/merchant/staff",
            "merchant.nav.staff",
            current,
        ));
    }
    let user = UserBadge {
        name: format!("{} · {}", who.user.display_name, who.merchant.name(locale)),
        role: locale
            .t(&format!("role.{}", who.user.role().as_str()))
            .into_owned(),
    };
    ctx.chrome(Some(Portal::Merchant), Some(user), nav)
}
