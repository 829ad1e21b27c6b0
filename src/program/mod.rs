//! Points programs: one per merchant, its code the ledger asset of its points,
//! with the settlement value (CNY per point) agreed with the merchant and the
//! rules members meet: earning, expiry, exchange switches and limits.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{db::schema::programs, i18n::Locale};

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
