//! The rewards catalog (权益目录): what each merchant offers members, its price
//! (in the merchant's own points and/or as a CNY value other programs' points,
//! ALP and cash can pay), stock, validity and the stores where it is collected.
//! Every function is scoped by merchant: another merchant's reward is not found.
//! Every change is audited in the same transaction.

pub mod image;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::{reward_stores, rewards, stores},
    domain::{
        actor::Actor,
        id::{MerchantId, RewardId, StoreId},
        money::Money,
        shanghai,
        text_enum::text_enum,
    },
    error::{Class, Classify, Kind, Message, Refusal},
    i18n::Locale,
};

const MAX_TITLE_CHARS: usize = 60;
const MAX_DESCRIPTION_CHARS: usize = 500;
/// ¥100,000.00: anything dearer is a typing mistake, not a reward.
const MAX_VALUE_FEN: i64 = 10_000_000;
/// A points price above this is a typing mistake too (it is ¥10,000,000 at a
/// cent a point).
const MAX_POINTS_PRICE: i64 = 1_000_000_000;
const MAX_STOCK: i64 = 1_000_000;

/// The categories the database accepts, in the order a form lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Dining,
    Drinks,
    Groceries,
    Entertainment,
    Travel,
    Books,
    Fuel,
    Services,
    Other,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Self::Dining,
        Self::Drinks,
        Self::Groceries,
        Self::Entertainment,
        Self::Travel,
        Self::Books,
        Self::Fuel,
        Self::Services,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dining => "dining",
            Self::Drinks => "drinks",
            Self::Groceries => "groceries",
            Self::Entertainment => "entertainment",
            Self::Travel => "travel",
            Self::Books => "books",
            Self::Fuel => "fuel",
            Self::Services => "services",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The catalog key of the category's name.
    pub fn label_key(self) -> String {
        format!("catalog.category.{}", self.as_str())
    }
}

text_enum! {
    /// Where a reward stands: a draft is the merchant's alone; a published reward is
    /// offered to members within its validity; an unpublished one is withdrawn.
    pub enum RewardStatus {
        Draft => "draft",
        Published => "published",
        Unpublished => "unpublished",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = rewards, check_for_backend(diesel::pg::Pg))]
pub struct Reward {
    pub id: RewardId,
    pub merchant_id: MerchantId,
    pub title_zh: String,
    pub title_en: String,
    pub description_zh: String,
    pub description_en: String,
    pub category: String,
    pub image_path: Option<String>,
    pub value_fen: i64,
    pub points_price: Option<i64>,
    pub other_points: bool,
    pub cash_topup: bool,
    pub stock: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub status: RewardStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reward {
    pub fn title(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.title_zh,
            Locale::En => &self.title_en,
        }
    }

    pub fn description(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.description_zh,
            Locale::En => &self.description_en,
        }
    }

    pub fn category(&self) -> Category {
        Category::parse(&self.category).unwrap_or(Category::Other)
    }

    pub fn value(&self) -> Money {
        Money::from_fen(self.value_fen)
    }

    /// The first day of validity, in Shanghai.
    pub fn first_day(&self) -> NaiveDate {
        self.valid_from
            .with_timezone(&shanghai::offset())
            .date_naive()
    }

    /// The last day of validity, in Shanghai: validity ends at the start of the
    /// day after it.
    pub fn last_day(&self) -> NaiveDate {
        (self.valid_until - chrono::Duration::seconds(1))
            .with_timezone(&shanghai::offset())
            .date_naive()
    }
}

/// The reward as a merchant enters it, in text as typed. Only
/// [`RewardDetails::parse`] turns it into something stored.
#[derive(Debug, Clone, Copy)]
pub struct RewardInput<'a> {
    pub title_zh: &'a str,
    pub title_en: &'a str,
    pub description_zh: &'a str,
    pub description_en: &'a str,
    pub category: &'a str,
    /// CNY, e.g. `38.00`.
    pub value: &'a str,
    /// Whole points; empty when the merchant's points cannot pay.
    pub points_price: &'a str,
    pub other_points: bool,
    pub cash_topup: bool,
    pub stock: &'a str,
    /// `YYYY-MM-DD`, the first and last days of validity in Shanghai.
    pub first_day: &'a str,
    pub last_day: &'a str,
}

/// A checked reward, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = rewards)]
pub struct RewardDetails {
    title_zh: String,
    title_en: String,
    description_zh: String,
    description_en: String,
    category: String,
    value_fen: i64,
    // Cleared on edit when the price in points is taken away.
    #[diesel(treat_none_as_null = true)]
    points_price: Option<i64>,
    other_points: bool,
    cash_topup: bool,
    stock: i64,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
}

/// A field of the reward form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardField {
    TitleZh,
    TitleEn,
    DescriptionZh,
    DescriptionEn,
    Category,
    Value,
    PointsPrice,
    /// No way to pay was chosen.
    Payment,
    Stock,
    FirstDay,
    LastDay,
}

impl RewardField {
    /// The form field's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TitleZh => "title_zh",
            Self::TitleEn => "title_en",
            Self::DescriptionZh => "description_zh",
            Self::DescriptionEn => "description_en",
            Self::Category => "category",
            Self::Value => "value",
            Self::PointsPrice => "points_price",
            Self::Payment => "payment",
            Self::Stock => "stock",
            Self::FirstDay => "first_day",
            Self::LastDay => "last_day",
        }
    }
}

/// Every field that was wrong, so a form can mark each of them at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reward fields: {0:?}")]
pub struct InvalidReward(pub Vec<RewardField>);

impl RewardDetails {
    pub fn parse(input: &RewardInput<'_>) -> Result<Self, InvalidReward> {
        let mut invalid = Vec::new();
        let mut check = |ok: bool, field| {
            if !ok {
                invalid.push(field);
            }
        };
        let title_zh = text(input.title_zh, 1, MAX_TITLE_CHARS);
        let title_en = text(input.title_en, 1, MAX_TITLE_CHARS);
        let description_zh = text(input.description_zh, 0, MAX_DESCRIPTION_CHARS);
        let description_en = text(input.description_en, 0, MAX_DESCRIPTION_CHARS);
        let category = Category::parse(input.category.trim());
        let value = Money::parse(input.value.trim())
            .ok()
            .map(Money::fen)
            .filter(|fen| (1..=MAX_VALUE_FEN).contains(fen));
        let points_price = match input.points_price.trim() {
            "" => Some(None),
            text => whole(text, 1, MAX_POINTS_PRICE).map(Some),
        };
        let stock = whole(input.stock.trim(), 0, MAX_STOCK);
        let valid_from = day(input.first_day).map(start_of);
        let last_day = day(input.last_day);
        let valid_until = last_day.and_then(|d| d.checked_add_days(Days::new(1)).map(start_of));
        check(title_zh.is_some(), RewardField::TitleZh);
        check(title_en.is_some(), RewardField::TitleEn);
        check(description_zh.is_some(), RewardField::DescriptionZh);
        check(description_en.is_some(), RewardField::DescriptionEn);
        check(category.is_some(), RewardField::Category);
        check(value.is_some(), RewardField::Value);
        check(points_price.is_some(), RewardField::PointsPrice);
        // Only a points price that parsed can tell whether some way to pay is left.
        check(
            !matches!(points_price, Some(None)) || input.other_points || input.cash_topup,
            RewardField::Payment,
        );
        check(stock.is_some(), RewardField::Stock);
        check(valid_from.is_some(), RewardField::FirstDay);
        check(
            matches!((valid_from, valid_until), (Some(from), Some(until)) if until > from)
                || (valid_from.is_none() && valid_until.is_some()),
            RewardField::LastDay,
        );
        match (
            title_zh,
            title_en,
            description_zh,
            description_en,
            category,
            value,
            points_price,
            stock,
            valid_from,
            valid_until,
        ) {
            (
                Some(title_zh),
                Some(title_en),
                Some(description_zh),
                Some(description_en),
                Some(category),
                Some(value_fen),
                Some(points_price),
                Some(stock),
                Some(valid_from),
                Some(valid_until),
            ) if invalid.is_empty() => Ok(Self {
                title_zh,
                title_en,
                description_zh,
                description_en,
                category: category.as_str().to_owned(),
                value_fen,
                points_price,
                other_points: input.other_points,
                cash_topup: input.cash_topup,
                stock,
                valid_from,
                valid_until,
            }),
            _ => Err(InvalidReward(invalid)),
        }
    }
}

/// Trimmed, between `min` and `max` characters.
fn text(input: &str, min: usize, max: usize) -> Option<String> {
    let text = input.trim();
    (min..=max)
        .contains(&text.chars().count())
        .then(|| text.to_owned())
}

/// Plain digits only (no sign, no separators), within `min..=max`.
fn whole(text: &str, min: i64, max: i64) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| (min..=max).contains(n))
}

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Midnight at the start of `day` in Shanghai.
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN)
        .and_local_timezone(shanghai::offset())
        .single()
        .expect("a fixed offset has exactly one midnight")
        .with_timezone(&Utc)
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("no such reward")]
    NotFound,
    /// A store that is not one of the merchant's active stores.
    #[error("store {0} is not one of the merchant's active stores")]
    ForeignStore(StoreId),
    /// Publishing a reward whose validity is over.
    #[error("the reward's validity is over")]
    Expired,
    /// Unpublishing a reward that is not published.
    #[error("the reward is not published")]
    NotPublished,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Classify for CatalogError {
    fn class(&self) -> Class {
        use Kind::{Conflict, NotFound, Unprocessable};
        let (kind, key) = match self {
            Self::NotFound => (NotFound, "error.not_found.text"),
            Self::ForeignStore(_) => (Unprocessable, "catalog.error.stores"),
            Self::Expired => (Conflict, "catalog.flash.expired"),
            Self::NotPublished => (Conflict, "catalog.flash.not_published"),
            Self::Database(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(kind, "catalog_refused", Message::new(key)))
    }
}

/// What the audit log keeps of a reward: the row and where it is collected.
#[derive(Serialize)]
struct Audited<'a> {
    reward: &'a Reward,
    stores: &'a [StoreId],
}

/// The merchant's rewards, newest first.
pub fn of_merchant(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Vec<Reward>> {
    rewards::table
        .filter(rewards::merchant_id.eq(merchant_id))
        .order(rewards::id.desc())
        .select(Reward::as_select())
        .load(conn)
}

pub fn find(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: RewardId,
) -> QueryResult<Option<Reward>> {
    rewards::table
        .find(id)
        .filter(rewards::merchant_id.eq(merchant_id))
        .select(Reward::as_select())
        .first(conn)
        .optional()
}

/// Rewards members can redeem at `now`: published and within their validity.
pub fn published(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<Vec<Reward>> {
    rewards::table
        .filter(rewards::status.eq(RewardStatus::Published))
        .filter(rewards::valid_from.le(now))
        .filter(rewards::valid_until.gt(now))
        .order(rewards::id.desc())
        .select(Reward::as_select())
        .load(conn)
}

/// The stores where the merchant's reward `id` is collected; empty: all of
/// the merchant's stores.
pub fn stores_of(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: RewardId,
) -> QueryResult<Vec<StoreId>> {
    reward_stores::table
        .inner_join(rewards::table)
        .filter(reward_stores::reward_id.eq(id))
        .filter(rewards::merchant_id.eq(merchant_id))
        .order(reward_stores::store_id)
        .select(reward_stores::store_id)
        .load(conn)
}

/// A new draft, collected at `store_ids` (empty: every store).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    details: &RewardDetails,
    store_ids: &[StoreId],
) -> Result<Reward, CatalogError> {
    conn.transaction(|conn| {
        let reward = diesel::insert_into(rewards::table)
            .values((
                rewards::merchant_id.eq(merchant_id),
                details,
                rewards::created_at.eq(crate::clock::now()),
                rewards::updated_at.eq(crate::clock::now()),
            ))
            .returning(Reward::as_returning())
            .get_result(conn)?;
        let stores = set_stores(conn, merchant_id, reward.id, store_ids)?;
        audit::record(
            conn,
            actor,
            Change::new("reward.create", "reward", reward.id).after(Audited {
                reward: &reward,
                stores: &stores,
            }),
        )?;
        Ok(reward)
    })
}

/// Replaces the details and stores of the merchant's reward `id`; its status
/// and image stay.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = %id))]
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: RewardId,
    details: &RewardDetails,
    store_ids: &[StoreId],
) -> Result<Reward, CatalogError> {
    conn.transaction(|conn| {
        let before = lock(conn, merchant_id, id)?;
        let before_stores = stores_of(conn, merchant_id, id)?;
        let after = diesel::update(rewards::table.find(id))
            .set((details, rewards::updated_at.eq(crate::clock::now())))
            .returning(Reward::as_returning())
            .get_result(conn)?;
        let stores = set_stores(conn, merchant_id, id, store_ids)?;
        audit::record(
            conn,
            actor,
            Change::new("reward.update", "reward", id)
                .before(Audited {
                    reward: &before,
                    stores: &before_stores,
                })
                .after(Audited {
                    reward: &after,
                    stores: &stores,
                }),
        )?;
        Ok(after)
    })
}

/// Publishes (needs a validity not already over at `now`) or unpublishes (needs
/// a published reward) the merchant's reward `id`.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = %id))]
pub fn set_status(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: RewardId,
    status: RewardStatus,
    now: DateTime<Utc>,
) -> Result<Reward, CatalogError> {
    conn.transaction(|conn| {
        let before = lock(conn, merchant_id, id)?;
        let action = match status {
            RewardStatus::Published if before.valid_until <= now => {
                return Err(CatalogError::Expired);
            }
            RewardStatus::Published => "reward.publish",
            RewardStatus::Unpublished if before.status != RewardStatus::Published => {
                return Err(CatalogError::NotPublished);
            }
            RewardStatus::Unpublished => "reward.unpublish",
            // Nothing goes back to being a draft: members may have seen it.
            RewardStatus::Draft => return Err(CatalogError::NotPublished),
        };
        let after = diesel::update(rewards::table.find(id))
            .set((
                rewards::status.eq(status),
                rewards::updated_at.eq(crate::clock::now()),
            ))
            .returning(Reward::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new(action, "reward", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// Points the merchant's reward `id` at a stored image (see [`image::store`]).
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = %id))]
pub fn set_image(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: RewardId,
    name: &image::ImageName,
) -> Result<Reward, CatalogError> {
    conn.transaction(|conn| {
        let before = lock(conn, merchant_id, id)?;
        let after = diesel::update(rewards::table.find(id))
            .set((
                rewards::image_path.eq(name.as_str()),
                rewards::updated_at.eq(crate::clock::now()),
            ))
            .returning(Reward::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("reward.image", "reward", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(after)
    })
}

/// The merchant's reward `id`, locked for a change.
fn lock(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: RewardId,
) -> Result<Reward, CatalogError> {
    rewards::table
        .find(id)
        .filter(rewards::merchant_id.eq(merchant_id))
        .select(Reward::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(CatalogError::NotFound)
}

/// Makes `store_ids` (deduplicated, sorted) the reward's stores, after checking
/// each is an active store of the merchant.
fn set_stores(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    reward_id: RewardId,
    store_ids: &[StoreId],
) -> Result<Vec<StoreId>, CatalogError> {
    let mut wanted = store_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let own: Vec<StoreId> = stores::table
        .filter(stores::merchant_id.eq(merchant_id))
        .filter(stores::active)
        .filter(stores::id.eq_any(&wanted))
        .select(stores::id)
        .load(conn)?;
    if let Some(foreign) = wanted.iter().find(|id| !own.contains(id)) {
        return Err(CatalogError::ForeignStore(*foreign));
    }
    diesel::delete(reward_stores::table.filter(reward_stores::reward_id.eq(reward_id)))
        .execute(conn)?;
    if wanted.is_empty() {
        return Ok(wanted);
    }
    diesel::insert_into(reward_stores::table)
        .values(
            wanted
                .iter()
                .map(|store_id| {
                    (
                        reward_stores::reward_id.eq(reward_id),
                        reward_stores::store_id.eq(*store_id),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .execute(conn)?;
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RewardInput<'static> {
        RewardInput {
            title_zh: "拿铁一杯",
            title_en: "A latte",
            description_zh: "",
            description_en: "",
            category: "drinks",
            value: "32.00",
            points_price: "",
            other_points: true,
            cash_topup: false,
            stock: "100",
            first_day: "2026-12-01",
            last_day: "2026-12-01",
        }
    }

    #[test]
    fn a_one_day_reward_runs_from_midnight_to_midnight_in_shanghai() {
        let details = RewardDetails::parse(&input()).unwrap();
        assert_eq!(details.valid_from.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(
            details.valid_until.to_rfc3339(),
            "2026-12-01T16:00:00+00:00"
        );
        assert_eq!(details.value_fen, 3200);
        assert_eq!(details.points_price, None);
    }

    #[test]
    fn every_wrong_field_is_named() {
        let long = "字".repeat(MAX_TITLE_CHARS + 1);
        let bad = RewardInput {
            title_zh: " ",
            title_en: &long,
            category: "cars",
            value: "100000.01",
            points_price: "-5",
            stock: "1000001",
            first_day: "2026-12-02",
            last_day: "2026-12-01",
            ..input()
        };
        assert_eq!(
            RewardDetails::parse(&bad),
            Err(InvalidReward(vec![
                RewardField::TitleZh,
                RewardField::TitleEn,
                RewardField::Category,
                RewardField::Value,
                RewardField::PointsPrice,
                RewardField::Stock,
                RewardField::LastDay,
            ]))
        );
    }

    #[test]
    fn some_way_to_pay_is_needed() {
        let nothing = RewardInput {
            other_points: false,
            ..input()
        };
        assert_eq!(
            RewardDetails::parse(&nothing),
            Err(InvalidReward(vec![RewardField::Payment]))
        );
        let own_points = RewardInput {
            points_price: "1200",
            ..nothing
        };
        assert_eq!(
            RewardDetails::parse(&own_points).unwrap().points_price,
            Some(1200)
        );
        let cash = RewardInput {
            cash_topup: true,
            ..nothing
        };
        assert!(RewardDetails::parse(&cash).is_ok());
    }

    #[test]
    fn limits_are_inclusive() {
        let edges = RewardInput {
            value: "100000",
            stock: "1000000",
            description_zh: &"字".repeat(MAX_DESCRIPTION_CHARS),
            ..input()
        };
        assert!(RewardDetails::parse(&edges).is_ok());
        for stock in ["", "1,000", "+3", "1.5"] {
            let bad = RewardInput { stock, ..input() };
            assert_eq!(
                RewardDetails::parse(&bad),
                Err(InvalidReward(vec![RewardField::Stock])),
                "{stock:?}"
            );
        }
    }
}
