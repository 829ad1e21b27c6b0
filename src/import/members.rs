//! `alliance import members`: `phone,name,tier,joined_at`. Each holder is
//! enrolled (or found, by the blind index of their number), becomes a member of
//! the merchant since `joined_at`, and is raised to `tier` if it ranks above
//! the tier they have — an import never lowers a tier.

use std::collections::{HashMap, hash_map::Entry};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{
    crypto::Keys,
    db::schema::{members, merchant_members},
    domain::{id::MemberId, phone::Phone},
    earn::tier::{self, MemberTier},
    merchant::Merchant,
    people::{
        self,
        credentials::phone_index,
        member::{self, Enrolment},
    },
};

use super::{
    Booked, Context, ImportError,
    rows::{self, Parsed, Problem, Rejection},
    source::Table,
};

pub const COLUMNS: &[&str] = &["phone", "name", "tier", "joined_at"];

/// Rows per INSERT: PostgreSQL binds at most 65,535 parameters per statement.
const ROWS_PER_INSERT: usize = 5_000;

pub struct Row {
    phone: Phone,
    name: Option<String>,
    tier: Option<MemberTier>,
    joined_at: DateTime<Utc>,
}

pub fn validate(
    conn: &mut PgConnection,
    table: Table,
    now: DateTime<Utc>,
) -> QueryResult<Parsed<Row>> {
    let ladder = tier::ladder(conn)?;
    let known = ladder
        .iter()
        .map(|t| t.code.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut first_line: HashMap<Phone, u64> = HashMap::new();
    Ok(rows::parse_all(table, COLUMNS, |fields| {
        let phone = fields.required("phone", |text| {
            Phone::parse(text).map_err(|_| Problem::Phone)
        });
        let name = fields.optional("name", |text| {
            people::display_name(text)
                .map(str::to_owned)
                .map_err(|_| Problem::Name)
        });
        let tier = fields.optional("tier", |text| {
            ladder
                .iter()
                .find(|t| t.code.eq_ignore_ascii_case(text))
                .cloned()
                .ok_or_else(|| Problem::Tier {
                    known: known.clone(),
                })
        });
        let joined_at = fields.required("joined_at", |text| rows::past_time(text, now));
        let phone = phone?;
        match first_line.entry(phone.clone()) {
            Entry::Occupied(first) => {
                let first = *first.get();
                fields.reject("phone", Problem::DuplicatePhone { first })?;
            }
            Entry::Vacant(slot) => {
                slot.insert(fields.line());
            }
        }
        Some(Row {
            phone,
            name: name?,
            tier: tier?,
            joined_at: joined_at?,
        })
    }))
}

pub fn book(conn: &mut PgConnection, ctx: &Context, rows: &[Row]) -> Result<Booked, ImportError> {
    let enrolments: Vec<Enrolment> = rows
        .iter()
        .map(|row| Enrolment {
            phone: &row.phone,
            name: row.name.as_deref(),
        })
        .collect();
    let found = member::enrol_many(conn, ctx.keys, ctx.actor, ctx.import_id, &enrolments)?;
    let ids: Vec<MemberId> = found.iter().map(|(id, _)| *id).collect();
    member::lock_many(conn, &ids)?;
    let mut linked = 0;
    for (rows, ids) in rows
        .chunks(ROWS_PER_INSERT)
        .zip(ids.chunks(ROWS_PER_INSERT))
    {
        let links: Vec<_> = rows
            .iter()
            .zip(ids)
            .map(|(row, id)| {
                (
                    merchant_members::merchant_id.eq(ctx.merchant.id),
                    merchant_members::member_id.eq(*id),
                    merchant_members::since.eq(row.joined_at),
                )
            })
            .collect();
        linked += diesel::insert_into(merchant_members::table)
            .values(&links)
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    for (row, id) in rows.iter().zip(&ids) {
        if let Some(target) = &row.tier {
            tier::raise_to(conn, *id, target, ctx.actor)?;
        }
    }
    Ok(Booked {
        rows: linked,
        refused: Vec::new(),
    })
}

/// Gives each parsed row the member its phone belongs to at `merchant`;
/// a row whose phone is no member there is rejected on its `line`.
pub(super) fn resolve<R>(
    conn: &mut PgConnection,
    keys: &Keys,
    merchant: &Merchant,
    rows: Vec<(Phone, u64, R)>,
    rejections: &mut Vec<Rejection>,
) -> QueryResult<Vec<(MemberId, R)>> {
    let members = of_merchant(conn, keys, merchant, rows.iter().map(|(phone, _, _)| phone))?;
    Ok(rows
        .into_iter()
        .filter_map(|(phone, line, row)| {
            let member_id = members.get(&phone).copied();
            if member_id.is_none() {
                rejections.push(Rejection {
                    line,
                    column: "phone",
                    problem: Problem::UnknownMember,
                });
            }
            member_id.map(|id| (id, row))
        })
        .collect())
}

/// The members of `merchant` among the holders of `phones`, by number.
fn of_merchant<'a>(
    conn: &mut PgConnection,
    keys: &Keys,
    merchant: &Merchant,
    phones: impl IntoIterator<Item = &'a Phone>,
) -> QueryResult<HashMap<Phone, MemberId>> {
    let by_index: HashMap<Vec<u8>, Phone> = phones
        .into_iter()
        .map(|phone| (phone_index(keys, phone).to_vec(), phone.clone()))
        .collect();
    let indexes: Vec<&[u8]> = by_index.keys().map(Vec::as_slice).collect();
    let mut found = HashMap::with_capacity(indexes.len());
    for chunk in indexes.chunks(ROWS_PER_INSERT) {
        let rows: Vec<(Vec<u8>, MemberId)> = members::table
            .inner_join(merchant_members::table)
            .filter(merchant_members::merchant_id.eq(merchant.id))
            .filter(members::phone_index.eq_any(chunk))
            .select((members::phone_index, members::id))
            .load(conn)?;
        for (index, id) in rows {
            found.insert(by_index[&index].clone(), id);
        }
    }
    Ok(found)
}
