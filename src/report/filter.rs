//! What a report covers: a period of whole Shanghai days and, where the report
//! offers them, a merchant, a program, a district and a store. Parsed from the
//! query string into [`Filters`] before any report runs; every field that is
//! wrong is named with a translatable message, and a report never runs on a
//! filter it could not read.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use diesel::{PgConnection, QueryResult};
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        district::District,
        id::{MerchantId, StoreId},
        points::ProgramCode,
        shanghai,
    },
    merchant, program,
};

use super::region;

/// The longest period a report covers, in days: a year, leap day included.
pub const MAX_DAYS: i64 = 366;
const DAY: &str = "%Y-%m-%d";

/// A filter a report may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    Period,
    Merchant,
    Program,
    District,
    Store,
}

/// The filters as the query string carries them; empty means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct FilterQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// Filters that parsed. `from` and `to` are inclusive Shanghai days.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub merchant_id: Option<MerchantId>,
    pub program: Option<String>,
    pub district: Option<District>,
    pub store_id: Option<StoreId>,
}

impl Filters {
    /// The current month up to and including `today`, nothing else narrowed.
    pub fn month_to_date(today: NaiveDate) -> Self {
        Self {
            from: today.with_day(1).expect("every month has a first day"),
            to: today,
            merchant_id: None,
            program: None,
            district: None,
            store_id: None,
        }
    }

    /// 00:00 in Shanghai on the first day.
    pub fn starts_at(&self) -> DateTime<Utc> {
        shanghai::midnight(self.from)
    }

    /// 00:00 in Shanghai the day after the last: the period is `[starts_at, ends_at)`.
    pub fn ends_at(&self) -> DateTime<Utc> {
        shanghai::midnight(self.to + Days::new(1))
    }

    /// The same filters as a query string would carry them.
    pub fn to_query(&self) -> FilterQuery {
        FilterQuery {
            from: Some(self.from.format(DAY).to_string()),
            to: Some(self.to.format(DAY).to_string()),
            merchant: self.merchant_id.map(|id| id.to_string()),
            program: self.program.clone(),
            district: self.district.map(|d| d.code.to_owned()),
            store: self.store_id.map(|id| id.to_string()),
        }
    }
}

/// A field that was wrong, and the catalog key that says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub key: &'static str,
}

const fn error(field: &'static str, key: &'static str) -> FieldError {
    FieldError { field, key }
}

/// Reads the filters in `applicable` from the query (the others are ignored:
/// a report does not narrow by what it does not offer). Checks their shape
/// only; [`check_known`] then looks merchants, programs and stores up.
pub fn parse(
    query: &FilterQuery,
    applicable: &[FilterField],
    today: NaiveDate,
) -> Result<Filters, Vec<FieldError>> {
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let offers = |field| applicable.contains(&field);
    let mut filters = Filters::month_to_date(today);
    let mut errors = Vec::new();
    if offers(FilterField::Period) {
        let day = |value: &Option<String>, field, errors: &mut Vec<FieldError>| {
            let text = given(value)?;
            let parsed = NaiveDate::parse_from_str(&text, DAY).ok();
            if parsed.is_none() {
                errors.push(error(field, "reports.error.date"));
            }
            parsed
        };
        let from = day(&query.from, "from", &mut errors);
        let to = day(&query.to, "to", &mut errors);
        filters.to = to.unwrap_or(today);
        filters.from = from.unwrap_or_else(|| Filters::month_to_date(filters.to).from);
        if errors.is_empty() {
            if filters.from > filters.to {
                errors.push(error("from", "reports.error.order"));
            } else if (filters.to - filters.from).num_days() + 1 > MAX_DAYS {
                errors.push(error("from", "reports.error.range"));
            }
        }
    }
    let id = |value: &Option<String>, field, key, errors: &mut Vec<FieldError>| {
        let text = given(value)?;
        let parsed = text.parse::<i64>().ok().filter(|id| *id > 0);
        if parsed.is_none() {
            errors.push(error(field, key));
        }
        parsed
    };
    if offers(FilterField::Merchant) {
        filters.merchant_id = id(
            &query.merchant,
            "merchant",
            "reports.error.merchant",
            &mut errors,
        )
        .map(MerchantId);
    }
    if offers(FilterField::Store) {
        filters.store_id =
            id(&query.store, "store", "reports.error.store", &mut errors).map(StoreId);
    }
    if offers(FilterField::Program)
        && let Some(text) = given(&query.program)
    {
        match ProgramCode::parse(&text.to_ascii_uppercase()) {
            Ok(code) => filters.program = Some(code.as_str().to_owned()),
            Err(_) => errors.push(error("program", "reports.error.program")),
        }
    }
    if offers(FilterField::District)
        && let Some(text) = given(&query.district)
    {
        match District::find(&text) {
            Some(district) => filters.district = Some(district),
            None => errors.push(error("district", "reports.error.district")),
        }
    }
    if errors.is_empty() {
        Ok(filters)
    } else {
        Err(errors)
    }
}

/// The merchant, program and store the filters name must exist, and a store
/// must belong to the merchant when both are given.
pub fn check_known(conn: &mut PgConnection, filters: &Filters) -> QueryResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Some(id) = filters.merchant_id
        && merchant::find(conn, id)?.is_none()
    {
        errors.push(error("merchant", "reports.error.merchant"));
    }
    if let Some(code) = &filters.program
        && *code != ProgramCode::alp().as_str()
        && program::by_code(conn, code)?.is_none()
    {
        errors.push(error("program", "reports.error.program"));
    }
    if let Some(id) = filters.store_id {
        let found = region::located_stores(conn)?
            .into_iter()
            .find(|located| located.store.id == id);
        match found {
            None => errors.push(error("store", "reports.error.store")),
            Some(found)
                if filters
                    .merchant_id
                    .is_some_and(|m| m != found.store.merchant_id) =>
            {
                errors.push(error("store", "reports.error.store_merchant"));
            }
            Some(_) => {}
        }
    }
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [FilterField; 5] = [
        FilterField::Period,
        FilterField::Merchant,
        FilterField::Program,
        FilterField::District,
        FilterField::Store,
    ];

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, DAY).unwrap()
    }

    fn query(pairs: &str) -> FilterQuery {
        serde_urlencoded::from_str(pairs).unwrap()
    }

    fn keys(result: Result<Filters, Vec<FieldError>>) -> Vec<(&'static str, &'static str)> {
        result
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.key))
            .collect()
    }

    #[test]
    fn nothing_given_is_the_month_to_date() {
        let today = date("2026-11-22");
        let filters = parse(&query(""), &ALL, today).unwrap();
        assert_eq!(filters, Filters::month_to_date(today));
        assert_eq!((filters.from, filters.to), (date("2026-11-01"), today));
        // Days are cut at midnight in Shanghai: 16:00 UTC the day before.
        assert_eq!(
            filters.starts_at().to_rfc3339(),
            "2026-10-31T16:00:00+00:00"
        );
        assert_eq!(filters.ends_at().to_rfc3339(), "2026-11-22T16:00:00+00:00");
    }

    #[test]
    fn every_field_parses_and_round_trips() {
        let text = "from=2026-01-05&to=2026-02-10&merchant=7&program=COFFEE&district=xuhui&store=3";
        let filters = parse(&query(text), &ALL, date("2026-11-22")).unwrap();
        assert_eq!(filters.from, date("2026-01-05"));
        assert_eq!(filters.to, date("2026-02-10"));
        assert_eq!(filters.merchant_id, Some(MerchantId(7)));
        assert_eq!(filters.program.as_deref(), Some("COFFEE"));
        assert_eq!(filters.district.map(|d| d.code), Some("xuhui"));
        assert_eq!(filters.store_id, Some(StoreId(3)));
        assert_eq!(
            serde_urlencoded::to_string(filters.to_query()).unwrap(),
            text
        );
    }

    #[test]
    fn bad_fields_are_each_named() {
        let today = date("2026-11-22");
        assert_eq!(
            keys(parse(&query("from=2026-13-01&to=yesterday"), &ALL, today)),
            [("from", "reports.error.date"), ("to", "reports.error.date")]
        );
        assert_eq!(
            keys(parse(&query("from=2026-11-10&to=2026-11-09"), &ALL, today)),
            [("from", "reports.error.order")]
        );
        assert_eq!(
            keys(parse(&query("from=2025-01-01&to=2026-01-02"), &ALL, today)),
            [("from", "reports.error.range")]
        );
        assert_eq!(
            keys(parse(
                &query("merchant=abc&store=-1&program=no%20such&district=atlantis"),
                &ALL,
                today
            )),
            [
                ("merchant", "reports.error.merchant"),
                ("store", "reports.error.store"),
                ("program", "reports.error.program"),
                ("district", "reports.error.district"),
            ]
        );
    }

    #[test]
    fn a_leap_year_fits_and_filters_not_offered_are_ignored() {
        let today = date("2026-11-22");
        let year = parse(&query("from=2024-01-01&to=2024-12-31"), &ALL, today).unwrap();
        assert_eq!((year.to - year.from).num_days() + 1, MAX_DAYS);
        let only_period = parse(
            &query("merchant=abc&district=atlantis&to=2026-10-15"),
            &[FilterField::Period],
            today,
        )
        .unwrap();
        assert_eq!(only_period.merchant_id, None);
        assert_eq!(only_period.district, None);
        // Only `to` given: the period is its month up to it.
        assert_eq!(only_period.from, date("2026-10-01"));
    }
}
