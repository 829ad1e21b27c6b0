//! A new password someone chooses. Checked once, when it is set; signing in only
//! compares against the stored hash.

/// A password that meets the rules; it never prints.
pub struct NewPassword(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("at least 10 characters")]
    TooShort,
    #[error("at most 128 characters")]
    TooLong,
    #[error("needs a letter and a digit")]
    TooSimple,
}

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    const MAX_CHARS: usize = 128;

    pub fn parse(input: &str) -> Result<Self, WeakPassword> {
        let chars = input.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(WeakPassword::TooLong);
        }
        if !(input.chars().any(char::is_alphabetic) && input.chars().any(|c| c.is_ascii_digit())) {
            return Err(WeakPassword::TooSimple);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_are_length_and_a_letter_and_a_digit() {
        assert_eq!(
            NewPassword::parse("short1").unwrap_err(),
            WeakPassword::TooShort
        );
        assert_eq!(
            NewPassword::parse("onlyletterss").unwrap_err(),
            WeakPassword::TooSimple
        );
        assert_eq!(
            NewPassword::parse("1234567890").unwrap_err(),
            WeakPassword::TooSimple
        );
        assert_eq!(
            NewPassword::parse(&"a1".repeat(65)).unwrap_err(),
            WeakPassword::TooLong
        );
        assert!(NewPassword::parse("积分联盟password2026").is_ok());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret12345").unwrap()),
            "NewPassword(…)"
        );
    }
}
