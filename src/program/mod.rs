//! Points programs: one per merchant, its code the ledger asset of its points,
//! with the settlement value (CNY per point) agreed with the merchant and the
//! rules members meet: earning, expiry, exchange switches and limits.

use chrono::{DateTime, Utc};
use diesel::{dsl::exists, prelude::*};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    chart,
    db::schema::{assets, merchants, programs},
    domain::{actor::Actor, points::ProgramCode, rate::Rate},
    i18n::Locale,
    ledger::LedgerError,
};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = programs, check_for_backend(diesel::pg::Pg))]
pub struct Program {
    pub id: i64,
    pub merchant_id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub logo_path: Option<String>,
    pub settlement_value: Decimal,
    pub earn_points_per_cny: Decimal,
    pub expiry_months: i16,
    pub exchange_in: bool,
    pub exchange_out: bool,
    pub min_exchange_points: i64,
    pub max_exchange_points: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Program {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }
}

pub fn of_merchant(conn: &mut PgConnection, merchant_id: i64) -> QueryResult<Option<Program>> {
    programs::table
        .filter(programs::merchant_id.eq(merchant_id))
        .select(Program::as_select())
        .first(conn)
        .optional()
}

pub fn by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Program>> {
    programs::table
        .filter(programs::code.eq(code))
        .select(Program::as_select())
        .first(conn)
        .optional()
}

pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<Program>> {
    programs::table
        .order(programs::id)
        .select(Program::as_select())
        .load(conn)
}

/// A new program's terms, agreed with its merchant.
#[derive(Debug, Clone)]
pub struct NewProgram<'a> {
    pub merchant_id: i64,
    pub code: &'a ProgramCode,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub settlement_value: Rate,
    pub earn_points_per_cny: Decimal,
    pub expiry_months: i16,
    pub exchange_in: bool,
    pub exchange_out: bool,
    pub min_exchange_points: i64,
    pub max_exchange_points: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("the code {0} is already in use")]
    CodeTaken(ProgramCode),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<diesel::result::Error> for ProgramError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Ledger(e.into())
    }
}

/// A new program's code names a new ledger asset and is its merchant's code too,
/// so it is taken when an asset or a merchant has it.
pub fn code_taken(conn: &mut PgConnection, code: &ProgramCode) -> QueryResult<bool> {
    let merchant = diesel::select(exists(
        merchants::table.filter(merchants::code.eq(code.as_str())),
    ))
    .get_result(conn)?;
    Ok(merchant || asset_taken(conn, code)?)
}

/// The house's assets count as taken before its books are opened, which a new
/// deployment does lazily.
fn asset_taken(conn: &mut PgConnection, code: &ProgramCode) -> QueryResult<bool> {
    if *code == ProgramCode::alp() || code.as_str() == chart::CNY {
        return Ok(true);
    }
    diesel::select(exists(assets::table.find(code.as_str()))).get_result(conn)
}

/// Registers the program's points as a ledger asset, opens its issuance and
/// breakage accounts and stores the program, for a merchant whose code is the
/// program's. The asset must be new: `chart::ensure_program` is idempotent and
/// would quietly hand over an asset that already counts something else.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewProgram,
) -> Result<Program, ProgramError> {
    conn.transaction(|conn| {
        if asset_taken(conn, new.code)? {
            return Err(ProgramError::CodeTaken(new.code.clone()));
        }
        chart::ensure_program(conn, new.code, new.name_zh)?;
        let program = diesel::insert_into(programs::table)
            .values((
                programs::merchant_id.eq(new.merchant_id),
                programs::code.eq(new.code.as_str()),
                programs::name_zh.eq(new.name_zh),
                programs::name_en.eq(new.name_en),
                programs::settlement_value.eq(new.settlement_value.as_decimal()),
                programs::earn_points_per_cny.eq(new.earn_points_per_cny),
                programs::expiry_months.eq(new.expiry_months),
                programs::exchange_in.eq(new.exchange_in),
                programs::exchange_out.eq(new.exchange_out),
                programs::min_exchange_points.eq(new.min_exchange_points),
                programs::max_exchange_points.eq(new.max_exchange_points),
            ))
            .returning(Program::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("program.create", "program", program.id).after(&program),
        )?;
        Ok(program)
    })
}
