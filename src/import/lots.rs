//! `alliance import lots`: `phone,points,earned_at,expires_at` — a merchant's
//! members' opening balances, as the lots its own programme kept, each with
//! the time it was earned and when it lapses (empty: never).
//!
//! A member's lots of one file are one ledger entry, `import_opening`: one
//! transfer of their sum from the programme's issuance account into the
//! member's wallet, backdated to the import's effective floor, under the key
//! `import:opening:<programme>:<member>`. The ledger holds the balance; the lots
//! say when its points lapse, oldest first, as every other credit's lots do.
//! Its request carries a digest of the member's lots, so the same lots in any
//! order replay and other lots for a member whose opening balance is in the
//! books are refused row by row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ring::digest;
use serde_json::json;

use crate::{
    chart,
    db::schema::point_lots,
    domain::{
        id::{JournalEntryId, MemberId},
        phone::Phone,
        points::{PointCount, ProgramCode},
    },
    ledger::{self, EntryError, EntryRequest, EntryResult, TransferRequest},
    merchant::Merchant,
    people::member,
};

use super::{
    Booked, Context, ImportError,
    rows::{self, Parsed, Problem, Rejection},
    source::Table,
};

pub const COLUMNS: &[&str] = &["phone", "points", "earned_at", "expires_at"];

/// The most points one lot may hold: far above any real balance, far below
/// what a sum of lots could overflow.
const MAX_LOT_POINTS: i64 = 1_000_000_000;

/// Lot rows per INSERT (seven parameters each, at most 65,535 per statement).
const LOTS_PER_INSERT: usize = 5_000;

#[derive(Debug, Clone)]
pub struct Lot {
    pub line: u64,
    pub points: i64,
    pub earned_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A member's lots in the file: one unit of booking.
pub struct Group {
    member_id: MemberId,
    lots: Vec<Lot>,
}

struct LotRow {
    phone: Phone,
    lot: Lot,
}

pub fn validate(
    conn: &mut PgConnection,
    keys: &crate::crypto::Keys,
    merchant: &Merchant,
    table: Table,
    now: DateTime<Utc>,
) -> QueryResult<Parsed<Group>> {
    let parsed = rows::parse_all(table, COLUMNS, |fields| {
        let phone = fields.required("phone", |text| {
            Phone::parse(text).map_err(|_| Problem::Phone)
        });
        let points = fields.required("points", |text| {
            PointCount::parse_typed(text)
                .ok()
                .map(PointCount::get)
                .filter(|points| *points <= MAX_LOT_POINTS)
                .ok_or(Problem::Points {
                    max: MAX_LOT_POINTS,
                })
        });
        let earned_at = fields.required("earned_at", |text| rows::past_time(text, now));
        let expires_at = fields.optional("expires_at", |text| {
            let at = rows::time(text).ok_or(Problem::Time)?;
            if at <= now {
                return Err(Problem::Lapsed);
            }
            Ok(at)
        });
        let (earned_at, expires_at) = (earned_at?, expires_at?);
        if expires_at.is_some_and(|expires| expires <= earned_at) {
            fields.reject::<()>("expires_at", Problem::ExpiresBeforeEarned)?;
        }
        Some(LotRow {
            phone: phone?,
            lot: Lot {
                line: fields.line(),
                points: points?,
                earned_at,
                expires_at,
            },
        })
    });
    let mut rejections = parsed.rejections;
    let rows = parsed
        .rows
        .into_iter()
        .map(|r| (r.phone, r.lot.line, r.lot))
        .collect();
    let owned = super::members::resolve(conn, keys, merchant, rows, &mut rejections)?;
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<MemberId, usize> = HashMap::new();
    for (member_id, lot) in owned {
        let at = *group_of.entry(member_id).or_insert_with(|| {
            groups.push(Group {
                member_id,
                lots: Vec::new(),
            });
            groups.len() - 1
        });
        groups[at].lots.push(lot);
    }
    Ok(Parsed {
        rows: groups,
        rejections,
    })
}

pub fn book(
    conn: &mut PgConnection,
    ctx: &Context,
    groups: &[Group],
) -> Result<Booked, ImportError> {
    let program = program_code(ctx)?;
    let grants: Vec<Grant> = groups
        .iter()
        .map(|group| Grant {
            member_id: group.member_id,
            entry: opening_entry(ctx, &program, group),
            lots: &group.lots,
        })
        .collect();
    let results = grant(conn, &program, &grants)?;
    let mut booked = Booked::default();
    for (group, result) in groups.iter().zip(results) {
        match result {
            Ok(entry) => booked.rows += entry.map_or(0, |_| group.lots.len()),
            Err(EntryError::IdempotencyConflict { .. }) => {
                booked
                    .refused
                    .extend(group.lots.iter().map(|lot| Rejection {
                        line: lot.line,
                        column: "phone",
                        problem: Problem::OpeningBalanceImported,
                    }));
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(booked)
}

/// The programme the import books: the merchant's own.
pub(super) fn program_code(ctx: &Context) -> Result<ProgramCode, ImportError> {
    // A stored programme code that is not one is a failure of the system.
    ProgramCode::parse(&ctx.program.code).map_err(|e| {
        ImportError::Database(diesel::result::Error::DeserializationError(Box::new(e)))
    })
}

fn opening_entry(ctx: &Context, program: &ProgramCode, group: &Group) -> EntryRequest {
    let mut lots: Vec<String> = group
        .lots
        .iter()
        .map(|lot| {
            format!(
                "{}|{}|{}",
                lot.points,
                lot.earned_at.timestamp_micros(),
                lot.expires_at.map_or(-1, |at| at.timestamp_micros())
            )
        })
        .collect();
    lots.sort_unstable();
    let digest = digest::digest(&digest::SHA256, lots.join("\n").as_bytes());
    EntryRequest::new(
        format!("import:opening:{program}:{}", group.member_id),
        "import_opening",
    )
    .metadata(json!({
        "member_id": group.member_id,
        "merchant_id": ctx.merchant.id,
        "lots": group.lots.len(),
        "lots_sha256": hex::encode(digest.as_ref()),
    }))
    .effective_at(ctx.effective_floor)
}

/// Points for one member: the entry that credits their wallet (its transfer is
/// added here) and the lots the credit opens.
pub(super) struct Grant<'a> {
    pub member_id: MemberId,
    pub entry: EntryRequest,
    pub lots: &'a [Lot],
}

/// Credits each grant's points to its member's wallet — the batch's members
/// locked in id order, their wallets opened, every entry in one `submit` — and
/// opens the lots of the entries this call booked. Per grant: the entry, or
/// `None` when its key was in the books already (nothing new to open), or the
/// ledger's refusal.
pub(super) fn grant(
    conn: &mut PgConnection,
    program: &ProgramCode,
    grants: &[Grant],
) -> Result<Vec<Result<Option<JournalEntryId>, EntryError>>, ImportError> {
    let members: Vec<MemberId> = grants.iter().map(|g| g.member_id).collect();
    member::lock_many(conn, &members)?;
    let issuance = ledger::open_account(conn, &chart::program_issuance(program))?;
    let wallets = ledger::open_accounts(
        conn,
        &grants
            .iter()
            .map(|g| chart::member_wallet(g.member_id, program))
            .collect::<Vec<_>>(),
    )?;
    let entries: Vec<EntryRequest> = grants
        .iter()
        .zip(&wallets)
        .map(|(grant, wallet)| {
            let points = grant.lots.iter().map(|lot| lot.points).sum();
            grant.entry.clone().transfer(TransferRequest::move_(
                issuance.id,
                wallet.id,
                program.as_str(),
                points,
            ))
        })
        .collect();
    let results: Vec<EntryResult> = ledger::submit(conn, &entries)?;
    let mut new_lots = Vec::new();
    let decided = grants
        .iter()
        .zip(results)
        .map(|(grant, result)| {
            let booked = result.map(|entry| (!entry.replayed).then_some(entry.entry_id))?;
            if let Some(entry_id) = booked {
                new_lots.extend(grant.lots.iter().map(|lot| {
                    (
                        point_lots::member_id.eq(grant.member_id),
                        point_lots::program_code.eq(program.as_str()),
                        point_lots::points.eq(lot.points),
                        point_lots::remaining.eq(lot.points),
                        point_lots::expires_at.eq(lot.expires_at),
                        point_lots::journal_entry_id.eq(entry_id.0),
                        point_lots::created_at.eq(lot.earned_at),
                    )
                }));
            }
            Ok(booked)
        })
        .collect();
    for chunk in new_lots.chunks(LOTS_PER_INSERT) {
        diesel::insert_into(point_lots::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(decided)
}
