//! The terms of a new merchant's points program, as the maker proposes them
//! and the checker approves them: code, names, settlement value, earning rate,
//! expiry and the exchange switches and limits.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{
    points::{PointsError, ProgramCode},
    rate::Rate,
};

use super::FieldError;

const MAX_PROGRAM_NAME_CHARS: usize = 40;
/// `programs.settlement_value` is NUMERIC(12, 6).
const MAX_SETTLEMENT_VALUE: i64 = 1_000_000;
/// `programs.earn_points_per_cny` is NUMERIC(10, 4).
const MAX_EARN_RATE: i64 = 1_000_000;
const EARN_RATE_DECIMALS: u32 = 4;
const MAX_EXPIRY_MONTHS: i16 = 120;

/// The program form as typed; an unticked switch is simply absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProgramInput {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub settlement_value: String,
    pub earn_points_per_cny: String,
    pub expiry_months: String,
    pub exchange_in: bool,
    pub exchange_out: bool,
    pub min_exchange_points: String,
    pub max_exchange_points: String,
}

/// The program the maker proposes, as the checker will approve it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramTerms {
    pub code: ProgramCode,
    pub name_zh: String,
    pub name_en: String,
    /// CNY per point.
    pub settlement_value: Rate,
    pub earn_points_per_cny: Decimal,
    /// 0: points never expire.
    pub expiry_months: i16,
    pub exchange_in: bool,
    pub exchange_out: bool,
    pub min_exchange_points: i64,
    pub max_exchange_points: i64,
}

impl ProgramTerms {
    /// Every problem at once, so the form can mark them all.
    pub fn parse(input: &ProgramInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut refuse = |field: &str, key| errors.push(FieldError::new(field, key));
        let code = ProgramCode::parse(&input.code.trim().to_ascii_uppercase())
            .map_err(|e| refuse("code", code_key(&e)))
            .ok();
        let name_zh = program_name(&input.name_zh);
        if name_zh.is_none() {
            refuse("name_zh", "onboarding.terms.error.name");
        }
        let name_en = program_name(&input.name_en);
        if name_en.is_none() {
            refuse("name_en", "onboarding.terms.error.name");
        }
        let settlement_value = Rate::parse(input.settlement_value.trim())
            .ok()
            .filter(|r| r.as_decimal() < Decimal::from(MAX_SETTLEMENT_VALUE));
        if settlement_value.is_none() {
            refuse(
                "settlement_value",
                "onboarding.terms.error.settlement_value",
            );
        }
        let earn_points_per_cny = Decimal::from_str_exact(input.earn_points_per_cny.trim())
            .ok()
            .filter(|d| {
                !d.is_sign_negative()
                    && d.normalize().scale() <= EARN_RATE_DECIMALS
                    && *d < Decimal::from(MAX_EARN_RATE)
            });
        if earn_points_per_cny.is_none() {
            refuse("earn_points_per_cny", "onboarding.terms.error.earn_rate");
        }
        let expiry_months = input
            .expiry_months
            .trim()
            .parse()
            .ok()
            .filter(|m| (0..=MAX_EXPIRY_MONTHS).contains(m));
        if expiry_months.is_none() {
            refuse("expiry_months", "onboarding.terms.error.expiry_months");
        }
        let min = positive(&input.min_exchange_points);
        if min.is_none() {
            refuse(
                "min_exchange_points",
                "onboarding.terms.error.exchange_points",
            );
        }
        let max =
            positive(&input.max_exchange_points).filter(|max| min.is_none_or(|min| *max >= min));
        if max.is_none() {
            refuse(
                "max_exchange_points",
                "onboarding.terms.error.max_exchange_points",
            );
        }
        let (
            Some(code),
            Some(name_zh),
            Some(name_en),
            Some(settlement_value),
            Some(earn_points_per_cny),
            Some(expiry_months),
            Some(min_exchange_points),
            Some(max_exchange_points),
        ) = (
            code,
            name_zh,
            name_en,
            settlement_value,
            earn_points_per_cny,
            expiry_months,
            min,
            max,
        )
        else {
            return Err(errors);
        };
        Ok(Self {
            code,
            name_zh,
            name_en,
            settlement_value,
            earn_points_per_cny: earn_points_per_cny.normalize(),
            expiry_months,
            exchange_in: input.exchange_in,
            exchange_out: input.exchange_out,
            min_exchange_points,
            max_exchange_points,
        })
    }
}

fn code_key(e: &PointsError) -> &'static str {
    match e {
        PointsError::ProgramCodeStart => "onboarding.terms.error.code.start",
        PointsError::ProgramCodeCharacter => "onboarding.terms.error.code.character",
        _ => "onboarding.terms.error.code.length",
    }
}

fn program_name(input: &str) -> Option<String> {
    let name = input.trim();
    (!name.is_empty() && name.chars().count() <= MAX_PROGRAM_NAME_CHARS).then(|| name.to_owned())
}

fn positive(input: &str) -> Option<i64> {
    input.trim().parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProgramInput {
        ProgramInput {
            code: " wutong ".to_owned(),
            name_zh: "梧桐积分".to_owned(),
            name_en: "Wutong Points".to_owned(),
            settlement_value: "0.01".to_owned(),
            earn_points_per_cny: "1.5".to_owned(),
            expiry_months: "24".to_owned(),
            exchange_in: true,
            exchange_out: false,
            min_exchange_points: "100".to_owned(),
            max_exchange_points: "100000".to_owned(),
        }
    }

    fn refused(input: &ProgramInput) -> Vec<(String, &'static str)> {
        ProgramTerms::parse(input)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.key))
            .collect()
    }

    #[test]
    fn the_program_form_parses_into_terms() {
        let terms = ProgramTerms::parse(&input()).unwrap();
        assert_eq!(terms.code.as_str(), "WUTONG");
        assert_eq!(terms.settlement_value.to_string(), "0.01");
        assert_eq!(terms.earn_points_per_cny, Decimal::new(15, 1));
        assert_eq!((terms.exchange_in, terms.exchange_out), (true, false));
        // As they travel in the approval request: decimals as strings.
        let json = serde_json::to_value(&terms).unwrap();
        assert_eq!(json["settlement_value"], "0.01");
        assert_eq!(serde_json::from_value::<ProgramTerms>(json).unwrap(), terms);
    }

    #[test]
    fn bad_terms_are_refused_field_by_field() {
        let mut bad = input();
        bad.code = "9LIVES".to_owned();
        bad.settlement_value = "0".to_owned();
        bad.earn_points_per_cny = "0.12345".to_owned();
        bad.expiry_months = "121".to_owned();
        bad.max_exchange_points = "99".to_owned();
        assert_eq!(
            refused(&bad),
            [
                ("code".to_owned(), "onboarding.terms.error.code.start"),
                (
                    "settlement_value".to_owned(),
                    "onboarding.terms.error.settlement_value"
                ),
                (
                    "earn_points_per_cny".to_owned(),
                    "onboarding.terms.error.earn_rate"
                ),
                (
                    "expiry_months".to_owned(),
                    "onboarding.terms.error.expiry_months"
                ),
                (
                    "max_exchange_points".to_owned(),
                    "onboarding.terms.error.max_exchange_points"
                ),
            ]
        );
        bad = input();
        bad.code = "A".to_owned();
        bad.name_en = " ".to_owned();
        assert_eq!(
            refused(&bad),
            [
                ("code".to_owned(), "onboarding.terms.error.code.length"),
                ("name_en".to_owned(), "onboarding.terms.error.name"),
            ]
        );
    }
}
