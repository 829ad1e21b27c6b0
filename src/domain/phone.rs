//! Mainland China mobile numbers: the identifier members sign in with.

use std::fmt;

/// An 11-digit mainland mobile number (1[3-9]xxxxxxxxx), stored without the +86.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a mainland China mobile number")]
pub struct InvalidPhone;

impl Phone {
    /// Accepts `13800000000`, `+86 138 0000 0000`, `86-138-0000-0000` and the like.
    pub fn parse(input: &str) -> Result<Self, InvalidPhone> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let national = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| {
                (digits.len() == 13)
                    .then(|| digits.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&digits);
        let bytes = national.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if valid {
            Ok(Self(national.to_owned()))
        } else {
            Err(InvalidPhone)
        }
    }

    /// The canonical 11 digits: what is encrypted and blind-indexed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****0000`: what most people and screens are shown.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }

    /// `+8613800000000` (E.164), as the partner API shows it.
    pub fn e164(&self) -> String {
        format!("+86{}", self.0)
    }
}

/// Never print a whole number by accident (logs, panics).
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_spellings_parse_to_the_same_number() {
        for input in [
            "13800000000",
            "+8613800000000",
            "+86 138 0000 0000",
            "86-138-0000-0000",
            "008613800000000",
        ] {
            assert_eq!(
                Phone::parse(input).unwrap().as_str(),
                "13800000000",
                "{input}"
            );
        }
    }

    #[test]
    fn non_mobile_numbers_are_refused() {
        for input in [
            "",
            "1380000000",
            "138000000000",
            "12800000000",
            "23800000000",
            "1380000000a",
            "+1 415 555 0100",
        ] {
            assert_eq!(Phone::parse(input), Err(InvalidPhone), "{input}");
        }
    }

    #[test]
    fn masking_keeps_the_first_three_and_last_four_digits() {
        let phone = Phone::parse("13912345678").unwrap();
        assert_eq!(phone.masked(), "139****5678");
        assert_eq!(format!("{phone:?}"), "Phone(139****5678)");
        assert_eq!(phone.e164(), "+8613912345678");
    }
}
