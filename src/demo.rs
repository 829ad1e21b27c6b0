//! The demo data set (`alliance seed-demo`): eight Shanghai merchants with
//! their stores, points programmes, deposits and settlement terms, 24 members,
//! a rewards catalog, and thirteen weeks of history up to yesterday, then a
//! little of today — all through the real services, so every domain table
//! agrees with the ledger and nothing here books an entry by hand.
//!
//! The alliance opens on the history's first day: the seed installs a
//! simulated clock ([`crate::clock::SimClock`]) standing then, sets everyone up
//! under it, and moves it forward day by day through the history
//! ([`history`]); today's activity happens at the time the seed runs.
//!
//! Running it again adds nothing: people, stores, programmes, deposits and
//! rewards are found before they are made, the history is played only on a
//! database without it, and today's purchases and redemptions have fixed
//! order ids and request keys that the services replay. The sign-in accounts
//! the summary lists all share [`DEMO_PASSWORD`].

mod catalog;
mod history;
mod merchants;
mod people;
mod settlement;
mod today;

use chrono::Days;
use diesel::PgConnection;

pub use self::people::DEMO_PASSWORD;
use self::{history::Cast, merchants::MERCHANTS, people::People};
use crate::{
    clock::{self, SimClock},
    crypto::Keys,
    domain::{actor::Actor, shanghai},
};

/// How long the demo's rewards stay on offer after today.
const REWARDS_OFFERED_DAYS: u64 = 180;

/// Loads the demo data set; safe to run again. `keys` must be the server's, since
/// members' mobile numbers are encrypted and indexed with them. Returns a summary
/// that ends with where to sign in.
pub fn seed(conn: &mut PgConnection, keys: &Keys) -> anyhow::Result<String> {
    let today = shanghai::date_of(clock::now());
    let actor = Actor::system("seed-demo");
    let opening = SimClock::starting_at(history::opens_at(today));
    let (people, setup, rewards, past) = {
        let _then = opening.install();
        let people = People::ensure(conn, keys)?;
        let ids = &people.merchant_ids;
        let setup = merchants::set_up(conn, &actor, ids)?;
        settlement::prepare(conn, keys, &actor, ids)?;
        let last_offered = today + Days::new(REWARDS_OFFERED_DAYS);
        let rewards = catalog::fill(conn, ids, history::first_day(today), last_offered)?;
        let past = if history::present(conn)? {
            "history: already present".to_owned()
        } else {
            let cast = Cast {
                merchants: ids,
                members: &people.member_ids,
            };
            history::play(conn, keys, &opening, &cast, today)?.summary(today)
        };
        (people, setup, rewards, past)
    };
    let members = &people.member_ids;
    let earned = today::earn(conn, &people.merchant_ids, members, today)?;
    let exchanged = today::exchange(conn, members, today)?;
    let redeemed = catalog::redeem(conn, members)?;
    let alike = catalog::redeem_alike(conn, members)?;
    // Yesterday's periods have ended: settled now, with a payout batch that
    // the bank has paid all but one of. Today's activity waits for tomorrow.
    let settled = settlement::settle(conn, keys, &actor, today)?;
    let batch = settlement::pay_out(conn, &actor, today, true)?;
    Ok(format!(
        "demo data: {} merchants ({}), {} members\n{past}\n\
         today: {earned} purchases through the earn service, rates published once a day, \
         {exchanged} exchanges through the exchange service, {redeemed} members redeemed \
         through the redemption service, {alike} of them also what the first member did\n\
         {rewards} rewards published; {settled} statements of ended periods settled today{}\n\
         {}\n{}\n{}",
        MERCHANTS.len(),
        MERCHANTS
            .iter()
            .map(|m| format!("{} {}", m.row.name_zh, m.row.name_en))
            .collect::<Vec<_>>()
            .join(", "),
        members.len(),
        batch.map(|line| format!("; {line}")).unwrap_or_default(),
        setup.summary(),
        people.summary(),
        people::sign_ins()
    ))
}
