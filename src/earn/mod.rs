//! Earning points (积分发放): a member buys at a merchant and the merchant's
//! program — or the hub program ALP — issues points for it.
//!
//! One earn, in one transaction:
//! 1. the member's row is locked, so one member's earns queue (the daily limit
//!    and tier upgrades stay exact) and duplicates of one order meet;
//! 2. an order already recorded is replayed if it is the same purchase and
//!    refused if it is not;
//! 3. issuing must be allowed (`deposit::ensure_issuing_allowed`: an active
//!    merchant with enough deposit);
//! 4. points = base + tier bonus + campaigns (`rule`), campaign budgets charged
//!    exactly (`campaign`), within the program's daily limit per member;
//! 5. one ledger entry, kind `earn`, key `earn:m{merchant}:{order}`:
//!    `program:P:issuance → member:c:P` for the points; for ALP also
//!    `merchant:m:settlement → house:alp` at the ALP issue price (rounded up);
//!    the house's campaign share `house:campaigns → merchant:m:settlement`;
//! 6. the order, its campaign awards, the lot (expiry), the merchant–member link,
//!    a tier upgrade if the spend now reaches one, the risk review, the audit.
//!
//! Refunds (`refund`) reverse points, claiming what a pending hold has set
//! aside (`claim`); expiry (`expiry`) lapses lots to breakage; `held` is what
//! the end of a hold on a wallet does to its lots and claims. Every path locks
//! in the order written down in `lot`.

pub mod adjustment;
mod claim;
pub mod earners;
pub mod expiry;
pub mod held;
pub mod hub;
pub mod lot;
mod order;
mod refund;
pub mod rule;
pub mod tier;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

pub use order::{
    EarnOrder, InvalidOrderId, OrderId, Source, find as find_order, of_member as orders_of_member,
};
pub use refund::{RefundError, Refunded, refund};

use crate::{
    audit::{self, Change},
    campaign,
    chart::{self, CNY, HouseAccount},
    db::schema::{campaign_awards, earn_orders, merchant_members, stores},
    deposit::{self, IssuingBlocked},
    domain::{
        actor::Actor,
        id::{MemberId, MerchantId, StoreId},
        money::{Money, Rounding},
        points::ProgramCode,
        rate::Rate,
        shanghai,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest},
    people::member,
    program::{self, Program},
    risk,
};

use rule::{Breakdown, CampaignBonus, TierBonus};

/// How far back a till may report a purchase (it may have been offline).
pub const MAX_BACKDATE_DAYS: i64 = 30;
/// Clock skew tolerated for a purchase reported "in the future".
const FUTURE_SKEW_SECONDS: i64 = 300;

/// A purchase to earn points for.
#[derive(Debug, Clone)]
pub struct EarnRequest {
    pub merchant_id: MerchantId,
    pub order_id: OrderId,
    pub member_id: MemberId,
    pub amount: Money,
    /// When the purchase happened; now when not given.
    pub occurred_at: Option<DateTime<Utc>>,
    pub store_id: Option<StoreId>,
    /// None: the merchant's own program; Some(ALP): hub points.
    pub program: Option<ProgramCode>,
    pub source: Source,
    /// The till or phone the purchase came from, for risk checks.
    pub device_id: Option<String>,
    pub ip: Option<String>,
}

/// An earn, booked now or earlier.
#[derive(Debug, Clone, Serialize)]
pub struct Earned {
    pub order: EarnOrder,
    pub breakdown: Breakdown,
    /// The member's tier change this earn caused, if any.
    pub upgraded_to: Option<String>,
    /// True when the order was recorded earlier and this is it again.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EarnError {
    #[error("the amount must be greater than zero")]
    NonPositiveAmount,
    #[error("no such member")]
    UnknownMember,
    #[error("the store is not one of the merchant's active stores")]
    UnknownStore,
    #[error("the merchant has no points program")]
    NoProgram,
    #[error("a merchant issues its own program's points or ALP only")]
    ProgramNotAllowed,
    #[error("the purchase time is in the future or too long ago")]
    OccurredAtOutOfRange,
    #[error("the order id was already used for a different purchase")]
    OrderConflict,
    #[error("issuing is blocked: {0}")]
    Blocked(#[from] IssuingBlocked),
    #[error("the member may earn {limit} points a day here and has earned {earned_today}")]
    DailyLimit { limit: i64, earned_today: i64 },
    #[error("the points cannot be computed for this amount")]
    Overflow,
    #[error("the ledger refused the entry: {0}")]
    Refused(EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Lots(#[from] lot::LotError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for EarnError {
    fn class(&self) -> Class {
        use Kind::{Conflict, Forbidden, Unprocessable};
        let (kind, slug) = match self {
            Self::NonPositiveAmount => (Unprocessable, "non_positive_amount"),
            Self::UnknownMember => (Forbidden, "unknown_member"),
            Self::UnknownStore => (Unprocessable, "unknown_store"),
            Self::NoProgram => (Conflict, "no_program"),
            Self::ProgramNotAllowed => (Unprocessable, "program_not_allowed"),
            Self::OccurredAtOutOfRange => (Unprocessable, "occurred_at_out_of_range"),
            Self::OrderConflict => (Conflict, "order_conflict"),
            Self::Blocked(_) => (Conflict, "issuing_blocked"),
            Self::DailyLimit { .. } => (Conflict, "daily_limit"),
            Self::Overflow => (Unprocessable, "amount_too_large"),
            Self::Refused(_) | Self::Ledger(_) | Self::Lots(_) | Self::Database(_) => {
                return Class::System;
            }
        };
        let message = match self {
            Self::Blocked(blocked) => blocked.why(),
            Self::DailyLimit {
                limit,
                earned_today,
            } => Message::new("earn.error.daily_limit")
                .arg("limit", limit)
                .arg("earned", earned_today),
            Self::OccurredAtOutOfRange => {
                Message::new("earn.error.occurred_at_out_of_range").arg("days", MAX_BACKDATE_DAYS)
            }
            Self::NonPositiveAmount
            | Self::UnknownMember
            | Self::UnknownStore
            | Self::NoProgram
            | Self::ProgramNotAllowed
            | Self::OrderConflict
            | Self::Overflow
            | Self::Refused(_)
            | Self::Ledger(_)
            | Self::Lots(_)
            | Self::Database(_) => Message::new(format!("earn.error.{slug}")),
        };
        Class::Refusal(Refusal::new(kind, slug, message))
    }
}

/// Issues the points a purchase earns, exactly once per (merchant, order id).
#[tracing::instrument(skip_all, fields(merchant_id = ?request.merchant_id, member_id = ?request.member_id))]
pub fn earn(
    conn: &mut PgConnection,
    request: &EarnRequest,
    actor: &Actor,
) -> Result<Earned, EarnError> {
    if request.amount.fen() <= 0 {
        return Err(EarnError::NonPositiveAmount);
    }
    let now = crate::clock::now();
    let occurred_at = request.occurred_at.unwrap_or(now);
    if occurred_at > now + Duration::seconds(FUTURE_SKEW_SECONDS)
        || occurred_at < now - Duration::days(MAX_BACKDATE_DAYS)
    {
        return Err(EarnError::OccurredAtOutOfRange);
    }
    let mut limit_reached: Option<(String, i64, i64)> = None;
    let result = conn.transaction(|conn| {
        lock_member(conn, request.member_id)?;
        if let Some(existing) = order::find(conn, request.merchant_id, &request.order_id)? {
            return replay(existing, request);
        }
        issue(conn, request, occurred_at, actor, &mut limit_reached)
    });
    if let Some((program, limit, attempted)) = limit_reached {
        // The refused earn changed nothing; the alert is a record of its own.
        risk::earning::daily_limit_reached(
            conn,
            request.member_id,
            request.merchant_id,
            &program,
            limit,
            attempted,
        )?;
    }
    result
}

fn lock_member(conn: &mut PgConnection, member_id: MemberId) -> Result<(), EarnError> {
    if member::lock(conn, member_id)? {
        Ok(())
    } else {
        Err(EarnError::UnknownMember)
    }
}

/// The same order again: the same purchase is the first result once more; a
/// different one under the same order id is refused.
fn replay(existing: EarnOrder, request: &EarnRequest) -> Result<Earned, EarnError> {
    let same_program = request
        .program
        .as_ref()
        .is_none_or(|p| *p == existing.program_code);
    let same_time = request
        .occurred_at
        .is_none_or(|at| at == existing.occurred_at);
    if existing.member_id != request.member_id
        || existing.amount_fen != request.amount.fen()
        || !same_program
        || !same_time
    {
        return Err(EarnError::OrderConflict);
    }
    let breakdown = serde_json::from_value(existing.breakdown.clone())
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(Earned {
        order: existing,
        breakdown,
        upgraded_to: None,
        replayed: true,
    })
}

/// What the points are issued in and what each is worth to the budget.
struct Issuing {
    program: Program,
    /// The program's settlement value (CNY per point).
    settlement_value: Rate,
    /// The asset issued: the program's code or ALP.
    asset: ProgramCode,
    value_per_point: Rate,
    expires_at: Option<DateTime<Utc>>,
    /// The ALP issue price when issuing ALP.
    hub_price: Option<Rate>,
}

fn issuing(
    conn: &mut PgConnection,
    request: &EarnRequest,
    occurred_at: DateTime<Utc>,
) -> Result<Issuing, EarnError> {
    let program = program::of_merchant(conn, request.merchant_id)?.ok_or(EarnError::NoProgram)?;
    let own = ProgramCode::parse(&program.code).map_err(|_| EarnError::NoProgram)?;
    let settlement_value = Rate::new(program.settlement_value).map_err(|_| EarnError::NoProgram)?;
    // Naming the merchant's own program is the same as naming none.
    match request.program.as_ref().filter(|p| **p != own) {
        None => Ok(Issuing {
            expires_at: lot::expiry(occurred_at, program.expiry_months),
            program,
            settlement_value,
            asset: own,
            value_per_point: settlement_value,
            hub_price: None,
        }),
        Some(p) if *p == ProgramCode::alp() => {
            let hub = hub::policy(conn)?;
            Ok(Issuing {
                expires_at: lot::expiry(occurred_at, hub.expiry_months),
                program,
                settlement_value,
                asset: ProgramCode::alp(),
                value_per_point: hub.issue_price,
                hub_price: Some(hub.issue_price),
            })
        }
        Some(_) => Err(EarnError::ProgramNotAllowed),
    }
}

fn issue(
    conn: &mut PgConnection,
    request: &EarnRequest,
    occurred_at: DateTime<Utc>,
    actor: &Actor,
    limit_reached: &mut Option<(String, i64, i64)>,
) -> Result<Earned, EarnError> {
    deposit::ensure_issuing_allowed(conn, request.merchant_id)?;
    if let Some(store) = request.store_id {
        ensure_store(conn, request.merchant_id, store)?;
    }
    let issuing = issuing(conn, request, occurred_at)?;
    let mut breakdown = base_and_tier(conn, request, &issuing)?;
    let earned_today = earned_today(conn, request.member_id, issuing.asset.as_str())?;
    let limit = issuing.program.member_daily_earn_limit;
    if earned_today + breakdown.total_points > limit {
        *limit_reached = Some((
            issuing.asset.as_str().to_owned(),
            limit,
            breakdown.total_points,
        ));
        return Err(EarnError::DailyLimit {
            limit,
            earned_today,
        });
    }
    for running in campaign::running_for_update(conn, request.merchant_id, occurred_at)? {
        let wanted = rule::campaign_points(
            breakdown.base_points,
            running.multiplier,
            &running.steps(),
            request.amount,
        );
        // The limit caps the campaign's bonus too: what would pass it is not given.
        let wanted = wanted.min(limit - earned_today - breakdown.total_points);
        if wanted <= 0 {
            continue;
        }
        let (points, cost_fen) =
            rule::fit_budget(wanted, issuing.value_per_point, running.remaining_fen());
        if points == 0 {
            continue;
        }
        campaign::charge(conn, running.id, cost_fen)?;
        breakdown.add_campaign(CampaignBonus {
            campaign_id: running.id,
            name_zh: running.name_zh.clone(),
            name_en: running.name_en.clone(),
            multiplier: running.multiplier,
            wanted_points: wanted,
            points,
            cost_fen,
            house_fen: rule::house_share(cost_fen, running.house_share_bp),
        });
    }

    let entry_id = match breakdown.total_points {
        0 => None,
        _ => Some(book(conn, request, &issuing, &breakdown)?),
    };
    let order = record_order(
        conn,
        request,
        &issuing,
        &breakdown,
        occurred_at,
        entry_id,
        actor,
    )?;
    for bonus in &breakdown.campaigns {
        diesel::insert_into(campaign_awards::table)
            .values((
                campaign_awards::campaign_id.eq(bonus.campaign_id),
                campaign_awards::earn_order_id.eq(order.id),
                campaign_awards::bonus_points.eq(bonus.points),
                campaign_awards::cost_fen.eq(bonus.cost_fen),
                campaign_awards::house_fen.eq(bonus.house_fen),
            ))
            .execute(conn)?;
    }
    if let Some(entry) = entry_id {
        lot::open(
            conn,
            request.member_id,
            issuing.asset.as_str(),
            breakdown.total_points,
            issuing.expires_at,
            entry,
        )?;
    }
    link_member(conn, request.merchant_id, request.member_id)?;
    let upgraded_to = tier::upgrade_if_reached(conn, request.member_id, actor)?.map(|c| c.to);
    risk::earning::review_earn(conn, order.id)?;
    audit::record(
        conn,
        actor,
        Change::new("points.earn", "earn_order", order.id).after(&order),
    )?;
    Ok(Earned {
        order,
        breakdown,
        upgraded_to,
        replayed: false,
    })
}

fn ensure_store(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    store_id: StoreId,
) -> Result<(), EarnError> {
    let found: Option<i64> = stores::table
        .filter(stores::id.eq(store_id))
        .filter(stores::merchant_id.eq(merchant_id))
        .filter(stores::active.eq(true))
        .select(stores::id)
        .first(conn)
        .optional()?;
    found.map(drop).ok_or(EarnError::UnknownStore)
}

fn base_and_tier(
    conn: &mut PgConnection,
    request: &EarnRequest,
    issuing: &Issuing,
) -> Result<Breakdown, EarnError> {
    let per_cny = issuing.program.earn_points_per_cny;
    let (base, rate) = match issuing.hub_price {
        None => (
            rule::base_points(request.amount, per_cny).ok_or(EarnError::Overflow)?,
            per_cny,
        ),
        Some(price) => {
            rule::hub_base_points(request.amount, per_cny, issuing.settlement_value, price)
                .ok_or(EarnError::Overflow)?
        }
    };
    let tier = tier::of_member(conn, request.member_id)?;
    let bonus = TierBonus {
        points: rule::tier_bonus(base, tier.earn_bonus_bp),
        code: tier.code,
        bonus_bp: tier.earn_bonus_bp,
    };
    Ok(Breakdown::new(rate, base, bonus))
}

/// Points the member earned in `asset` since midnight in Shanghai.
fn earned_today(conn: &mut PgConnection, member_id: MemberId, asset: &str) -> QueryResult<i64> {
    let midnight = shanghai::start_of_day(crate::clock::now());
    let total: Option<rust_decimal::Decimal> = earn_orders::table
        .filter(earn_orders::member_id.eq(member_id))
        .filter(earn_orders::program_code.eq(asset))
        .filter(earn_orders::created_at.ge(midnight))
        .select(diesel::dsl::sum(earn_orders::points))
        .first(conn)?;
    Ok(total.and_then(|t| i64::try_from(t).ok()).unwrap_or(0))
}

fn book(
    conn: &mut PgConnection,
    request: &EarnRequest,
    issuing: &Issuing,
    breakdown: &Breakdown,
) -> Result<crate::domain::id::JournalEntryId, EarnError> {
    let asset = issuing.asset.as_str();
    let issuance = chart::open(conn, &chart::program_issuance(&issuing.asset))?;
    let wallet = chart::open(
        conn,
        &chart::member_wallet(request.member_id, &issuing.asset),
    )?;
    let mut entry = EntryRequest::new(
        format!("earn:m{}:{}", request.merchant_id, request.order_id),
        "earn",
    )
    .metadata(serde_json::json!({
        "merchant_id": request.merchant_id,
        "order_id": request.order_id,
        "member_id": request.member_id,
        "amount_fen": request.amount.fen(),
        "breakdown": breakdown,
    }))
    .transfer(TransferRequest::move_(
        issuance,
        wallet,
        asset,
        breakdown.total_points,
    ));
    let house_campaign_fen = breakdown.campaign_house_fen();
    let needs_settlement = issuing.hub_price.is_some() || house_campaign_fen > 0;
    if needs_settlement {
        let settlement = chart::open(conn, &chart::merchant_settlement(request.merchant_id))?;
        let house = chart::ensure_house_accounts(conn)?;
        if let Some(price) = issuing.hub_price {
            let paid = price
                .value_of(breakdown.total_points, Rounding::Up)
                .map_err(|_| EarnError::Overflow)?;
            entry = entry.transfer(TransferRequest::move_(
                settlement,
                house.id(HouseAccount::Alp),
                CNY,
                paid.fen(),
            ));
        }
        if house_campaign_fen > 0 {
            entry = entry.transfer(TransferRequest::move_(
                house.id(HouseAccount::Campaigns),
                settlement,
                CNY,
                house_campaign_fen,
            ));
        }
    }
    let result = ledger::submit_one(conn, &entry)?;
    result.map(|c| c.entry_id).map_err(EarnError::Refused)
}

#[allow(clippy::too_many_arguments)]
fn record_order(
    conn: &mut PgConnection,
    request: &EarnRequest,
    issuing: &Issuing,
    breakdown: &Breakdown,
    occurred_at: DateTime<Utc>,
    entry_id: Option<crate::domain::id::JournalEntryId>,
    actor: &Actor,
) -> QueryResult<EarnOrder> {
    diesel::insert_into(earn_orders::table)
        .values((
            earn_orders::merchant_id.eq(request.merchant_id),
            earn_orders::order_id.eq(request.order_id.as_str()),
            earn_orders::member_id.eq(request.member_id),
            earn_orders::program_code.eq(issuing.asset.as_str()),
            earn_orders::store_id.eq(request.store_id),
            earn_orders::amount_fen.eq(request.amount.fen()),
            earn_orders::points.eq(breakdown.total_points),
            earn_orders::breakdown
                .eq(serde_json::to_value(breakdown).expect("a breakdown serializes")),
            earn_orders::source.eq(request.source),
            earn_orders::created_by.eq(&actor.label),
            earn_orders::device_id.eq(request.device_id.as_deref()),
            earn_orders::ip.eq(request.ip.as_deref()),
            earn_orders::occurred_at.eq(occurred_at),
            earn_orders::journal_entry_id.eq(entry_id.map(|e| e.0)),
            // The day's limits count orders by this, in domain time.
            earn_orders::created_at.eq(crate::clock::now()),
        ))
        .returning(EarnOrder::as_returning())
        .get_result(conn)
}

/// The merchant now knows the member (its key may read them).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, member_id = %member_id))]
pub fn link_member(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    member_id: MemberId,
) -> QueryResult<()> {
    diesel::insert_into(merchant_members::table)
        .values((
            merchant_members::merchant_id.eq(merchant_id),
            merchant_members::member_id.eq(member_id),
            merchant_members::since.eq(crate::clock::now()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(drop)
}
