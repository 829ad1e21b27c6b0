//! `ProgramCode` (which points program) and `PointCount` (a positive whole
//! number of points, as a person types it or a partner sends it): parsed once,
//! at the edge, so services are handed nothing unchecked.

use std::fmt;

use diesel::{
    backend::Backend,
    deserialize::{FromSql, FromSqlRow},
    expression::AsExpression,
    pg::Pg,
    serialize::{Output, ToSql},
    sql_types::Text,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PointsError {
    #[error("program code must be 2 to 16 characters long")]
    ProgramCodeLength,
    #[error("program code must start with a letter A-Z")]
    ProgramCodeStart,
    #[error("program code may only contain A-Z, 0-9 and _")]
    ProgramCodeCharacter,
    #[error("points must be a positive whole number")]
    InvalidAmount,
}

/// A points program's code, such as `COFFEE` or the hub program `ALP`. Read
/// from the database it is parsed too: a stored code that is not one is a
/// failure of the system, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct ProgramCode(String);

impl ProgramCode {
    /// Accepts exactly the canonical form (no trimming or upper-casing), so a
    /// code has one spelling everywhere it is stored or compared.
    pub fn parse(text: &str) -> Result<ProgramCode, PointsError> {
        if !(2..=16).contains(&text.len()) {
            return Err(PointsError::ProgramCodeLength);
        }
        if !text.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Err(PointsError::ProgramCodeStart);
        }
        if !text
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_')
        {
            return Err(PointsError::ProgramCodeCharacter);
        }
        Ok(ProgramCode(text.to_owned()))
    }

    /// The alliance's own hub points (联盟积分), owned by the house.
    pub fn alp() -> ProgramCode {
        ProgramCode("ALP".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProgramCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ToSql<Text, Pg> for ProgramCode {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for ProgramCode {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        Ok(ProgramCode::parse(&text)?)
    }
}

impl Serialize for ProgramCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProgramCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ProgramCode::parse(&text).map_err(de::Error::custom)
    }
}

/// A positive whole number of points. Which program's points is said beside
/// it, where the request names the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PointCount(i64);

impl PointCount {
    /// As the partner API sends it: a string of ASCII digits, nothing else
    /// (amounts travel as strings, like money, so no client turns them into
    /// floats).
    pub fn parse_digits(text: &str) -> Result<PointCount, PointsError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PointsError::InvalidAmount);
        }
        Self::positive(text)
    }

    /// As a person types it: grouping commas (ASCII or full-width) and spaces
    /// allowed.
    pub fn parse_typed(text: &str) -> Result<PointCount, PointsError> {
        Self::parse_typed_or_none(text)?.ok_or(PointsError::InvalidAmount)
    }

    /// As a person types it where none is a choice: blank or zero is `None`.
    pub fn parse_typed_or_none(text: &str) -> Result<Option<PointCount>, PointsError> {
        let digits: String = text
            .chars()
            .filter(|c| !matches!(c, ',' | '，' | ' '))
            .collect();
        if digits.is_empty() {
            return Ok(None);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PointsError::InvalidAmount);
        }
        match digits.parse::<i64>() {
            Ok(0) => Ok(None),
            Ok(count) => Self::new(count).map(Some),
            Err(_) => Err(PointsError::InvalidAmount),
        }
    }

    /// A count worked out in code (a share of a balance, a fixture).
    pub fn new(count: i64) -> Result<PointCount, PointsError> {
        if count > 0 {
            Ok(PointCount(count))
        } else {
            Err(PointsError::InvalidAmount)
        }
    }

    fn positive(digits: &str) -> Result<PointCount, PointsError> {
        digits
            .parse::<i64>()
            .map_err(|_| PointsError::InvalidAmount)
            .and_then(Self::new)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(text: &str) -> ProgramCode {
        ProgramCode::parse(text).unwrap()
    }

    #[test]
    fn valid_program_codes_parse_unchanged() {
        for text in ["ALP", "COFFEE", "A1", "AIR_CHINA_2025", "ABCDEFGHIJKLMNOP"] {
            assert_eq!(code(text).as_str(), text);
            assert_eq!(code(text).to_string(), text);
        }
        assert_eq!(ProgramCode::alp(), code("ALP"));
    }

    #[test]
    fn invalid_program_codes_say_what_is_wrong() {
        assert_eq!(ProgramCode::parse("A"), Err(PointsError::ProgramCodeLength));
        assert_eq!(
            ProgramCode::parse("ABCDEFGHIJKLMNOPQ"),
            Err(PointsError::ProgramCodeLength)
        );
        assert_eq!(ProgramCode::parse(""), Err(PointsError::ProgramCodeLength));
        assert_eq!(
            ProgramCode::parse("1ABC"),
            Err(PointsError::ProgramCodeStart)
        );
        assert_eq!(
            ProgramCode::parse("_ABC"),
            Err(PointsError::ProgramCodeStart)
        );
        assert_eq!(
            ProgramCode::parse("coffee"),
            Err(PointsError::ProgramCodeStart)
        );
        assert_eq!(
            ProgramCode::parse("COFFEe"),
            Err(PointsError::ProgramCodeCharacter)
        );
        assert_eq!(
            ProgramCode::parse("CO FFEE"),
            Err(PointsError::ProgramCodeCharacter)
        );
        assert_eq!(
            ProgramCode::parse("CO-FFEE"),
            Err(PointsError::ProgramCodeCharacter)
        );
        // Letters outside A-Z are refused, accented or not.
        assert_eq!(
            ProgramCode::parse("AÉÉÉÉÉÉÉ"),
            Err(PointsError::ProgramCodeCharacter)
        );
    }

    #[test]
    fn a_partner_sends_digits_only_and_more_than_zero() {
        assert_eq!(
            PointCount::parse_digits("1200").map(PointCount::get),
            Ok(1200)
        );
        for text in [
            "",
            "0",
            "-5",
            "+5",
            "1,200",
            " 12",
            "12.5",
            "9223372036854775808",
        ] {
            assert_eq!(
                PointCount::parse_digits(text),
                Err(PointsError::InvalidAmount),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_person_may_group_the_digits() {
        for text in ["1200", "1,200", "1，200", " 1 200 "] {
            assert_eq!(
                PointCount::parse_typed(text).map(PointCount::get),
                Ok(1200),
                "{text:?}"
            );
        }
        for text in ["", "0", "-5", "12.5", "1e3", "１２"] {
            assert_eq!(
                PointCount::parse_typed(text),
                Err(PointsError::InvalidAmount),
                "{text:?}"
            );
        }
    }

    #[test]
    fn where_none_is_a_choice_blank_and_zero_are_none() {
        assert_eq!(PointCount::parse_typed_or_none(""), Ok(None));
        assert_eq!(PointCount::parse_typed_or_none(" 0 "), Ok(None));
        assert_eq!(PointCount::parse_typed_or_none("00"), Ok(None));
        assert_eq!(
            PointCount::parse_typed_or_none("3,000").map(|c| c.map(PointCount::get)),
            Ok(Some(3000))
        );
        assert_eq!(
            PointCount::parse_typed_or_none("-1"),
            Err(PointsError::InvalidAmount)
        );
    }

    proptest! {
        #[test]
        fn every_positive_count_reads_back_as_digits_and_typed(count in 1..=i64::MAX) {
            let digits = count.to_string();
            prop_assert_eq!(PointCount::parse_digits(&digits).map(PointCount::get), Ok(count));
            prop_assert_eq!(PointCount::parse_typed(&digits).map(PointCount::get), Ok(count));
        }

        #[test]
        fn no_text_panics_or_reads_as_zero_or_less(text in "\\PC{0,24}") {
            if let Ok(count) = PointCount::parse_typed(&text) {
                prop_assert!(count.get() > 0);
            }
        }
    }
}
