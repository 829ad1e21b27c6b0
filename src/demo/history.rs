//! The demo's past: thirteen weeks, day by day up to yesterday, lived through
//! the real services under a simulated clock ([`crate::clock::SimClock`]), so
//! every row — orders, refunds, quotes and exchanges, vouchers, lots, rate
//! publications, statements and payouts — is dated when it happened and agrees
//! with the ledger entry behind it.
//!
//! Each day: in the morning the scheduler's jobs (the settlement run for what
//! ended by midnight, the merchants paying what it collects from them, and on
//! Mondays the payout batch and the rate publication); through
//! the day purchases at the demo's stores, weighted by merchant, with the first
//! member (王芳) shopping every third day at her three favourite merchants;
//! in the evening a refund now and then, an exchange every other day, a reward
//! every third ordered and served at the counter or called off; at night the expiry jobs (lots, voucher
//! and hold timeouts). The draws come from a fixed RNG seed, so the history is
//! the same on every fresh database.
//!
//! Exchanges are not idempotent by key (a quote is a new offer each time), so a
//! second run does not replay the history: it finds the history's first order
//! ([`present`]) and leaves the past alone.

use anyhow::Context;
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Utc, Weekday};
use diesel::{PgConnection, dsl::exists, prelude::*};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

use super::{merchants::MERCHANTS, settlement};
use crate::{
    catalog::{self, Reward},
    clock::SimClock,
    crypto::Keys,
    db::schema::earn_orders,
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, StoreId},
        money::Money,
        points::{PointCount, ProgramCode},
        shanghai,
    },
    earn::{self, EarnRequest, OrderId, Source},
    error::Classify,
    exchange::{self, Executor, QuoteRequest},
    merchant::store,
    redemption::{self, Proposal, RedeemRequest, RedemptionStatus, pay::Leg},
};

/// Thirteen weeks: a quarter of weekly bars on the platform's home.
pub const HISTORY_DAYS: u64 = 91;
/// Any fixed value will do; changing it changes the whole history.
const RNG_SEED: u64 = 20_261_207;
/// The first member's favourite merchants (`MERCHANTS` indices: BREW, BOOKS,
/// HOTEL): she shops at one of them every third day, so she ends up holding
/// points in all three.
const FAVOURITES: [usize; 3] = [0, 3, 5];
/// Other members' purchases per day, at least and at most.
const DAILY_PURCHASES: (u32, u32) = (2, 5);
/// Chances per day, out of 10, of a refund.
const REFUND_IN_10: u32 = 3;
/// An exchange every other day and a redemption every third: regular, so that
/// every week of the history has some, whichever weekday it starts on.
const EXCHANGE_EVERY: u64 = 2;
const REDEMPTION_EVERY: u64 = 3;
/// A refund is of one of the latest orders, this many at most.
const REFUNDABLE: usize = 20;

/// The first day of the history that ends yesterday.
pub fn first_day(today: NaiveDate) -> NaiveDate {
    today - Days::new(HISTORY_DAYS)
}

/// When the demo alliance opens: 08:00 in Shanghai on the history's first day.
pub fn opens_at(today: NaiveDate) -> DateTime<Utc> {
    at(first_day(today), 8, 0)
}

/// Whether a seed played the history before (its first order exists).
pub fn present(conn: &mut PgConnection) -> QueryResult<bool> {
    let first = earn_orders::table.filter(earn_orders::order_id.eq(order_id(FAVOURITES[0], 1)));
    diesel::select(exists(first)).get_result(conn)
}

/// Who the history happens to.
pub struct Cast<'a> {
    /// In `MERCHANTS` order.
    pub merchants: &'a [MerchantId],
    /// In `MEMBER_NAMES` order: the first is 王芳.
    pub members: &'a [MemberId],
}

/// What the history did, for the summary.
#[derive(Debug, Default)]
pub struct Tally {
    pub purchases: usize,
    pub refunds: usize,
    pub exchanges: usize,
    pub served: usize,
    pub cancelled: usize,
    pub waiting: usize,
    pub lots_expired: usize,
    pub vouchers_expired: usize,
    pub statements: usize,
    /// Collections the merchants paid.
    pub collections: usize,
    pub batches: usize,
    /// Requests the services turned down (a limit reached, a price no longer
    /// payable): a member meets them too.
    pub refused: usize,
}

impl Tally {
    pub fn summary(&self, today: NaiveDate) -> String {
        format!(
            "history: {} weeks from {} to {} through the services: {} purchases, {} refunds, \
             {} exchanges, {} vouchers served, {} called off, {} waiting, {} expired; \
             {} lots expired; {} statements, {} collections paid, {} payout batches; \
             {} requests refused",
            HISTORY_DAYS / 7,
            first_day(today),
            today.pred_opt().expect("a day before today"),
            self.purchases,
            self.refunds,
            self.exchanges,
            self.served,
            self.cancelled,
            self.waiting,
            self.vouchers_expired,
            self.lots_expired,
            self.statements,
            self.collections,
            self.batches,
            self.refused,
        )
    }
}

/// Plays the history on `clock`, installed on this thread and standing at
/// [`opens_at`], up to the end of yesterday.
pub fn play(
    conn: &mut PgConnection,
    keys: &Keys,
    clock: &SimClock,
    cast: &Cast<'_>,
    today: NaiveDate,
) -> anyhow::Result<Tally> {
    let stores = cast
        .merchants
        .iter()
        .map(|&id| Ok(store::list(conn, id)?.into_iter().map(|s| s.id).collect()))
        .collect::<anyhow::Result<_>>()?;
    let mut past = Past {
        conn,
        keys,
        clock,
        cast,
        stores,
        rng: StdRng::seed_from_u64(RNG_SEED),
        actor: Actor::system("seed-demo"),
        orders: 0,
        recent: Vec::new(),
        tally: Tally::default(),
        last_day: today.pred_opt().expect("a day before today"),
    };
    // The alliance opens with rates, so its first exchanges need not wait for Monday.
    exchange::rates::publish(past.conn, exchange::rates::Trigger::Schedule, &past.actor)?;
    for offset in 0..HISTORY_DAYS {
        past.live(first_day(today) + Days::new(offset), offset)?;
    }
    Ok(past.tally)
}

/// 'hh:mm' in Shanghai on `day`.
fn at(day: NaiveDate, hour: i64, minute: i64) -> DateTime<Utc> {
    shanghai::midnight(day) + Duration::hours(hour) + Duration::minutes(minute)
}

/// The history's `number`th order, at `merchant`; numbers count across merchants.
fn order_id(merchant: usize, number: usize) -> String {
    format!("{}-H{number:05}", MERCHANTS[merchant].row.code)
}

/// An order that may be refunded later.
struct Sold {
    merchant_id: MerchantId,
    order_id: OrderId,
    amount: Money,
}

/// The history's state between days.
struct Past<'a, 'c> {
    conn: &'c mut PgConnection,
    keys: &'a Keys,
    clock: &'a SimClock,
    cast: &'a Cast<'a>,
    /// Each merchant's stores, in `MERCHANTS` order.
    stores: Vec<Vec<StoreId>>,
    rng: StdRng,
    actor: Actor,
    orders: usize,
    /// The latest orders, newest last.
    recent: Vec<Sold>,
    tally: Tally,
    last_day: NaiveDate,
}

impl Past<'_, '_> {
    fn live(&mut self, day: NaiveDate, offset: u64) -> anyhow::Result<()> {
        self.move_to(at(day, 8, 0));
        self.morning_jobs(day)?;
        self.move_to(at(day, 9, 0));
        if offset.is_multiple_of(3) {
            let favourite = FAVOURITES[(offset / 3) as usize % FAVOURITES.len()];
            self.purchase(self.cast.members[0], favourite)?;
        }
        let (fewest, most) = DAILY_PURCHASES;
        for _ in 0..self.rng.random_range(fewest..=most) {
            self.clock
                .advance(Duration::minutes(self.rng.random_range(20..=100)));
            let member = *self.cast.members.choose(&mut self.rng).expect("members");
            let merchant = self.weighted_merchant();
            self.purchase(member, merchant)?;
        }
        self.move_to(at(day, 21, 0));
        if self.rng.random_ratio(REFUND_IN_10, 10) {
            self.refund()?;
        }
        self.clock.advance(Duration::minutes(10));
        if offset.is_multiple_of(EXCHANGE_EVERY) {
            self.exchange()?;
        }
        self.clock.advance(Duration::minutes(10));
        if offset % REDEMPTION_EVERY == 1 {
            self.redeem()?;
        }
        self.move_to(at(day, 23, 30));
        self.night_jobs()
    }

    /// Moves the clock forward to `when` (it never goes back).
    fn move_to(&self, when: DateTime<Utc>) {
        let by = when - self.clock.now();
        self.clock.advance(by.max(Duration::zero()));
    }

    /// What the scheduler runs each morning: settlement daily, payouts and the
    /// rate publication on Mondays.
    fn morning_jobs(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        self.tally.statements += settlement::settle(self.conn, self.keys, &self.actor, day)?;
        self.tally.collections += settlement::pay_collections(self.conn, &self.actor)?;
        if day.weekday() != Weekday::Mon {
            return Ok(());
        }
        // The last week's payouts wait for today's batch (see `demo::seed`).
        if self.last_day - day >= chrono::TimeDelta::days(7)
            && settlement::pay_out(self.conn, &self.actor, day, false)?.is_some()
        {
            self.tally.batches += 1;
        }
        // Weekly, not daily as in production: the rates move slowly and each
        // publication costs the seed time.
        exchange::rates::publish(self.conn, exchange::rates::Trigger::Schedule, &self.actor)?;
        Ok(())
    }

    /// What the scheduler runs each night.
    fn night_jobs(&mut self) -> anyhow::Result<()> {
        let now = self.clock.now();
        self.tally.lots_expired += earn::expiry::expire_due(self.conn, now, 10_000)?;
        self.tally.vouchers_expired += redemption::expire_due(self.conn, 500, &self.actor)?;
        earn::held::void_expired_holds(self.conn, 500)?;
        Ok(())
    }

    /// A merchant drawn by the merchants' weights.
    fn weighted_merchant(&mut self) -> usize {
        let total: u32 = MERCHANTS.iter().map(|m| m.weight).sum();
        let mut draw = self.rng.random_range(0..total);
        MERCHANTS
            .iter()
            .position(|m| {
                let hit = draw < m.weight;
                draw = draw.saturating_sub(m.weight);
                hit
            })
            .expect("a draw below the total falls on a merchant")
    }

    /// A purchase at one of the merchant's stores, through the earn service.
    fn purchase(&mut self, member: MemberId, merchant: usize) -> anyhow::Result<()> {
        self.orders += 1;
        let request = EarnRequest {
            merchant_id: self.cast.merchants[merchant],
            order_id: OrderId::parse(&order_id(merchant, self.orders))?,
            member_id: member,
            amount: (MERCHANTS[merchant].basket)(&mut self.rng),
            occurred_at: None,
            store_id: self.stores[merchant].choose(&mut self.rng).copied(),
            program: None,
            source: Source::Portal,
            device_id: None,
            ip: None,
        };
        match earn::earn(self.conn, &request, &self.actor) {
            Ok(_) => {
                self.tally.purchases += 1;
                self.recent.push(Sold {
                    merchant_id: request.merchant_id,
                    order_id: request.order_id,
                    amount: request.amount,
                });
                let keep_from = self.recent.len().saturating_sub(REFUNDABLE);
                self.recent.drain(..keep_from);
                Ok(())
            }
            Err(e) if e.is_refusal() => {
                self.tally.refused += 1;
                Ok(())
            }
            Err(e) => Err(e).with_context(|| format!("demo purchase {}", request.order_id)),
        }
    }

    /// One of the latest orders comes back, in full or in part.
    fn refund(&mut self) -> anyhow::Result<()> {
        if self.recent.is_empty() {
            return Ok(());
        }
        let sold = self
            .recent
            .remove(self.rng.random_range(0..self.recent.len()));
        let amount = self.rng.random_ratio(2, 3).then(|| {
            let share = self.rng.random_range(20..=80);
            Money::from_fen((sold.amount.fen() * share / 100).max(1))
        });
        match earn::refund(
            self.conn,
            sold.merchant_id,
            &sold.order_id,
            amount,
            None,
            &self.actor,
        ) {
            Ok(_) => self.tally.refunds += 1,
            Err(e) if e.is_refusal() => self.tally.refused += 1,
            Err(e) => return Err(e).with_context(|| format!("demo refund of {}", sold.order_id)),
        }
        Ok(())
    }

    /// A member swaps part of the points of a programme they hold into
    /// another, quoted and executed through the exchange service: the first
    /// member from a random one on who holds enough of some programme.
    fn exchange(&mut self) -> anyhow::Result<()> {
        let members = self.cast.members;
        let first = self.rng.random_range(0..members.len());
        for turn in 0..members.len() {
            if self.exchange_by(members[(first + turn) % members.len()])? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Whether the member had points enough to ask for a quote.
    fn exchange_by(&mut self, member: MemberId) -> anyhow::Result<bool> {
        let start = self.rng.random_range(0..MERCHANTS.len());
        for step in 0..MERCHANTS.len() {
            let from = (start + step) % MERCHANTS.len();
            let demo = &MERCHANTS[from];
            let code = ProgramCode::parse(demo.row.code)?;
            let available = exchange::quote::available(self.conn, member, code.as_str())?;
            let fewest = *demo.exchange_steps.start();
            let most = (available / demo.exchange_step).min(*demo.exchange_steps.end());
            if most < fewest {
                continue;
            }
            let points = self.rng.random_range(fewest..=most) * demo.exchange_step;
            let to = (from + self.rng.random_range(1..MERCHANTS.len())) % MERCHANTS.len();
            let request = QuoteRequest {
                member_id: member,
                from_program: code,
                to_program: ProgramCode::parse(MERCHANTS[to].row.code)?,
                from_points: PointCount::new(points)?,
                merchant_id: None,
            };
            let quote = match exchange::quote(self.conn, &request, &self.actor) {
                Ok(quote) => quote,
                Err(e) if e.is_refusal() => {
                    self.tally.refused += 1;
                    return Ok(true);
                }
                Err(e) => return Err(e).context("demo exchange quote"),
            };
            match exchange::execute(self.conn, &quote.id, Executor::Member(member), &self.actor) {
                Ok(_) => self.tally.exchanges += 1,
                Err(e) if e.is_refusal() => self.tally.refused += 1,
                Err(e) => return Err(e).context("demo exchange"),
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// A member orders a reward with the proposed mix — the first member from
    /// a random one on who can pay for it; most vouchers are served at the
    /// counter, some are called off, a few wait (and lapse when their time is
    /// up).
    fn redeem(&mut self) -> anyhow::Result<()> {
        let rewards = catalog::published(self.conn, self.clock.now())?;
        let Some(reward) = rewards.choose(&mut self.rng) else {
            return Ok(());
        };
        let members = self.cast.members;
        let first = self.rng.random_range(0..members.len());
        for turn in 0..members.len() {
            let member = members[(first + turn) % members.len()];
            if let Some(proposal) = redemption::propose(self.conn, member, reward.id)? {
                return self.order(member, reward, &proposal);
            }
        }
        Ok(())
    }

    fn order(
        &mut self,
        member: MemberId,
        reward: &Reward,
        proposal: &Proposal,
    ) -> anyhow::Result<()> {
        let request = RedeemRequest {
            member_id: member,
            reward_id: reward.id,
            pay: proposal.legs.iter().filter_map(Leg::as_pay).collect(),
            cash: proposal.cash,
            request_key: format!("demo-h{}", self.clock.now().timestamp()),
        };
        let held = match redemption::redeem(self.conn, &request, &self.actor) {
            Ok(held) => held,
            Err(e) if e.is_refusal() => {
                self.tally.refused += 1;
                return Ok(());
            }
            Err(e) => return Err(e).context("demo redemption"),
        };
        debug_assert_eq!(held.status, RedemptionStatus::Held);
        self.clock.advance(Duration::minutes(30));
        match self.rng.random_range(0..10) {
            0..7 => {
                redemption::fulfil(
                    self.conn,
                    reward.merchant_id,
                    &held.voucher_code,
                    None,
                    &self.actor,
                )
                .context("serving a demo voucher")?;
                self.tally.served += 1;
            }
            7..9 => {
                redemption::cancel(self.conn, member, held.id, &self.actor)
                    .context("calling off a demo voucher")?;
                self.tally.cancelled += 1;
            }
            _ => self.tally.waiting += 1,
        }
        Ok(())
    }
}
