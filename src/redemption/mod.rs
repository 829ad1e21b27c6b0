//! Combined redemption (组合兑换): a member pays a reward of merchant M with M's
//! points, other programs' points, ALP and cash collected at M's counter
//! (LEDGER.md, "Redeem"; the valuation is `pay`).
//!
//! - **Order** (`redeem`), in one transaction: the member's row, then the
//!   reward's row are locked — so one member's orders queue and the reward's
//!   stock and caps (`caps`) hold exactly under any concurrency; the mix must pay
//!   the value exactly enough (`pay::settles`); the member's lots of each
//!   program paid with are locked; one ledger entry
//!   `redeem:{id}:hold`, kind `redeem_hold`, of holds (pending transfers) only:
//!   every points leg `member:c:P → program:P:issuance`; for another program A
//!   also `merchant:mA:settlement → house:clearing` (value out),
//!   `house:clearing → merchant:M:settlement` (the net), `house:clearing →
//!   house:fees` (the fee); for ALP `house:alp → merchant:M:settlement`. All or
//!   nothing: a leg the wallet cannot cover refuses the whole entry. Each
//!   points leg reserves its lots, oldest expiry first (`earn::lot::reserve`).
//!   The member gets a voucher code, valid `VOUCHER_DAYS`.
//! - **Fulfil** (核销, `fulfil`): M's staff enter the code; the holds are posted
//!   (`redeem:{id}:post`) and the lots they reserved spent (`earn::held`).
//! - **Cancel** (`cancel`) or **expiry** (`expire_due`, from the jobs): the holds
//!   are voided (`redeem:{id}:void`), the stock returns, and in the same ledger
//!   batch refunds that claimed the held points take them and freed points of
//!   lapsed lots expire (`earn::held::voiding`). Holds their timeout
//!   voided already (`earn::held::void_expired_holds`) only have the stock returned.
//!
//! **Locks**, in the order every path takes them (see `earn::lot`): the
//! member, the redemption, the reward (stock), the member's lots, then the
//! ledger's balance rows in one batch. Creating and cancelling on one reward
//! therefore queue on the reward row and can never deadlock.
//!
//! A suspended merchant accepts no new redemptions; vouchers already issued may
//! still be served or cancelled.

pub mod browse;
mod caps;
mod lookup;
pub mod nearby;
pub mod pay;
mod propose;
pub mod recommend;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    catalog::RewardStatus,
    chart::{self, CNY, HouseAccount},
    db::schema::{redemptions, rewards, stores},
    domain::{
        actor::Actor,
        id::{JournalEntryId, MemberId, MerchantId, RewardId, StoreId, TransferId},
        money::Money,
        points::{PointCount, ProgramCode},
        text_enum::text_enum,
    },
    earn::{held, hub, lot, tier},
    error::{Class, Classify, Kind, Message, Refusal},
    exchange::{pricing, rates},
    ledger::{self, EntryError, EntryRequest, LedgerError, TransferRequest, views::ledger_holds},
    merchant::{self, standing},
    people::member,
    program::{self, Program},
};

pub use caps::{
    CappedReward, Caps, CapsError, Remaining, Window, overview as caps_overview, remaining,
    set_caps,
};
pub use lookup::{
    StoreTally, Voucher, cancel_by_merchant, fulfil_by_id, of_merchant, redeemers, reward_merchant,
    served_by_store, served_since, voucher,
};
use pay::{Leg, Shortfall, Valuation};
pub use propose::{Holdings, Proposal, propose, propose_from};

/// How long a voucher may be served.
pub const VOUCHER_DAYS: i64 = 7;
/// The ledger's own timeout on the holds, a day after the voucher's: the expiry
/// job voids them first and says so on the redemption; this is the safety net.
const HOLD_GRACE_DAYS: i64 = 1;

/// A member's order: the reward and how they pay.
#[derive(Debug, Clone)]
pub struct RedeemRequest {
    pub member_id: MemberId,
    pub reward_id: RewardId,
    /// (program, points); each program at most once.
    pub pay: Vec<(ProgramCode, PointCount)>,
    pub cash: Money,
    /// The caller's key for this order: a retry with the same key finds it.
    pub request_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = redemptions, check_for_backend(diesel::pg::Pg))]
pub struct Redemption {
    pub id: i64,
    pub reward_id: RewardId,
    pub member_id: MemberId,
    pub merchant_id: MerchantId,
    pub request_key: String,
    pub voucher_code: String,
    pub value_fen: i64,
    pub cash_fen: i64,
    pub payment: serde_json::Value,
    pub status: RedemptionStatus,
    pub hold_entry_id: i64,
    pub resolve_entry_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
    pub store_id: Option<StoreId>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Redemption {
    pub fn legs(&self) -> Vec<Leg> {
        serde_json::from_value(self.payment.clone()).unwrap_or_default()
    }
}

/// The reward's terms, as an order locks and reads them.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rewards, check_for_backend(diesel::pg::Pg))]
struct Offer {
    id: RewardId,
    merchant_id: MerchantId,
    value_fen: i64,
    points_price: Option<i64>,
    other_points: bool,
    cash_topup: bool,
    stock: i64,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    status: RewardStatus,
}

text_enum! {
    /// A voucher is held until it is served, called off or runs out.
    pub enum RedemptionStatus {
        Held => "held",
        Fulfilled => "fulfilled",
        Cancelled => "cancelled",
        Expired => "expired",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("no such member")]
    UnknownMember,
    #[error("no such reward on offer")]
    UnknownReward,
    #[error("the reward is not on offer now")]
    NotOnOffer,
    #[error("the merchant accepts no redemptions now")]
    MerchantSuspended,
    #[error("out of stock")]
    OutOfStock,
    #[error("the reward's {0} cap is reached")]
    CapReached(caps::Window),
    #[error("{0} cannot pay for this reward")]
    ProgramNotAccepted(String),
    #[error("{0} is named twice")]
    DuplicateProgram(String),
    #[error("points must be whole numbers above zero")]
    InvalidPoints,
    #[error("this reward takes no cash")]
    CashNotAccepted,
    /// A redemption spends points; a reward paid wholly in cash is a sale.
    #[error("pay at least part of it with points")]
    NoPoints,
    #[error("the payment falls short by {0}")]
    Short(Money),
    #[error("the payment is more than the reward needs")]
    Overpaid,
    #[error("not enough {program} points: {available} available")]
    InsufficientPoints { program: String, available: i64 },
    #[error("the request key was used for a different order")]
    RequestConflict,
    #[error("no such voucher")]
    UnknownVoucher,
    #[error("the store is not one of the merchant's")]
    UnknownStore,
    #[error("the voucher was already {0}")]
    AlreadyResolved(RedemptionStatus),
    #[error("the voucher has expired")]
    Expired,
    #[error("the amounts are too large to compute")]
    Overflow,
    #[error("the ledger refused the entry: {0}")]
    Refused(EntryError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Lots(#[from] lot::LotError),
    #[error(transparent)]
    Held(#[from] held::HeldError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for RedeemError {
    /// As for exchange: forbidden a member the partner may not touch, a
    /// conflict what the state of things refuses now (a voucher already
    /// resolved or expired, stock, caps, points, a suspended merchant),
    /// unprocessable a payment the reward's rules do not allow.
    fn class(&self) -> Class {
        use Kind::{Conflict, Forbidden, NotFound, Unprocessable};
        let (kind, slug) = match self {
            Self::UnknownMember => (Forbidden, "unknown_member"),
            Self::UnknownReward => (NotFound, "unknown_reward"),
            Self::NotOnOffer => (Conflict, "not_on_offer"),
            Self::MerchantSuspended => (Conflict, "merchant_suspended"),
            Self::OutOfStock => (Conflict, "out_of_stock"),
            Self::CapReached(_) => (Conflict, "cap_reached"),
            Self::ProgramNotAccepted(_) => (Unprocessable, "program_not_accepted"),
            Self::DuplicateProgram(_) => (Unprocessable, "duplicate_program"),
            Self::InvalidPoints => (Unprocessable, "invalid_points"),
            Self::CashNotAccepted => (Unprocessable, "cash_not_accepted"),
            Self::NoPoints => (Unprocessable, "no_points"),
            Self::Short(_) => (Unprocessable, "short"),
            Self::Overpaid => (Unprocessable, "overpaid"),
            Self::InsufficientPoints { .. } => (Conflict, "insufficient_points"),
            Self::RequestConflict => (Conflict, "request_conflict"),
            Self::UnknownVoucher => (NotFound, "unknown_voucher"),
            Self::UnknownStore => (Unprocessable, "unknown_store"),
            Self::AlreadyResolved(_) => (Conflict, "already_resolved"),
            Self::Expired => (Conflict, "expired"),
            Self::Overflow => (Unprocessable, "amount_too_large"),
            Self::Refused(_)
            | Self::Ledger(_)
            | Self::Lots(_)
            | Self::Held(_)
            | Self::Database(_) => return Class::System,
        };
        let message = Message::new(format!("redemption.error.{slug}"));
        let message = match self {
            Self::CapReached(window) => message.nested(
                "window",
                Message::new(format!("redemption.cap.{}", window.as_str())),
            ),
            Self::ProgramNotAccepted(program) | Self::DuplicateProgram(program) => {
                message.arg("program", program)
            }
            Self::Short(money) => message.arg("amount", money),
            Self::InsufficientPoints { program, available } => {
                message.arg("program", program).arg("available", available)
            }
            Self::AlreadyResolved(status) => message.nested(
                "status",
                Message::new(format!("redemption.status.{status}")),
            ),
            Self::UnknownMember
            | Self::UnknownReward
            | Self::NotOnOffer
            | Self::MerchantSuspended
            | Self::OutOfStock
            | Self::InvalidPoints
            | Self::CashNotAccepted
            | Self::NoPoints
            | Self::Overpaid
            | Self::RequestConflict
            | Self::UnknownVoucher
            | Self::UnknownStore
            | Self::Expired
            | Self::Overflow
            | Self::Refused(_)
            | Self::Ledger(_)
            | Self::Lots(_)
            | Self::Held(_)
            | Self::Database(_) => message,
        };
        Class::Refusal(Refusal::new(kind, slug, message))
    }
}

/// Orders the reward: holds the points, takes one from stock, issues a voucher.
#[tracing::instrument(skip_all, fields(member_id = ?request.member_id, reward_id = ?request.reward_id))]
pub fn redeem(
    conn: &mut PgConnection,
    request: &RedeemRequest,
    actor: &Actor,
) -> Result<Redemption, RedeemError> {
    if request.cash.fen() < 0 {
        return Err(RedeemError::InvalidPoints);
    }
    if request.pay.is_empty() {
        return Err(RedeemError::NoPoints);
    }
    for (i, (program, _)) in request.pay.iter().enumerate() {
        if request.pay[..i].iter().any(|(p, _)| p == program) {
            return Err(RedeemError::DuplicateProgram(program.to_string()));
        }
    }
    let now = crate::clock::now();
    conn.transaction(|conn| {
        if !member::lock(conn, request.member_id)? {
            return Err(RedeemError::UnknownMember);
        }
        if let Some(first) = by_request_key(conn, request.member_id, &request.request_key)? {
            return replay(first, request);
        }
        let offer = offer(conn, request.reward_id, true)?;
        if offer.status != RewardStatus::Published
            || now < offer.valid_from
            || now >= offer.valid_until
        {
            return Err(RedeemError::NotOnOffer);
        }
        let merchant =
            merchant::find(conn, offer.merchant_id)?.ok_or(RedeemError::UnknownReward)?;
        if merchant.status != standing::Status::Active {
            return Err(RedeemError::MerchantSuspended);
        }
        if offer.stock == 0 {
            return Err(RedeemError::OutOfStock);
        }
        if let Some(window) = caps::reached(conn, offer.id, request.member_id, now)? {
            return Err(RedeemError::CapReached(window));
        }
        if request.cash.fen() > 0 && !offer.cash_topup {
            return Err(RedeemError::CashNotAccepted);
        }
        let own =
            program::of_merchant(conn, offer.merchant_id)?.ok_or(RedeemError::UnknownReward)?;
        let mut legs = Vec::with_capacity(request.pay.len());
        for (code, points) in &request.pay {
            let valuation = valuation(conn, &offer, &own, code.as_str(), request.member_id)?;
            let leg = valuation.leg(code.as_str(), points.get());
            legs.push(leg.ok_or(RedeemError::Overflow)?);
        }
        match pay::settles(&legs, request.cash, Money::from_fen(offer.value_fen)) {
            Ok(()) => {}
            Err(Shortfall::Short(by)) => return Err(RedeemError::Short(by)),
            Err(Shortfall::Over) => return Err(RedeemError::Overpaid),
        }
        diesel::update(rewards::table.find(offer.id))
            .set(rewards::stock.eq(offer.stock - 1))
            .execute(conn)?;
        for leg in &legs {
            lot::lock(conn, request.member_id, &leg.program)?;
        }
        let id: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "nextval('redemptions_id_seq')",
        ))
        .get_result(conn)?;
        let hold = hold(conn, id, request.member_id, &offer, &legs)?;
        let expires_at = now + Duration::days(VOUCHER_DAYS);
        let redemption: Redemption = diesel::insert_into(redemptions::table)
            .values((
                redemptions::id.eq(id),
                redemptions::reward_id.eq(offer.id),
                redemptions::member_id.eq(request.member_id),
                redemptions::merchant_id.eq(offer.merchant_id),
                redemptions::request_key.eq(&request.request_key),
                redemptions::voucher_code.eq(voucher_code(id)),
                redemptions::value_fen.eq(offer.value_fen),
                redemptions::cash_fen.eq(request.cash.fen()),
                redemptions::payment.eq(serde_json::to_value(&legs).expect("legs serialize")),
                redemptions::hold_entry_id.eq(hold.0),
                redemptions::expires_at.eq(expires_at),
                redemptions::created_at.eq(now),
            ))
            .returning(Redemption::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("reward.redeem", "redemption", redemption.id).after(&redemption),
        )?;
        Ok(redemption)
    })
}

/// A voucher code: 12 digits, the order id's last four and eight random ones
/// (from `rand`'s thread generator, a CSPRNG seeded by the OS), so one code says
/// nothing of another. Two orders can only collide when their ids end alike and
/// the random parts match, one in 10^8; the UNIQUE constraint refuses that.
fn voucher_code(id: i64) -> String {
    let random: u64 = rand::random_range(0..100_000_000);
    format!("{:04}{random:08}", id.rem_euclid(10_000))
}

fn by_request_key(
    conn: &mut PgConnection,
    member_id: MemberId,
    key: &str,
) -> QueryResult<Option<Redemption>> {
    redemptions::table
        .filter(redemptions::member_id.eq(member_id))
        .filter(redemptions::request_key.eq(key))
        .select(Redemption::as_select())
        .first(conn)
        .optional()
}

/// The same key again: the same order is the first result; another is refused.
fn replay(first: Redemption, request: &RedeemRequest) -> Result<Redemption, RedeemError> {
    let same_pay = {
        let legs = first.legs();
        legs.len() == request.pay.len()
            && request.pay.iter().all(|(code, points)| {
                legs.iter()
                    .any(|l| l.program == code.as_str() && l.points == points.get())
            })
    };
    if first.reward_id == request.reward_id && first.cash_fen == request.cash.fen() && same_pay {
        Ok(first)
    } else {
        Err(RedeemError::RequestConflict)
    }
}

/// The reward's terms; `locked` holds its row until the transaction ends (an
/// order), unlocked is for pricing a proposal.
fn offer(conn: &mut PgConnection, reward_id: RewardId, locked: bool) -> Result<Offer, RedeemError> {
    let query = rewards::table.find(reward_id).select(Offer::as_select());
    let found = if locked {
        query.for_update().first(conn)
    } else {
        query.first(conn)
    };
    found.optional()?.ok_or(RedeemError::UnknownReward)
}

/// How `code`'s points pay for `offer` (see `pay`).
fn valuation(
    conn: &mut PgConnection,
    offer: &Offer,
    own: &Program,
    code: &str,
    member_id: MemberId,
) -> Result<Valuation, RedeemError> {
    if code == own.code {
        return Ok(match offer.points_price {
            Some(points_price) => Valuation::OwnPriced {
                value_fen: offer.value_fen,
                points_price,
            },
            None => Valuation::Own {
                settlement: crate::domain::rate::Rate::new(own.settlement_value)
                    .map_err(|_| RedeemError::Overflow)?,
            },
        });
    }
    let not_accepted = || RedeemError::ProgramNotAccepted(code.to_owned());
    if !offer.other_points {
        return Err(not_accepted());
    }
    if code == ProgramCode::alp().as_str() {
        return Ok(Valuation::Hub {
            issue_price: hub::policy(conn)?.issue_price,
        });
    }
    let other = program::by_code(conn, code)?.ok_or_else(not_accepted)?;
    if !other.exchange_out {
        return Err(not_accepted());
    }
    let mut tier_of = |merchant_id: MerchantId| -> Result<_, RedeemError> {
        let merchant = merchant::find(conn, merchant_id)?.ok_or_else(not_accepted)?;
        Ok(merchant.tier)
    };
    let spread_bp =
        pricing::partner_spread_bp(tier_of(other.merchant_id)?, tier_of(offer.merchant_id)?);
    Ok(Valuation::Other {
        sell: rates::current(conn, &other)?.sell,
        spread_bp,
        discount_bp: tier::of_member(conn, member_id)?.exchange_fee_discount_bp,
    })
}

/// Books the holds of an order (see the module documentation).
fn hold(
    conn: &mut PgConnection,
    id: i64,
    member_id: MemberId,
    offer: &Offer,
    legs: &[Leg],
) -> Result<JournalEntryId, RedeemError> {
    let timeout = (Duration::days(VOUCHER_DAYS + HOLD_GRACE_DAYS)).num_seconds();
    let house = chart::ensure_house_accounts(conn)?;
    let clearing = house.id(HouseAccount::Clearing);
    let to_settlement = chart::open(conn, &chart::merchant_settlement(offer.merchant_id))?;
    let mut entry =
        EntryRequest::new(format!("redeem:{id}:hold"), "redeem_hold").metadata(serde_json::json!({
            "redemption_id": id,
            "reward_id": offer.id,
            "member_id": member_id,
            "legs": legs,
        }));
    let cash_hold = |entry: EntryRequest, debit, credit, fen: i64| {
        if fen > 0 {
            entry.transfer(TransferRequest::hold(debit, credit, CNY, fen, timeout))
        } else {
            entry
        }
    };
    // Where each points leg sits among the entry's transfers, to find its hold.
    let mut points_legs = Vec::with_capacity(legs.len());
    for leg in legs {
        let code = ProgramCode::parse(&leg.program).map_err(|_| RedeemError::UnknownReward)?;
        let wallet = chart::open(conn, &chart::member_wallet(member_id, &code))?;
        let issuance = chart::open(conn, &chart::program_issuance(&code))?;
        points_legs.push((entry.transfers.len(), leg));
        entry = entry.transfer(TransferRequest::hold(
            wallet,
            issuance,
            code.as_str(),
            leg.points,
            timeout,
        ));
        entry = match leg.valuation {
            Valuation::Own { .. } | Valuation::OwnPriced { .. } => entry,
            Valuation::Hub { .. } => cash_hold(
                entry,
                house.id(HouseAccount::Alp),
                to_settlement,
                leg.value_fen,
            ),
            Valuation::Other { .. } => {
                let other = program::by_code(conn, &leg.program)?
                    .ok_or_else(|| RedeemError::ProgramNotAccepted(leg.program.clone()))?;
                let from_settlement =
                    chart::open(conn, &chart::merchant_settlement(other.merchant_id))?;
                let entry = cash_hold(entry, from_settlement, clearing, leg.value_out_fen);
                let entry = cash_hold(entry, clearing, to_settlement, leg.value_fen);
                cash_hold(entry, clearing, house.id(HouseAccount::Fees), leg.fee_fen)
            }
        };
    }
    let result = ledger::submit_one(conn, &entry)?;
    match result {
        Ok(committed) => {
            for (index, leg) in points_legs {
                let hold = committed.transfer_ids[index];
                lot::reserve(conn, member_id, &leg.program, hold, leg.points)?;
            }
            Ok(committed.entry_id)
        }
        Err(EntryError::Overdraft { account }) => {
            let short = legs
                .iter()
                .find_map(|leg| {
                    let code = ProgramCode::parse(&leg.program).ok()?;
                    let spec = chart::member_wallet(member_id, &code);
                    let found = ledger::find_account(conn, &spec.code).ok()??;
                    (found.id == account).then(|| {
                        let available =
                            ledger::balance(conn, found.id).map_or(0, |b| b.available());
                        (leg.program.clone(), available)
                    })
                })
                .unwrap_or_default();
            Err(RedeemError::InsufficientPoints {
                program: short.0,
                available: short.1,
            })
        }
        Err(refused) => Err(RedeemError::Refused(refused)),
    }
}

/// Who ends a held redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The merchant served it (核销), at one of its stores if it says which.
    Fulfil { store_id: Option<StoreId> },
    /// The member (or the merchant) called it off.
    Cancel,
    /// Its voucher ran out.
    Expire,
}

impl Resolution {
    fn status(self) -> RedemptionStatus {
        match self {
            Self::Fulfil { .. } => RedemptionStatus::Fulfilled,
            Self::Cancel => RedemptionStatus::Cancelled,
            Self::Expire => RedemptionStatus::Expired,
        }
    }
}

/// Serves a voucher at the merchant's counter: its holds are posted.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, store_id = ?store_id))]
pub fn fulfil(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    voucher_code: &str,
    store_id: Option<StoreId>,
    actor: &Actor,
) -> Result<Redemption, RedeemError> {
    let id = redemptions::table
        .filter(redemptions::voucher_code.eq(voucher_code.trim()))
        .filter(redemptions::merchant_id.eq(merchant_id))
        .select(redemptions::id)
        .first::<i64>(conn)
        .optional()?
        .ok_or(RedeemError::UnknownVoucher)?;
    if let Some(store) = store_id
        && !merchant_store(conn, merchant_id, store)?
    {
        return Err(RedeemError::UnknownStore);
    }
    resolve(conn, id, Resolution::Fulfil { store_id }, actor)
}

fn merchant_store(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    store_id: StoreId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        stores::table
            .filter(stores::id.eq(store_id))
            .filter(stores::merchant_id.eq(merchant_id)),
    ))
    .get_result(conn)
}

/// Calls off a held redemption of the member's: holds voided, stock returned.
#[tracing::instrument(skip_all, fields(member_id = %member_id, id = id))]
pub fn cancel(
    conn: &mut PgConnection,
    member_id: MemberId,
    id: i64,
    actor: &Actor,
) -> Result<Redemption, RedeemError> {
    let mine = redemptions::table
        .find(id)
        .filter(redemptions::member_id.eq(member_id))
        .select(redemptions::id)
        .first::<i64>(conn)
        .optional()?;
    resolve(
        conn,
        mine.ok_or(RedeemError::UnknownVoucher)?,
        Resolution::Cancel,
        actor,
    )
}

/// Voids the holds of redemptions whose vouchers ran out; returns how many.
#[tracing::instrument(skip_all)]
pub fn expire_due(
    conn: &mut PgConnection,
    limit: i64,
    actor: &Actor,
) -> Result<usize, RedeemError> {
    let due: Vec<i64> = redemptions::table
        .filter(redemptions::status.eq(RedemptionStatus::Held))
        .filter(redemptions::expires_at.le(crate::clock::now()))
        .order(redemptions::expires_at)
        .limit(limit)
        .select(redemptions::id)
        .load(conn)?;
    let mut expired = 0;
    for id in due {
        match resolve(conn, id, Resolution::Expire, actor) {
            Ok(_) => expired += 1,
            // Another process got there first.
            Err(RedeemError::AlreadyResolved(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}

fn resolve(
    conn: &mut PgConnection,
    id: i64,
    resolution: Resolution,
    actor: &Actor,
) -> Result<Redemption, RedeemError> {
    conn.transaction(|conn| {
        let member_id: MemberId = redemptions::table
            .find(id)
            .select(redemptions::member_id)
            .first(conn)?;
        member::lock(conn, member_id)?;
        let before: Redemption = redemptions::table
            .find(id)
            .select(Redemption::as_select())
            .for_update()
            .first(conn)?;
        if before.status != RedemptionStatus::Held {
            return Err(RedeemError::AlreadyResolved(before.status));
        }
        let now = crate::clock::now();
        let is_fulfil = matches!(resolution, Resolution::Fulfil { .. });
        if is_fulfil && now >= before.expires_at {
            return Err(RedeemError::Expired);
        }
        // The reward before the lots and the ledger, as `redeem` takes them.
        rewards::table
            .find(before.reward_id)
            .select(rewards::id)
            .for_update()
            .first::<i64>(conn)?;
        for leg in &before.legs() {
            lot::lock(conn, member_id, &leg.program)?;
        }
        let holds: Vec<TransferId> =
            ledger::open_holds_of(conn, JournalEntryId(before.hold_entry_id))?
                .into_iter()
                .map(|h| h.id)
                .collect();
        let resolve_entry = match holds.first() {
            Some(_) => book_resolution(conn, id, member_id, &holds, is_fulfil)?,
            // The ledger's timeout voided them already (and did what a void
            // does); what is left is the stock.
            None if is_fulfil => return Err(RedeemError::Expired),
            None => timed_out_by(conn, before.hold_entry_id)?,
        };
        if !is_fulfil {
            diesel::update(rewards::table.find(before.reward_id))
                .set(rewards::stock.eq(rewards::stock + 1))
                .execute(conn)?;
        }
        let store_id = match resolution {
            Resolution::Fulfil { store_id, .. } => store_id,
            _ => None,
        };
        let after: Redemption = diesel::update(redemptions::table.find(id))
            .set((
                redemptions::status.eq(resolution.status()),
                redemptions::resolve_entry_id.eq(resolve_entry.0),
                redemptions::store_id.eq(store_id),
                redemptions::resolved_by.eq(&actor.label),
                redemptions::resolved_at.eq(now),
            ))
            .returning(Redemption::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("reward.redemption_resolve", "redemption", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// Posts or voids the open holds of redemption `id` (see the module doc):
/// one ledger batch, the void's with what `earn::held::voiding` books.
fn book_resolution(
    conn: &mut PgConnection,
    id: i64,
    member_id: MemberId,
    holds: &[TransferId],
    is_fulfil: bool,
) -> Result<JournalEntryId, RedeemError> {
    let (suffix, kind) = if is_fulfil {
        ("post", "redeem")
    } else {
        ("void", "redeem_void")
    };
    let entry = holds.iter().fold(
        EntryRequest::new(format!("redeem:{id}:{suffix}"), kind)
            .metadata(serde_json::json!({ "redemption_id": id })),
        |entry, &pending| {
            entry.transfer(if is_fulfil {
                TransferRequest::Post {
                    pending,
                    amount: None,
                }
            } else {
                TransferRequest::Void { pending }
            })
        },
    );
    let mut batch = vec![entry];
    if !is_fulfil {
        batch.extend(held::voiding(conn, member_id, holds)?);
    }
    let results = ledger::submit(conn, &batch)?;
    let mut results = results.into_iter();
    let resolved = results
        .next()
        .expect("the batch starts with the entry that resolves the holds")
        .map_err(RedeemError::Refused)?;
    for (entry, result) in batch.iter().skip(1).zip(results) {
        if let Err(error) = result {
            return Err(held::HeldError::Refused {
                entry: entry.idempotency_key.clone(),
                error,
            }
            .into());
        }
    }
    if is_fulfil {
        held::posted(conn, holds)?;
    }
    Ok(resolved.entry_id)
}

/// The entry of the ledger's timeout that voided a redemption's holds.
fn timed_out_by(conn: &mut PgConnection, hold_entry: i64) -> Result<JournalEntryId, RedeemError> {
    let resolved_by: Option<i64> = ledger_holds::table
        .filter(ledger_holds::entry_id.eq(hold_entry))
        .order(ledger_holds::hold_id)
        .select(ledger_holds::resolved_by)
        .first(conn)?;
    Ok(JournalEntryId(
        resolved_by.ok_or(diesel::result::Error::NotFound)?,
    ))
}

/// One redemption.
pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Redemption>> {
    redemptions::table
        .find(id)
        .select(Redemption::as_select())
        .first(conn)
        .optional()
}

/// The member's redemptions, newest first.
pub fn of_member(
    conn: &mut PgConnection,
    member_id: MemberId,
    limit: i64,
) -> QueryResult<Vec<Redemption>> {
    redemptions::table
        .filter(redemptions::member_id.eq(member_id))
        .order(redemptions::id.desc())
        .limit(limit)
        .select(Redemption::as_select())
        .load(conn)
}
