//! The `imports` table: one row per import, with how far it got. A run killed
//! half-way leaves its row `running` with the units that committed; the next
//! run of the same file finds it and goes on from there.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    db::schema::imports,
    domain::{actor::Actor, id::MerchantId},
};

use crate::domain::text_enum::text_enum;

use super::Kind;

text_enum! {
    /// Where an import is: booking, done, or stopped by a failure of the system.
    pub enum Status {
        Running => "running",
        Finished => "finished",
        Failed => "failed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = imports, check_for_backend(diesel::pg::Pg))]
pub struct Import {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub kind: Kind,
    pub file_name: String,
    pub file_sha256: Vec<u8>,
    pub award: bool,
    pub skip_invalid: bool,
    pub rows_total: i32,
    pub rows_rejected: i32,
    pub units_total: i32,
    pub units_done: i32,
    pub rows_booked: i32,
    pub effective_floor: DateTime<Utc>,
    pub status: Status,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub failure: Option<String>,
}

/// What identifies one file's import: a later run with the same is the same import.
#[derive(Debug, Clone)]
pub struct FileIdentity<'a> {
    pub merchant_id: MerchantId,
    pub kind: Kind,
    pub sha256: &'a [u8],
    pub award: bool,
    pub skip_invalid: bool,
}

/// How big a new import is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub rows_total: usize,
    pub rows_rejected: usize,
    pub units_total: usize,
}

/// The latest import of the same file, if any.
pub fn latest_of(conn: &mut PgConnection, file: &FileIdentity) -> QueryResult<Option<Import>> {
    imports::table
        .filter(imports::merchant_id.eq(file.merchant_id))
        .filter(imports::kind.eq(file.kind))
        .filter(imports::file_sha256.eq(file.sha256))
        .filter(imports::award.eq(file.award))
        .filter(imports::skip_invalid.eq(file.skip_invalid))
        .order(imports::id.desc())
        .select(Import::as_select())
        .first(conn)
        .optional()
}

pub fn start(
    conn: &mut PgConnection,
    file: &FileIdentity,
    file_name: &str,
    size: Size,
    effective_floor: DateTime<Utc>,
    actor: &Actor,
) -> QueryResult<Import> {
    diesel::insert_into(imports::table)
        .values((
            imports::merchant_id.eq(file.merchant_id),
            imports::kind.eq(file.kind),
            imports::file_name.eq(file_name),
            imports::file_sha256.eq(file.sha256),
            imports::award.eq(file.award),
            imports::skip_invalid.eq(file.skip_invalid),
            imports::rows_total.eq(count(size.rows_total)),
            imports::rows_rejected.eq(count(size.rows_rejected)),
            imports::units_total.eq(count(size.units_total)),
            imports::effective_floor.eq(effective_floor),
            imports::status.eq(Status::Running),
            imports::started_by.eq(&actor.label),
            imports::started_at.eq(crate::clock::now()),
        ))
        .returning(Import::as_returning())
        .get_result(conn)
}

/// Marks a stopped import running again, to go on from where it stopped.
pub fn resume(conn: &mut PgConnection, id: i64) -> QueryResult<()> {
    diesel::update(imports::table.find(id))
        .set((
            imports::status.eq(Status::Running),
            imports::failure.eq(None::<String>),
        ))
        .execute(conn)
        .map(drop)
}

/// Counts `units` more as done and `booked` more rows as booked: call in the
/// transaction that booked them, so progress and books never disagree.
pub fn advance(conn: &mut PgConnection, id: i64, units: usize, booked: usize) -> QueryResult<()> {
    diesel::update(imports::table.find(id))
        .set((
            imports::units_done.eq(imports::units_done + count(units)),
            imports::rows_booked.eq(imports::rows_booked + count(booked)),
        ))
        .execute(conn)
        .map(drop)
}

pub fn finish(conn: &mut PgConnection, id: i64) -> QueryResult<Import> {
    diesel::update(imports::table.find(id))
        .set((
            imports::status.eq(Status::Finished),
            imports::finished_at.eq(crate::clock::now()),
        ))
        .returning(Import::as_returning())
        .get_result(conn)
}

pub fn fail(conn: &mut PgConnection, id: i64, failure: &str) -> QueryResult<()> {
    diesel::update(imports::table.find(id))
        .set((
            imports::status.eq(Status::Failed),
            imports::failure.eq(failure),
        ))
        .execute(conn)
        .map(drop)
}

/// Row counts fit the table's `integer`: a file of more than 2^31 rows is not
/// read into memory in the first place.
fn count(n: usize) -> i32 {
    i32::try_from(n).expect("fewer than 2^31 rows")
}
