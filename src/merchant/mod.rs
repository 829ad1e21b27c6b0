//! Partner merchants: who they are, their tier and status, and how they leave
//! (`exit`). Onboarding, programs and deposits build on it.

pub mod api_key;
pub mod contact;
pub mod standing;
pub mod store;
pub mod tier;
pub mod tier_request;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{db::schema::merchants, domain::id::MerchantId, i18n::Locale};

use self::{standing::Status, tier::Tier};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = merchants, check_for_backend(diesel::pg::Pg))]
pub struct Merchant {
    pub id: MerchantId,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    pub tier: Tier,
    pub status: Status,
    pub created_at: DateTime<Utc>,
}

impl Merchant {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = merchants)]
pub struct NewMerchant<'a> {
    pub code: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub category: &'a str,
    pub tier: &'a str,
}

/// Creates the merchant, or returns the one with the same code (idempotent, for
/// the demo and tests; onboarding goes through applications).
#[tracing::instrument(skip_all)]
pub fn ensure(conn: &mut PgConnection, new: &NewMerchant) -> QueryResult<Merchant> {
    diesel::insert_into(merchants::table)
        // Joined now in domain time, so a seeded history's merchant joins when it starts.
        .values((new, merchants::created_at.eq(crate::clock::now())))
        .on_conflict(merchants::code)
        .do_nothing()
        .execute(conn)?;
    merchants::table
        .filter(merchants::code.eq(new.code))
        .select(Merchant::as_select())
        .first(conn)
}

pub fn find(conn: &mut PgConnection, id: MerchantId) -> QueryResult<Option<Merchant>> {
    merchants::table
        .find(id)
        .select(Merchant::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Merchant>> {
    merchants::table
        .filter(merchants::code.eq(code))
        .select(Merchant::as_select())
        .first(conn)
        .optional()
}

/// Merchants members can use now, for the public home page.
pub fn list_active(conn: &mut PgConnection) -> QueryResult<Vec<Merchant>> {
    merchants::table
        .filter(merchants::status.eq(Status::Active))
        .order((merchants::tier.desc(), merchants::id))
        .select(Merchant::as_select())
        .load(conn)
}

pub fn count_active(conn: &mut PgConnection) -> QueryResult<i64> {
    merchants::table
        .filter(merchants::status.eq(Status::Active))
        .count()
        .get_result(conn)
}
