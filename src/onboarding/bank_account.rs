//! The account a merchant is paid out to. Its number is personal financial data:
//! encrypted at rest, shown masked, never logged.

use std::fmt;

use crate::crypto::{CryptoError, Keys};

/// Names the value for encryption. Applications and merchants store the same
/// number under the same name, so approval copies the ciphertext as it is.
pub const AAD: &[u8] = b"merchant.bank_account";

/// Digits only, as banks print them without the spaces.
#[derive(Clone, PartialEq, Eq)]
pub struct BankAccountNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a bank account number has 8 to 30 digits")]
pub struct InvalidBankAccount;

impl BankAccountNumber {
    const DIGITS: std::ops::RangeInclusive<usize> = 8..=30;

    /// Accepts the number grouped with spaces or hyphens, as it is often written.
    pub fn parse(input: &str) -> Result<Self, InvalidBankAccount> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if Self::DIGITS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(InvalidBankAccount)
        }
    }

    /// `****1234`: enough for a person to recognise their account.
    pub fn masked(&self) -> String {
        format!("****{}", self.last4())
    }

    /// The last four digits, which may be stored and shown in the clear.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// The whole number, for the bank file that pays into it.
    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn seal(&self, keys: &Keys) -> Vec<u8> {
        keys.encrypt(self.0.as_bytes(), AAD)
    }

    pub fn open(keys: &Keys, sealed: &[u8]) -> Result<Self, CryptoError> {
        let plain = keys.decrypt(sealed, AAD)?;
        String::from_utf8(plain)
            .map(Self)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Never print a whole number by accident (logs, panics).
impl fmt::Debug for BankAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankAccountNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_numbers_parse_and_show_only_the_last_four_digits() {
        let number = BankAccountNumber::parse("6222 0212-3456 7890 123").unwrap();
        assert_eq!(number.masked(), "****0123");
        assert_eq!(format!("{number:?}"), "BankAccountNumber(****0123)");
        for bad in [
            "",
            "1234567",
            "1234567890123456789012345678901",
            "6222a0212345",
        ] {
            assert_eq!(
                BankAccountNumber::parse(bad),
                Err(InvalidBankAccount),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_number_is_sealed_and_opens_only_under_its_own_name() {
        let keys = Keys::derive("a test secret that is long enough to use");
        let number = BankAccountNumber::parse("6222021234567890123").unwrap();
        let sealed = number.seal(&keys);
        assert!(!sealed.windows(4).any(|w| w == b"7890"));
        assert_eq!(BankAccountNumber::open(&keys, &sealed).unwrap(), number);
        assert!(keys.decrypt(&sealed, b"members.phone").is_err());
    }
}
