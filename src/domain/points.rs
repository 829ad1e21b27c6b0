//! `ProgramCode` (which points program) and `Points` (a whole number of one
//! program's points), with arithmetic that refuses to mix programs.

use std::fmt;

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
    #[error("cannot combine {left} points with {right} points")]
    ProgramMismatch {
        left: ProgramCode,
        right: ProgramCode,
    },
    #[error("points amount must be a whole number")]
    InvalidAmount,
    #[error("points calculation overflowed")]
    Overflow,
}

/// A points program's code, such as `COFFEE` or the hub program `ALP`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// A whole number of one program's points. There is deliberately no `Ord`:
/// points of different programs do not compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Points {
    program: ProgramCode,
    #[serde(with = "amount_as_string")]
    amount: i64,
}

impl Points {
    pub fn new(program: ProgramCode, amount: i64) -> Points {
        Points { program, amount }
    }

    pub fn program(&self) -> &ProgramCode {
        &self.program
    }

    pub fn amount(&self) -> i64 {
        self.amount
    }

    pub fn checked_add(&self, other: &Points) -> Result<Points, PointsError> {
        self.combine(other, i64::checked_add)
    }

    pub fn checked_sub(&self, other: &Points) -> Result<Points, PointsError> {
        self.combine(other, i64::checked_sub)
    }

    fn combine(
        &self,
        other: &Points,
        operation: fn(i64, i64) -> Option<i64>,
    ) -> Result<Points, PointsError> {
        if self.program != other.program {
            return Err(PointsError::ProgramMismatch {
                left: self.program.clone(),
                right: other.program.clone(),
            });
        }
        let amount = operation(self.amount, other.amount).ok_or(PointsError::Overflow)?;
        Ok(Points::new(self.program.clone(), amount))
    }
}

/// Amounts travel as strings in JSON, like money, so no client turns them into floats.
mod amount_as_string {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use super::PointsError;

    // serde's `with` requires the field by reference.
    #[expect(clippy::trivially_copy_pass_by_ref)]
    pub fn serialize<S: Serializer>(amount: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(amount)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| de::Error::custom(PointsError::InvalidAmount))
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
    fn points_of_one_program_add_and_subtract() {
        let a = Points::new(code("COFFEE"), 1200);
        let b = Points::new(code("COFFEE"), 300);
        assert_eq!(a.checked_add(&b), Ok(Points::new(code("COFFEE"), 1500)));
        assert_eq!(b.checked_sub(&a), Ok(Points::new(code("COFFEE"), -900)));
        assert_eq!(a.program(), &code("COFFEE"));
        assert_eq!(a.amount(), 1200);
    }

    #[test]
    fn points_of_different_programs_never_add() {
        let coffee = Points::new(code("COFFEE"), 1200);
        let alp = Points::new(ProgramCode::alp(), 1);
        let mismatch = PointsError::ProgramMismatch {
            left: code("COFFEE"),
            right: ProgramCode::alp(),
        };
        assert_eq!(coffee.checked_add(&alp), Err(mismatch.clone()));
        assert_eq!(coffee.checked_sub(&alp), Err(mismatch.clone()));
        assert_eq!(
            mismatch.to_string(),
            "cannot combine COFFEE points with ALP points"
        );
    }

    #[test]
    fn points_overflow_is_an_error() {
        let max = Points::new(ProgramCode::alp(), i64::MAX);
        let one = Points::new(ProgramCode::alp(), 1);
        assert_eq!(max.checked_add(&one), Err(PointsError::Overflow));
        let min = Points::new(ProgramCode::alp(), i64::MIN);
        assert_eq!(min.checked_sub(&one), Err(PointsError::Overflow));
    }

    #[test]
    fn json_carries_the_amount_as_a_string() {
        let points = Points::new(code("COFFEE"), 1200);
        let json = serde_json::to_string(&points).unwrap();
        assert_eq!(json, r#"{"program":"COFFEE","amount":"1200"}"#);
        let back: Points =
            serde_json::from_str(r#"{"program": "COFFEE", "amount": "1200"}"#).unwrap();
        assert_eq!(back, points);
    }

    #[test]
    fn json_with_a_bad_amount_or_program_is_refused() {
        for json in [
            r#"{"program": "COFFEE", "amount": "12.5"}"#,
            r#"{"program": "COFFEE", "amount": "1e3"}"#,
            r#"{"program": "COFFEE", "amount": ""}"#,
            r#"{"program": "COFFEE", "amount": 1200}"#,
            r#"{"program": "COFFEE", "amount": "99999999999999999999"}"#,
            r#"{"program": "coffee", "amount": "1200"}"#,
            r#"{"program": "COFFEE"}"#,
            r#"{"program": "COFFEE", "amount": "1200", "bonus": "1"}"#,
        ] {
            assert!(serde_json::from_str::<Points>(json).is_err(), "{json}");
        }
        let error = serde_json::from_str::<Points>(r#"{"program": "COFFEE", "amount": "12.5"}"#)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("points amount must be a whole number")
        );
    }

    proptest! {
        #[test]
        fn any_valid_code_survives_a_json_round_trip(text in "[A-Z][A-Z0-9_]{1,15}", amount in any::<i64>()) {
            let points = Points::new(ProgramCode::parse(&text).unwrap(), amount);
            let json = serde_json::to_string(&points).unwrap();
            prop_assert_eq!(serde_json::from_str::<Points>(&json).unwrap(), points);
        }

        #[test]
        fn checked_add_is_commutative_and_never_panics(a in any::<i64>(), b in any::<i64>()) {
            let (a, b) = (Points::new(ProgramCode::alp(), a), Points::new(ProgramCode::alp(), b));
            prop_assert_eq!(a.checked_add(&b), b.checked_add(&a));
        }

        #[test]
        fn a_program_mismatch_is_an_error_whatever_the_amounts(a in any::<i64>(), b in any::<i64>()) {
            let a = Points::new(ProgramCode::alp(), a);
            let b = Points::new(code("COFFEE"), b);
            let is_mismatch = matches!(a.checked_add(&b), Err(PointsError::ProgramMismatch { .. }));
            prop_assert!(is_mismatch);
        }
    }
}
