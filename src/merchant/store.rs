//! A merchant's stores (门店): where members earn and redeem in person, and what
//! "nearby" finds. The merchant's owner and managers keep the list; a closed
//! store is deactivated rather than deleted, so past activity still names it.
//! Every query is scoped by merchant: another merchant's store is not found.

use std::str::FromStr as _;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    audit::{self, Change},
    db::schema::stores,
    domain::{
        actor::Actor,
        id::{MerchantId, StoreId},
    },
};

const MAX_NAME_CHARS: usize = 60;
const MAX_ADDRESS_CHARS: usize = 200;
/// The column keeps six decimals (about 0.1 m); PostgreSQL would round a seventh
/// silently, so more are refused instead.
const MAX_DECIMALS: usize = 6;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = stores, check_for_backend(diesel::pg::Pg))]
pub struct Store {
    pub id: StoreId,
    pub merchant_id: MerchantId,
    pub name: String,
    pub address: String,
    pub latitude: Decimal,
    pub longitude: Decimal,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// What a person enters about a store, checked: only [`StoreDetails::parse`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset)]
#[diesel(table_name = stores)]
pub struct StoreDetails {
    name: String,
    address: String,
    latitude: Decimal,
    longitude: Decimal,
}

/// A field of the store form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreField {
    Name,
    Address,
    Latitude,
    Longitude,
}

impl StoreField {
    /// The form field's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Address => "address",
            Self::Latitude => "latitude",
            Self::Longitude => "longitude",
        }
    }
}

/// Every field that was wrong, so a form can mark each of them at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid store fields: {0:?}")]
pub struct InvalidStore(pub Vec<StoreField>);

impl StoreDetails {
    pub fn parse(
        name: &str,
        address: &str,
        latitude: &str,
        longitude: &str,
    ) -> Result<Self, InvalidStore> {
        let name = text(name, MAX_NAME_CHARS);
        let address = text(address, MAX_ADDRESS_CHARS);
        let latitude = degrees(latitude, 90);
        let longitude = degrees(longitude, 180);
        match (name, address, latitude, longitude) {
            (Some(name), Some(address), Some(latitude), Some(longitude)) => Ok(Self {
                name,
                address,
                latitude,
                longitude,
            }),
            (name, address, latitude, longitude) => Err(InvalidStore(
                [
                    (name.is_none(), StoreField::Name),
                    (address.is_none(), StoreField::Address),
                    (latitude.is_none(), StoreField::Latitude),
                    (longitude.is_none(), StoreField::Longitude),
                ]
                .into_iter()
                .filter_map(|(invalid, field)| invalid.then_some(field))
                .collect(),
            )),
        }
    }
}

/// Trimmed, not empty, at most `max` characters.
fn text(input: &str, max: usize) -> Option<String> {
    let text = input.trim();
    (!text.is_empty() && text.chars().count() <= max).then(|| text.to_owned())
}

/// Degrees as people type them (`31.2304`, `-0.5`, `121`), within ±`limit`.
/// The shape is checked before `Decimal` parses, because `Decimal` also accepts
/// forms no one means here (`1_000`, `+5`, `.5`).
fn degrees(input: &str, limit: i64) -> Option<Decimal> {
    let text = input.trim();
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, decimals) = match unsigned.split_once('.') {
        Some((whole, decimals)) if !decimals.is_empty() => (whole, decimals),
        Some(_) => return None,
        None => (unsigned, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = (1..=3).contains(&whole.len())
        && digits(whole)
        && decimals.len() <= MAX_DECIMALS
        && digits(decimals);
    if !well_formed {
        return None;
    }
    Decimal::from_str(text)
        .ok()
        .filter(|d| d.abs() <= Decimal::from(limit))
}

/// Active stores first, then in the order they were added.
pub fn list(conn: &mut PgConnection, merchant_id: MerchantId) -> QueryResult<Vec<Store>> {
    stores::table
        .filter(stores::merchant_id.eq(merchant_id))
        .order((stores::active.desc(), stores::id))
        .select(Store::as_select())
        .load(conn)
}

pub fn find(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    id: StoreId,
) -> QueryResult<Option<Store>> {
    stores::table
        .find(id)
        .filter(stores::merchant_id.eq(merchant_id))
        .select(Store::as_select())
        .first(conn)
        .optional()
}

#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id))]
pub fn add(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    details: &StoreDetails,
) -> QueryResult<Store> {
    conn.transaction(|conn| {
        let store = diesel::insert_into(stores::table)
            .values((
                stores::merchant_id.eq(merchant_id),
                details,
                stores::created_at.eq(crate::clock::now()),
            ))
            .returning(Store::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Change::new("store.create", "store", store.id).after(&store),
        )?;
        Ok(store)
    })
}

/// None when the merchant has no such store.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = %id))]
pub fn edit(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: StoreId,
    details: &StoreDetails,
) -> QueryResult<Option<Store>> {
    update(conn, actor, merchant_id, id, "store.update", |conn| {
        diesel::update(stores::table.find(id))
            .set(details)
            .returning(Store::as_returning())
            .get_result(conn)
    })
}

/// Deactivates (closes) or reactivates a store; None when the merchant has no
/// such store.
#[tracing::instrument(skip_all, fields(merchant_id = %merchant_id, id = %id))]
pub fn set_active(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: StoreId,
    active: bool,
) -> QueryResult<Option<Store>> {
    let action = if active {
        "store.activate"
    } else {
        "store.deactivate"
    };
    update(conn, actor, merchant_id, id, action, |conn| {
        diesel::update(stores::table.find(id))
            .set(stores::active.eq(active))
            .returning(Store::as_returning())
            .get_result(conn)
    })
}

/// Loads (only within the merchant), changes and audits one store.
fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    id: StoreId,
    action: &'static str,
    change: impl FnOnce(&mut PgConnection) -> QueryResult<Store>,
) -> QueryResult<Option<Store>> {
    conn.transaction(|conn| {
        let Some(before) = stores::table
            .find(id)
            .filter(stores::merchant_id.eq(merchant_id))
            .select(Store::as_select())
            .for_update()
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let after = change(conn)?;
        audit::record(
            conn,
            actor,
            Change::new(action, "store", id)
                .before(&before)
                .after(&after),
        )?;
        Ok(Some(after))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(latitude: &str, longitude: &str) -> Result<StoreDetails, InvalidStore> {
        StoreDetails::parse(
            "人民广场店",
            "上海市黄浦区南京东路 1 号",
            latitude,
            longitude,
        )
    }

    #[test]
    fn coordinates_keep_their_exact_decimal_value() {
        let store = parse(" 31.230416 ", "121.473701").unwrap();
        assert_eq!(store.latitude.to_string(), "31.230416");
        assert_eq!(store.longitude.to_string(), "121.473701");
        let edges = parse("-90", "180.000000").unwrap();
        assert_eq!(
            (edges.latitude, edges.longitude),
            (Decimal::from(-90), Decimal::from(180))
        );
    }

    #[test]
    fn out_of_range_or_oddly_written_coordinates_are_refused() {
        for latitude in [
            "90.000001",
            "-91",
            "91",
            "31.1234567",
            "",
            "abc",
            "31.",
            ".5",
            "+31",
            "1_0",
            "1e1",
            "31,23",
            "0031.2",
            "NaN",
        ] {
            assert_eq!(
                parse(latitude, "121.47"),
                Err(InvalidStore(vec![StoreField::Latitude])),
                "{latitude:?}"
            );
        }
        assert_eq!(
            parse("31.23", "-180.5"),
            Err(InvalidStore(vec![StoreField::Longitude]))
        );
    }

    #[test]
    fn every_wrong_field_is_named() {
        let long_name = "店".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            StoreDetails::parse(&long_name, "  ", "95", "200"),
            Err(InvalidStore(vec![
                StoreField::Name,
                StoreField::Address,
                StoreField::Latitude,
                StoreField::Longitude
            ]))
        );
        assert!(StoreDetails::parse(&"店".repeat(MAX_NAME_CHARS), "地址", "0", "0").is_ok());
    }
}
