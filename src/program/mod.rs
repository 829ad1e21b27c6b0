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
    domain::{
        actor::Actor,
        id::{MerchantId, ProgramId},
        points::ProgramCode,
        rate::Rate,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
    ledger::LedgerError,
    merchant::tier::Tier,
};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = programs, check_for_backend(diesel::pg::Pg))]
pub struct Program {
    pub id: ProgramId,
    pub merchant_id: MerchantId,
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
    /// The most points one member may earn here in a day (Asia/Shanghai).
    pub member_daily_earn_limit: i64,
    /// The most points one member may exchange out of it in a day (Asia/Shanghai).
    pub member_daily_exchange_limit: i64,
}

impl Program {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }
}

pub fn of_merchant(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> QueryResult<Option<Program>> {
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
    pub merchant_id: MerchantId,
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

/// Why a merchant's change to its program's settings was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("the merchant has no points program")]
    NotFound,
    #[error("the merchant's tier does not allow changing {0}")]
    TierForbids(SettingsField),
    #[error("invalid program settings: {0:?}")]
    Invalid(Vec<SettingsField>),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for SettingsError {
    /// Settings out of range read as their first field's message (a form
    /// shows each field's beside it); a change the tier does not allow is
    /// forbidden.
    fn class(&self) -> Class {
        let (kind, message) = match self {
            Self::NotFound => (Kind::NotFound, Message::new("error.not_found.text")),
            Self::TierForbids(_) => (Kind::Forbidden, Message::new("error.forbidden.text")),
            Self::Invalid(fields) => (
                Kind::Unprocessable,
                fields.first().map_or_else(
                    || Message::new("error.bad_request.text"),
                    |field| field.why(),
                ),
            ),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "settings_refused", message))
    }
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
#[tracing::instrument(skip_all)]
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
                programs::created_at.eq(crate::clock::now()),
                programs::updated_at.eq(crate::clock::now()),
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

/// What a merchant may change of its program; the settlement value is agreed
/// with the platform and is not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSettings {
    pub earn_points_per_cny: Decimal,
    pub expiry_months: i16,
    pub exchange_in: bool,
    pub exchange_out: bool,
    pub min_exchange_points: i64,
    pub max_exchange_points: i64,
}

/// A setting, named as its form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsField {
    EarnRate,
    Expiry,
    MinExchange,
    MaxExchange,
    DailyExchangeLimit,
}

impl SettingsField {
    /// What is wrong with a value refused for this field.
    pub fn why(self) -> Message {
        Message::new(match self {
            Self::EarnRate => "program.error.earn_rate",
            Self::Expiry => "program.error.expiry",
            Self::MinExchange => "program.error.min_exchange",
            Self::MaxExchange => "program.error.max_exchange",
            Self::DailyExchangeLimit => "program.error.daily_exchange_limit",
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EarnRate => "earn_points_per_cny",
            Self::Expiry => "expiry_months",
            Self::MinExchange => "min_exchange_points",
            Self::MaxExchange => "max_exchange_points",
            Self::DailyExchangeLimit => "member_daily_exchange_limit",
        }
    }
}

impl std::fmt::Display for SettingsField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most points per CNY a program may award.
pub const MAX_EARN_POINTS_PER_CNY: Decimal = Decimal::ONE_HUNDRED;
/// Decimal places of the earn rate.
pub const EARN_RATE_SCALE: u32 = 4;
/// The longest expiry, in months; 0 is never.
pub const MAX_EXPIRY_MONTHS: i16 = 120;
/// The most points one exchange may move.
pub const MAX_EXCHANGE_POINTS: i64 = 10_000_000;

impl ProgramSettings {
    /// The program's settings as they are.
    pub fn of(program: &Program) -> Self {
        Self {
            earn_points_per_cny: program.earn_points_per_cny,
            expiry_months: program.expiry_months,
            exchange_in: program.exchange_in,
            exchange_out: program.exchange_out,
            min_exchange_points: program.min_exchange_points,
            max_exchange_points: program.max_exchange_points,
        }
    }

    /// Whether an earn rate is in range: 0–100, at most four decimals.
    pub fn earn_rate_valid(rate: Decimal) -> bool {
        rate >= Decimal::ZERO
            && rate <= MAX_EARN_POINTS_PER_CNY
            && rate.normalize().scale() <= EARN_RATE_SCALE
    }

    /// The fields out of range; empty when all are fine.
    pub fn invalid_fields(&self) -> Vec<SettingsField> {
        let mut invalid = Vec::new();
        if !Self::earn_rate_valid(self.earn_points_per_cny) {
            invalid.push(SettingsField::EarnRate);
        }
        if !(0..=MAX_EXPIRY_MONTHS).contains(&self.expiry_months) {
            invalid.push(SettingsField::Expiry);
        }
        if !(1..=MAX_EXCHANGE_POINTS).contains(&self.min_exchange_points) {
            invalid.push(SettingsField::MinExchange);
        }
        if self.max_exchange_points < self.min_exchange_points
            || self.max_exchange_points > MAX_EXCHANGE_POINTS
        {
            invalid.push(SettingsField::MaxExchange);
        }
        invalid
    }
}

/// Changes the merchant's program settings as far as its tier allows: every
/// tier switches exchange and sets its limits; only a tier whose policy has
/// `custom_earn_rules` changes the earn rate and the expiry. Audited with the
/// program before and after, in the same transaction.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn update_settings(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    tier: Tier,
    settings: &ProgramSettings,
) -> Result<Program, SettingsError> {
    conn.transaction(|conn| {
        let before = programs::table
            .filter(programs::merchant_id.eq(merchant_id))
            .select(Program::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(SettingsError::NotFound)?;
        if !tier.policy().custom_earn_rules {
            if settings.earn_points_per_cny != before.earn_points_per_cny {
                return Err(SettingsError::TierForbids(SettingsField::EarnRate));
            }
            if settings.expiry_months != before.expiry_months {
                return Err(SettingsError::TierForbids(SettingsField::Expiry));
            }
        }
        let invalid = settings.invalid_fields();
        if !invalid.is_empty() {
            return Err(SettingsError::Invalid(invalid));
        }
        let after = diesel::update(programs::table.find(before.id))
            .set((
                programs::earn_points_per_cny.eq(settings.earn_points_per_cny.normalize()),
                programs::expiry_months.eq(settings.expiry_months),
                programs::exchange_in.eq(settings.exchange_in),
                programs::exchange_out.eq(settings.exchange_out),
                programs::min_exchange_points.eq(settings.min_exchange_points),
                programs::max_exchange_points.eq(settings.max_exchange_points),
                programs::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Program::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("program.update", "program", after.id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// The most points one member may exchange out of one program in a day.
pub const MAX_DAILY_EXCHANGE_LIMIT: i64 = 100_000_000;

/// Sets how many points one member may exchange out of the program a day: the
/// platform's risk limit, not the merchant's. Audited with before and after.
#[tracing::instrument(skip_all)]
pub fn set_member_daily_exchange_limit(
    conn: &mut PgConnection,
    actor: &Actor,
    code: &str,
    limit: i64,
) -> Result<Program, SettingsError> {
    if !(1..=MAX_DAILY_EXCHANGE_LIMIT).contains(&limit) {
        return Err(SettingsError::Invalid(vec![
            SettingsField::DailyExchangeLimit,
        ]));
    }
    conn.transaction(|conn| {
        let before = programs::table
            .filter(programs::code.eq(code))
            .select(Program::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or(SettingsError::NotFound)?;
        let after = diesel::update(programs::table.find(before.id))
            .set((
                programs::member_daily_exchange_limit.eq(limit),
                programs::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Program::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("program.exchange_limit", "program", after.id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}
