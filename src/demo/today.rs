//! Today in the demo, at the real time: the rates published, a purchase per
//! member at one of the newer merchants and a few exchanges, so the portals
//! show live activity besides the history. Order ids carry the date and a
//! member who exchanged today is left alone, so a second run the same day
//! adds nothing.

use anyhow::Context;
use chrono::NaiveDate;
use diesel::{PgConnection, dsl::exists, prelude::*};
use rand::{SeedableRng, rngs::StdRng};

use super::merchants::MERCHANTS;
use crate::{
    db::schema::rate_publications,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId},
        points::{PointCount, ProgramCode},
        shanghai,
    },
    earn,
    error::Classify,
    exchange,
};

/// The merchants today's purchases are at: all but BREW and MART, whose
/// tills are busy enough in the history.
const FIRST_TODAY: usize = 2;
/// Any fixed value will do.
const RNG_SEED: u64 = 20_261_208;
/// How many members exchange today.
const EXCHANGES_TODAY: usize = 8;

/// Today's purchases, one per member, through the earn service; returns how
/// many were new (a second run the same day replays them).
pub fn earn(
    conn: &mut PgConnection,
    merchants: &[MerchantId],
    members: &[MemberId],
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let till = Actor::system("seed-demo");
    let mut rng = StdRng::seed_from_u64(RNG_SEED);
    let newer = FIRST_TODAY..MERCHANTS.len();
    let mut new = 0;
    for (index, &member) in members.iter().enumerate() {
        let merchant = newer.start + index % newer.len();
        let request = earn::EarnRequest {
            merchant_id: merchants[merchant],
            order_id: earn::OrderId::parse(&format!(
                "{}-{}-T{index:03}",
                MERCHANTS[merchant].row.code,
                today.format("%Y%m%d")
            ))?,
            member_id: member,
            amount: (MERCHANTS[merchant].basket)(&mut rng),
            occurred_at: None,
            store_id: None,
            program: None,
            source: earn::Source::Portal,
            device_id: None,
            ip: None,
        };
        let earned = earn::earn(conn, &request, &till)
            .with_context(|| format!("demo earn {}", request.order_id))?;
        new += usize::from(!earned.replayed);
    }
    Ok(new)
}

/// Publishes the rate model's rates (once a day), then has a few members exchange part of
/// their points of one programme into the next one they can reach (quote,
/// execute). Returns how many exchanged now.
pub fn exchange(
    conn: &mut PgConnection,
    members: &[MemberId],
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let actor = Actor::system("seed-demo");
    let published_today = rate_publications::table
        .filter(rate_publications::published_at.ge(shanghai::midnight(today)));
    if !diesel::select(exists(published_today)).get_result(conn)? {
        exchange::rates::publish(conn, exchange::rates::Trigger::Schedule, &actor)?;
    }
    let mut done = 0;
    for (index, &member) in members.iter().take(EXCHANGES_TODAY).enumerate() {
        let latest = exchange::execute::of_member(conn, member, 1)?;
        if latest
            .first()
            .is_some_and(|x| shanghai::date_of(x.created_at) == today)
        {
            continue;
        }
        let from = &MERCHANTS[index % MERCHANTS.len()];
        let points = PointCount::new(from.exchange_step * from.exchange_steps.start())?;
        // Each side's limits and the member's balance decide, as they would
        // for a real member.
        for offset in 1..MERCHANTS.len() {
            let to = &MERCHANTS[(index + offset) % MERCHANTS.len()];
            let request = exchange::QuoteRequest {
                member_id: member,
                from_program: ProgramCode::parse(from.row.code)?,
                to_program: ProgramCode::parse(to.row.code)?,
                from_points: points,
                merchant_id: None,
            };
            let quote = match exchange::quote(conn, &request, &actor) {
                Ok(quote) => quote,
                Err(e) if e.is_refusal() => continue,
                Err(e) => return Err(e).context("demo exchange quote"),
            };
            exchange::execute(conn, &quote.id, exchange::Executor::Member(member), &actor)
                .context("demo exchange")?;
            done += 1;
            break;
        }
    }
    Ok(done)
}
