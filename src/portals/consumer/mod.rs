//! The member app (消费者端): phone-first, for the members of every program.

mod code_sign_in;
mod code_step;
mod exchange;
mod for_you;
mod home;
mod location;
mod nearby;
mod password_reset;
mod points;
mod profile;
mod rewards;
mod sign_up;
mod verification;
mod verify_phone;

use actix_web::web;

use crate::{
    domain::portal::Portal,
    web::{
        auth::MemberPrincipal,
        context::PageContext,
        page::{Chrome, UserBadge},
    },
};

use super::nav_item;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(sign_up::routes)
        .configure(code_sign_in::routes)
        .configure(password_reset::routes)
        .configure(verify_phone::routes)
        .configure(home::routes)
        .configure(points::routes)
        .configure(exchange::routes)
        .configure(nearby::routes)
        .configure(for_you::routes)
        .configure(rewards::routes)
        .configure(profile::routes)
        .configure(verification::routes);
}

fn chrome(ctx: &PageContext, who: &MemberPrincipal, current: &str) -> Chrome {
    let locale = ctx.locale;
    let nav = vec![
        nav_item(locale, "/consumer", "consumer.nav.points", current),
        nav_item(
            locale,
            "/consumer/exchange",
            "consumer_exchange.nav",
            current,
        ),
        nav_item(locale, "/consumer/rewards", "consumer_rewards.nav", current),
        nav_item(locale, "/consumer/nearby", "consumer_nearby.nav", current),
        nav_item(locale, "/consumer/profile", "consumer.nav.profile", current),
    ];
    let user = UserBadge {
        name: who.member.display_name.clone(),
        role: who.phone.masked(),
    };
    ctx.chrome(Some(Portal::Consumer), Some(user), nav)
}
