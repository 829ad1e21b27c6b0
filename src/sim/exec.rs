//! Carries out one operation through the domain services, exactly as a portal,
//! the partner API or the job runner would call them, and sorts what came back:
//! done, refused (the caller gets a 4xx and a translated reason), nothing to do,
//! or failed (what would be a 5xx). A failure ends the simulation.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use diesel::{PgConnection, RunQueryDsl, prelude::*};
use serde_json::json;

use crate::{
    approval::{self, ApprovalStatus, Policy},
    clock::SimClock,
    crypto::Keys,
    db::schema::{earn_orders, redemptions, rewards},
    deposit::{self, NewTopup},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, RewardId},
        money::Money,
        points::{PointCount, ProgramCode},
        rate::Rate,
        shanghai,
    },
    earn::{self, EarnRequest, OrderId, Source},
    error::Classify,
    exchange::{self, Executor, QuoteRequest, overrides},
    exit,
    redemption::{self, RedeemRequest, RedemptionStatus, pay::Leg},
    settlement, startup,
};

use super::{
    op::{Amount, Job, Op, Pay},
    world::World,
};

/// What became of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(String),
    Refused(String),
    /// Nothing matched what it names (no such order, no points to exchange).
    Skipped,
    /// A failure of the system: a 5xx to the caller.
    Failed(String),
}

/// Everything the operations of one sequence share.
#[derive(Debug)]
pub struct Context<'a> {
    pub world: &'a World,
    pub clock: Arc<SimClock>,
    pub keys: &'a Keys,
    /// Quotes taken and not yet executed, oldest first.
    pub open_quotes: Mutex<Vec<(MemberId, String)>>,
    /// Numbers order ids and request keys, so that none repeats within a sequence.
    pub counter: std::sync::atomic::AtomicU64,
}

impl Context<'_> {
    fn next(&self) -> u64 {
        self.counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }
}

/// Sorts a service's result by whether its error is the caller's or the system's.
fn sorted<T, E: std::fmt::Display>(
    result: Result<T, E>,
    refusal: impl Fn(&E) -> bool,
    done: impl FnOnce(T) -> String,
) -> Outcome {
    match result {
        Ok(value) => Outcome::Done(done(value)),
        Err(e) if refusal(&e) => Outcome::Refused(e.to_string()),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn failed(error: impl std::fmt::Display) -> Outcome {
    Outcome::Failed(error.to_string())
}

pub fn run(conn: &mut PgConnection, cx: &Context<'_>, op: &Op) -> Outcome {
    match op {
        Op::Earn { .. } | Op::Refund { .. } => earning(conn, cx, op),
        Op::Exchange { .. } | Op::ExecuteQuote { .. } => exchanging(conn, cx, op),
        Op::Redeem { .. } | Op::Fulfil { .. } | Op::Cancel { .. } => redeeming(conn, cx, op),
        Op::PayCollection { .. } | Op::TopUp { .. } | Op::Deduct { .. } => {
            merchant_money(conn, cx, op)
        }
        Op::Exit { .. } | Op::RefundDeposit { .. } | Op::Override { .. } => {
            merchant_standing(conn, cx, op)
        }
        Op::Advance { minutes } => {
            cx.clock.advance(Duration::minutes(*minutes));
            Outcome::Done(format!("now {}", cx.clock.now()))
        }
        Op::Job(job) => run_job(conn, cx, *job),
    }
}

/// Purchases and refunds, as a till or the partner API sends them.
fn earning(conn: &mut PgConnection, cx: &Context<'_>, op: &Op) -> Outcome {
    let system = Actor::system("simulator");
    match *op {
        Op::Earn {
            member: m,
            merchant,
            fen,
        } => {
            let merchant = cx.world.merchant(merchant);
            let request = EarnRequest {
                merchant_id: merchant.id,
                order_id: OrderId::parse(&format!("SIM-{}", cx.next())).expect("a plain order id"),
                member_id: cx.world.member(m),
                amount: Money::from_fen(fen),
                occurred_at: None,
                store_id: None,
                program: None,
                source: Source::Api,
                device_id: None,
                ip: None,
            };
            sorted(
                earn::earn(conn, &request, &system),
                earn::EarnError::is_refusal,
                |e| format!("{} points", e.order.points),
            )
        }
        Op::Refund {
            member: m,
            pick,
            share_bp,
        } => {
            let orders: Vec<(MerchantId, String, i64, i64)> = match earn_orders::table
                .filter(earn_orders::member_id.eq(cx.world.member(m)))
                .filter(earn_orders::refunded_fen.lt(earn_orders::amount_fen))
                .order(earn_orders::id.desc())
                .select((
                    earn_orders::merchant_id,
                    earn_orders::order_id,
                    earn_orders::amount_fen,
                    earn_orders::refunded_fen,
                ))
                .load(conn)
            {
                Ok(orders) => orders,
                Err(e) => return failed(e),
            };
            let Some((merchant_id, order_id, amount, refunded)) =
                orders.get(pick % orders.len().max(1)).cloned()
            else {
                return Outcome::Skipped;
            };
            let amount = share_bp
                .map(|bp| Money::from_fen(((amount - refunded) * i64::from(bp) / 10_000).max(1)));
            let order_id = OrderId::parse(&order_id).expect("stored order ids parse");
            sorted(
                earn::refund(conn, merchant_id, &order_id, amount, None, &system),
                earn::RefundError::is_refusal,
                |r| format!("{r:?}"),
            )
        }
        _ => unreachable!("earning is given only its own operations"),
    }
}

/// Quotes and executions, as a member's app or the partner API asks.
fn exchanging(conn: &mut PgConnection, cx: &Context<'_>, op: &Op) -> Outcome {
    let system = Actor::system("simulator");
    match *op {
        Op::Exchange {
            member: m,
            from,
            to,
            amount,
            execute,
        } => {
            let programs = &cx.world.programs;
            let (from, to) = (
                &programs[from % programs.len()],
                &programs[to % programs.len()],
            );
            let member_id = cx.world.member(m);
            let available = match exchange::quote::available(conn, member_id, from.as_str()) {
                Ok(points) => points,
                Err(e) => return failed(e),
            };
            let points = match amount {
                Amount::Share(bp) => available * i64::from(bp) / 10_000,
                Amount::Points(points) => points,
            };
            let Ok(points) = PointCount::new(points) else {
                return Outcome::Skipped;
            };
            let request = QuoteRequest {
                member_id,
                from_program: from.clone(),
                to_program: to.clone(),
                from_points: points,
                merchant_id: None,
            };
            let quote = match exchange::quote(conn, &request, &system) {
                Ok(quote) => quote,
                Err(e) if e.is_refusal() => return Outcome::Refused(e.to_string()),
                Err(e) => return failed(e),
            };
            if !execute {
                cx.open_quotes
                    .lock()
                    .expect("no thread panics holding it")
                    .push((member_id, quote.id.clone()));
                return Outcome::Done(format!("quoted {}", quote.id));
            }
            sorted(
                exchange::execute(conn, &quote.id, Executor::Member(member_id), &system),
                exchange::ExchangeError::is_refusal,
                |x| format!("{x:?}"),
            )
        }
        Op::ExecuteQuote { pick } => {
            let picked = {
                let mut open = cx.open_quotes.lock().expect("no thread panics holding it");
                if open.is_empty() {
                    return Outcome::Skipped;
                }
                let i = pick % open.len();
                open.remove(i)
            };
            let (member_id, quote_id) = picked;
            sorted(
                exchange::execute(conn, &quote_id, Executor::Member(member_id), &system),
                exchange::ExchangeError::is_refusal,
                |x| format!("{x:?}"),
            )
        }
        _ => unreachable!("exchanging is given only its own operations"),
    }
}

/// Orders, serving and calling off vouchers.
fn redeeming(conn: &mut PgConnection, cx: &Context<'_>, op: &Op) -> Outcome {
    let system = Actor::system("simulator");
    match *op {
        Op::Redeem {
            member: m,
            reward,
            pay,
        } => {
            let Some(&reward_id) = cx.world.rewards.get(reward % cx.world.rewards.len().max(1))
            else {
                return Outcome::Skipped;
            };
            let member_id = cx.world.member(m);
            let (pay, cash) = match payment(conn, member_id, reward_id, pay) {
                Ok(Some(payment)) => payment,
                Ok(None) => return Outcome::Skipped,
                Err(e) if e.is_refusal() => return Outcome::Refused(e.to_string()),
                Err(e) => return failed(e),
            };
            let request = RedeemRequest {
                member_id,
                reward_id,
                pay,
                cash,
                request_key: format!("sim-{}", cx.next()),
            };
            sorted(
                redemption::redeem(conn, &request, &system),
                redemption::RedeemError::is_refusal,
                |r| format!("voucher {} held", r.voucher_code),
            )
        }
        Op::Fulfil { member: m, pick } | Op::Cancel { member: m, pick } => {
            let held: Vec<(i64, MerchantId, String)> = match redemptions::table
                .filter(redemptions::member_id.eq(cx.world.member(m)))
                .filter(redemptions::status.eq(RedemptionStatus::Held))
                .order(redemptions::id.desc())
                .select((
                    redemptions::id,
                    redemptions::merchant_id,
                    redemptions::voucher_code,
                ))
                .load(conn)
            {
                Ok(held) => held,
                Err(e) => return failed(e),
            };
            let Some((id, merchant_id, voucher)) = held.get(pick % held.len().max(1)).cloned()
            else {
                return Outcome::Skipped;
            };
            let result = if matches!(op, Op::Fulfil { .. }) {
                redemption::fulfil(conn, merchant_id, &voucher, None, &system)
            } else {
                redemption::cancel(conn, cx.world.member(m), id, &system)
            };
            sorted(result, redemption::RedeemError::is_refusal, |r| {
                format!("voucher {} {}", r.voucher_code, r.status)
            })
        }
        _ => unreachable!("redeeming is given only its own operations"),
    }
}

/// Money between a merchant and the house outside settlement.
fn merchant_money(conn: &mut PgConnection, cx: &Context<'_>, op: &Op) -> Outcome {
    let system = Actor::system("simulator");
    match *op {
        Op::PayCollection { merchant, share_bp } => {
            use settlement::collection::{self, CollectionError};
            let merchant = cx.world.merchant(merchant);
            let open = match collection::list(conn, true, 1_000) {
                Ok(open) => open,
                Err(e) => return failed(e),
            };
            let Some(owed) = open.iter().find(|c| c.merchant_id == merchant.id) else {
                return Outcome::Skipped;
            };
            let outstanding = owed.outstanding().fen();
            let amount = share_bp.map_or(outstanding, |bp| {
                (outstanding * i64::from(bp) / 10_000).max(1)
            });
            sorted(
                collection::record_receipt(
                    conn,
                    &cx.world.maker,
                    owed.id,
                    Money::from_fen(amount),
                    &format!("SIMPAY{}", cx.next()),
                ),
                |e| {
                    !matches!(
                        e,
                        CollectionError::Ledger(_)
                            | CollectionError::Database(_)
                            | CollectionError::Entry(_)
                    )
                },
                |c| format!("collection {} {}", c.id, c.status),
            )
        }
        Op::TopUp { merchant, fen } => {
            let merchant = cx.world.merchant(merchant);
            let new = NewTopup {
                amount: Money::from_fen(fen),
                bank_reference: format!("SIM{}", cx.next()),
            };
            let topup = match deposit::submit_topup(conn, &system, merchant.id, &new) {
                Ok(topup) => topup,
                Err(e) if e.is_refusal() => return Outcome::Refused(e.to_string()),
                Err(e) => return failed(e),
            };
            sorted(
                deposit::confirm_topup(conn, &cx.world.maker, topup.id),
                Classify::is_refusal,
                |_| format!("deposit +{}", Money::from_fen(fen)),
            )
        }
        Op::Deduct { merchant, fen } => {
            let merchant = cx.world.merchant(merchant);
            let registry = startup::approval_registry(cx.keys);
            let requested = deposit::request_deduction(
                conn,
                &cx.world.maker,
                merchant.id,
                Money::from_fen(fen),
                "simulated unpaid obligation",
                policy(),
                &registry,
            );
            let approval = match requested {
                Ok(approval) => approval,
                Err(e) if e.is_refusal() => return Outcome::Refused(e.to_string()),
                Err(e) => return failed(e),
            };
            approve(conn, cx, approval.id, &registry)
        }
        _ => unreachable!("merchant_money is given only its own operations"),
    }
}

/// A merchant's place in the alliance and its programme's values.
fn merchant_standing(conn: &mut PgConnection, cx: &Context<'_>, op: &Op) -> Outcome {
    match *op {
        Op::Exit {
            merchant,
            notice_days,
        } => {
            let merchant = cx.world.merchant(merchant);
            sorted(
                exit::start(
                    conn,
                    &cx.world.checker,
                    merchant.id,
                    "simulated exit",
                    notice_days,
                ),
                Classify::is_refusal,
                |exit| format!("{} leaves after {}", merchant.program, exit.notice_ends_at),
            )
        }
        Op::RefundDeposit { merchant } => {
            let merchant = cx.world.merchant(merchant);
            sorted(
                deposit::refund(conn, &cx.world.maker, merchant.id),
                Classify::is_refusal,
                |paid| format!("deposit refunded: {paid}"),
            )
        }
        Op::Override {
            program,
            sell_bp,
            buy_bp,
        } => {
            let code = &cx.world.merchant(program).program;
            let settlement = match crate::program::by_code(conn, code) {
                Ok(Some(program)) => program.settlement_value,
                Ok(None) => return Outcome::Skipped,
                Err(e) => return failed(e),
            };
            let scaled = |bp: i32| {
                Rate::new(settlement * rust_decimal::Decimal::new(10_000 + i64::from(bp), 4))
            };
            let (Ok(sell), Ok(buy)) = (scaled(sell_bp), scaled(buy_bp)) else {
                return Outcome::Skipped;
            };
            let now = crate::clock::now();
            let registry = startup::approval_registry(cx.keys);
            let new = overrides::NewOverride {
                program_code: code.clone(),
                sell,
                buy,
                starts_at: now,
                ends_at: now + Duration::days(3),
                reason: "simulated market intervention".to_owned(),
            };
            match overrides::request(conn, &cx.world.maker, &new, policy(), &registry) {
                Ok(overrides::Requested {
                    approval: Some(approval),
                    ..
                }) => approve(conn, cx, approval.id, &registry),
                Ok(requested) => {
                    Outcome::Done(format!("override {} in force", requested.pinned.id))
                }
                Err(e) if e.is_refusal() => Outcome::Refused(e.to_string()),
                Err(e) => failed(e),
            }
        }
        _ => unreachable!("merchant_standing is given only its own operations"),
    }
}

/// (program, points) legs and the cash on top.
type Payment = (Vec<(ProgramCode, PointCount)>, Money);

/// What the member offers for the reward.
fn payment(
    conn: &mut PgConnection,
    member_id: MemberId,
    reward_id: RewardId,
    pay: Pay,
) -> Result<Option<Payment>, redemption::RedeemError> {
    match pay {
        Pay::Proposed { extra_bp } => {
            let Some(proposal) = redemption::propose(conn, member_id, reward_id)? else {
                return Ok(None);
            };
            let mut legs = proposal.legs.clone();
            if let Some(first) = legs.first_mut() {
                first.points += first.points * i64::from(extra_bp) / 10_000;
            }
            let pay = legs.iter().filter_map(Leg::as_pay).collect();
            Ok(Some((pay, proposal.cash)))
        }
        Pay::OwnPoints => {
            let (merchant_id, price) = rewards::table
                .find(reward_id)
                .select((rewards::merchant_id, rewards::points_price))
                .first::<(MerchantId, Option<i64>)>(conn)?;
            let (Some(price), Some(program)) =
                (price, crate::program::of_merchant(conn, merchant_id)?)
            else {
                return Ok(None);
            };
            let (Ok(program), Ok(price)) =
                (ProgramCode::parse(&program.code), PointCount::new(price))
            else {
                return Ok(None);
            };
            Ok(Some((vec![(program, price)], Money::ZERO)))
        }
    }
}

/// One approver is enough for any amount: the simulator plays one maker and one checker.
fn policy() -> Policy {
    Policy {
        dual_approval_from: Money::from_fen(i64::MAX),
    }
}

/// The checker approves; the action it runs may still refuse.
fn approve(
    conn: &mut PgConnection,
    cx: &Context<'_>,
    approval_id: i64,
    registry: &approval::Registry,
) -> Outcome {
    match approval::decide(conn, approval_id, &cx.world.checker, true, None, registry) {
        Ok(approval) if approval.status == ApprovalStatus::Approved => {
            Outcome::Done(format!("approval {approval_id} carried out"))
        }
        Ok(approval) => Outcome::Refused(format!(
            "approval {approval_id} {}: {}",
            approval.status,
            approval.outcome.unwrap_or_default()
        )),
        Err(approval::ApprovalError::Database(e)) => failed(e),
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

fn run_job(conn: &mut PgConnection, cx: &Context<'_>, job: Job) -> Outcome {
    let system = Actor::system("simulator");
    let now = crate::clock::now();
    let counted = |result: anyhow::Result<usize>, what: &str| match result {
        Ok(n) => Outcome::Done(format!("{what}: {n}")),
        Err(e) => failed(format!("{what}: {e:#}")),
    };
    match job {
        Job::ExpireHolds => counted(
            earn::held::void_expired_holds(conn, 500).map_err(Into::into),
            "holds voided",
        ),
        Job::ExpireVouchers => counted(
            redemption::expire_due(conn, 500, &system).map_err(Into::into),
            "vouchers expired",
        ),
        Job::ExpirePoints => counted(
            earn::expiry::expire_due(conn, now, 10_000).map_err(Into::into),
            "lots expired",
        ),
        Job::PublishRates => counted(
            exchange::rates::publish(conn, exchange::rates::Trigger::Schedule, &system)
                .map(|_| 1)
                .map_err(Into::into),
            "rates published",
        ),
        Job::Settle => {
            let request = settlement::run::RunRequest {
                trigger: settlement::run::Trigger::Schedule,
                merchant_id: None,
                through: shanghai::date_of(now),
            };
            match settlement::run::run(conn, cx.keys, &system, request) {
                Ok(summary) if summary.exceptions.is_empty() => counted(
                    settlement::collection::review_due(conn, &system, shanghai::date_of(now))
                        .map_err(Into::into),
                    &format!("{} statements; collections reviewed", summary.settled),
                ),
                Ok(summary) => failed(format!("settlement exceptions: {:?}", summary.exceptions)),
                Err(e) => failed(e),
            }
        }
        Job::ConvertExits => match exit::conversion::run_due(conn, &system, now, 1_000) {
            Ok(pass) => Outcome::Done(format!("{pass:?}")),
            Err(e) if e.is_refusal() => Outcome::Refused(e.to_string()),
            Err(e) => failed(e),
        },
        Job::Payouts { fail_every } => pay_out(conn, cx, fail_every),
    }
}

/// Batches the pending payouts, sends the batch, and has the bank pay all but
/// every `fail_every`-th of them.
fn pay_out(conn: &mut PgConnection, cx: &Context<'_>, fail_every: u8) -> Outcome {
    use settlement::payout;
    let actor = &cx.world.maker;
    let batch = match payout::create_batch(conn, actor, shanghai::date_of(crate::clock::now())) {
        Ok(Some(batch)) => batch,
        Ok(None) => return Outcome::Skipped,
        Err(e) => return failed(e),
    };
    if let Err(e) = payout::mark_sent(conn, actor, batch.id) {
        return failed(e);
    }
    let payouts = match payout::of_batch(conn, batch.id) {
        Ok(payouts) => payouts,
        Err(e) => return failed(e),
    };
    let (mut paid, mut bounced) = (0, 0);
    for (i, p) in payouts.iter().enumerate() {
        let result = if (i + 1) % usize::from(fail_every.max(1)) == 0 {
            bounced += 1;
            payout::fail(conn, actor, p.id, "account closed (simulated)")
        } else {
            paid += 1;
            payout::confirm(conn, actor, p.id)
        };
        if let Err(e) = result {
            return failed(e);
        }
    }
    Outcome::Done(json!({"batch": batch.id, "paid": paid, "failed": bounced}).to_string())
}
