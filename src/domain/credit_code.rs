//! The unified social credit code (统一社会信用代码) every Chinese company has:
//! 18 characters with a check character (GB 32100-2015), so typing mistakes are
//! caught before an application is sent.

use std::fmt;

/// The 31 characters codes use: digits and capitals without I, O, S, V and Z.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the first 17 characters: 3^i mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCreditCode {
    #[error("a unified social credit code has 18 characters")]
    Length,
    #[error("the code contains a character codes never use")]
    Character,
    #[error("the check character does not match: the code was mistyped")]
    CheckCharacter,
}

impl CreditCode {
    /// Accepts lower case and surrounding spaces; stores upper case.
    pub fn parse(input: &str) -> Result<Self, InvalidCreditCode> {
        let code = input.trim().to_ascii_uppercase();
        if code.chars().count() != 18 {
            return Err(InvalidCreditCode::Length);
        }
        let values: Vec<u32> = code
            .bytes()
            .map(|b| {
                ALPHABET
                    .iter()
                    .position(|&a| a == b)
                    .map(|p| u32::try_from(p).expect("31 fits"))
            })
            .collect::<Option<_>>()
            .ok_or(InvalidCreditCode::Character)?;
        let sum: u32 = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        if values[17] == check {
            Ok(Self(code))
        } else {
            Err(InvalidCreditCode::CheckCharacter)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_codes_of_real_companies_are_valid() {
        for code in [
            "91330100716105852F",
            "9144030071526726XG",
            "91110000600037341L",
            "91350100M000100Y43",
        ] {
            assert_eq!(CreditCode::parse(code).unwrap().as_str(), code);
        }
        assert_eq!(
            CreditCode::parse(" 9144030071526726xg ").unwrap().as_str(),
            "9144030071526726XG"
        );
    }

    #[test]
    fn mistyped_codes_are_refused_with_the_reason() {
        assert_eq!(
            CreditCode::parse("9144030071526726XD"),
            Err(InvalidCreditCode::CheckCharacter)
        );
        assert_eq!(
            CreditCode::parse("9144030071526762XG"),
            Err(InvalidCreditCode::CheckCharacter),
            "swapped digits"
        );
        assert_eq!(
            CreditCode::parse("9144030071526726X"),
            Err(InvalidCreditCode::Length)
        );
        assert_eq!(
            CreditCode::parse("9144030071526726XO"),
            Err(InvalidCreditCode::Character),
            "O is never used"
        );
    }
}
