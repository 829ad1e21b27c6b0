//! `ResidentId`: a PRC resident identity card number (居民身份证号码), 18
//! characters: a 6-digit region, the birth date `YYYYMMDD`, a 3-digit sequence
//! and a check character (GB 11643, ISO 7064 MOD 11-2) that is a digit or `X`.

use std::fmt;

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    #[error("an ID number is 17 digits and a digit or X")]
    Malformed,
    #[error("the ID number's birth date is not a date")]
    BadBirthDate,
    #[error("the ID number's check character is wrong")]
    BadChecksum,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ResidentId(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [u8; 11] = *b"10X98765432";

impl ResidentId {
    /// Accepts surrounding spaces and a lowercase `x`.
    pub fn parse(text: &str) -> Result<Self, ResidentIdError> {
        let text = text.trim().to_ascii_uppercase();
        let bytes = text.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(ResidentIdError::Malformed);
        }
        NaiveDate::parse_from_str(&text[6..14], "%Y%m%d")
            .map_err(|_| ResidentIdError::BadBirthDate)?;
        let sum: u32 = bytes[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        if CHECK[(sum % 11) as usize] != bytes[17] {
            return Err(ResidentIdError::BadChecksum);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four characters, which an operator may see.
    pub fn hint(&self) -> &str {
        &self.0[14..]
    }

    /// Shown as `1101**********123X`.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), self.hint())
    }
}

/// Never printed whole by accident.
impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_example_passes_and_its_neighbours_fail() {
        let id = ResidentId::parse(" 11010519491231002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.hint(), "002X");
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(ResidentIdError::BadChecksum)
        );
        assert_eq!(
            ResidentId::parse("110105194913310020"),
            Err(ResidentIdError::BadBirthDate)
        );
        assert_eq!(
            ResidentId::parse("1101051949"),
            Err(ResidentIdError::Malformed)
        );
    }
}
