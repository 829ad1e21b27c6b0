//! `alliance import orders`: `phone,order_id,amount_cny,occurred_at,store_code,refunded_cny`
//! — a merchant's order history, for tiers (trailing spend), reports and later
//! refunds through the partner API. Orders earn no points unless the import is
//! asked to award them (`--award`): then each order's points at the programme's
//! earn rate on what was not refunded (no tier bonus or campaign: those were
//! the merchant's own) are credited by an `import_award` entry backdated to the
//! order's time, with a lot that lapses by the programme's expiry policy.
//!
//! An order id is imported once per merchant: the same order again is skipped,
//! and the same id with another member, amount or time is refused.

use std::collections::{HashMap, HashSet, hash_map::Entry};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde_json::json;

use crate::{
    db::schema::earn_orders,
    domain::{
        id::{MemberId, StoreId},
        money::Money,
        phone::Phone,
    },
    earn::{
        OrderId, Source,
        lot::expiry,
        rule::{Breakdown, TierBonus},
        tier,
    },
    ledger::{EntryError, EntryRequest},
    merchant::{Merchant, store},
};

use super::{
    Booked, Context, ImportError,
    lots::{Grant, Lot, grant, program_code},
    rows::{self, Parsed, Problem, Rejection},
    source::Table,
};

pub const COLUMNS: &[&str] = &[
    "phone",
    "order_id",
    "amount_cny",
    "occurred_at",
    "store_code",
    "refunded_cny",
];

/// Order rows per INSERT (twelve parameters each, at most 65,535 per statement).
const ORDERS_PER_INSERT: usize = 4_000;

pub struct Row {
    line: u64,
    member_id: MemberId,
    order_id: OrderId,
    amount: Money,
    occurred_at: DateTime<Utc>,
    store_id: Option<StoreId>,
    refunded: Money,
}

struct Parsed1 {
    phone: Phone,
    row: Row,
}

pub fn validate(
    conn: &mut PgConnection,
    keys: &crate::crypto::Keys,
    merchant: &Merchant,
    table: Table,
    now: DateTime<Utc>,
) -> QueryResult<Parsed<Row>> {
    let stores = store::list(conn, merchant.id)?;
    let mut first_line: HashMap<OrderId, u64> = HashMap::new();
    let parsed = rows::parse_all(table, COLUMNS, |fields| {
        let phone = fields.required("phone", |text| {
            Phone::parse(text).map_err(|_| Problem::Phone)
        });
        let order_id = fields.required("order_id", |text| {
            OrderId::parse(text).map_err(|_| Problem::OrderId)
        });
        let amount = fields.required("amount_cny", |text| {
            let amount = Money::parse(text).map_err(|_| Problem::Amount)?;
            if amount.fen() <= 0 {
                return Err(Problem::NotPositive);
            }
            Ok(amount)
        });
        let occurred_at = fields.required("occurred_at", |text| rows::past_time(text, now));
        let store_id = fields.optional("store_code", |text| {
            stores
                .iter()
                .find(|s| s.id.to_string() == text || s.name == text)
                .map(|s| s.id)
                .ok_or(Problem::Store)
        });
        let refunded = fields
            .optional("refunded_cny", |text| {
                Money::parse(text)
                    .ok()
                    .filter(|m| m.fen() >= 0)
                    .ok_or(Problem::Amount)
            })?
            .unwrap_or(Money::ZERO);
        let amount = amount?;
        if refunded.fen() > amount.fen() {
            fields.reject::<()>("refunded_cny", Problem::RefundExceedsAmount)?;
        }
        let order_id = order_id?;
        match first_line.entry(order_id.clone()) {
            Entry::Occupied(first) => {
                let first = *first.get();
                fields.reject::<()>("order_id", Problem::DuplicateOrder { first })?;
            }
            Entry::Vacant(slot) => {
                slot.insert(fields.line());
            }
        }
        Some(Parsed1 {
            phone: phone?,
            row: Row {
                line: fields.line(),
                member_id: MemberId(0),
                order_id,
                amount,
                occurred_at: occurred_at?,
                store_id: store_id?,
                refunded,
            },
        })
    });
    let mut rejections = parsed.rejections;
    let unowned = parsed
        .rows
        .into_iter()
        .map(|r| (r.phone, r.row.line, r.row))
        .collect();
    let rows = super::members::resolve(conn, keys, merchant, unowned, &mut rejections)?
        .into_iter()
        .map(|(member_id, row)| Row { member_id, ..row })
        .collect();
    Ok(Parsed { rows, rejections })
}

pub fn book(conn: &mut PgConnection, ctx: &Context, rows: &[Row]) -> Result<Booked, ImportError> {
    let members: Vec<MemberId> = rows.iter().map(|r| r.member_id).collect();
    crate::people::member::lock_many(conn, &members)?;
    let base_tier = tier::ladder(conn)?
        .into_iter()
        .next()
        .map(|t| t.code)
        .unwrap_or_default();
    let created_by = format!("import:{}", ctx.import_id);
    let mut inserted: HashMap<String, i64> = HashMap::new();
    for chunk in rows.chunks(ORDERS_PER_INSERT) {
        let values: Vec<_> = chunk
            .iter()
            .map(|row| {
                (
                    earn_orders::merchant_id.eq(ctx.merchant.id),
                    earn_orders::order_id.eq(row.order_id.as_str()),
                    earn_orders::member_id.eq(row.member_id),
                    earn_orders::program_code.eq(&ctx.program.code),
                    earn_orders::store_id.eq(row.store_id),
                    earn_orders::amount_fen.eq(row.amount.fen()),
                    earn_orders::points.eq(0_i64),
                    earn_orders::breakdown.eq(breakdown(&base_tier, Decimal::ZERO, 0)),
                    earn_orders::source.eq(Source::Import),
                    earn_orders::created_by.eq(&created_by),
                    earn_orders::occurred_at.eq(row.occurred_at),
                    earn_orders::refunded_fen.eq(row.refunded.fen()),
                )
            })
            .collect();
        inserted.extend(
            diesel::insert_into(earn_orders::table)
                .values(&values)
                .on_conflict((earn_orders::merchant_id, earn_orders::order_id))
                .do_nothing()
                .returning((earn_orders::order_id, earn_orders::id))
                .load::<(String, i64)>(conn)?,
        );
    }
    let mut booked = Booked {
        rows: inserted.len(),
        refused: refuse_changed(conn, ctx, rows, &inserted)?,
    };
    if ctx.award {
        let new: Vec<(&Row, i64)> = rows
            .iter()
            .filter_map(|row| inserted.get(row.order_id.as_str()).map(|&id| (row, id)))
            .collect();
        booked.refused.extend(award(conn, ctx, &base_tier, &new)?);
    }
    Ok(booked)
}

/// Orders of the batch already in the books: the same order is skipped, the
/// same id with another member, amount or time is refused.
fn refuse_changed(
    conn: &mut PgConnection,
    ctx: &Context,
    rows: &[Row],
    inserted: &HashMap<String, i64>,
) -> QueryResult<Vec<Rejection>> {
    let existing: Vec<&Row> = rows
        .iter()
        .filter(|row| !inserted.contains_key(row.order_id.as_str()))
        .collect();
    if existing.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = existing.iter().map(|r| r.order_id.as_str()).collect();
    let stored: HashSet<(String, MemberId, i64, DateTime<Utc>)> = earn_orders::table
        .filter(earn_orders::merchant_id.eq(ctx.merchant.id))
        .filter(earn_orders::order_id.eq_any(&ids))
        .select((
            earn_orders::order_id,
            earn_orders::member_id,
            earn_orders::amount_fen,
            earn_orders::occurred_at,
        ))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(existing
        .into_iter()
        .filter(|row| {
            !stored.contains(&(
                row.order_id.as_str().to_owned(),
                row.member_id,
                row.amount.fen(),
                row.occurred_at,
            ))
        })
        .map(|row| Rejection {
            line: row.line,
            column: "order_id",
            problem: Problem::OrderDiffers,
        })
        .collect())
}

/// Credits the points the new orders earn and records them on the orders.
fn award(
    conn: &mut PgConnection,
    ctx: &Context,
    base_tier: &str,
    orders: &[(&Row, i64)],
) -> Result<Vec<Rejection>, ImportError> {
    let program = program_code(ctx)?;
    let rate = ctx.program.earn_points_per_cny;
    let earning: Vec<(&Row, i64, Lot)> = orders
        .iter()
        .filter_map(|&(row, id)| {
            let net = Money::from_fen(row.amount.fen() - row.refunded.fen());
            let points = (net.to_decimal() * rate).floor().to_i64()?;
            (points > 0).then(|| {
                let lot = Lot {
                    line: row.line,
                    points,
                    earned_at: row.occurred_at,
                    expires_at: expiry(row.occurred_at, ctx.program.expiry_months),
                };
                (row, id, lot)
            })
        })
        .collect();
    let grants: Vec<Grant> = earning
        .iter()
        .map(|(row, _, lot)| Grant {
            member_id: row.member_id,
            entry: EntryRequest::new(
                format!("import:award:{}:{}", ctx.merchant.id, row.order_id),
                "import_award",
            )
            .metadata(json!({
                "member_id": row.member_id,
                "merchant_id": ctx.merchant.id,
                "order_id": row.order_id,
            }))
            .effective_at(row.occurred_at.max(ctx.effective_floor)),
            lots: std::slice::from_ref(lot),
        })
        .collect();
    let results = grant(conn, &program, &grants)?;
    let mut refused = Vec::new();
    for ((row, id, lot), result) in earning.iter().zip(results) {
        match result {
            Ok(Some(entry)) => {
                diesel::update(earn_orders::table.find(id))
                    .set((
                        earn_orders::points.eq(lot.points),
                        earn_orders::journal_entry_id.eq(entry.0),
                        earn_orders::breakdown.eq(breakdown(base_tier, rate, lot.points)),
                    ))
                    .execute(conn)?;
            }
            // The order row is new, so its award key cannot be in the books;
            // if it is, the books were written by something else.
            Ok(None) | Err(EntryError::IdempotencyConflict { .. }) => refused.push(Rejection {
                line: row.line,
                column: "order_id",
                problem: Problem::OrderDiffers,
            }),
            Err(error) => return Err(error.into()),
        }
    }
    Ok(refused)
}

/// The breakdown an imported order shows: its base points only.
fn breakdown(base_tier: &str, earn_rate: Decimal, points: i64) -> serde_json::Value {
    serde_json::to_value(Breakdown {
        earn_rate,
        base_points: points,
        tier: TierBonus {
            code: base_tier.to_owned(),
            bonus_bp: 0,
            points: 0,
        },
        campaigns: Vec::new(),
        total_points: points,
    })
    .expect("a breakdown serializes")
}
